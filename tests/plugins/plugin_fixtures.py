"""Helpers of the plugin tests: where the third-party fixture package is, and an installed-style
``.dist-info`` writer (what ``pip install`` leaves behind, so ``importlib.metadata`` finds an entry point)."""

from __future__ import annotations

from pathlib import Path

FIXTURE_PLUGIN = Path(__file__).parents[1] / "fixtures" / "third_party_plugin"


def write_dist_info(root: Path, name: str, version: str, entry_points: dict[str, str]) -> Path:
    """Create ``root/<name>-<version>.dist-info`` with METADATA and an ``entry_points.txt`` for the group
    ``nasgen``: what ``pip install`` writes, so ``importlib.metadata`` finds the plugin on ``sys.path``."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[nasgen]\n{lines}", encoding="utf-8")
    return info
