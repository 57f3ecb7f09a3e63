"""The sweep's progress bar: points done (of all, finished earlier included), failed, and ETA."""

from __future__ import annotations

import shutil
import sys


class Progress:
    """A tqdm bar on stderr; off when stderr is not a terminal unless asked for."""

    def __init__(self, name: str, total: int, done_before: int, enabled: bool | None = None, file=None):
        from tqdm import tqdm

        file = file or sys.stderr
        if enabled is None:
            enabled = hasattr(file, "isatty") and file.isatty()
        self.failed = 0
        width = shutil.get_terminal_size((0, 0)).columns
        self._bar = tqdm(total=total, initial=done_before, desc=name, unit="pt", file=file, disable=not enabled,
                         dynamic_ncols=width > 0, ncols=None if width > 0 else 100, smoothing=0.1, postfix={"failed": 0},
                         bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} done"
                                    " [{elapsed}<{remaining}, {rate_fmt}{postfix}]")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._bar.close()
        return False

    def advance(self, ok: bool) -> None:
        if not ok:
            self.failed += 1
            self._bar.set_postfix({"failed": self.failed}, refresh=False)
        self._bar.update(1)
