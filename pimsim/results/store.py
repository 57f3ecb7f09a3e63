"""The result store of a sweep: one HDF5 file, kept safe by a journal while the sweep runs.

Finished points are first written to the journal, ``RESULTS.h5.journal/<n>.json``
(atomically: temporary file, fsync, rename; one file per batch of points). Every few seconds, and when the sweep
ends or is interrupted, the journal is merged into ``RESULTS.h5`` by writing a
whole new file and renaming it over the old one; only then are the merged journal
entries removed. So whenever the process dies — killed, out of disk, power cut —
every point reported finished is in the file or in the journal, never half in
either, and the next run (or :func:`load`) picks both up. When a sweep closes
cleanly the journal is gone and only the HDF5 file remains.

One writer at a time: the journal directory is locked (``flock``) while a sweep
writes; the kernel drops the lock when the process dies.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import glob
import json
import os
import time
from pathlib import Path

from pimsim.core.errors import ResultsError
from pimsim.core.io import atomic_write_text
from pimsim.results.h5file import Header, read_results, read_status, write_results
from pimsim.results.record import PointRecord

HEADER_FILE = "header.json"


def journal_dir(path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".journal")


def load(path) -> tuple[Header, dict[str, PointRecord]]:
    """Everything a results file holds, with the points still in its journal (read-only, no lock)."""
    path = Path(path)
    jdir = journal_dir(path)
    if not path.exists() and not (jdir / HEADER_FILE).exists():
        raise ResultsError("file not found", str(path))
    # the journal first: a checkpoint between the two reads then leaves points in both, never in neither
    journal = _read_journal(jdir)[0]
    header, records = read_results(path) if path.exists() else (_read_journal_header(jdir), {})
    records.update(journal)
    return header, records


def _read_journal_header(jdir: Path) -> Header:
    where = str(jdir / HEADER_FILE)
    try:
        header = Header(**json.loads((jdir / HEADER_FILE).read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise ResultsError(f"unreadable journal header ({exc.__class__.__name__})", where) from None
    texts = (header.name, header.kind, header.pimsim_version)
    if not (all(isinstance(t, str) for t in texts) and isinstance(header.sweep, dict)
            and isinstance(header.units, dict) and all(isinstance(u, str) for u in header.units.values())):
        raise ResultsError("journal header has fields of the wrong type", where)
    return header


def _read_journal(jdir: Path) -> tuple[dict[str, PointRecord], list[Path]]:
    """Journal entries, oldest file first (a later entry for a key wins), and the files read.

    pimsim writes journal files whole (renamed into place), so a damaged one was
    not written by it: it is skipped, its points count as not run.
    """
    out: dict[str, PointRecord] = {}
    parts = sorted(p for p in jdir.glob("*.json") if p.name != HEADER_FILE) if jdir.is_dir() else []
    for part in parts:
        try:
            entries = json.loads(part.read_text())
            records = [PointRecord.from_mapping(e, str(part)) for e in entries]
        except (OSError, ValueError, TypeError, ResultsError):
            continue
        out.update((r.key, r) for r in records)
    return out, parts


class ResultStore:
    """The open, locked store of one sweep; use :func:`open_store`.

    ``status`` maps every stored point's key to its (status, error); the records
    not yet merged into the HDF5 file are held in ``pending``.
    """

    def __init__(self, path: Path, header: Header, status: dict[str, tuple[str, str]],
                 pending: dict[str, PointRecord], parts: list[Path], lock_fd: int, checkpoint_every_s: float):
        self.path = path
        self.header = header
        self.status = status
        self.pending = pending
        self._parts = list(parts)
        self._lock_fd = lock_fd
        self._every_s = checkpoint_every_s
        self._last_write_s = 0.0
        self._next_at = time.monotonic() + checkpoint_every_s

    @property
    def journal(self) -> Path:
        return journal_dir(self.path)

    def done(self, key: str) -> bool:
        return self.status.get(key, ("", ""))[0] == "ok"

    def add(self, records: list[PointRecord]) -> None:
        """Keep ``records``: once this returns, they survive any crash."""
        part = self.journal / f"{time.time_ns():020d}-{os.getpid()}.json"
        atomic_write_text(part, "[" + ",\n".join(r.to_json() for r in records) + "]\n")
        self._parts.append(part)
        for rec in records:
            self.status[rec.key] = (rec.status, rec.error)
            self.pending[rec.key] = rec
        if time.monotonic() >= self._next_at:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Merge the journal into the HDF5 file (new file image, renamed over the old one)."""
        start = time.monotonic()
        if self.pending or not self.path.exists():
            write_results(self.path, self.header, self.pending.values())
        for part in self._parts:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part)
        self.pending, self._parts = {}, []
        self._last_write_s = time.monotonic() - start
        # never spend more than a fifth of the time rewriting the file
        self._next_at = time.monotonic() + max(self._every_s, 4 * self._last_write_s)

    def close(self) -> None:
        """Checkpoint, remove the empty journal and release the lock."""
        try:
            self.checkpoint()
            for leftover in (self.journal / HEADER_FILE,):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)
            with contextlib.suppress(OSError):
                self.journal.rmdir()
        finally:
            os.close(self._lock_fd)


@contextlib.contextmanager
def open_store(path, header: Header, checkpoint_every_s: float = 10.0):
    """Open (or create) the store at ``path`` for ``header``'s sweep, holding its lock until closed.

    Points already in the file or its journal are kept; a file of another kind of
    sweep, or one that cannot be read, is an error and is left untouched. On
    leaving the block the journal is merged, even after an error or interrupt.
    """
    path = Path(path)
    store = _open(path, header, checkpoint_every_s)
    try:
        yield store
    except BaseException:
        with contextlib.suppress(ResultsError, OSError):
            store.close()
        raise
    store.close()


def _open(path: Path, header: Header, checkpoint_every_s: float) -> ResultStore:
    if path.is_dir():
        raise ResultsError("is a directory; give a file name such as results/sweep.h5", str(path))
    lock_fd = _lock(journal_dir(path))
    try:
        _remove_stale_temporaries(path)
        old_header, status = None, {}
        if path.exists():
            old_header, status = read_status(path)
        elif (journal_dir(path) / HEADER_FILE).exists():
            old_header = _read_journal_header(journal_dir(path))
        pending, parts = _read_journal(journal_dir(path))
        status.update({k: (r.status, r.error) for k, r in pending.items()})
        if old_header is not None and old_header.kind != header.kind:
            raise ResultsError(f"holds a '{old_header.kind}' sweep, not '{header.kind}': choose another output "
                               "file", str(path))
        if old_header is not None:
            header = dataclasses.replace(header, units={**old_header.units, **header.units})
        atomic_write_text(journal_dir(path) / HEADER_FILE, json.dumps(dataclasses.asdict(header), default=str))
    except BaseException:
        with contextlib.suppress(OSError):
            journal_dir(path).rmdir()          # only if empty: a journal with points stays
        os.close(lock_fd)
        raise
    return ResultStore(path, header, status, pending, parts, lock_fd, checkpoint_every_s)


def _lock(jdir: Path) -> int:
    """Create and lock the journal directory; another live sweep on the same file is an error."""
    try:
        jdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(jdir, os.O_RDONLY)
    except OSError as exc:
        raise ResultsError(f"cannot create the journal: {exc.strerror or exc}", str(jdir)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise ResultsError("another sweep is writing this results file; wait for it or choose another -o",
                           str(jdir.with_name(jdir.name[:-len(".journal")]))) from None
    return fd


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files of a writer that died (we hold the lock, so no live writer owns them)."""
    patterns = (str(path.parent / f".{glob.escape(path.name)}.*.tmp"), str(journal_dir(path) / ".*.tmp"))
    for pattern in patterns:
        for tmp in glob.glob(pattern):
            with contextlib.suppress(OSError):
                os.unlink(tmp)
