"""Which actions each subscriber's weekly digest lists.

A run calls `load_candidates` once (a fixed handful of queries, whatever the number of actions),
`signed_up_event_ids` once per batch of subscribers (one query), and then `pick` once per
subscriber: a pure function over sets and indexes built in advance, so a hundred thousand
subscribers cost no query and little time.

The order (issue 3, section 2): actions highlighted this week by organizations the subscriber
follows; then actions matching one of their causes or regions; then the rest of the followed
organizations' actions; soonest first within each group, at most `max_actions`. Someone who
follows nothing and chose no cause or region gets the soonest actions.

Following a network is following each of its active members too, and the network's own
highlights (which may be members' actions) come first of all.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import (
    Event,
    EventCause,
    EventHost,
    EventTranslation,
    Highlight,
    NetworkMembership,
    Organization,
    Signup,
)
from ..models import event as ev
from ..models import network as nw
from ..models import signup as st
from .digest_schedule import iso_week
from .signups import counts_by_event, full_without_waitlist, places_left_in

WINDOW = timedelta(days=14)  # how far ahead a digest looks


class Subscriber(Protocol):
    """What `pick` reads: a Subscription, or a `SubscriberProfile` (the organizers' preview)."""

    @property
    def organization_ids(self) -> set[int]: ...
    @property
    def cause_slugs(self) -> set[str]: ...
    @property
    def region_slugs(self) -> set[str]: ...
    @property
    def max_actions(self) -> int: ...


@dataclass(frozen=True)
class SubscriberProfile:
    """A kind of subscriber that is not stored: what an organizer previews."""

    organization_ids: frozenset[int] = frozenset()
    cause_slugs: frozenset[str] = frozenset()
    region_slugs: frozenset[str] = frozenset()
    max_actions: int = 3


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def week_of(now: datetime, timezone: str) -> str:
    """The ISO week ("2026-W48") that `now` falls in on the clock of `timezone`."""
    return iso_week(now.astimezone(_zone(timezone)))


def _index(pairs: Iterable[tuple[object, int]]) -> dict:
    """key -> positions in ascending order (pairs come in position order)."""
    result: dict[object, list[int]] = {}
    for key, position in pairs:
        result.setdefault(key, []).append(position)
    return {key: tuple(positions) for key, positions in result.items()}


@dataclass(frozen=True)
class Candidates:
    """The actions a run may list, soonest first, with the facts `pick` needs per action.

    `host_ids` counts the primary host and co-hosts that accepted; `highlighted_by` holds, per
    action, the hosting organizations that highlighted it for their current week; `counts` are
    sign-up counts per status (for "places left"). `network_members` holds each network's
    active members: a follower of the network follows them too.
    """

    now: datetime
    events: list[Event]
    host_ids: dict[int, frozenset[int]]
    causes: dict[int, frozenset[str]]
    regions: dict[int, str]
    highlighted_by: dict[int, frozenset[int]]
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    network_members: dict[int, frozenset[int]] = field(default_factory=dict)
    # Indexes for pick: key -> positions in `events`, ascending (so: soonest first).
    _ids: tuple[int, ...] = field(init=False, repr=False)
    _by_org: dict[int, tuple[int, ...]] = field(init=False, repr=False)
    _by_cause: dict[str, tuple[int, ...]] = field(init=False, repr=False)
    _by_region: dict[str, tuple[int, ...]] = field(init=False, repr=False)
    _highlights_by_org: dict[int, tuple[int, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = tuple(e.id for e in self.events)
        pos = list(enumerate(ids))
        object.__setattr__(self, "_ids", ids)
        object.__setattr__(
            self, "_by_org", _index((o, p) for p, i in pos for o in sorted(self.host_ids[i]))
        )
        object.__setattr__(
            self, "_by_cause", _index((c, p) for p, i in pos for c in sorted(self.causes[i]))
        )
        object.__setattr__(self, "_by_region", _index((self.regions[i], p) for p, i in pos))
        object.__setattr__(
            self,
            "_highlights_by_org",
            _index((o, p) for p, i in pos for o in sorted(self.highlighted_by.get(i, ()))),
        )

    def __len__(self) -> int:
        return len(self.events)

    def followed(self, organization_ids: set[int]) -> tuple[set[int], set[int]]:
        """The organizations someone following `organization_ids` follows, each network's
        active members included; and which of those they follow are networks."""
        networks = organization_ids & self.network_members.keys()
        if not networks:
            return organization_ids, networks
        return organization_ids.union(*(self.network_members[n] for n in networks)), networks

    @property
    def event_ids(self) -> list[int]:
        return list(self._ids)

    def places_left(self, event: Event) -> int | None:
        return places_left_in(event, self.counts.get(event.id, {}))


def _window_conditions(now: datetime, organization_ids: Iterable[int] | None) -> list:
    conditions = [
        Event.status == ev.STATUS_PUBLISHED,  # neither draft nor cancelled
        Event.visibility == ev.VISIBILITY_PUBLIC,  # not unlisted
        Event.starts_at > now,
        Event.starts_at <= now + WINDOW,
    ]
    if organization_ids is not None:
        org_ids = sorted(set(organization_ids))
        conditions.append(
            or_(
                Event.organization_id.in_(org_ids),
                exists().where(
                    EventHost.event_id == Event.id,
                    EventHost.organization_id.in_(org_ids),
                    EventHost.status == ev.COHOST_ACCEPTED,
                ),
            )
        )
    return conditions


def _candidate_weeks(now: datetime) -> list[str]:
    """Every ISO week some time zone may be in at `now` (UTC-12 to UTC+14)."""
    return sorted({week_of(now + timedelta(hours=h), "UTC") for h in (-12, 0, 14)})


def load_candidates(now: datetime, organization_ids: Iterable[int] | None = None) -> Candidates:
    """Published public actions starting in the next 14 days, not full without a waitlist.

    With `organization_ids`, only actions those organizations host or co-host. Seven queries
    whatever the number of actions: the actions (with their primary host), their co-hosts (with
    organizations, so `event.host_organizations` costs nothing later), their causes, their
    translations, sign-up counts, highlights, and the networks' active members; each filtered by
    the same subquery, never by a list of ids.
    """
    conditions = _window_conditions(now, organization_ids)
    ids = select(Event.id).where(*conditions).scalar_subquery()
    events = list(
        db.session.scalars(
            select(Event)
            .where(*conditions)
            .options(joinedload(Event.organization))
            .order_by(Event.starts_at, Event.id)
        )
    )
    hosts: dict[int, list[EventHost]] = {e.id: [] for e in events}
    for host in db.session.scalars(
        select(EventHost)
        .where(EventHost.event_id.in_(ids))
        .options(joinedload(EventHost.organization))
        .order_by(EventHost.event_id, EventHost.requested_at, EventHost.organization_id)
    ):
        hosts.setdefault(host.event_id, []).append(host)
    causes: dict[int, list[EventCause]] = {e.id: [] for e in events}
    for cause in db.session.scalars(
        select(EventCause).where(EventCause.event_id.in_(ids)).order_by(EventCause.cause)
    ):
        causes.setdefault(cause.event_id, []).append(cause)
    translations: dict[int, list[EventTranslation]] = {e.id: [] for e in events}
    for translation in db.session.scalars(
        select(EventTranslation)
        .where(EventTranslation.event_id.in_(ids))
        .order_by(EventTranslation.locale)
    ):
        translations.setdefault(translation.event_id, []).append(translation)
    # Per status, and for actions with shifts the places left in them: one query.
    counted = counts_by_event(ids)
    counts = {e.id: counted.get(e.id, {}) for e in events}
    highlight_rows = db.session.execute(
        select(Highlight.event_id, Highlight.organization_id, Highlight.week, Organization.timezone)
        .join(Organization, Organization.id == Highlight.organization_id)
        .where(Highlight.event_id.in_(ids), Highlight.week.in_(_candidate_weeks(now)))
    ).all()
    members: dict[int, set[int]] = {}
    for network_id, member_id in db.session.execute(
        select(NetworkMembership.network_id, NetworkMembership.member_id).where(
            NetworkMembership.status == nw.NETWORK_ACTIVE
        )
    ):
        members.setdefault(network_id, set()).add(member_id)

    for event in events:  # fill the relationships from what was loaded: no lazy loads later
        state = db.inspect(event)
        if "cohosts" in state.unloaded:
            set_committed_value(event, "cohosts", hosts[event.id])
        if "causes" in state.unloaded:
            set_committed_value(event, "causes", causes[event.id])
        if "translations" in state.unloaded:
            set_committed_value(event, "translations", translations[event.id])

    events = [e for e in events if not _full_without_waitlist(e, counts[e.id])]
    host_ids = {e.id: frozenset(e.host_ids) for e in events}
    highlighted: dict[int, set[int]] = {}
    for event_id, org_id, week, timezone in highlight_rows:
        # The organization's own week, and only while it (a network: or an active member of
        # it) still hosts the action.
        hosts = host_ids.get(event_id, frozenset())
        if (org_id in hosts or hosts & members.get(org_id, set())) and week == week_of(
            now, timezone
        ):
            highlighted.setdefault(event_id, set()).add(org_id)
    return Candidates(
        now=now,
        events=events,
        host_ids=host_ids,
        causes={e.id: frozenset(e.cause_slugs) for e in events},
        regions={e.id: e.region for e in events},
        highlighted_by={k: frozenset(v) for k, v in highlighted.items()},
        counts={e.id: counts[e.id] for e in events},
        network_members={n: frozenset(m) for n, m in members.items()},
    )


def _full_without_waitlist(event: Event, counts: Mapping[str, int]) -> bool:
    """Full without a waitlist; an action with shifts only when every shift is."""
    return full_without_waitlist(event, counts)


def signed_up_event_ids(
    emails: Iterable[str], event_ids: Iterable[int] | None = None
) -> dict[str, set[int]]:
    """For each address (as given), the actions it holds a sign-up for: one query per batch.

    A cancelled sign-up does not count (the person may sign up again); a declined one does.
    Pass `event_ids` (e.g. `candidates.event_ids`) to read only those actions' sign-ups, which
    uses the (event_id, email) index.
    """
    emails = list(emails)
    result: dict[str, set[int]] = {email: set() for email in emails}
    by_address: dict[str, list[str]] = {}
    for email in emails:
        by_address.setdefault(email.strip().lower(), []).append(email)
    event_list = None if event_ids is None else sorted(set(event_ids))
    if not by_address or event_list == []:
        return result
    query = select(Signup.email, Signup.event_id).where(
        Signup.email.in_(sorted(by_address)), Signup.status != st.CANCELLED
    )
    if event_list is not None:
        query = query.where(Signup.event_id.in_(event_list))
    for address, event_id in db.session.execute(query):
        for email in by_address.get(address, ()):
            result[email].add(event_id)
    return result


def _merged(index: Mapping, keys: Iterable) -> Iterator[int]:
    """The positions listed under any of `keys`, ascending (duplicates possible)."""
    lists = [index[key] for key in keys if key in index]
    if not lists:
        return iter(())
    if len(lists) == 1:
        return iter(lists[0])
    return heapq.merge(*lists)


def pick(subscriber: Subscriber, candidates: Candidates, signed_up: set[int]) -> list[Event]:
    """The subscriber's actions for this week, in digest order. Pure: no queries."""
    limit = subscriber.max_actions
    ids = candidates._ids
    chosen: list[int] = []
    taken: set[int] = set()

    def take(positions: Iterable[int]) -> bool:
        """Add positions not taken nor signed up for; True once the digest is full."""
        for position in positions:
            if position in taken or ids[position] in signed_up:
                continue
            taken.add(position)
            chosen.append(position)
            if len(chosen) >= limit:
                return True
        return False

    if limit < 1:
        return []
    orgs, networks = candidates.followed(subscriber.organization_ids)
    causes = subscriber.cause_slugs
    regions = subscriber.region_slugs
    if not orgs and not causes and not regions:
        take(range(len(ids)))
    else:
        groups = (
            _merged(candidates._highlights_by_org, networks),
            _merged(candidates._highlights_by_org, orgs),
            heapq.merge(
                _merged(candidates._by_cause, causes), _merged(candidates._by_region, regions)
            ),
            _merged(candidates._by_org, orgs),
        )
        for group in groups:
            if take(group):
                break
    events = candidates.events
    return [events[position] for position in chosen]
