"""What every CLI command shares: the console, the one exit path for user errors, number formatting."""

from __future__ import annotations

import enum
import functools
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from nasgen.errors import NasgenError

def _width(stream) -> int | None:
    # Off a terminal (logs, pipes, CI) rich would cut tables to 80 columns (stage strings end in "…"); a
    # log line may be long, so tables get 240 columns there unless COLUMNS says otherwise.
    if os.environ.get("COLUMNS") or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return 240


console = Console(width=_width(sys.stdout))
err_console = Console(stderr=True, width=_width(sys.stderr))

F = TypeVar("F", bound=Callable[..., Any])

USAGE_ERROR = 2


def setting_default(model: type, name: str) -> Any:
    """The default of setting ``name`` of a :mod:`nasgen.config` model: the CLI's option default, never a copy.

    Raises:
        KeyError: ``model`` has no setting ``name`` (a programming error caught by the CLI tests).
    """
    field = model.model_fields[name]
    return None if field.is_required() else field.default


def choice_enum(name: str, choices: Iterable[str]) -> type[enum.Enum]:
    """A ``str`` Enum of ``choices`` (a setting's names in :mod:`nasgen.config`), for a Typer option."""
    return enum.Enum(name, {choice: choice for choice in choices}, type=str)  # type: ignore[return-value]


def user_errors(func: F) -> F:
    """Turn a :class:`NasgenError` into one ``error: …`` line on stderr and exit code 2, no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NasgenError as exc:
            # escape: messages echo user values and hints such as "pip install 'nasgen[onnx]'"
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
            raise typer.Exit(USAGE_ERROR) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
