"""Patches for gevent-websocket 0.10.1 (2017, unmaintained), applied by :func:`install`.

The library is pinned exactly (pyproject.toml) because these patches replace a few of
its functions; each replacement below says what was wrong and why the fix is right.
Everything else in the library is left as it is.

* :func:`_read_frame` / :func:`_read_message` -- a size cap: a frame whose header
  announces more than ``max_message`` bytes, or a fragmented message that would grow
  past it, is answered with close 1009 and :class:`MessageTooBig`, before the payload is
  read.
* :func:`_read_frame` -- an unmasked client frame is answered with close 1002
  (:class:`Unmasked`), as RFC 6455 5.1 requires; the library read it.
* :func:`_close` -- ``close(code)`` really sends ``code`` (the library dropped it, so every
  close frame it sent was empty: the 1007/1002 it means to send, and ours, never arrived).
* :func:`_unmask` -- payload unmasking with one integer XOR instead of a Python loop.
* :class:`Utf8Validator` -- UTF-8 validation by the C codec instead of a Python DFA.
* :func:`_handle_ping` -- ``ws.on_ping``: lets the server send pongs from its writer
  greenlet instead of having the reader write to the socket.
* :func:`_between_frames` -- pings, pongs and fragments no longer hold the event loop:
  ``read_message`` yields after each, and ``ws.on_frame`` lets the server count them.
* :func:`_log_request` -- the access log line again.

API: :func:`install`, :class:`MessageTooBig`, ``WebSocket.max_message`` (the cap, set by
``install``), ``ws.close(code, reason)`` now sending its code, ``ws.on_ping`` and
``ws.on_frame``::

    ws = environ['wsgi.websocket']
    ws.on_ping = lambda payload: outbox.put(('pong', payload))   # payload: bytes, <= 125
    ws.on_frame = lambda opcode: admitted(conn)   # each ping, pong, fragment; False: stop
    ...                                    # writer greenlet, the only one that sends:
    ws.send_frame(payload, ws.OPCODE_PONG)

``on_ping`` and ``on_frame`` are called from inside ``ws.receive()`` (the reader
greenlet); they must not block or write to the socket, and what they raise comes out of
``receive()``. ``on_ping`` unset or ``None``: the library's own pong, sent by the
reader, as before. Without ``install()`` the library's WebSocket has no such
attributes: setting them raises ``AttributeError``.
"""

import codecs
import struct

import gevent
from gevent.exceptions import ConcurrentObjectUseError
from gevent.pywsgi import WSGIHandler
import geventwebsocket.handler as _handler_mod
import geventwebsocket.websocket as _ws_mod
from geventwebsocket.exceptions import FrameTooLargeException, ProtocolError, WebSocketError
from geventwebsocket.handler import WebSocketHandler
from geventwebsocket.utf8validator import Utf8Validator as _DfaUtf8Validator
from geventwebsocket.websocket import Header, WebSocket as _BaseWebSocket

__all__ = ['install', 'MessageTooBig', 'Unmasked', 'WebSocket', 'Utf8Validator', 'DEFAULT_MAX_MESSAGE']

DEFAULT_MAX_MESSAGE = 16 * 1024

# The library's own functions, kept for delegation and so tests can compare old and new
# (taken from the class if this module is imported again after install()).
ORIGINAL = getattr(_BaseWebSocket, '_wsfix_original', None) or {
    'Header.mask_payload': Header.mask_payload,
    'WebSocket.read_frame': _BaseWebSocket.read_frame,
    'WebSocket.read_message': _BaseWebSocket.read_message,
    'WebSocket.handle_ping': _BaseWebSocket.handle_ping,
    'WebSocket.close': _BaseWebSocket.close,
    'Utf8Validator': _DfaUtf8Validator,
    'WebSocketHandler.log_request': WebSocketHandler.log_request,
}


class MessageTooBig(FrameTooLargeException):
    """A frame or fragmented message larger than ``WebSocket.max_message``.

    A ``ProtocolError`` (and a ``WebSocketError``), so code that ends its reader loop on
    those ends it on this too. The socket has already been sent close 1009 when it is
    raised. ``ws.receive()``, like for every protocol error, catches it and returns
    ``None``; only a direct ``read_message()`` sees the exception.
    """


# --------------------------------------------------------------------------- size cap

def _too_big(ws, size):
    ws.close(1009, 'message too big')
    raise MessageTooBig('message of at least %d bytes, the limit is %d'
                        % (size, ws.max_message))


class Unmasked(ProtocolError):
    """A client frame without a mask (RFC 6455 5.1: the server must close the
    connection; 7.4.1: 1002, a protocol error). Raised once close 1002 was sent; like
    :class:`MessageTooBig`, ``ws.receive()`` turns it into ``None``."""


def _unmasked(ws):
    ws.close(1002, 'client frames must be masked')
    raise Unmasked('an unmasked client frame')


def _read_frame(self, received=0):
    """``WebSocket.read_frame`` with a size check between the header and the payload,
    and no unmasked frames.

    Wrong: the library reads ``header.length`` bytes, whatever the header announces (up to
    2**63), so one client announcing 256 MiB made the server buffer 200 MiB, and a
    fragmented message grew without bound. Right: a data frame whose announced length,
    plus the ``received`` bytes of the message it continues, exceeds ``max_message`` is
    refused on the header alone -- close 1009 (RFC 6455 7.4.1, "message too big") and
    :class:`MessageTooBig` -- and the payload is never read. Control frames are already
    limited to 125 bytes by ``Header.decode_header``.

    Wrong too: a frame without a mask was read as if it were fine, while RFC 6455 5.1
    says a server must close the connection when a client frame is not masked (the
    mask keeps a page's script from choosing the bytes a proxy sees). Right: close 1002
    and :class:`Unmasked`, on the header alone. Otherwise the library's code.
    """
    header = Header.decode_header(self.stream)

    if header.flags:
        raise ProtocolError

    if not header.mask:
        _unmasked(self)

    if header.opcode < 0x08:
        size = header.length + (received if header.opcode == self.OPCODE_CONTINUATION else 0)
        if size > self.max_message:
            _too_big(self, size)

    if not header.length:
        return header, b''

    try:
        payload = self.raw_read(header.length)
    except Exception:  # the library: socket errors and anything else read as EOF
        payload = b''

    if len(payload) != header.length:
        raise WebSocketError('Unexpected EOF reading frame payload')

    if header.mask:
        payload = header.unmask_payload(payload)

    return header, payload


def _read_message(self):
    """``WebSocket.read_message`` telling ``read_frame`` how much of the message it has,
    and letting the other greenlets run between the frames of one call.

    Wrong: only ``read_message`` knows the size of the fragments received so far, and it
    did not pass it on, so the cap could not cover fragmented messages. And it loops over
    pings, pongs and fragments without returning, while the socket's buffer always has
    the next frame ready, so no read ever blocked: a client sending pings (or empty
    fragments) faster than they are read held the event loop for as long as it kept
    sending, every other client stopped, and the answers piled up unsent. Right:
    ``self.read_frame(len(message))``, and each frame that does not end the call
    goes through :func:`_between_frames` (count it, maybe stop, yield).
    """
    opcode = None
    message = bytearray()

    while True:
        header, payload = self.read_frame(len(message))
        f_opcode = header.opcode

        if f_opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY):
            # a new frame
            if opcode:
                raise ProtocolError("The opcode in non-fin frame is "
                                    "expected to be zero, got "
                                    "{0!r}".format(f_opcode))

            # Start reading a new message, reset the validator
            self.utf8validator.reset()
            self.utf8validate_last = (True, True, 0, 0)

            opcode = f_opcode

        elif f_opcode == self.OPCODE_CONTINUATION:
            if not opcode:
                raise ProtocolError("Unexpected frame with opcode=0")

        elif f_opcode == self.OPCODE_PING:
            if not _between_frames(self, f_opcode):
                return None
            self.handle_ping(header, payload)
            continue

        elif f_opcode == self.OPCODE_PONG:
            if not _between_frames(self, f_opcode):
                return None
            self.handle_pong(header, payload)
            continue

        elif f_opcode == self.OPCODE_CLOSE:
            self.handle_close(header, payload)
            return

        else:
            raise ProtocolError("Unexpected opcode={0!r}".format(f_opcode))

        if opcode == self.OPCODE_TEXT:
            self.validate_utf8(payload)

        message += payload

        if header.fin:
            break
        if not _between_frames(self, f_opcode):
            return None

    if opcode == self.OPCODE_TEXT:
        self.validate_utf8(message)
        return self._decode_bytes(message)
    else:
        return message


def _between_frames(self, opcode):
    """After a ping, a pong or a fragment that does not end its message: False to stop.

    ``self.on_frame(opcode)``, if set, is called first (the server counts the frame in
    the socket's rate limit; returning ``False`` ends ``read_message`` with ``None``,
    as a close does: the caller has closed, or is closing, the socket itself). Then
    ``gevent.sleep(0)``: every other greenlet, and the loop's callbacks (the server's
    flush of the pongs), run before the next frame is read. A message in one frame,
    the usual case, costs nothing more.
    """
    on_frame = getattr(self, 'on_frame', None)
    if on_frame is not None and on_frame(opcode) is False:
        return False
    gevent.sleep(0)
    return True


# --------------------------------------------------------------------------- close code

# RFC 6455 7.4: 1004-1006 and 1015 are reserved and must not be sent; below 1000 and
# above 4999 are not codes.
def _sendable(code):
    return 1000 <= code <= 4999 and code not in (1004, 1005, 1006, 1015)


def _close(self, code=1000, message=b''):
    """``WebSocket.close`` that puts ``code`` in the close frame.

    Wrong: the library never used ``code`` (jgelens/gevent-websocket PR #6, not merged):
    it sent ``message`` alone, usually empty, so clients saw 1005 "no status" instead of
    the 1007/1002 it means to send -- and a reason without a code is an invalid close
    frame; ``bytes`` reasons were even sent as their ``repr``. Right: the payload is the
    2-byte code then the UTF-8 reason, cut to fit the 125-byte control frame
    (RFC 6455 5.5.1); a code that may not be sent (``None``, 1005, ...) sends an empty
    close frame. Also: a reader greenlet closing while the writer greenlet is blocked
    sending on the same socket got ``ConcurrentObjectUseError`` out of ``close()`` (and
    out of ``receive()``); now the close frame is skipped -- the connection is being
    dropped anyway -- and the WebSocket is marked closed, as for a dead socket.
    """
    if self.closed:
        self.current_app.on_close(_ws_mod.MSG_ALREADY_CLOSED)

    try:
        if code is None or not _sendable(code):
            payload = b''
        else:
            if message is None:
                reason = b''
            elif isinstance(message, (bytes, bytearray, memoryview)):
                reason = bytes(message)
            else:
                reason = str(message).encode('utf-8')
            if len(reason) > 123:
                reason = reason[:123].decode('utf-8', 'ignore').encode('utf-8')
            payload = struct.pack('!H', code) + reason

        self.send_frame(payload, opcode=self.OPCODE_CLOSE)
    except WebSocketError:
        # Failed to write the closing frame but it's ok because we're
        # closing the socket anyway.
        self.logger.debug("Failed to write closing frame -> closing socket")
    except ConcurrentObjectUseError:
        self.logger.debug("Another greenlet is writing -> closing without close frame")
    finally:
        self.logger.debug("Closed WebSocket")
        self.closed = True

        self.stream = None
        self.raw_write = None
        self.raw_read = None

        self.environ = None


# --------------------------------------------------------------------------- unmask

def _unmask(self, payload):
    """``Header.mask_payload`` (= ``unmask_payload``) as one integer XOR.

    Wrong: the library XORs byte by byte in a Python loop: ~95 µs of blocked event loop
    per KB received (measured here; 1.6 ms for a 16 KiB message), against ~3.5 µs. Right: XOR is bytewise, so XOR-ing the payload, read as one big
    integer, with the 4-byte mask repeated to the same length and read the same way, gives
    the same bytes; ``int.from_bytes``/``to_bytes``/``^`` run in C. Same result, same type
    (``bytearray``); a payload whose length is not ``self.length`` (never, from
    ``read_frame``) goes to the library's code.
    """
    n = self.length
    if n != len(payload) or len(self.mask) != 4:
        return ORIGINAL['Header.mask_payload'](self, payload)
    key = (bytes(self.mask) * (n // 4 + 1))[:n]
    x = int.from_bytes(payload, 'little') ^ int.from_bytes(key, 'little')
    return bytearray(x.to_bytes(n, 'little'))


# --------------------------------------------------------------------------- UTF-8

_utf_8_decode = codecs.utf_8_decode


def _dfa_reject_index(data):
    """Index at which the library's DFA rejects ``data`` (fed from a fresh state), or None."""
    ok, _, i, _ = _DfaUtf8Validator().validate(data)
    return None if ok else i


class Utf8Validator(object):
    """Drop-in for the library's incremental ``Utf8Validator``, validating with C code.

    Wrong: the library validates every text frame with a pure-Python DFA, one table
    lookup per byte, and does it twice (the frame, then the whole message): ~110 µs of
    blocked event loop per KB and pass (measured here), against ~1.6 µs. Right: CPython's UTF-8 codec is strict in the same way
    (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) and runs in C;
    ``utf_8_decode(data, 'strict', False)`` decodes what is complete and reports how much
    that is, so an incomplete code point at the end of a fragment is kept for the next
    one, as the DFA's state is. Results are the DFA's, quad for quad
    (``valid, ends_on_code_point, index_in_chunk, index_total``): the rare cases where
    the codec and the DFA differ in *when* they notice (the codec waits on an already
    impossible tail such as ``ED A0``, a surrogate; it reports the start of a bad
    sequence where the DFA reports the bad byte) are settled by running the library's
    DFA over those few bytes. The library itself tries a C validator (wsaccel) first,
    so it was built to be replaced this way.
    """

    __slots__ = ('_pending', '_rejected', 'i')

    def __init__(self):
        self.reset()

    def reset(self):
        self._pending = b''     # an incomplete code point carried to the next chunk
        self._rejected = False
        self.i = 0

    def validate(self, ba):
        if self._rejected:          # the DFA stays in its reject state
            return (False, False, 0, self.i) if len(ba) else (True, False, 0, self.i)
        pending = self._pending
        data = pending + bytes(ba) if pending else ba
        try:
            consumed = _utf_8_decode(data, 'strict', False)[1]
        except UnicodeDecodeError as e:
            return self._reject(data, e.start, len(pending))
        n = len(ba)
        if consumed == len(data):
            self._pending = b''
            self.i += n
            return True, True, n, self.i
        tail = bytes(data[consumed:])
        if _dfa_reject_index(tail) is not None:
            return self._reject(data, consumed, len(pending))
        self._pending = tail
        self.i += n
        return True, False, n, self.i

    def _reject(self, data, start, npending):
        # Everything before `start` is whole, valid code points: the DFA, restarted
        # there, rejects within the next 4 bytes (one code point's worth).
        k = _dfa_reject_index(data[start:start + 4])
        if k is None:   # not expected; be exact anyway
            k = _dfa_reject_index(data[start:])
        i = start + (k or 0) - npending
        self._rejected = True
        self.i += i
        return False, False, i, self.i


# --------------------------------------------------------------------------- pings

def _handle_ping(self, header, payload):
    """``WebSocket.handle_ping`` that hands the ping to ``self.on_ping`` if set.

    Wrong: the library answers a ping from inside ``read_message``, i.e. the reader
    greenlet writes the pong to the socket; if the server's writer greenlet is in the
    middle of a send on the same socket, gevent raises ``ConcurrentObjectUseError``, and
    a lock in the server cannot help since this write does not go through it. Right:
    with ``on_ping`` set, the reader only calls ``on_ping(payload)`` (``bytes``, at most
    125) and the server's single writer sends the pong
    (``ws.send_frame(payload, ws.OPCODE_PONG)``), so all writes come from one greenlet.
    Without ``on_ping`` (or ``None``): the library's pong.
    """
    on_ping = getattr(self, 'on_ping', None)
    if on_ping is None:
        return ORIGINAL['WebSocket.handle_ping'](self, header, payload)
    on_ping(bytes(payload))


class WebSocket(_BaseWebSocket):
    """The library's WebSocket with two more slots, ``on_ping`` and ``on_frame``.

    The library's class has ``__slots__`` and no ``__dict__``, so ``ws.on_ping = f`` on
    it raises ``AttributeError``; :func:`install` makes the handler create these.
    All behaviour lives in the patched methods of the base class.
    """

    __slots__ = ('on_ping', 'on_frame')


# --------------------------------------------------------------------------- access log

def _log_request(self):
    """``WebSocketHandler.log_request`` back to gevent's.

    Wrong: the library logs only non-101 responses, and to its own logger whose handler
    drops everything unless in debug mode, so a server using ``WebSocketHandler`` wrote
    no access log at all, HTTP requests included. Right: gevent's line to the server's
    ``log`` (``WSGIServer(log=None)`` turns it off), one per request; for a WebSocket it
    is written when the connection ends, status 101 and the connection's duration.
    """
    WSGIHandler.log_request(self)


# --------------------------------------------------------------------------- install

def install(max_message=DEFAULT_MAX_MESSAGE):
    """Apply the patches above to gevent-websocket (process-wide). Idempotent.

    ``max_message``: the largest message accepted, in payload bytes (a frame or the sum
    of a fragmented message's frames); larger ones close the socket with 1009. Calling
    again only changes the limit. Call before the server accepts connections.
    """
    max_message = int(max_message)
    if max_message < 1:
        raise ValueError('max_message must be positive')
    _BaseWebSocket.max_message = max_message
    if getattr(_BaseWebSocket, '_wsfix_installed', False):
        return
    _BaseWebSocket._wsfix_original = ORIGINAL
    Header.mask_payload = _unmask
    Header.unmask_payload = _unmask
    _ws_mod.Utf8Validator = Utf8Validator
    _BaseWebSocket.read_frame = _read_frame
    _BaseWebSocket.read_message = _read_message
    _BaseWebSocket.handle_ping = _handle_ping
    _BaseWebSocket.close = _close
    _handler_mod.WebSocket = WebSocket
    WebSocketHandler.log_request = _log_request
    _BaseWebSocket._wsfix_installed = True
