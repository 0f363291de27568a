"""Training settings: the proxy's recipe (:class:`TrainConfig`) and a full run's (:class:`FullTrainConfig`).

Both are declared here once, with their defaults; :func:`nasgen.train.train`, the search's proxy and the
``nasgen train`` / ``nasgen search`` options read them (``tests/cli/test_options_agree.py`` checks every field).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from nasgen.config._base import ConfigModel
from nasgen.config._data import DEFAULT_MAX_IMAGE_PIXELS, MaxImagePixels

__all__ = ["FullTrainConfig", "TrainConfig"]

OPTIMIZERS = ("sgd", "rmsprop", "adamw")
LR_SCHEDULES = ("cosine", "step", "constant")


class TrainConfig(ConfigModel):
    """How to train: optimizer, schedule, batch, data per epoch, resolution, numerics, regularization.

    Attributes:
        optimizer: ``"adamw"`` (decoupled weight decay; Loshchilov & Hutter, 2019), ``"sgd"`` (Nesterov
            momentum) or ``"rmsprop"`` (EfficientNet's: decay 0.9, eps 1e-3 on the TF scale).
        lr: Peak learning rate (after warm-up).
        weight_decay: Weight decay; not applied to biases and BatchNorm parameters.
        momentum: Momentum of SGD / RMSprop (ignored by AdamW).
        warmup_epochs: Linear warm-up from 0 to ``lr``, in epochs (fractions allowed, 0.3 = 30% of one epoch).
        lr_schedule: After warm-up: ``"cosine"`` decay to ``min_lr_ratio·lr`` at the last step, ``"step"``
            (× ``lr_step_gamma`` every ``lr_step_epochs``; EfficientNet: 0.97 every 2.4 epochs), ``"constant"``.
        label_smoothing: Label-smoothing ε of the cross-entropy (Szegedy et al., 2016, §7).
        batch_size: Training batch size (images).
        eval_batch_size: Validation batch size; evaluation is in eval mode, so it does not change results.
        epochs: Number of epochs.
        images_per_epoch: Images drawn (without replacement, seeded) per epoch; ``None`` = the whole training set.
        val_images: Evaluate on this fixed, class-balanced subset of the validation set (the same for every
            seed and trial); ``None`` = all validation images.
        resolution_px: Training and evaluation resolution (px). For proxies see ``scale_resolution_from_px``.
        scale_resolution_from_px: Proxy only: train an architecture of resolution ``r`` at
            ``round(resolution_px · r / scale_resolution_from_px)`` px, so architectures keep their relative
            input sizes; ``None`` trains every architecture at ``resolution_px``.
        channels_last: Use the NHWC memory format (2.2–2.4× faster for B0 on CPU, issue 3).
        bf16: bfloat16 autocast on CUDA (never on CPU).
        bn_momentum: Override of every BatchNorm's momentum (PyTorch convention); ``None`` keeps the model's.
        zero_init_residual: Zero the last BatchNorm γ of every residual block, so each block starts as the
            identity (Goyal et al., 2017, §5.1).
        classifier_init: How the classifier's weights are drawn (:data:`nasgen.nn.CLASSIFIER_INITS`):
            ``"torchvision"`` (uniform ±1/√num_classes, the default of ``build_model`` and of the proxy, whose
            measured fidelity stands on it), ``"max_fan"`` (uniform ±1/√max(in_features, num_classes); full
            runs, :func:`nasgen.train.train`) or ``"zeros"``.
        bn_recalibration_images: Before every evaluation, re-estimate BatchNorm statistics with the current
            weights over this many training images (cumulative average, no gradient); 0 = off. Full runs
            (:func:`nasgen.train.train`) turn it on: with a few dozen steps the running averages lag the
            weights enough to make an eval-mode net call every image one class (issue 14).
        ema_decay: Evaluate an exponential moving average of the weights and BatchNorm statistics with this
            decay, warmed up as ``min(decay, (1 + n) / (10 + n))`` at update n; ``None`` = off.
        grad_clip_norm: Clip the global gradient norm to this value; ``None`` = off.
        dropout: Proxy override of the architecture's classifier dropout; ``None`` keeps the spec's.
        drop_path_rate: Proxy override of the architecture's stochastic-depth rate; ``None`` keeps the spec's.
        progressive: Proxy only, experimental and not recommended (measured: lower scores at the same time, docs/progressive.md): EfficientNetV2 progressive
            learning (§4, Algorithm 1) with
            ``ProgressiveSchedule.for_spec(proxy spec, num_stages=default_num_stages(epochs))`` (needs ``epochs`` ≥ 2);
            full runs take a schedule through ``nasgen.train.train(progressive=...)`` instead.

    Raises:
        SpecError: On construction (or :meth:`replace`, :meth:`from_dict`) with an unknown field or a bad value,
            naming the field and echoing the value; warm-up longer than the run; ``progressive`` with 1 epoch.
    """

    optimizer: Literal[OPTIMIZERS] = "adamw"
    lr: float = Field(3e-3, gt=0.0, le=10.0)
    weight_decay: float = Field(0.05, ge=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    warmup_epochs: float = Field(0.3, ge=0.0)
    lr_schedule: Literal[LR_SCHEDULES] = "cosine"
    lr_step_epochs: float = Field(2.4, gt=0.0)
    lr_step_gamma: float = Field(0.97, gt=0.0, le=1.0)
    min_lr_ratio: float = Field(0.0, ge=0.0, le=1.0)
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    batch_size: int = Field(128, ge=1)
    eval_batch_size: int = Field(500, ge=1)
    epochs: int = Field(3, ge=1)
    images_per_epoch: int | None = Field(None, ge=1)
    val_images: int | None = Field(None, ge=1)
    resolution_px: int = Field(32, ge=8, le=1024)
    scale_resolution_from_px: int | None = Field(None, ge=8)
    channels_last: bool = True
    bf16: bool = True
    bn_momentum: float | None = Field(None, gt=0.0, le=1.0)
    zero_init_residual: bool = False
    classifier_init: Literal["torchvision", "max_fan", "zeros"] = "torchvision"  # = nasgen.nn.CLASSIFIER_INITS
    bn_recalibration_images: int = Field(0, ge=0)
    ema_decay: float | None = Field(None, gt=0.0, lt=1.0)
    grad_clip_norm: float | None = Field(None, gt=0.0)
    dropout: float | None = Field(None, ge=0.0, lt=1.0)
    drop_path_rate: float | None = Field(None, ge=0.0, lt=1.0)
    progressive: bool = False

    @model_validator(mode="after")
    def _progressive_fits(self) -> TrainConfig:
        if self.progressive and self.epochs < 2:
            raise ValueError(f"progressive learning needs at least 2 epochs (2 stages), got epochs={self.epochs}")
        return self

    @model_validator(mode="after")
    def _warmup_fits(self) -> TrainConfig:
        if self.warmup_epochs > self.epochs:
            raise ValueError(f"warmup_epochs ({self.warmup_epochs}) exceeds epochs ({self.epochs})")
        return self


# Settings of TrainConfig that only the search's proxy reads; a full run refuses them rather than ignore them.
PROXY_ONLY = ("scale_resolution_from_px", "dropout", "drop_path_rate", "progressive")


class FullTrainConfig(TrainConfig):
    """The recipe of a full training run (:func:`nasgen.train.train`, ``nasgen train``): a :class:`TrainConfig`
    with the full-run defaults, plus the run's seed and data-loading settings.

    Only the defaults below differ from :class:`TrainConfig` (whose other fields mean the same here); the
    proxy-only fields (``scale_resolution_from_px``, ``dropout``, ``drop_path_rate``, ``progressive``) must keep
    their defaults: a full run takes its progressive-learning schedule as ``train(progressive=...)``.

    Attributes:
        epochs: Total epochs of the run (required).
        warmup_epochs: Linear warm-up, in epochs (default 1.0; the proxy's is 0.3).
        label_smoothing: Label-smoothing ε (default 0.1, EfficientNet's; the proxy's is 0).
        zero_init_residual: Default on: without it a deep net such as B0 diverged in its first epoch on small
            images (issue 20; the proxy measured +8.4 points from it, docs/proxy.md).
        classifier_init: Default ``"max_fan"``, uniform(±1/√max(in_features, num_classes)): torchvision's
            uniform(±1/√num_classes) capped at PyTorch's ``nn.Linear`` range; with 10 classes torchvision's rule
            starts B0 at loss 6.36 (ln 10 = 2.30) and its first epoch stayed above ln 10 (issue 20,
            docs/progressive.md). The proxy keeps ``"torchvision"`` (its recorded figures stand on it).
        bn_recalibration_images: Default 2048 (at most the training set): on short runs the running averages
            lag the weights enough to make eval-mode predictions collapse to one class (issue 14).
        resolution_px: Final training and evaluation resolution (px); ``None`` (default) = the architecture's,
            or the progressive schedule's last size.
        seed: Seeds initialization, split, data order, dropout, augmentation and mixup (default 0).
        loader_workers: Decode processes for streamed data (an ImageFolder tree or a ``path,label`` list);
            ``None`` (default) = cores − 1, between 1 and 8; 0 decodes in the training process.
        skip_bad_images: Streamed data: leave out files that cannot be decoded and list them in the result
            (default False: fail with the first bad path).
        max_image_pixels: Streamed data: a file claiming more pixels (width × height, read from its header
            before decoding) is a bad image, refused or skipped as above (a decompression bomb: a few kB that
            decode to gigabytes); default PIL's own limit, 89,478,485 px. Raise it for real gigapixel scans.
        init: Start from trained weights (fine-tuning, ``docs/pretrained.md``): a weights file with nasgen's,
            timm's or torchvision's names (every tensor whose name and shape match is loaded; the classifier is
            always new), or ``inherit:FILE`` to cut this architecture out of the larger one trained in ``FILE``'s
            directory (Once-for-All slicing). ``None`` (default): from scratch.
        pretrained_lr_ratio: With ``init``: the loaded tensors train at ``lr`` × this ratio, the new ones (the
            head) at ``lr`` (default 0.1, the body ten times slower, as in BiT's and timm's fine-tuning recipes
            where the head alone is new); ignored without ``init``.

    Raises:
        SpecError: As :class:`TrainConfig`; or a proxy-only field set.

    Example:
        >>> FullTrainConfig(epochs=30, lr=1e-3).warmup_epochs
        1.0
    """

    epochs: int = Field(ge=1)
    warmup_epochs: float = Field(1.0, ge=0.0)
    label_smoothing: float = Field(0.1, ge=0.0, lt=1.0)
    zero_init_residual: bool = True
    classifier_init: Literal["torchvision", "max_fan", "zeros"] = "max_fan"  # = nasgen.nn.CLASSIFIER_INITS
    bn_recalibration_images: int = Field(2048, ge=0)
    # ≥ 1 only: the architecture checks the size against its total stride and names both (SpecError)
    resolution_px: int | None = Field(None, ge=1, le=1024)  # type: ignore[assignment]
    seed: int = 0
    loader_workers: int | None = Field(None, ge=0)
    skip_bad_images: bool = False
    max_image_pixels: MaxImagePixels = DEFAULT_MAX_IMAGE_PIXELS
    init: str | None = Field(None, min_length=1)
    pretrained_lr_ratio: float = Field(0.1, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _no_proxy_settings(self) -> FullTrainConfig:
        for name in PROXY_ONLY:
            if getattr(self, name) != TrainConfig.model_fields[name].default:
                hint = "; pass train(progressive=...) / --progressive instead" if name == "progressive" else ""
                raise ValueError(f"{name} is a proxy setting; a full run does not read it{hint}")
        return self

    def recipe(self, resolution_px: int, n_train_images: int) -> TrainConfig:
        """The :class:`TrainConfig` the trainer runs: this recipe at ``resolution_px``, with BatchNorm
        recalibration capped at the ``n_train_images`` of the training set.

        Raises:
            SpecError: ``resolution_px`` outside 8…1024.
        """
        fields = self.model_dump(exclude={"seed", "loader_workers", "skip_bad_images", "max_image_pixels", "init",
                                          "pretrained_lr_ratio", *PROXY_ONLY})  # fmt: skip
        fields.update(resolution_px=resolution_px,
                      bn_recalibration_images=min(self.bn_recalibration_images, n_train_images))  # fmt: skip
        return TrainConfig.from_dict(fields)
