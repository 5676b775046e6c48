"""Memory of a process tree (a prefork worker and its pool children), for the benchmarks that print it.

RSS counts pages shared by forked children once per process; PSS splits them between the
processes sharing them, which is what a container's memory limit actually sees for a prefork
worker. Both are summed over the process and all its descendants, in MB; :class:`Sampler` keeps
the peak of the two while a workload runs.
"""

from __future__ import annotations

import threading

import psutil


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process and its children, in MB (PSS is RSS where the kernel has none)."""
    root = psutil.Process(pid)
    rss = pss = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            info = proc.memory_full_info()
        except psutil.NoSuchProcess:  # a child that exited between listing and reading
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss / 2**20, pss / 2**20


class Sampler:
    """Peak RSS/PSS of a process tree, sampled every half second in the background."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, (0.0, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss, pss = tree_memory_mb(self.pid)
                self.peak = (max(self.peak[0], rss), max(self.peak[1], pss))
            except psutil.Error:
                pass
            self._stop.wait(0.5)

    def stop(self) -> tuple[float, float]:
        self._stop.set()
        self._thread.join(2)
        return self.peak
