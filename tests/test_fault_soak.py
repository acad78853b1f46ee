"""Faults in turn while bots play (issue "faults that break the promise", docs/server.md).

A real server with images and a journal plays bot tables (``python -m client.bots``,
a second process) while this test, a third, injects the faults one after the other:
a ping flood, a request sent a byte at a time, a client that never reads, and a disk
that fails every write for a while (injected at ``os.write`` in the server, images and
journal alike). After each one the table goes on. At the end, and again after a
``kill -9`` and a restart: the chips add up to what was issued, every table is there,
and the bots saw no error that was not theirs to see (a ``paused`` refusal is the
documented answer while the disk fails: the bots send the same act again on
``resumed``). Every wait is on a condition, bounded in time.
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import time

from test_server_helpers import (PYTHON, REPO, connect, get_json, metrics, start_server,
                                 stop_bots, wait_for)
from test_server_sockets import Flood, round_trip
from test_wsfix import CLOSE

# os.write fails with ENOSPC for every file in the snapshot folder while GATE/disk exists.
FULL_DISK = '''
import errno, os
_write, _gate, _snaps = os.write, {gate!r}, {snaps!r}
def _write_or_full(fd, data):
    if os.path.exists(_gate + "/disk"):
        try:
            path = os.readlink("/proc/self/fd/%d" % fd)
        except OSError:
            path = ""
        if path.startswith(_snaps):
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
    return _write(fd, data)
os.write = _write_or_full
'''

FLAGS = ("--journal", "everysec", "--snapshot-every", "1", "--no-default-tables",
         "--turn-seconds", "10", "--hand-pause", "0.05", "--handshake-timeout", "1",
         "--send-queue-bytes", "32768", "--socket-sndbuf", "16384")


def hands(server) -> dict[str, int]:
    return {t["id"]: t["hands"] for t in get_json(server.url + "/api/tables")["tables"]}


def play_goes_on(server, more: int = 2) -> None:
    """Every table deals ``more`` hands after this point."""
    before = hands(server)
    wait_for(lambda: all(hands(server).get(t, 0) >= n + more for t, n in before.items()),
             60, f"{more} more hands at every table")


def chips_add_up(server) -> None:
    m = metrics(server)
    assert m["poker_chips_total"] == m["poker_chips_issued"], m


def test_bots_play_through_every_fault_and_a_kill_9(tmp_path):
    gate, snaps = tmp_path / "gate", str(tmp_path / "snaps")
    gate.mkdir()
    server = start_server(str(tmp_path), "--snapshot-dir", snaps, *FLAGS,
                          prelude=FULL_DISK.format(gate=str(gate), snaps=snaps))
    report = tmp_path / "bots.json"
    bots = subprocess.Popen(
        [PYTHON, "-m", "client.bots", "--url", f"ws://127.0.0.1:{server.port}/ws",
         "--bots", "12", "--tables", "2", "--duration", "300", "--think", "0.02", "--quiet",
         "--seed", "5", "--json", str(report)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: len(hands(server)) == 2 and min(hands(server).values()) >= 3, 60,
                 "the bots' two tables dealing")
        steady = connect(server, "steady")

        # 1. A ping flood: closed with 1008, and the tables play on.
        flood = Flood(server.port, seconds=3.0)
        try:
            got = flood.frames(lambda op, _: op == CLOSE)
        finally:
            flood.join()
        assert struct.unpack("!H", got[-1][1][:2])[0] == 1008
        play_goes_on(server)

        # 2. A request sent a byte at a time: cut off at the handshake's deadline.
        slow = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        slow.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        cut = False
        for byte in b"X-Padding: " + b"x" * 100:        # 20 s at this pace, cut at 1 s
            try:
                slow.sendall(bytes([byte]))
                slow.settimeout(0.2)
                if not slow.recv(4096):
                    cut = True
                    break
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                cut = True
                break
        slow.close()
        assert cut, "the slow request was never cut off"
        play_goes_on(server)

        # 3. A client that asks for full views and never reads: dropped once its queue
        # holds --send-queue-bytes, and nobody else waits for it.
        drops = metrics(server)["poker_send_queue_drops_total"]
        lazy = connect(server, "lazy", sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
        tables = list(hands(server))
        for i in range(400):    # at most 20 s at this pace (the socket's rate: 20 a second)
            if metrics(server)["poker_send_queue_drops_total"] > drops:
                break
            try:
                lazy.send({"type": "watch", "table": tables[i % len(tables)]})
            except OSError:
                break           # shut by the server: its close frame could not reach us
            time.sleep(0.05)
        wait_for(lambda: metrics(server)["poker_send_queue_drops_total"] > drops, 30,
                 "the client that never reads dropped")
        play_goes_on(server)

        # 4. The disk fails every write: play pauses (nothing changes, everyone is told),
        # reads still work; once it writes again an image heals the journal and play resumes.
        (gate / "disk").touch()
        wait_for(lambda: metrics(server)["poker_paused"] == 1, 30, "play paused")
        assert round_trip(steady) < 5.0
        assert get_json(server.url + "/api/tables")["tables"]
        chips_add_up(server)
        (gate / "disk").unlink()
        wait_for(lambda: metrics(server)["poker_paused"] == 0, 30, "play resumed")
        play_goes_on(server)
        chips_add_up(server)
        steady.close()
    finally:
        err = stop_bots(bots, timeout=60)    # the bots leave their seats and report
    assert report.exists(), err.decode(errors="replace")[-2000:]
    got = json.loads(report.read_text())
    assert got["errors"] == {}, got["error_samples"]
    assert got["timeouts"] == 0 and got["gaps"] == 0
    assert got["hands"] > 10
    chips_add_up(server)
    tables = set(hands(server))

    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    again = start_server(str(tmp_path), "--snapshot-dir", snaps, *FLAGS)
    try:
        assert set(hands(again)) == tables
        chips_add_up(again)
        assert get_json(again.url + "/healthz")["ok"] is True
    finally:
        assert again.stop() == 0, again.log()
    assert "Traceback" not in server.log() + again.log()
