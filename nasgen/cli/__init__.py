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

# module name under nasgen.cli -> each defines ``register(app)``
_COMMANDS = ("schema", "spaces", "validate", "profile", "search", "train", "scale", "plugins", "export")


def _register_all() -> None:
    for name in _COMMANDS:
        module = importlib.import_module(f"nasgen.cli.{name}")
        module.register(app)


_register_all()


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
