"""What the demo shows a person: its steps, a bar over the simulated day with its clock and the
time left, the summary, and what to open and type next. Rich draws it; where stdout is not a
terminal (CI, tests) rich prints plain lines instead of redrawing them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
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
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[clock]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("\n  {task.fields[counts]}"),
            console=self.console,
            transient=False,
        )
        with progress:
            task = progress.add_task(
                "simulated week",
                total=(end - start).total_seconds(),
                clock=_clock(start),
                counts="",
            )
            yield DayBar(progress, task, start)

    def summary(self, text: str, log_file: Path) -> None:
        self.console.print(text, markup=False)
        self.console.print(f"  log           {log_file} (every log line of the run)")

    def invitation(self, url: str, agent_key: str, ops_key: str) -> None:
        """The console's address, the keys made for this demo, and the first curl to try."""
        body = Text.assemble(
            ("console   ", "bold"), f"{url}/console  (sign in with the agent or the ops key)\n",
            ("agent key ", "bold"), f"{agent_key}\n",
            ("ops key   ", "bold"), f"{ops_key}\n\n",
            ("try first\n", "bold"),
            f'curl -s "{url}/v1/orders?limit=3" -H "Authorization: Bearer {agent_key}"\n\n',
            "the API serves what the day left, and the simulated back office keeps reporting;\n",
            "the keys were made for this demo and live in its database. Ctrl-C stops it.",
        )  # fmt: skip
        self.console.print(Panel(body, title="orderhub is serving", expand=False))


class DayBar:
    """The day's bar: moved by the demo's clock, captioned by its counts."""

    def __init__(self, progress: Progress, task: TaskID, start: datetime) -> None:
        self._progress = progress
        self._task = task
        self._start = start

    def update(self, counts: DayCounts) -> None:
        self._progress.update(
            self._task,
            completed=(counts.now - self._start).total_seconds(),
            clock=_clock(counts.now),
            counts=(
                f"orders {counts.placed} placed, {counts.refused} refused · shipped "
                f"{counts.shipped} · returned {counts.returned} · refunded {counts.refunded} · "
                f"events relayed {counts.relayed}"
            ),
        )

    def finish(self) -> None:
        task = self._progress.tasks[self._task]
        self._progress.update(self._task, completed=task.total)


def _clock(moment: datetime) -> str:
    return moment.strftime("%a %H:%M")
