"""Progress for long pulls: rich bars on a terminal, plain periodic lines otherwise, or nothing."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn


class Reporter(Protocol):
    def start(self, phase: str, total: int | None) -> None: ...
    def advance(self, phase: str, n: int = 1) -> None: ...
    def close(self) -> None: ...


class Silent:
    def start(self, phase: str, total: int | None) -> None:
        pass

    def advance(self, phase: str, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class Bars:
    """One rich bar per phase, with counts and the time left at the current pace."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}
        self._progress.start()

    def start(self, phase: str, total: int | None) -> None:
        self._tasks[phase] = self._progress.add_task(phase, total=total)

    def advance(self, phase: str, n: int = 1) -> None:
        self._progress.advance(self._tasks[phase], n)

    def close(self) -> None:
        self._progress.stop()


class Lines:
    """A line per phase every ``every`` seconds, for logs and CI (no terminal)."""

    def __init__(
        self, write: Callable[[str], None], every: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.write, self.every, self.clock = write, every, clock
        self._done: dict[str, int] = {}
        self._total: dict[str, int | None] = {}
        self._last = clock()

    def start(self, phase: str, total: int | None) -> None:
        self._done[phase], self._total[phase] = 0, total
        self.write(f"{phase}: started" + (f", {total} to do" if total else ""))

    def advance(self, phase: str, n: int = 1) -> None:
        self._done[phase] += n
        if self.clock() - self._last >= self.every:
            self._last = self.clock()
            total = self._total[phase]
            self.write(f"{phase}: {self._done[phase]}" + (f" of {total}" if total else ""))

    def close(self) -> None:
        for phase, done in self._done.items():
            self.write(f"{phase}: {done} done")


def reporter(quiet: bool = False) -> Reporter:
    if quiet:
        return Silent()
    console = Console(stderr=True)
    if console.is_terminal:
        return Bars(console)
    return Lines(lambda line: print(line, file=sys.stderr, flush=True))
