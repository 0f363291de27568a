"""Full training runs: ``nasgen train`` / :func:`nasgen.train.train`.

A run directory holds, after every epoch, ``checkpoint.pt`` (everything needed to resume, readable with
``torch.load(..., weights_only=True)``) and ``metrics.csv``; when training ends, ``weights.safetensors``
(the evaluated weights: the EMA's when EMA is on) and ``arch.yaml`` (the trained spec), which is what
``nasgen export DIR`` reads. Running the same command again resumes from the checkpoint.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nasgen.config import FullTrainConfig, TrainConfig, merge_settings
from nasgen.data import ImageDataset, load_dataset, split
from nasgen.data import ImageFiles
from nasgen.errors import TrainError
from nasgen.spec import ArchSpec, dump_yaml, load_spec, save_spec
from nasgen.train._checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from nasgen.train._init import InitReport, init_model
from nasgen.train._progress_bar import _Progress
from nasgen.train._stream import StreamTrainer
from nasgen.train._trainer import Trainer
from nasgen.train.progressive import ProgressiveSchedule, load_schedule, progressive_settings

__all__ = ["CHECKPOINT", "METRICS", "METRICS_COLUMNS", "WEIGHTS", "ARCH", "FullTrainResult", "train"]

CHECKPOINT, METRICS, WEIGHTS, ARCH = "checkpoint.pt", "metrics.csv", "weights.safetensors", "arch.yaml"
#: Columns of ``metrics.csv``; ``epoch`` and ``stage`` are 1-based, losses in nats, accuracies in [0, 1].
METRICS_COLUMNS = (
    "epoch", "stage", "image_size_px", "lr", "train_loss", "train_top1", "val_loss", "val_top1",
    "images_per_s", "seconds",
)  # fmt: skip


@dataclass(frozen=True)
class FullTrainResult:
    """The outcome of :func:`train`.

    Attributes:
        out: The run directory.
        spec: The trained architecture (classes, channels and resolution adapted to the data).
        val_top1: Validation top-1 after the last epoch, in [0, 1].
        val_loss: Validation cross-entropy after the last epoch (nats).
        epochs: Epochs completed.
        resumed_from: Epochs already done when this call started (0 for a fresh run).
        train_seconds: Wall time of all epochs, summed over resumed sessions (s).
        metrics: The rows of ``metrics.csv``.
        skipped_images: ``{path: reason}`` of files left out as undecodable (``skip_bad_images=True``).
        notes: Remarks on the data at the training resolution (images upsampled more than 4x to reach it), also
            given to ``on_note`` before training starts.
        init: What ``init`` loaded, re-initialised and skipped (``None`` when trained from scratch).
    """

    out: Path
    spec: ArchSpec
    val_top1: float
    val_loss: float
    epochs: int
    resumed_from: int
    train_seconds: float
    metrics: list[dict[str, float]] = field(default_factory=list)
    skipped_images: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    init: InitReport | None = None

    @property
    def weights_path(self) -> Path:
        """``OUT/weights.safetensors``."""
        return self.out / WEIGHTS


class _FullTrainer(Trainer):
    """The core :class:`Trainer` plus training accuracy, throughput and a per-step callback.

    Resuming is exact because the core trainer checkpoints its generators and seeds the global torch RNG
    (dropout, drop path, RandAugment) per epoch, so 1 + 1 epochs equal 2 straight.
    """

    def __init__(self, *args: Any, on_step: Callable[[int, float, int], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_step = on_step
        self._logits: torch.Tensor | None = None
        self._correct, self._seen = 0, 0
        self.last_epoch_stats: dict[str, float] = {}
        self._hook = self.model.register_forward_hook(self._keep_logits)

    def _keep_logits(self, module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> None:
        if module.training:
            self._logits = output.detach()

    def _step(self, x: torch.Tensor, y: torch.Tensor, mixup_alpha: float) -> torch.Tensor:
        loss = super()._step(x, y, mixup_alpha)
        correct = int((self._logits.argmax(1) == y).sum()) if self._logits is not None else 0
        self._correct, self._seen = self._correct + correct, self._seen + len(y)
        if self.on_step is not None:
            self.on_step(len(y), float(loss.detach()), correct)
        return loss

    def train_epoch(self, epoch: int) -> float:
        self._correct, self._seen = 0, 0
        start = time.perf_counter()
        loss = super().train_epoch(epoch)
        seconds = time.perf_counter() - start
        self.last_epoch_stats = {
            "train_top1": self._correct / max(self._seen, 1),
            "images_per_s": self._seen / seconds if seconds > 0 else 0.0,
        }
        return loss

    def evaluated_model(self) -> torch.nn.Module:
        """The model whose weights were validated: the EMA's when EMA is on."""
        self._hook.remove()
        return self.ema.module if self.ema is not None else self.model


class _FullStreamTrainer(_FullTrainer, StreamTrainer):
    """:class:`_FullTrainer` on streamed files (:class:`~nasgen.train._stream.StreamTrainer`)."""


def _resolve_schedule(
    progressive: bool | str | Path | ProgressiveSchedule, spec: ArchSpec, resolution_px: int | None, epochs: int,
    data_px: int | None = None,
) -> tuple[ProgressiveSchedule | None, int]:
    """The schedule (or ``None``) and the final resolution in px; ``data_px`` is the data's own image size
    (``None`` for streamed files, whose sizes vary)."""
    if progressive is False or progressive is None:
        return None, resolution_px or spec.resolution_px
    if progressive is True:
        if epochs < 2:  # for_spec would say "num_stages: must be at least 2", a setting the caller never made
            raise TrainError(
                f"progressive learning needs at least 2 epochs (2-4 stages of one epoch or more), got epochs={epochs}"
            )
        resolution = resolution_px or spec.resolution_px
        schedule = ProgressiveSchedule.for_run(spec.replace(resolution_px=resolution), epochs=epochs, data_px=data_px)
    else:
        schedule = load_schedule(progressive)
        if resolution_px is not None and resolution_px != schedule.size_end_px:
            raise TrainError(
                f"the schedule ends at {schedule.size_end_px} px but the resolution asked for is {resolution_px} px; "
                "drop the resolution or make the schedule end there"
            )
        resolution = schedule.size_end_px
    schedule.check_architecture(spec)
    schedule.stages(epochs)  # fewer epochs than stages → TrainError before anything is built
    return schedule, resolution


def _split_data(data: Any, seed: int, max_image_pixels: int) -> tuple[Any, Any]:
    """``(train, val)``; streamed files decode only what claims at most ``max_image_pixels``."""
    if not isinstance(data, tuple):
        # load_dataset, as the CLI: an ImageFolder tree or a path,label list is streamed at its real resolution
        data = split(load_dataset(data, seed=seed), None, seed=seed)
    return tuple(part.with_max_image_pixels(max_image_pixels) if isinstance(part, ImageFiles) else part
                 for part in data)  # fmt: skip


def _run_identity(spec: ArchSpec, config: TrainConfig, schedule: ProgressiveSchedule | None, seed: int,
                  train: ImageDataset, val: ImageDataset, recipe: FullTrainConfig) -> dict[str, Any]:  # fmt: skip
    identity = {
        "spec": dump_yaml(spec),
        "config": config.model_dump(mode="json"),
        "schedule": schedule.model_dump(mode="json") if schedule is not None else None,
        "seed": seed,
        "data": [train.name, len(train), val.name, len(val)],
    }
    if recipe.init is not None:  # a run from scratch keeps the identity it always had (its checkpoints resume)
        identity["init"] = [recipe.init, recipe.pretrained_lr_ratio]
    return identity


def _initialise(model: torch.nn.Module, recipe: FullTrainConfig) -> tuple[InitReport | None, dict[str, float]]:
    """Load ``recipe.init`` into ``model``; the loaded parameters' learning-rate factor (the body's)."""
    if recipe.init is None:
        return None, {}
    report = init_model(model, recipe.init)
    names = {name for name, _ in model.named_parameters()}
    return report, {name: recipe.pretrained_lr_ratio for name in report.loaded if name in names}


def _write_metrics(path: Path, rows: list[dict[str, float]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRICS_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: row[key] for key in METRICS_COLUMNS})
    os.replace(tmp, path)


def _save_weights(trainer: _FullTrainer, path: Path, spec: ArchSpec) -> None:
    """Write the evaluated weights; the metadata names the architecture and the data config (normalization,
    input size, classes: :class:`~nasgen.data.DataConfig`)."""
    from safetensors.torch import save_file

    model = trainer.evaluated_model()
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    metadata = {"format": "pt", "arch_hash": spec.content_hash(), **trainer.data_config(spec.resolution_px).metadata()}
    save_file(tensors, str(path), metadata=metadata)


def train(
    arch: str | Path | ArchSpec,
    data: str | Path | ImageDataset | ImageFiles | tuple[ImageDataset, ImageDataset] | None = None,
    *,
    config: FullTrainConfig | None = None,
    out: str | Path,
    progressive: bool | str | Path | ProgressiveSchedule = False,
    device: str | torch.device | None = None,
    progress: bool = False,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    on_init: Callable[[InitReport], None] | None = None,
    **settings: Any,
) -> FullTrainResult:
    """Train an architecture fully, with a checkpoint each epoch; resume when ``out`` holds one.

    The recipe (epochs, optimizer, learning rate, warm-up, label smoothing, EMA, batch, seed, resolution, data
    loading …) is a :class:`~nasgen.config.FullTrainConfig`, declared there once with its defaults and units.
    Give it as ``config=``, as keywords (``train(arch, data, epochs=30, lr=1e-3, out=...)``: each keyword names a
    field of ``FullTrainConfig`` and overrides it in ``config``), or both.

    Example:
        >>> from nasgen.config import FullTrainConfig
        >>> result = train("efficientnet-b0", config=FullTrainConfig(epochs=2), out="runs/b0")  # doctest: +SKIP
        >>> result.val_top1  # doctest: +SKIP

    Args:
        arch: Built-in name, YAML/JSON path or :class:`ArchSpec`; classes, input channels and resolution are
            adapted to the data (``arch.yaml`` records the result).
        data: A :func:`~nasgen.data.load_dataset` source (``None`` = embedded subset, ``"fashion-mnist"``, a
            path), what it returned (split with its shipped split, else 20% by ``seed``) or a ``(train, val)``
            pair. An ImageFolder tree or a ``path,label`` list (``.csv``/``.txt``/``.tsv``), given as a path or
            as the :class:`~nasgen.data.ImageFiles` ``load_dataset`` opens it as, is streamed exactly as by
            ``nasgen train --data``: decoded by ``loader_workers`` processes at each epoch's size (random-resized
            crop + flip; evaluation resize + centre crop), memory bounded whatever its size. Small data
            (embedded, IDX, ``.npz``, ``load_dataset(folder, in_memory=True)``) stays in memory.
        config: The recipe (default: ``FullTrainConfig`` built from ``settings``, which must then give ``epochs``).
        out: Run directory (created; a checkpoint in it is resumed).
        progressive: ``False`` (default); ``True`` for the schedule picked from the resolution, the data's image
            size and the epochs (:meth:`ProgressiveSchedule.for_run`); or a schedule, preset name or YAML path
            (EfficientNetV2 §4, Algorithm 1).
        device: ``None`` = CUDA when available, else CPU.
        progress: Show a rich progress bar per epoch (loss, accuracy, images/s).
        on_epoch: Called with each epoch's metrics row after its checkpoint is written; its exceptions
            propagate (the checkpoint stays, so the run can be resumed).
        on_note: Called, before training starts, with each remark on the data that depends on the training
            resolution (images smaller than a quarter of it on a side, among the headers the scan read; the
            other remarks are in ``dataset.report.notes``). The same lines are in the result's ``notes``.
        on_init: Called with the :class:`~nasgen.train.InitReport` once ``init`` is loaded, before training
            (``nasgen train --init`` prints it there).
        **settings: Fields of :class:`~nasgen.config.FullTrainConfig` (``epochs``, ``lr``, ``warmup_epochs``,
            ``seed``, ``resolution_px``, ``loader_workers``, ``skip_bad_images``, ``init``,
            ``pretrained_lr_ratio`` …), overriding ``config``. ``init`` fine-tunes from trained weights (a file of
            nasgen's, timm's or torchvision's names, or ``inherit:FILE`` to slice a larger trained architecture):
            what was loaded, re-initialised and skipped is in ``FullTrainResult.init``.

    Returns:
        The :class:`FullTrainResult`.

    Raises:
        TypeError: A keyword that is not a ``FullTrainConfig`` field.
        SpecError: Bad architecture, recipe value or schedule file.
        TrainError: A resolution the architecture cannot take, more schedule stages than epochs, a checkpoint
            of a different run in ``out``, a diverged loss, or an ``init`` file that is missing, unreadable or
            matches nothing.
        DataError: The data cannot be loaded, or a streamed file cannot be decoded (without ``skip_bad_images``).
    """
    recipe = merge_settings(FullTrainConfig, config, settings, caller="train")
    return _train(arch, data, recipe, Path(out), progressive, device, progress, on_epoch, on_note, on_init)


def _train(
    arch: str | Path | ArchSpec,
    data: Any,
    recipe: FullTrainConfig,
    out: Path,
    progressive: bool | str | Path | ProgressiveSchedule,
    device: str | torch.device | None,
    progress: bool,
    on_epoch: Callable[[dict[str, float]], None] | None,
    on_note: Callable[[str], None] | None = None,
    on_init: Callable[[InitReport], None] | None = None,
) -> FullTrainResult:
    epochs, seed = recipe.epochs, recipe.seed
    from nasgen.nn import build_model
    from nasgen.train._device import resolve_device

    base = load_spec(arch)
    resolve_device(device)  # a CUDA request without CUDA fails before any folder is made
    if recipe.init is not None:  # so does a missing init file
        where = Path(recipe.init.removeprefix("inherit:"))
        if not where.exists():
            raise TrainError(f"{where}: no such file (init {recipe.init!r})")
    train_set, val_set = _split_data(data, seed, recipe.max_image_pixels)
    data_px = int(train_set.images.shape[1]) if isinstance(train_set, ImageDataset) else None
    schedule, resolution = _resolve_schedule(progressive, base, recipe.resolution_px, epochs, data_px)
    notes = train_set.report.resolution_notes(resolution) if train_set.report is not None else ()
    for note in notes if on_note is not None else ():
        on_note(note)
    spec = base.replace(num_classes=train_set.num_classes, in_channels=train_set.in_channels, resolution_px=resolution)
    config = recipe.recipe(resolution, len(train_set))
    out.mkdir(parents=True, exist_ok=True)
    identity = _run_identity(spec, config, schedule, seed, train_set, val_set, recipe)
    checkpoint = load_checkpoint(out / CHECKPOINT, identity)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(spec, classifier_init=config.classifier_init)
    if config.zero_init_residual:
        from nasgen.train._proxy import zero_init_residual as zero_residual_gammas

        zero_residual_gammas(model)
    init, lr_scales = _initialise(model, recipe)  # after zero-init: loaded BatchNorm weights are the file's
    if init is not None and on_init is not None:
        on_init(init)
    epoch_settings = progressive_settings(schedule, epochs) if schedule is not None else None
    streamed = {}
    if isinstance(train_set, ImageFiles):
        streamed = {"loader_workers": recipe.loader_workers, "skip_bad_images": recipe.skip_bad_images}
    with _Progress(progress, epochs) as bar:
        trainer = (_FullStreamTrainer if streamed else _FullTrainer)(
            model, train_set, val_set, config, seed=seed, device=device, epoch_settings=epoch_settings,
            on_step=bar.step, lr_scales=lr_scales, **streamed,
        )  # fmt: skip
        rows: list[dict[str, float]] = []
        seconds_before = 0.0
        if checkpoint is not None:
            trainer.load_state_dict(checkpoint["trainer"])
            rows, seconds_before = list(checkpoint["metrics"]), float(checkpoint["train_seconds"])
        resumed_from = trainer.start_epoch
        session_start = time.perf_counter()

        def after_epoch(epoch: int, val_top1: float) -> None:
            rows.append(_metrics_row(trainer, schedule, epoch, epochs))
            save_checkpoint(
                out / CHECKPOINT,
                {
                    "format": CHECKPOINT_FORMAT, "run": identity, "trainer": trainer.state_dict(), "metrics": rows,
                    "train_seconds": seconds_before + time.perf_counter() - session_start,
                },
            )  # fmt: skip
            _write_metrics(out / METRICS, rows)
            bar.epoch_done(rows[-1])
            if on_epoch is not None:
                on_epoch(dict(rows[-1]))

        bar.begin(trainer, schedule)
        if trainer.start_epoch < epochs:
            trainer.run(after_epoch)
    _save_weights(trainer, out / WEIGHTS, spec)
    save_spec(spec, out / ARCH)
    final = rows[-1]
    return FullTrainResult(
        out=out, spec=spec, val_top1=float(final["val_top1"]), val_loss=float(final["val_loss"]), epochs=len(rows),
        resumed_from=resumed_from, train_seconds=seconds_before + time.perf_counter() - session_start,
        metrics=rows, skipped_images=dict(trainer.bad_images.skipped) if streamed else {}, notes=notes, init=init,
    )  # fmt: skip


def _metrics_row(trainer: _FullTrainer, schedule: ProgressiveSchedule | None, epoch: int, epochs: int) -> dict:
    record = trainer.history[-1]
    stage = schedule.for_epoch(epoch, epochs).stage + 1 if schedule is not None else 1
    return {
        "epoch": epoch + 1, "stage": stage, "image_size_px": int(record["resolution_px"]), "lr": record["lr"],
        "train_loss": record["train_loss"], "train_top1": trainer.last_epoch_stats["train_top1"],
        "val_loss": record["val_loss"], "val_top1": record["val_top1"],
        "images_per_s": trainer.last_epoch_stats["images_per_s"], "seconds": record["seconds"],
    }  # fmt: skip

