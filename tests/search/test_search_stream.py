"""A search on a streamed ImageFolder: the proxy cache is built once and shared by every trial and the confirmation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from image_trees import make_tree  # noqa: E402

import nasgen.data._cache as cache_module  # noqa: E402
import nasgen.train  # noqa: E402
from nasgen.search import search  # noqa: E402

PROXY = {
    "scale_resolution_from_px": None, "resolution_px": 32, "batch_size": 16, "epochs": 1, "warmup_epochs": 0.0,
}  # fmt: skip


def test_proxy_cache_is_built_once_and_shared_by_two_trials(space, tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "_BUILT", {})
    builds, seen = [], []
    decode = cache_module._decode_into
    monkeypatch.setattr(cache_module, "_decode_into", lambda *a, **k: builds.append(a[3].shape) or decode(*a, **k))
    evaluate = nasgen.train.evaluate_proxy

    def spy(spec, data, *args, **kwargs):
        seen.append(data)
        return evaluate(spec, data, *args, **kwargs)

    monkeypatch.setattr(nasgen.train, "evaluate_proxy", spy)
    root = make_tree(tmp_path / "tree", n_per_class=30)
    result = search(
        "10M", space=space, data=str(root), n_trials=2, seed=0, out=tmp_path / "run", proxy=PROXY, pruner="none",
        proxy_images=40, loader_workers=0, timeout=None, confirm=1, confirm_seeds=2,
    )  # fmt: skip
    assert builds == [(40, 32, 32, 3)]  # one decode of 40 images at the proxy's 32 px, RGB
    # two trials, then the confirmation's two seeds: all on the same cached dataset object
    assert len(seen) == 4 and all(data is seen[0] for data in seen)
    assert result.study.user_attrs["proxy_images"] == 40
    assert seen[0].images.shape == (40, 32, 32, 3) and np.bincount(seen[0].labels).tolist() == [20, 20]
    assert any(note.startswith("proxy data: 40 of 60 images, class-balanced, decoded once") for note in result.notes)
    assert all(t.user_attrs.get("epochs") == 1 for t in result.study.trials)


def _count_builds(monkeypatch) -> list[tuple[int, ...]]:
    monkeypatch.setattr(cache_module, "_BUILT", {})
    builds: list[tuple[int, ...]] = []
    decode = cache_module._decode_into
    monkeypatch.setattr(cache_module, "_decode_into", lambda *a, **k: builds.append(a[3].shape) or decode(*a, **k))
    return builds


def test_search_on_a_loaded_folder_streams_it_as_a_path_does(space, tmp_path, monkeypatch):
    from nasgen.data import ImageFiles, load_dataset

    builds = _count_builds(monkeypatch)
    root = make_tree(tmp_path / "tree", n_per_class=30)
    data = load_dataset(root)
    assert isinstance(data, ImageFiles)
    result = search(
        "10M", space=space, data=data, n_trials=2, seed=0, out=tmp_path / "run", proxy=PROXY, pruner="none",
        proxy_images=40, loader_workers=0, timeout=None,
    )  # fmt: skip
    assert builds == [(40, 32, 32, 3)]
    assert any(note.startswith("proxy data: 40 of 60 images, class-balanced, decoded once") for note in result.notes)
    assert result.study.user_attrs["proxy_images"] == 40
    assert result.study.user_attrs["data"] == str(root)  # what confirm reloads, not the repr of every path


def test_workers_train_on_the_parents_proxy_cache(space, tmp_path, monkeypatch):
    # with --workers, each worker process used to read the folder itself with the eager 64-px reader
    import torch

    from nasgen.search._data import DataOptions, prepare_data
    from nasgen.search.workers import WorkerPlan
    from nasgen.search.workers._proc import _evaluator
    from nasgen.train import default_proxy

    builds = _count_builds(monkeypatch)
    root = make_tree(tmp_path / "tree", n_per_class=30)
    config = default_proxy("cpu").replace(**PROXY)
    options = DataOptions(proxy_images=40, loader_workers=0, skip_bad_images=False)
    prepared = prepare_data(str(root), space=space, proxy=config, out_dir=tmp_path / "run", seed=0, options=options)
    parent, notes = prepared.train, prepared.notes
    assert notes[0].startswith("proxy data: 40 of 60 images, class-balanced, decoded once in ")
    assert " s at 32 px, memory-mapped " in notes[0]
    monkeypatch.setattr(cache_module, "_BUILT", {})  # a worker is another process: nothing built in it yet
    plan = WorkerPlan(
        storage="unused", study_name="s", space=space, evaluator="proxy", data=None, cache=prepared.cache_file,
        fingerprint=prepared.fingerprint, proxy=config, objective=None, evaluator_options={}, limits=None,
        freeze_kwargs={}, sampler="random", pruner="none", seed=0, n_trials=1, timeout=None, out=tmp_path / "run",
    )  # fmt: skip
    threads = torch.get_num_threads()
    try:
        worker = _evaluator(plan).dataset
    finally:
        torch.set_num_threads(threads)
    assert builds == [(40, 32, 32, 3)]  # decoded once, by the parent; the worker maps the parent's file
    assert isinstance(worker.images, np.memmap) and worker.images.shape == (40, 32, 32, 3)
    assert np.array_equal(worker.images, parent.images) and worker.labels.tolist() == parent.labels.tolist()
    assert len(list((tmp_path / "run").glob("proxy-cache-*.u8"))) == 1
