"""An append-only journal of what changed the root since the last snapshot image.

Snapshots alone give *eventual* durability: a crash loses everything since
the last image. The journal closes that gap the way Redis's AOF does. Every
change to the root is appended as one checksummed line; on start the server
loads the newest good image and re-applies the journal written after it. The
files' format and what recovery reads are :mod:`persistence.segments`.

What the server calls (all on the loop):

- :func:`open_journal` once, in the loop turn of the first image;
- :func:`append` for every change, right after it is applied to the root;
- :func:`when_durable` to hold a message until what it tells is on disk;
- :func:`rotate` in the loop turn of every later image (``on_serialised``):
  it starts segment ``seq``, which names the segment it continues; the old
  segment's fsync and the folder's run in the thread pool;
- :func:`image_written` once image ``seq`` is durable (``on_written``);
- :func:`close` on a clean stop; :func:`metrics_lines` for ``/metrics``.

Fsync policies:

- ``always``: nobody is told an action happened before it is on disk. The
  lines of one loop turn are written together and fsynced once in gevent's
  thread pool (group commit); callbacks given to :func:`when_durable` run
  after the fsync that covers everything appended before them, in order.
- ``everysec``: lines are written at once and fsynced about once a second
  (:func:`run_everysec`); callbacks run at once.
- ``no``: lines are written at once; the OS decides when they reach the disk.

Failures. A failed write or fsync (of a segment or of the folder) is never
retried: the journal **fails** (``j.failed``, ``on_failure(error)`` on the
loop). The segment is abandoned as it is (a half-written last line is never
appended to). Until the server takes a new image, :func:`append` writes
nothing (counted in ``j.lost``: those changes are in the root only) and, with
``always``, :func:`when_durable` holds every callback. The next image's
:func:`rotate` (or :func:`reopen`) starts a fresh segment that begins a new
chain (it applies only on that image); once that image is durable,
:func:`image_written` releases the held callbacks (after the new segment's
fsync) and returns True: the server may resume play.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable

from persistence import files
from persistence.segments import encode_line, header_line, list_segments, segment_name

log = logging.getLogger("persistence.journal")

POLICIES = ("always", "everysec", "no")


@dataclass
class Journal:
    """An open journal folder (plain data; the functions below act on it)."""

    directory: str
    policy: str
    seq: int = 0                 # the segment being written
    fd: int = -1                 # its descriptor; -1 once failed or closed
    size: int = 0                # bytes written to it, its header included
    pending: list[bytes] = field(default_factory=list)   # always: this turn's lines
    waiting: list[Callable[[], None]] = field(default_factory=list)  # for the next fsync
    held: list[Callable[[], None]] = field(default_factory=list)     # since a failure
    held_until: int | None = None    # held callbacks run once this image is durable
    olds: list[int] = field(default_factory=list)    # rotated-away segments, to fsync and close
    dir_dirty: bool = False      # a new segment's name is not durable yet
    dirty: bool = False          # written to the current segment, not fsynced
    closing: list[int] = field(default_factory=list)  # to close once no thread uses them
    scheduled: bool = False      # a flush greenlet is spawned and has not started
    syncing: bool = False        # a flush is running (its fsyncs may be in the thread pool)
    closed: bool = False
    failed: BaseException | None = None
    on_failure: Callable[[BaseException], None] | None = None
    guard: Callable[[], None] | None = None   # thread side, after each fsync: raises if unsafe
    entries: int = 0             # counters for /metrics
    fsyncs: int = 0
    failures: int = 0
    lost: int = 0                # entries appended while failed (or torn by the failure)
    last_fsync: float = 0.0


def open_journal(directory: str, policy: str, seq: int,
                 on_failure: Callable[[BaseException], None] | None = None,
                 after: tuple[int, int] | None = None,
                 guard: Callable[[], None] | None = None) -> Journal:
    """Create segment ``seq`` (call it in the loop turn that serialises image ``seq``).

    ``after`` is ``(segment, bytes)``: where the replay at start left off
    (:func:`persistence.segments.chain_end`), which the new segment names as the
    one it continues; None starts a new chain. ``guard()`` runs in the thread
    after every fsync and raises ``OSError`` when writing on is unsafe (the
    server's: the folder's lock is no longer its own); that fails the journal
    as a failed fsync does. Raises ``OSError`` if the segment cannot be created.
    """
    if policy not in POLICIES:
        raise ValueError(f"journal fsync policy must be one of {', '.join(POLICIES)}")
    os.makedirs(directory, exist_ok=True)
    j = Journal(directory, policy, on_failure=on_failure, guard=guard)
    _start_segment(j, seq, after)
    _schedule(j)
    return j


def _start_segment(j: Journal, seq: int, after: tuple[int, int] | None) -> None:
    """Create segment ``seq`` with its header; the journal writes there from now on.
    Never opens an existing file (``O_EXCL``): a segment is never appended to twice."""
    path = os.path.join(j.directory, segment_name(seq))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
                 | getattr(os, "O_CLOEXEC", 0), 0o600)
    header = header_line(seq, *(after if after is not None else (None, None)))
    try:
        files.write_all(fd, header)
    except BaseException:
        files.close(fd)
        raise
    j.fd, j.seq, j.size = fd, seq, len(header)
    j.dirty = j.dir_dirty = True     # the new name and its header: fsynced by the next flush


# ---------------------------------------------------------------------------
# Appending, and acknowledging once durable


def append(j: Journal, entry: dict) -> None:
    """Journal one change. Call it right after the change is applied to the root,
    before any I/O. Never raises: a failure is reported through ``on_failure``."""
    if j.failed is not None or j.fd < 0:
        j.lost += 1      # in the root only: the next image covers it
        return
    j.pending.append(encode_line(entry))
    j.entries += 1
    if j.policy == "always":
        _schedule(j)     # written and fsynced with this loop turn's other lines
    else:
        _write_pending(j)


def when_durable(j: Journal, callback: Callable[[], None]) -> None:
    """Run ``callback`` once everything appended so far is durable; callbacks run in
    the order given.

    At once unless the policy is ``always`` and lines are pending or in flight;
    then after the fsync that covers them. After a failure (``always``) the
    callback is held until an image taken after the failure is durable
    (:func:`image_written`).
    """
    if j.policy != "always":
        callback()
    elif j.failed is not None or j.held:
        j.held.append(callback)
    elif (j.pending or j.dirty or j.olds or j.dir_dirty or j.waiting or j.syncing
          or j.scheduled):
        j.waiting.append(callback)
        _schedule(j)
    else:
        callback()


def _schedule(j: Journal) -> None:
    # A new greenlet starts only when the current one yields to the loop, so every
    # line appended in this loop turn joins the same commit. (Not a hub callback:
    # the flush waits on the thread pool, and the hub cannot.) A flush running now
    # looks for more work when its fsync returns.
    if j.scheduled or j.syncing:
        return
    import gevent
    j.scheduled = True
    gevent.spawn(_flush, j)


def _write_pending(j: Journal) -> None:
    if not j.pending:
        return
    data = b"".join(j.pending)
    count = len(j.pending)
    j.pending.clear()
    try:
        files.write_all(j.fd, data)
    except OSError as e:
        # Some of it may be in the file: the segment is abandoned, never appended to.
        j.lost += count
        _fail(j, e)
        return
    j.size += len(data)
    j.dirty = True


def _flush(j: Journal) -> None:
    """Write what is pending, fsync (in the thread pool) the rotated-away segments, the
    folder and the current segment, close the old segments, run the callbacks; again
    while there is more to do. One flush runs at a time."""
    j.scheduled = False
    if j.syncing:
        return
    j.syncing = True
    try:
        while _flush_once(j):
            pass
    finally:
        j.syncing = False
        _close_all(j.closing)   # abandoned while the flush was in the thread pool


def _flush_once(j: Journal) -> bool:
    import gevent
    if j.failed is not None:
        return False
    _write_pending(j)
    if j.failed is not None:
        return False
    olds, j.olds = j.olds, []
    sync_dir, j.dir_dirty = j.dir_dirty, False
    fsync = j.policy != "no"
    fds = list(olds) if fsync else []
    current = j.fd if j.dirty and fsync and j.fd >= 0 else None
    j.dirty = False          # before: a line written during the fsync makes it dirty again
    waiting, j.waiting = j.waiting, []
    if fds or sync_dir or current is not None:
        try:
            gevent.get_hub().threadpool.apply(
                _sync, (fds, j.directory if sync_dir else None, current,
                        os.path.join(j.directory, segment_name(j.seq)), j.guard))
        except Exception as e:  # noqa: BLE001 - whatever it is, nothing more is acknowledged
            j.waiting[:0] = waiting
            j.closing.extend(olds)
            _fail(j, e)
            return False
        j.fsyncs += 1
        j.last_fsync = time.time()
    _close_all(olds)         # no thread uses them any more
    for callback in waiting:
        try:
            callback()
        except Exception:  # noqa: BLE001 - one receiver's bug must not stop the others
            log.exception("journal: a when_durable callback failed")
    return bool(j.pending or j.waiting or j.olds or j.dir_dirty
                or (j.policy == "always" and j.dirty))


def _sync(olds: list[int], directory: str | None, current: int | None,
          path: str | None = None, guard: Callable[[], None] | None = None) -> None:
    """Thread side: the old segments, the folder (a new segment's name), the current one;
    then check that ``path`` is still the current segment's file and run ``guard``."""
    for fd in olds:
        os.fsync(fd)
    if directory is not None:
        files.fsync_dir(directory)
    if current is not None:
        os.fsync(current)
        if path is not None:
            files.same_file(current, path, "journal segment")
    if guard is not None:
        guard()


def _close_all(fds: list[int]) -> None:
    while fds:
        try:
            files.close(fds.pop())
        except OSError:
            pass


def _fail(j: Journal, error: BaseException) -> None:
    """Never retry (after a failed fsync the kernel may have dropped the dirty pages, and
    a second fsync would report success for data that is not on disk): abandon the
    segment, hold every acknowledgement, tell the server."""
    if j.failed is not None:
        return
    j.failed = error
    j.failures += 1
    j.lost += len(j.pending)
    j.pending.clear()
    j.held.extend(j.waiting)
    j.waiting.clear()
    j.held_until = None
    abandoned = j.olds + ([j.fd] if j.fd >= 0 else [])
    j.olds, j.fd, j.dirty, j.dir_dirty = [], -1, False, False
    if j.syncing:            # a thread may still fsync one of them: closed after it
        j.closing.extend(abandoned)
    else:
        _close_all(abandoned)
    log.critical("journal: a write or fsync of segment %d failed; acknowledging nothing more "
                 "until an image is written: %s", j.seq, error)
    if j.on_failure is not None and not j.closed:   # (stopping: no image will heal it)
        try:
            j.on_failure(error)
        except Exception:  # noqa: BLE001 - the journal's state is what matters
            log.exception("journal: on_failure failed")


# ---------------------------------------------------------------------------
# Images: a new segment each, and healing after a failure


def rotate(j: Journal, seq: int) -> None:
    """Start segment ``seq``: call it in the loop turn that serialises image ``seq``.

    Lines appended so far go to the old segment (the image includes their
    changes, but recovery from an older image still needs them). The new
    segment names the old one and its length; the old one's fsync and the
    folder's run in the thread pool, and with ``always`` nothing appended after
    this is acknowledged before them. On a failed journal this is :func:`reopen`.
    Raises ``OSError`` if the new segment cannot be created (the journal has
    failed: the image should be abandoned).
    """
    if j.failed is not None or j.fd < 0:
        reopen(j, seq)
        return
    _write_pending(j)
    if j.failed is not None:
        reopen(j, seq)
        return
    old = j.fd
    try:
        _start_segment(j, seq, (j.seq, j.size))
    except OSError as e:
        _fail(j, e)
        raise
    j.olds.append(old)
    _schedule(j)


def reopen(j: Journal, seq: int) -> None:
    """After a failure: start segment ``seq`` as a new chain (it applies only on image
    ``seq``), in the loop turn that serialises image ``seq``; the journal writes again.
    Callbacks held since the failure wait until image ``seq`` (or a later one) is
    durable. Raises ``OSError`` if the segment cannot be created (still failed)."""
    if j.fd >= 0 and j.failed is None:
        raise ValueError("reopen: the journal has not failed (rotate it)")
    _start_segment(j, seq, None)
    j.failed = None
    if j.held:
        j.held_until = seq
    log.warning("journal: re-opened at segment %d after a failure (%d entries were not "
                "journaled; image %d holds them)", seq, j.lost, seq)
    _schedule(j)


def image_written(j: Journal, seq: int) -> bool:
    """Image ``seq`` is durable (call it from ``on_written``): callbacks held since a
    failure are released if it covers them. True when the journal is healthy again
    (not failed, nothing held): the server may resume play."""
    if j.held and j.held_until is not None and seq >= j.held_until and j.failed is None:
        j.waiting[:0] = j.held
        j.held.clear()
        j.held_until = None
        _schedule(j)         # they run after the fsync that covers what came after them
    return j.failed is None and not j.held


# ---------------------------------------------------------------------------
# everysec, a clean stop, pruning, metrics


def sync(j: Journal) -> None:
    """Fsync what was written, in this greenlet (the ``everysec`` tick)."""
    if j.failed is not None or j.fd < 0 or j.syncing or j.scheduled:
        return
    if j.pending or j.dirty or j.olds or j.dir_dirty:
        _flush(j)


def run_everysec(j: Journal) -> None:
    """The ``everysec`` greenlet: fsync about once a second while there is something new
    (a failed journal waits to be re-opened)."""
    import gevent
    while not j.closed:
        gevent.sleep(1.0)
        sync(j)


def close(j: Journal) -> None:
    """Write and fsync what is pending, and close the segment (on a clean stop; the
    fsyncs run on the loop: nothing else does any more)."""
    if j.closed:
        return
    j.closed = True
    if j.failed is None and j.fd >= 0:
        _write_pending(j)
    if j.failed is None and j.fd >= 0:
        try:
            if j.policy != "no":
                for fd in j.olds + [j.fd]:
                    os.fsync(fd)
            if j.dir_dirty:
                files.fsync_dir(j.directory)
        except OSError as e:
            _fail(j, e)
    fds = j.olds + ([j.fd] if j.fd >= 0 else [])
    j.olds, j.fd, j.dirty, j.dir_dirty = [], -1, False, False
    if j.syncing:
        j.closing.extend(fds)
    else:
        _close_all(fds)


def prune(directory: str, oldest_image_seq: int) -> list[str]:
    """Remove segments older than the oldest snapshot image kept: nothing can need them."""
    removed = []
    for seq, path in list_segments(directory):
        if seq < oldest_image_seq:
            os.remove(path)
            removed.append(path)
    return removed


def metrics_lines(j: Journal) -> list[str]:
    """Prometheus lines for /metrics, each after its ``# TYPE`` line.

    >>> [line for line in metrics_lines(Journal("/x", "always")) if "failed" in line]
    ['# TYPE poker_journal_failed gauge', 'poker_journal_failed 0']
    """
    age = time.time() - j.last_fsync if j.last_fsync else 0.0
    rows = [
        ("journal_entries_total", "counter", j.entries),
        ("journal_fsyncs_total", "counter", j.fsyncs),
        ("journal_failures_total", "counter", j.failures),
        ("journal_lost_entries_total", "counter", j.lost),
        ("journal_failed", "gauge", int(j.failed is not None)),
        ("journal_held_callbacks", "gauge", len(j.held)),
        ("journal_segment", "gauge", j.seq),
        ("journal_fsync_age_seconds", "gauge", f"{age:.3f}"),
    ]
    out = []
    for name, kind, value in rows:
        out += [f"# TYPE poker_{name} {kind}", f"poker_{name} {value}"]
    return out
