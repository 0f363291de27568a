"""`import nasgen` and `nasgen --help` stay light: no torch, no Optuna (docs/design.md)."""

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
    # the CLI in-process, as a user runs it on a spec file: no torch, no Optuna (docs/design.md, issue 12)
    root = Path(__file__).parents[1]
    code = (
        "import json, sys\nfrom typer.testing import CliRunner\nfrom nasgen.cli import app\n"
        f"r = CliRunner().invoke(app, {[str(root / a) if a.endswith('.yaml') else a for a in args]!r})\n"
        "assert r.exit_code == 0, r.output\n"
        + ("assert json.loads(r.output)['macs'] == 385814752, r.output\n" if "profile" in args else "")
    )
    assert _imported_after(code) == []


def test_import_contracts_hold() -> None:
    """The docs/design.md import contracts ([tool.importlinter] in pyproject.toml) are kept, checked on this tree.

    import-linter comes with the ``test`` extra, so a missing ``lint-imports`` is a broken set-up, not a skip."""
    import tomllib

    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    assert Path(lint).is_file(), "lint-imports is not installed: pip install -e '.[test]'"
    root = Path(__file__).parents[1]
    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "plugins")])}
    result = subprocess.run([lint, "--no-cache"], cwd=root, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(contracts)} kept, 0 broken" in result.stdout


def _packages(root: Path) -> set[str]:
    return {p.name for p in (root / "nasgen").iterdir() if (p / "__init__.py").is_file()}


def test_every_package_is_under_the_layers_contract() -> None:
    import tomllib

    root = Path(__file__).parents[1]
    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")
    listed = {name.strip().removeprefix("nasgen.") for layer in layers["layers"] for name in layer.split("|")}
    modules = {p.stem for p in (root / "nasgen").glob("*.py") if p.stem != "__init__"}
    assert _packages(root) | modules <= listed | {"archs"}, sorted((_packages(root) | modules) - listed)
    assert not layers.get("ignore_imports"), layers.get("ignore_imports")


def test_no_module_imports_another_packages_private_module() -> None:
    """``nasgen.<a>...`` may import ``nasgen.<b>`` and its public names, never ``nasgen.<b>._private``."""
    import ast

    root = Path(__file__).parents[1]
    found = []
    for path in sorted((root / "nasgen").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        own = parts[1] if len(parts) > 2 else None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                bits = name.split(".")
                if bits[0] == "nasgen" and len(bits) > 2 and bits[1] != own and bits[2].startswith("_"):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {name}")
    assert found == []
