"""An append-only journal of what changed the root since the last snapshot.

Snapshots alone give *eventual* durability: a crash loses everything since
the last image. The journal closes that gap the way Redis's AOF does. Every
change to the root is appended as one checksummed line; on start the server
loads the newest good snapshot and re-applies the journal written after it.
The files' format, and what recovery reads of them (each segment names the
one it continues), are :mod:`persistence.segments`; this is the writer.

Segments. ``journal-<seq>.jsonl`` holds the entries applied *after* snapshot
image ``seq`` was serialised: the server rotates to a new segment in the same
loop turn in which it serialises an image, so no entry is in both an image
and its segment. Recovery from image ``seq`` replays every segment numbered
``seq`` or higher, in order. Segments are removed together with the image
generations they follow, so falling back to an older image still finds its
journal.

Fsync policies (``--journal-fsync``):

- ``always``: nobody is told an action happened before it is on disk. The
  entries of one loop turn are written together and fsynced once (group
  commit, in gevent's thread pool so play goes on); the messages that
  acknowledge them are held until that fsync returns. A failed write or
  fsync acknowledges nothing and calls ``on_failure`` (the server stops:
  what was acknowledged is durable, and recovery starts from there).
- ``everysec``: lines are written at once and fsynced about once a second:
  a crash of the machine loses at most about a second (a crash of the
  process alone loses nothing the OS already holds).
- ``no``: lines are written at once; the OS decides when they reach disk.

"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable

from persistence.segments import encode_line, header_line, list_segments, segment_name

log = logging.getLogger("persistence.journal")

POLICIES = ("always", "everysec", "no")


# ---------------------------------------------------------------------------
# Writing


@dataclass
class Journal:
    """An open journal folder (plain data; the functions below act on it)."""

    directory: str
    policy: str
    seq: int = 0
    fd: int = -1
    size: int = 0                # bytes written to the segment, its header included
    pending: list[bytes] = field(default_factory=list)
    waiting: list[Callable[[], None]] = field(default_factory=list)
    scheduled: bool = False
    syncing: bool = False        # an fsync is in flight in the thread pool
    failed: BaseException | None = None
    on_failure: Callable[[BaseException], None] | None = None
    entries: int = 0             # counters for /metrics
    fsyncs: int = 0
    failures: int = 0
    last_fsync: float = 0.0
    dirty: bool = False          # written but not fsynced (everysec)
    retired: list[int] = field(default_factory=list)   # old segments to close after the fsync in flight


def open_journal(directory: str, policy: str, seq: int,
                 on_failure: Callable[[BaseException], None] | None = None,
                 after: tuple[int, int] | None = None) -> Journal:
    """Create segment ``seq`` (call it in the loop turn that serialises image ``seq``).

    ``after`` is ``(segment, bytes)``: where the replay at start left off
    (:func:`persistence.segments.chain_end`), which the new segment names as the
    one it continues; None starts a new chain.
    """
    if policy not in POLICIES:
        raise ValueError(f"journal fsync policy must be one of {', '.join(POLICIES)}")
    os.makedirs(directory, exist_ok=True)
    j = Journal(directory, policy, on_failure=on_failure)
    _open_segment(j, seq, after)
    return j


def _open_segment(j: Journal, seq: int, after: tuple[int, int] | None) -> None:
    """Create segment ``seq`` with its header naming ``after``. Never opens an existing
    file (``O_EXCL``): a segment is never appended to twice."""
    path = os.path.join(j.directory, segment_name(seq))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    header = header_line(seq, *(after if after is not None else (None, None)))
    try:
        _write_all(fd, header)
    except BaseException:
        os.close(fd)
        raise
    j.fd, j.seq, j.size = fd, seq, len(header)
    _fsync_dir(j.directory)  # the new name itself must survive a crash


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append(j: Journal, entry: dict, then: Callable[[], None] | None = None) -> None:
    """Journal one change; run ``then`` (which tells people about it) once that is safe.

    Call it right after the change is applied to the root, before any I/O.
    With ``always`` the line is written and fsynced at the end of this loop
    turn together with the turn's other entries, and ``then`` runs after the
    fsync. Otherwise ``then`` runs at once.
    """
    if j.failed is not None:
        raise OSError(f"the journal failed earlier: {j.failed}")
    j.pending.append(encode_line(entry))
    j.entries += 1
    if j.policy != "always":
        _write_pending(j)
        if then is not None:
            then()
        return
    if then is not None:
        j.waiting.append(then)
    if not j.scheduled and not j.syncing:
        j.scheduled = True
        _schedule(j)


def when_durable(j: Journal, then: Callable[[], None]) -> None:
    """Run ``then`` once everything appended so far is durable, in the order asked.

    At once unless the policy is ``always`` and lines are waiting for (or in) their
    fsync; after a failure never (nothing more is acknowledged: the server stops).
    """
    if j.policy != "always" or not (j.pending or j.waiting or j.syncing or j.scheduled):
        then()
        return
    if j.failed is None:
        j.waiting.append(then)


def _schedule(j: Journal) -> None:
    # A new greenlet starts only when the current one yields to the loop, so
    # every entry appended in this loop turn joins the same commit. (Not a
    # hub callback: the commit waits on the thread pool, and the hub cannot.)
    import gevent
    gevent.spawn(_commit, j)


def _write_pending(j: Journal) -> None:
    if not j.pending:
        return
    data = b"".join(j.pending)
    j.pending.clear()
    _write_all(j.fd, data)
    j.size += len(data)
    j.dirty = True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _commit(j: Journal) -> None:
    """Group commit: write this turn's lines, fsync once off the loop, then tell people."""
    import gevent
    j.scheduled = False
    if j.syncing or j.failed is not None:
        return
    waiting, j.waiting = j.waiting, []
    j.syncing = True
    try:
        _write_pending(j)
        j.dirty = False      # before: a line written during the fsync makes it dirty again
        gevent.get_hub().threadpool.apply(os.fsync, (j.fd,))
        j.fsyncs += 1
        j.last_fsync = time.time()
    except BaseException as e:  # noqa: BLE001 - nothing is acknowledged after a failure
        _fail(j, e)
        return
    finally:
        _synced(j)
    for then in waiting:
        then()
    if j.pending or j.waiting:  # entries that arrived during the fsync: the next batch
        j.scheduled = True
        _schedule(j)


def _fail(j: Journal, error: BaseException) -> None:
    # After a failed fsync the kernel may have dropped the dirty pages: a
    # retried fsync could "succeed" without the data. Never retry; stop.
    j.failed = error
    j.failures += 1
    j.pending.clear()
    j.waiting.clear()
    log.critical("journal: write or fsync failed, acknowledging nothing more: %s", error)
    if j.on_failure is not None:
        j.on_failure(error)


def _synced(j: Journal) -> None:
    """The fsync in flight returned: close the segments rotated away meanwhile."""
    j.syncing = False
    while j.retired:
        os.close(j.retired.pop())


def sync(j: Journal) -> None:
    """Fsync what was written (the ``everysec`` tick, and before a clean stop)."""
    import gevent
    if j.failed is not None or j.fd < 0 or j.syncing:
        return
    _write_pending(j)
    if not j.dirty:
        return
    j.syncing = True
    j.dirty = False          # before: a line written during the fsync makes it dirty again
    try:
        gevent.get_hub().threadpool.apply(os.fsync, (j.fd,))
        j.fsyncs += 1
        j.last_fsync = time.time()
    except OSError as e:
        _fail(j, e)
    finally:
        _synced(j)


def run_everysec(j: Journal) -> None:
    """The ``everysec`` greenlet: fsync about once a second while there is something new."""
    import gevent
    while j.failed is None and j.fd >= 0:
        gevent.sleep(1.0)
        sync(j)


def rotate(j: Journal, seq: int) -> None:
    """Start segment ``seq``: call it in the loop turn that serialises snapshot image ``seq``.

    Lines already appended belong to the old segment (the image includes
    their changes but recovery from an older image still needs them); the new
    segment names the old one and its length.
    """
    # Pending lines go to the old segment, which is fsynced here before it is
    # closed: the next group commit fsyncs the new segment only.
    _write_pending(j)
    old = j.fd
    _open_segment(j, seq, (j.seq, j.size))
    if old >= 0:
        try:
            if j.policy != "no":
                os.fsync(old)
        finally:
            # A thread may still have an fsync of it to run (a group commit, the
            # everysec tick): closing it now could make that fsync fail (EBADF) or,
            # once the number is reused, sync another file. The fsync closes it.
            if j.syncing:
                j.retired.append(old)
            else:
                os.close(old)


def close(j: Journal) -> None:
    """Write and fsync what is pending, and close the segment (on a clean stop)."""
    if j.fd < 0:
        return
    if j.failed is None:
        _write_pending(j)
        if j.policy != "no":
            try:
                os.fsync(j.fd)
            except OSError as e:
                _fail(j, e)
    if j.syncing:           # see rotate
        j.retired.append(j.fd)
    else:
        os.close(j.fd)
    j.fd = -1


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

    >>> [line for line in metrics_lines(Journal("/x", "always")) if "failures" in line]
    ['# TYPE poker_journal_failures_total counter', 'poker_journal_failures_total 0']
    """
    age = time.time() - j.last_fsync if j.last_fsync else 0.0
    rows = [
        ("journal_entries_total", "counter", j.entries),
        ("journal_fsyncs_total", "counter", j.fsyncs),
        ("journal_failures_total", "counter", j.failures),
        ("journal_fsync_age_seconds", "gauge", f"{age:.3f}"),
    ]
    out = []
    for name, kind, value in rows:
        out += [f"# TYPE poker_{name} {kind}", f"poker_{name} {value}"]
    return out
