"""The pydantic base of nasgen's documents: a constructor error is a :class:`~nasgen.errors.SpecError`.

``StemSpec(out_channels=-1)`` raises ``SpecError("out_channels: must be a positive integer, got -1")``, a
:class:`~nasgen.errors.NasgenError` with a field path (and a ``ValueError``), never pydantic's
``ValidationError``. Only the outermost construction converts: a nested model lets pydantic's error rise to
its parent, which names the full path (``stages.2.kernel_size``); and inside :func:`pydantic_errors` (what
``validate_document`` uses, as it also knows the file and line) nothing is converted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["SpecModel", "pydantic_errors"]

_DEPTH: ContextVar[int] = ContextVar("_DEPTH", default=0)
_RAW: ContextVar[bool] = ContextVar("_RAW", default=False)


@contextmanager
def pydantic_errors() -> Iterator[None]:
    """Within this block, :class:`SpecModel` constructors raise pydantic's ``ValidationError`` unconverted."""
    token = _RAW.set(True)
    try:
        yield
    finally:
        _RAW.reset(token)


class SpecModel(BaseModel):
    """A pydantic model whose constructor raises :class:`~nasgen.errors.SpecError` naming the field path.

    Raises:
        SpecError: On construction with an invalid field (path = the field, e.g. ``out_channels``).
    """

    def __init__(self, /, **data: Any) -> None:
        depth = _DEPTH.get()
        token = _DEPTH.set(depth + 1)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if depth or _RAW.get():
                raise
            from nasgen.spec._yaml import spec_error_from_validation

            raise spec_error_from_validation(exc, data) from None
        finally:
            _DEPTH.reset(token)
