"""The rich progress bar of ``nasgen train``: one bar per epoch with loss, accuracy and images/s."""

from __future__ import annotations

import time
from typing import Any

from nasgen.train.progressive import ProgressiveSchedule

__all__ = ["_Progress"]


class _Progress:
    """A rich progress bar per epoch (loss, accuracy, images/s) and one line per finished epoch, or nothing when
    disabled. Off a terminal (a log file, a pipe) only the epoch lines are printed: a bar there is rendered once
    more at its end, which printed every epoch twice."""

    def __init__(self, enabled: bool, epochs: int) -> None:
        self.enabled, self.epochs = enabled, epochs
        self.console: Any = None
        self.progress: Any = None
        self.task: Any = None
        self.trainer: Any = None
        self.schedule: ProgressiveSchedule | None = None
        self.totals = [0, 0.0, 0]

    def __enter__(self) -> _Progress:
        if not self.enabled:
            return self
        from rich.console import Console

        self.console = Console()
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.3f}  {task.fields[ips]:.0f} img/s"),
                TimeElapsedColumn(), console=self.console,
            )  # fmt: skip
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def begin(self, trainer: Any, schedule: ProgressiveSchedule | None) -> None:
        self.trainer, self.schedule = trainer, schedule
        if trainer.start_epoch > 0 and self.console is not None:
            self.console.print(f"resuming after epoch {trainer.start_epoch}/{self.epochs}")
        self._new_task(trainer.start_epoch)

    def _new_task(self, epoch: int) -> None:
        if self.progress is None or epoch >= self.epochs:
            return
        size = self.trainer.epoch_settings(epoch).resolution_px or self.trainer.config.resolution_px
        stage = f" stage {self.schedule.for_epoch(epoch, self.epochs).stage + 1}" if self.schedule else ""
        self.totals, self.started = [0, 0.0, 0], time.perf_counter()
        self.task = self.progress.add_task(
            f"epoch {epoch + 1}/{self.epochs}{stage} {size}px", total=self.trainer.n_train, loss=0.0, acc=0.0, ips=0.0
        )

    def step(self, n: int, loss: float, correct: int) -> None:
        if self.progress is None:
            return
        seen, loss_sum, right = self.totals
        self.totals = [seen + n, loss_sum + loss * n, right + correct]
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(
            self.task, advance=n, loss=self.totals[1] / self.totals[0], acc=self.totals[2] / self.totals[0],
            ips=self.totals[0] / elapsed,
        )  # fmt: skip

    def epoch_done(self, row: dict[str, float]) -> None:
        if self.console is None:
            return
        self.console.print(
            f"epoch {row['epoch']}/{self.epochs}: train loss {row['train_loss']:.4f} acc {row['train_top1']:.4f}, "
            f"val loss {row['val_loss']:.4f} top-1 {row['val_top1']:.4f}, {row['images_per_s']:.0f} img/s, "
            f"{row['seconds']:.1f} s"
        )
        self._new_task(int(row["epoch"]))
