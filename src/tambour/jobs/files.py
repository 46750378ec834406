"""The files the API keeps under `Settings.files_dir` (TAMBOUR_FILES_DIR): uploads to import
and the files export jobs write, each in a folder of its advertiser, folders and files
readable by their owner only. The server and the workers share the folder.

A job that wrote a file for download names it in its result as `OUTPUT_KEY` ("file"),
relative to files_dir and under its `exports` folder (`exports/12/contacts-...csv`);
`GET /api/v1/jobs/{id}/file` serves it from there, and nothing else: not a path that leads out
of the exports folder (an import's result names its input file by the same key, never served)."""

import os
import secrets
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Final

OUTPUT_KEY: Final = "file"  # a job's result member naming the file it wrote
PRIVATE_DIR: Final = 0o700
UPLOADS: Final = "uploads"
EXPORTS: Final = "exports"
# The file forms a download's content type is told by, by suffix.
MEDIA_TYPES: Final = {
    ".csv": "text/csv; charset=utf-8",
    ".jsonl": "application/x-ndjson",
    ".json": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain; charset=utf-8",
}


def root(files_dir: str | Path) -> Path:
    """files_dir as an absolute path (made owner-only when it does not exist)."""
    path = Path(files_dir).resolve()
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


def advertiser_folder(files_dir: str | Path, area: str, advertiser_id: int) -> Path:
    """`files_dir/area/advertiser_id`, made owner-only where missing."""
    folder = root(files_dir) / area / str(int(advertiser_id))
    for made in (folder.parent, folder):
        made.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    return folder


def new_name(stem: str, suffix: str, now: datetime) -> str:
    """A file name no one can guess nor has taken: `stem-20270323-100000-<random>.suffix`."""
    return f"{stem}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(6)}{suffix}"


def relative(files_dir: str | Path, path: Path) -> str:
    """`path` (under files_dir) as a job's result names it."""
    return PurePosixPath(path.resolve().relative_to(root(files_dir))).as_posix()


def job_file(files_dir: str | Path, named: object) -> Path | None:
    """The regular file a job's result names (`named`, relative to files_dir, in its exports
    folder); None for what is not a relative path inside that folder, nor a regular file there
    (a link leading out of it included)."""
    if not isinstance(named, str) or not named or "\x00" in named:
        return None
    given = PurePosixPath(named)
    if given.is_absolute() or ".." in given.parts or given.parts[:1] != (EXPORTS,):
        return None
    base = Path(files_dir).resolve() / EXPORTS
    path = (base.parent / given).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def create_owner_only(path: Path) -> int:
    """A new file's descriptor for writing, owner-only (never over another file)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
