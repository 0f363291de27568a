"""Where an architecture to export comes from: a spec, a built-in name, an arch file, a search run
directory (a trial picked from its Optuna study) or a training / export directory.

A run directory is read through ``nasgen.runs.open_run`` (imported only then, so this module stays light).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nasgen.data import DataConfig, read_safetensors_metadata
from nasgen.errors import DataError, ExportError
from nasgen.spec import ArchSpec, builtin_architectures, load_spec

__all__ = ["WEIGHT_FILES", "ExportSource", "parse_trial", "resolve_source"]

WEIGHT_FILES = ("weights.safetensors", "weights.pt")
"""Trained-weight file names looked for next to an ``arch.yaml``, in order of preference (the same names as a
run's ``trials/<n>/``: ``nasgen.runs.WEIGHT_FILES``, which this torch- and Optuna-free module does not import)."""


@dataclass(frozen=True)
class ExportSource:
    """An architecture resolved from the user's SOURCE, with where it came from.

    Attributes:
        spec: The architecture.
        kind: ``"spec"``, ``"builtin"``, ``"file"``, ``"run"`` or ``"directory"`` (training or export output).
        location: The built-in name or the path as given.
        weights_path: Trained weights (``.safetensors`` or a ``weights_only`` ``.pt`` state dict), if any.
        study: Optuna study name (run directories only).
        trial: Trial number (run directories only).
        trial_state: Trial state name, e.g. ``"COMPLETE"`` (run directories only).
        score: The trial's objective value (validation top-1 for nasgen searches), if any.
        metrics: Recorded trial user attributes (``val_top1``, ``params``, ``macs``, ``seed`` …).
        data_config: How the weights' training images were prepared (normalization, size, classes), read
            from the safetensors metadata; ``None`` without weights or for weights saved without one.
        no_weights: Why there are no trained weights (``weights_path`` None), in words for the user.
        record_state: The run record's state of the trial (``complete``, ``partial``, ``infeasible``, ``pruned`` …;
            run directories only).
        note: What the user should know about the trial exported (never trained, stopped early …), or empty.
    """

    spec: ArchSpec
    kind: str
    location: str
    weights_path: Path | None = None
    study: str | None = None
    trial: int | None = None
    trial_state: str | None = None
    score: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    data_config: DataConfig | None = None
    no_weights: str = "it has no trained weights (`nasgen train` and `nasgen search --save-weights` write them)"
    record_state: str | None = None
    note: str = ""

    def describe(self) -> str:
        """One line for docstrings and logs, e.g. ``study 'tiny', trial 3 of run runs/tiny``."""
        if self.kind == "run":
            return f"study {self.study!r}, trial {self.trial} of run {self.location}"
        if self.kind == "builtin":
            return f"built-in architecture {self.location}"
        if self.kind == "spec":
            return "an ArchSpec passed in Python"
        return f"{'directory' if self.kind == 'directory' else 'file'} {self.location}"

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON data for the manifest (no spec, paths as strings)."""
        data: dict[str, Any] = {"kind": self.kind, "location": self.location}
        if self.kind == "run":
            data.update(study=self.study, trial=self.trial, state=self.trial_state, record_state=self.record_state,
                        score=self.score)
            if self.note:
                data["note"] = self.note
        if self.metrics:
            data["metrics"] = dict(self.metrics)
        data["weights"] = str(self.weights_path) if self.weights_path is not None else None
        return data


def parse_trial(trial: str | int) -> str | int:
    """Normalise ``--trial``: ``"best"`` or a trial number ``>= 0`` (``"7"`` → ``7``).

    Raises:
        ExportError: Anything else, echoing the value.
    """
    if isinstance(trial, bool):
        raise ExportError(f"trial: expected 'best' or a trial number, got {trial!r}")
    if isinstance(trial, int):
        number = trial
    elif str(trial).strip().lower() == "best":
        return "best"
    else:
        try:
            number = int(str(trial).strip())
        except ValueError:
            raise ExportError(f"trial: expected 'best' or a trial number, got {trial!r}") from None
    if number < 0:
        raise ExportError(f"trial: expected 'best' or a trial number >= 0, got {trial!r}")
    return number


def _find_weights(folder: Path) -> Path | None:
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def resolve_source(source: str | Path | ArchSpec, *, trial: str | int = "best") -> ExportSource:
    """Resolve SOURCE into an architecture plus the trained weights and provenance that go with it.

    Args:
        source: An :class:`~nasgen.spec.ArchSpec`; a built-in name (``"efficientnet-b0"``); an arch
            YAML/JSON file; a search run directory holding ``study.db``; or a training / export
            directory holding ``arch.yaml`` (and optionally ``weights.safetensors``).
        trial: ``"best"`` or a trial number; only meaningful for a run directory.

    Raises:
        ExportError: A directory that is neither a run nor holds ``arch.yaml``; ``trial`` given for a
            source other than a run; for runs, see :func:`_from_run`.
        SpecError: The architecture itself cannot be loaded (unknown name, invalid field).
    """
    resolved = _resolve(source, parse_trial(trial))
    return replace(resolved, data_config=_data_config(resolved))


def _data_config(source: ExportSource) -> DataConfig | None:
    """The data config in the weights' safetensors metadata (older training weights: mean/std only)."""
    path = source.weights_path
    if path is None or path.suffix != ".safetensors":
        return None
    spec = source.spec
    # A training directory's arch.yaml has the trained resolution; a search trial's does not (proxy size).
    size = (spec.in_channels, spec.resolution_px, spec.resolution_px) if source.kind == "directory" else None
    try:
        return DataConfig.from_metadata(
            read_safetensors_metadata(path), where=str(path), input_size=size, num_classes=spec.num_classes
        )
    except DataError as exc:
        raise ExportError(str(exc)) from None


def _resolve(source: str | Path | ArchSpec, trial: str | int) -> ExportSource:
    if isinstance(source, ArchSpec):
        _no_trial(trial, "an ArchSpec")
        return ExportSource(spec=source, kind="spec", location=source.name or "<spec>")
    text = str(source)
    path = Path(text)
    if path.is_dir():
        if (path / "study.db").is_file() or (path / "study.log").is_file():  # SQLite, or --workers' journal
            return _from_run(path, trial)
        if (path / "arch.yaml").is_file():
            _no_trial(trial, f"the directory {text!r}")
            spec = load_spec(path / "arch.yaml")
            return ExportSource(spec=spec, kind="directory", location=text, weights_path=_find_weights(path))
        hint = ""
        if (path / "best.yaml").is_file():  # a run whose study lives in a shared --storage
            hint = f"; for a run on a shared storage export {str(path / 'best.yaml')!r} or a trials/<n> directory"
        raise ExportError(
            f"{text!r} holds neither study.db (a search run) nor arch.yaml (a training or export directory){hint}"
        )
    _no_trial(trial, repr(text))
    kind = "builtin" if not isinstance(source, Path) and text in builtin_architectures() else "file"
    return ExportSource(spec=load_spec(source), kind=kind, location=text)


def _no_trial(trial: str | int, what: str) -> None:
    if trial != "best":
        raise ExportError(f"trial {trial} was asked for, but {what} is not a search run directory")


def _from_run(run_dir: Path, trial: str | int) -> ExportSource:
    """Pick a trial of the search run in ``run_dir`` through the run record (``nasgen.runs.open_run``).

    ``"best"`` is the trial ``best.yaml`` names (``Run.best``: complete before partial, highest validation
    top-1, ties to fewer MACs, then the earlier trial); for a study not written by nasgen, Optuna's best trial
    (multi-objective: the Pareto-optimal trial with the highest first objective).

    Raises:
        ExportError: The database cannot be read; it holds several studies and none is named after the
            directory; no trial has completed; trial ``N`` does not exist; the trial has no recorded
            architecture.
    """
    from nasgen.errors import SearchError
    from nasgen.runs import open_run

    try:
        run = open_run(run_dir)
        chosen = run.best() if trial == "best" else run.record(int(trial))
        if chosen is None:
            counts = run.state_counts()
            detail = ", ".join(f"{n} {state}" for state, n in counts.items()) or "no trials at all"
            raise ExportError(
                f"run {str(run_dir)!r}: study {run.name!r} has no completed, feasible trial yet ({detail}); "
                "pass --trial N to export a particular trial"
            )
        spec = run.spec_of(chosen)
    except SearchError as exc:
        raise ExportError(str(exc)) from None
    metrics = {
        key: getattr(chosen, key)
        for key in ("val_top1", "params", "macs", "activation_bytes", "epochs", "train_seconds", "device", "seed")
        if getattr(chosen, key) is not None
    }
    if chosen.partial:
        metrics["partial"] = True
    weights = run.weights_of(chosen)
    return ExportSource(
        spec=spec,
        kind="run",
        location=str(run_dir),
        weights_path=weights,
        no_weights=_why_no_weights(run, chosen) if weights is None else "",
        record_state=chosen.state,
        note=_trial_note(chosen),
        study=run.name,
        trial=chosen.number,
        trial_state=chosen.trial_state,
        score=chosen.values[0] if chosen.values else None,
        metrics=metrics,
    )


def _why_no_weights(run: Any, chosen: Any) -> str:
    """Why a run's trial has no weights file, as the user can act on it."""
    if not run.meta.get("save_weights"):
        return "the search ran without --save-weights (run it again with it: the same command resumes the study)"
    best = run.best()
    if best is not None and best.number != chosen.number:
        return f"a search keeps the weights of its best trial only (trial {best.number}; --trial best exports it)"
    return f"trial {chosen.number} kept no weights (it was {chosen.state})"


def _trial_note(record: Any) -> str:
    """What a trial other than a complete one is: the user exports an architecture that was never trained (or only
    partly), and should hear it."""
    reason = f" ({record.reason})" if record.reason else ""
    if record.state == "infeasible":
        return f"trial {record.number} was never trained: it is over a limit{reason}; this is its architecture only"
    if record.state in ("pruned", "failed", "interrupted", "running", "waiting"):
        return f"trial {record.number} has no complete score: it is {record.state}{reason}"
    if record.state == "partial":
        return f"trial {record.number} is a partial result: the time limit stopped it after {record.epochs} epoch(s)"
    return ""
