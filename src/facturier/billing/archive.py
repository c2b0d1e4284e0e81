"""The archive storage (Django's default storage: the data directory or an S3 bucket): put a
file under exactly the name chosen, list what is stored.

Archived documents live under `invoices/<company id>/<number>.pdf|.xml`, signed checkpoints
under `checkpoints/<company id>/`. A name that an archive row holds is never written again;
the services decide that (billing/services/archive.py), this module only moves bytes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from django.core.files.storage import Storage, default_storage

ARCHIVE_PREFIX = "invoices"
CHECKPOINT_PREFIX = "checkpoints"


def archive_put(name: str, data: bytes, *, storage: Storage | None = None) -> str:
    """Store `data` under `name` exactly, and return `name`.

    The caller holds the document's lock and knows that no archive row names `name`: a file
    found there is what an attempt that never committed left (a render killed after writing).
    The same bytes are kept as they are; other bytes replace it, so the file under the
    expected name is always the archived one (never a stray original beside a suffixed copy).
    On the filesystem the bytes go to a temporary file that is then renamed into place, so a
    reader (or a crash) never meets half a file; on an object store an object appears whole
    when its upload completes.
    """
    storage = storage or default_storage
    if storage.exists(name):
        with storage.open(name, "rb") as f:
            if f.read() == data:
                return name
    try:
        path = Path(storage.path(name))
    except NotImplementedError:  # an object store (S3): no local path, no rename
        with storage.open(name, "wb") as f:
            f.write(data)
        return name
    _replace(path, data, mode=getattr(storage, "file_permissions_mode", None) or 0o644)
    return name


def _replace(path: Path, data: bytes, *, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # No fsync, as Django's storage: the rename keeps a killed process from leaving half
        # a file; durability across a power cut is the filesystem's (and the backups').
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def storage_walk(prefix: str, *, storage: Storage | None = None) -> Iterator[str]:
    """Every file name under `prefix` (numbers may contain "/": the walk goes down)."""
    storage = storage or default_storage
    try:
        folders, files = storage.listdir(prefix)
    except FileNotFoundError:  # nothing was ever written there
        return
    for name in sorted(files):
        yield f"{prefix}/{name}"
    for folder in sorted(folders):
        yield from storage_walk(f"{prefix}/{folder}", storage=storage)
