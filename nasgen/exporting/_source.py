"""Where an architecture to export comes from: a spec, a built-in name, an arch file, a search run
directory (a trial picked from its Optuna study) or a training / export directory.

Optuna is imported only when a run directory is read, so this module stays light.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nasgen.data import DataConfig, read_safetensors_metadata
from nasgen.errors import DataError, ExportError
from nasgen.spec import ArchSpec, builtin_architectures, load_spec, loads_spec

__all__ = ["WEIGHT_FILES", "ExportSource", "parse_trial", "resolve_source"]

WEIGHT_FILES = ("weights.safetensors", "weights.pt")
"""Trained-weight file names looked for next to an ``arch.yaml``, in order of preference."""

_METRIC_ATTRS = ("val_top1", "params", "macs", "activation_bytes", "epochs", "train_seconds", "device", "seed")


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
            data.update(study=self.study, trial=self.trial, state=self.trial_state, score=self.score)
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
        if (path / "study.db").is_file():
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
    """Pick a trial of the study in ``run_dir/study.db``.

    ``"best"`` is Optuna's best trial; in a multi-objective study (validation top-1 up, MACs down) it is
    the Pareto-optimal trial with the highest first objective.

    Raises:
        ExportError: The database cannot be read; it holds several studies and none is named after the
            directory; no trial has completed; trial ``N`` does not exist; the trial has no recorded
            architecture.
    """
    import optuna

    study = _open_study(run_dir, optuna)
    trials = study.get_trials(deepcopy=False)
    if trial == "best":
        chosen = _best_trial(study, trials, run_dir, optuna)
    else:
        by_number = {t.number: t for t in trials}
        if trial not in by_number:
            known = f"trials 0-{max(by_number)}" if by_number else "no trials"
            raise ExportError(
                f"run {str(run_dir)!r}: trial {trial} does not exist in study {study.study_name!r} ({known})"
            )
        chosen = by_number[trial]
    spec = _trial_spec(run_dir, chosen)
    trial_dir = run_dir / "trials" / str(chosen.number)
    metrics = {key: chosen.user_attrs[key] for key in _METRIC_ATTRS if key in chosen.user_attrs}
    values = chosen.values
    return ExportSource(
        spec=spec,
        kind="run",
        location=str(run_dir),
        weights_path=_find_weights(trial_dir),
        study=study.study_name,
        trial=chosen.number,
        trial_state=chosen.state.name,
        score=float(values[0]) if values else None,
        metrics=metrics,
    )


def _open_study(run_dir: Path, optuna: Any) -> Any:
    url = f"sqlite:///{(run_dir / 'study.db').resolve()}"
    try:
        names = optuna.study.get_all_study_names(url)
    except Exception as exc:  # SQLAlchemy / Optuna errors on a corrupt or foreign file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExportError(f"cannot read the study database {str(run_dir / 'study.db')!r}: {first}") from None
    if not names:
        raise ExportError(f"run {str(run_dir)!r}: study.db holds no study")
    if run_dir.name in names:
        name = run_dir.name
    elif len(names) == 1:
        name = names[0]
    else:
        raise ExportError(
            f"run {str(run_dir)!r}: study.db holds several studies ({', '.join(sorted(names))}) "
            f"and none is named {run_dir.name!r}"
        )
    return optuna.load_study(study_name=name, storage=url)


def _best_trial(study: Any, trials: list[Any], run_dir: Path, optuna: Any) -> Any:
    """The trial ``best.yaml`` names: among completed, feasible, evaluated trials (user attributes
    ``feasible`` and ``val_top1``, not a ``reused_from`` copy) the highest ``val_top1``, ties going to fewer
    MACs, then the earlier trial. A study not written by nasgen falls back to Optuna's best trial (in a
    multi-objective study: the Pareto-optimal trial with the best first objective)."""
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if any("feasible" in t.user_attrs for t in complete):
        evaluated = [
            t
            for t in complete
            if t.user_attrs.get("feasible") and "val_top1" in t.user_attrs and "reused_from" not in t.user_attrs
        ]
        if evaluated:
            return min(evaluated, key=lambda t: (-t.user_attrs["val_top1"], t.user_attrs.get("macs", 0), t.number))
    elif complete:
        best = _optuna_best(study, optuna)
        if best is not None:
            return best
    counts: dict[str, int] = {}
    for t in trials:
        state = "infeasible" if t.user_attrs.get("feasible") is False else t.state.name.lower()
        counts[state] = counts.get(state, 0) + 1
    detail = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no trials at all"
    raise ExportError(
        f"run {str(run_dir)!r}: study {study.study_name!r} has no completed, feasible trial yet ({detail}); "
        "pass --trial N to export a particular trial"
    )


def _optuna_best(study: Any, optuna: Any) -> Any:
    if len(study.directions) == 1:
        try:
            return study.best_trial
        except ValueError:  # a constrained study without a feasible trial
            return None
    sign = 1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else -1.0
    front = study.best_trials
    return max(front, key=lambda t: (sign * t.values[0], -t.number)) if front else None


def _trial_spec(run_dir: Path, trial: Any) -> ArchSpec:
    where = f"{run_dir / 'study.db'} trial {trial.number}"
    text = trial.user_attrs.get("spec_yaml")
    if isinstance(text, str):
        return loads_spec(text, file=where)
    arch_file = run_dir / "trials" / str(trial.number) / "arch.yaml"
    if arch_file.is_file():
        return load_spec(arch_file)
    raise ExportError(f"{where}: no architecture recorded (no spec_yaml attribute, no {arch_file})")
