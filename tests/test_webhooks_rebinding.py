"""A webhook's name is checked again at each call: it may point at a private network by then."""

from __future__ import annotations

import time

import pytest

from organizer.services import webhooks

from .webhook_receiver import serve


@pytest.fixture()
def receiver():
    with serve() as running:
        yield running


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "10.1.2.3", "::1"])
def test_private_and_local_names_are_recognised(host):
    assert webhooks.resolves_to_private(host)


def test_an_unresolvable_name_is_left_to_fail_by_itself():
    assert not webhooks.resolves_to_private("no-such-host.invalid")


def test_a_call_to_a_name_now_pointing_inside_is_refused_without_connecting(receiver):
    outcome = webhooks.post(
        receiver.url("/hook").replace("127.0.0.1", "localhost"),
        b"{}",
        {"Content-Type": "application/json"},
        time.monotonic() + 5,
    )
    assert not outcome.ok and outcome.status_code is None
    assert "private network" in outcome.error
    assert receiver.calls == []


def test_development_may_call_this_machine(receiver):
    outcome = webhooks.post(
        receiver.url("/hook"), b"{}", {}, time.monotonic() + 5, allow_private=True
    )
    assert outcome.status_code is not None
