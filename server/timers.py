"""When time next decides something at each table: a heap the clock greenlet sleeps on.

The table flow says, for every table it touched, when that table is next due
(``Effects.wake``, from :func:`server.play.due`); :func:`schedule` keeps one
live entry per table, and the clock greenlet (``server.app.run_clock``) asks
:func:`due_now` which tables to tick. Idle tables cost nothing. An entry that
came due early (the deadline moved on) ticks its table for nothing and is
replaced.

>>> t = Timers()
>>> schedule(t, "t1", 5.0); schedule(t, "t2", 3.0); schedule(t, "t1", 4.0)
>>> due_now(t, 3.5), due_now(t, 10.0), next_at(t)
(['t2'], ['t1'], None)
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Timers:
    heap: list[tuple[float, str]] = field(default_factory=list)   # (time, table id)
    at: dict[str, float] = field(default_factory=dict)            # each table's live entry
    # When the clock greenlet will next look, and what wakes it sooner.
    looks_at: float = float("inf")
    alarm: Callable[[], None] | None = None


def schedule(timers: Timers, table_id: str, at: float | None) -> None:
    """``table_id`` is next due at ``at`` (None: nothing to wait for)."""
    live = timers.at.get(table_id)
    if at is None:
        if live is not None:
            del timers.at[table_id]     # its heap entry is now stale
        return
    if live is not None and live <= at:
        return                          # the earlier entry ticks it, then it is asked again
    timers.at[table_id] = at
    heapq.heappush(timers.heap, (at, table_id))
    if at < timers.looks_at and timers.alarm is not None:
        timers.alarm()                  # the clock sleeps past it: wake it sooner


def due_now(timers: Timers, now: float) -> list[str]:
    """The tables whose time has come (their entries are taken off)."""
    heap, out = timers.heap, []
    while heap and heap[0][0] <= now:
        at, table_id = heapq.heappop(heap)
        if timers.at.get(table_id) == at:
            del timers.at[table_id]
            out.append(table_id)
    return out


def next_at(timers: Timers) -> float | None:
    """The earliest live entry's time, if any (stale entries are dropped on the way)."""
    heap = timers.heap
    while heap and timers.at.get(heap[0][1]) != heap[0][0]:
        heapq.heappop(heap)
    return heap[0][0] if heap else None
