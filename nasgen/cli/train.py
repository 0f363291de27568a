"""``nasgen train``: train an architecture fully, with checkpoints, metrics and progressive learning."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Optional

import typer

from nasgen.cli._common import choice_enum, console, err_console, setting_default, user_errors
from nasgen.config import LR_SCHEDULES, OPTIMIZERS, FullTrainConfig
from nasgen.errors import TrainError

# The recipe's defaults and choices are FullTrainConfig's (nasgen.config); tests/cli/test_options_agree.py checks
# every field: an option with the same default and a help text, or one of the API-only settings it lists.
Optimizer = choice_enum("Optimizer", OPTIMIZERS)
LrSchedule = choice_enum("LrSchedule", LR_SCHEDULES)


def _default(name: str):
    return setting_default(FullTrainConfig, name)


# nasgen.nn.CLASSIFIER_INITS, read from the config's field so that --help imports no torch
ClassifierInit = choice_enum(
    "ClassifierInit", typing.get_args(FullTrainConfig.model_fields["classifier_init"].annotation)
)


def _print_init(account) -> None:
    """The account of ``--init``, before the first epoch: loaded, re-initialised, adapted, skipped."""
    from rich.markup import escape

    for line in account.lines():
        console.print(escape(line), highlight=False, soft_wrap=True)


@user_errors
def train(
    arch: str = typer.Argument(..., help="Built-in architecture name or YAML/JSON file (e.g. a search's best.yaml)."),
    data: Optional[str] = typer.Option(
        None, "--data",
        help="'embedded' (default), 'fashion-mnist', an IDX folder, .npz, or an ImageFolder tree / path,label "
        ".csv list (streamed at its real resolution by --loader-workers processes).",
    ),
    epochs: int = typer.Option(..., "--epochs", min=1, help="Total epochs."),
    progressive: bool = typer.Option(
        False, "--progressive",
        help="EfficientNetV2 progressive learning: a schedule picked from the resolution, the data's image size "
        "and the epochs (docs/progressive.md).",
    ),
    schedule: Optional[Path] = typer.Option(
        None, "--schedule", help="Progressive-learning schedule YAML file (or the preset 'efficientnetv2-s')."
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Run directory (default runs/train/<arch>); rerun the same command to resume."
    ),
    optimizer: Optimizer = typer.Option(Optimizer(_default("optimizer")), "--optimizer", help="Optimizer."),
    lr: float = typer.Option(_default("lr"), "--lr", help="Peak learning rate (after warm-up)."),
    weight_decay: float = typer.Option(
        _default("weight_decay"), "--weight-decay", help="Weight decay (not on biases and BatchNorm)."
    ),
    lr_schedule: LrSchedule = typer.Option(
        LrSchedule(_default("lr_schedule")), "--schedule-lr",
        help="Learning-rate schedule after warm-up (step: x0.97 every 2.4 epochs).",
    ),
    warmup_epochs: float = typer.Option(
        _default("warmup_epochs"), "--warmup-epochs", help="Linear warm-up, in epochs."
    ),
    label_smoothing: float = typer.Option(
        _default("label_smoothing"), "--label-smoothing", help="Label-smoothing epsilon."
    ),
    classifier_init: ClassifierInit = typer.Option(
        ClassifierInit(_default("classifier_init")), "--classifier-init",
        help="Classifier weights: max_fan = uniform(+-1/sqrt(max(features, classes))); torchvision = "
        "uniform(+-1/sqrt(classes)), which starts a 10-class B0 at loss 6.4 (docs/progressive.md); zeros.",
    ),
    ema: Optional[float] = typer.Option(
        _default("ema_decay"), "--ema", metavar="DECAY",
        help="Evaluate and export an EMA of the weights with this decay (e.g. 0.9999).",
    ),
    batch_size: int = typer.Option(_default("batch_size"), "--batch-size", help="Training batch size (images)."),
    seed: int = typer.Option(
        _default("seed"), "--seed", help="Seed of initialization, split, data order and augmentation."
    ),
    resolution: Optional[int] = typer.Option(
        _default("resolution_px"), "--resolution", metavar="PX",
        help="Final training/evaluation resolution in px (default: the arch's).",
    ),
    device: Optional[str] = typer.Option(
        None, "--device", help="'cpu', 'cuda', 'cuda:1' (default: CUDA if available)."
    ),
    skip_empty_classes: bool = typer.Option(
        False, "--skip-empty-classes", help="ImageFolder: leave out class folders without images (default: fail)."
    ),
    list_ignored: bool = typer.Option(
        False, "--list-ignored", help="ImageFolder: print every file that was ignored because it is not an image."
    ),
    loader_workers: Optional[int] = typer.Option(
        _default("loader_workers"), "--loader-workers", min=0,
        help="Decode processes for a streamed folder/list (default: cores - 1, 1-8).",
    ),
    skip_bad_images: bool = typer.Option(
        _default("skip_bad_images"), "--skip-bad-images",
        help="Leave out files that cannot be decoded or claim more than --max-image-pixels, and list them "
        "(default: fail).",
    ),
    max_image_pixels: str = typer.Option(
        _default("max_image_pixels"), "--max-image-pixels", metavar="PIXELS",
        help="Largest image (width x height, from its header) decoded, e.g. 400M; a file claiming more is a bad "
        "file, a decompression bomb (the default is PIL's own limit).",
    ),
    init: Optional[str] = typer.Option(
        _default("init"), "--init", metavar="FILE",
        help="Fine-tune from trained weights: a .safetensors / .pt state dict of nasgen, timm or torchvision (every "
        "tensor whose name and shape match is loaded; the head is new), or inherit:FILE to slice this architecture "
        "out of the larger one trained in FILE's directory (docs/pretrained.md).",
    ),
    pretrained_lr_ratio: float = typer.Option(
        _default("pretrained_lr_ratio"), "--pretrained-lr-ratio", min=0.0, max=1.0,
        help="With --init: the loaded weights train at lr x this ratio, the new head at lr.",
    ),
) -> None:
    """Train ARCH fully: checkpoint.pt and metrics.csv each epoch; weights.safetensors and arch.yaml at the
    end (what `nasgen export` reads). Running the same command again resumes from the checkpoint."""
    from nasgen.data import load_dataset
    from nasgen.spec import load_spec
    from nasgen.train import train as run_training

    recipe = FullTrainConfig(
        epochs=epochs, optimizer=optimizer.value, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule.value,
        warmup_epochs=warmup_epochs, label_smoothing=label_smoothing, classifier_init=classifier_init.value,
        ema_decay=ema, batch_size=batch_size,
        seed=seed, resolution_px=resolution, loader_workers=loader_workers, skip_bad_images=skip_bad_images,
        max_image_pixels=max_image_pixels,
        init=init, pretrained_lr_ratio=pretrained_lr_ratio,
    )  # fmt: skip

    if progressive and schedule is not None:
        raise TrainError("give --progressive or --schedule FILE, not both")
    if progressive and epochs < 2:
        raise TrainError(
            f"--epochs {epochs}: --progressive needs at least 2 epochs (its schedule has 2-4 stages of one epoch "
            "or more); give --epochs 2 or more, or drop --progressive"
        )
    run_dir = out if out is not None else Path("runs") / "train" / (load_spec(arch).name or Path(arch).stem)
    # a folder or a path,label list is streamed at its real resolution (issue 14), as from Python
    dataset = load_dataset(data, seed=seed, skip_empty_classes=skip_empty_classes)
    report = dataset.report
    for note in report.notes if report is not None else ():  # conversions and omissions, said once (issue 19)
        if note.startswith("ignored ") and not list_ignored:
            note += " (--list-ignored lists them)"
        _note(note)
    for path in report.ignored_files if report is not None and list_ignored else ():
        _note(f"ignored {path}")
    result = run_training(
        arch,
        dataset,
        config=recipe,
        out=run_dir,
        progressive=str(schedule) if schedule is not None else progressive,
        device=device,
        progress=True,
        on_note=_note,  # what depends on the training resolution, said before the first epoch (issue 30)
        on_init=_print_init,
    )
    if result.skipped_images:
        listed = "\n  ".join(f"{path}: {reason}" for path, reason in sorted(result.skipped_images.items()))
        console.print(f"skipped {len(result.skipped_images)} bad image(s):\n  {listed}", highlight=False)
    console.print(
        f"val top-1 {result.val_top1:.4f} after {result.epochs} epochs "
        f"({result.train_seconds:.1f} s); weights: {result.weights_path}",
        highlight=False,
    )


def _note(text: str) -> None:
    err_console.print(f"note: {text}", highlight=False, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
