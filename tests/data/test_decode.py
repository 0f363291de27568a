"""Each bad-data case of the streaming pipeline: handled (with the pixel values it must give) or reported by path."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nasgen.data._decode import decode_image, image_mode_of
from nasgen.data._files import open_image_files, read_file_list, scan_image_folder
from nasgen.data._stream import BadImages, make_loader
from nasgen.errors import DataError


def _pixels(path, mode):
    image, reason = decode_image(path, mode)
    assert reason is None
    return np.asarray(image)


def test_exif_rotation_is_applied(tmp_path):
    # 40 wide × 20 high, left half black, right half white; EXIF orientation 6 = "rotate 90° clockwise to view"
    pixels = np.zeros((20, 40), dtype=np.uint8)
    pixels[:, 20:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(tmp_path / "r.jpg", exif=exif.tobytes(), quality=95)
    upright = _pixels(tmp_path / "r.jpg", "L")
    assert upright.shape == (40, 20)  # viewed: 20 wide × 40 high
    # rotated clockwise, the white right half becomes the bottom half
    assert upright[:15].mean() < 20 and upright[25:].mean() > 235


def test_cmyk_jpeg_decodes_to_rgb(tmp_path):
    Image.new("CMYK", (16, 12), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)  # pure red in CMYK
    assert image_mode_of(tmp_path / "c.jpg") == "RGB"
    rgb = _pixels(tmp_path / "c.jpg", "RGB").reshape(-1, 3).mean(axis=0)
    assert rgb[0] > 230 and rgb[1] < 25 and rgb[2] < 25



def test_jpeg_draft_decodes_at_reduced_scale_keeping_the_target(tmp_path):
    Image.new("CMYK", (400, 300), (0, 255, 255, 0)).save(tmp_path / "big.jpg", quality=95)
    image, reason = decode_image(tmp_path / "big.jpg", "RGB", draft_px=100)
    # 1/2 scale keeps the shorter side (150) ≥ 100; 1/4 would not
    assert reason is None and image.size == (200, 150)
    assert np.asarray(image).reshape(-1, 3).mean(axis=0).round().tolist() == [255, 0, 0]


def test_16_bit_grey_is_scaled_not_clipped(tmp_path):
    ramp = np.array([[0, 257 * 64, 257 * 128, 65535]], dtype=np.uint16).repeat(4, axis=0)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    assert image_mode_of(tmp_path / "g16.png") == "L"
    assert _pixels(tmp_path / "g16.png", "L")[0].tolist() == [0, 64, 128, 255]


@pytest.mark.parametrize("grey", [True, False])
def test_palette_images_expand(tmp_path, grey):
    image = Image.new("P", (8, 8))
    palette = [v for i in range(256) for v in ((i, i, i) if grey else (i, 0, 255 - i))]
    image.putpalette(palette)
    image.paste(200, (0, 0, 8, 8))
    image.save(tmp_path / "p.png")
    assert image_mode_of(tmp_path / "p.png") == ("L" if grey else "RGB")
    expected = [200, 200, 200] if grey else [200, 0, 55]
    assert _pixels(tmp_path / "p.png", "RGB")[0, 0].tolist() == expected


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red …
    rgba[:, :2, 3] = 255  # … opaque on the left, fully transparent on the right
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    rgb = _pixels(tmp_path / "a.png", "RGB")
    assert rgb[0, 0].tolist() == [255, 0, 0] and rgb[0, 3].tolist() == [255, 255, 255]
    la = np.zeros((4, 4, 2), dtype=np.uint8)  # black grey+alpha, transparent
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert _pixels(tmp_path / "la.png", "L").tolist() == [[255] * 4] * 4


def test_palette_transparency_is_composited(tmp_path):
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 0, 0, 0] + [0] * 762)
    image.info["transparency"] = 1
    image.save(tmp_path / "t.png", transparency=1)
    assert _pixels(tmp_path / "t.png", "L").tolist() == [[255] * 4] * 4


def test_corrupt_and_non_image_files_give_reasons(tmp_path):
    (tmp_path / "text.jpg").write_text("hello")
    image, reason = decode_image(tmp_path / "text.jpg", "RGB")
    assert image is None and "not an image" in reason
    Image.new("RGB", (64, 64), (9, 9, 9)).save(tmp_path / "full.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:60])
    image, reason = decode_image(tmp_path / "cut.png", "RGB")
    assert image is None and reason.startswith("cannot decode")


def _tree(root, n=4):
    for name, colour in (("a", (250, 0, 0)), ("b", (0, 0, 250))):
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (30 + 7 * i, 20 + 5 * i), colour).save(root / name / f"{i}.png")
    return root


def test_loader_fails_with_the_bad_path_or_skips_it(tmp_path):
    root = _tree(tmp_path / "t")
    (root / "b" / "9.jpg").write_text("junk")
    files = scan_image_folder(root)
    assert len(files) == 9 and files.mode == "RGB"
    batches = list(make_loader(files, 16, train=False, batch_size=4, workers=0))
    assert sum(len(b.labels) for b in batches) == 8
    bad = [entry for b in batches for entry in b.bad]
    assert bad == [(str(root / "b" / "9.jpg"), "not an image file PIL can identify")]
    with pytest.raises(DataError, match=r"b/9\.jpg: not an image"):
        BadImages(skip=False).check(bad)
    skipping = BadImages(skip=True)
    skipping.check(bad)
    assert skipping.skipped == {str(root / "b" / "9.jpg"): "not an image file PIL can identify"}
    assert skipping.summary().startswith("skipped 1 bad image(s): ")


def test_folder_scan_ignores_stray_and_hidden_files_and_empty_classes(tmp_path):
    root = _tree(tmp_path / "t")
    (root / "a" / "README.md").write_text("notes")
    (root / "a" / ".hidden.png").write_bytes(b"")
    (root / ".git").mkdir()
    (root / "empty").mkdir()
    with pytest.raises(DataError, match="empty: class folder holds no images"):  # refused, as in memory (issue 19)
        scan_image_folder(root)
    files = scan_image_folder(root, skip_empty_classes=True)
    assert files.classes == ["a", "b"] and len(files) == 8 and files.labels.tolist() == [0] * 4 + [1] * 4
    assert files.report.skipped_classes == ("empty",) and files.report.ignored_files == (str(root / "a" / "README.md"),)
    assert files.report.notes[:2] == ("skipped 1 empty class folder(s): empty",
                                      "ignored 1 file(s) that are not images: README.md")


def test_grey_folder_is_one_channel(tmp_path):
    for name in ("x", "y"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("L", (12 + i, 10), 40 * i).save(tmp_path / name / f"{i}.jpg")
    files = scan_image_folder(tmp_path)
    assert files.mode == "L" and files.in_channels == 1
    batch = next(iter(make_loader(files, 8, train=True, batch_size=6, workers=0)))
    assert tuple(batch.images.shape) == (6, 1, 8, 8)


def test_csv_list(tmp_path):
    root = _tree(tmp_path / "t")
    lines = ["path,label"] + [f"t/{c}/{i}.png,{c}" for c in "ab" for i in range(4)]
    (tmp_path / "list.csv").write_text("\n".join(lines) + "\n")
    files = open_image_files(tmp_path / "list.csv")
    assert files.classes == ["a", "b"] and files.labels.tolist() == [0] * 4 + [1] * 4
    assert files.path(5) == str((root / "b" / "1.png").resolve())
    assert files.paths.dtype.kind == "S"  # one bytes array, no Python object per file
    (tmp_path / "bad.csv").write_text("t/a/0.png\n")
    with pytest.raises(DataError, match=r"bad\.csv: row 1 must be 'path,label'"):
        read_file_list(tmp_path / "bad.csv")


def test_eval_transform_resizes_shorter_side_and_centre_crops(tmp_path):
    # 200 wide × 100 high: left 50 px black, middle white, right 50 px black
    pixels = np.zeros((100, 200), dtype=np.uint8)
    pixels[:, 50:150] = 255
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.fromarray(pixels).save(tmp_path / name / "0.png")
    files = scan_image_folder(tmp_path)
    batch = next(iter(make_loader(files, 28, train=False, batch_size=2, workers=0)))
    # shorter side → floor(28 / 0.875) = 32 px (image 64 × 32); centre 28 × 28 lies within the white middle
    assert tuple(batch.images.shape) == (2, 1, 28, 28)
    assert int(batch.images.min()) >= 250
