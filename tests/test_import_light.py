"""`import nasgen` and `nasgen --help` stay light: no torch, no Optuna (DESIGN.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "optuna", "torchvision", "thop")


def _imported_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


@pytest.mark.parametrize(
    "code",
    [
        "import nasgen",
        "import nasgen.spec, nasgen.space, nasgen.cost, nasgen.units, nasgen.errors",
        "import nasgen; nasgen.count_cost(nasgen.load_spec('efficientnet-b0'))",
        "from nasgen.cli import app",
    ],
)
def test_light_imports(code: str) -> None:
    assert _imported_after(code) == []


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom nasgen.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\nassert r.exit_code == 0, r.output\n"
    )
    assert _imported_after(code) == []


def test_lazy_public_names() -> None:
    import nasgen

    assert nasgen.load_spec("efficientnet-b0").num_blocks == 16
    with pytest.raises(AttributeError):
        nasgen.no_such_name  # noqa: B018
