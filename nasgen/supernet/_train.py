"""Training a supernet once per (space, data, recipe): the sandwich rule with in-place distillation, or SPOS.

Sandwich rule and in-place distillation (BigNAS, Yu et al., 2020, §3.1): every step runs the largest subnet on
the labels, then the smallest and ``n_random`` random subnets on the largest's soft predictions of the same
images, accumulating their gradients into one optimizer update. Uniform single path (SPOS, Guo et al., 2020,
§3.2): one random subnet per step, on the labels. Each subnet sees the images at the resolution the proxy would
train it at. The optimizer, schedule, batches and normalization are the proxy trainer's; every epoch boundary is
a checkpoint, and a resumed run is bit-identical to an uninterrupted one (the data order, the subnets drawn and
the global RNG are seeded per epoch).
"""

from __future__ import annotations

import math
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from nasgen.config import SupernetRecipe
from nasgen.data import fingerprint, images_at, labels_of, normalize, split
from nasgen.errors import TrainError
from nasgen.nn import init_classifier
from nasgen.space import SearchSpace, load_space
from nasgen.supernet._net import Supernet
from nasgen.supernet._store import (
    SUPERNET_DIR,
    SupernetRun,
    check_keys,
    load_state,
    load_weights,
    make_keys,
    new_meta,
    read_meta,
    save_epoch,
)
from nasgen.train import make_optimizer, make_scheduler, proxy_data, resolve_device, zero_init_residual

__all__ = ["prepare_data", "train_supernet"]


def prepare_data(data: Any, supernet: Supernet | None, recipe: SupernetRecipe, split_seed: int, space=None):
    """``(train, val)`` in memory as the proxy sees them: a streamed dataset decoded once into the proxy's cache
    at the largest proxy resolution of the space, one dataset split as :func:`nasgen.train.evaluate_proxy` does."""
    from nasgen.data import ImageFiles

    streamed = any(isinstance(part, ImageFiles) for part in (data if isinstance(data, tuple) else (data,)))
    if streamed:
        from nasgen.train import proxy_resolution

        space = supernet.space if supernet is not None else space
        px = proxy_resolution(max(space.resolution_px.values()), recipe.train)  # the largest proxy input of the space
        data, _ = proxy_data(data, recipe.train, resolution_px=px)
    return data if isinstance(data, tuple) else split(data, None, seed=split_seed)


def _fingerprint(data: Any) -> str:
    return " + ".join(map(fingerprint, data)) if isinstance(data, tuple) else fingerprint(data)


class _Bar:
    """A rich progress bar over every step of the run, with the loss and the time remaining."""

    def __init__(self, enabled: bool, total: int, done: int) -> None:
        self.progress = self.task = None
        if enabled:
            from rich.progress import (
                BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
            )  # fmt: skip

            self.progress = Progress(
                TextColumn("supernet {task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.3f}"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(),
            )  # fmt: skip
            self.progress.start()
            self.task = self.progress.add_task("epoch 1", total=total, completed=done, loss=float("nan"))

    def step(self, epoch: int, epochs: int, loss: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, advance=1, loss=loss, description=f"epoch {epoch + 1}/{epochs}")

    def note(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


class _Run:
    """One supernet training: the network, its data as tensors, the optimizer and the per-step subnets."""

    def __init__(self, supernet: Supernet, train, val, recipe: SupernetRecipe, seed: int, device) -> None:
        from nasgen.data import channel_stats

        self.supernet, self.train, self.val, self.recipe, self.seed = supernet, train, val, recipe, seed
        self.config, self.device = recipe.train, device
        self.memory_format = torch.channels_last if self.config.channels_last else torch.contiguous_format
        mean, std = channel_stats(train)
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)
        self.n_train = min(self.config.images_per_epoch or len(train), len(train))
        self.steps_per_epoch = math.ceil(self.n_train / self.config.batch_size)
        self.optimizer = make_optimizer(supernet, self.config)
        self.scheduler = make_scheduler(self.optimizer, self.config, self.steps_per_epoch)
        self.labels = labels_of(train)
        self._resolutions: dict[str, int] = {}

    def resolution(self, spec) -> int:
        from nasgen.train import proxy_resolution_for

        key = spec.content_hash()
        if key not in self._resolutions:
            self._resolutions[key] = proxy_resolution_for(spec, self.train, self.config)
        return self._resolutions[key]

    def subnets(self, rng: random.Random) -> list:
        net = self.supernet
        if self.recipe.strategy == "uniform":
            return [net.sample(rng)]
        return [net.largest(), net.smallest(), *(net.sample(rng) for _ in range(self.recipe.n_random))]

    def batch(self, spec, index: torch.Tensor) -> torch.Tensor:
        images = images_at(self.train, self.resolution(spec))[index]
        x = normalize(images.to(self.device, non_blocking=True), self.mean, self.std)
        return x.contiguous(memory_format=self.memory_format)

    def step(self, index: torch.Tensor, rng: random.Random) -> float:
        """One optimizer update over the step's subnets; returns the largest (or the one) subnet's loss."""
        y = self.labels[index].to(self.device, non_blocking=True)
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16,
                                  enabled=self.device.type == "cuda" and self.config.bf16)  # fmt: skip
        self.optimizer.zero_grad(set_to_none=True)
        soft, first = None, float("nan")
        for k, spec in enumerate(self.subnets(rng)):
            self.supernet.dropout_rate = self.config.dropout if k == 0 and self.config.dropout is not None else 0.0
            with self.supernet.active(spec), autocast:
                logits = self.supernet(self.batch(spec, index)).float()
            if soft is None:
                loss = F.cross_entropy(logits, y, label_smoothing=self.config.label_smoothing)
                if self.recipe.distill:
                    soft = logits.detach().softmax(1)
            else:  # in-place distillation: the cross-entropy with the largest subnet's predictions
                loss = -(soft * logits.log_softmax(1)).sum(1).mean()
            loss.backward()
            if k == 0:
                first = float(loss.detach())
        if not math.isfinite(first):
            raise TrainError(f"supernet loss became {first}")
        if self.config.grad_clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.supernet.parameters(), self.config.grad_clip_norm)
        self.optimizer.step()
        self.scheduler.step()
        return first

    def epoch(self, epoch: int, bar: _Bar) -> float:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        rng = random.Random(self.seed * 1_000_003 + epoch)
        order = torch.randperm(len(self.labels), generator=generator)[: self.n_train]
        self.supernet.train()
        total, count = 0.0, 0
        for index in order.split(self.config.batch_size):
            loss = self.step(index, rng)
            total, count = total + loss * len(index), count + len(index)
            bar.step(epoch, self.config.epochs, loss)
        self.supernet.dropout_rate = None
        return total / max(count, 1)

    def state(self, epoch: int, history: list[dict[str, Any]]) -> dict[str, Any]:
        return {"model": self.supernet.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "start_epoch": epoch, "history": history}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
        self.supernet.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        return int(state["start_epoch"]), list(state["history"])


def _new_supernet(space: SearchSpace, train, recipe: SupernetRecipe, seed: int) -> Supernet:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        supernet = Supernet(space, num_classes=train.num_classes, in_channels=train.in_channels)
    init_classifier(supernet.classifier, recipe.train.classifier_init)
    if recipe.train.zero_init_residual:
        for branches in supernet.stages:  # blocks after the first always keep their residual in a subnet
            for blocks in branches.values():
                for block in list(blocks)[1:]:
                    zero_init_residual(block)
    return supernet


def _existing(folder: Path, keys: dict[str, Any], recipe: SupernetRecipe, resume: bool) -> dict[str, Any] | None:
    meta = read_meta(folder)
    if meta is not None and not resume:
        shutil.rmtree(folder)
        return None
    if meta is not None:
        check_keys(meta, keys, folder, recipe)
    return meta


def train_supernet(
    space: SearchSpace | str | Path,
    data: Any,
    recipe: SupernetRecipe,
    out_dir: str | Path,
    *,
    seed: int,
    device: str | torch.device | None = None,
    progress: bool = False,
    resume: bool = True,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    split_seed: int = 0,
) -> SupernetRun:
    """Train the supernet of ``space`` on ``data`` once, in ``out_dir/supernet/``; reuse or resume it after.

    Args:
        space: The search space (a :class:`~nasgen.space.SearchSpace`, a built-in name or a YAML path).
        data: A dataset (split as the proxy splits it, by ``split_seed``), a ``(train, val)`` pair, or streamed
            files (decoded once into the proxy's cache).
        recipe: The :class:`~nasgen.config.SupernetRecipe`.
        out_dir: The run directory; the supernet lives in its ``supernet/`` folder.
        seed: Seeds initialization, data order and the subnets drawn (global RNG untouched). A resumed or
            reused supernet keeps the seed it was started with.
        device: ``None`` = CUDA when available (bf16 autocast when ``recipe.train.bf16``), else CPU.
        progress: Show a progress bar with the time remaining.
        resume: Reuse a finished supernet with the same keys and resume an unfinished one; ``False`` trains
            afresh, deleting what the folder held.
        on_epoch: ``on_epoch(epoch, row)`` after each epoch's checkpoint; its exceptions propagate (the run
            then resumes from that checkpoint).
        split_seed: Seed of the train/validation split of one dataset.

    Returns:
        The :class:`SupernetRun` (``reused`` when nothing had to be trained).

    Raises:
        DataError: The folder holds a supernet trained on other data (both fingerprints named).
        TrainError: It holds one of another space, recipe, classes or channels; or the loss became NaN/inf.
        SpecError: A stage kind of the space has no slicing rule.
    """
    start = time.perf_counter()
    space, device = load_space(space), resolve_device(device)
    train, val = prepare_data(data, None, recipe, split_seed, space=space)
    folder = Path(out_dir) / SUPERNET_DIR
    keys = make_keys(space, _fingerprint(data), recipe, train.num_classes, train.in_channels, split_seed)
    meta = _existing(folder, keys, recipe, resume)
    if meta is not None and meta.get("complete"):
        supernet = load_weights(folder, meta).to(device)
        return SupernetRun(folder, supernet, recipe, meta, True, time.perf_counter() - start)
    seed = int(meta["seed"]) if meta is not None else seed
    meta = meta or new_meta(keys, space, recipe, seed)
    folder.mkdir(parents=True, exist_ok=True)
    supernet = _new_supernet(space, train, recipe, seed).to(device)
    run = _Run(supernet, train, val, recipe, seed, device)
    start_epoch, history = 0, []
    state = load_state(folder) if meta["epochs_done"] else None
    if state is not None:
        start_epoch, history = run.restore(state)
    _train_epochs(run, folder, meta, start_epoch, history, progress, on_epoch)
    return SupernetRun(folder, supernet.eval(), recipe, meta, False, time.perf_counter() - start)


def _train_epochs(run: _Run, folder: Path, meta: dict[str, Any], start_epoch: int, history: list[dict[str, Any]],
                  progress: bool, on_epoch) -> None:  # fmt: skip
    from nasgen.supernet._score import SubnetScorer

    epochs = run.config.epochs
    scorer = SubnetScorer(run.supernet, (run.train, run.val), run.recipe, device=run.device)
    bar = _Bar(progress, epochs * run.steps_per_epoch, start_epoch * run.steps_per_epoch)
    if start_epoch:
        bar.note(f"resuming the supernet after epoch {start_epoch}/{epochs}")
    devices = [run.device] if run.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices, device_type="cuda"):
            for epoch in range(start_epoch, epochs):
                torch.manual_seed(run.seed * 1_000_003 + epoch)  # dropout: resumable at any epoch boundary
                t0 = time.perf_counter()
                loss = run.epoch(epoch, bar)
                largest, smallest = (scorer.score(spec) for spec in (run.supernet.largest(), run.supernet.smallest()))
                row = {"epoch": epoch, "train_loss": loss, "largest_top1": largest.val_top1,
                       "smallest_top1": smallest.val_top1, "lr": run.optimizer.param_groups[0]["lr"],
                       "seconds": time.perf_counter() - t0}  # fmt: skip
                history.append(row)
                meta.update(epochs_done=epoch + 1, complete=epoch + 1 == epochs, history=history)
                save_epoch(folder, run.supernet, run.state(epoch + 1, history), meta)
                bar.note(f"supernet epoch {epoch + 1}/{epochs}: loss {loss:.4f}, top-1 largest "
                         f"{largest.val_top1:.4f} smallest {smallest.val_top1:.4f}, {row['seconds']:.0f} s")  # fmt: skip
                if on_epoch is not None:
                    on_epoch(epoch, row)
    finally:
        bar.close()
