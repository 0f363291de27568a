"""Data-reading settings that a full run (:class:`~nasgen.config.FullTrainConfig`) and a search
(:class:`~nasgen.config.SearchConfig`) share: each is declared here once, its default and its parsing, and both
models name it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo

from nasgen.config._base import parsed_already
from nasgen.units import parse_count

__all__ = ["DEFAULT_MAX_IMAGE_PIXELS", "MaxImagePixels"]

#: PIL's own default decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``: 89,478,485 px, about 0.25 GB of
#: 24-bit pixels), written out so that reading the settings imports no PIL; ``tests/config`` checks it against PIL.
DEFAULT_MAX_IMAGE_PIXELS = 1024 * 1024 * 1024 // 4 // 3


def _parse_pixels(value: Any, info: ValidationInfo) -> Any:
    return value if parsed_already(info) else parse_count(value, what="max_image_pixels")


#: The largest image (width × height, px) a file may claim to be decoded: a count (``"400M"``, ``200000000``).
MaxImagePixels = Annotated[int, BeforeValidator(_parse_pixels)]
