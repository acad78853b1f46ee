"""The connection edge: what every accepted socket goes through before the app sees it.

:class:`Handler` is the server's ``handler_class`` (gevent-websocket's handler, one
instance per accepted socket). It adds:

- **A deadline for the whole request**, not a timeout per read: the request line, the
  headers and the body must all arrive within ``--handshake-timeout`` seconds of the
  request's start (of the accept, for the first one), or the socket is closed (408 when
  the request line had come). A client sending one byte every few seconds used to hold
  its socket and greenlet forever. The deadline ends at the WebSocket upgrade (an open
  WebSocket may be idle) and starts again for the next request on a kept-alive socket.
  A timeout is one log line, never a traceback.
- **Connection caps**: at most ``--max-connections`` sockets open at once in all, and
  ``--max-connections-per-address`` from one client address (addresses in
  ``--unlimited-addresses``, loopback by default, are exempt: the house bots connect
  from there, and so does a reverse proxy). A socket beyond either is answered
  ``503 Service Unavailable`` at once, before its request is read, and closed.
- **The Host rule** (:func:`host_allowed`), against DNS rebinding: a page on an
  attacker's name that the attacker re-points at this server's address has a matching
  ``Origin`` and ``Host``, so the Origin rule passes it; but its ``Host`` is the
  attacker's name. A request whose ``Host`` is a name not in ``--hosts`` is answered
  ``403`` before the app (or the WebSocket upgrade) sees it.
- **No secrets in the access log** (:func:`redact`): a ``token`` in the query string
  (``GET /api/tables/t1/hands/3.phh?token=...``) is written as ``token=[redacted]``.
- Its counts, for ``/metrics`` (:func:`metrics_lines`).

Nothing here knows about poker; the app reads :data:`counts` only for ``/metrics``.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import resource
import socket
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

import gevent
from geventwebsocket.handler import WebSocketHandler

from server import config

log = logging.getLogger("server.limits")

REFUSE_LINGER = 0.5     # seconds a refused socket may take to send its request and go
MAX_LINGERING = 128     # refused sockets lingering at once; beyond, closed at once


@dataclass
class Counts:
    """The sockets open now, by client address, and what was refused or timed out."""

    open: int = 0
    by_address: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)   # reason -> sockets
    timeouts: int = 0               # requests cut off by the deadline
    lingering: int = 0              # refused sockets still being closed


counts = Counts()


def _client(address) -> str:
    """The client's address as counted: an IPv4-mapped IPv6 address as its IPv4 form."""
    host = address[0] if isinstance(address, tuple) else str(address or "")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def admit(address: str) -> str | None:
    """Count one accepted socket from ``address``: ``None``, or why it is refused
    (``"max_connections"``, ``"per_address"``; then it is not counted)."""
    s = config.settings
    if s.max_connections and counts.open >= s.max_connections:
        return "max_connections"
    if (s.max_connections_per_address and address not in s.unlimited_addresses
            and counts.by_address[address] >= s.max_connections_per_address):
        return "per_address"
    counts.open += 1
    counts.by_address[address] += 1
    return None


def release(address: str) -> None:
    """The socket :func:`admit` counted is closed."""
    counts.open -= 1
    counts.by_address[address] -= 1
    if counts.by_address[address] <= 0:
        del counts.by_address[address]


def host_allowed(host: str | None, names: tuple[str, ...] | None = None) -> bool:
    """The Host rule: an IP address (DNS rebinding needs a name: a request for
    ``http://203.0.113.5/`` was meant for whoever is at that address), a name in
    ``names`` (default: ``--hosts``, else ``localhost`` and the ``--host`` name), or
    none at all (not a browser: every browser sends one). The port is not checked
    (a forwarded port changes it; a rebinding attacker can choose it anyway).

    >>> [host_allowed(h, ("poker.example",)) for h in ("poker.example:8080",
    ...  "POKER.example.", "127.0.0.1:9", "[::1]:80", "10.1.2.3", None, "evil.example",
    ...  "poker.example.evil.example", "localhost:8080", "[bad")]
    [True, True, True, True, True, True, False, False, False, False]
    >>> host_allowed("anything.example", ("*",))
    True
    """
    if not host:
        return True
    if names is None:
        names = config.settings.hosts or _default_names()
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        name = host[1:end]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.rstrip(".")
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    return "*" in names or name in (n.lower().rstrip(".") for n in names)


SECRET_PARAMS = frozenset({"token"})


def redact(request_line: str) -> str:
    """The request line with the value of every secret query parameter hidden (its
    name compared as the server reads it: percent-decoded, ``+`` as a space).

    >>> redact("GET /api/tables/t1/hands/3.phh?token=s3cret&x=1 HTTP/1.1")
    'GET /api/tables/t1/hands/3.phh?token=[redacted]&x=1 HTTP/1.1'
    >>> redact("GET /h?a=1;x&%74oken=s3cret&token HTTP/1.1")
    'GET /h?a=1;x&%74oken=[redacted]&token=[redacted] HTTP/1.1'
    >>> redact("GET /api/tables HTTP/1.1"), redact("")
    ('GET /api/tables HTTP/1.1', '')
    """
    words = request_line.split(" ")
    if len(words) < 2 or "?" not in words[1]:
        return request_line
    path, query = words[1].split("?", 1)
    pairs = query.split("&")
    for i, pair in enumerate(pairs):
        name = pair.split("=", 1)[0]
        if urllib.parse.unquote_plus(name).strip().lower() in SECRET_PARAMS:
            pairs[i] = name + "=[redacted]"
    words[1] = path + "?" + "&".join(pairs)
    return " ".join(words)


def _default_names() -> tuple[str, ...]:
    listen = config.settings.host
    try:
        ipaddress.ip_address(listen)
        return ("localhost",)
    except ValueError:
        return ("localhost", listen) if listen else ("localhost",)


# The handler's read buffer, allocated for each connection for its whole life.
# io's default (8 KiB) was over a quarter of an idle WebSocket's memory, while a
# client's frames are a hundred bytes or so and a handshake's head is read a
# line at a time; a larger frame is read straight into its own buffer.
READ_BUFFER = 1024


class _DeadlineIO(socket.SocketIO):
    """The socket as the handler's ``rfile`` reads it: each read waits at most until
    ``deadline`` (``time.monotonic()``; ``None``: as long as it takes)."""

    deadline: float | None = None

    def readinto(self, b):
        deadline = self.deadline
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                self._timeout_occurred = True
                raise TimeoutError("the request's deadline has passed")
            self._sock.settimeout(left)
        return super().readinto(b)


_REFUSED = ("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nRetry-After: 10\r\n"
            "Content-Length: {n}\r\n\r\n{body}")
_REASONS = {
    "max_connections": "The server has too many connections open: try again later.\n",
    "per_address": "Too many connections from your address: close some and try again.\n",
}
_TIMED_OUT = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
              b"Content-Length: 0\r\n\r\n")


class Handler(WebSocketHandler):
    """gevent-websocket's handler with the deadline and the caps (see the module doc)."""

    def __init__(self, sock, address, server):
        self._io = _DeadlineIO(sock, "rb")
        sock._io_refs += 1       # as sock.makefile() counts its file objects
        super().__init__(sock, address, server,
                         rfile=io.BufferedReader(self._io, READ_BUFFER))
        self._client = _client(address)

    def handle(self):
        refused = admit(self._client)
        if refused is not None:
            counts.refused[refused] += 1
            self._refuse(refused)
            return
        try:
            super().handle()
        except OSError as e:     # writing an answer to a client that has gone
            log.debug("%s: %r", self._client, e)
        finally:
            release(self._client)

    def handle_one_request(self):
        self._io.deadline = time.monotonic() + config.settings.handshake_timeout
        return super().handle_one_request()

    def read_requestline(self):
        try:
            return super().read_requestline()
        except TimeoutError:
            # Nothing or part of a request line: an idle kept-alive socket, a browser's
            # spare connection, or a slow client. Closed without a word (as before).
            counts.timeouts += 1
            log.debug("%s: no request line within %g s", self._client,
                      config.settings.handshake_timeout)
            raise

    def _handle_client_error(self, ex):
        """gevent prints a traceback for any error reading the headers that is not a
        ValueError: a timeout or a reset is one line here."""
        if not isinstance(ex, OSError):
            return super()._handle_client_error(ex)
        self.close_connection = True
        if not isinstance(ex, TimeoutError):
            log.debug("%s: reading the request failed: %r", self._client, ex)
            return None
        counts.timeouts += 1
        head = " ".join((self.requestline or "").split()[:2]).split("?")[0][:80]
        log.info("%s: request not finished within %g s (%s): closed", self._client,
                 config.settings.handshake_timeout, head)
        self._io.deadline = None
        self.socket.settimeout(1.0)     # for the 408, at most
        return ("408", _TIMED_OUT)

    def format_request(self):
        """The access log line (gevent's), with :func:`redact` applied."""
        line, self.requestline = self.requestline, redact(self.requestline or "")
        try:
            return super().format_request()
        finally:
            self.requestline = line

    def run_application(self):
        """The Host rule first: a foreign name gets 403 before the upgrade or the app."""
        host = self.environ.get("HTTP_HOST")
        if not host_allowed(host):
            counts.refused["host"] += 1
            log.info("%s: refused Host %r (see --hosts)", self._client, host[:100])
            body = (f"This server does not answer to the name {host[:100]!r}: "
                    f"see its --hosts flag.\n").encode()
            self.close_connection = True
            self.start_response("403 Forbidden", [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))), ("Connection", "close")])
            self.write(body)
            return None
        return super().run_application()

    def run_websocket(self):
        self._io.deadline = None    # an open WebSocket may be idle as long as it likes
        self.socket.settimeout(None)
        return super().run_websocket()

    def _refuse(self, reason: str) -> None:
        """Answer 503 before reading anything; let the client finish sending its request
        (so that closing does not reset the connection over the answer); close."""
        body = _REASONS[reason]
        sock = self.socket
        log.info("%s: refused (%s: %d open, %d from this address)", self._client, reason,
                 counts.open, counts.by_address[self._client])
        linger = counts.lingering < MAX_LINGERING
        counts.lingering += linger
        try:
            sock.settimeout(REFUSE_LINGER)
            sock.sendall(_REFUSED.format(n=len(body.encode()), body=body).encode())
            sock.shutdown(socket.SHUT_WR)
            if linger:
                with gevent.Timeout(REFUSE_LINGER, False):
                    received = 0
                    while received < 65536:
                        data = sock.recv(16384)
                        if not data:
                            break
                        received += len(data)
        except OSError:
            pass
        finally:
            counts.lingering -= linger
            self.rfile.close()
            sock.close()
            self.__dict__.pop("socket", None)
            self.__dict__.pop("rfile", None)


def raise_fd_limit(connections: int, spare: int = 256) -> None:
    """Raise the soft open-file limit so that ``connections`` sockets (plus files,
    the listener, the journal: ``spare``) can be open, up to the hard limit; warn if
    even that is too low."""
    if not connections:
        return
    want = connections + spare
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < want:
        log.warning("--max-connections %d needs about %d open files, the limit is %d: "
                    "connections fail at accept before the cap", connections, want, soft)


def metrics_lines() -> list[str]:
    """Prometheus lines: the sockets open, the busiest address, refusals, timeouts."""
    lines = [
        "# TYPE poker_sockets_open gauge", f"poker_sockets_open {counts.open}",
        "# TYPE poker_socket_addresses gauge", f"poker_socket_addresses {len(counts.by_address)}",
        "# TYPE poker_sockets_per_address_max gauge",
        f"poker_sockets_per_address_max {max(counts.by_address.values(), default=0)}",
        "# TYPE poker_sockets_refused_total counter",
    ]
    for reason in ("max_connections", "per_address", "host"):
        lines.append(f'poker_sockets_refused_total{{reason="{reason}"}} {counts.refused[reason]}')
    lines += ["# TYPE poker_handshake_timeouts_total counter",
              f"poker_handshake_timeouts_total {counts.timeouts}"]
    return lines
