"""One session per stack and per report directory: a second one refuses at once, naming the first.

Two CI jobs in one workspace, or a developer starting a second ``pytest -m chaos``, would otherwise
share a stack (the second's crash recovery reverts the first's fault), its load artifacts and its
ledger (the second deletes ``reports/load`` while the first's Locust writes there) and its report
files. Each session takes an exclusive ``flock`` on ``<home>/<stack>.session.lock`` and
``<report dir>/.session.lock`` before touching anything; the kernel releases the locks when the
process dies, however it dies, so a killed session never blocks the next one. A session that ends
removes its lock files (checking the inode after locking makes that safe against a concurrent open).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import IO

from alertdrill.errors import StackRunningError

__all__ = ["SessionLock"]


class SessionLock:
    """Exclusive, non-blocking locks on every resource of one session; a context manager."""

    def __init__(self, resources: dict[str, Path]) -> None:
        #: what -> lock file, e.g. {"stack 'pytest'": home / "pytest.session.lock"}
        self.resources = dict(resources)
        self._held: list[tuple[Path, IO[str]]] = []

    def acquire(self) -> SessionLock:
        """Take every lock, or release what was taken and raise StackRunningError naming the holder."""
        try:
            for what, path in self.resources.items():
                self._take(what, Path(path))
        except BaseException:
            self.release()
            raise
        return self

    def _take(self, what: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(path, "a+")  # noqa: SIM115 - held open for the whole session
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = _describe(handle.read())
                handle.close()
                raise StackRunningError(
                    f"another alertdrill session ({holder}) is using {what} ({path}); wait for it to finish, or "
                    "give this one its own --stack-name and --report-dir") from None
            if _same_file(handle, path):
                break
            handle.close()  # the previous holder removed the file between our open and our lock: retry
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started": time.time(), "cwd": os.getcwd(),
                                 "argv": sys.argv[:8]}))
        handle.flush()
        self._held.append((path, handle))

    def release(self) -> None:
        """Remove each lock file, then unlock it (a session that opened it meanwhile sees it is gone)."""
        for path, handle in self._held:
            with contextlib.suppress(OSError):
                if _same_file(handle, path):
                    path.unlink()
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        self._held.clear()

    def __enter__(self) -> SessionLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except OSError:
        return False


def _describe(text: str) -> str:
    try:
        data = json.loads(text)
        started = time.strftime("%H:%M:%S UTC", time.gmtime(float(data["started"])))
        command = " ".join(Path(data["argv"][0]).name.split() + list(data["argv"][1:]))
        return f"pid {data['pid']}, started {started}, `{command}` in {data['cwd']}"
    except (ValueError, KeyError, TypeError, IndexError):
        return "holder unknown"
