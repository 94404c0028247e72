"""Progress for long pulls and pushes: rich bars on a terminal, plain lines otherwise, or nothing.

A phase starts, advances, and ends either when the next one starts or when ``finish`` says how
it went: a phase with ``problems`` (writes that failed, that AC refused, whose answer was lost)
is never said to be done. ``close`` ends the run; a reporter can be used again for another run
(the demo's push after its backfill) and then shows only that run's phases.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn


class Reporter(Protocol):
    def start(self, phase: str, total: int | None) -> None: ...
    def advance(self, phase: str, n: int = 1) -> None: ...
    def finish(self, phase: str, problems: Sequence[str] = ()) -> None: ...
    def close(self) -> None: ...


class Silent:
    def start(self, phase: str, total: int | None) -> None:
        pass

    def advance(self, phase: str, n: int = 1) -> None:
        pass

    def finish(self, phase: str, problems: Sequence[str] = ()) -> None:
        pass

    def close(self) -> None:
        pass


class Bars:
    """One rich bar per phase, with counts and the time left at the current pace."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def start(self, phase: str, total: int | None) -> None:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._progress.start()
        self._tasks[phase] = self._progress.add_task(phase, total=total)

    def advance(self, phase: str, n: int = 1) -> None:
        if self._progress is not None and phase in self._tasks:
            self._progress.advance(self._tasks[phase], n)

    def finish(self, phase: str, problems: Sequence[str] = ()) -> None:
        if self._progress is not None and phase in self._tasks and problems:
            self._progress.update(self._tasks[phase], description=f"{phase} ({', '.join(problems)})")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress, self._tasks = None, {}


class Lines:
    """Plain lines for logs and CI (no terminal), each written as it happens: a phase's start,
    its count every ``every`` seconds, and how it ended (``N done``, or its problems)."""

    def __init__(
        self, write: Callable[[str], None], every: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.write, self.every, self.clock = write, every, clock
        self._done: dict[str, int] = {}
        self._total: dict[str, int | None] = {}
        self._open: list[str] = []  # started, not yet ended
        self._last = clock()

    def start(self, phase: str, total: int | None) -> None:
        self._end_open()  # phases run one after the other: the one before is over
        self._done[phase], self._total[phase] = 0, total
        self._open.append(phase)
        self.write(f"{phase}: started" + (f", {total:,} to do" if total else ""))

    def advance(self, phase: str, n: int = 1) -> None:
        self._done[phase] = self._done.get(phase, 0) + n
        if self.clock() - self._last >= self.every:
            self._last = self.clock()
            total = self._total.get(phase)
            self.write(f"{phase}: {self._done[phase]:,}" + (f" of {total:,}" if total else ""))

    def finish(self, phase: str, problems: Sequence[str] = ()) -> None:
        if phase not in self._open:
            return
        self._open.remove(phase)
        if not problems:
            self.write(f"{phase}: {self._done[phase]:,} done")
            return
        total = self._total.get(phase)
        handled = f"{self._done[phase]:,}" + (f" of {total:,}" if total else "")
        self.write(f"{phase}: {handled} handled, not all written: {', '.join(problems)}")

    def close(self) -> None:
        self._end_open()
        self._done, self._total = {}, {}

    def _end_open(self) -> None:
        for phase in list(self._open):
            self.finish(phase)


def reporter(quiet: bool = False) -> Reporter:
    if quiet:
        return Silent()
    console = Console(stderr=True)
    if console.is_terminal:
        return Bars(console)
    return Lines(lambda line: print(line, file=sys.stderr, flush=True))
