"""Memory and CPU of processes and of the whole machine, read from /proc (Linux only).

Peak RSS is sampled by a background thread (the spec asks for a period of at most 20 ms) and
cross-checked with the kernel's own high-water mark, ``VmHWM``. CPU comes from the
``utime``/``stime`` clock ticks of ``/proc/<pid>/stat`` and from ``/proc/stat`` for the whole
machine, so that CPU spent by anything else during a run (this machine is shared) is visible.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Self

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def process_cpu_s(pid: int, *, reaped_children: bool = False) -> float:
    """CPU seconds (user + system, all threads) of ``pid``; 0 if it is gone.

    With ``reaped_children``, also the CPU of its children that exited and were waited for
    (how PostgreSQL's short-lived backends show up: in the postmaster's ``cutime``/``cstime``).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            raw = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # The command name (field 2) may contain spaces and parentheses: split after its last ")".
    fields = raw[raw.rindex(b")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICKS_PER_S


def parent_pid(pid: int) -> int:
    """The parent of ``pid``."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        raw = stat.read()
    return int(raw[raw.rindex(b")") + 2 :].split()[1])


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` now; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_BYTES
    except (FileNotFoundError, ProcessLookupError):
        return 0


def peak_rss_bytes(pid: int) -> int:
    """The kernel's high-water mark of ``pid``'s RSS (``VmHWM``) since start or last reset."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def reset_peak_rss(pid: int) -> bool:
    """Reset ``VmHWM`` of ``pid`` to its current RSS (root or same user); False if refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class MachineCpu:
    """Cumulative CPU time of the whole machine (all cores), in seconds."""

    busy_s: float
    steal_s: float

    @classmethod
    def read(cls) -> MachineCpu:
        with open("/proc/stat", encoding="ascii") as stat:
            first = stat.readline().split()
        # cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is
        # already inside user, so it is not added again.
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
        busy = user + nice + system + irq + softirq + steal
        return cls(busy_s=busy / _TICKS_PER_S, steal_s=steal / _TICKS_PER_S)

    def __sub__(self, other: MachineCpu) -> MachineCpu:
        return MachineCpu(busy_s=self.busy_s - other.busy_s, steal_s=self.steal_s - other.steal_s)


def wait_for_quiet(max_cores: float, *, max_wait_s: float, window_s: float = 0.5) -> float:
    """Wait (at most ``max_wait_s``) until the machine used at most ``max_cores`` over a window.

    Called between runs, when our own processes are idle, so the busy CPU is someone else's:
    starting in a quiet moment makes a disturbed run less likely than retrying blindly.
    Returns the seconds waited.
    """
    if max_wait_s <= 0:
        return 0.0
    started_s = time.monotonic()
    while True:
        before = MachineCpu.read()
        time.sleep(window_s)
        busy_cores = (MachineCpu.read() - before).busy_s / window_s
        waited_s = time.monotonic() - started_s
        if busy_cores <= max_cores or waited_s >= max_wait_s:
            return waited_s


def own_cpu_s() -> float:
    """CPU of this process, all threads (the HTTP clients and the sampler)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_s() -> float:
    """CPU of this process's children that exited and were waited for (prober, psql)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_count() -> int:
    """Cores this machine has online."""
    return os.cpu_count() or 1


class BackendFinder:
    """Finds the PostgreSQL backends (on this machine) connected to one database, by title.

    PostgreSQL titles each backend ``postgres: <cluster>: <user> <database> <client> <state>``;
    the benchmark databases are its own, so whatever is connected to them is the benchmark's.
    Each process is looked at once (a backend never changes database), so a call costs a
    directory listing: cheap enough for the sampler to call every few samples.
    """

    def __init__(self, database: str) -> None:
        self._marker = f" {database} ".encode()
        self._seen: dict[int, bool] = {}

    def __call__(self) -> list[int]:
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            match = self._seen.get(pid)
            if match is None:
                match = self._classify(pid)
            if match:
                found.append(pid)
        return found

    def _classify(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                title = cmdline.read()
        except OSError:
            return False
        if title.startswith(b"postgres:"):
            self._seen[pid] = self._marker in title
        elif b"postgres" not in title:
            self._seen[pid] = False
        # else: a backend just forked, not titled yet; look again next time.
        return self._seen.get(pid, False)


class ProcessSampler:
    """Samples processes every ``period_s`` on a daemon thread: peak RSS and last-seen CPU.

    ``discover`` (called every ``discover_every`` samples) adds processes that appear while it
    runs, such as a connection pool's new backends or psql's backend. CPU is kept as last seen,
    so a process that exits during the run still counts up to its last sample.
    """

    def __init__(
        self,
        pids: Iterable[int] = (),
        *,
        discover: Callable[[], Iterable[int]] | None = None,
        discover_every: int = 5,
        period_s: float = 0.01,
    ) -> None:
        if not 0 < period_s <= 0.02:
            raise ValueError(f"period_s must be in (0, 0.02], got {period_s}")
        self.period_s = period_s
        self._discover = discover
        self._discover_every = discover_every
        self._peak_rss: dict[int, int] = {}
        self._first_cpu: dict[int, float] = {}
        self._last_cpu: dict[int, float] = {}
        self._samples = 0
        self._max_gap_s = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="process-sampler", daemon=True)
        self._explicit = set(pids)
        for pid in self._explicit:
            self._track(pid, baseline=True)
        if discover is not None:
            for pid in discover():
                self._track(pid, baseline=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(discover=True)  # one last look, after the work ended

    def peak_rss_bytes(self, pid: int) -> int:
        """The highest RSS sampled for ``pid``."""
        return self._peak_rss.get(pid, 0)

    def cpu_s(self, pids: Iterable[int]) -> float:
        """CPU seconds ``pids`` used while sampled (from the start, or since they appeared)."""
        return sum(self._last_cpu.get(p, 0.0) - self._first_cpu.get(p, 0.0) for p in pids)

    def discovered(self) -> list[int]:
        """Every process found by ``discover`` (at the start or later)."""
        return [p for p in self._peak_rss if p not in self._explicit]

    @property
    def samples(self) -> int:
        return self._samples

    @property
    def max_gap_s(self) -> float:
        """The longest time between two samples: the effective resolution of the peak."""
        return self._max_gap_s

    def _track(self, pid: int, *, baseline: bool) -> None:
        if pid in self._peak_rss:
            return
        self._peak_rss[pid] = rss_bytes(pid)
        # Known at the start: count from now. Appeared later: its whole life is in the run.
        self._first_cpu[pid] = process_cpu_s(pid) if baseline else 0.0
        self._last_cpu[pid] = process_cpu_s(pid)

    def _run(self) -> None:
        last_s = time.monotonic()
        while not self._stop.wait(self.period_s):
            self._sample(discover=self._samples % self._discover_every == 0)
            now_s = time.monotonic()
            self._max_gap_s = max(self._max_gap_s, now_s - last_s)
            last_s = now_s

    def _sample(self, *, discover: bool) -> None:
        with self._lock:
            if discover and self._discover is not None:
                for pid in self._discover():
                    self._track(pid, baseline=False)
            for pid in self._peak_rss:
                self._peak_rss[pid] = max(self._peak_rss[pid], rss_bytes(pid))
                cpu = process_cpu_s(pid)
                if cpu:  # 0: it has exited; keep what was last seen
                    self._last_cpu[pid] = cpu
            self._samples += 1
