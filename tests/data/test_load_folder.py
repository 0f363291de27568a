"""``load_dataset(folder)`` from Python: the streamed reader the CLI uses, at each file's own resolution, holding
paths and not pixels, usable with a torch DataLoader; the eager 64-px read only when asked for (issue 14)."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from image_trees import SIZES, make_tree  # noqa: E402

from nasgen.data import ImageDataset, ImageFiles, load_dataset, split  # noqa: E402
from nasgen.errors import DataError, NasgenError  # noqa: E402


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("api") / "tree", n_per_class=10)


def test_folder_is_streamed_with_the_dataset_attributes(tree):
    files = load_dataset(tree)
    assert isinstance(files, ImageFiles) and not hasattr(files, "images")
    assert len(files) == 20 and files.classes == ["blue", "red"] and files.num_classes == 2
    assert files.in_channels == 3 and files.resolution_px is None
    assert files.labels.tolist() == [0] * 10 + [1] * 10
    assert files.report is not None and files.report.notes == ()
    train, val = split(files, None, seed=0)
    assert isinstance(train, ImageFiles) and len(train) + len(val) == 20 and train.report is files.report


def test_items_are_decoded_at_the_files_own_size(tree):
    files = load_dataset(tree)
    for index in range(len(files)):
        image, label = files[index]
        width, height = SIZES[index % 10 % len(SIZES)]  # red_00i / blue_00i cycle through SIZES
        assert image.dtype == torch.uint8 and tuple(image.shape) == (3, height, width)
        assert label == int(files.labels[index])
    image, _ = files[-1]
    assert tuple(image.shape) == (3, SIZES[9 % len(SIZES)][1], SIZES[9 % len(SIZES)][0])
    red = files[10][0].float().mean(dim=(1, 2))
    assert red[0] > red[2] + 100  # the red class: channel 0 ≈ 198, channel 2 ≈ 48
    with pytest.raises(IndexError):
        files[len(files)]


@pytest.mark.parametrize("workers", [0, 1])
def test_works_with_a_torch_dataloader(tree, workers):
    files = load_dataset(tree).transformed(48, train=True)
    loader = DataLoader(files, batch_size=8, shuffle=True, num_workers=workers,
                        generator=torch.Generator().manual_seed(0))  # fmt: skip
    batches = list(loader)
    assert [tuple(images.shape) for images, _ in batches] == [(8, 3, 48, 48), (8, 3, 48, 48), (4, 3, 48, 48)]
    assert all(images.dtype == torch.uint8 for images, _ in batches)
    assert sorted(torch.cat([labels for _, labels in batches]).tolist()) == sorted(files.labels.tolist())
    evaluation = load_dataset(tree).transformed(40, train=False)
    image, label = evaluation[2]  # 200×150 px: shorter side → floor(40 / 0.875) = 45 px, centre crop 40
    assert tuple(image.shape) == (3, 40, 40) and label == 0


def test_the_dataset_holds_paths_not_pixels(tmp_path):
    # the same file names at 40×30 and at 400×300 px (100× the pixels): the same object size
    def tree(root: Path, size: tuple[int, int], n: int) -> Path:
        for name, colour in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
            (root / name).mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", size, colour).save(root / name / f"{i:04d}.png")
        return root

    small = load_dataset(tree(tmp_path / "small", (40, 30), 20))
    large = load_dataset(tree(tmp_path / "large", (400, 300), 20))
    more = load_dataset(tree(tmp_path / "lots_", (40, 30), 80))
    sizes = {name: len(pickle.dumps(d)) for name, d in (("small", small), ("large", large), ("more", more))}
    assert sizes["small"] == sizes["large"], sizes  # independent of the image size
    assert sizes["more"] - sizes["small"] < 200 * 120, sizes  # < 200 bytes per added file (a path and a label)
    arrays = [v for v in vars(large).values() if isinstance(v, np.ndarray)]
    assert sum(a.nbytes for a in arrays) < 200 * len(large)  # paths (S-dtype) and int64 labels only
    assert all(a.dtype.kind in "Si" for a in arrays)
    pixels = sum(large[i][0].numel() for i in range(len(large)))
    assert pixels == 40 * 400 * 300 * 3  # 14.4 MB decoded on demand …
    assert len(pickle.dumps(large)) == sizes["large"]  # … and nothing of it kept by the dataset


def test_in_memory_is_the_explicit_eager_read(tree):
    eager = load_dataset(tree, in_memory=True)
    assert isinstance(eager, ImageDataset) and eager.images.shape == (20, 64, 64, 3) and eager.resolution_px == 64
    assert eager.report.notes[-1].startswith("images come in 5 sizes (80x80 to 200x150 px): all resized to 64x64 px")
    sized = load_dataset(tree, in_memory=True, resolution_px=32)
    assert sized.images.shape == (20, 32, 32, 3)
    assert sized.report.notes[-1].endswith("all resized to 32x32 px (aspect ratio not kept)")
    image, label = sized[3]
    assert image.dtype == torch.uint8 and tuple(image.shape) == (3, 32, 32) and label == 0
    assert torch.equal(image, torch.from_numpy(sized.images[3]).permute(2, 0, 1))


def test_eager_options_are_checked(tree, tmp_path):
    with pytest.raises(DataError, match=r"resolution_px=32 is the size of an eager in-memory read: pass in_memory"):
        load_dataset(tree, resolution_px=32)
    with pytest.raises(DataError, match=r"resolution_px must be a positive integer \(px\), got 0"):
        load_dataset(tree, in_memory=True, resolution_px=0)
    with pytest.raises(DataError, match=r"resolution_px applies to an ImageFolder tree, not to 'embedded'"):
        load_dataset(None, in_memory=True, resolution_px=32)
    (tmp_path / "list.csv").write_text(f"{tree}/red/red_000.png,red\n{tree}/blue/blue_000.png,blue\n")
    assert isinstance(load_dataset(tmp_path / "list.csv"), ImageFiles)
    with pytest.raises(DataError, match=r"list\.csv: a data file must be an \.npz .*leave out in_memory=True"):
        load_dataset(tmp_path / "list.csv", in_memory=True)
    with pytest.raises(DataError, match=r"resolution_px must be a positive integer \(px\), got 0"):
        load_dataset(tree).transformed(0, train=True)


def test_a_loaded_dataset_passes_through(tree):
    files = load_dataset(tree)
    assert load_dataset(files) is files
    half = load_dataset(files, max_images=10, seed=0)
    assert isinstance(half, ImageFiles) and np.bincount(half.labels).tolist() == [5, 5]
    with pytest.raises(DataError, match="already loaded"):
        load_dataset(files, in_memory=True)


def _bad_file(root: Path, case: str) -> Path:
    good = root / "red" / "red_001.jpg"
    bad = root / "red" / f"zz_{case}.jpg"
    if case == "text":
        bad.write_text("not a picture")
    elif case == "truncated":
        bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    elif case == "header-only":
        bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    elif case == "empty":
        bad.write_bytes(b"")
    return bad


@pytest.mark.parametrize("case", ["text", "truncated", "header-only", "empty"])
def test_bad_file_through_the_api_is_named(tmp_path, case):
    root = make_tree(tmp_path / "tree", n_per_class=4)
    bad = _bad_file(root, case)
    files = load_dataset(root)  # nothing decoded yet: opening a folder does not read the pixels
    index = [files.path(i) for i in range(len(files))].index(str(bad))
    with pytest.raises(NasgenError) as info:
        files[index]
    assert isinstance(info.value, DataError) and str(info.value).startswith(f"{bad}: ")
    with pytest.raises(DataError, match=str(bad).replace(".", r"\.")):
        list(DataLoader(files.transformed(16, train=False), batch_size=4))
    # a worker process's error reaches the caller as a DataError that still names the file
    with pytest.raises(DataError, match=str(bad).replace(".", r"\.")):
        list(DataLoader(files.transformed(16, train=False), batch_size=4, num_workers=1))


def test_missing_file_of_a_list_is_named(tmp_path):
    root = make_tree(tmp_path / "tree", n_per_class=2)
    lines = [f"tree/{c}/{c}_00{i}.{'png' if i == 0 else 'jpg'},{c}" for c in ("blue", "red") for i in range(2)]
    (tmp_path / "list.csv").write_text("\n".join(lines + ["tree/red/gone.jpg,red"]) + "\n")
    files = load_dataset(tmp_path / "list.csv")
    assert len(files) == 5 and files[0][0].shape[0] == 3
    with pytest.raises(DataError, match=r"tree/red/gone\.jpg: cannot decode \(FileNotFoundError"):
        files[4]
    assert root.is_dir()


def test_folder_errors_at_load_name_the_folder(tmp_path):
    root = make_tree(tmp_path / "tree", n_per_class=2)
    (root / "green").mkdir()
    with pytest.raises(DataError, match=r"tree/green: class folder holds no images"):
        load_dataset(root)
    assert load_dataset(root, skip_empty_classes=True).report.skipped_classes == ("green",)
    (root / "green").rmdir()
    for path in (root / "blue").iterdir():
        path.unlink()
    (root / "blue").rmdir()
    with pytest.raises(DataError, match=r"tree: only one class \('red'\)"):
        load_dataset(root)


def test_odd_images_are_decoded_upright_and_in_the_folder_mode(tmp_path):
    root = make_tree(tmp_path / "tree", n_per_class=2)
    odd = root / "red"
    Image.new("CMYK", (30, 20), (0, 255, 255, 0)).save(odd / "cmyk.jpg")
    Image.new("I;16", (24, 12), 40_000).save(odd / "grey16.png")
    Image.new("RGBA", (10, 14), (255, 0, 0, 0)).save(odd / "clear.png")
    Image.new("P", (16, 8)).save(odd / "palette.png")
    rotated = Image.new("RGB", (40, 10), (250, 0, 0))
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    rotated.save(odd / "exif.jpg", exif=exif)
    files = load_dataset(root)
    shapes = {Path(files.path(i)).name: tuple(files[i][0].shape) for i in range(len(files))}
    assert shapes["cmyk.jpg"] == (3, 20, 30) and shapes["grey16.png"] == (3, 12, 24)
    assert shapes["clear.png"] == (3, 14, 10) and shapes["palette.png"] == (3, 8, 16)
    assert shapes["exif.jpg"] == (3, 40, 10)  # upright: 10 wide, 40 high
    names = [Path(files.path(i)).name for i in range(len(files))]
    clear = files[names.index("clear.png")][0]
    assert clear.unique().tolist() == [255]  # transparent → white, not the hidden red
