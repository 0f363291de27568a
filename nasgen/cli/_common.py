"""What every CLI command shares: the console, the one exit path for user errors, number formatting."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
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
