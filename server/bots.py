"""House bots: the bots a lonely player asked for, run in a child process the server keeps.

Bots are client code, and their Monte Carlo equity would compete with every
player's latency if they ran on the server's loop. So they run in one child
process (``python -m client.bots.house``), which the server starts on first
need and starts again if it dies. The server tells it, one JSON line per
table on its stdin, which players to play as (their session tokens: the
server created those players, journaled, so the same bots come back to their
seats after a restart); the bots talk to the server over loopback like any
client. Closing the child's stdin (a graceful stop) makes every bot leave its
table, and their chips go back to their bankrolls; when the server dies the
pipe closes too, so the child never outlives it.
"""

from __future__ import annotations

import logging
import os
import sys

import gevent
import gevent.event
import orjson
from gevent import subprocess

log = logging.getLogger("server.bots")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESTART_AFTER = (0.5, 30.0)     # first and longest pause before a dead child is started again


class HouseBots:
    """The child process and every order it was given (sent again after a restart, for
    the tables still open)."""

    def __init__(self, url: str, think: float, alive=lambda table_id: True):
        self.url, self.think = url, think
        self.alive = alive               # is the table still there (a restart skips closed ones)
        self.orders: dict[str, bytes] = {}   # table id -> its order line
        self.process = None
        self.stopping = False
        self.started = 0                 # how many times a child was started (for tests)
        self.running = gevent.event.Event()
        self.supervisor = None

    def seat(self, table_id: str, tokens: list[str]) -> None:
        """Bots playing as the players holding ``tokens`` sit at ``table_id``."""
        line = orjson.dumps({"table": table_id, "tokens": tokens, "think": self.think}) + b"\n"
        self.orders[table_id] = line
        if self.supervisor is None:
            self.supervisor = gevent.spawn(self._supervise)
        elif self.process is not None and self.process.poll() is None:
            self._write(line)

    def _write(self, data: bytes) -> None:
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (OSError, ValueError) as e:     # the child died: the supervisor restarts it
            log.warning("house bots: could not write to the child: %s", e)

    def _supervise(self) -> None:
        pause = RESTART_AFTER[0]
        while not self.stopping:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "client.bots.house", "--url", self.url],
                stdin=subprocess.PIPE, cwd=ROOT)
            self.started += 1
            for table_id in [t for t in self.orders if not self.alive(t)]:
                del self.orders[table_id]        # closed since: no bot goes back there
            log.info("house bots: child %d started (%d table(s))", self.process.pid,
                     len(self.orders))
            self._write(b"".join(self.orders.values()))
            self.running.set()
            code = self.process.wait()
            self.running.clear()
            if self.stopping:
                return
            log.error("house bots: child exited with %s; starting it again in %.1f s", code, pause)
            gevent.sleep(pause)
            pause = min(pause * 2, RESTART_AFTER[1])

    def stop(self, timeout: float = 5.0) -> None:
        """The bots leave their tables (their chips go home) and the child exits."""
        self.stopping = True
        process = self.process
        if process is None:
            return
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("house bots: child %d did not leave in %.1f s: killed", process.pid,
                        timeout)
            process.kill()
            process.wait()
