"""Long commands: a progress bar at a terminal, one summary line for cron."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from organizer import progress as progress_module
from organizer.progress import SILENT, Progress, TerminalProgress, progress

from . import factories

NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Jerusalem


class FakeTerminal(io.StringIO):
    """What a person's terminal would have shown."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_counts_rate_and_percentage():
    screen = FakeTerminal()
    with progress("Sending reminders", stream=screen) as bar:
        assert isinstance(bar, TerminalProgress)
        bar.start(40)
        for _ in range(4):
            bar.advance(10)
    shown = screen.getvalue()
    assert "Sending reminders" in shown
    assert "40/40" in shown and "100%" in shown
    assert "/s" in shown  # the rate
    assert shown.endswith("\n")  # the bar is finished before the summary line
    assert bar.done == 40 and bar.rate > 0


def test_an_unknown_total_is_counted_as_it_comes():
    screen = FakeTerminal()
    with progress("Sending digests", stream=screen) as bar:
        bar.advance(1000)
        bar.advance(500)
    shown = screen.getvalue()
    assert "1500" in shown and "%" not in shown


def test_without_a_terminal_nothing_is_drawn(capsys):
    with progress("Sending digests") as bar:  # pytest's captured stdout is no terminal
        bar.start(3)
        bar.advance(3)
    assert type(bar) is Progress and bar.done == 3
    assert capsys.readouterr().out == ""
    SILENT.start(5)
    SILENT.advance(5)  # services' default keeps nothing
    assert SILENT.done == 0 and SILENT.total is None


def test_a_bar_is_finished_even_when_the_work_fails():
    screen = FakeTerminal()
    with pytest.raises(RuntimeError), progress("Extending series", stream=screen) as bar:
        bar.start(2)
        bar.advance()
        raise RuntimeError("boom")
    assert screen.getvalue().endswith("\n")


# --- the commands, as cron runs them (CliRunner's output is not a terminal) -------------------


def _one_line(result) -> str:
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_reminders_send_prints_only_its_summary(app, runner, mailbox):
    event = factories.make_event(starts_at=NOW + timedelta(hours=20))
    for n in range(3):
        factories.make_signup(event, email=f"v{n}@example.org")
    line = _one_line(runner.invoke(args=["reminders", "send", "--now", NOW.isoformat()]))
    assert line == "sent 3, failed 0, bounced 0, deferred 0"


def test_digest_send_prints_only_its_summary(app, runner, mailbox):
    factories.make_event(starts_at=NOW + timedelta(days=2))
    factories.make_subscription()
    line = _one_line(runner.invoke(args=["digest", "send", "--inline", "--now", NOW.isoformat()]))
    assert line.startswith("sent 1, ")


def test_events_extend_prints_only_its_summary(app, runner):
    factories.make_series(first=NOW + timedelta(days=1), created=NOW)
    later = (NOW + timedelta(weeks=2)).isoformat()
    line = _one_line(runner.invoke(args=["events", "extend", "--now", later]))
    assert line.startswith("Extended 1 series: 2 new dates")


def test_seed_prints_only_its_summary(app, runner):
    line = _one_line(runner.invoke(args=["seed"]))
    assert line.startswith("Seeded ") and line.endswith("new rows)")


def test_at_a_terminal_the_command_shows_the_bar_then_the_summary(app, runner, monkeypatch):
    screen = FakeTerminal()
    monkeypatch.setattr(progress_module, "terminal", lambda: screen)
    for _ in range(3):
        factories.make_series(first=NOW + timedelta(days=1), created=NOW)
    later = (NOW + timedelta(weeks=1)).isoformat()
    result = runner.invoke(args=["events", "extend", "--now", later])
    line = _one_line(result)
    assert line.startswith("Extended 3 series")
    shown = screen.getvalue()
    assert "Extending series" in shown and "3/3" in shown and "100%" in shown and "/s" in shown
