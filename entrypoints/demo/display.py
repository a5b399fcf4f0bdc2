"""What the demo shows a person: its steps, a bar over the simulated day with its clock and the
time left, the summary, and what to open and type next. Rich draws it; where stdout is not a
terminal (CI, tests) rich prints plain lines instead of redrawing them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.rule import Rule
from rich.text import Text

from entrypoints.demo.counts import DayCounts


class DemoDisplay:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        """A step of getting ready: a spinner while it runs, a tick when it is done."""
        with self.console.status(text):
            yield
        self.console.print(f"[green]✓[/] {text}")

    @contextmanager
    def day(self, start: datetime, end: datetime) -> Iterator[DayBar]:
        """A bar over the simulated week with its clock, the time left, and the counts below."""
        progress = Progress(
            SpinnerColumn(),
            TextColumn("simulated week"),
            BarColumn(),
            TextColumn("{task.fields[clock]}"),
            TimeElapsedColumn(),
            TextColumn("elapsed,"),
            TimeRemainingColumn(),
            TextColumn("left"),
            console=self.console,
        )
        task = progress.add_task("day", total=(end - start).total_seconds(), clock=_clock(start))
        bar = DayBar(progress, task, start)
        with Live(bar, console=self.console, refresh_per_second=8):
            yield bar
        if not self.console.is_terminal:
            self.console.line()  # where nothing redraws, the last frame ends without one

    def summary(self, text: str, log_file: Path) -> None:
        self.console.print(text, markup=False, soft_wrap=True)
        self.console.print(
            f"  log           {log_file} (every log line of the run)", soft_wrap=True
        )

    def invitation(self, url: str, agent_key: str, ops_key: str) -> None:
        """The console's address, the keys made for this demo, and the first curl to try; on
        lines of their own, never wrapped, so that they copy whole."""
        say = self.console.print
        say(Rule("orderhub is serving (Ctrl-C stops it)"))
        say(f"  console    {url}/console  (sign in with the agent or the ops key)", soft_wrap=True)
        say(f"  agent key  {agent_key}", soft_wrap=True)
        say(f"  ops key    {ops_key}", soft_wrap=True)
        say("  try first:", style="bold")
        say(
            f'  curl -s "{url}/v1/orders?limit=3" -H "Authorization: Bearer {agent_key}"',
            soft_wrap=True,
        )
        say(
            "  The API serves what the week left and the simulated back office keeps reporting. "
            "The keys were made for this demo and live in its database.",
            soft_wrap=True,
        )


class DayBar:
    """The day's bar: moved by the demo's clock, captioned by its counts."""

    def __init__(self, progress: Progress, task: TaskID, start: datetime) -> None:
        self._progress = progress
        self._task = task
        self._start = start
        self._counts = Text("  waiting for the first order", style="dim")

    def __rich__(self) -> RenderableType:
        return Group(self._progress, self._counts)

    def update(self, counts: DayCounts) -> None:
        self._progress.update(
            self._task,
            completed=(counts.now - self._start).total_seconds(),
            clock=_clock(counts.now),
        )
        self._counts = Text(
            f"  orders placed {counts.placed} · refused {counts.refused} · shipped "
            f"{counts.shipped} · returned {counts.returned} · refunded {counts.refunded} · "
            f"events relayed {counts.relayed}"
        )

    def finish(self) -> None:
        task = self._progress.tasks[self._task]
        self._progress.update(self._task, completed=task.total)


def _clock(moment: datetime) -> str:
    return moment.strftime("%a %H:%M")
