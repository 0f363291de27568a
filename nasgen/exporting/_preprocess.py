"""The input-preparation part of the generated ``model.py``: the data config as constants and ``preprocess``.

It repeats what nasgen's trainer did to the weights' validation images, by the data config's ``crop_mode``:
``squash`` (in-memory data and the search's proxy: the whole uint8 image resized to ``INPUT_SIZE`` bilinearly with
antialiasing, rounded back to uint8) or ``center`` (``nasgen train`` on a folder: the shorter side resized to
``floor(H / CROP_PCT)``, then a centre crop, as torchvision's ``Resize`` + ``CenterCrop``), then
``(x / 255 − MEAN) / STD``, so the exported weights score on raw images what they scored in training. No torch is
needed to render it.
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
CROP_PCT = $crop_pct  # share of the resized image kept by the centre crop (1.0: no crop)
CROP_MODE = $crop_mode_repr  # $crop_comment
CLASSES = $classes
DATA_CONFIG = $data_config


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """Prepare images exactly as nasgen prepared them for these weights.

    Args:
        images: (N, C, H, W) or (C, H, W), any H x W; uint8 in [0, 255] or floating point in [0, 1];
            C = INPUT_SIZE[0] (grey images have one channel).

    Returns:
        float32 (N, C, INPUT_SIZE[1], INPUT_SIZE[2]): each image resized as CROP_MODE says (INTERPOLATION,
        antialiased; uint8 input is rounded back to uint8 after resizing, as in training), scaled to [0, 1] and
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
    height, width = INPUT_SIZE[1], INPUT_SIZE[2]
    size = (height, width)
    if CROP_MODE == "center":  # the shorter side to floor(H / CROP_PCT), the other in proportion (torchvision Resize)
        short = int(height / CROP_PCT)
        h, w = x.shape[-2:]
        size = (short, int(short * w / h)) if h <= w else (int(short * h / w), short)
    if tuple(x.shape[-2:]) != size:
        x = F.interpolate(x, size=size, mode=INTERPOLATION, antialias=$antialias, align_corners=False)
        x = x.round().clamp(0, 255) if is_uint8 else x
    if CROP_MODE == "center":  # torchvision CenterCrop: the offsets rounded half to even
        top, left = int(round((size[0] - height) / 2.0)), int(round((size[1] - width) / 2.0))
        x = x[..., top : top + height, left : left + width]
    mean = torch.tensor(MEAN, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return (x / 255.0 - mean) / std
''')


_CROP_COMMENTS = {
    "squash": "the whole image resized to H x W (aspect ratio not kept), no crop: how the search's proxy and "
    "in-memory data were evaluated",
    "center": "shorter side resized to H / CROP_PCT, then an H x W centre crop: how `nasgen train` evaluated a "
    "folder of images",
}


def render_preprocess_code(config: DataConfig) -> str:
    """The ``model.py`` section holding ``MEAN``, ``STD``, ``INPUT_SIZE``, ``CLASSES``, ``DATA_CONFIG`` and
    ``preprocess(images)`` for ``config``.

    Raises:
        ExportError: A crop mode other than ``"squash"`` and ``"center"``, or ``"squash"`` with a crop.
    """
    if config.crop_mode not in _CROP_COMMENTS or (config.crop_mode == "squash" and config.crop_pct != 1.0):
        raise ExportError(
            f"model.py preprocess reproduces crop_mode 'squash' (crop_pct 1.0) and 'center', got {config.crop_mode!r} "
            f"with crop_pct {config.crop_pct}"
        )
    return _PREPROCESS.substitute(
        mean=repr(tuple(config.mean)),
        std=repr(tuple(config.std)),
        input_size=repr(tuple(config.input_size)),
        interpolation=repr(config.interpolation),
        antialias=repr(config.antialias),
        crop_pct=repr(config.crop_pct),
        crop_mode_repr=repr(config.crop_mode),
        crop_comment=_CROP_COMMENTS[config.crop_mode],
        classes=repr(tuple(config.classes)) if config.classes is not None else "None",
        data_config=pformat(config.to_dict(), width=110, compact=True, sort_dicts=False),
    )
