"""Faults of the durable state at a real server (issue "faults that break the promise"):
a journal segment or the folder's lock replaced under the server, a write that fails
in the middle of a ``sit`` with ``--journal everysec`` and a ``kill -9`` while play is
paused, a folder that turns read-only. Play pauses (``/healthz`` says why, with 503),
reads go on, and it resumes once an image is durable; no chip is ever made or lost."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import urllib.error
import urllib.request

from test_fault_soak import FULL_DISK
from test_server_helpers import (Server, chips, connect, create_table, get_json, sit,
                                 start_server, wait_for)

FLAGS = ("--journal", "everysec", "--snapshot-every", "3600", "--no-default-tables")

# os.open fails with EROFS for every file in the snapshot folder while GATE/readonly exists.
READ_ONLY = '''
import errno, os
_open, _gate, _snaps = os.open, {gate!r}, {snaps!r}
def _open_or_read_only(path, flags, *args, **kw):
    if (os.path.exists(_gate + "/readonly") and str(path).startswith(_snaps)
            and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
        raise OSError(errno.EROFS, "Read-only file system (injected)")
    return _open(path, flags, *args, **kw)
os.open = _open_or_read_only
'''


def health(server: Server) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def paused(server: Server) -> dict | None:
    status, body = health(server)
    if status == 503 and body["paused"]:
        return body
    return None


def playing(server: Server) -> bool:
    status, body = health(server)
    return status == 200 and body["paused"] is None


def newest_segment(folder: str) -> str:
    return max(os.path.join(folder, n) for n in os.listdir(folder) if n.startswith("journal-"))


def chips_add_up(server: Server) -> None:
    total, issued = chips(server)
    assert total == issued, (total, issued)


def test_a_segment_replaced_under_the_server_pauses_play_until_an_image_heals_it(tmp_path):
    snaps = str(tmp_path / "snaps")
    server = start_server(str(tmp_path), "--snapshot-dir", snaps, *FLAGS)
    try:
        table = create_table(server, seats=2)
        ann, bob = connect(server, "ann"), connect(server, "bob")
        sit(ann, table, 0)
        segment = newest_segment(snaps)
        os.rename(segment, segment + ".old")               # replaced: a copy of it takes
        with open(segment + ".old", "rb") as old, open(segment, "wb") as new:   # its name
            new.write(old.read())
        sit(bob, table, 1)                                 # written to the old file only
        body = wait_for(lambda: paused(server), 20, "play paused")
        assert "replaced under the server" in body["paused"], body
        assert bob.request({"type": "sit_out", "table": table})["code"] == "paused"
        assert get_json(server.url + "/api/tables")["tables"][0]["seats_taken"] == 2
        wait_for(lambda: playing(server), 20, "play resumed once an image was written")
        chips_add_up(server)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        server = start_server(str(tmp_path), "--snapshot-dir", snaps, *FLAGS)
        assert get_json(server.url + "/api/tables")["tables"][0]["seats_taken"] == 2
        chips_add_up(server)
    finally:
        server.stop()


def test_a_folder_lock_replaced_under_the_server_pauses_play_while_another_holds_it(tmp_path):
    snaps = str(tmp_path / "snaps")
    server = start_server(str(tmp_path), "--snapshot-dir", snaps, *FLAGS)
    lock = os.path.join(snaps, ".lock")
    try:
        table = create_table(server, seats=2)
        ann = connect(server, "ann")
        os.unlink(lock)
        other = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)   # a second server, say
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        sit(ann, table, 0)                       # the next fsync finds the lock not its own
        body = wait_for(lambda: paused(server), 20, "play paused")
        assert "folder lock" in body["paused"], body
        wait_for(lambda: "another process holds" in ((paused(server) or {}).get("image_error")
                                                    or ""),
                 20, "an image refused while another holds the lock")
        os.close(other)                          # it let go: the server locks it again
        wait_for(lambda: playing(server), 20, "play resumed")
        with open(lock) as f:                    # and holds the new lock itself
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                raise AssertionError("the server does not hold the folder's lock")
            except BlockingIOError:
                pass
        chips_add_up(server)
    finally:
        server.stop()


def test_a_write_failing_during_a_sit_pauses_and_a_kill_9_while_paused_makes_no_chips(tmp_path):
    """The issue's case: ``--journal everysec`` and the disk fails as ``sit`` is journaled."""
    gate, snaps = tmp_path / "gate", str(tmp_path / "snaps")
    gate.mkdir()
    prelude = FULL_DISK.format(gate=str(gate), snaps=snaps)
    server = start_server(str(tmp_path), "--snapshot-dir", snaps, *FLAGS, prelude=prelude)
    try:
        table = create_table(server, seats=2)
        ann = connect(server, "ann")
        token, before = ann.token, ann.bankroll
        (gate / "disk").touch()
        reply = ann.request({"type": "sit", "table": table, "seat": 0, "buy_in": 100})
        body = wait_for(lambda: paused(server), 20, "play paused")
        assert "No space left on device" in body["paused"], body
        chips_add_up(server)                     # the sit is whole in the root, or not there
        if reply["type"] == "table":
            assert connect(server, token=token).bankroll == before - 100
        server.proc.send_signal(signal.SIGKILL)  # while paused, the disk still full
        server.proc.wait(10)
        (gate / "disk").unlink()
        server = start_server(str(tmp_path), "--snapshot-dir", snaps, *FLAGS, prelude=prelude)
        chips_add_up(server)
        seated = get_json(server.url + "/api/tables")["tables"][0]["seats_taken"]
        back = connect(server, token=token).bankroll
        assert (seated, back) in ((0, before), (1, before - 100)), (seated, back)
        assert playing(server)
    finally:
        server.stop()


def test_a_folder_turned_read_only_pauses_play_until_it_is_writable(tmp_path):
    gate, snaps = tmp_path / "gate", str(tmp_path / "snaps")
    gate.mkdir()
    server = start_server(str(tmp_path), "--snapshot-dir", snaps, "--journal", "everysec",
                          "--snapshot-every", "1", "--no-default-tables",
                          prelude=READ_ONLY.format(gate=str(gate), snaps=snaps))
    try:
        table = create_table(server, seats=2)
        ann = connect(server, "ann")
        (gate / "readonly").touch()              # the next image cannot start its segment
        body = wait_for(lambda: paused(server), 20, "play paused")
        assert "Read-only file system" in body["paused"], body
        assert ann.request({"type": "sit", "table": table, "seat": 0,
                            "buy_in": 100})["code"] == "paused"
        assert get_json(server.url + "/api/tables")["tables"][0]["seats_taken"] == 0
        (gate / "readonly").unlink()
        wait_for(lambda: playing(server), 20, "play resumed")
        sit(ann, table, 0)
        chips_add_up(server)
    finally:
        server.stop()


def test_a_pause_longer_than_max_pause_stops_the_server_with_code_3(tmp_path):
    """For a supervisor that restarts on failure: a disk that stays bad ends the process
    with a non-zero code (--max-pause), after a graceful stop; a restart recovers."""
    gate, snaps = tmp_path / "gate", str(tmp_path / "snaps")
    gate.mkdir()
    prelude = FULL_DISK.format(gate=str(gate), snaps=snaps)
    server = start_server(str(tmp_path), "--snapshot-dir", snaps, *FLAGS, "--max-pause", "3",
                          prelude=prelude)
    try:
        table = create_table(server, seats=2)
        ann = connect(server, "ann")
        (gate / "disk").touch()
        ann.request({"type": "sit", "table": table, "seat": 0, "buy_in": 100})
        wait_for(lambda: paused(server), 20, "play paused")
        assert server.proc.wait(60) == 3, server.log()[-2000:]
        assert "--max-pause" in server.log()
        (gate / "disk").unlink()
        server = start_server(str(tmp_path), "--snapshot-dir", snaps, *FLAGS, prelude=prelude)
        chips_add_up(server)
        assert playing(server)
    finally:
        server.stop()
