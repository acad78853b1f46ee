"""Measuring helpers shared by the benchmarks (no dependencies, Linux /proc).

    from _measure import server_cpu_seconds, percentiles, rss_kib, CpuMeter

* ``server_cpu_seconds(pid)`` -- CPU time (user + system, all threads) a process has
  used so far, from ``/proc/<pid>/stat``. Resolution: one clock tick (1/100 s here), so
  measure intervals that use at least a second of CPU for a 1 % reading.
* ``CpuMeter(pid)`` -- the same as a before/after pair, with wall time.
* ``percentiles(samples, (50, 99))`` -- nearest-rank percentiles.
* ``rss_kib(pid)`` -- resident memory (or the peak, ``field='VmHWM'``), KiB.
* ``machine_busy_seconds()`` -- CPU seconds the whole machine has been busy (all
  cores, /proc/stat); minus the processes measured, what others took meanwhile. On a
  shared machine, rates and latencies move with that; CPU per unit of work much less.
"""

import math
import os
import time

CLOCK_TICKS = os.sysconf('SC_CLK_TCK')


def server_cpu_seconds(pid):
    """User + system CPU seconds used by process ``pid`` (all its threads) so far."""
    with open('/proc/%d/stat' % pid, 'rb') as f:
        stat = f.read()
    # The command name, field 2, is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rindex(b')') + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])    # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def machine_busy_seconds():
    """Busy (not idle, not iowait) CPU seconds of all cores since boot, /proc/stat."""
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def rss_kib(pid, field='VmRSS'):
    """A memory figure of ``/proc/<pid>/status`` in KiB: VmRSS (now) or VmHWM (peak)."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def percentiles(samples, ps=(50, 99)):
    """``{p: value}``, nearest-rank: the smallest sample with at least p % at or below it.

    >>> percentiles(range(1, 101))
    {50: 50, 99: 99}
    >>> percentiles([3.0], (0, 50, 100))
    {0: 3.0, 50: 3.0, 100: 3.0}
    """
    s = sorted(samples)
    if not s:
        raise ValueError('no samples')
    return {p: s[max(0, min(len(s), math.ceil(p / 100 * len(s))) - 1)] for p in ps}


class CpuMeter:
    """CPU and wall time of process ``pid`` between ``start()`` and ``stop()``.

    >>> m = CpuMeter(os.getpid()).start()
    >>> m.stop().cpu >= 0 and m.wall > 0
    True
    """

    def __init__(self, pid):
        self.pid = pid
        self.cpu = self.wall = None

    def start(self):
        self._cpu0, self._wall0 = server_cpu_seconds(self.pid), time.perf_counter()
        return self

    def stop(self):
        self.cpu = server_cpu_seconds(self.pid) - self._cpu0
        self.wall = time.perf_counter() - self._wall0
        return self

    def per(self, n):
        """CPU microseconds per unit of work, ``n`` units in the interval."""
        return self.cpu / n * 1e6 if n else float('nan')
