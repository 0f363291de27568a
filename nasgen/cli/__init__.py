"""The ``nasgen`` command line: one module per command, heavy imports inside the commands.

Commands register themselves here; ``nasgen --help`` imports neither torch nor Optuna.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="nasgen",
    help=(
        "Neural architecture search for EfficientNet-family CNNs under a cost budget. "
        "Costs are MACs of Conv2d and Linear layers at batch 1 (FLOPs = 2 x MACs)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"nasgen {version('nasgen')}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Neural architecture search for EfficientNet-family CNNs under a cost budget."""


# module name under nasgen.cli -> each defines ``register(app)``
_COMMANDS = (
    "schema", "spaces", "validate", "profile", "search", "confirm", "report", "train", "scale", "plugins", "export",
    "import_",
)


def _register_all() -> None:
    for name in _COMMANDS:
        module = importlib.import_module(f"nasgen.cli.{name}")
        module.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point.

    Click's own usage errors (an option value of the wrong type or out of range, an unknown option) are
    printed like nasgen's: one ``error: …`` line on stderr, exit code 2, instead of click's boxed usage text.
    """
    import sys

    from typer._click import exceptions as click_errors  # typer ships its own click

    try:
        code = app(args=argv, standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:  # bare `nasgen`: the help text
        exc.show()
        sys.exit(2)
    except click_errors.UsageError as exc:  # includes BadParameter, NoSuchOption, MissingParameter
        message = " ".join(exc.format_message().replace("Value error, ", "").split())
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    except click_errors.ClickException as exc:
        print(f"error: {' '.join(exc.format_message().split())}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, EOFError):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
