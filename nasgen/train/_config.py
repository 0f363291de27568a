"""Training configuration: one frozen, validated pydantic model for proxy and full runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nasgen.errors import SpecError

__all__ = ["TrainConfig"]


class TrainConfig(BaseModel):
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
        progressive: Proxy only, experimental (not measured to help the proxy): EfficientNetV2 progressive
            learning (§4, Algorithm 1) with
            ``ProgressiveSchedule.for_spec(proxy spec, num_stages=min(4, epochs))`` (needs ``epochs`` ≥ 2);
            full runs take a schedule through ``nasgen.train.train(progressive=...)`` instead.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    optimizer: Literal["sgd", "rmsprop", "adamw"] = "adamw"
    lr: float = Field(3e-3, gt=0.0, le=10.0)
    weight_decay: float = Field(0.05, ge=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    warmup_epochs: float = Field(0.3, ge=0.0)
    lr_schedule: Literal["cosine", "step", "constant"] = "cosine"
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

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, file: str | None = None) -> TrainConfig:
        """Validate a mapping (e.g. from YAML or CLI options).

        Raises:
            SpecError: An unknown field or a bad value, naming the field and echoing the value.
        """
        from nasgen.spec import validate_document

        return validate_document(cls, data, file=file)

    def replace(self, **changes: Any) -> TrainConfig:
        """Return a validated copy with ``changes`` applied.

        Raises:
            SpecError: A changed field is unknown or invalid.
        """
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            from nasgen.spec import spec_error_from_validation

            raise spec_error_from_validation(exc, changes) from None
