"""A start never drops journaled entries it cannot apply: it refuses, with the reason,
or (--journal-set-aside) moves their segments aside, never deleting them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from test_server_helpers import REPO, connect, start_server, wait_for


def run(folder, *flags):
    return subprocess.run([sys.executable, "run_server.py", "--host", "127.0.0.1", "--port",
                           "0", "--snapshot-dir", str(folder), "--journal", "everysec",
                           "--snapshot-every", "600", *flags],
                          cwd=REPO, capture_output=True, text=True, timeout=30)


def segments(folder):
    return sorted(p for p in os.listdir(folder) if p.startswith("journal-"))


def killed_after_new_players(tmp_path, count: int):
    """A server whose journal holds ``count`` new players, killed -9: ``(folder, players,
    newest segment's name)``."""
    folder = tmp_path / "snaps"
    server = start_server(str(tmp_path), "--snapshot-dir", str(folder), "--journal",
                          "everysec", "--snapshot-every", "600")
    try:
        players = [connect(server, f"j{i}") for i in range(count)]   # one entry each
        wait_for(lambda: sum(open(folder / s, "rb").read().count(b'"k":"player"')
                             for s in segments(folder)) == count, 10, "the entries on disk")
    finally:
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
    for c in players:
        c.close()
    return folder, players, segments(folder)[-1]


def test_a_damaged_journal_entry_stops_the_start_until_told_to_set_it_aside(tmp_path):
    folder, players, name = killed_after_new_players(tmp_path, 6)
    path = folder / name
    lines = path.read_bytes().split(b"\n")
    assert len(lines) >= 8                  # the header, six players, the torn-or-empty tail
    lines[3] = lines[3].replace(b'"name":"j', b'"name":"J')   # one flipped letter
    path.write_bytes(b"\n".join(lines))
    before = path.read_bytes()

    refused = run(folder)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "refusing to start" in refused.stderr and name in refused.stderr
    assert path.read_bytes() == before                      # nothing moved, nothing lost

    server = start_server(str(tmp_path), "--snapshot-dir", str(folder), "--journal",
                          "everysec", "--snapshot-every", "600", "--journal-set-aside")
    try:
        aside = folder / "aside" / name
        assert aside.read_bytes() == before and "set aside" in server.log()
        back = connect(server, token=players[0].token)       # applied before the damage
        assert back.player == players[0].player
    finally:
        server.stop()
    assert (folder / "aside" / name).exists()               # never pruned


def test_a_sound_entry_the_rules_refuse_stops_the_start_too(tmp_path):
    """A line whose checksum holds but that cannot be applied (here: a new player journaled
    under another id than the one replay gives it) is treated like damage: the start
    refuses, naming it, and --journal-set-aside keeps it aside."""
    from persistence.segments import decode_line, encode_line
    folder, players, name = killed_after_new_players(tmp_path, 4)
    path = folder / name
    lines = path.read_bytes().split(b"\n")
    entry = decode_line(lines[2])
    assert entry["k"] == "player", entry
    entry["id"] = "p999"                                   # sound line, impossible change
    lines[2] = encode_line(entry)[:-1]
    path.write_bytes(b"\n".join(lines))

    refused = run(folder)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "refusing to start" in refused.stderr and name in refused.stderr
    assert "p999" in refused.stderr, refused.stderr             # the note says which and why

    server = start_server(str(tmp_path), "--snapshot-dir", str(folder), "--journal",
                          "everysec", "--snapshot-every", "600", "--journal-set-aside")
    try:
        assert (folder / "aside" / name).exists() and "set aside" in server.log()
        back = connect(server, token=players[0].token)       # applied before the bad line
        assert back.player == players[0].player
    finally:
        server.stop()
