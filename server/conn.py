"""One WebSocket connection: a bounded outbound queue, a writer greenlet while it falls
behind, closing, and the per-socket rate limits. No poker here.

Handlers never write to a socket and never switch greenlets when they send: a
handler can change the root and send messages in one go. What they send waits in
the connection's ``pending`` list until the loop runs :func:`flush` (a hub
callback, once per loop iteration whatever the number of handlers that sent):
each connection's frames go out with one non-blocking ``send`` on the raw
socket, with no greenlet switch, which is most of what an action costs (one
action fans out to everyone at the table).

When the kernel does not take everything (a slow reader), the rest goes to a
writer greenlet started for the connection, which owns the socket from then on
(the connection is *backlogged*: everything else is queued behind it) until its
queue is empty again, and then ends: an idle connection has no greenlet but its
reader. So one greenlet at a time writes a socket, frames are
never interleaved, and a slow client stalls only its own queue. A queue that
overflows (``send_queue`` messages or ``send_queue_bytes`` bytes) means the client
is not reading: it is closed with 4000 (its seats are kept and its clocks run).
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import gevent
from collections import deque

from server import config

log = logging.getLogger("server.conn")

CLOSE_AWAY = 1001       # the server is shutting down
CLOSE_POLICY = 1008     # flood, or a bad Origin
CLOSE_TOO_BIG = 1009
CLOSE_NOT_READING = 4000
FORCE_AFTER = 2.0       # seconds a close frame may take before the socket is shut down


@dataclass(frozen=True, slots=True)
class Close:
    """Queued last: send a close frame with this code, then shut the socket."""

    code: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Pong:
    payload: bytes


@dataclass(frozen=True, slots=True)
class Raw:
    """Bytes already framed (one event framed once for a table, or the rest of a
    partial send): written as they are."""

    data: bytes


@dataclass(eq=False, slots=True)
class Conn:
    """One open WebSocket and what the server knows about it."""

    id: int
    ws: Any
    sock: Any                           # the raw socket, to shut it down
    queue: deque | None                 # what the writer greenlet is to write, in order
                                        # (made when first needed: an empty deque is
                                        # 0.6 KiB, and most sockets never fall behind)
    address: str = ""
    player: str | None = None           # set by hello
    watching: set[str] = field(default_factory=set)
    writer: Any = None                  # the writer greenlet, while there is one
    closing: int | None = None          # the close code, once closing
    pending: list = field(default_factory=list)   # frames for the next flush
    queued_bytes: int = 0               # what the writer's queue holds (bounded too)
    backlog: bool = False               # the writer owns the socket (see the module doc)
    broken: bool = False                # a send failed: the reader will see it and end
    # Rate limits: a token bucket per socket, a separate one for chat, and a
    # one-second window that closes the socket on a flood.
    tokens: float = 0.0
    tokens_at: float = 0.0
    chat_tokens: float = 0.0
    chat_at: float = 0.0
    window_start: float = 0.0
    window_count: int = 0


_next_id = 0
dropped = 0     # connections closed for not reading (4000), for /metrics


def open_conn(ws, sock, address: str = "") -> Conn:
    """A new connection (its writer greenlet starts only when the socket falls behind)."""
    global _next_id
    _next_id += 1
    s = config.settings
    now = time.monotonic()
    conn = Conn(id=_next_id, ws=ws, sock=sock, queue=None,
                address=address, tokens=s.burst, tokens_at=now, chat_tokens=s.chat_burst,
                chat_at=now, window_start=now)
    if sock is not None:
        # Events are small and latency matters: no Nagle delay (it stalled
        # waiting players' events by 30-60 ms under load).
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    if s.socket_sndbuf and sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, s.socket_sndbuf)
        except OSError:
            pass
    conn.backlog = not _has_raw(sock)   # no raw socket to write without switching: the writer does
    return conn


def send(conn: Conn, text) -> bool:
    """Send one text frame's payload (``bytes``), a :class:`Raw` frame shared by several
    connections, or a :class:`Pong`, in order; never blocks or switches greenlets.
    False when the connection is closing (or was dropped for not reading)."""
    if conn.closing is not None:
        return False
    if not conn.backlog:
        if not conn.pending:
            _dirty.append(conn)
            _schedule_flush()
        conn.pending.append(text)
        return True
    size = _size(text)
    s = config.settings
    if len(_queue(conn)) >= s.send_queue or (
            conn.queued_bytes and conn.queued_bytes + size > s.send_queue_bytes):
        global dropped
        dropped += 1
        log.info("conn %d (%s): send queue full, closing with %d", conn.id, conn.address,
                 CLOSE_NOT_READING)
        close(conn, CLOSE_NOT_READING, "not reading")
        return False
    conn.queue.append(text)
    conn.queued_bytes += size
    _wake_writer(conn)
    return True


def _queue(conn: Conn) -> deque:
    """The writer's queue, made the first time the socket needs one."""
    if conn.queue is None:
        conn.queue = deque()
    return conn.queue


def _size(item) -> int:
    kind = type(item)
    if kind is bytes or kind is str:
        return len(item)
    if kind is Raw:
        return len(item.data)
    if kind is Pong:
        return len(item.payload)
    return 0


def send_pong(conn: Conn, payload: bytes) -> None:
    """``ws.on_ping``: the pong goes out in order with everything else.

    A pong still waiting (not yet written) is replaced by this one, so at most one
    waits per socket however fast the pings come: a pong need only answer the most
    recent ping (RFC 6455 5.5.3).
    """
    for waiting in (conn.pending, conn.queue or ()):
        for i, item in enumerate(waiting):
            if type(item) is Pong:
                waiting[i] = Pong(payload)
                if waiting is not conn.pending:
                    conn.queued_bytes += len(payload) - len(item.payload)
                return
    send(conn, Pong(payload))


def _has_raw(sock) -> bool:
    return getattr(sock, "_sock", None) is not None


_dirty: list[Conn] = []      # connections with pending frames
_flush_scheduled = False


def _schedule_flush() -> None:
    global _flush_scheduled
    if not _flush_scheduled:
        _flush_scheduled = True
        gevent.get_hub().loop.run_callback(flush)


def flush() -> None:
    """Write every connection's pending frames: one non-blocking ``send`` each.

    Runs in the hub (a loop callback), so it must never block or switch: what
    the kernel does not take is handed to the connection's writer greenlet.
    """
    global _flush_scheduled
    _flush_scheduled = False
    dirty = _dirty[:]
    _dirty.clear()
    for conn in dirty:
        pending, conn.pending = conn.pending, []
        if conn.closing is not None or conn.broken or not pending:
            continue
        try:
            data = _frames(pending)
            sent = conn.sock._sock.send(data)
        except BlockingIOError:
            sent = 0
        except Exception as e:  # noqa: BLE001 - one socket's failure must not stop the flush
            if not isinstance(e, OSError):
                log.exception("conn %d: flush failed", conn.id)
            log.debug("conn %d: send failed: %r", conn.id, e)
            conn.broken = True
            shutdown(conn)          # the reader's receive ends: goodbye as usual
            continue
        if sent < len(data):
            conn.backlog = True     # the writer finishes this frame before anything else
            rest = Raw(data[sent:])
            _queue(conn).append(rest)
            conn.queued_bytes += len(rest.data)
            _wake_writer(conn)


def _frames(items) -> bytes:
    out = []
    for item in items:
        kind = type(item)
        if kind is bytes:
            out.append(frame(item))
        elif kind is Pong:
            out.append(frame(item.payload, OPCODE_PONG))
        elif kind is Raw:
            out.append(item.data)
        else:
            out.append(frame(item.encode()))
    return b"".join(out)


def close(conn: Conn, code: int, reason: str = "") -> None:
    """Close with ``code``: what is still queued is dropped, the close frame goes next.

    If the writer is stuck in a send (a client that does not read), the socket
    is shut down after :data:`FORCE_AFTER` seconds anyway.
    """
    if conn.closing is not None:
        return
    conn.closing = code
    conn.pending = []
    conn.backlog = True         # the close frame goes through the writer
    _queue(conn).clear()        # in place: a writer at work holds this deque
    conn.queued_bytes = 0
    conn.queue.append(Close(code, reason))
    _wake_writer(conn)
    gevent.spawn_later(FORCE_AFTER, shutdown, conn)


def shutdown(conn: Conn, how: int = socket.SHUT_RDWR) -> None:
    """Shut the raw socket: the reader's read ends, and so does the writer's send."""
    try:
        if conn.sock is not None:
            conn.sock.shutdown(how)
    except OSError:
        pass


OPCODE_TEXT, OPCODE_PONG = 0x1, 0xA
BATCH = 64          # frames written with one sendall, at most


def frame(payload: bytes, opcode: int = OPCODE_TEXT) -> bytes:
    """One final, unmasked server frame (RFC 6455 5.2).

    >>> frame(b'{}')
    b'\\x81\\x02{}'
    >>> frame(b'x' * 200)[:4]
    b'\\x81~\\x00\\xc8'
    """
    n = len(payload)
    if n < 126:
        return bytes((0x80 | opcode, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload


def unframe(data: bytes) -> bytes:
    """The payload of one :func:`frame`.

    >>> unframe(frame(b'{}')), unframe(frame(b'x' * 200)) == b'x' * 200
    (b'{}', True)
    """
    n = data[1] & 0x7F
    return data[2:] if n < 126 else data[4:] if n == 126 else data[10:]


def _wake_writer(conn: Conn) -> None:
    if conn.writer is None:
        conn.writer = gevent.spawn(_write_backlog, conn)


def _write_backlog(conn: Conn) -> None:
    """The writer greenlet: writes this socket while it is backlogged (and the close
    frame), then ends. Only a socket that is not keeping up has one, so an idle
    connection costs no greenlet.

    Whatever is queued when it runs goes out in one ``sendall`` (at most ``BATCH``
    frames at a time).
    """
    ws, queue = conn.ws, conn.queue
    write = conn.sock.sendall if conn.sock is not None else ws.raw_write
    try:
        while queue:
            items, last = [], None
            while queue and len(items) < BATCH:
                item = queue.popleft()
                if type(item) is Close:
                    last = item
                    break
                items.append(item)
            if items:
                write(_frames(items))
                conn.queued_bytes -= sum(_size(i) for i in items)
            if last is not None:
                ws.close(last.code, last.reason)
                # Only our half: the reader still reads until the client closes its
                # half, so that the close frame is not destroyed by a reset (see linger).
                shutdown(conn, socket.SHUT_WR)
                return
        if conn.closing is None:
            conn.backlog = not _has_raw(conn.sock)   # caught up: flush writes again
    except gevent.GreenletExit:
        raise
    except Exception as e:  # noqa: BLE001 - a dead socket ends this connection only
        log.debug("conn %d: writer stopped: %r", conn.id, e)
        shutdown(conn)
    finally:
        conn.writer = None


def linger(conn: Conn, seconds: float = FORCE_AFTER, limit: int = 1 << 20) -> None:
    """After our close frame, read and drop what the client still sends, until it closes.

    Closing a socket that has unread data makes the kernel send a reset, and a
    reset can destroy the close frame before the client reads it (a flooding
    client would see "connection reset" instead of 1008). Bounded in time and bytes.
    """
    if conn.sock is None or conn.closing is None:
        return
    received = 0
    with gevent.Timeout(seconds, False):
        try:
            while received < limit:
                data = conn.sock.recv(65536)
                if not data:
                    break
                received += len(data)
        except OSError:
            pass


def stop_writer(conn: Conn) -> None:
    """At the end of the reader: let a pending close frame go out, then stop the writer.

    From here on nothing more is flushed to this socket: once it is closed its
    file descriptor can belong to a new connection.
    """
    conn.broken = True
    conn.pending = []
    writer = conn.writer
    if writer is None:
        return
    if conn.closing is not None:
        writer.join(timeout=FORCE_AFTER)
    writer.kill(block=True, timeout=1)


# ---------------------------------------------------------------------------
# Rate limits


def admit(conn: Conn, now: float | None = None) -> str:
    """Count one incoming message: ``"ok"``, ``"limited"`` (answer rate_limited, ignore it)
    or ``"flood"`` (close with 1008)."""
    s = config.settings
    now = time.monotonic() if now is None else now
    if now - conn.window_start >= 1.0:
        conn.window_start, conn.window_count = now, 0
    conn.window_count += 1
    if conn.window_count > s.flood:
        return "flood"
    conn.tokens = min(s.burst, conn.tokens + (now - conn.tokens_at) * s.rate)
    conn.tokens_at = now
    if conn.tokens < 1.0:
        return "limited"
    conn.tokens -= 1.0
    return "ok"


def admit_chat(conn: Conn, now: float | None = None) -> bool:
    """One chat line from this socket: within its own, slower, bucket?"""
    s = config.settings
    now = time.monotonic() if now is None else now
    conn.chat_tokens = min(s.chat_burst, conn.chat_tokens + (now - conn.chat_at) * s.chat_rate)
    conn.chat_at = now
    if conn.chat_tokens < 1.0:
        return False
    conn.chat_tokens -= 1.0
    return True
