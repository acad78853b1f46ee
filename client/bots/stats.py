"""What a crowd of bots counts while it plays, and the report it ends with.

One :class:`Stats` is shared by every bot of a process (greenlets: no locks).

>>> percentile([5, 1, 4, 2, 3], 50), percentile([5, 1, 4, 2, 3], 100), percentile([], 99)
(3, 5, None)
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field


def percentile(values, pct: float):
    """The nearest-rank percentile of ``values`` (``None`` when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Stats:
    """Counters of a bot run.

    ``latencies`` are action round trips in seconds: from sending an ``act``
    with a rid to receiving the ``event`` that records the action (or the
    ``error`` echoing the rid).  ``resumes`` counts how a reconnect with a
    token and the last ``v`` was answered: ``replay`` (the missed events) or
    ``resync`` (a full ``table``).  ``probes`` holds, per bad input, what the
    chaos bots expected and what the server did.
    """

    started: float = field(default_factory=time.monotonic)
    actions: int = 0
    received: int = 0         # messages the bots received (all kinds)
    hands: set = field(default_factory=set)
    latencies: list = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    closes: Counter = field(default_factory=Counter)
    resumes: Counter = field(default_factory=Counter)
    probes: dict = field(default_factory=dict)
    error_samples: dict = field(default_factory=dict)   # code -> a few messages
    decisions: Counter = field(default_factory=Counter)  # turns answered, by strategy
    reconnects: int = 0
    seat_retries: int = 0     # a free seat taken by someone else first: looked again
    connect_failures: int = 0
    gaps: int = 0
    overtaken: int = 0        # acts refused because the turn had already ended (see Bot._error)
    paused: int = 0           # messages refused because play was paused (acts go again on resume)
    timeouts: int = 0
    connected: int = 0
    seated: int = 0
    max_latency_samples: int = 1_000_000

    def restart(self) -> None:
        """Start the measured window now: rates, latencies and hands count from here."""
        self.started = time.monotonic()
        self.actions = 0
        self.received = 0
        self.latencies = []
        self.hands = set()
        self.decisions = Counter()

    def latency(self, seconds: float) -> None:
        self.actions += 1
        if len(self.latencies) < self.max_latency_samples:
            self.latencies.append(seconds)

    def error(self, code: str, message: str = "") -> None:
        """An error the server sent a bot (or a client-side one, like ``no_free_seat``)."""
        self.errors[code] += 1
        samples = self.error_samples.setdefault(code, [])
        if len(samples) < 3 and message not in samples:
            samples.append(message)

    def probe(self, name: str, expected, got) -> None:
        """Record what the server answered to the bad input ``name``."""
        entry = self.probes.setdefault(name, {"expected": sorted(expected), "got": Counter()})
        entry["got"][str(got)] += 1

    def error_count(self) -> int:
        return sum(self.errors.values())

    def report(self, bots: int = 0) -> dict:
        """The figures of the run so far, as plain JSON-able data."""
        elapsed = max(1e-9, time.monotonic() - self.started)
        ms = [s * 1000 for s in self.latencies]
        return {
            "duration_s": round(elapsed, 2),
            "bots": bots,
            "connected": self.connected,
            "seated": self.seated,
            "hands": len(self.hands),
            "hands_per_s": round(len(self.hands) / elapsed, 2),
            "actions": self.actions,
            "actions_per_s": round(self.actions / elapsed, 1),
            "messages_per_action": round(self.received / self.actions, 1) if self.actions else None,
            "latency_ms": {
                "n": len(ms),
                **{f"p{p}": _round(percentile(ms, p)) for p in (50, 95, 99)},
                "max": _round(max(ms, default=None)),
            },
            "decisions": dict(self.decisions),
            "errors": dict(self.errors),
            "error_samples": {k: list(v) for k, v in self.error_samples.items()},
            "closes": {str(k): v for k, v in self.closes.items()},
            "reconnects": self.reconnects,
            "connect_failures": self.connect_failures,
            "seat_retries": self.seat_retries,
            "resumes": dict(self.resumes),
            "gaps": self.gaps,
            "overtaken": self.overtaken,
            "paused": self.paused,
            "timeouts": self.timeouts,
            "probes": {
                name: {"expected": e["expected"], "got": dict(e["got"]),
                       "ok": all(g in e["expected"] for g in e["got"])}
                for name, e in sorted(self.probes.items())
            },
        }

    def progress(self, bots: int) -> str:
        """One status line: hands, actions/s, errors, connected bots."""
        elapsed = max(1e-9, time.monotonic() - self.started)
        return (f"{elapsed:6.1f}s  hands {len(self.hands):6d}  actions/s {self.actions / elapsed:7.1f}"
                f"  errors {self.error_count():5d}  connected {self.connected}/{bots}"
                f"  reconnects {self.reconnects}")


def _round(value):
    return None if value is None else round(value, 2)


def format_report(report: dict) -> str:
    """The report as a few readable lines."""
    lat = report["latency_ms"]
    lines = [
        f"bots {report['bots']} (connected {report['connected']}, seated {report['seated']})"
        f" for {report['duration_s']} s",
        f"hands {report['hands']} ({report['hands_per_s']}/s), actions {report['actions']}"
        f" ({report['actions_per_s']}/s)",
        f"turns answered by strategy: {report['decisions'] or 'none'}",
        f"action round trip ms: p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}"
        f"  max {lat['max']}  (n={lat['n']})",
        f"errors by code: {report['errors'] or 'none'}",
        *(f"  {code}: {' | '.join(m)}" for code, m in report["error_samples"].items()),
        f"closes by code: {report['closes'] or 'none'}",
        f"reconnects {report['reconnects']} (resumes {report['resumes'] or 'none'}),"
        f" gaps {report['gaps']}, overtaken acts {report['overtaken']}, refused while paused {report['paused']}, clock timeouts {report['timeouts']},"
        f" failed connects {report['connect_failures']}",
    ]
    for name, probe in report["probes"].items():
        mark = "ok  " if probe["ok"] else "MISS"
        lines.append(f"  {mark} {name}: expected {'/'.join(probe['expected'])}, got {probe['got']}")
    return "\n".join(lines)
