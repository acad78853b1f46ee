"""The journal's files and its writer: checksummed lines, chained segments, group commit,
fsyncs off the loop, failures that hold every acknowledgement until an image covers them."""

from __future__ import annotations

import dataclasses
import doctest
import errno
import os
import random

import gevent
import gevent.monkey
import orjson
import pytest

from game.cards import DECK
from game.table import ACTION_TYPES, SitDown, StartHand, legal_actions
from persistence import journal, segments
from persistence.layout import root_from_json, root_to_json
from server import handlers, play, recovery
from server.effects import Effects
from server.root import TableConfig, add_table, new_root

T0 = 1_795_000_000.0
_thread_id = gevent.monkey.get_original("_thread", "get_ident")
_lock = gevent.monkey.get_original("_thread", "allocate_lock")
MAIN = _thread_id()


def wait_until(condition, seconds=10.0):
    """Let the loop run until ``condition()`` holds (bounded, so a bug fails, not hangs)."""
    with gevent.Timeout(seconds, False):
        while not condition():
            gevent.sleep(0.005)
    return condition()


def v1_lines(*entries):
    """Lines as journals wrote them before checksums (version 1)."""
    return b"".join(orjson.dumps(e) + b"\n" for e in entries)


def chain_entries(folder, seq):
    return [[e["n"] for e in s.entries] for s in segments.entries_after(str(folder), seq)]


def written(folder, policy, *batches, after=None):
    """A journal in ``folder``: segment 1 holds the first batch, each later batch its own
    segment (rotated as images would); closed. Returns the segments' paths."""
    j = journal.open_journal(str(folder), policy, 1, after=after)
    for n, batch in enumerate(batches):
        if n:
            journal.rotate(j, n + 1)
        for entry in batch:
            journal.append(j, entry)
    journal.close(j)
    return [str(folder / segments.segment_name(n + 1)) for n in range(len(batches))]


def test_doctests():
    for module in (segments, journal):
        assert doctest.testmod(module).failed == 0


# ---------------------------------------------------------------------------
# Reading: torn lines, damage, version 1


def test_torn_last_entry_at_every_byte_is_ignored_cleanly(tmp_path):
    (path,) = written(tmp_path, "no", [{"n": 1, "a": {"type": "call"}}, {"n": 2, "amount": 40}])
    whole = open(path, "rb").read()
    last_start = whole.index(b'{"n":2')
    for cut in range(last_start, len(whole) + 1):
        with open(path, "wb") as f:
            f.write(whole[:cut])
        segment = segments.read_segment(path, 1)
        if cut == len(whole):
            assert [e["n"] for e in segment.entries] == [1, 2] and segment.stopped is None
        else:
            assert [e["n"] for e in segment.entries] == [1]
            assert cut == last_start or segment.stopped.startswith("torn last line")
            assert segment.end == last_start


def test_a_torn_header_is_an_empty_segment(tmp_path):
    (path,) = written(tmp_path, "no", [])
    whole = open(path, "rb").read()
    for cut in range(len(whole)):
        with open(path, "wb") as f:
            f.write(whole[:cut])
        segment = segments.read_segment(path, 1)
        assert segment.entries == [] and segment.end == 0 and not segment.damaged


def test_a_damaged_middle_line_stops_the_replay_there(tmp_path):
    first, second = written(tmp_path, "no", [{"n": 1}, {"n": 2}, {"n": 3}], [{"n": 4}])
    data = open(first, "rb").read()
    at = data.index(b'{"n":2')
    with open(first, "wb") as f:
        f.write(data[:at + 5] + b"3" + data[at + 6:])     # "n":2 -> "n":3, checksum kept
    chain = segments.entries_after(str(tmp_path), 1)
    assert [[e["n"] for e in s.entries] for s in chain] == [[1]]
    note = chain[0].stopped
    assert "damaged line 3 (checksum mismatch); 1 later line(s) ignored" in note
    assert "segment(s) 2 (1 line(s)) not applied" in note and "hole" in note


def test_version_1_segments_are_still_read_as_they_were(tmp_path):
    (tmp_path / segments.segment_name(3)).write_bytes(v1_lines({"n": 1}, {"n": 2}))
    (tmp_path / segments.segment_name(4)).write_bytes(v1_lines({"n": 3}) + b'{"n": 4')
    (tmp_path / segments.segment_name(5)).write_bytes(v1_lines({"n": 5}))
    assert chain_entries(tmp_path, 3) == [[1, 2], [3], [5]]
    assert segments.read_segment(str(tmp_path / segments.segment_name(4))).stopped \
        == "torn last line (7 bytes) ignored"
    # a damaged line in the middle stops everything after it, as version 1 always did
    (tmp_path / segments.segment_name(4)).write_bytes(v1_lines({"n": 3}) + b'{"n": 4, garbage\n'
                                                      + v1_lines({"n": 6}))
    chain = segments.entries_after(str(tmp_path), 3)
    assert [[e["n"] for e in s.entries] for s in chain] == [[1, 2], [3]]
    assert "damaged line 2" in chain[1].stopped and "segment(s) 5" in chain[1].stopped
    # a version 2 segment continues a version 1 one by its length
    (tmp_path / segments.segment_name(4)).write_bytes(v1_lines({"n": 3}))
    (tmp_path / segments.segment_name(5)).unlink()
    j = journal.open_journal(str(tmp_path), "no", 6, after=(4, len(v1_lines({"n": 3}))))
    journal.append(j, {"n": 7})
    journal.close(j)
    assert chain_entries(tmp_path, 3) == [[1, 2], [3], [7]]


# ---------------------------------------------------------------------------
# Every flipped bit of a real journal is caught


def real_journal(tmp_path):
    """A journal of real play (new players with their bankrolls, seats, hands with their
    decks, bets, chat) written by the journal itself over two segments; the root it
    follows; and every entry in order."""
    rng = random.Random(11)
    root = new_root()
    room = add_table(root, "hu", TableConfig(seats=2, small_blind=1, big_blind=2, ante=0,
                                             min_buy_in=40, max_buy_in=200))
    image = orjson.loads(orjson.dumps(root_to_json(root)))
    entries = []
    fx = Effects()
    ann, bob = handlers.new_player(root, "ann", fx), handlers.new_player(root, "bob", fx)
    entries += fx.journal
    for seat, p in enumerate((ann, bob)):
        p.seats[room.id] = seat
        entries += play.step(root, room, SitDown(seat, p.id, 100, p.name), T0).journal
    while room.hands_played < 1:
        if not room.game.hand_running:
            deck = list(DECK)
            rng.shuffle(deck)
            entries += play.step(root, room, StartHand(tuple(deck)), T0).journal
            continue
        legal = legal_actions(room.game)
        verb = rng.choice([v for v in legal.actions if v not in ("all_in", "fold")]
                          or legal.actions)
        cls = ACTION_TYPES[verb]
        action = cls(legal.seat, legal.min_to) if verb in ("bet", "raise") else cls(legal.seat)
        entries += play.step(root, room, action, T0).journal
    fx = Effects()
    play.chat(root, room, ann, "gl", fx)
    entries += fx.journal
    half = len(entries) // 2
    written(tmp_path, "everysec", entries[:half], entries[half:])
    return image, entries


def silently_applied(folder, entries) -> bool:
    """True if recovery would apply anything but a prefix of ``entries``, or would stop
    early without saying why."""
    chain = segments.entries_after(str(folder), 1)
    got = [e for s in chain for e in s.entries]
    if got != entries[:len(got)]:
        return True
    return len(got) < len(entries) and not any(s.stopped for s in chain)


def flip_every_bit(folder, entries, monkeypatch, limit=None):
    """Flip each bit of each segment in turn; return the (file, byte, bit) applied silently.

    Recovery reads the folder's segments from memory here (the same parser, without a
    write and a read of the file per flip); a segment that did not change is parsed once."""
    contents = {os.path.join(folder, n): open(os.path.join(folder, n), "rb").read()
                for n in os.listdir(folder) if n.startswith("journal-")}
    parsed = {}

    def read(path, seq=-1):
        key = (path, contents[path])
        if key not in parsed:
            parsed[key] = segments.parse_segment(contents[path], path, seq)
        s = parsed[key]
        return dataclasses.replace(s, entries=list(s.entries), ends=list(s.ends))
    monkeypatch.setattr(segments, "read_segment", read)
    silent = []
    for path, good in sorted(contents.items()):
        bits = range(len(good) * 8)
        if limit is not None:
            bits = random.Random(5).sample(bits, min(limit, len(bits)))
        for bit in bits:
            bad = bytearray(good)
            bad[bit // 8] ^= 1 << (bit % 8)
            contents[path] = bytes(bad)
            if silently_applied(folder, entries):
                silent.append((os.path.basename(path), bit // 8, bit % 8))
            parsed.pop((path, contents[path]), None)
        contents[path] = good
    return silent


def test_no_flipped_bit_of_a_real_journal_is_applied_silently(tmp_path, monkeypatch):
    image, entries = real_journal(tmp_path)
    assert {e["k"] for e in entries} == {"player", "act", "chat"} and len(entries) > 10
    assert not silently_applied(tmp_path, entries)
    replayed = recovery.replay(root_from_json(image), segments.entries_after(str(tmp_path), 1))
    assert replayed == (len(entries), [])     # the journal itself replays whole, with no note
    size = sum(os.path.getsize(tmp_path / n) for n in os.listdir(tmp_path))
    assert size * 8 > 15_000               # thousands of flips, every one of them
    assert flip_every_bit(str(tmp_path), entries, monkeypatch) == []


def test_without_checksums_flips_are_applied(tmp_path, monkeypatch):
    """The same harness on the same entries without checksums (version 1) finds flips
    applied silently (a digit of a bankroll, an amount, a card): it can see them."""
    image, entries = real_journal(tmp_path)
    for name in os.listdir(tmp_path):
        os.unlink(tmp_path / name)
    half = len(entries) // 2
    (tmp_path / segments.segment_name(1)).write_bytes(v1_lines(*entries[:half]))
    (tmp_path / segments.segment_name(2)).write_bytes(v1_lines(*entries[half:]))
    assert flip_every_bit(str(tmp_path), entries, monkeypatch, limit=2000)


# ---------------------------------------------------------------------------
# The chain: holes, new chains, a start's own chain


def test_a_lost_tail_of_the_old_segment_stops_recovery_there(tmp_path):
    """Power lost before the old segment's tail was fsynced, while the new segment's was:
    the new segment's entries would follow a hole. At every length the old segment
    could have been cut to, nothing of the new segment is applied."""
    first, _ = written(tmp_path, "everysec", [{"n": 1}, {"n": 2}, {"n": 3}], [{"n": 4}, {"n": 5}])
    whole = open(first, "rb").read()
    start = segments.read_segment(first, 1).start
    for cut in range(start, len(whole)):
        with open(first, "wb") as f:
            f.write(whole[:cut])
        chain = segments.entries_after(str(tmp_path), 1)
        assert len(chain) == 1, cut                   # segment 2 never applied
        assert chain[0].stopped and "hole: segment 2 says segment 1 ended at byte " \
            f"{len(whole)}, but its tail was lost: the file has {cut} bytes" in chain[0].stopped
        assert "segment(s) 2 (2 line(s)) not applied" in chain[0].stopped
    with open(first, "wb") as f:
        f.write(whole)
    assert chain_entries(tmp_path, 1) == [[1, 2, 3], [4, 5]]


def test_no_segment_for_the_image_means_nothing_is_applied(tmp_path):
    written(tmp_path, "no", [{"n": 1}], [{"n": 2}])
    os.unlink(tmp_path / segments.segment_name(1))
    chain = segments.entries_after(str(tmp_path), 1)
    assert [s.entries for s in chain] == [[]] and chain[0].missing
    assert "no segment 1 for image 1" in chain[0].stopped
    assert chain_entries(tmp_path, 2) == [[2]]


def test_a_new_chain_applies_only_on_its_own_image(tmp_path):
    written(tmp_path, "no", [{"n": 1}])
    j = journal.open_journal(str(tmp_path), "no", 2)      # after=None: a new chain
    journal.append(j, {"n": 2})
    journal.close(j)
    chain = segments.entries_after(str(tmp_path), 1)
    assert [[e["n"] for e in s.entries] for s in chain] == [[1]]
    assert "segment 2 does not continue segment 1 (it starts a new chain" in chain[0].stopped
    assert chain_entries(tmp_path, 2) == [[2]]


def test_the_chain_follows_where_a_start_left_off(tmp_path):
    """A start replayed segment 1 and segment 2 up to a damaged line, and did not apply
    segment 3; its own segment 4 continues segment 2 there. Recovery from image 1 later
    follows the same chain: 1, 2 up to the damage, 4."""
    written(tmp_path, "no", [{"n": 1}], [{"n": 2}, {"n": 3}], [{"n": 9}])
    path = str(tmp_path / segments.segment_name(2))
    data = open(path, "rb").read()
    at = data.index(b'{"n":3')
    with open(path, "wb") as f:
        f.write(data[:at + 5] + b"8" + data[at + 6:])
    chain = segments.entries_after(str(tmp_path), 1)
    assert [[e["n"] for e in s.entries] for s in chain] == [[1], [2]]
    assert "damaged line 3" in chain[-1].stopped
    after = segments.chain_end(chain, 2)
    assert after == (2, at)
    j = journal.open_journal(str(tmp_path), "no", 4, after=after)
    journal.append(j, {"n": 4})
    journal.close(j)
    chain = segments.entries_after(str(tmp_path), 1)
    assert [[e["n"] for e in s.entries] for s in chain] == [[1], [2], [4]]
    assert "segment(s) 3 (1 line(s)) not applied: segment 4 continues this one" in \
        chain[1].stopped
    # a start that stopped at an entry it could not apply: the chain is cut there too
    j = journal.open_journal(str(tmp_path), "no", 5, after=(2, segments.read_segment(path, 2).start))
    journal.close(j)
    assert chain_entries(tmp_path, 1) == [[1], [], []]


# ---------------------------------------------------------------------------
# Writing: group commit, when_durable, rotation off the loop


def test_always_tells_nobody_before_one_fsync_per_loop_turn(tmp_path, monkeypatch):
    j = journal.open_journal(str(tmp_path), "always", 1)
    assert wait_until(lambda: not j.syncing and not j.scheduled)
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    told = []
    for n in range(5):
        journal.append(j, {"n": n})
        journal.when_durable(j, lambda n=n: told.append(n))
    assert told == []                    # nothing acknowledged before the fsync
    assert wait_until(lambda: len(told) == 5)
    assert told == [0, 1, 2, 3, 4] and synced == [j.fd]
    journal.when_durable(j, lambda: told.append("now"))   # nothing pending: at once
    assert told[-1] == "now"
    journal.close(j)
    assert chain_entries(tmp_path, 1) == [[0, 1, 2, 3, 4]]


def test_callbacks_keep_their_order_across_fsyncs(tmp_path, monkeypatch):
    gate = _lock()
    gate.acquire()
    real_fsync = os.fsync

    def held(fd):
        if _thread_id() != MAIN and gate.acquire(timeout=10):
            gate.release()
        return real_fsync(fd)
    j = journal.open_journal(str(tmp_path), "always", 1)
    monkeypatch.setattr(os, "fsync", held)
    told = []
    journal.append(j, {"n": 1})
    journal.when_durable(j, lambda: told.append(1))
    assert wait_until(lambda: j.syncing)
    journal.when_durable(j, lambda: told.append(2))      # nothing new, but one in flight
    journal.append(j, {"n": 3})
    journal.when_durable(j, lambda: told.append(3))
    gevent.sleep(0.01)
    assert told == []
    gate.release()
    assert wait_until(lambda: told == [1, 2, 3])
    journal.close(j)


def test_everysec_and_no_tell_at_once(tmp_path):
    for policy in ("everysec", "no"):
        j = journal.open_journal(str(tmp_path / policy), policy, 1)
        told = []
        journal.append(j, {"n": 1})
        journal.when_durable(j, lambda: told.append(1))
        assert told == [1]
        journal.sync(j)
        journal.close(j)
        assert chain_entries(tmp_path / policy, 1) == [[1]]


def test_rotate_splits_segments_and_prune_follows_the_images(tmp_path):
    j = journal.open_journal(str(tmp_path), "everysec", 1)
    journal.append(j, {"n": 1})
    journal.rotate(j, 2)
    journal.append(j, {"n": 2})
    journal.close(j)
    assert chain_entries(tmp_path, 2) == [[2]]
    assert chain_entries(tmp_path, 1) == [[1], [2]]
    second = segments.read_segment(str(tmp_path / segments.segment_name(2)), 2)
    first = segments.read_segment(str(tmp_path / segments.segment_name(1)), 1)
    assert second.header["prev"] == 1 and second.header["prev_bytes"] == first.size
    assert oct(os.stat(tmp_path / segments.segment_name(2)).st_mode & 0o777) == "0o600"
    journal.prune(str(tmp_path), 2)
    assert [s for s, _ in segments.list_segments(str(tmp_path))] == [2]


@pytest.mark.parametrize("policy", ["always", "everysec", "no"])
def test_rotate_fsyncs_nothing_on_the_loop(tmp_path, monkeypatch, policy):
    """The old segment's fsync and the folder's run in the thread pool; with ``always``
    nothing appended after the rotation is acknowledged before they returned."""
    gate = _lock()
    gate.acquire()
    real_fsync = os.fsync
    on_loop, in_threads = [], []

    def spy(fd):
        if _thread_id() == MAIN:
            on_loop.append(fd)
        else:
            in_threads.append(fd)
            if gate.acquire(timeout=10):
                gate.release()
        return real_fsync(fd)
    j = journal.open_journal(str(tmp_path), policy, 1)
    assert wait_until(lambda: not j.syncing and not j.scheduled)
    journal.append(j, {"n": 1})
    monkeypatch.setattr(os, "fsync", spy)
    old = j.fd
    journal.rotate(j, 2)
    told = []
    journal.append(j, {"n": 2})
    journal.when_durable(j, lambda: told.append(2))
    assert on_loop == []
    assert os.fstat(old)                               # open until its fsync returned
    if policy == "always":
        assert wait_until(lambda: in_threads) and told == []
    gate.release()
    assert wait_until(lambda: told == [2] and not j.syncing and not j.scheduled)
    assert on_loop == [] and (old in in_threads) == (policy != "no")
    with pytest.raises(OSError):
        os.fstat(old)                                   # closed after its fsync
    journal.close(j)
    assert chain_entries(tmp_path, 1) == [[1], [2]]


@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_rotate_while_an_fsync_is_in_flight_closes_the_old_segment_after_it(tmp_path, monkeypatch,
                                                                          policy):
    # The thread pool's fsync of the old segment is held until the loop has rotated:
    # closing the old descriptor under it would fail it (EBADF) and fail the journal.
    gate = _lock()
    gate.acquire()
    real_fsync = os.fsync

    def held_in_threads(fd):
        if _thread_id() != MAIN and gate.acquire(timeout=10):   # a turnstile
            gate.release()
        return real_fsync(fd)
    failures = []
    j = journal.open_journal(str(tmp_path), policy, 1, on_failure=failures.append)
    assert wait_until(lambda: not j.syncing and not j.scheduled)
    monkeypatch.setattr(os, "fsync", held_in_threads)
    told = []
    journal.append(j, {"n": 1})
    journal.when_durable(j, lambda: told.append(1))
    syncing = gevent.spawn(journal.sync, j) if policy == "everysec" else None
    assert wait_until(lambda: j.syncing)
    old = j.fd
    journal.rotate(j, 2)
    journal.append(j, {"n": 2})
    journal.when_durable(j, lambda: told.append(2))
    assert j.olds == [old] and os.fstat(old)       # still open under the fsync
    gate.release()
    assert wait_until(lambda: not j.syncing and told == [1, 2] and not j.olds)
    if syncing is not None:
        syncing.join(5)
    with pytest.raises(OSError):
        os.fstat(old)
    journal.close(j)
    assert failures == [] and j.failures == 0
    assert chain_entries(tmp_path, 1) == [[1], [2]]


def test_unknown_policy_is_refused(tmp_path):
    with pytest.raises(ValueError, match="always, everysec, no"):
        journal.open_journal(str(tmp_path), "sometimes", 1)


def test_a_segment_is_never_opened_twice(tmp_path):
    written(tmp_path, "no", [{"n": 1}])
    with pytest.raises(FileExistsError):
        journal.open_journal(str(tmp_path), "no", 1)
    assert chain_entries(tmp_path, 1) == [[1]]


# ---------------------------------------------------------------------------
# Failures


def test_a_failed_fsync_holds_everything_until_an_image_covers_it(tmp_path, monkeypatch):
    failures = []
    j = journal.open_journal(str(tmp_path), "always", 1, on_failure=failures.append)
    assert wait_until(lambda: not j.syncing and not j.scheduled)
    real_fsync = os.fsync

    def broken(fd):
        raise OSError(errno.EIO, "I/O error")
    monkeypatch.setattr(os, "fsync", broken)
    told = []
    journal.append(j, {"n": 1})
    journal.when_durable(j, lambda: told.append(1))
    assert wait_until(lambda: failures)
    assert told == [] and len(failures) == 1 and j.failures == 1 and j.failed is failures[0]
    # While failed: appends write nothing (and never raise), acknowledgements wait.
    size = os.path.getsize(tmp_path / segments.segment_name(1))
    journal.append(j, {"n": 2})
    journal.when_durable(j, lambda: told.append(2))
    assert j.lost == 1 and told == [] and len(j.held) == 2
    assert os.path.getsize(tmp_path / segments.segment_name(1)) == size
    assert "poker_journal_failed 1" in journal.metrics_lines(j)
    assert journal.image_written(j, 1) is False       # an older image covers nothing
    monkeypatch.setattr(os, "fsync", real_fsync)
    # The server takes an image: its loop turn re-opens the journal (a new chain).
    journal.rotate(j, 3)
    journal.append(j, {"n": 3})
    journal.when_durable(j, lambda: told.append(3))
    gevent.sleep(0.01)
    assert told == [] and j.failed is None            # held until image 3 is durable
    assert journal.image_written(j, 3) is True
    assert wait_until(lambda: told == [1, 2, 3])
    journal.close(j)
    assert segments.read_segment(str(tmp_path / segments.segment_name(3)), 3).header["prev"] \
        is None
    assert chain_entries(tmp_path, 3) == [[3]]
    assert failures == [failures[0]] and j.failures == 1


@pytest.mark.parametrize("policy", ["always", "everysec", "no"])
def test_a_failed_write_abandons_the_segment_with_its_half_line(tmp_path, monkeypatch, policy):
    """A short write then ENOSPC leaves half a line: nothing is ever appended after it."""
    failures = []
    j = journal.open_journal(str(tmp_path), policy, 1, on_failure=failures.append)
    journal.append(j, {"n": 1})
    assert wait_until(lambda: not j.syncing and not j.scheduled)
    real_write = os.write
    calls = []

    def full(fd, data):
        calls.append(fd)
        if len(calls) == 1:
            return real_write(fd, bytes(data[:7]))      # half a line
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "write", full)
    journal.append(j, {"n": 2, "text": "x" * 40})
    assert wait_until(lambda: failures)
    monkeypatch.setattr(os, "write", real_write)
    path = tmp_path / segments.segment_name(1)
    torn = path.read_bytes()
    for n in range(3, 6):
        journal.append(j, {"n": n})
    gevent.sleep(0.01)
    assert path.read_bytes() == torn and j.lost == 4
    segment = segments.read_segment(str(path), 1)
    assert [e["n"] for e in segment.entries] == [1]
    assert segment.stopped == "torn last line (7 bytes) ignored"
    journal.rotate(j, 2)                                 # the next image re-opens it
    journal.append(j, {"n": 6})
    journal.image_written(j, 2)
    journal.close(j)
    assert chain_entries(tmp_path, 1) == [[1]]           # 2 starts a new chain
    assert chain_entries(tmp_path, 2) == [[6]]


def test_a_segment_that_cannot_be_created_fails_the_journal_and_the_image(tmp_path, monkeypatch):
    failures = []
    j = journal.open_journal(str(tmp_path), "everysec", 1, on_failure=failures.append)
    journal.append(j, {"n": 1})
    real_open = os.open

    def read_only(path, flags, *a):
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(path, flags, *a)
    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(OSError, match="Read-only"):
        journal.rotate(j, 2)
    assert j.failed is not None and len(failures) == 1
    with pytest.raises(OSError, match="Read-only"):
        journal.rotate(j, 3)                             # still failed
    monkeypatch.setattr(os, "open", real_open)
    journal.rotate(j, 4)
    assert j.failed is None and journal.image_written(j, 4)
    journal.close(j)
    assert chain_entries(tmp_path, 1) == [[1]] and chain_entries(tmp_path, 4) == [[]]


def test_a_failed_folder_fsync_after_rotating_fails_the_journal(tmp_path, monkeypatch):
    failures = []
    j = journal.open_journal(str(tmp_path), "always", 1, on_failure=failures.append)
    assert wait_until(lambda: not j.syncing and not j.scheduled)
    real_fsync = os.fsync

    def no_folder(fd):
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            raise OSError(errno.EIO, "I/O error")
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", no_folder)
    journal.rotate(j, 2)
    told = []
    journal.append(j, {"n": 1})
    journal.when_durable(j, lambda: told.append(1))
    assert wait_until(lambda: failures) and told == []
    journal.close(j)


def test_metrics_have_one_prefix_and_a_type_each(tmp_path):
    j = journal.open_journal(str(tmp_path), "no", 1)
    lines = journal.metrics_lines(j)
    journal.close(j)
    names = [line.split()[0] for line in lines if not line.startswith("#")]
    assert all(n.startswith("poker_journal_") for n in names)
    assert [line for line in lines if line.startswith("# TYPE")] == \
        [f"# TYPE {n} {'counter' if n.endswith('_total') else 'gauge'}" for n in names]
