"""Progress of long commands (`flask seed`, `digest send`, `reminders send`, `events extend`,
`make bench`): a bar with counts and rate for a person at a terminal, silence for cron.

Services take a `Progress` and call `start(total)` and `advance(n)`; they never print. The
command opens one with `progress(label)`, which draws click's progress bar when standard output
is a terminal and otherwise only counts, then prints its one-line summary itself:

    with progress("Sending digests") as bar:
        summary = send_due(now, progress=bar)
    click.echo(summary.summary())

So a cron run prints exactly the summary line, and a person sees the work move.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic
from typing import TextIO

import click


class Progress:
    """Counts work done; the base class draws nothing (services' default, and cron's)."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0
        self.started = monotonic()

    def start(self, total: int | None) -> None:
        """How much work there is, when known (None: unknown, counted as it comes)."""
        self.total = total

    def advance(self, count: int = 1) -> None:
        self.done += count

    @property
    def rate(self) -> float:
        """Items per second since the start."""
        elapsed = monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def close(self) -> None:
        """Finish drawing (nothing to do when nothing was drawn)."""


class _Silent(Progress):
    """The default of services called without a command around them: keeps nothing."""

    def start(self, total: int | None) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass


SILENT: Progress = _Silent()


class TerminalProgress(Progress):
    """click's progress bar on `stream`: label, bar, done/total, percentage, rate, time left."""

    def __init__(self, label: str, stream: TextIO) -> None:
        super().__init__()
        self.label = label
        self.stream = stream
        self._bar = None

    def start(self, total: int | None) -> None:
        super().start(total)
        self._open()

    def _open(self) -> None:
        if self._bar is not None:
            return
        self._bar = click.progressbar(
            # Unknown total: an endless iterable makes click count without a percentage.
            None if self.total is not None else itertools.repeat(None),
            length=self.total,
            label=self.label,
            file=self.stream,
            show_pos=True,
            show_percent=self.total is not None,
            item_show_func=lambda _item: f"{self.rate:,.1f}/s",
        )
        self._bar.__enter__()

    def advance(self, count: int = 1) -> None:
        super().advance(count)
        self._open()
        self._bar.update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def terminal() -> TextIO | None:
    """Standard output if a person is watching it (a terminal), else None (cron, a pipe)."""
    stream = sys.stdout
    try:
        return stream if stream.isatty() else None
    except ValueError:  # a closed stream
        return None


@contextmanager
def progress(label: str, stream: TextIO | None = None) -> Iterator[Progress]:
    """A bar on `stream` (default: standard output when it is a terminal), else a silent
    counter; the bar is finished on leaving, even when the work failed."""
    stream = stream if stream is not None else terminal()
    tracker = TerminalProgress(label, stream) if stream is not None else Progress()
    try:
        yield tracker
    finally:
        tracker.close()


def note(text: str) -> None:
    """A line for the person watching (a stage finished, say), above the bar; cron sees none."""
    stream = terminal()
    if stream is not None:
        click.echo(f"\r\x1b[2K{text}", file=stream)
