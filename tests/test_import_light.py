"""`import nasgen` and `nasgen --help` stay light: no torch, no Optuna (DESIGN.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "optuna", "torchvision", "thop", "timm")


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
        "import nasgen.timm",
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


_ARCH_FILE = "nasgen/archs/efficientnet-b0.yaml"


@pytest.mark.parametrize(
    "args",
    [["validate", _ARCH_FILE], ["profile", _ARCH_FILE, "--json"], ["validate", "efficientnet-v2"]],
    ids=["validate-arch", "profile-json", "validate-space"],
)
def test_validate_and_profile_import_no_torch(args: list[str]) -> None:
    # the CLI in-process, as a user runs it on a spec file: no torch, no Optuna (DESIGN.md, issue 12)
    root = Path(__file__).parents[1]
    code = (
        "import json, sys\nfrom typer.testing import CliRunner\nfrom nasgen.cli import app\n"
        f"r = CliRunner().invoke(app, {[str(root / a) if a.endswith('.yaml') else a for a in args]!r})\n"
        "assert r.exit_code == 0, r.output\n"
        + ("assert json.loads(r.output)['macs'] == 385814752, r.output\n" if "profile" in args else "")
    )
    assert _imported_after(code) == []


def test_import_contracts_hold() -> None:
    """The DESIGN.md import contracts ([tool.importlinter] in pyproject.toml) are kept, checked on this tree."""
    lint = shutil.which("lint-imports")
    if lint is None:
        pytest.skip("import-linter is not installed (pip install 'nasgen[test]')")
    root = Path(__file__).parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "plugins")])}
    result = subprocess.run([lint, "--no-cache"], cwd=root, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout
