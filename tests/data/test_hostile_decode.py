"""The decoder and the scans on hostile files (issue 30): a per-call decompression-bomb limit that never touches
PIL's process-wide one, header-only notes, symbolic links, bounded evaluation resizes, and byte-level fuzzing."""

from __future__ import annotations

import io
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_images import jpeg_claiming, png_bomb, tree  # noqa: E402

from nasgen.data import load_dataset  # noqa: E402
from nasgen.data._decode import UnreadableImage, decode_image, open_image, read_header  # noqa: E402
from nasgen.data._stream import CentreAspect, eval_transform, make_loader  # noqa: E402
from nasgen.errors import DataError  # noqa: E402


def test_a_bomb_is_refused_from_its_header_with_size_and_limit(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 4_000  # 1.6 gigapixels claimed in a few kB
    image, reason = decode_image(bomb, "L")
    assert image is None
    assert reason.startswith("claims 40,000 x 40,000 px = 1,600,000,000 pixels, above the limit of 89,478,485")
    with pytest.raises(UnreadableImage, match=r"bomb\.png: claims 40,000 x 40,000 px"):
        open_image(bomb)
    header = read_header(bomb, max_image_pixels=None)  # the header alone is harmless
    assert (header.width, header.height, header.mode, header.frames) == (40_000, 40_000, "L", 1)
    _, reason = decode_image(jpeg_claiming(tmp_path / "huge.jpg"), "RGB")
    assert reason.startswith("claims 65,000 x 65,000 px = 4,225,000,000 pixels")


def test_the_limit_is_per_call_and_pil_global_is_untouched(tmp_path):
    from PIL import Image as PILImage

    before = PILImage.MAX_IMAGE_PIXELS
    bomb = png_bomb(tmp_path / "b.png", side=9_500)  # 90 Mpx: above PIL's limit (its warning), below 2x (its error)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither PIL's DecompressionBombWarning nor any other escapes
        _, refused = decode_image(bomb, "L")
        image, reason = decode_image(bomb, "L", max_image_pixels=100_000_000)
    assert refused.startswith("claims 9,500 x 9,500 px = 90,250,000 pixels, above the limit of 89,478,485")
    assert reason is None and image.size == (9_500, 9_500)  # allowed by this call's limit, decoded
    assert PILImage.MAX_IMAGE_PIXELS == before
    big = tmp_path / "big.png"
    Image.new("L", (300, 200), 7).save(big)
    assert decode_image(big, "L", max_image_pixels=60_000)[0].size == (300, 200)  # exactly the limit: fine
    assert decode_image(big, "L", max_image_pixels=59_999)[1].startswith("claims 300 x 200 px = 60,000 pixels")


@pytest.mark.parametrize("workers", [0, 1])
def test_loader_workers_check_the_files_limit(tmp_path, workers):
    root = tree(tmp_path / "t", n_per_class=2)  # 48 x 40 px images
    files = load_dataset(root, max_image_pixels=1_919)  # one pixel short of 48 x 40
    assert files.max_image_pixels == 1_919 and files.subset(np.array([0, 3])).max_image_pixels == 1_919
    bad = [entry for batch in make_loader(files, 8, train=False, batch_size=4, workers=workers) for entry in batch.bad]
    assert len(bad) == 4 and all("claims 48 x 40 px = 1,920 pixels" in reason for _, reason in bad)
    allowed = files.with_max_image_pixels(1_920)
    assert sum(len(b.labels) for b in make_loader(allowed, 8, train=False, batch_size=4, workers=workers)) == 4
    with pytest.raises(DataError, match=r"0\.png: claims 48 x 40 px"):
        files[0]


def test_in_memory_read_refuses_or_skips_bad_files(tmp_path):
    root = tree(tmp_path / "t", n_per_class=3)
    png_bomb(root / "red" / "bomb.png")
    (root / "blue" / "cut.png").write_bytes((root / "blue" / "0.png").read_bytes()[:80])
    with pytest.raises(DataError, match=r"red/bomb\.png: claims 40,000 x 40,000 px .*skip_bad_images=True"):
        load_dataset(root, in_memory=True)  # the headers first: the bomb is refused before any decoding
    (root / "red" / "bomb.png").unlink()
    with pytest.raises(DataError, match=r"blue/cut\.png: cannot decode .*skip_bad_images=True"):
        load_dataset(root, in_memory=True)
    png_bomb(root / "red" / "bomb.png")
    data = load_dataset(root, in_memory=True, skip_bad_images=True)
    assert len(data) == 6 and np.bincount(data.labels).tolist() == [3, 3]
    assert [Path(p).name for p, _ in data.report.skipped_images] == ["cut.png", "bomb.png"]
    assert data.report.notes[-1].startswith("skipped 2 bad image(s): ")


def test_degenerate_images_are_noted_once_from_headers(tmp_path):
    root = tree(tmp_path / "t", n_per_class=3)
    frames = [Image.new("L", (32, 32), (37 * i) % 256) for i in range(40)]
    frames[0].save(root / "red" / "anim.gif", save_all=True, append_images=frames[1:])
    Image.new("RGB", (12_000, 2)).save(root / "red" / "sliver.png")
    Image.new("RGB", (1, 1)).save(root / "blue" / "dot.png")
    for in_memory in (False, True):
        report = load_dataset(root, in_memory=in_memory).report
        assert report.animated_images == ((str(root / "red" / "anim.gif"), 40),)
        assert report.extreme_aspect_images == ((str(root / "red" / "sliver.png"), 12_000, 2),)
        notes = [n for n in report.notes if n.startswith(("1 animated", "1 image(s) with an aspect"))]
        assert notes == ["1 animated image(s), only the first frame is used (anim.gif: 40 frames)",
                         "1 image(s) with an aspect ratio above 20:1 (sliver.png: 12000x2 px): a square crop keeps "
                         "only a small part of each"]  # fmt: skip
        # what depends on the training resolution is said where it is known (train, the search's proxy)
        assert report.resolution_notes(32) == (
            "2 image(s) smaller than 8 px on a side, a quarter of the training resolution 32 px (dot.png: 1x1 px, "
            "sliver.png: 12000x2 px): upsampled more than 4x",
        )
        assert report.resolution_notes(4) == () and report.resolution_notes(8)[0].startswith("1 image(s) smaller than 2 px")


def test_the_streamed_scan_words_a_sample_as_a_sample(tmp_path):
    root = tree(tmp_path / "t", n_per_class=140)  # 280 files, 256 headers read
    Image.new("RGB", (1, 1)).save(root / "blue" / "000_dot.png")
    report = load_dataset(root).report
    assert report.header_sizes.n_files == 281 and len(report.header_sizes.min_sides) == 256
    (note,) = report.resolution_notes(200)
    assert note.startswith(f"{report.header_sizes.small(200)} image(s) among 256 sampled of 281 files smaller than")


def test_links_that_loop_point_nowhere_or_leave_the_tree_are_not_followed(tmp_path):
    root = tree(tmp_path / "t", n_per_class=2)
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (40, 40)).save(outside / "x.png")
    os.symlink("loop.png", root / "red" / "loop.png")
    os.symlink(root / "red", root / "red" / "again")  # the folder itself: a loop
    os.symlink(outside, root / "red" / "elsewhere")
    os.symlink(tmp_path / "gone.png", root / "blue" / "gone.png")
    os.symlink(root / "blue" / "0.png", root / "red" / "inside.png")  # inside the tree: followed
    os.symlink(root / "blue", root / "red" / "blues")  # a folder inside the tree, no loop: followed
    for in_memory in (False, True):
        data = load_dataset(root, in_memory=in_memory)
        unfollowed = [os.path.relpath(p, root) for p in data.report.unfollowed_links]
        assert unfollowed == ["blue/gone.png", "red/again", "red/blues/gone.png", "red/elsewhere", "red/loop.png"]
        assert len(data) == 2 + 2 + 1 + 2  # blue's two, red's two, the inside link and the linked folder's two
        assert data.report.notes[0] == (f"did not follow 5 symbolic link(s) that loop, point nowhere or leave {root}: "
                                        "blue/gone.png, red/again, red/blues/gone.png, …")  # fmt: skip


def test_an_extreme_image_is_cut_to_20_to_1_before_the_evaluation_resize(tmp_path):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (10, 3000, 3), dtype=np.uint8))
    assert CentreAspect()(image).size == (200, 10)  # the centre 20:1 of 3000 x 10
    square = Image.new("RGB", (50, 40))
    assert CentreAspect()(square) is square
    from torchvision.transforms import v2

    direct = v2.Compose([v2.Resize(36, antialias=True), v2.CenterCrop(32), v2.PILToTensor()])(image)
    bounded = eval_transform(32)(image)  # never resizes the whole 3000 px side (10,800 x 36 px here)
    assert bounded.shape == direct.shape == (3, 32, 32)
    assert (bounded.int() - direct.int()).abs().max() <= 1  # the same pixels, up to rounding


def _small_files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    out = {}
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, fmt)
        out[fmt] = buffer.getvalue()
    return out


FILES = _small_files()


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(sorted(FILES)), edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                                            max_size=6), cut=st.integers(0, 10_000))
def test_corrupted_files_decode_or_give_a_reason(tmp_path_factory, fmt, edits, cut):
    data = bytearray(FILES[fmt])
    for position, value in edits:
        data[position % len(data)] = value
    path = tmp_path_factory.mktemp("fuzz") / f"x.{fmt.lower()}"
    path.write_bytes(bytes(data[: max(cut, 0)] if cut < len(data) else data))
    image, reason = decode_image(path, "RGB", max_image_pixels=10_000_000)
    assert (image is None) != (reason is None)
    assert image is None or (image.mode == "RGB" and image.size[0] * image.size[1] <= 10_000_000)
    assert reason is None or (reason and "\n" not in reason)
