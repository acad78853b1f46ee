"""Snapshots with real files: round trip, damage of every kind, injected I/O faults,
generations, sequence numbers, stray temp files, refusing to start."""

from __future__ import annotations

import doctest
import errno
import hashlib
import os
import random
import stat
import threading
import time

import gevent
import orjson
import pytest

from game.cards import DECK
from game.table import (AllIn, Bet, Call, Check, Fold, Muck, Raise, Show, SitDown, StartHand,
                        apply, legal_actions, new_table, table_to_json)
from persistence import image, restore
from persistence import snapshot as snap

VERBS = {"fold": Fold, "check": Check, "call": Call, "all_in": AllIn, "show": Show,
         "muck": Muck, "bet": Bet, "raise": Raise}


def busy_table(rng: random.Random, steps: int):
    """Six players, a finished hand or two, then ``steps`` actions into a new one."""
    t = new_table(6, 1, 2)
    for i in range(6):
        t, _ = apply(t, SitDown(i, f"p{i}", 200))
    hands = rng.randint(1, 3)
    for h in range(hands):
        if sum(1 for s in t.seats if s and s.stack) < 2:
            break
        deck = list(DECK)
        rng.shuffle(deck)
        t, _ = apply(t, StartHand(tuple(deck)))
        left = steps if h == hands - 1 else 10_000
        while t.hand_running and left:
            legal = legal_actions(t)
            verb = rng.choice(legal.actions)
            cls = VERBS[verb]
            t, _ = apply(t, cls(legal.seat, legal.min_to) if verb in ("bet", "raise")
                         else cls(legal.seat))
            left -= 1
    return t


def make_root(n_tables: int = 3, seed: int = 1) -> dict:
    """Root-shaped data: tables as game JSON, bankrolls, players with tokens."""
    rng = random.Random(seed)
    tables = {f"t{i}": table_to_json(busy_table(rng, rng.randint(0, 8))) for i in range(n_tables)}
    return {"tables": tables, "players": {"p1": {"name": "ann", "token": "x" * 43,
                                                 "bankroll": 9800}},
            "chips_issued": sum(s["stack"] + s.get("total", 0) for t in tables.values()
                                for s in t["seats"] if s)}


def check(data) -> list[str]:
    """A stand-in for the server's check_root: cards distinct, chips add up."""
    problems = []
    total = 0
    for tid, t in data["tables"].items():
        cards = list(t["hand"]["deck"]) + list(t["hand"].get("board", ())) if t["hand"] else []
        for s in t["seats"]:
            if s:
                total += s["stack"] + s.get("total", 0)
                cards += s.get("cards", ())
        if t["hand"] and (len(cards) != 52 or len(set(cards)) != 52):
            problems.append(f"{tid}: {len(set(cards))} distinct cards of {len(cards)}")
    if total != data["chips_issued"]:
        problems.append(f"chips: {total} != {data['chips_issued']}")
    return problems


@pytest.fixture(params=["loop", "fork"])
def folder(request, tmp_path):
    """An open snapshot folder, once serialised on the loop and once by a forked child."""
    d = str(tmp_path / "snaps")
    s = snap.open_dir(d, keep=3)
    s.fork = request.param == "fork"
    yield s
    snap.close_dir(s)


def reopen(s: snap.Snapshots, keep: int | None = None) -> snap.Snapshots:
    snap.close_dir(s)
    return snap.open_dir(s.directory, keep=keep or s.keep)


def names(s: snap.Snapshots) -> list[str]:
    return sorted(os.listdir(s.directory))


def images(s: snap.Snapshots) -> list[str]:
    return [n for n in names(s) if n.startswith("snapshot-")]


def test_doctests():
    for module in (image, snap, restore):
        assert doctest.testmod(module).failed == 0


def test_round_trip(folder):
    root = make_root(5)
    assert snap.take(folder, lambda: root)
    assert images(folder) == ["snapshot-000000000001.json"]
    path = os.path.join(folder.directory, images(folder)[0])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder.directory).st_mode) == 0o700
    with open(path, "rb") as f:
        whole = orjson.loads(f.read())  # the file is itself one JSON document
    assert whole["format"] == "pokerserver-snapshot" and whole["seq"] == 1
    assert whole["body"] == root
    loaded = restore.recover(reopen(folder), check)
    assert loaded.seq == 1 and loaded.data == root and loaded.rejected == []
    assert loaded.header["version"] == image.VERSION
    assert abs(loaded.header["time"] - time.time()) < 60


def test_check_and_convert_are_applied(folder):
    root = make_root(2)
    assert snap.take(folder, lambda: root)
    loaded = restore.recover(folder, check, convert=lambda d: ("rebuilt", d["chips_issued"]))
    assert loaded.data == ("rebuilt", root["chips_issued"])


def _two_generations(folder, n_tables=2):
    """Two images with a lazy member (damage tests cover it too); the older one's data."""
    old, new = make_root(n_tables, seed=1), make_root(n_tables, seed=2)
    lazy = b'{\n"t1/finished":[{"number":1,"actions":[{"type":"fold","seat":2}]}]\n}'
    assert snap.take(folder, lambda: snap.Image(old, lazy))
    assert snap.take(folder, lambda: snap.Image(new, lazy.replace(b"1", b"2")))
    newest = os.path.join(folder.directory, image.image_name(2))
    with open(newest, "rb") as f:
        good = f.read()
    return {**old, "lazy": lazy}, newest, good


def test_lazy_member_is_checked_but_not_parsed(folder):
    root = make_root(2)
    lazy = b'{\n"t1/finished":[{"number":7}],\n"t2/chat":[]\n}'
    assert snap.take(folder, lambda: snap.Image(root, lazy))
    path = os.path.join(folder.directory, images(folder)[0])
    with open(path, "rb") as f:
        raw = f.read()
    whole = orjson.loads(raw)   # still one JSON document
    assert whole["version"] == 2 and whole["lazy_bytes"] == len(lazy)
    assert whole["body"] == root and whole["lazy"] == {"t1/finished": [{"number": 7}],
                                                       "t2/chat": []}
    header, data = image.decode(raw)
    assert data == {**root, "lazy": lazy} and type(data["lazy"]) is bytes
    # the header's lazy_bytes must match where the member is
    encoded = b"".join(image.encode(orjson.dumps(root), 1, 0.0, lazy))
    wrong = encoded.replace(b'"lazy_bytes":%d' % len(lazy), b'"lazy_bytes":%d' % (len(lazy) + 1))
    wrong = wrong[:-_TAIL] + b',"sha256":"' + \
        hashlib.sha256(wrong[:-_TAIL]).hexdigest().encode() + b'"}\n'
    with pytest.raises(image.BadImage, match="no lazy member|body is"):
        image.decode(wrong)


def test_version_1_images_still_load_and_unknown_versions_are_refused(folder):
    """Images written before the hands member (version 1: the body only) are still read."""
    root = make_root(2)
    body = orjson.dumps(root)
    head = orjson.dumps({"format": image.FORMAT, "version": 1, "seq": 1, "time": 1.5,
                         "utc": "1970-01-01T00:00:01.500Z", "body_bytes": len(body)})
    raw = head[:-1] + b',"body":' + body
    raw += b',"sha256":"' + hashlib.sha256(raw).hexdigest().encode() + b'"}\n'
    with open(os.path.join(folder.directory, image.image_name(1)), "wb") as f:
        f.write(raw)
    loaded = restore.recover(reopen(folder), check)
    assert loaded.seq == 1 and loaded.data == root and loaded.header["version"] == 1
    future = raw.replace(b'"version":1', b'"version":3')
    future = future[:-_TAIL] + b',"sha256":"' + \
        hashlib.sha256(future[:-_TAIL]).hexdigest().encode() + b'"}\n'
    with pytest.raises(image.BadImage, match="unsupported format version 3"):
        image.decode(future)


_TAIL = len(',"sha256":"') + 64 + len('"}\n')


def _load(folder):
    loaded, rejected = restore.load_newest(folder.directory, check)
    return loaded, rejected


def test_truncated_at_every_offset_falls_back(folder):
    old, newest, good = _two_generations(folder, n_tables=1)
    assert len(good) > 1000
    for cut in range(len(good)):
        with open(newest, "wb") as f:
            f.write(good[:cut])
        loaded, rejected = _load(folder)
        assert loaded.seq == 1 and loaded.data == old, cut
        assert rejected[0][0] == image.image_name(2)


def test_big_image_truncated_at_dense_sample_falls_back(folder):
    old, newest, good = _two_generations(folder, n_tables=60)
    assert len(good) > 50_000
    cuts = set(range(0, 400)) | set(range(len(good) - 400, len(good)))
    cuts |= set(random.Random(3).sample(range(len(good)), 300))
    for cut in sorted(cuts):
        with pytest.raises(image.BadImage):
            image.decode(good[:cut])
    for cut in sorted(cuts)[::10]:
        with open(newest, "wb") as f:
            f.write(good[:cut])
        assert _load(folder)[0].seq == 1, cut


def test_flipped_bytes_are_never_loaded(folder):
    old, newest, good = _two_generations(folder, n_tables=2)
    rng = random.Random(7)
    offsets = rng.sample(range(len(good)), 300) + list(range(0, 80)) + \
        list(range(len(good) - 80, len(good)))
    for at in offsets:
        bad = bytearray(good)
        bad[at] ^= rng.randint(1, 255)
        with pytest.raises(image.BadImage):
            image.decode(bytes(bad), expect_seq=2)
        with open(newest, "wb") as f:
            f.write(bad)
        loaded, rejected = _load(folder)
        assert loaded.seq == 1 and loaded.data == old, at
    # several bytes at once, anywhere
    for _ in range(100):
        bad = bytearray(good)
        for at in rng.sample(range(len(good)), rng.randint(2, 20)):
            bad[at] ^= rng.randint(1, 255)
        with pytest.raises(image.BadImage):
            image.decode(bytes(bad))


def test_other_damage(folder):
    old, newest, good = _two_generations(folder)
    cases = {
        "empty": b"",
        "zeros": b"\0" * len(good),           # a file whose blocks never made it
        "appended": good + b"x",
        "garbage": os.urandom(5000),
    }
    for why, data in cases.items():
        with open(newest, "wb") as f:
            f.write(data)
        assert _load(folder)[0].seq == 1, why
    # a good image under the wrong name (say, copied by hand) is not taken for another
    with open(newest, "wb") as f:
        f.write(good.replace(b'"seq":2', b'"seq":3'))
    assert _load(folder)[0].seq == 1
    with open(os.path.join(folder.directory, image.image_name(5)), "wb") as f:
        f.write(good)
    loaded, rejected = _load(folder)
    assert loaded.seq == 1
    assert "file name says 5" in rejected[0][1]


def test_failed_invariants_fall_back(folder):
    old = make_root(2, seed=1)
    broken = make_root(2, seed=2)
    broken["chips_issued"] += 1
    assert snap.take(folder, lambda: old)
    assert snap.take(folder, lambda: broken)
    loaded = restore.recover(reopen(folder), check)
    assert loaded.seq == 1 and loaded.data == old
    assert "invariant check failed: chips" in loaded.rejected[0][1]
    # an image the server cannot rebuild is passed over too

    def convert(data):
        if data is not old and data["chips_issued"] == broken["chips_issued"]:
            raise KeyError("tables")
        return data
    loaded = restore.recover(folder, None, convert)
    assert loaded.seq == 1 and "cannot rebuild" in loaded.rejected[0][1]


# -- injected faults -----------------------------------------------------------------


def _fail_nth(monkeypatch, name: str, n: int, err: int, calls: list):
    real = getattr(os, name)

    def fake(*args):
        calls.append(args)
        if len(calls) == n:
            raise OSError(err, os.strerror(err))
        return real(*args)
    monkeypatch.setattr(os, name, fake)


@pytest.mark.parametrize("name,n,err", [
    ("write", 1, errno.ENOSPC),   # the header
    ("write", 2, errno.ENOSPC),   # the body, half the image written
    ("write", 3, errno.EIO),      # the checksum tail
    ("fsync", 1, errno.EIO),      # the file's fsync
    ("fsync", 1, errno.ENOSPC),
])
def test_write_and_fsync_failures_keep_old_images(folder, monkeypatch, name, n, err):
    for i in range(3):
        assert snap.take(folder, lambda: make_root(1, seed=i))
    before = {n_: open(os.path.join(folder.directory, n_), "rb").read() for n_ in images(folder)}
    calls: list = []
    _fail_nth(monkeypatch, name, n, err, calls)
    assert not snap.take(folder, lambda: make_root(1, seed=9))
    monkeypatch.undo()
    assert folder.failures == 1 and os.strerror(err) in folder.last_error
    assert folder.last_ok_seq == 3
    # the old generations are untouched, the failed temp file is gone, no image 4
    assert names(folder) == [".lock"] + sorted(before)
    for n_, data in before.items():
        assert open(os.path.join(folder.directory, n_), "rb").read() == data
    # the next attempt works, in a fresh file with a fresh sequence number
    root = make_root(1, seed=10)
    assert snap.take(folder, lambda: root)
    assert folder.failures == 1
    assert images(folder)[-1] == image.image_name(5)
    assert restore.recover(reopen(folder), check).data == root


def test_failed_fsync_is_never_retried_on_the_same_file(folder, monkeypatch, tmp_path):
    # The record is a file: with fork=True the fsyncs happen in the child.
    record = tmp_path / "fsynced.txt"
    record.write_text("")
    opened: dict[int, str] = {}
    real_open, real_fsync = os.open, os.fsync

    def spy_open(path, *a, **k):
        fd = real_open(path, *a, **k)
        opened[fd] = os.path.basename(path)
        return fd

    def failing_fsync(fd):
        with open(record, "a") as f:
            f.write(f"{opened.get(fd)}\n")
        if len(record.read_text().splitlines()) == 1:
            raise OSError(errno.EIO, "I/O error")
        return real_fsync(fd)
    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "fsync", failing_fsync)
    assert not snap.take(folder, lambda: make_root(1))
    assert snap.take(folder, lambda: make_root(1))
    fsynced = record.read_text().splitlines()
    temps = [f for f in fsynced if f.endswith(".tmp")]
    assert len(temps) == 2 and temps[0] != temps[1]   # a second file, not a second fsync
    assert images(folder) == [image.image_name(2)]


def test_directory_fsync_failure_counts_and_keeps_old_generations(tmp_path, monkeypatch):
    s = snap.open_dir(str(tmp_path / "d"), keep=1)
    assert snap.take(s, lambda: make_root(1, seed=1))
    calls: list = []
    _fail_nth(monkeypatch, "fsync", 2, errno.EIO, calls)   # 1: the file, 2: the folder
    assert not snap.take(s, lambda: make_root(1, seed=2))
    monkeypatch.undo()
    assert s.failures == 1
    # the renamed image may or may not be durable: nothing older was pruned for it
    assert images(s) == [image.image_name(1), image.image_name(2)]
    assert snap.take(s, lambda: make_root(1, seed=3))
    assert images(s) == [image.image_name(3)]
    snap.close_dir(s)


def test_short_writes_are_completed(folder, monkeypatch):
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, data[:777]))
    root = make_root(4)
    assert snap.take(folder, lambda: root)
    monkeypatch.undo()
    assert restore.recover(reopen(folder), check).data == root


def test_serialisation_error_is_counted_not_raised(folder):
    assert not snap.take(folder, lambda: {"bad": object()})
    assert folder.failures == 1 and "serialise" in folder.last_error
    assert images(folder) == []


# -- generations, sequence, temp files, locking ----------------------------------------


def test_generations_are_pruned_after_the_new_one(tmp_path):
    s = snap.open_dir(str(tmp_path / "d"), keep=3)
    for i in range(7):
        assert snap.take(s, lambda: {"i": i, "tables": {}, "chips_issued": 0})
        assert len(images(s)) == min(i + 1, 3)
    assert images(s) == [image.image_name(q) for q in (5, 6, 7)]
    assert image.image_name(10) > image.image_name(9)   # names sort by sequence
    assert restore.recover(reopen(s)).data["i"] == 6
    snap.close_dir(s)


def test_sequence_continues_after_restart(folder):
    for _ in range(3):
        assert snap.take(folder, lambda: make_root(1))
    s2 = reopen(folder)
    assert s2.seq == 3
    loaded = restore.recover(s2, check)
    assert loaded.seq == 3
    assert snap.take(s2, lambda: make_root(1))
    assert images(s2)[-1] == image.image_name(4)
    # the highest name counts even when that image is damaged and an older one is loaded
    with open(os.path.join(s2.directory, image.image_name(9)), "wb") as f:
        f.write(b"junk")
    s3 = reopen(s2)
    assert restore.recover(s3, check).seq == 4
    assert s3.seq == 9
    assert snap.take(s3, lambda: make_root(1))
    assert images(s3)[-1] == image.image_name(10)
    assert restore.recover(reopen(s3), check).seq == 10
    snap.close_dir(s3)


def test_stray_temp_files_are_removed(folder):
    assert snap.take(folder, lambda: make_root(1))
    d = folder.directory
    snap.close_dir(folder)
    for name in (".snapshot-000000000002-123.tmp", ".snapshot-000000000003-9.tmp"):
        with open(os.path.join(d, name), "wb") as f:
            f.write(b'{"format":"pokerserver-snapshot","ver')
    open(os.path.join(d, "notes.txt"), "w").close()  # not ours: left alone
    s = snap.open_dir(d)
    assert sorted(os.listdir(d)) == sorted([".lock", image.image_name(1), "notes.txt"])
    assert restore.recover(s, check).seq == 1
    snap.close_dir(s)


def test_a_second_server_cannot_use_the_same_folder(folder):
    with pytest.raises(snap.FolderInUse, match="in use by another server"):
        snap.open_dir(folder.directory)


def test_no_images_starts_empty(folder):
    assert restore.recover(folder, check) is None


def test_all_invalid_refuses_to_start(folder):
    for _ in range(2):
        assert snap.take(folder, lambda: make_root(1))
    for name in images(folder):
        path = os.path.join(folder.directory, name)
        data = open(path, "rb").read()
        open(path, "wb").write(data[: len(data) // 2])
    s = reopen(folder)
    with pytest.raises(restore.RecoveryError) as info:
        restore.recover(s, check)
    message = str(info.value)
    assert "refusing to start" in message and "none is valid" in message
    assert image.image_name(1) in message and image.image_name(2) in message
    assert "--snapshot-allow-empty" in message
    assert restore.recover(s, check, allow_empty=True) is None
    assert snap.take(s, lambda: make_root(1))            # new images go above the bad ones
    assert images(s)[-1] == image.image_name(3)
    snap.close_dir(s)


# -- on the loop --------------------------------------------------------------------------


def test_image_is_the_state_when_taken_and_the_loop_runs_during_the_write(folder,
                                                                           monkeypatch):
    root = make_root(3)
    expected = orjson.loads(orjson.dumps(root))
    real_fsync = os.fsync
    threads = set()

    from gevent import monkey
    real_sleep = monkey.get_original("time", "sleep")   # even if another test patched it

    def slow_fsync(fd):
        threads.add(threading.get_ident())
        real_sleep(0.2)   # a real sleep in the worker thread (or the child): a slow disk
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", slow_fsync)
    ticks = []

    def play():   # another greenlet keeps changing the root while the image is written
        for i in range(1000):
            root["players"]["p1"]["bankroll"] = i
            ticks.append(i)
            gevent.sleep(0.005)
    g = gevent.spawn(play)
    gevent.sleep(0)
    assert snap.take(folder, lambda: root)
    g.kill()
    assert len(ticks) > 20                      # the loop was not blocked by the write
    assert threading.get_ident() not in threads  # fsync ran off the loop
    data = restore.recover(reopen(folder)).data
    assert data["players"]["p1"]["bankroll"] == 0   # the root as it was when serialised
    assert data["tables"] == expected["tables"]


def test_periodic_loop_and_final_snapshot(folder):
    state = {"n": 0, "tables": {}, "chips_issued": 0}
    loop = gevent.spawn(snap.run_every, folder, lambda: state, 0.02)
    with gevent.Timeout(60):      # the bound of a hang: the loop waits on a condition
        while folder.written < 3:
            state["n"] += 1
            gevent.sleep(0.01)
    state["n"] = "last"
    assert snap.final(folder, lambda: state)
    loop.join(timeout=10)
    assert loop.dead
    assert folder.written >= 4 and folder.failures == 0
    m = snap.metrics(folder)
    assert m["snapshot_seq"] == folder.seq and 0 <= m["snapshot_age_seconds"]
    assert m["snapshot_last_duration_seconds"] > 0 and m["snapshot_failures_total"] == 0
    assert restore.recover(reopen(folder)).data["n"] == "last"
    assert len(images(folder)) == 3


def test_hooks_run_in_order_and_a_failing_serialised_hook_abandons_the_image(folder):
    seen = []
    folder.on_serialised = lambda seq: seen.append(("serialised", seq, images(folder)))
    folder.on_written = lambda seq: seen.append(("written", seq, images(folder)))
    assert snap.take(folder, lambda: make_root(1))
    assert seen == [("serialised", 1, []), ("written", 1, [image.image_name(1)])]

    def broken(seq):
        raise OSError(errno.EIO, "journal")
    folder.on_serialised = broken
    assert not snap.take(folder, lambda: make_root(1))
    assert folder.failures == 1 and images(folder) == [image.image_name(1)]
    folder.on_serialised = None
    folder.on_written = lambda seq: 1 / 0     # a durable image stays a success
    assert snap.take(folder, lambda: make_root(1))
    assert images(folder)[-1] == image.image_name(3)


def test_fragments_are_reused_while_the_value_lives_and_forgotten_after(folder):
    if folder.fork:
        pytest.skip("fragments serve serialisation on the loop; a forked child starts afresh")
    rng = random.Random(5)
    tables = [busy_table(rng, 3) for _ in range(4)]

    def dump():
        return {"tables": [snap.fragment(folder.fragments, t, table_to_json) for t in tables]}
    assert snap.take(folder, dump)
    assert folder.fragments.misses == 4
    tables[0] = busy_table(rng, 5)                # one table changed
    assert snap.take(folder, dump)
    assert folder.fragments.misses == 5 and folder.fragments.hits == 3
    assert len(folder.fragments.old) == 4         # the replaced table is forgotten
    data = restore.recover(reopen(folder)).data
    assert data["tables"] == [table_to_json(t) for t in tables]   # same bytes as the slow way


def test_bench_checks_the_image_encoder():
    """bench/snapshot.py measures root_image, which writes exactly root_to_json."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "bench", "snapshot.py")
    spec = importlib.util.spec_from_file_location("bench_snapshot", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    root = bench.busy_root(4, history=40)
    bench.check_image(root)


def test_a_crashing_check_rejects_the_image_instead_of_the_start(folder):
    assert snap.take(folder, lambda: make_root(1, seed=1))
    assert snap.take(folder, lambda: {"unexpected": True})

    def strict(data):
        return check(data)   # KeyError on the second image
    loaded = restore.recover(folder, strict)
    assert loaded.seq == 1 and "check crashed" in loaded.rejected[0][1]


def test_an_open_folder_is_reported(tmp_path, caplog):
    d = tmp_path / "open"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    s = snap.open_dir(str(d))
    assert "can be read by other users" in caplog.text
    snap.close_dir(s)


# -- the forked child (fork=True) ----------------------------------------------------------


@pytest.fixture
def forked(tmp_path):
    s = snap.open_dir(str(tmp_path / "forked"), keep=3)
    s.fork = True
    yield s
    snap.close_dir(s)


def _sleepy_dump(root, marker):
    """A dump that, in the child, says it started and then hangs: a child to kill.

    The marker appears by a rename, once its file is closed: a test looking at the
    child's descriptors then sees only the child's own. The unpatched sleep: another
    test may have monkey-patched time.sleep, and a greenlet switch in the child ends
    it (see the test after next)."""
    from gevent import monkey
    sleep = monkey.get_original("time", "sleep")

    def dump():
        open(marker + ".new", "w").close()
        os.rename(marker + ".new", marker)
        sleep(30)
        return root
    return dump


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        gevent.sleep(0.01)


def test_a_killed_child_is_a_failure_that_keeps_the_old_images(forked, tmp_path):
    root = make_root(2)
    assert snap.take(forked, lambda: root)
    before = images(forked)
    marker = str(tmp_path / "child-started")
    seen = {}

    def kill_child():
        _wait_for(lambda: os.path.exists(marker))
        pid = seen["pid"] = forked.child_pid
        # Only the report pipe and stdio are open in the child: not the folder's lock,
        # not the server's sockets (a restarted server must be able to take them).
        seen["fds"] = sorted(int(fd) for fd in os.listdir(f"/proc/{pid}/fd"))
        os.kill(pid, 9)
    killer = gevent.spawn(kill_child)
    assert not snap.take(forked, _sleepy_dump(root, marker))
    killer.get(timeout=5)
    assert "died without a report (signal 9)" in forked.last_error
    assert forked.failures == 1 and forked.last_ok_seq == 1
    assert len([fd for fd in seen["fds"] if fd > 2]) == 1, seen["fds"]   # the report pipe
    assert images(forked) == before and not any(n.endswith(".tmp") for n in names(forked))
    assert snap.take(forked, lambda: root)    # the next one, a fresh number
    assert images(forked)[-1] == image.image_name(3)
    assert restore.recover(reopen(forked), check).data == root


def test_child_failures_are_reported_and_counted(forked, monkeypatch):
    assert snap.take(forked, lambda: make_root(1))
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))
    assert not snap.take(forked, lambda: make_root(1, seed=2))
    assert "No space left" in forked.last_error and forked.failures == 1
    monkeypatch.undo()
    assert not snap.take(forked, lambda: {"bad": object()})
    assert "serialise" in forked.last_error and forked.failures == 2
    assert images(forked) == [image.image_name(1)]
    assert names(forked) == [".lock", image.image_name(1)]
    m = snap.metrics(forked)
    assert m["snapshot_failures_total"] == 2 and m["snapshot_seq"] == 1


def test_a_greenlet_switch_in_the_child_ends_it(forked):
    """The child must never run the parent's greenlets (they would serve its clients)."""
    def dump():
        gevent.sleep(0)
        return make_root(1)
    assert not snap.take(forked, dump)
    assert "greenlet switch" in forked.last_error and forked.failures == 1
    assert images(forked) == []
    assert snap.take(forked, lambda: make_root(1))


def test_the_child_dies_with_a_killed_parent(tmp_path):
    """kill -9 of the server must not leave a child that renames a stale image later."""
    import subprocess
    import sys
    marker = tmp_path / "child-started"
    script = f"""
import os, sys, time
sys.path.insert(0, {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))!r})
from persistence import image, restore
from persistence import snapshot as snap
s = snap.open_dir({str(tmp_path / "d")!r})
s.fork = True
def dump():
    open({str(marker)!r}, "w").write(str(os.getpid()))
    time.sleep(30)
    return {{}}
snap.take(s, dump)
"""
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while not (marker.exists() and marker.read_text()):
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.02)
        child = int(marker.read_text())
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{child}") and _state(child) != "Z":
            assert time.monotonic() < deadline, "the child outlived its parent"
            time.sleep(0.02)
    finally:
        parent.kill()
    assert image.list_images(str(tmp_path / "d")) == []


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


# -- every failure of the write path, injected at the call --------------------------------


def _ours(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def _inject(monkeypatch, call: str, err: int) -> None:
    """Fail the image writer's ``call`` with ``err`` (in this process and in a forked child):
    the temporary file's creation, a write into it (the second: half an image), its
    fsync, the rename, or the folder's fsync. Other calls (the lock, the report pipe) pass."""
    error = OSError(err, os.strerror(err))
    real = getattr(os, {"open": "open", "write": "write", "fsync": "fsync",
                        "rename": "replace", "folder fsync": "fsync"}[call])
    writes = []

    def failing(*args):
        if call == "open" and ".snapshot-" in str(args[0]) and args[1] & os.O_CREAT:
            raise error
        if call == "write" and ".snapshot-" in _ours(args[0]):
            writes.append(1)
            if len(writes) == 2:
                raise error
        if call == "fsync" and _ours(args[0]).endswith(".tmp"):
            raise error
        if call == "folder fsync" and os.path.isdir(_ours(args[0])):
            raise error
        if call == "rename":
            raise error
        return real(*args)
    monkeypatch.setattr(os, {"rename": "replace", "folder fsync": "fsync"}.get(call, call),
                        failing)


def _all_good(s: snap.Snapshots) -> list[int]:
    """The folder holds images that decode and pass the check, and nothing half-done."""
    assert not [n for n in names(s) if n.endswith(".tmp")], names(s)
    seqs = []
    for seq, path in image.list_images(s.directory):
        header, data = restore.decode_file(path, seq)
        assert check(data) == [], path
        seqs.append(seq)
    return sorted(seqs)


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO, errno.EROFS])
@pytest.mark.parametrize("call", ["open", "write", "fsync", "rename", "folder fsync"])
def test_every_write_path_failure_leaves_only_good_images(folder, monkeypatch, call, err):
    folder.check = check
    roots = {seq: make_root(2, seed=seq) for seq in range(1, 5)}
    for seq in (1, 2):
        assert snap.take(folder, lambda: roots[seq])
    _inject(monkeypatch, call, err)
    assert not snap.take(folder, lambda: roots[3])
    monkeypatch.undo()
    assert folder.failures == 1 and os.strerror(err) in folder.last_error
    assert folder.last_ok_seq == 2
    on_disk = _all_good(folder)
    # Only a failed folder fsync leaves the renamed image: complete, but not known durable.
    assert on_disk == ([1, 2, 3] if call == "folder fsync" else [1, 2])
    again = reopen(folder)
    loaded = restore.recover(again, check)
    assert loaded.seq == on_disk[-1] and loaded.data == roots[on_disk[-1]]
    again.fork, again.check = folder.fork, check
    assert snap.take(again, lambda: roots[4])
    assert _all_good(again)[-1] == again.last_ok_seq
    assert restore.recover(reopen(again), check).data == roots[4]


# -- images that fail their own check, and the generations kept ----------------------------


def test_an_image_that_fails_its_check_is_never_written_nor_prunes_a_good_one(tmp_path, folder):
    """A root whose chips do not add up (a bug, a failing disk under the journal) must not
    push the last good image out: today's images are checked before they are written."""
    s = reopen(folder, keep=2)
    s.fork = folder.fork
    s.check = check
    good = make_root(2, seed=1)
    assert snap.take(s, lambda: good)
    broken = make_root(2, seed=2)
    broken["chips_issued"] += 90_000
    for _ in range(3):
        assert not snap.take(s, lambda: broken)
    assert s.rejected == 3 and s.failures == 3 and s.written == 1
    assert "failed its own check: invariant check failed: chips" in s.last_error
    assert images(s) == [image.image_name(1)] and _all_good(s) == [1]
    m = snap.metrics(s)
    assert m["snapshot_rejected_total"] == 3 and m["snapshot_seq"] == 1
    loaded = restore.recover(reopen(s), check)
    assert loaded.seq == 1 and loaded.data == good
    snap.close_dir(s)


def test_images_recovery_passed_over_never_count_as_generations(tmp_path):
    """Images that fail the check at recovery (written by an older server, or damaged) are
    not generations: the good image recovery fell back to stays until ``keep`` newer good
    ones exist, so losing the newest image still leaves a good one to start from."""
    s = snap.open_dir(str(tmp_path / "d"), keep=3)
    good = make_root(1, seed=1)
    assert snap.take(s, lambda: good)
    broken = make_root(1, seed=2)
    broken["chips_issued"] -= 1
    for _ in range(2):                      # written unchecked, as an older server did
        assert snap.take(s, lambda: broken)
    s = reopen(s, keep=2)
    s.check = check
    assert restore.recover(s, check).seq == 1 and s.bad == {2, 3}
    assert snap.take(s, lambda: good)        # image 4: the only other generation
    assert images(s) == [image.image_name(n) for n in (1, 2, 3, 4)]
    newest = os.path.join(s.directory, image.image_name(4))
    with open(newest, "r+b") as f:           # the newest image is lost after all
        f.truncate(100)
    s = reopen(s)
    s.check = check
    assert restore.recover(s, check).seq == 1 and s.bad == {2, 3, 4}
    assert snap.take(s, lambda: good) and snap.take(s, lambda: good)
    assert images(s) == [image.image_name(n) for n in (5, 6)]   # now the old ones go
    snap.close_dir(s)


# -- the forked child: never a hang ---------------------------------------------------------


def test_a_start_never_hangs_when_the_child_finishes_before_the_parent_resumes(forked,
                                                                                monkeypatch):
    """gevent's patched ``os.close`` (``monkey.patch_all``, as run_server.py does) defers
    closing a pipe to a later loop turn; if the child has already exited when the parent
    gets there (the parent paused right after ``fork()``), no event is left to wake the
    loop for that turn, and a reader waiting for end of file waits forever."""
    import gevent.os
    assert snap.take(forked, lambda: make_root(1))     # the thread pool is warm, as in a server
    real_fork = snap._fork

    def paused_fork():
        pid = real_fork()
        if pid:   # the parent is descheduled until the child has written and exited
            with gevent.Timeout(30):
                while not isinstance(gevent.os._watched_children.get(pid), tuple):
                    gevent.sleep(0.005)
        return pid
    monkeypatch.setattr(snap, "_fork", paused_fork)
    monkeypatch.setattr(os, "close", gevent.os.close)
    taking = gevent.spawn(snap.take, forked, lambda: make_root(1, seed=2))
    taking.join(30)                          # the bound of a hang, not a timing
    assert taking.ready(), "the snapshot hung waiting for its child's report"
    assert taking.value is True and forked.failures == 0


def test_a_child_that_does_not_report_in_time_is_killed_and_counted(forked, tmp_path):
    root = make_root(1)
    assert snap.take(forked, lambda: root)
    forked.child_timeout = 0.5
    marker = str(tmp_path / "child-started")
    assert not snap.take(forked, _sleepy_dump(root, marker))
    assert "had not reported after 0.5 s: killed" in forked.last_error
    assert forked.failures == 1 and forked.child_pid is None
    assert images(forked) == [image.image_name(1)] and not any(
        n.endswith(".tmp") for n in names(forked))
    forked.child_timeout = 300.0
    assert snap.take(forked, lambda: root)


def test_snapshot_metrics_have_one_prefix_and_a_type_each(folder):
    lines = snap.metrics_lines(folder)
    names_ = [line.split()[0] for line in lines if not line.startswith("#")]
    assert names_ and all(n.startswith("poker_snapshot_") for n in names_)
    assert [line for line in lines if line.startswith("# TYPE")] == \
        [f"# TYPE {n} {'counter' if n.endswith('_total') else 'gauge'}" for n in names_]
