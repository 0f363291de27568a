"""Decoding one image file into 8-bit grey or RGB, whatever its storage: EXIF rotation, CMYK, 16-bit,
palette and alpha images, corrupt and non-image files, decompression bombs.

Used by the streaming pipeline (:mod:`nasgen.data._stream`) inside DataLoader worker processes, so a bad file
is returned as a reason string rather than raised: the main process decides whether to fail with the path or
to skip it (``--skip-bad-images``, :class:`BadImages`).

The decompression-bomb limit is checked per call, on the size the file's header claims, before anything is
decoded (:func:`open_image`): PIL's own check reads the process-wide ``PIL.Image.MAX_IMAGE_PIXELS``, which a
library must not change for its caller, so files are identified through PIL's plugin registry without it and
the limit travels with the call (into DataLoader workers with the dataset object).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasgen.config import DEFAULT_MAX_IMAGE_PIXELS
from nasgen.errors import DataError

__all__ = [
    "GREY_MODES",
    "BadImages",
    "ImageHeader",
    "UnreadableImage",
    "decode_image",
    "image_mode_of",
    "open_image",
    "read_header",
]

#: PIL modes that hold one grey channel (1-bit, 8-bit, 16-bit and 32-bit integer, float).
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: Alpha is composited onto this background (white, as a browser shows a transparent PNG).
_BACKGROUND = 255
#: What the CLI and the API call the option that leaves bad files out.
SKIP_HINT = "pass --skip-bad-images to leave such files out"


class UnreadableImage(DataError):
    """A file that cannot be read as an image (not an image, corrupt, truncated, or claiming more pixels than
    allowed); ``reason`` says why without the path, ``str(exc)`` is ``"path: reason"``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


def _identify(path: str | Path) -> Any:
    """``PIL.Image.open(path)`` without PIL's process-wide decompression-bomb check: each plugin whose
    ``accept`` takes the file's first 16 bytes tries to read its header (the common plugins first, then all).

    Raises:
        UnidentifiedImageError: No plugin reads it. OSError: The file cannot be opened.
    """
    from PIL import Image, UnidentifiedImageError

    with open(path, "rb") as handle:
        prefix = handle.read(16)
    tried: set[str] = set()
    for load_plugins in (Image.preinit, Image.init):
        load_plugins()
        for format_id in [f for f in Image.ID if f not in tried]:
            tried.add(format_id)
            factory, accept = Image.OPEN[format_id]
            try:  # as Image.open: a plugin that cannot read the file raises one of these and the next one tries
                verdict = True if accept is None else accept(prefix)
                if verdict and not isinstance(verdict, str):  # a string: "this is X, but X is not installed"
                    return factory(os.fspath(path))  # given a path, the plugin opens the file and owns it
            except (SyntaxError, IndexError, TypeError, struct.error):
                continue
    raise UnidentifiedImageError(f"cannot identify image file {os.fspath(path)!r}")


def _too_large(width: int, height: int, limit: int) -> str:
    return (
        f"claims {width:,} x {height:,} px = {width * height:,} pixels, above the limit of {limit:,} "
        "(--max-image-pixels, max_image_pixels): a decompression bomb, or raise the limit for a real image this large"
    )


def open_image(path: str | Path, *, max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS) -> Any:
    """Open ``path`` lazily (header only, nothing decoded) and check the size it claims against
    ``max_image_pixels`` (width × height; ``None`` = no limit): the per-call decompression-bomb check.

    Raises:
        UnreadableImage: Not an image PIL can identify, unreadable, or claiming more than ``max_image_pixels``.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        image = _identify(path)
    except UnidentifiedImageError:
        raise UnreadableImage(path, "not an image file PIL can identify") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnreadableImage(path, f"cannot decode ({type(exc).__name__}: {exc})") from None
    width, height = image.size
    if max_image_pixels is not None and width * height > max_image_pixels:
        image.close()
        raise UnreadableImage(path, _too_large(width, height, max_image_pixels))
    return image


@dataclass(frozen=True)
class ImageHeader:
    """What a file's header says, read without decoding its pixels.

    Attributes:
        width: Width (px), as stored (before any EXIF rotation).
        height: Height (px), as stored.
        mode: ``"L"`` when the file stores grey pixels (a palette of greys included), else ``"RGB"``.
        frames: Frames of an animated or multi-page file (1 for a still image; only frame 1 is ever used).
        pil_mode: PIL's mode of the stored pixels (``"RGBA"``, ``"I;16"``, ``"P"`` …).
    """

    width: int
    height: int
    mode: str
    frames: int = 1
    pil_mode: str = ""


def read_header(path: str | Path, *, max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS) -> ImageHeader:
    """The header of ``path``: size, grey or colour, number of frames (no pixel is decoded; counting the
    frames of an animated GIF walks its frame headers).

    Raises:
        UnreadableImage: As :func:`open_image`, or a header too broken to count its frames.
    """
    with open_image(path, max_image_pixels=max_image_pixels) as image:
        try:
            frames = int(getattr(image, "n_frames", 1) or 1)
        except (OSError, ValueError, EOFError, SyntaxError, struct.error):
            frames = 1  # a broken later frame: only the first is ever decoded, and that is checked when decoded
        return ImageHeader(image.size[0], image.size[1], _grey_or_colour(image), frames, image.mode)


def _grey_or_colour(image: Any) -> str:
    if image.mode == "P":  # a palette may be grey or colour; decide from the palette itself
        palette = np.asarray(image.getpalette() or [0, 0, 0], dtype=np.uint8).reshape(-1, 3)
        return "L" if bool((palette == palette[:, :1]).all()) else "RGB"
    return "L" if image.mode in GREY_MODES else "RGB"


def image_mode_of(path: str | Path) -> str:
    """``"L"`` when the file stores grey pixels, else ``"RGB"``; reads the header only (whatever its size).

    Raises:
        UnreadableImage: The file cannot be opened as an image.
    """
    with open_image(path, max_image_pixels=None) as image:
        return _grey_or_colour(image)


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


def decode_image(
    path: str | Path, mode: str, *, draft_px: int | None = None, max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> tuple[Any, str | None]:
    """Read an image file as an 8-bit PIL image of ``mode`` (``"L"`` or ``"RGB"``), upright.

    Handles: EXIF orientation (the image is rotated/flipped as a viewer shows it); CMYK and YCbCr JPEGs
    (converted to RGB by PIL's colour conversion); 16-bit and 32-bit grey (scaled to 8 bits by the storage
    range, not clipped at 255); palette images (expanded); alpha and palette transparency (composited onto
    white); animated and multi-page files (the first frame). A JPEG may be decoded at a reduced scale (``draft``)
    when the smaller side stays ≥ ``draft_px``. A file whose header claims more than ``max_image_pixels``
    (width × height) is refused before decoding.

    Args:
        path: The image file.
        mode: ``"L"`` (one grey channel) or ``"RGB"``.
        draft_px: Smallest side (px) the decoded image must keep; ``None`` = decode at full size.
        max_image_pixels: Largest size a file may claim (px); PIL's own default.

    Returns:
        ``(image, None)`` on success, ``(None, reason)`` for a file that is corrupt, truncated, not an image or
        too large.
    """
    from PIL import Image, ImageOps

    try:
        with open_image(path, max_image_pixels=max_image_pixels) as image:
            if draft_px is not None and image.format == "JPEG":
                scale = min(image.size) / draft_px
                if scale >= 2:
                    image.draft(image.mode if image.mode in ("L", "RGB") else "RGB",
                                (image.size[0] // int(scale), image.size[1] // int(scale)))  # fmt: skip
            image.load()  # decode now, inside the try: truncated data fails here
            image = ImageOps.exif_transpose(image) or image
            return _convert(image, mode), None
    except UnreadableImage as exc:
        return None, exc.reason
    except Image.DecompressionBombError as exc:  # PIL's own check inside a TIFF or GIF decoder (a raised limit)
        return None, (f"PIL refused to decode it ({exc}): its TIFF and GIF decoders also check the process-wide "
                      "PIL.Image.MAX_IMAGE_PIXELS, which nasgen leaves to the program that imports it")
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, MemoryError) as exc:
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


@dataclass
class BadImages:
    """Files that could not be decoded: fail with the first (default) or count and list them (``skip=True``).

    Args:
        skip: Record bad files instead of raising.
        hint: How the caller turns skipping on (named in the error).
    """

    skip: bool = False
    hint: str = SKIP_HINT
    skipped: dict[str, str] = field(default_factory=dict)

    def check(self, bad: list[tuple[str, str]]) -> None:
        """Record ``bad`` (``(path, reason)`` pairs); raise for the first one unless skipping.

        Raises:
            DataError: A file could not be decoded and ``skip`` is off; names the path and suggests the option.
        """
        for path, reason in bad:
            if not self.skip:
                raise DataError(f"{path}: {reason} ({self.hint})")
            self.skipped.setdefault(path, reason)

    def summary(self) -> str:
        """``"skipped N bad image(s): path (reason); …"`` or ``""``."""
        if not self.skipped:
            return ""
        listed = "; ".join(f"{path} ({reason})" for path, reason in sorted(self.skipped.items()))
        return f"skipped {len(self.skipped)} bad image(s): {listed}"
