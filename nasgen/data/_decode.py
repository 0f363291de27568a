"""Decoding one image file into 8-bit grey or RGB, whatever its storage: EXIF rotation, CMYK, 16-bit,
palette and alpha images, corrupt and non-image files.

Used by the streaming pipeline (:mod:`nasgen.data._stream`) inside DataLoader worker processes, so a bad file
is returned as a reason string rather than raised: the main process decides whether to fail with the path or
to skip it (``--skip-bad-images``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["GREY_MODES", "decode_image", "image_mode_of"]

#: PIL modes that hold one grey channel (1-bit, 8-bit, 16-bit and 32-bit integer, float).
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: Alpha is composited onto this background (white, as a browser shows a transparent PNG).
_BACKGROUND = 255


def image_mode_of(path: str | Path) -> str:
    """``"L"`` when the file stores grey pixels, else ``"RGB"``; reads the header only.

    Raises:
        OSError: The file cannot be opened as an image (PIL's ``UnidentifiedImageError`` is an ``OSError``).
    """
    from PIL import Image

    with Image.open(path) as image:
        if image.mode == "P":  # a palette may be grey or colour; decide from the palette itself
            palette = np.asarray(image.getpalette() or [0, 0, 0], dtype=np.uint8).reshape(-1, 3)
            return "L" if bool((palette == palette[:, :1]).all()) else "RGB"
        return "L" if image.mode in GREY_MODES else "RGB"


def _to_8bit_grey(image: Any) -> Any:
    """A 16/32-bit integer or float grey image → 8-bit ``L``, scaled by its storage range (not clipped)."""
    from PIL import Image

    array = np.asarray(image)
    if image.mode.startswith("I;16"):
        scaled = array.astype(np.uint32) >> 8  # 0..65535 → 0..255
    elif image.mode == "F":
        scaled = np.clip(array * (255.0 if array.max() <= 1.0 else 1.0), 0, 255)
    else:  # "I": 32-bit ints; PNG 16-bit grey often decodes to this mode
        scaled = array.astype(np.int64) >> 8 if array.max() > 255 else array
        scaled = np.clip(scaled, 0, 255)
    return Image.fromarray(np.asarray(scaled, dtype=np.uint8), mode="L")


def _flatten_alpha(image: Any) -> Any:
    """Composite an image with transparency onto a white background (RGBA/LA/PA/P with a transparent index)."""
    from PIL import Image

    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (_BACKGROUND,) * 3 + (255,))
    return Image.alpha_composite(background, rgba).convert("RGB")


def decode_image(path: str | Path, mode: str, *, draft_px: int | None = None) -> tuple[Any, str | None]:
    """Read an image file as an 8-bit PIL image of ``mode`` (``"L"`` or ``"RGB"``), upright.

    Handles: EXIF orientation (the image is rotated/flipped as a viewer shows it); CMYK and YCbCr JPEGs
    (converted to RGB by PIL's colour conversion); 16-bit and 32-bit grey (scaled to 8 bits by the storage
    range, not clipped at 255); palette images (expanded); alpha and palette transparency (composited onto
    white). A JPEG may be decoded at a reduced scale (``draft``) when the smaller side stays ≥ ``draft_px``.

    Args:
        path: The image file.
        mode: ``"L"`` (one grey channel) or ``"RGB"``.
        draft_px: Smallest side (px) the decoded image must keep; ``None`` = decode at full size.

    Returns:
        ``(image, None)`` on success, ``(None, reason)`` for a file that is corrupt, truncated or not an image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if draft_px is not None and image.format == "JPEG":
                scale = min(image.size) / draft_px
                if scale >= 2:
                    image.draft(image.mode if image.mode in ("L", "RGB") else "RGB",
                                (image.size[0] // int(scale), image.size[1] // int(scale)))  # fmt: skip
            image.load()  # decode now, inside the try: truncated data fails here
            image = ImageOps.exif_transpose(image) or image
            return _convert(image, mode), None
    except UnidentifiedImageError:
        return None, "not an image file PIL can identify"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return None, f"cannot decode ({type(exc).__name__}: {exc})"


def _convert(image: Any, mode: str) -> Any:
    has_alpha = image.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if has_alpha:
        image = _flatten_alpha(image)
    elif image.mode in GREY_MODES and image.mode not in ("1", "L"):
        image = _to_8bit_grey(image)
    return image if image.mode == mode else image.convert(mode)
