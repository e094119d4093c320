"""Replace a file so that a crash at any instant leaves the old version or the new one, never a torn one.

One helper for every file steprunner or a project rewrites whole (motia-workbench.json, the pet
service's pets.json): temp file in the same folder, fsync, rename over, fsync the folder.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def temp_files(path: Path) -> list[Path]:
    """The temp files `replace_durably` writes for `path` (debris, when no writer holds the file's lock)."""
    return list(path.parent.glob(f".{path.name}.*.tmp"))


def _mode(path: Path) -> int | None:
    """The permission bits of `path`, kept by the new version; None for a new file (0o644 less the umask)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def replace_durably(path: Path, data: bytes) -> int:
    """Write `data` as the new `path` and return an open descriptor of it (the caller closes it).

    A caller that trusts a copy in memory may keep the descriptor while it does: an open file's
    inode can't be reused, so an equal inode later means the same file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        mode = _mode(path)
        if mode is not None:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.replace(tmp, path)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return fd
