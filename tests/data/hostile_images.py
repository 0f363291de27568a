"""Hostile image data, built in the test (issue 30): each case is a small, learnable ImageFolder of two classes plus
one hostile item, written in milliseconds with a few kB at most on disk (the bomb PNG is 2.5 kB).

Shared by ``tests/cli/test_hostile_data.py`` (through ``nasgen train``) and ``benchmarks/fuzz_data.py`` (the same
cases in subprocesses, with their wall time, CPU time and peak memory).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


def png_bomb(path: Path, side: int = 40_000) -> Path:
    """A PNG whose header claims ``side`` × ``side`` 8-bit grey pixels (1.6 gigapixels at 40,000) in about 2.5 kB:
    a valid IHDR and the zlib stream of its first rows (zeros compress ~1000:1), written chunk by chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # width, height, 8 bits, grey, no interlace
    packer = zlib.compressobj(9)
    rows = b"".join(packer.compress(b"\0" * (side + 1)) for _ in range(64)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return path


def _jpeg_bytes(width: int = 64, height: int = 48) -> bytes:
    pixels = np.random.default_rng(1).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def jpeg_claiming(path: Path, side: int = 65_000) -> Path:
    """A real JPEG whose start-of-frame header is patched to claim ``side`` × ``side`` px."""
    data = bytearray(_jpeg_bytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = side.to_bytes(2, "big") + side.to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path


def tree(root: Path, n_per_class: int = 8, classes: tuple[str, ...] = ("blue", "red")) -> Path:
    """``root/<class>/<i>.png``: 48 × 40 px noise, bluish or reddish (learnable), ``n_per_class`` each."""
    rng = np.random.default_rng(0)
    for index, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            pixels = rng.integers(0, 96, size=(40, 48, 3), dtype=np.uint8)
            pixels[..., 2 if index == 0 else 0] += 150
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@dataclass(frozen=True)
class Case:
    """One hostile input: ``build(tmp) → the --data path``, the exit code ``nasgen train`` must give, and a text
    its one ``error:`` line (exit 2) or one of its ``note:`` lines (exit 0) must hold; ``args`` are extra options."""

    name: str
    build: Callable[[Path], Path]
    exit_code: int
    says: str
    args: tuple[str, ...] = field(default=())


def _with(item: Callable[[Path], object]) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        root = tree(tmp / "data")
        item(root / "red")
        return root
    return build


def _truncated_jpeg(folder: Path) -> None:
    data = _jpeg_bytes()
    (folder / "cut.jpg").write_bytes(data[: len(data) // 2])


def _animated_gif(folder: Path, frames: int = 1000) -> None:
    images = [Image.new("L", (32, 32), (37 * i) % 256) for i in range(frames)]  # consecutive frames differ
    images[0].save(folder / "anim.gif", save_all=True, append_images=images[1:])


def _symlink_loop(folder: Path) -> None:
    os.symlink("loop.png", folder / "loop.png")  # points at itself
    os.symlink(".", folder / "again")  # a folder link back onto its own folder


def _symlink_out(folder: Path) -> None:
    outside = folder.parents[1] / "outside"
    outside.mkdir(exist_ok=True)
    Image.new("RGB", (40, 40), (9, 9, 9)).save(outside / "x.png")
    os.symlink(outside, folder / "elsewhere")
    os.symlink(outside / "x.png", folder / "x.png")


def _bad_row(tmp: Path) -> Path:
    root = tree(tmp / "data")
    rows = [f"data/{c}/{i}.png,{c}" for c in ("blue", "red") for i in range(8)]
    rows.insert(2, "data/blue/9.png,blue,extra")
    (tmp / "list.csv").write_text("\n".join(rows) + "\n")
    del root
    return tmp / "list.csv"


def _one_per_class(tmp: Path) -> Path:
    return tree(tmp / "data", n_per_class=1)


CASES = (
    Case("truncated jpeg", _with(_truncated_jpeg), 2, "cut.jpg: cannot decode"),
    Case("zero-byte file", _with(lambda f: (f / "empty.png").write_bytes(b"")), 2,
         "empty.png: not an image file PIL can identify"),
    Case("text named .png", _with(lambda f: (f / "notes.png").write_text("not a picture\n")), 2,
         "notes.png: not an image file PIL can identify"),
    Case("jpeg claiming 65,000 px", _with(lambda f: jpeg_claiming(f / "huge.jpg")), 2,
         "huge.jpg: claims 65,000 x 65,000 px"),
    Case("bad row of a path,label list", _bad_row, 2, "list.csv: row 3 must be 'path,label'"),
    Case("one image per class", _one_per_class, 2, "the split left no validation images"),
    Case("png bomb", _with(lambda f: png_bomb(f / "bomb.png")), 2,
         "bomb.png: claims 40,000 x 40,000 px = 1,600,000,000 pixels, above the limit of 89,478,485"),
    Case("png bomb, skipped", _with(lambda f: png_bomb(f / "bomb.png")), 0, "skipped 1 bad image(s)",
         ("--skip-bad-images",)),
    Case("1,000-frame gif", _with(_animated_gif), 0,
         "1 animated image(s), only the first frame is used (anim.gif: 1,000 frames)"),
    Case("1 x 1 px image", _with(lambda f: Image.new("RGB", (1, 1), (200, 0, 0)).save(f / "dot.png")), 0,
         "1 image(s) smaller than 8 px on a side, a quarter of the training resolution 32 px (dot.png: 1x1 px)"),
    Case("12,000 x 2 px sliver", _with(lambda f: Image.new("RGB", (12_000, 2), (200, 0, 0)).save(f / "sliver.png")),
         0, "1 image(s) with an aspect ratio above 20:1 (sliver.png: 12000x2 px)"),
    Case("symlink loop", _with(_symlink_loop), 0,
         "did not follow 2 symbolic link(s) that loop, point nowhere or leave"),
    Case("symlink leaving the root", _with(_symlink_out), 0, "did not follow 2 symbolic link(s)"),
)
