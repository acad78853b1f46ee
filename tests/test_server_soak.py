"""Slow readers and many idle sockets while bots play: nothing starves.

Runs ``bench/soak.py`` (a real server, and the load in its own gevent process) with a
shorter window and generous bounds, and asserts every verdict of its report: 2,000
idle sockets connected, every bot seated and every act answered (no seat timed out, no
bot closed), each of the 50 clients that never read dropped with 4000 once its queue
overflowed, the server's memory bounded while they hung on, a clean stop. The round
trip bound is 2 s, not the 50 ms target (the benchmark reports that figure): on a
shared 2-core machine other processes and CPython's full collections (over 200,000
objects with 2,000 sockets open) stall the loop for tens to hundreds of milliseconds,
which a test must not flake on; a starving client waits seconds.

Only 127.0.0.1; the soak bounds every wait (``--settle``) and the run by a timeout.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDLE = 2000
SPARE_FILES = 1000      # the lazy, the bots, the server's own files


def idle_sockets() -> int:
    """2,000, or what the open-file hard limit leaves room for (the soak raises the
    soft limit itself; each idle socket is a file in the soak and one in the server)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        return IDLE
    return max(0, min(IDLE, hard - SPARE_FILES))


def test_idle_sockets_and_clients_that_never_read_starve_no_player(tmp_path):
    idle = idle_sockets()
    assert idle >= 500, f"the open-file hard limit leaves room for {idle} idle sockets only"
    report_path = tmp_path / "soak.json"
    run = subprocess.run(
        [sys.executable, os.path.join(REPO, "bench", "soak.py"), "--idle", str(idle),
         "--lazy", "50", "--bots", "24", "--think", "0.1", "--warmup", "1",
         "--duration", "6", "--p99-ms", "2000", "--answer-within", "10", "--settle", "60",
         "--json", str(report_path), "--",
         "--send-queue-bytes", "32768"],     # the lazy overflow within seconds
        cwd=REPO, capture_output=True, text=True, timeout=240)
    assert report_path.exists(), run.stderr[-3000:]
    report = json.loads(report_path.read_text())
    failed = [name for name, ok in report["verdicts"].items() if not ok]
    assert not failed, json.dumps({"failed": failed, **report}, indent=1)
    assert run.returncode == 0
    assert report["idle"]["sockets"] == idle
    assert report["lazy"]["dropped_4000"] == 50
