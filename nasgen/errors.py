"""The one error family of nasgen.

Every error a user can cause derives from :class:`NasgenError`. The CLI catches that base class,
prints its message on one line and exits with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = [
    "BudgetError",
    "DataError",
    "ExportError",
    "NasgenError",
    "PluginError",
    "ReportError",
    "SearchError",
    "SpecError",
    "TrainError",
    "short_repr",
]

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple, _REPR.maxset = 3, 6, 8, 8, 8
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = 60, 40, 60


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to about 100 characters, without walking a large or deeply shared value.

    Error messages echo the bad value; a value read from YAML may be an alias bomb whose full ``repr``
    would take minutes and gigabytes, so every echo of user data goes through this.
    """
    text = _REPR.repr(value)
    return text if len(text) <= 120 else text[:119] + "…"


class NasgenError(Exception):
    """Base class of every error nasgen raises for bad input or an impossible request."""


class SpecError(NasgenError, ValueError):
    """An architecture, a search space or a schedule is invalid.

    Args:
        message: What is wrong, e.g. ``"must be 3 or 5, got 4"``.
        path: Dotted field path, e.g. ``"stages.3.kernel_size"`` (empty for the whole document).
        value: The offending value, echoed in the message by the caller.
        file: The file the spec came from, when it came from a file.
        line: 1-based line in ``file``, when known (YAML).

    The string form is ``"FILE, line L: PATH: MESSAGE"`` with the parts that are known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        value: Any = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.value = value
        self.file = file
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}, line {self.line}: " if self.line is not None else f"{self.file}: "
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"

    def with_location(self, file: str | None = None, line: int | None = None) -> SpecError:
        """Return a copy that also names ``file`` and ``line`` (existing ones are kept)."""
        return SpecError(
            self.message,
            path=self.path,
            value=self.value,
            file=self.file if self.file is not None else file,
            line=self.line if self.line is not None else line,
        )


class BudgetError(NasgenError, ValueError):
    """A cost budget is malformed (``"40x"``) or cannot be met by any architecture of a space."""


class DataError(NasgenError):
    """A dataset path is missing, holds no images, has fewer than two classes, or is malformed."""


class PluginError(NasgenError):
    """A plugin failed to import, registered a duplicate name, or returned something invalid."""


class SearchError(NasgenError):
    """A search cannot start or continue (unknown sampler, storage unreachable, no completed trial)."""


class TrainError(NasgenError):
    """Training cannot proceed (bad schedule, resolution the architecture cannot take, diverged loss)."""


class ExportError(NasgenError):
    """An export cannot be written (output directory not empty, unknown trial, missing extra)."""


class ReportError(NasgenError):
    """A report cannot be made: an empty study, or an output folder that cannot be written."""
