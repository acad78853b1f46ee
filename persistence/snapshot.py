"""Crash-safe snapshots of the server's one in-memory root.

The root is turned into bytes **on the loop, in one go** (``dump()`` then
``orjson.dumps``, with no I/O and so no greenlet switch in between): that is
what makes the image consistent, since only the loop ever changes the root.
Everything slow -- the checksum, the write, the fsyncs, the rename, pruning --
runs in gevent's thread pool, so play goes on meanwhile.

One image is one file, ``snapshot-<seq>.json`` (``seq`` zero-padded so that
names sort), and is itself valid JSON::

    {"format":"pokerserver-snapshot","version":1,"seq":42,"time":1795465234.123,
     "utc":"2026-11-23T19:40:34.123Z","body_bytes":123456,"body":{...the root...},
     "sha256":"<64 hex digits>"}

``sha256`` is the digest of every byte of the file before ``,"sha256":"``
(the header fields *and* the exact body bytes), so any truncation or flipped
byte is caught. ``docs/snapshots.md`` describes the format and the recovery.

Writing is atomic and durable: a temporary file in the same folder (mode
0600: images hold hole cards, decks and session tokens), written, fsynced,
renamed over its final name with ``os.replace``, then the folder is fsynced.
Older generations beyond ``keep`` are deleted only after that. A failed write
or fsync is never retried on the same file (after a failed fsync the kernel
may have dropped the dirty pages): the temporary file is removed, the
failure counted, the old images kept, and the next attempt starts afresh.

Everything here is functions over plain data: :class:`Snapshots` holds the
configuration and counters of one snapshot folder.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import hashlib
import logging
import math
import mmap
import os
import re
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import gevent
import greenlet
import orjson
from gevent.event import Event
from gevent.lock import BoundedSemaphore

log = logging.getLogger("persistence.snapshot")

FORMAT = "pokerserver-snapshot"
VERSION = 2
READS = (1, 2)           # versions this code loads (1: no lazy member)
SEQ_DIGITS = 12
NAME_RE = re.compile(r"^snapshot-(\d{%d})\.json$" % SEQ_DIGITS)
TEMP_RE = re.compile(r"^\.snapshot-.*\.tmp$")
LOCK_NAME = ".lock"

_MAGIC = b'{"format":"%s",' % FORMAT.encode()
_BODY_KEY = b',"body":'
_LAZY_KEY = b',"lazy":'
_SUM_KEY = b',"sha256":"'
_TAIL = len(_SUM_KEY) + 64 + len(b'"}\n')  # ,"sha256":"<64 hex>"}\n


class BadImage(ValueError):
    """An image that must not be loaded; the message says why."""


class RecoveryError(RuntimeError):
    """Images exist but none is usable: the server must not start (the message says why)."""


# ---------------------------------------------------------------------------
# Names


def image_name(seq: int) -> str:
    """``snapshot-000000000042.json``: zero-padded so that names sort by sequence.

    >>> image_name(42)
    'snapshot-000000000042.json'
    """
    return f"snapshot-{seq:0{SEQ_DIGITS}d}.json"


def list_images(directory: str) -> list[tuple[int, str]]:
    """``(seq, path)`` of every image name in ``directory``, newest first."""
    found = []
    for name in os.listdir(directory):
        m = NAME_RE.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(directory, name)))
    found.sort(reverse=True)
    return found


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
        _fsync_dir(directory)
    return removed


# ---------------------------------------------------------------------------
# Encoding and decoding (pure)


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


def encode(body: bytes, seq: int, when: float,
           lazy: bytes | None = None) -> tuple[bytes, ...]:
    """The image as chunks (header, body[, lazy key, lazy], checksum tail), without
    copying ``body`` or ``lazy``.

    ``body`` and ``lazy`` must each be one serialised JSON value (``orjson.dumps`` output).

    >>> b"".join(encode(b'{"a":1}', 7, 0.0))[:60]
    b'{"format":"pokerserver-snapshot","version":2,"seq":7,"time":'
    """
    utc = datetime.fromtimestamp(when, timezone.utc).isoformat(timespec="milliseconds")
    header = orjson.dumps({"format": FORMAT, "version": VERSION, "seq": seq, "time": when,
                           "utc": utc.replace("+00:00", "Z"), "body_bytes": len(body),
                           "lazy_bytes": len(lazy) if lazy is not None else 0})
    head = header[:-1] + _BODY_KEY
    chunks = (head, body) + ((_LAZY_KEY, lazy) if lazy is not None else ())
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)  # releases the GIL for big buffers
    tail = _SUM_KEY + digest.hexdigest().encode() + b'"}\n'
    return chunks + (tail,)


def decode(data: bytes, expect_seq: int | None = None, parse: bool = True) -> tuple[dict, Any]:
    """Check an image and return ``(header, root data)``; raise :class:`BadImage` if unusable.

    With ``parse=False`` the body is checked but not parsed (``None`` is returned for it).
    An image with a ``lazy`` member (version 2) gives its raw bytes, unparsed, as
    ``data["lazy"]`` (the body must then be an object): the server parses a table's
    finished hands and chat only when they are used (``persistence.layout.LazyDeque``).

    >>> header, body = decode(b"".join(encode(b'{"a":1}', 7, 0.0)))
    >>> header["seq"], body
    (7, {'a': 1})
    >>> decode(b"".join(encode(b'{"a":1}', 7, 0.0))[:-2])
    Traceback (most recent call last):
    ...
    persistence.snapshot.BadImage: truncated or damaged end (no checksum)
    """
    view = memoryview(data)       # bytes, or a file's mmap (load_newest)
    if view[:len(_MAGIC)] != _MAGIC:
        raise BadImage("not a snapshot (bad start)" if len(data) else "empty file")
    if len(data) < len(_MAGIC) + _TAIL or view[-3:] != b'"}\n' \
            or view[-_TAIL:-_TAIL + len(_SUM_KEY)] != _SUM_KEY:
        raise BadImage("truncated or damaged end (no checksum)")
    stored = bytes(view[-_TAIL + len(_SUM_KEY):-3])
    actual = hashlib.sha256(view[:-_TAIL]).hexdigest().encode()
    if stored != actual:
        raise BadImage("checksum mismatch")
    at = data.find(_BODY_KEY)
    if at < 0:
        raise BadImage("no body")
    try:
        header = orjson.loads(bytes(view[:at]) + b"}")
    except orjson.JSONDecodeError as e:
        raise BadImage(f"bad header: {e}") from None
    if header.get("format") != FORMAT:
        raise BadImage(f"not a snapshot: format {header.get('format')!r}")
    if header.get("version") not in READS:
        raise BadImage(f"unsupported format version {header.get('version')!r} "
                       f"(this server reads versions {', '.join(map(str, READS))})")
    start, end = at + len(_BODY_KEY), len(data) - _TAIL
    lazy_bytes = header.get("lazy_bytes", 0) if header["version"] >= 2 else 0
    if type(lazy_bytes) is not int or lazy_bytes < 0:
        raise BadImage(f"bad lazy_bytes {lazy_bytes!r}")
    lazy = None
    if lazy_bytes:
        lazy_at = end - lazy_bytes - len(_LAZY_KEY)
        if lazy_at < start or view[lazy_at:lazy_at + len(_LAZY_KEY)] != _LAZY_KEY:
            raise BadImage("no lazy member where the header says")
        lazy, end = view[lazy_at + len(_LAZY_KEY):end], lazy_at
    body = view[start:end]
    if header.get("body_bytes") != len(body):
        raise BadImage(f"body is {len(body)} bytes, header says {header.get('body_bytes')}")
    if expect_seq is not None and header.get("seq") != expect_seq:
        raise BadImage(f"header says seq {header.get('seq')}, file name says {expect_seq}")
    if not parse:
        return header, None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadImage(f"body is not JSON: {e}") from None
    if lazy is not None:
        if not isinstance(parsed, dict) or "lazy" in parsed:
            raise BadImage("a lazy member needs a body object without its own 'lazy'")
        parsed["lazy"] = bytes(lazy)
    return header, parsed


# ---------------------------------------------------------------------------
# Writing (runs in a worker thread: touches only files and its arguments)


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, chunk: bytes) -> None:
    view = memoryview(chunk)
    while view:
        n = os.write(fd, view)
        if n <= 0:  # pragma: no cover - os.write raises rather than returning 0
            raise OSError(errno.EIO, "short write")
        view = view[n:]


def write_image(directory: str, seq: int, chunks) -> str:
    """Write one image atomically and durably; return its path.

    On any error the temporary file is removed and the error raised; an image
    already in place under the final name is never touched.
    """
    final = os.path.join(directory, image_name(seq))
    temp = os.path.join(directory, f".snapshot-{seq:0{SEQ_DIGITS}d}-{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # whatever the umask: hole cards, decks, tokens
            for chunk in chunks:
                _write_all(fd, chunk)
            os.fsync(fd)  # never retried: a failed fsync means a fresh file next time
        finally:
            os.close(fd)
        os.replace(temp, final)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)  # the rename itself is durable only after this
    return final


def prune(directory: str, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` images; return the deleted names."""
    removed = []
    for _seq, path in list_images(directory)[max(keep, 1):]:
        try:
            os.unlink(path)
            removed.append(os.path.basename(path))
        except FileNotFoundError:
            pass
    return removed


def write_snapshot(directory: str, seq: int, when: float, body: bytes, keep: int,
                   lazy: bytes | Callable[[], bytes] | None = None) -> dict:
    """The thread-side job: checksum, write, fsync, rename, fsync dir, then prune.

    Never raises (the thread pool would print the traceback): returns
    ``{"path", "pruned", "seconds"}`` or ``{"error": OSError, "seconds"}``.
    """
    start = time.perf_counter()
    try:
        lazy = _made(lazy)
        path = write_image(directory, seq, encode(body, seq, when, lazy))
    except Exception as e:  # noqa: BLE001 - reported to the loop, which counts it
        return {"error": e, "seconds": time.perf_counter() - start}
    try:
        pruned = prune(directory, keep)
    except OSError as e:  # the new image is durable: a failed cleanup is only logged
        log.warning("snapshot: could not delete old generations: %s", e)
        pruned = []
    return {"path": path, "pruned": pruned, "seconds": time.perf_counter() - start,
            "bytes": len(body) + (len(lazy) if lazy is not None else 0)}


# ---------------------------------------------------------------------------
# The folder's state (plain data) and the loop side


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
    last_write_s: float = 0.0             # checksum + write + fsyncs + rename, last attempt
    last_duration_s: float = 0.0          # both, last attempt
    last_bytes: int = 0
    written: int = 0
    failures: int = 0
    last_error: str | None = None
    lock_fd: int | None = None
    fork: bool = False                    # serialise and write in a forked child (see take)
    last_serialise_s: float = 0.0         # the child's serialisation, last forked image
    child_pid: int | None = None          # the forked child writing an image, while it runs
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
    lock_fd = os.open(os.path.join(directory, LOCK_NAME),
                      os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock_fd)
        raise RecoveryError(f"snapshot folder {directory} is in use by another server "
                            "process (its .lock is held)") from None
    removed = remove_temps(directory)
    if removed:
        log.warning("snapshot: removed %d stray temporary file(s) from an interrupted write: %s",
                    len(removed), ", ".join(removed))
    images = list_images(directory)
    return Snapshots(directory=directory, keep=keep, seq=images[0][0] if images else 0,
                     lock_fd=lock_fd)


def close_dir(snaps: Snapshots) -> None:
    """Release the folder's lock (tests; a process exiting releases it anyway)."""
    if snaps.lock_fd is not None:
        os.close(snaps.lock_fd)
        snaps.lock_fd = None


def take(snaps: Snapshots, dump: Callable[[], Any]) -> bool:
    """Take one snapshot now; True once it is durable. Call from a greenlet.

    ``dump()`` returns the root as data orjson can serialise; it and
    ``orjson.dumps`` run on the loop with no switch between them. The rest
    waits in the thread pool while other greenlets run. Failures are counted
    and logged, never raised.
    """
    with snaps.busy:
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
    if snaps.on_serialised is not None:
        try:
            snaps.on_serialised(seq)   # same loop turn as the serialisation
        except Exception as e:  # noqa: BLE001 - e.g. the journal could not start its segment
            snaps.failures += 1
            snaps.last_error = f"seq {seq}: on_serialised: {e!r}"
            log.exception("snapshot %d abandoned: on_serialised hook failed", seq)
            return False
    blocked = time.perf_counter() - start
    result = gevent.get_hub().threadpool.apply(
        write_snapshot, (snaps.directory, seq, when, body, snaps.keep, lazy))
    snaps.last_blocked_s = blocked
    snaps.last_write_s = result["seconds"]
    snaps.last_duration_s = blocked + result["seconds"]
    if "error" in result:
        snaps.failures += 1
        snaps.last_error = f"seq {seq}: {result['error']!r}"
        log.error("snapshot %d failed (older images kept, next attempt uses a fresh file): %s",
                  seq, result["error"])
        return False
    size = result["bytes"]
    log.debug("snapshot %d: %d bytes, loop blocked %.1f ms, write %.1f ms", seq, size,
              blocked * 1e3, result["seconds"] * 1e3)
    return _written(snaps, seq, when, size)


def _written(snaps: Snapshots, seq: int, when: float, size: int) -> bool:
    """Image ``seq`` is durable: count it, then the ``on_written`` hook."""
    snaps.written += 1
    snaps.last_ok_seq = seq
    snaps.last_ok_time = when
    snaps.last_bytes = size
    if snaps.on_written is not None:
        try:
            snaps.on_written(seq)
        except Exception:  # noqa: BLE001 - the image is durable whatever the hook does
            log.exception("snapshot: on_written hook failed")
    return True


# ---------------------------------------------------------------------------
# The forked way (Redis's BGSAVE): the loop is blocked only for fork()


def _child_image(report_fd: int, directory: str, seq: int, when: float,
                 dump: Callable[[], Any], parent: int) -> None:
    """The forked child: serialise the copy-on-write root, write the image, report, exit.

    Runs in a copy of the process taken at one instant: only the thread that
    forked exists here, and any lock another thread held (gevent's hub,
    logging's, the thread pool's) stays held forever. So this touches only
    orjson, hashlib and plain ``os`` calls on its own file descriptors, never
    logging or gevent, and always ends with ``os._exit`` (no atexit handlers,
    no stdio flushes, no gevent shutdown). The outcome travels back as one
    JSON object on ``report_fd``.
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
            try:
                path = write_image(directory, seq, encode(body, seq, when, lazy))
            except Exception as e:  # noqa: BLE001 - reported to the parent, which counts it
                report = {"error": repr(e), "serialise_s": serialised}
            else:
                size = len(body) + (len(lazy) if lazy is not None else 0)
                report = {"path": path, "bytes": size, "serialise_s": serialised}
                code = 0
        report["seconds"] = time.perf_counter() - start
        _write_all(report_fd, orjson.dumps(report))
    except BaseException:  # noqa: BLE001 - nothing may escape the child: no report means failure
        code = 1
    finally:
        os._exit(code)


def _abort(report_fd: int, why: str) -> None:
    try:
        _write_all(report_fd, orjson.dumps({"error": why}))
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


def _read_report(fd: int) -> bytes:
    """Thread side: everything the child writes on the pipe, until it exits."""
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _fork() -> int:
    """``os.fork`` without gevent's re-initialisation in the child, with a child watcher
    in the parent so that :func:`gevent.os.waitpid` waits cooperatively."""
    import gevent.os
    return gevent.os.fork_and_watch(fork=gevent.os._raw_fork)


def _take_forked(snaps: Snapshots, dump: Callable[[], Any]) -> bool:
    """One image written by a forked child: the loop pays for ``fork()`` only.

    The child's memory is the root at the instant of the fork (copy-on-write),
    which is the consistent image: the child serialises and writes it while
    the loop plays on. ``on_serialised`` runs just before the fork, in the
    same loop turn and with no switch in between, so the journal's new
    segment starts exactly where the image ends.
    """
    import gevent.os

    start = time.perf_counter()
    snaps.seq += 1  # used even if the attempt fails: a name is never reused
    seq = snaps.seq
    when = time.time()
    if snaps.on_serialised is not None:
        try:
            snaps.on_serialised(seq)
        except Exception as e:  # noqa: BLE001 - e.g. the journal could not start its segment
            snaps.failures += 1
            snaps.last_error = f"seq {seq}: on_serialised: {e!r}"
            log.exception("snapshot %d abandoned: on_serialised hook failed", seq)
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
        os.close(read_fd)
        os.close(write_fd)
        return _forked_failed(snaps, seq, start, f"fork: {e!r}")
    if pid == 0:   # the child; never returns
        os.close(read_fd)
        _child_image(write_fd, snaps.directory, seq, when, dump, parent)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    os.close(write_fd)
    blocked = time.perf_counter() - start
    snaps.child_pid = pid
    try:
        raw = gevent.get_hub().threadpool.apply(_read_report, (read_fd,))
    finally:
        try:
            _, status = gevent.os.waitpid(pid, 0)
        except ChildProcessError:  # reaped elsewhere: the report alone decides
            status = None
        snaps.child_pid = None
    snaps.last_blocked_s = blocked
    try:
        report = orjson.loads(raw)
    except orjson.JSONDecodeError:
        how = (f"signal {os.WTERMSIG(status)}" if status is not None and os.WIFSIGNALED(status)
               else f"status {status}")
        report = {"error": f"the snapshot child died without a report ({how})"}
        _remove_child_temp(snaps.directory, seq, pid)
    snaps.last_serialise_s = report.get("serialise_s", 0.0)
    snaps.last_write_s = report.get("seconds", time.perf_counter() - start - blocked)
    snaps.last_duration_s = blocked + snaps.last_write_s
    if "error" in report:
        return _forked_failed(snaps, seq, None, report["error"])
    try:
        pruned = gevent.get_hub().threadpool.apply(prune, (snaps.directory, snaps.keep))
    except OSError as e:  # the new image is durable: a failed cleanup is only logged
        log.warning("snapshot: could not delete old generations: %s", e)
        pruned = []
    log.debug("snapshot %d: %d bytes, loop blocked %.1f ms (fork), child %.1f ms; pruned %s",
              seq, report["bytes"], blocked * 1e3, snaps.last_write_s * 1e3, pruned)
    return _written(snaps, seq, when, report["bytes"])


def _forked_failed(snaps: Snapshots, seq: int, start: float | None, error: str) -> bool:
    if start is not None:
        snaps.last_blocked_s = time.perf_counter() - start
    snaps.failures += 1
    snaps.last_error = f"seq {seq}: {error}"
    log.error("snapshot %d failed (older images kept, next attempt uses a fresh file): %s",
              seq, error)
    return False


def _remove_child_temp(directory: str, seq: int, pid: int) -> None:
    """A child killed mid-write leaves its temporary file: remove it (start would too)."""
    try:
        os.unlink(os.path.join(directory, f".snapshot-{seq:0{SEQ_DIGITS}d}-{pid}.tmp"))
    except OSError:
        pass


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
# Recovery


@dataclass
class Loaded:
    """The image recovery chose, and why any newer ones were passed over."""

    seq: int
    path: str
    header: dict
    data: Any
    rejected: list[tuple[str, str]]   # (file name, reason), newest first


def _decode_file(path: str, seq: int) -> tuple[dict, Any]:
    """:func:`decode` of the file at ``path``, read through ``mmap``: the page cache's
    pages are checked and parsed where they are, not first copied (92 MB for 10,000
    tables: a copy and some 20,000 page faults of a start)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return decode(b"", expect_seq=seq)
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return decode(mapped, expect_seq=seq)
    finally:
        try:
            mapped.close()
        except BufferError:   # a view still held by an exception's traceback: freed with it
            pass


def load_newest(directory: str, check: Callable[[Any], list[str]] | None = None,
                convert: Callable[[Any], Any] | None = None) -> tuple[Loaded | None, list]:
    """The newest image that decodes, matches its checksum and passes ``check``.

    ``check(data)`` returns a list of invariant problems (empty when sound);
    ``convert(data)`` (e.g. ``root_from_json``) is applied too, and an image
    it raises on is rejected like any other. Returns ``(loaded or None,
    rejected)`` where ``rejected`` lists ``(name, reason)`` of images passed over.
    """
    rejected: list[tuple[str, str]] = []
    for seq, path in list_images(directory):
        name = os.path.basename(path)
        try:
            header, data = _decode_file(path, seq)
            if check is not None:
                try:
                    problems = check(data)
                except Exception as e:  # noqa: BLE001 - a check that crashes rejects the image
                    raise BadImage(f"invariant check crashed: {e!r}") from None
                if problems:
                    shown = "; ".join(problems[:5])
                    more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
                    raise BadImage(f"invariant check failed: {shown}{more}")
            if convert is not None:
                try:
                    data = convert(data)
                except Exception as e:  # noqa: BLE001 - any failure to rebuild rejects it
                    raise BadImage(f"cannot rebuild the root: {e!r}") from None
        except (BadImage, OSError) as e:
            log.warning("snapshot: skipping %s: %s", name, e)
            rejected.append((name, str(e)))
            continue
        return Loaded(seq, path, header, data, rejected), rejected
    return None, rejected


def recover(snaps: Snapshots, check: Callable[[Any], list[str]] | None = None,
            convert: Callable[[Any], Any] | None = None, allow_empty: bool = False) -> Loaded | None:
    """Load the newest good image of an opened folder, falling back to older generations.

    Returns ``None`` when there is nothing to load (no images, or none valid
    and ``allow_empty``): the server starts empty. Raises
    :class:`RecoveryError` when images exist but none is valid.
    """
    start = time.perf_counter()
    was_enabled = gc.isenabled()
    gc.disable()  # building a big root trips the cyclic GC over and over; nothing cycles here
    try:
        loaded, rejected = load_newest(snaps.directory, check, convert)
        # Every object made while the collector was off is still in its youngest
        # generation: the first allocation after gc.enable() would scan them all
        # (half a second for 10,000 tables), and every full collection after that
        # again. The recovered root lives as long as the server, so move what is
        # alive now out of the collector's sight (freed by reference counts as usual;
        # it also spares a forked snapshot child from copying those pages).
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
    if loaded is None:
        if not rejected:
            log.info("snapshot: no image in %s: starting empty", snaps.directory)
            return None
        reasons = "\n".join(f"  {name}: {why}" for name, why in rejected)
        if allow_empty:
            log.error("snapshot: no valid image in %s; starting EMPTY as "
                      "--snapshot-allow-empty says:\n%s", snaps.directory, reasons)
            return None
        raise RecoveryError(
            f"refusing to start: {len(rejected)} snapshot image(s) in {snaps.directory} "
            f"but none is valid:\n{reasons}\n"
            "Inspect or move them away, or pass --snapshot-allow-empty to start with an empty "
            "server (the images stay on disk; new ones get higher sequence numbers).")
    if rejected:
        log.warning("snapshot: fell back to %s (seq %d); newer image(s) rejected: %s",
                    os.path.basename(loaded.path), loaded.seq,
                    "; ".join(f"{n}: {w}" for n, w in rejected))
    log.info("snapshot: recovered %s (seq %d, taken %s) in %.0f ms",
             os.path.basename(loaded.path), loaded.seq, loaded.header.get("utc"),
             (time.perf_counter() - start) * 1e3)
    snaps.seq = max(snaps.seq, loaded.seq)
    snaps.last_ok_seq = loaded.seq
    snaps.last_ok_time = loaded.header.get("time")
    return loaded


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
        "snapshot_last_bytes": snaps.last_bytes,
        "snapshot_written_total": snaps.written,
        "snapshot_failures_total": snaps.failures,
    }


_COUNTERS = ("snapshot_written_total", "snapshot_failures_total")


def metrics_lines(snaps: Snapshots, prefix: str = "poker_") -> list[str]:
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
        out += [f"# TYPE {prefix}{name} {kind}", f"{prefix}{name} {text}"]
    return out
