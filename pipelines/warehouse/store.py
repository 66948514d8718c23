"""Find every post-mortem file under the store, without ever hanging or crashing on it.

The store is usually a git checkout: symlinks, unreadable folders and loops happen. Every
post-mortem file (Markdown, text, HTML and Word exports: `convert.kind_of`) becomes a
`StoredFile`, every path that cannot be walked a `StoreProblem`, and every other file (images,
attachments) a skipped asset, so a run can account for each file it saw.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pipelines.postmortems.convert import kind_of
from pipelines.settings import STORE_CONFIG_NAME

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv"}


@dataclass(frozen=True)
class StoredFile:
    rel_path: str  # relative to the store, "/"-separated: the file's identity in the warehouse
    abs_path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class StoreProblem:
    rel_path: str
    kind: str
    message: str


def _store_machinery(name: str) -> bool:
    """The repository's own files (dotfiles, emberline.yaml, the template): neither
    post-mortems nor assets of one."""
    return name.startswith(".") or name == STORE_CONFIG_NAME or name.endswith(".template")


def discover(store: Path, assets: list[str] | None = None) -> tuple[list[StoredFile], list[StoreProblem]]:
    """All post-mortem files below `store`, following symlinks but never around a loop.
    Other files (images, attachments, the store's own config) are appended to `assets`."""
    files: list[StoredFile] = []
    problems: list[StoreProblem] = []
    store = Path(store)
    if not store.is_dir():
        raise FileNotFoundError(f"post-mortem store {store} does not exist or is not a folder")
    seen_dirs: set[tuple[int, int]] = set()

    def rel(path: str) -> str:
        return Path(os.path.relpath(path, store)).as_posix()

    def walk(directory: str) -> None:
        try:
            st = os.stat(directory)
        except OSError as err:
            problems.append(StoreProblem(rel(directory), "unreadable", f"folder cannot be read: {err.strerror}"))
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            problems.append(StoreProblem(rel(directory), "symlink_loop",
                                         "symlinked folder leads back to a folder already read; skipped"))
            return
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as err:
            problems.append(StoreProblem(rel(directory), "unreadable", f"folder cannot be listed: {err.strerror}"))
            return
        for entry in entries:
            if entry.name in SKIP_DIRS or (entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)):
                continue  # version control, CI config (.github) and other hidden folders hold no post-mortems
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError as err:
                if kind_of(entry.name) == "postmortem":
                    problems.append(StoreProblem(rel(entry.path), "symlink_loop" if err.errno == 40 else "unreadable",
                                                 f"cannot follow: {err.strerror}"))
                continue
            if is_dir:
                walk(entry.path)
                continue
            if kind_of(entry.name) != "postmortem" or entry.name.startswith("."):
                if assets is not None and not _store_machinery(entry.name):
                    assets.append(rel(entry.path))
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError as err:
                kind = "symlink_loop" if err.errno == 40 else "broken_symlink" if entry.is_symlink() else "unreadable"
                problems.append(StoreProblem(rel(entry.path), kind, f"cannot read file: {err.strerror}"))
                continue
            if not stat.S_ISREG(st.st_mode):
                problems.append(StoreProblem(rel(entry.path), "not_a_file", "not a regular file; skipped"))
                continue
            files.append(StoredFile(rel(entry.path), Path(entry.path), st.st_size, st.st_mtime_ns))

    walk(str(store))
    return files, problems
