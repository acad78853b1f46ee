"""Faults at the socket layer of the real server (docs/server.md, "Faults and limits"):
ping floods, slow handshakes, too many connections, unmasked frames, foreign Host
headers, the access log. Raw sockets where a normal client would not misbehave; every
flood and every wait is bounded in count and time; everything on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

import pytest

from test_server_helpers import connect, metrics, start_server, wait_for
from test_wsfix import CLOSE, PING, PONG, Client as RawClient, frame

GENEROUS = 1.0   # seconds: a round trip on a loaded 2-core machine, far above the usual ms


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_server(str(tmp_path_factory.mktemp("sockets")))
    yield s
    assert s.stop() == 0, s.log()
    assert "Traceback" not in s.log(), s.log()


def round_trip(c) -> float:
    started = time.monotonic()
    assert c.request({"type": "ping"}, timeout=10)["type"] == "pong"
    return time.monotonic() - started


class Flood:
    """A raw client sending ping frames as fast as the socket takes them, from a thread,
    for at most ``seconds`` and ``limit`` pings (or until the server closes it); then
    one ping with the payload ``b"last"``."""

    CHUNK = 1000

    def __init__(self, port: int, seconds: float, limit: int = 10_000_000, rcvbuf=None):
        self.client = RawClient(port, "/ws", rcvbuf=rcvbuf)
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(seconds, limit), daemon=True)
        self.thread.start()

    def _run(self, seconds: float, limit: int) -> None:
        chunk = b"".join(frame(PING, b"flood") for _ in range(self.CHUNK))
        deadline = time.monotonic() + seconds
        try:
            while not self.stop.is_set() and time.monotonic() < deadline and self.sent < limit:
                self.client.sock.sendall(chunk)
                self.sent += self.CHUNK
            self.client.sock.sendall(frame(PING, b"last"))
            self.sent += 1
        except OSError:
            return

    def join(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()

    def frames(self, until, timeout: float = 10.0):
        """Read server frames until ``until(opcode, payload)``; returns them all."""
        got = []
        deadline = time.monotonic() + timeout
        self.client.sock.settimeout(1.0)
        while time.monotonic() < deadline:
            try:
                _, opcode, payload = self.client.recv_frame()
            except (socket.timeout, TimeoutError):
                continue
            got.append((opcode, payload))
            if until(opcode, payload):
                return got
        raise AssertionError(f"no expected frame within {timeout}s; last: {got[-3:]}")


def test_a_ping_flood_is_closed_with_1008_and_stops_nobody(server):
    """Pings count in the socket's rate limit: past --flood frames in a second, 1008."""
    steady = connect(server, "steady")
    flood = Flood(server.port, seconds=3.0)
    try:
        times = [round_trip(steady) for _ in range(5)]
        newcomer = connect(server, "newcomer")   # a new connection still gets in
        times.append(round_trip(newcomer))
        got = flood.frames(lambda op, _: op == CLOSE)
    finally:
        flood.join()
    assert max(times) < GENEROUS, times
    assert struct.unpack("!H", got[-1][1][:2])[0] == 1008
    assert len(got) - 1 <= 101     # a pong per ping at most, and no more pings read
    steady.close()
    newcomer.close()


def test_pings_under_the_flood_limit_never_stop_the_loop(tmp_path):
    """With the flood rule out of the way (--flood 10**9), a client pinging flat out
    for two seconds and never reading its pongs: the others' round trips stay quick, a
    newcomer gets in, and the flooder's pongs do not pile up (one waits at most, so it
    is not closed with 4000 for not reading them; tests/test_server_units.py shows the
    one that waits answers the latest ping)."""
    s = start_server(str(tmp_path), "--flood", str(10**9), "--socket-sndbuf", "16384")
    try:
        steady = connect(s, "steady")
        flood = Flood(s.port, seconds=2.0, rcvbuf=4096)
        times = []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and len(times) < 40:
            times.append(round_trip(steady))
            time.sleep(0.05)     # within the rate limit (20 a second)
        newcomer = connect(s, "newcomer")
        times.append(round_trip(newcomer))
        flood.join()
        assert max(times) < GENEROUS, sorted(times)[-5:]
        assert len(times) > 5
        m = metrics(s)
        assert m["poker_send_queue_drops_total"] == 0
        assert m["poker_connections"] == 3      # the flooder is still there
        assert flood.sent > 10_000
        steady.close()
        newcomer.close()
    finally:
        assert s.stop() == 0, s.log()
        flood.client.close()
    assert "Traceback" not in s.log(), s.log()
