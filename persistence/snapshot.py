"""Writing snapshot images of the server's one in-memory root, crash-safely.

An image must be one consistent moment of every table. Two ways to take it:

- **forked** (``Snapshots.fork``, Redis's ``BGSAVE``): the loop only forks; the
  child's copy-on-write memory is the root at that instant, and the child
  serialises, checks and writes it while the loop plays on;
- **on the loop**: ``dump()`` and ``orjson.dumps`` run on the loop with no I/O
  (so no greenlet switch) in between; the check, the checksum, the write and
  the fsyncs run in gevent's thread pool.

Writing is atomic and durable: a temporary file in the same folder (mode
0600: images hold hole cards, decks and session tokens), written, fsynced,
renamed over its final name with ``os.replace``, then the folder is fsynced.
An image whose data fails ``Snapshots.check`` is never written (discarded and
counted). Older generations are deleted only after a new image is durable, and
images known to be bad never count as generations, so the newest good image
is never pruned. A failed write or fsync is never retried on the same file
(after a failed fsync the kernel may have dropped the dirty pages): the
temporary file is removed, the failure counted, the old images kept, and the
next attempt starts afresh.

The file format is :mod:`persistence.image`; recovery is :mod:`persistence.restore`.
Everything here is functions over plain data: :class:`Snapshots` holds the
configuration and counters of one snapshot folder. ``docs/snapshots.md``
describes it all.
"""

from __future__ import annotations

import fcntl
import gc
import logging
import math
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import gevent
import greenlet
import orjson
from gevent.event import Event
from gevent.lock import BoundedSemaphore

from persistence import files
from persistence.image import (TEMP_RE, check_problems, data_of, encode, image_name,
                               list_images, temp_name)

log = logging.getLogger("persistence.snapshot")

LOCK_NAME = ".lock"
REAP_SECONDS = 10.0      # how long to wait for a killed child to be reaped


class FolderInUse(RuntimeError):
    """Another server process holds the folder's lock."""


@dataclass
class Image:
    """What ``dump()`` may return instead of a plain value: the body, and the raw bytes of
    the ``lazy`` member (one serialised JSON value): parts of the state a start need not
    parse (the server's finished hands and chat lines).

    ``lazy`` may also be a function that makes those bytes from values that no
    longer change (``persistence.layout.join_lazy``): it is then called off the loop,
    in the thread pool or the forked child, with the write."""

    body: Any
    lazy: bytes | Callable[[], bytes]


def _made(lazy):
    return lazy() if callable(lazy) else lazy


@dataclass
class Fragments:
    """Serialised JSON of immutable values, by identity, carried from one image to the next.

    Serialising a busy root from scratch costs far more than the loop can
    spare; most of it (game tables, hand starts, finished hands) has not
    changed since the previous image. ``dump()`` may wrap such values in
    :func:`fragment`; :func:`take` then forgets whatever the image did not use.
    Only for values never changed in place: frozen dataclasses, dicts that are
    replaced rather than edited.
    """

    old: dict = field(default_factory=dict)
    new: dict = field(default_factory=dict)
    hits: int = 0
    misses: int = 0


def fragment(cache: Fragments | None, value, to_json: Callable[[Any], Any] | None = None):
    """``value`` as an ``orjson.Fragment``, serialised once while the same object lives.

    With ``cache`` None this is just ``to_json(value)`` (or ``value``).

    >>> c = Fragments()
    >>> t = (1, "a")
    >>> fragment(c, t) is fragment(c, t), c.hits, c.misses
    (True, 1, 1)
    >>> orjson.dumps({"t": fragment(c, t)})
    b'{"t":[1,"a"]}'
    """
    if cache is None:
        return to_json(value) if to_json is not None else value
    key = id(value)
    hit = cache.new.get(key) or cache.old.get(key)
    if hit is not None and hit[0] is value:
        cache.hits += 1
    else:
        cache.misses += 1
        # Copied to size: orjson's output carries its whole work buffer (8 KB and more),
        # and the cache keeps fragments from one image to the next.
        data = orjson.dumps(to_json(value) if to_json is not None else value)
        hit = (value, orjson.Fragment(bytes(memoryview(data))))
    cache.new[key] = hit   # holding the value keeps its id from being reused
    return hit[1]


def turn_over(cache: Fragments) -> None:
    """After an image: keep only the values it used (so the cache never outgrows the root)."""
    cache.old, cache.new = cache.new, {}


@dataclass
class Snapshots:
    """One snapshot folder: configuration, counters (read by /metrics) and hooks.

    ``check(data) -> list[str]`` (the server's invariant check, as recovery
    runs it) is run on every image's data before it is written: an image with
    problems is discarded and counted (``rejected``), never renamed into place.
    ``on_serialised(seq)`` runs on the loop right after the root is
    serialised for image ``seq``, before anything can switch greenlets (the
    journal starts its segment ``seq`` there). ``on_written(seq)`` runs on
    the loop once image ``seq`` is durable and old generations are pruned.
    """

    directory: str
    keep: int = 3
    seq: int = 0                          # last sequence number used (only grows)
    last_ok_seq: int | None = None
    last_ok_time: float | None = None     # wall time of the newest durable image
    last_blocked_s: float = 0.0           # loop blocked serialising the root, last image
    last_write_s: float = 0.0             # check + checksum + write + fsyncs + rename, last attempt
    last_duration_s: float = 0.0          # both, last attempt
    last_check_s: float = 0.0             # the check of the last image's data
    last_bytes: int = 0
    written: int = 0
    failures: int = 0
    rejected: int = 0                     # images discarded because their data failed check
    last_error: str | None = None
    failures_at_ok: int = 0               # ``failures`` when the newest image was written
    lock_fd: int | None = None
    fork: bool = False                    # serialise and write in a forked child (see take)
    child_timeout: float = 300.0          # a child that has not reported by then is killed
    last_serialise_s: float = 0.0         # the child's serialisation, last forked image
    child_pid: int | None = None          # the forked child writing an image, while it runs
    check: Callable[[Any], list[str]] | None = field(default=None, repr=False)
    bad: set[int] = field(default_factory=set)   # images recovery passed over: never generations
    fragments: Fragments = field(default_factory=Fragments, repr=False)
    on_serialised: Callable[[int], None] | None = field(default=None, repr=False)
    on_written: Callable[[int], None] | None = field(default=None, repr=False)
    busy: BoundedSemaphore = field(default_factory=BoundedSemaphore, repr=False)  # one at a time
    stop: Event = field(default_factory=Event, repr=False)  # set: the periodic loop ends


def open_dir(directory: str, keep: int = 3) -> Snapshots:
    """Make the folder (0700), lock it against a second server, remove stray temp files,
    and continue the sequence from the highest image name on disk (valid or not)."""
    if keep < 1:
        raise ValueError("snapshot-keep must be at least 1")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if os.stat(directory).st_mode & 0o077:
        log.warning("snapshot folder %s can be read by other users: images hold hole cards, "
                    "decks and session tokens (chmod 700 it)", directory)
    lock_fd = _lock(directory)
    if lock_fd is None:
        raise FolderInUse(f"snapshot folder {directory} is in use by another server "
                          "process (its .lock is held)")
    removed = remove_temps(directory)
    if removed:
        log.warning("snapshot: removed %d stray temporary file(s) from an interrupted write: %s",
                    len(removed), ", ".join(removed))
    images = list_images(directory)
    return Snapshots(directory=directory, keep=keep, seq=images[0][0] if images else 0,
                     lock_fd=lock_fd)


def _lock(directory: str) -> int | None:
    """Open (or make) the folder's ``.lock`` and lock it: its descriptor, or None when
    another process holds it. Raises ``OSError`` if it cannot be opened."""
    fd = os.open(os.path.join(directory, LOCK_NAME),
                 os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        files.close(fd)
        return None
    return fd


def lock_held(snaps: Snapshots) -> None:
    """Raise ``OSError`` unless the folder's ``.lock`` is still the file this server locked
    (removed or replaced, a second server could lock the new one and write here too).
    Read-only: the journal runs it in the thread pool after each fsync."""
    if snaps.lock_fd is not None:
        files.same_file(snaps.lock_fd, os.path.join(snaps.directory, LOCK_NAME), "folder lock")


def relock(snaps: Snapshots) -> str | None:
    """Before an image: if the ``.lock`` was removed or replaced, lock the folder again;
    the reason it cannot be (another server holds the new lock), or None."""
    try:
        lock_held(snaps)
        return None
    except OSError as e:
        lost = str(e)
    try:
        fd = _lock(snaps.directory)
    except OSError as e:
        return f"{lost}, and it cannot be made again: {e}"
    if fd is None:
        return f"{lost}, and another process holds the new one: this server writes no more"
    files.close(snaps.lock_fd)
    snaps.lock_fd = fd
    log.warning("snapshot: %s; locked the folder again", lost)
    return None


def close_dir(snaps: Snapshots) -> None:
    """Release the folder's lock (tests; a process exiting releases it anyway)."""
    if snaps.lock_fd is not None:
        files.close(snaps.lock_fd)
        snaps.lock_fd = None


def remove_temps(directory: str) -> list[str]:
    """Delete temporary files left by an interrupted write; return their names."""
    removed = []
    for name in sorted(os.listdir(directory)):
        if TEMP_RE.match(name):
            try:
                os.unlink(os.path.join(directory, name))
                removed.append(name)
            except FileNotFoundError:
                pass
    if removed:
        files.fsync_dir(directory)
    return removed


# ---------------------------------------------------------------------------
# Writing (runs in a worker thread or the forked child: touches only files and its arguments)


def write_image(directory: str, seq: int, chunks) -> str:
    """Write one image atomically and durably; return its path.

    On any error the temporary file is removed and the error raised; an image
    already in place under the final name is never touched. If only the
    folder's fsync fails, the renamed image stays (its checksum decides at
    recovery) and the error is raised: it is not known to be durable.
    """
    final = os.path.join(directory, image_name(seq))
    temp = os.path.join(directory, temp_name(seq, os.getpid()))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # whatever the umask: hole cards, decks, tokens
            for chunk in chunks:
                files.write_all(fd, chunk)
            os.fsync(fd)  # never retried: a failed fsync means a fresh file next time
        finally:
            files.close(fd)
        os.replace(temp, final)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    files.fsync_dir(directory)  # the rename itself is durable only after this
    return final


def prune(directory: str, keep: int, bad: set[int] | frozenset = frozenset()) -> list[str]:
    """Delete the images older than the newest ``keep`` generations; return their names.

    A generation is an image not known to be bad: images in ``bad`` (passed
    over by recovery) never count, so however many of them there are, the
    newest ``keep`` good images stay; a bad image goes once it is older than
    all of those. Nothing is deleted while fewer than ``keep`` generations exist.
    """
    images = list_images(directory)
    kept = [seq for seq, _ in images if seq not in bad][:max(keep, 1)]
    if len(kept) < max(keep, 1):
        return []
    removed = []
    for seq, path in images:
        if seq < kept[-1]:
            try:
                os.unlink(path)
                removed.append(os.path.basename(path))
            except FileNotFoundError:
                pass
    return removed


def _problem(check: Callable[[Any], list[str]] | None, body: bytes,
             lazy: bytes | None) -> str | None:
    """Why the image of ``body`` and ``lazy`` must not be written (None: it may)."""
    if check is None:
        return None
    try:
        data = data_of(body, lazy)
    except Exception as e:  # noqa: BLE001 - our own serialisation, unreadable: never write it
        return f"its own data does not parse: {e!r}"
    return check_problems(check, data)


def write_snapshot(directory: str, seq: int, when: float, body: bytes, keep: int,
                   lazy: bytes | Callable[[], bytes] | None = None,
                   check: Callable[[Any], list[str]] | None = None,
                   bad: set[int] | frozenset = frozenset()) -> dict:
    """The thread-side job: check, checksum, write, fsync, rename, fsync dir, then prune.

    Never raises (the thread pool would print the traceback): returns
    ``{"path", "pruned", "seconds", "bytes", "check_s"}`` or ``{"error", "seconds"}``
    (with ``"rejected": True`` when the data failed ``check``).
    """
    start = time.perf_counter()
    try:
        lazy = _made(lazy)
        checked = time.perf_counter()
        problem = _problem(check, body, lazy)
        check_s = time.perf_counter() - checked
        if problem:
            return {"error": f"the image failed its own check: {problem}", "rejected": True,
                    "seconds": time.perf_counter() - start, "check_s": check_s}
        path = write_image(directory, seq, encode(body, seq, when, lazy))
    except Exception as e:  # noqa: BLE001 - reported to the loop, which counts it
        return {"error": e, "seconds": time.perf_counter() - start}
    try:
        pruned = prune(directory, keep, bad)
    except OSError as e:  # the new image is durable: a failed cleanup is only logged
        log.warning("snapshot: could not delete old generations: %s", e)
        pruned = []
    return {"path": path, "pruned": pruned, "seconds": time.perf_counter() - start,
            "check_s": check_s, "bytes": len(body) + (len(lazy) if lazy is not None else 0)}


# ---------------------------------------------------------------------------
# The loop side


def take(snaps: Snapshots, dump: Callable[[], Any]) -> bool:
    """Take one snapshot now; True once it is durable. Call from a greenlet.

    ``dump()`` returns the root as data orjson can serialise (or an
    :class:`Image`). It and ``orjson.dumps`` run on the loop with no switch
    between them (or in a forked child). The rest waits in the thread pool or
    for the child while other greenlets run. Failures are counted and logged,
    never raised.
    """
    with snaps.busy:
        lost = relock(snaps)
        if lost is not None:
            snaps.failures += 1
            snaps.last_error = lost
            log.error("snapshot: no image: %s", lost)
            return False
        if snaps.fork and hasattr(os, "fork"):
            return _take_forked(snaps, dump)
        return _take(snaps, dump)


def _serialise(value) -> tuple[bytes, bytes | Callable[[], bytes] | None]:
    if isinstance(value, Image):
        return orjson.dumps(value.body), value.lazy
    return orjson.dumps(value), None


def _take(snaps: Snapshots, dump: Callable[[], Any]) -> bool:
    start = time.perf_counter()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a full collection in the middle would double the pause; nothing cycles here
    try:
        body, lazy = _serialise(dump())   # the consistent image: no I/O boundary in here
    except Exception as e:  # noqa: BLE001 - a bug in dump(): count it, keep serving
        snaps.failures += 1
        snaps.last_error = f"serialise: {e!r}"
        log.exception("snapshot: could not serialise the root")
        return False
    finally:
        if gc_was_enabled:
            gc.enable()
        turn_over(snaps.fragments)
    when = time.time()
    snaps.seq += 1  # used even if the write fails: a name is never reused
    seq = snaps.seq
    if not _serialised_hook(snaps, seq):
        return False
    blocked = time.perf_counter() - start
    result = gevent.get_hub().threadpool.apply(
        write_snapshot, (snaps.directory, seq, when, body, snaps.keep, lazy, snaps.check,
                         frozenset(snaps.bad)))
    snaps.last_blocked_s = blocked
    snaps.last_write_s = result["seconds"]
    snaps.last_duration_s = blocked + result["seconds"]
    snaps.last_check_s = result.get("check_s", 0.0)
    if "error" in result:
        return _failed(snaps, seq, result["error"], result.get("rejected", False))
    size = result["bytes"]
    log.debug("snapshot %d: %d bytes, loop blocked %.1f ms, write %.1f ms", seq, size,
              blocked * 1e3, result["seconds"] * 1e3)
    return _written(snaps, seq, when, size)


def _serialised_hook(snaps: Snapshots, seq: int) -> bool:
    """``on_serialised(seq)``, in the loop turn of the image; False: the image is abandoned."""
    if snaps.on_serialised is None:
        return True
    try:
        snaps.on_serialised(seq)
    except OSError as e:    # the journal could not start its segment: a failing disk
        snaps.failures += 1
        snaps.last_error = f"seq {seq}: on_serialised: {e!r}"
        log.error("snapshot %d abandoned: the journal could not start its segment: %s",
                  seq, e)
        return False
    except Exception as e:  # noqa: BLE001 - a bug: say where
        snaps.failures += 1
        snaps.last_error = f"seq {seq}: on_serialised: {e!r}"
        log.exception("snapshot %d abandoned: on_serialised hook failed", seq)
        return False
    return True


def _failed(snaps: Snapshots, seq: int, error, rejected: bool = False) -> bool:
    snaps.failures += 1
    snaps.rejected += bool(rejected)
    snaps.last_error = f"seq {seq}: {error if isinstance(error, str) else repr(error)}"
    log.error("snapshot %d failed (older images kept, next attempt uses a fresh file): %s",
              seq, error)
    return False


def _written(snaps: Snapshots, seq: int, when: float, size: int) -> bool:
    """Image ``seq`` is durable: count it, then the ``on_written`` hook."""
    snaps.written += 1
    snaps.failures_at_ok = snaps.failures
    snaps.last_ok_seq = seq
    snaps.last_ok_time = when
    snaps.last_bytes = size
    if snaps.on_written is not None:
        try:
            snaps.on_written(seq)
        except Exception:  # noqa: BLE001 - the image is durable whatever the hook does
            log.exception("snapshot: on_written hook failed")
    return True


def run_every(snaps: Snapshots, dump: Callable[[], Any], every: float) -> None:
    """Greenlet body: a snapshot every ``every`` seconds until :func:`final` is called.

    The interval runs from the end of one snapshot to the start of the next,
    so a slow disk never stacks writes up.
    """
    while not snaps.stop.wait(every):
        take(snaps, dump)


def final(snaps: Snapshots, dump: Callable[[], Any]) -> bool:
    """On graceful stop: end the periodic loop, wait for a write in flight, take the last one."""
    snaps.stop.set()
    ok = take(snaps, dump)
    if ok:
        log.info("snapshot: final image %d written", snaps.last_ok_seq)
    return ok


# ---------------------------------------------------------------------------
# The forked way (Redis's BGSAVE): the loop is blocked only for fork()


def _child_image(report_fd: int, directory: str, seq: int, when: float,
                 dump: Callable[[], Any], parent: int,
                 check: Callable[[Any], list[str]] | None) -> None:
    """The forked child: serialise the copy-on-write root, check it, write the image,
    report, exit.

    Runs in a copy of the process taken at one instant: only the thread that
    forked exists here, and any lock another thread held (gevent's hub,
    logging's, the thread pool's) stays held forever. So this touches only
    orjson, hashlib and plain ``os`` calls on its own file descriptors, never
    logging or gevent (descriptors are closed with the system's own ``close``,
    not gevent's), and always ends with ``os._exit`` (no atexit handlers, no
    stdio flushes, no gevent shutdown). The outcome travels back as one JSON
    object on ``report_fd``.
    """
    code = 1
    try:
        _die_with_parent(parent)
        # Only the report pipe (and stdio) stay open: the listening socket, the
        # clients' sockets, the journal, the folder lock all belong to the parent.
        os.closerange(3, report_fd)
        os.closerange(report_fd + 1, _MAX_FD)
        # The hub's greenlets are the parent's: if anything in dump() tried to switch to
        # one (a gevent call, a patched sleep), it would play the server's part in here.
        # Any switch ends the child at once, reporting why.
        greenlet.settrace(lambda event, args: _abort(report_fd, "a greenlet switch "
                                                     f"({event}) in the snapshot child"))
        gc.disable()   # a collection would touch (and so copy) every page of the heap
        start = time.perf_counter()
        try:
            body, lazy = _serialise(dump())
            lazy = _made(lazy)
        except Exception as e:  # noqa: BLE001 - reported: a bug in dump()
            report = {"error": f"serialise: {e!r}", "serialise_s": 0.0}
        else:
            serialised = time.perf_counter() - start
            problem = _problem(check, body, lazy)
            check_s = time.perf_counter() - start - serialised
            if problem:
                report = {"error": f"the image failed its own check: {problem}",
                          "rejected": True, "serialise_s": serialised, "check_s": check_s}
            else:
                try:
                    path = write_image(directory, seq, encode(body, seq, when, lazy))
                except Exception as e:  # noqa: BLE001 - reported to the parent, which counts it
                    report = {"error": repr(e), "serialise_s": serialised, "check_s": check_s}
                else:
                    size = len(body) + (len(lazy) if lazy is not None else 0)
                    report = {"path": path, "bytes": size, "serialise_s": serialised,
                              "check_s": check_s}
                    code = 0
        report["seconds"] = time.perf_counter() - start
        files.write_all(report_fd, orjson.dumps(report))
    except BaseException:  # noqa: BLE001 - nothing may escape the child: no report means failure
        code = 1
    finally:
        os._exit(code)


def _abort(report_fd: int, why: str) -> None:
    try:
        files.write_all(report_fd, orjson.dumps({"error": why}))
    finally:
        os._exit(1)


_MAX_FD = 1 << 16
try:
    _MAX_FD = max(os.sysconf("SC_OPEN_MAX"), 256)
except (OSError, ValueError):  # pragma: no cover
    pass

try:   # prctl(PR_SET_PDEATHSIG): Linux only, looked up once in the parent
    import ctypes
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError, ImportError):  # pragma: no cover
    _prctl = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """A child that outlived a killed server could rename a stale image over a new
    server's: the kernel kills it with its parent (Linux), else it gives up."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _read_report(fd: int, timeout: float) -> bytes | None:
    """Loop side: everything the child writes on the pipe until it exits (end of file);
    None if it has not within ``timeout`` seconds. Waits on the loop (an I/O watcher),
    so the wait is bounded and the loop plays on meanwhile."""
    import gevent.os
    gevent.os.make_nonblocking(fd)
    chunks = []
    with gevent.Timeout(timeout, False):
        while True:
            chunk = gevent.os.nb_read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    return None


def _reap(pid: int) -> int | None:
    """The child's exit status, waited for cooperatively (bounded); None if unknown."""
    import gevent.os
    with gevent.Timeout(REAP_SECONDS, False):
        try:
            return gevent.os.waitpid(pid, 0)[1]
        except ChildProcessError:   # reaped elsewhere: the report alone decides
            return None
    log.error("snapshot: child %d has not exited %.0f s after it was killed", pid, REAP_SECONDS)
    return None


def _fork() -> int:
    """``os.fork`` without gevent's re-initialisation in the child, with a child watcher
    in the parent so that :func:`gevent.os.waitpid` waits cooperatively."""
    import gevent.os
    return gevent.os.fork_and_watch(fork=gevent.os._raw_fork)


def _take_forked(snaps: Snapshots, dump: Callable[[], Any]) -> bool:
    """One image written by a forked child: the loop pays for ``fork()`` only.

    The child's memory is the root at the instant of the fork (copy-on-write),
    which is the consistent image: the child serialises, checks and writes it
    while the loop plays on. ``on_serialised`` runs just before the fork, in
    the same loop turn and with no switch in between, so the journal's new
    segment starts exactly where the image ends. Every wait on the child is
    bounded: one that has not reported within ``snaps.child_timeout`` is
    killed and the attempt counted as a failure.
    """
    start = time.perf_counter()
    snaps.seq += 1  # used even if the attempt fails: a name is never reused
    seq = snaps.seq
    when = time.time()
    if not _serialised_hook(snaps, seq):
        return False
    parent = os.getpid()
    try:
        read_fd, write_fd = os.pipe()
    except OSError as e:
        return _forked_failed(snaps, seq, start, f"pipe: {e!r}")
    # Signals wait until the child has closed everything it inherited: a handler
    # (gevent's wakes its loop through a pipe) must never run in the child.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        pid = _fork()
    except OSError as e:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        files.close(read_fd)
        files.close(write_fd)
        return _forked_failed(snaps, seq, start, f"fork: {e!r}")
    if pid == 0:   # the child; never returns
        files.close(read_fd)
        _child_image(write_fd, snaps.directory, seq, when, dump, parent, snaps.check)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    # Closed now, by the system's close: gevent's would wait for a later turn of the
    # loop, and the reader, waiting for end of file, might be all that turn waits for.
    files.close(write_fd)
    blocked = time.perf_counter() - start
    snaps.child_pid = pid
    raw = None
    try:
        raw = _read_report(read_fd, snaps.child_timeout)
    finally:
        files.close(read_fd)
        if raw is None:     # timed out (or this greenlet was killed): never leave it running
            _kill(pid)
        status = _reap(pid)
        snaps.child_pid = None
    snaps.last_blocked_s = blocked
    if raw is None:
        report = {"error": f"the snapshot child had not reported after {snaps.child_timeout:g} s: "
                           "killed"}
        _remove_child_temp(snaps.directory, seq, pid)
    else:
        try:
            report = orjson.loads(raw)
        except orjson.JSONDecodeError:
            how = (f"signal {os.WTERMSIG(status)}" if status is not None and os.WIFSIGNALED(status)
                   else f"status {status}")
            report = {"error": f"the snapshot child died without a report ({how})"}
            _remove_child_temp(snaps.directory, seq, pid)
    snaps.last_serialise_s = report.get("serialise_s", 0.0)
    snaps.last_check_s = report.get("check_s", 0.0)
    snaps.last_write_s = report.get("seconds", time.perf_counter() - start - blocked)
    snaps.last_duration_s = blocked + snaps.last_write_s
    if "error" in report:
        return _failed(snaps, seq, report["error"], report.get("rejected", False))
    try:
        pruned = gevent.get_hub().threadpool.apply(prune, (snaps.directory, snaps.keep,
                                                           frozenset(snaps.bad)))
    except OSError as e:  # the new image is durable: a failed cleanup is only logged
        log.warning("snapshot: could not delete old generations: %s", e)
        pruned = []
    log.debug("snapshot %d: %d bytes, loop blocked %.1f ms (fork), child %.1f ms; pruned %s",
              seq, report["bytes"], blocked * 1e3, snaps.last_write_s * 1e3, pruned)
    return _written(snaps, seq, when, report["bytes"])


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _forked_failed(snaps: Snapshots, seq: int, start: float, error: str) -> bool:
    snaps.last_blocked_s = time.perf_counter() - start
    return _failed(snaps, seq, error)


def _remove_child_temp(directory: str, seq: int, pid: int) -> None:
    """A child killed mid-write leaves its temporary file: remove it (start would too)."""
    try:
        os.unlink(os.path.join(directory, temp_name(seq, pid)))
    except OSError:
        pass


# ---------------------------------------------------------------------------
# Metrics


def metrics(snaps: Snapshots, now: float | None = None) -> dict:
    """Figures for /metrics: age of the newest durable image, last durations, failures."""
    now = time.time() if now is None else now
    age = now - snaps.last_ok_time if snaps.last_ok_time is not None else math.nan
    return {
        "snapshot_age_seconds": age,
        "snapshot_seq": snaps.last_ok_seq or 0,
        "snapshot_last_duration_seconds": snaps.last_duration_s,
        "snapshot_last_blocked_seconds": snaps.last_blocked_s,
        "snapshot_last_write_seconds": snaps.last_write_s,
        "snapshot_last_serialise_seconds": snaps.last_serialise_s,
        "snapshot_last_check_seconds": snaps.last_check_s,
        "snapshot_last_bytes": snaps.last_bytes,
        "snapshot_written_total": snaps.written,
        "snapshot_failures_total": snaps.failures,
        "snapshot_rejected_total": snaps.rejected,
    }


def health(snaps: Snapshots, now: float | None = None) -> dict:
    """For ``/healthz``: the newest durable image's age, and why the attempts since it
    failed (None while the last attempt succeeded).

    >>> health(Snapshots("/x", failures=1, last_error="seq 3: ENOSPC"), now=0.0)
    {'image_age_s': None, 'image_error': 'seq 3: ENOSPC'}
    """
    now = time.time() if now is None else now
    age = round(now - snaps.last_ok_time, 3) if snaps.last_ok_time is not None else None
    failing = snaps.failures > snaps.failures_at_ok
    return {"image_age_s": age, "image_error": snaps.last_error if failing else None}


_COUNTERS = ("snapshot_written_total", "snapshot_failures_total", "snapshot_rejected_total")


def metrics_lines(snaps: Snapshots) -> list[str]:
    """The same figures as Prometheus text lines, each after its ``# TYPE`` line.

    >>> s = Snapshots("/x", failures=2)
    >>> [line for line in metrics_lines(s) if "failures" in line]
    ['# TYPE poker_snapshot_failures_total counter', 'poker_snapshot_failures_total 2']
    """
    out = []
    for name, value in metrics(snaps).items():
        if isinstance(value, float):
            text = "NaN" if math.isnan(value) else f"{value:.6f}"
        else:
            text = str(value)
        kind = "counter" if name in _COUNTERS else "gauge"
        out += [f"# TYPE poker_{name} {kind}", f"poker_{name} {text}"]
    return out
