"""The journal's files: torn lines, group commit, fsync failures, segments."""

import errno
import os

import gevent
import gevent.monkey
import orjson
import pytest

from persistence import journal


def wait_until(condition, seconds=5.0):
    """Let the loop run until ``condition()`` holds (bounded in time)."""
    with gevent.Timeout(seconds, False):
        while not condition():
            gevent.sleep(0.005)
    return condition()


def lines(*entries):
    return b"".join(orjson.dumps(e) + b"\n" for e in entries)


def test_torn_last_entry_at_every_byte_is_ignored_cleanly(tmp_path):
    whole = lines({"n": 1, "k": "game", "a": {"type": "call", "seat": 2}},
                  {"n": 2, "k": "game", "a": {"type": "raise", "seat": 3, "amount": 40}})
    last_start = whole.index(b'{"n":2')
    path = tmp_path / journal.segment_name(1)
    for cut in range(last_start, len(whole) + 1):
        path.write_bytes(whole[:cut])
        segment = journal.read_segment(str(path))
        if cut == len(whole):
            assert [e["n"] for e in segment.entries] == [1, 2] and segment.stopped is None
        else:
            assert [e["n"] for e in segment.entries] == [1]
            assert cut == last_start or "torn" in segment.stopped or "damaged last" in segment.stopped


def test_a_damaged_middle_line_stops_the_replay_there(tmp_path):
    path = tmp_path / journal.segment_name(3)
    path.write_bytes(lines({"n": 1}) + b'{"n": 2, garbage\n' + lines({"n": 3}))
    (tmp_path / journal.segment_name(4)).write_bytes(lines({"n": 4}))
    segments = journal.entries_after(str(tmp_path), 3)
    assert [e["n"] for e in segments[0].entries] == [1]
    assert "damaged line 2" in segments[0].stopped
    assert len(segments) == 1  # nothing after a hole is applied


def test_always_tells_nobody_before_one_fsync_per_loop_turn(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    j = journal.open_journal(str(tmp_path), "always", 1)
    synced.clear()
    told = []
    for n in range(5):
        journal.append(j, {"n": n}, then=lambda n=n: told.append(n))
    assert told == []                    # nothing acknowledged before the fsync
    assert wait_until(lambda: len(told) == 5)
    assert told == [0, 1, 2, 3, 4] and len(synced) == 1
    journal.close(j)
    assert [e["n"] for e in journal.read_segment(str(tmp_path / journal.segment_name(1))).entries] \
        == [0, 1, 2, 3, 4]


def test_a_failed_fsync_acknowledges_nothing_and_is_never_retried(tmp_path, monkeypatch):
    failures = []
    j = journal.open_journal(str(tmp_path), "always", 1, on_failure=failures.append)

    def broken(fd):
        raise OSError(errno.EIO, "I/O error")
    monkeypatch.setattr(os, "fsync", broken)
    told = []
    journal.append(j, {"n": 1}, then=lambda: told.append(1))
    assert wait_until(lambda: failures)
    assert told == [] and len(failures) == 1 and j.failures == 1
    with pytest.raises(OSError, match="failed earlier"):
        journal.append(j, {"n": 2})


def test_everysec_and_no_tell_at_once(tmp_path):
    for policy in ("everysec", "no"):
        j = journal.open_journal(str(tmp_path / policy), policy, 1)
        told = []
        journal.append(j, {"n": 1}, then=lambda: told.append(1))
        assert told == [1]
        journal.sync(j)
        journal.close(j)
        assert journal.read_segment(str(tmp_path / policy / journal.segment_name(1))).entries \
            == [{"n": 1}]


def test_rotate_splits_segments_and_prune_follows_the_images(tmp_path):
    j = journal.open_journal(str(tmp_path), "everysec", 1)
    journal.append(j, {"n": 1})
    journal.rotate(j, 2)
    journal.append(j, {"n": 2})
    journal.close(j)
    after_2 = journal.entries_after(str(tmp_path), 2)
    assert [[e["n"] for e in s.entries] for s in after_2] == [[2]]
    after_1 = journal.entries_after(str(tmp_path), 1)
    assert [[e["n"] for e in s.entries] for s in after_1] == [[1], [2]]
    assert oct(os.stat(tmp_path / journal.segment_name(2)).st_mode & 0o777) == "0o600"
    journal.prune(str(tmp_path), 2)
    assert [s for s, _ in journal.list_segments(str(tmp_path))] == [2]


@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_rotate_while_an_fsync_is_in_flight_closes_the_old_segment_after_it(tmp_path, monkeypatch,
                                                                          policy):
    # The thread pool's fsync of the old segment is held until the loop has rotated:
    # closing the old descriptor under it would fail it (EBADF) and stop the server.
    main = gevent.monkey.get_original("_thread", "get_ident")()
    gate = gevent.monkey.get_original("_thread", "allocate_lock")()
    gate.acquire()
    real_fsync = os.fsync

    def held_in_threads(fd):
        if gevent.monkey.get_original("_thread", "get_ident")() != main:
            if gate.acquire(timeout=5):   # a turnstile: once open, every fsync passes
                gate.release()
        return real_fsync(fd)
    failures = []
    j = journal.open_journal(str(tmp_path), policy, 1, on_failure=failures.append)
    monkeypatch.setattr(os, "fsync", held_in_threads)
    told = []
    journal.append(j, {"n": 1}, then=lambda: told.append(1))
    syncing = gevent.spawn(journal.sync, j) if policy == "everysec" else None
    assert wait_until(lambda: j.syncing)
    old = j.fd
    journal.rotate(j, 2)
    journal.append(j, {"n": 2}, then=lambda: told.append(2))
    assert j.retired == [old] and os.fstat(old)       # still open under the fsync
    gate.release()
    assert wait_until(lambda: not j.syncing and told == [1, 2] and not j.retired)
    if syncing is not None:
        syncing.join(5)
    with pytest.raises(OSError):
        os.fstat(old)
    journal.close(j)
    assert failures == [] and j.failures == 0
    assert [[e["n"] for e in s.entries] for s in journal.entries_after(str(tmp_path), 1)] \
        == [[1], [2]]


def test_unknown_policy_is_refused(tmp_path):
    with pytest.raises(ValueError, match="always, everysec, no"):
        journal.open_journal(str(tmp_path), "sometimes", 1)


def test_metrics_have_one_prefix_and_a_type_each(tmp_path):
    j = journal.open_journal(str(tmp_path), "no", 1)
    lines = journal.metrics_lines(j)
    journal.close(j)
    names = [line.split()[0] for line in lines if not line.startswith("#")]
    assert all(n.startswith("poker_journal_") for n in names)
    assert [line for line in lines if line.startswith("# TYPE")] == \
        [f"# TYPE {n} {'counter' if n.endswith('_total') else 'gauge'}" for n in names]
