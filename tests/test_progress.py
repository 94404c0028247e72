"""Progress without a terminal: each line as it happens, each run its own phases, and a push
that did not write everything is never "done"."""

from __future__ import annotations

import io
import sys
from itertools import pairwise

import pytest

from acsync.jobs.pull import backfill
from acsync.jobs.push import PushReport, push
from acsync.jobs.score import score
from acsync.jobs.setup import setup
from acsync.progress import Lines, reporter
from acsync.store import Store
from tests.sandbox_helpers import NOW, FakeClock, sandbox_and_client
from tests.test_push import example_settings


class Recorded:
    """The lines, in order, each with how many times the job had advanced when it was written."""

    def __init__(self, clock: FakeClock) -> None:
        self.lines: list[str] = []
        self.reporter = Lines(self.lines.append, every=10.0, clock=clock)

    def phase_lines(self, phase: str) -> list[str]:
        return [line for line in self.lines if line.startswith(f"{phase}:")]


def test_each_phase_ends_as_the_next_starts_not_in_a_batch_at_the_end() -> None:
    clock = FakeClock()
    lines: list[str] = []
    p = Lines(lines.append, every=10.0, clock=clock)
    p.start("contacts", None)
    p.advance("contacts", 1500)
    clock.now += 11  # a periodic line once `every` seconds have passed, with what is done so far
    p.advance("contacts", 500)
    p.start("tracking", 2000)
    assert lines == [
        "contacts: started",
        "contacts: 2,000",
        "contacts: 2,000 done",  # written when the phase is over, before the next one's line
        "tracking: started, 2,000 to do",
    ]
    p.advance("tracking", 2000)
    p.close()
    assert lines[-1] == "tracking: 2,000 done"
    assert len(lines) == 5  # close wrote only what was still open


def test_a_backfill_writes_each_phases_end_before_the_next_phase_runs(store: Store) -> None:
    _sb, client, clock = sandbox_and_client(30, rate=None)
    rec = Recorded(clock)
    backfill(store, client, NOW, progress=rec.reporter)
    phases = ["contacts", "campaigns", "tracking", "orders", "tags", "lists"]
    for phase, nxt in pairwise(phases):
        done = next(i for i, line in enumerate(rec.lines) if line.startswith(f"{phase}:") and "done" in line)
        started = next(i for i, line in enumerate(rec.lines) if line.startswith(f"{nxt}: started"))
        assert done == started - 1, rec.lines  # over before the next phase runs, not at the end
    assert rec.phase_lines("contacts")[-1] == "contacts: 30 done"
    assert sum(1 for line in rec.lines if line.endswith(" done")) == len(phases)


def test_the_push_after_a_backfill_does_not_repeat_the_backfills_phases(store: Store) -> None:
    _sb, client, clock = sandbox_and_client(30, rate=None)
    settings = example_settings()
    setup(store, client, settings, dry_run=False)
    rec = Recorded(clock)  # one reporter for both, as the demo has
    backfill(store, client, NOW, progress=rec.reporter)
    score(store, settings.ruleset(), settings.fingerprints(), NOW)
    before = len(rec.lines)
    push(store, client, settings.push, NOW, sleep=clock.sleep, clock=clock, progress=rec.reporter)
    pushed = rec.lines[before:]
    assert all(line.startswith("push: ") for line in pushed), pushed  # no phase of the backfill again
    assert (pushed[0], pushed[-1]) == ("push: started, 30 to do", "push: 30 done")


def test_refused_writes_are_never_done(store: Store) -> None:
    _sb, client, clock = sandbox_and_client(12, rate=None)
    settings = example_settings(bulk_from=1000)
    setup(store, client, settings, dry_run=False)
    backfill(store, client, NOW)
    score(store, settings.ruleset(), settings.fingerprints(), NOW)
    fid = int(store.conn.execute("SELECT ac_id FROM ac_ids WHERE name = 'Lead Score'").fetchone()[0])
    del _sb.account.fields[fid]  # someone deleted the field in AC: every field write is refused
    rec = Recorded(clock)
    report = push(store, client, settings.push, NOW, sleep=clock.sleep, clock=clock, progress=rec.reporter)
    assert report.dead > 0
    last = rec.lines[-1]
    assert "done" not in last
    assert last.startswith("push: 12 of 12 handled, not all written: ")
    assert f"{report.dead} refused (acsync outbox --dead)" in last


@pytest.mark.parametrize(
    ("report", "said"),
    [
        (PushReport(), []),
        (PushReport(retry=3), ["3 failed (the next push tries again)"]),
        (
            PushReport(retry=3, maybe_sent=1, dead=1200),
            [
                "2 failed (the next push tries again)",
                "1 may have been sent (the next push looks in AC first)",
                "1,200 refused (acsync outbox --dead)",
            ],
        ),
        (PushReport(waiting=5), ["5 in imports still running (the next push polls them)"]),
    ],
)
def test_push_problems_in_words(report: PushReport, said: list[str]) -> None:
    assert report.problems() == said


def test_a_push_stopped_by_an_error_is_not_done() -> None:
    lines: list[str] = []
    p = Lines(lines.append)
    p.start("push", 10)
    p.advance("push", 4)
    p.finish("push", ["stopped before the end"])
    p.close()
    assert lines == [
        "push: started, 10 to do",
        "push: 4 of 10 handled, not all written: stopped before the end",
    ]


class _Pipe(io.StringIO):
    """Standard error redirected to a file or a pipe: records what was flushed, line by line."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def isatty(self) -> bool:
        return False

    def flush(self) -> None:
        self.flushed.append(self.getvalue())


def test_without_a_terminal_every_line_is_flushed_as_it_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = _Pipe()
    monkeypatch.setattr(sys, "stderr", pipe)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    p = reporter()
    assert isinstance(p, Lines)
    p.start("contacts", None)
    assert pipe.flushed[-1] == "contacts: started\n"  # out before anything else happens
    p.start("campaigns", 3)
    assert pipe.flushed[-1].endswith("contacts: 0 done\ncampaigns: started, 3 to do\n")
