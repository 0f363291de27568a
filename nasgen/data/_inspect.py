"""What a folder's layout and its files' headers say before anything is decoded: the ImageFolder walk (symbolic
links that loop or leave the tree are not followed) and the notes on degenerate images (issue 30).

Every check here reads directory entries or image headers only, never pixels: the streamed scan reads the headers
of a class-balanced sample (the same reads that decide grey or colour), the in-memory read those of every file.
A note that depends on the training resolution (images far smaller than it) is made by
:meth:`~nasgen.data.DataReport.resolution_notes` where that resolution is known (``train``, the search's proxy).
Torch-free.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "ASPECT_LIMIT",
    "SMALL_FACTOR",
    "HeaderSizes",
    "ImageTree",
    "animated_note",
    "aspect_note",
    "link_note",
    "small_note",
    "walk_tree",
]

#: Width / height (or height / width) above which an image is noted: a square crop keeps little of it.
ASPECT_LIMIT = 20
#: An image whose width or height is below the training resolution / this is noted (upsampled more than 4×).
SMALL_FACTOR = 4


@dataclass
class ImageTree:
    """The files of an ImageFolder tree, unsorted: ``per_class`` ``[(class name, [file path, …]), …]`` in sorted
    class order, the files beside the class folders (``loose``) and the symbolic links not followed."""

    per_class: list[tuple[str, list[str]]] = field(default_factory=list)
    loose: list[str] = field(default_factory=list)
    unfollowed: list[str] = field(default_factory=list)


def _unfollowable(link: str, root: str, chain: tuple[str, ...]) -> bool:
    """Whether the symbolic link ``link`` loops (onto a folder of the walk's current chain, or onto itself),
    points nowhere, or leaves ``root`` (a real path)."""
    try:
        target = os.path.realpath(link, strict=True)
    except (OSError, RuntimeError):  # ELOOP, or a dangling link
        return True
    if os.path.commonpath([root, target]) != root:
        return True
    return target in chain  # a folder above the link: following it would never end


def _walk(folder: str, root: str, chain: tuple[str, ...], skip_hidden: bool, tree: ImageTree) -> list[str]:
    chain = (*chain, os.path.realpath(folder))
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return []  # unreadable: nothing of it can be an image
    files: list[str] = []
    for entry in entries:
        if skip_hidden and entry.name.startswith("."):
            continue
        path = os.path.join(folder, entry.name)
        if entry.is_symlink() and _unfollowable(path, root, chain):
            tree.unfollowed.append(path)
        elif entry.is_dir():
            files += _walk(path, root, chain, skip_hidden, tree)
        elif entry.is_file():
            files.append(path)
    return files


def walk_tree(root: Path, *, skip_hidden: bool) -> ImageTree:
    """The class folders (sorted sub-folders of ``root``) and every file below each, following symbolic links
    that stay inside ``root`` and do not loop; the others are listed in ``unfollowed``, never read.

    Args:
        root: The tree's root folder.
        skip_hidden: Leave out files and folders whose name starts with a dot (the streamed scan does).
    """
    real_root = os.path.realpath(root)
    tree = ImageTree()
    for entry in sorted(os.scandir(root), key=lambda entry: entry.name):
        path = os.path.join(root, entry.name)
        hidden = entry.name.startswith(".")  # a hidden folder is never a class; a hidden file counts in memory only
        if hidden and skip_hidden:
            continue
        if entry.is_symlink() and _unfollowable(path, real_root, (real_root,)):
            tree.unfollowed.append(path)
        elif entry.is_dir():
            if not hidden:
                tree.per_class.append((entry.name, _walk(path, real_root, (real_root,), skip_hidden, tree)))
        elif entry.is_file():
            tree.loose.append(path)
    return tree


def _shown(names: list[str]) -> str:
    return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")


def _among(checked: int, total: int) -> str:
    """How many headers a count stands for: nothing when every file was read, else the sample."""
    return "" if checked >= total else f" among {checked} sampled of {total} files"


def link_note(unfollowed: list[str] | tuple[str, ...], root: Path) -> str:
    """The ``note:`` line for symbolic links left alone, or ``""``."""
    if not unfollowed:
        return ""
    names = [os.path.relpath(path, root) for path in unfollowed]
    return (f"did not follow {len(names)} symbolic link(s) that loop, point nowhere or leave {root}: "
            f"{_shown(names)}")  # fmt: skip


def animated_note(animated: tuple[tuple[str, int], ...], checked: int, total: int) -> str:
    """The ``note:`` line for animated or multi-page files (``(path, frames)``), or ``""``."""
    if not animated:
        return ""
    shown = _shown([f"{Path(path).name}: {frames:,} frames" for path, frames in animated])
    return f"{len(animated)} animated image(s){_among(checked, total)}, only the first frame is used ({shown})"


def aspect_note(extreme: tuple[tuple[str, int, int], ...], checked: int, total: int) -> str:
    """The ``note:`` line for images longer than :data:`ASPECT_LIMIT`:1 (``(path, width, height)``), or ``""``."""
    if not extreme:
        return ""
    shown = _shown([f"{Path(path).name}: {w}x{h} px" for path, w, h in extreme])
    return (f"{len(extreme)} image(s){_among(checked, total)} with an aspect ratio above {ASPECT_LIMIT}:1 ({shown}): "
            "a square crop keeps only a small part of each")  # fmt: skip


#: How many of the smallest images a :class:`HeaderSizes` keeps by name (what a note shows).
_SHOWN = 3


@dataclass(frozen=True, eq=False)
class HeaderSizes:
    """The sizes the headers read showed, kept compact (a fixed 4 bytes per header, whatever the image sizes:
    a streamed dataset stays paths and labels): the smaller side of each, and the names and sizes of the few
    smallest, which are the first a note on small images lists at any resolution.

    Attributes:
        min_sides: The smaller side (px) of every header read ``(n,)`` uint32.
        smallest: Paths of up to three images with the smallest sides, smallest first.
        smallest_wh: Their ``(width, height)`` in px, ``(k, 2)`` uint32.
        n_files: How many files the headers were read among (≥ n: a sample of a streamed dataset).
    """

    min_sides: np.ndarray
    smallest: tuple[str, ...]
    smallest_wh: np.ndarray
    n_files: int

    @classmethod
    def of(cls, sizes: list[tuple[str, int, int]], n_files: int) -> HeaderSizes:
        """From ``(path, width, height)`` of the headers read among ``n_files`` files."""
        sides = np.array([min(w, h) for _, w, h in sizes], dtype=np.uint32)
        order = np.argsort(sides, kind="stable")[:_SHOWN]
        shown = [sizes[i] for i in order]
        wh = np.array([(w, h) for _, w, h in shown], dtype=np.uint32).reshape(-1, 2)
        return cls(sides, tuple(path for path, _, _ in shown), wh, max(n_files, len(sizes)))

    def small(self, resolution_px: int) -> int:
        """How many of the headers read are narrower or lower than ``resolution_px`` / :data:`SMALL_FACTOR`."""
        return int((SMALL_FACTOR * self.min_sides.astype(np.int64) < resolution_px).sum())


def small_note(sizes: HeaderSizes | None, resolution_px: int) -> str:
    """The ``note:`` line for images smaller than a quarter of ``resolution_px`` on a side, or ``""``."""
    count = sizes.small(resolution_px) if sizes is not None else 0
    if not count:
        return ""
    shown = [f"{Path(path).name}: {w}x{h} px" for path, (w, h) in zip(sizes.smallest, sizes.smallest_wh.tolist())
             if SMALL_FACTOR * min(w, h) < resolution_px]  # fmt: skip
    names = ", ".join(shown) + (", …" if count > len(shown) else "")
    return (f"{count} image(s){_among(len(sizes.min_sides), sizes.n_files)} smaller than "
            f"{resolution_px / SMALL_FACTOR:g} px on a side, a quarter of the training resolution {resolution_px} px "
            f"({names}): upsampled more than {SMALL_FACTOR}x")  # fmt: skip
