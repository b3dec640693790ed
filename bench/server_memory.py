"""Peak private memory of the local PostgreSQL server while a phase runs.

The retier evaluates inside PostgreSQL, so the Python process's RSS says little
about what a large tenant costs.  This samples, every 100 ms, the sum of
``RssAnon`` (private, non-shared resident memory: sorts, hash tables, window
buffers) over every ``postgres`` process on this machine: the backend, its
parallel workers and the server's own processes.  Shared buffers are shared
memory and are not counted; temporary files on disk are not memory either.

Only meaningful when the server runs on this machine and nothing else uses it.
"""
from __future__ import annotations

import os
import threading


def _postgres_private_kib() -> int:
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as comm:
                if comm.read().strip() != "postgres":
                    continue
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("RssAnon:"):
                        total += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # the process ended between listing and reading
    return total


class ServerMemory:
    """``with ServerMemory() as peak: ...`` then ``peak.mib``: the highest sum seen meanwhile."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, _postgres_private_kib())
            self._stop.wait(self.interval)

    def __enter__(self) -> "ServerMemory":
        self.peak_kib = _postgres_private_kib()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, _postgres_private_kib())

    @property
    def mib(self) -> float:
        return self.peak_kib / 1024
