"""The input-preparation part of the generated ``model.py``: the data config as constants and ``preprocess``.

It repeats what nasgen's trainer does to a validation batch (``nasgen.data._tensors``: resize the whole uint8
image to ``INPUT_SIZE`` bilinearly with antialiasing, round back to uint8, then ``(x / 255 − MEAN) / STD``),
so the exported weights score on raw images what they scored in training. Weights imported from timm carry
timm's evaluation transform instead (``crop_mode="center"``: the shorter side resized to ``⌊H / crop_pct⌋``,
then the centre ``H × W`` cut out, as timm's ``transforms_factory`` with torchvision's ``Resize`` and
``CenterCrop``), which ``preprocess`` then does on tensors. No torch is needed to render it.
"""

from __future__ import annotations

from pprint import pformat
from string import Template

from nasgen.data import DataConfig
from nasgen.errors import ExportError

__all__ = ["render_preprocess_code"]

_PREPROCESS = Template('''

# -- Input preparation: the data config the weights were trained and validated with ---------------------------
# Feed the network preprocess(images), never raw 0-255 or 0-1 images: they were normalized in training.
MEAN = $mean  # per channel, on the 0-1 scale
STD = $std
INPUT_SIZE = $input_size  # (C, H, W) in px, the size the weights were trained and validated at
INTERPOLATION = $interpolation  # with antialiasing: $antialias
CROP_PCT = $crop_pct  # $crop_mode: $crop_text
CLASSES = $classes
DATA_CONFIG = $data_config


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """Prepare images exactly as nasgen prepared them for these weights.

    Args:
        images: (N, C, H, W) or (C, H, W), any H x W; uint8 in [0, 255] or floating point in [0, 1];
            C = INPUT_SIZE[0] (grey images have one channel).

    Returns:
        float32 (N, C, INPUT_SIZE[1], INPUT_SIZE[2]): each image resized (INTERPOLATION, antialiased; uint8
        input is rounded back to uint8 after resizing, as in training)$crop_doc, scaled to [0, 1] and
        normalized as (x - MEAN) / STD per channel.

    Raises:
        ValueError: Wrong number of dimensions or channels.
    """
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4 or images.shape[1] != INPUT_SIZE[0]:
        raise ValueError(f"expected images (N, {INPUT_SIZE[0]}, H, W), got {tuple(images.shape)}")
    is_uint8 = images.dtype == torch.uint8
    x = images.float() if is_uint8 else images.float() * 255.0
$resize
    mean = torch.tensor(MEAN, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return (x / 255.0 - mean) / std
''')

_SQUASH = Template("""\
    if tuple(x.shape[-2:]) != tuple(INPUT_SIZE[1:]):
        x = F.interpolate(x, size=INPUT_SIZE[1:], mode=INTERPOLATION, antialias=$antialias, align_corners=False)
        x = x.round().clamp(0, 255) if is_uint8 else x""")

_CENTER = Template("""\
    height, width = INPUT_SIZE[1], INPUT_SIZE[2]
    short = int(height / CROP_PCT)  # timm's scale_size = floor(H / crop_pct), the shorter side before the crop
    in_h, in_w = x.shape[-2], x.shape[-1]
    size = (short, int(short * in_w / in_h)) if in_h <= in_w else (int(short * in_h / in_w), short)
    if tuple(x.shape[-2:]) != size:
        x = F.interpolate(x, size=size, mode=INTERPOLATION, antialias=$antialias, align_corners=False)
        x = x.round().clamp(0, 255) if is_uint8 else x
    top, left = int(round((size[0] - height) / 2.0)), int(round((size[1] - width) / 2.0))
    x = x[..., top : top + height, left : left + width]  # the centre crop (torchvision's CenterCrop)""")

_CROPS = {
    "squash": (_SQUASH, "the whole image is resized to H x W (aspect ratio not kept), no crop", ""),
    "center": (_CENTER, "the shorter side resized to floor(H / CROP_PCT), then the centre H x W cut out",
               "\n        (its shorter side to floor(H / CROP_PCT), then the centre H x W cut out)"),
}  # fmt: skip


def render_preprocess_code(config: DataConfig) -> str:
    """The ``model.py`` section holding ``MEAN``, ``STD``, ``INPUT_SIZE``, ``CLASSES``, ``DATA_CONFIG`` and
    ``preprocess(images)`` for ``config``.

    Raises:
        ExportError: ``crop_mode="squash"`` with a ``crop_pct`` below 1 (a squash keeps the whole image).
    """
    if config.crop_mode == "squash" and config.crop_pct != 1.0:
        raise ExportError(f"crop_mode 'squash' keeps the whole image, so crop_pct must be 1, got {config.crop_pct}")
    template, crop_text, crop_doc = _CROPS[config.crop_mode]
    return _PREPROCESS.substitute(
        mean=repr(tuple(config.mean)),
        std=repr(tuple(config.std)),
        input_size=repr(tuple(config.input_size)),
        interpolation=repr(config.interpolation),
        antialias=repr(config.antialias),
        crop_pct=repr(config.crop_pct),
        crop_mode=config.crop_mode,
        crop_text=crop_text,
        crop_doc=crop_doc,
        resize=template.substitute(antialias=repr(config.antialias)),
        classes=repr(tuple(config.classes)) if config.classes is not None else "None",
        data_config=pformat(config.to_dict(), width=110, compact=True, sort_dicts=False),
    )
