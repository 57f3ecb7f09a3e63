"""Writing files so that a reader never sees half of one.

Every output pimsim writes goes through :func:`atomic_write_bytes`: the data is
written to a temporary file in the target's directory, flushed to disk, and
renamed over the target in one step. If anything fails (disk full, permission
denied, interrupt), the previous file is left untouched and the temporary file
is removed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pimsim.core.errors import ResultsError


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; new files get 0666 minus the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path, data: bytes) -> Path:
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ResultsError(f"cannot write: {exc.strerror}", str(path)) from None
    try:
        os.chmod(tmp, _mode_for(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ResultsError(f"cannot write: {exc.strerror or exc}", str(path)) from None
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())
