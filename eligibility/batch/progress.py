"""Progress of a run: what the runner reports, and a rich progress bar (rate and ETA) that shows it."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

__all__ = ["ProgressSink", "QuietProgress", "RichProgress"]


class ProgressSink(Protocol):
    def scanning(self, total_bytes: int) -> None: ...

    def scanned(self, size: int) -> None: ...

    def deciding(self, total: int, already_done: int) -> None: ...

    def decided(self, count: int) -> None: ...

    def close(self) -> None: ...


class QuietProgress:
    """Reports nothing (library use and tests)."""

    def scanning(self, total_bytes: int) -> None:
        pass

    def scanned(self, size: int) -> None:
        pass

    def deciding(self, total: int, already_done: int) -> None:
        pass

    def decided(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


class _PatientRate(ProgressColumn):
    def render(self, task: Task) -> Text:
        # Rich estimates speed from recent samples; with few updates yet, the average so far.
        speed = task.finished_speed or task.speed
        if speed is None and task.elapsed:
            speed = task.completed / task.elapsed
        return Text("" if speed is None else f"{speed:,.0f} patients/s", style="progress.data.speed")


class RichProgress:
    """Two bars: the scan (bytes of the export) then the decisions (patients)."""

    def __init__(self, console: Console | None = None) -> None:
        self._scan_bar = Progress(
            TextColumn("[bold]scan  "),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self._decide_bar = Progress(
            TextColumn("[bold]decide"),
            BarColumn(),
            MofNCompleteColumn(),
            _PatientRate(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self._task: TaskID | None = None
        self._active: Progress | None = None

    def _start(self, bar: Progress, total: int, completed: int = 0) -> None:
        self.close()
        self._active = bar
        bar.start()
        self._task = bar.add_task("", total=total, completed=completed)

    def scanning(self, total_bytes: int) -> None:
        self._start(self._scan_bar, total_bytes)

    def scanned(self, size: int) -> None:
        if self._active is self._scan_bar and self._task is not None:
            self._scan_bar.advance(self._task, size)

    def deciding(self, total: int, already_done: int) -> None:
        # Patients done by an earlier run count as complete; the rate and ETA cover this run only.
        self._start(self._decide_bar, total - already_done)

    def decided(self, count: int) -> None:
        if self._active is self._decide_bar and self._task is not None:
            task = next(t for t in self._decide_bar.tasks if t.id == self._task)
            if task.total is not None and task.completed + count > task.total:
                self._decide_bar.update(self._task, total=task.completed + count)  # more groups than Patients
            self._decide_bar.advance(self._task, count)

    def close(self) -> None:
        if self._active is not None:
            self._active.stop()
            self._active = None
            self._task = None
