"""The strongest durability promise, tested at the socket: with ``--journal always``
nobody hears of a change (not the player who made it, not anyone watching) before its
journal line is fsynced, and what a socket is sent keeps its order behind it.

The server is the real one; the fault is injected at its call: a prelude wraps
``os.fsync`` so that, while a hold file exists, an fsync of a journal segment waits
(in the journal's thread) and says so. The test waits on those files, not on time,
except for the one thing it must show: that nothing arrives while the fsync is held.
"""

from __future__ import annotations

import os

import pytest
import websocket

from test_server_helpers import connect, start_server

HOLD_FSYNC = '''
import os, time
_fsync, _sleep, _gate = os.fsync, time.sleep, {gate!r}
def _held_fsync(fd):
    try:
        name = os.path.basename(os.readlink("/proc/self/fd/%d" % fd))
    except OSError:
        name = ""
    while name.startswith("journal-") and os.path.exists(_gate + "/hold"):
        open(_gate + "/blocked", "w").close()
        _sleep(0.005)
    return _fsync(fd)
os.fsync = _held_fsync
'''
QUIET = 0.5     # how long the test listens for a message that must not come


def wait_for_file(path, what):
    import time
    deadline = time.monotonic() + 10
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.005)


def nothing_arrives(*clients):
    for c in clients:
        try:
            got = c.recv(QUIET / len(clients))
        except websocket.WebSocketTimeoutException:
            continue
        raise AssertionError(f"{c.name} heard {got} before the journal line was on disk")


@pytest.fixture
def gated(tmp_path):
    gate = tmp_path / "gate"
    gate.mkdir()
    server = start_server(str(tmp_path), "--snapshot-dir", str(tmp_path / "snaps"),
                          "--journal", "always", "--no-default-tables",
                          prelude=HOLD_FSYNC.format(gate=str(gate)))
    yield server, gate, tmp_path / "snaps"
    (gate / "hold").unlink(missing_ok=True)
    server.stop()


def journal_text(folder) -> str:
    return "".join(p.read_text() for p in sorted(folder.glob("journal-*.jsonl")))


def test_no_reply_or_event_leaves_before_its_journal_line_is_fsynced(gated):
    from test_server_helpers import create_table
    server, gate, snaps = gated
    table = create_table(server, seats=6, name="gated")
    ann = connect(server, "ann")
    rail = connect(server, "rail")
    rail.request({"type": "watch", "table": table}, "table")
    ann.request({"type": "watch", "table": table}, "table")

    (gate / "hold").touch()
    (gate / "blocked").unlink(missing_ok=True)
    ann.send({"type": "sit", "table": table, "seat": 2, "buy_in": 100, "rid": "sit"})
    ann.send({"type": "ping", "rid": "ping"})           # journals nothing, waits its turn
    wait_for_file(gate / "blocked", "blocked in the journal's fsync")
    assert '"sit_down"' in journal_text(snaps)          # written, not yet on disk
    nothing_arrives(ann, rail)

    (gate / "hold").unlink()
    seated = rail.expect_event("seated", seat=2)
    assert seated["player"] == ann.player
    got = [ann.recv(5)]
    while got[-1].get("rid") != "ping":
        got.append(ann.recv(5))
    kinds = [m["type"] if "rid" not in m else m["rid"] for m in got]
    assert kinds.index("sit") < kinds.index("ping")     # in order, behind the fsync
    assert "event" in kinds[:kinds.index("sit")]        # the seated event came first


def test_an_http_reply_waits_for_the_journal_too(gated):
    import threading

    from test_server_helpers import post_json
    server, gate, snaps = gated
    (gate / "hold").touch()
    (gate / "blocked").unlink(missing_ok=True)
    answer = {}
    thread = threading.Thread(target=lambda: answer.update(result=post_json(
        server.url + "/api/tables", {"name": "slow", "seats": 2, "small_blind": 1,
                                     "big_blind": 2})), daemon=True)
    thread.start()
    wait_for_file(gate / "blocked", "blocked in the journal's fsync")
    thread.join(QUIET)
    assert thread.is_alive() and not answer, "POST /api/tables answered before the fsync"
    assert '"k":"table"' in journal_text(snaps)
    (gate / "hold").unlink()
    thread.join(10)
    status, body = answer["result"]
    assert status == 201 and body["name"] == "slow"


FAIL_ONE_FSYNC = '''
import os
_fsync, _gate = os.fsync, {gate!r}
def _failing_fsync(fd):
    try:
        name = os.path.basename(os.readlink("/proc/self/fd/%d" % fd))
    except OSError:
        name = ""
    if name.startswith("journal-") and os.path.exists(_gate + "/fail"):
        os.unlink(_gate + "/fail")
        raise OSError(5, "Input/output error (injected)")
    return _fsync(fd)
os.fsync = _failing_fsync
'''


def test_a_failed_journal_fsync_pauses_play_until_an_image_heals_it(tmp_path):
    """The journal's fsync fails once (injected at the call): nothing is acknowledged and
    play pauses (everyone is told); the pause's retry writes an image (it holds the change
    the journal could not make durable), the journal re-opens with it, the reply leaves,
    and play resumes. A kill -9 right after loses nothing that was acknowledged."""
    from test_server_helpers import create_table, metrics
    gate = tmp_path / "gate"
    gate.mkdir()
    snaps = str(tmp_path / "snaps")
    flags = ("--snapshot-dir", snaps, "--journal", "always", "--no-default-tables",
             "--snapshot-every", "1000")
    server = start_server(str(tmp_path), *flags, prelude=FAIL_ONE_FSYNC.format(gate=str(gate)))
    try:
        table = create_table(server, seats=6, name="disk")
        ann = connect(server, "ann")
        ann.request({"type": "watch", "table": table}, "table")
        written = metrics(server)["poker_snapshot_written_total"]
        (gate / "fail").touch()
        reply = ann.request({"type": "sit", "table": table, "seat": 3, "buy_in": 100}, "table",
                            timeout=60)   # the bound of a wait: an image is written first
        assert reply["you"] == 3 and not (gate / "fail").exists()
        kinds = [m["type"] for m in ann.seen]
        assert "paused" in kinds and kinds.index("paused") < len(kinds) - 1
        if "resumed" not in kinds:
            ann.expect_type("resumed", timeout=60)
        m = metrics(server)
        assert m["poker_journal_failures_total"] == 1 and m["poker_journal_failed"] == 0
        assert m["poker_journal_held_callbacks"] == 0 and m["poker_paused"] == 0
        assert m["poker_snapshot_written_total"] >= written + 1      # the healing image
        assert "journal: re-opened at segment" in server.log()
    finally:
        server.proc.kill()
        server.proc.wait(10)
    again = start_server(str(tmp_path), *flags)
    try:
        ann2 = connect(again, token=ann.token)
        view = ann2.request({"type": "watch", "table": table}, "table")["view"]
        assert view["seats"][3]["player"] == ann.player
    finally:
        again.stop()
