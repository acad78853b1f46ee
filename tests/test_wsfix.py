"""server/wsfix.py: the gevent-websocket patches, pinned on a real server.

The servers run in subprocesses (gevent pywsgi + WebSocketHandler, a small echo app) so
this process is never monkey-patched; the client side is raw sockets, so the tests can
send what a normal client would not (a 256 MiB header, bad UTF-8, stray fragments).
A second server WITHOUT wsfix pins what the library did, so the tests show they tell the
two apart. The unit tests compare the new unmask / UTF-8 functions with the library's.
"""

import base64
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import textwrap
import time
import types

import pytest

from geventwebsocket.websocket import Header, WebSocket

from server import wsfix

CAP = 16 * 1024

SERVER = textwrap.dedent(r'''
    import json, sys
    import gevent, gevent.queue
    from gevent.pywsgi import WSGIServer
    from geventwebsocket.handler import WebSocketHandler
    if sys.argv[1] == 'wsfix':
        from server import wsfix
        wsfix.install()

    def app(environ, start_response):
        ws = environ.get('wsgi.websocket')
        if ws is None:
            start_response('200 OK', [('Content-Type', 'text/plain')])
            return [b'plain http\n']
        if environ['PATH_INFO'] == '/writer':
            return writer_app(ws)
        if environ['PATH_INFO'] == '/stuck':
            return stuck_app(ws)
        while True:                                  # /echo: a bare echo
            msg = ws.receive()
            if msg is None:
                return []
            ws.send(msg, binary=not isinstance(msg, str))

    def writer_app(ws):
        # The server's pattern: the reader never writes; one writer greenlet sends
        # everything, the pongs included (routed to it by ws.on_ping).
        out = gevent.queue.Queue()
        pings = []
        def on_ping(payload):
            pings.append(payload.hex())
            out.put((payload, ws.OPCODE_PONG))
        ws.on_ping = on_ping
        def writer():
            for payload, opcode in out:
                ws.send_frame(payload, opcode)
        w = gevent.spawn(writer)
        while True:
            msg = ws.receive()
            if msg is None:
                break
            if msg == 'report':
                out.put((json.dumps({'pings': pings, 'type': type(ws).__name__}),
                         ws.OPCODE_TEXT))
            else:
                out.put((msg, ws.OPCODE_TEXT))
        gevent.sleep(0.05)
        w.kill()
        return []

    def stuck_app(ws):
        # A writer blocked in sendall (the client does not read) while the reader
        # closes the socket: how does receive() end?
        def writer():
            while True:
                ws.send_frame(b'x' * 65536, ws.OPCODE_BINARY)
        w = gevent.spawn(writer)
        try:
            msg = ws.receive()
            print('STUCK-END receive returned %r' % (msg,), file=sys.stderr, flush=True)
        except BaseException as e:
            print('STUCK-END receive raised %s' % type(e).__name__, file=sys.stderr, flush=True)
        w.kill()
        return []

    server = WSGIServer(('127.0.0.1', 0), app, handler_class=WebSocketHandler)
    server.start()
    print(server.server_port, flush=True)
    server.serve_forever()
''')


class Server:
    def __init__(self, mode, tmpdir):
        self.log_path = os.path.join(tmpdir, 'server-%s.log' % mode)
        self.log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen([sys.executable, '-c', SERVER, mode],
                                     stdout=subprocess.PIPE, stderr=self.log,
                                     cwd=os.path.dirname(os.path.dirname(__file__)))
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        assert ready, 'server did not start'
        self.port = int(self.proc.stdout.readline())
        self.pid = self.proc.pid

    def status_kib(self, field):
        with open('/proc/%d/status' % self.pid) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
        raise KeyError(field)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


@pytest.fixture(scope='module')
def srv(tmp_path_factory):
    s = Server('wsfix', str(tmp_path_factory.mktemp('wsfix')))
    yield s
    s.stop()


@pytest.fixture(scope='module')
def plain_srv(tmp_path_factory):
    s = Server('plain', str(tmp_path_factory.mktemp('plain')))
    yield s
    s.stop()


# --------------------------------------------------------------------------- raw client

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def mask_bytes(payload, mask):
    return bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload=b'', fin=True, length=None, masked=True):
    """A masked client frame; `length` overrides the announced payload length;
    `masked=False` makes the frame a server would send (and a client must not)."""
    n = len(payload) if length is None else length
    bit = 0x80 if masked else 0
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack('!H', n)
    else:
        head += bytes([bit | 127]) + struct.pack('!Q', n)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + mask_bytes(payload, mask)


class Client:
    def __init__(self, port, path='/echo', rcvbuf=None):
        self.sock = socket.socket()
        self.sock.settimeout(5)
        if rcvbuf:      # before connect, so that the window stays this small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(('127.0.0.1', port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n'
                           'Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
                           'Sec-WebSocket-Version: 13\r\n\r\n' % (path, port, key)).encode())
        self.buf = b''
        while b'\r\n\r\n' not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        assert head.startswith(b'HTTP/1.1 101'), head

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data):
        self.sock.sendall(data)

    def recv_frame(self):
        b0, b1 = self._take(2)
        assert not b1 & 0x80, 'server frames are not masked'
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack('!H', self._take(2))[0]
        elif n == 127:
            n = struct.unpack('!Q', self._take(8))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._take(n)

    def recv_close(self):
        """The next frame, which must be a close: its (code or None, reason)."""
        fin, opcode, payload = self.recv_frame()
        assert opcode == CLOSE, (opcode, payload[:50])
        if not payload:
            return None, b''
        return struct.unpack('!H', payload[:2])[0], payload[2:]

    def closed_by_server(self):
        """True once the server has closed the TCP connection (EOF or reset)."""
        try:
            while True:
                self._fill()
        except EOFError:
            return True
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------- unit: unmask

@pytest.mark.parametrize('n', [0, 1, 2, 3, 4, 5, 7, 8, 125, 126, 127, 1000, 4096,
                               65535, 65536, 65537])
def test_unmask_identical_to_library(n):
    rnd = random.Random(n)
    old = wsfix.ORIGINAL['Header.mask_payload']
    for _ in range(3):
        h = Header(length=n)
        h.mask = bytes(rnd.getrandbits(8) for _ in range(4))
        payload = bytes(rnd.getrandbits(8) for _ in range(n))
        new = wsfix._unmask(h, payload)
        assert new == old(h, payload)
        assert type(new) is bytearray
        assert wsfix._unmask(h, bytearray(payload)) == new


def test_unmask_edge_masks_and_payloads():
    old = wsfix.ORIGINAL['Header.mask_payload']
    for mask in (b'\0\0\0\0', b'\xff\xff\xff\xff', b'\x00\xff\x00\xff', b'\x80\0\0\x01'):
        for payload in (b'\0' * 9, b'\xff' * 9, b'\x00\x01' * 5, b'\x80' + b'\0' * 8):
            h = Header(length=len(payload))
            h.mask = mask
            assert wsfix._unmask(h, payload) == old(h, payload)
    # unmask(unmask(x)) == x
    h = Header(length=300)
    h.mask = os.urandom(4)
    x = os.urandom(300)
    assert wsfix._unmask(h, wsfix._unmask(h, x)) == x


# --------------------------------------------------------------------------- unit: UTF-8

def test_utf8_validator_identical_to_library_dfa():
    """Quad for quad, over random streams of chunks cut anywhere (mid code point too)."""
    Dfa = wsfix.ORIGINAL['Utf8Validator']
    rnd = random.Random(1)
    octets = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2,
              0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
    chars = ['a', 'é', '€', '\U0001F0A1', '\ud7ff', '\ue000', '\U0010FFFF']
    for _ in range(20000):
        a, b = Dfa(), wsfix.Utf8Validator()
        for _ in range(rnd.randint(1, 4)):
            if rnd.random() < 0.5:
                chunk = bytes(rnd.choice(octets) for _ in range(rnd.randint(0, 6)))
            else:
                s = ''.join(rnd.choice(chars) for _ in range(rnd.randint(0, 3))).encode()
                cut = rnd.randint(0, len(s))
                chunk = s[:cut] if rnd.random() < 0.5 else s[cut:]
            if rnd.random() < 0.3:
                chunk = bytearray(chunk)
            assert a.validate(chunk) == b.validate(chunk), chunk


@pytest.mark.parametrize('chunks', [
    [b'\xed\xa0'],                 # a surrogate's start: the codec alone would wait
    [b'ab\xed', b'\xbf'],          # ... across a fragment boundary
    [b'\xf4\x90'],                 # above U+10FFFF
    [b'\xc0\xaf'],                 # overlong
    [b'\xe2\x82', b'\xac ok'],     # a euro sign split across fragments: valid
    [b'\xe2\x82', b'', b'\x28'],   # broken after an empty fragment
    [b'\xff', b'', b'x'],          # after a reject, as the DFA: empty ok, else index 0
])
def test_utf8_validator_tricky_chunks(chunks):
    a, b = wsfix.ORIGINAL['Utf8Validator'](), wsfix.Utf8Validator()
    for c in chunks:
        assert a.validate(c) == b.validate(c)


# --------------------------------------------------------------------------- unit: in memory

class FakeStream:
    def __init__(self, data):
        self.data, self.pos, self.written, self.reads = data, 0, [], []

    def read(self, n):
        self.reads.append(n)
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def write(self, data):
        self.written.append(bytes(data))


def memory_ws(data):
    wsfix.install()
    stream = FakeStream(data)
    handler = types.SimpleNamespace(logger=__import__('logging').getLogger('t'),
                                    server=types.SimpleNamespace(application=None))
    return wsfix.WebSocket({}, stream, handler), stream


def test_install_is_idempotent_and_sets_the_cap():
    wsfix.install()
    read_frame = WebSocket.read_frame
    try:
        wsfix.install(1000)
        assert WebSocket.read_frame is read_frame and WebSocket.max_message == 1000
    finally:
        wsfix.install()
    assert WebSocket.max_message == CAP
    assert WebSocket.read_frame is wsfix._read_frame
    import geventwebsocket.handler
    assert geventwebsocket.handler.WebSocket is wsfix.WebSocket
    with pytest.raises(ValueError):
        wsfix.install(0)


def test_too_big_is_refused_on_the_header_alone():
    ws, stream = memory_ws(frame(BINARY, length=256 << 20) + b'x' * 1000)
    with pytest.raises(wsfix.MessageTooBig):
        ws.read_message()
    assert max(stream.reads) <= 8              # header reads only, never the payload
    assert stream.written == [b'\x88\x11\x03\xf1message too big']   # close 1009
    assert ws.closed
    assert issubclass(wsfix.MessageTooBig, wsfix.ProtocolError)


def test_an_unmasked_frame_is_refused_with_1002_on_the_header_alone():
    ws, stream = memory_ws(frame(TEXT, b'x' * 1000, masked=False))
    assert ws.receive() is None
    assert stream.written == [b'\x88\x1e\x03\xeaclient frames must be masked']
    assert max(stream.reads) <= 8 and ws.closed        # the payload was never read
    ws, stream = memory_ws(frame(PING, b'p', masked=False))   # control frames too
    with pytest.raises(wsfix.Unmasked):
        ws.read_message()
    assert issubclass(wsfix.Unmasked, wsfix.ProtocolError)


def test_receive_returns_none_on_too_big():
    ws, stream = memory_ws(frame(TEXT, b'a' * 10000, fin=False) + frame(CONT, length=7000))
    assert ws.receive() is None
    assert stream.written[0][:4] == b'\x88\x11\x03\xf1'
    assert max(stream.reads) == 10000           # the first fragment, not the second


def test_on_ping_gets_the_payload_and_the_reader_writes_nothing():
    got = []
    ws, stream = memory_ws(frame(PING, b'hi') + frame(TEXT, b'msg'))
    ws.on_ping = got.append
    assert ws.receive() == 'msg'
    assert got == [b'hi'] and type(got[0]) is bytes
    assert stream.written == []


def test_without_on_ping_the_library_pongs():
    ws, stream = memory_ws(frame(PING, b'hi') + frame(TEXT, b'msg'))
    assert ws.receive() == 'msg'
    assert stream.written == [b'\x8a\x02hi']
    ws, stream = memory_ws(frame(PING, b'hi') + frame(TEXT, b'msg'))
    ws.on_ping = None
    assert ws.receive() == 'msg'
    assert stream.written == [b'\x8a\x02hi']


def test_on_frame_sees_every_frame_that_does_not_end_a_message():
    seen = []
    ws, stream = memory_ws(frame(PING, b'a') + frame(TEXT, b'x', fin=False) + frame(PONG)
                           + frame(CONT, b'', fin=False) + frame(CONT, b'y') + frame(TEXT, b'z'))
    ws.on_ping = lambda payload: None
    ws.on_frame = seen.append
    assert ws.receive() == 'xy'
    assert seen == [PING, TEXT, PONG, CONT]    # not the last fragment: that is the message
    assert ws.receive() == 'z' and len(seen) == 4


def test_on_frame_returning_false_stops_the_read():
    ws, stream = memory_ws(frame(PING, b'a') + frame(TEXT, b'never read'))
    pinged = []
    ws.on_ping = pinged.append
    ws.on_frame = lambda opcode: False
    assert ws.receive() is None
    assert pinged == [] and stream.written == []      # no pong, no close frame: the caller's
    assert stream.pos < len(stream.data)


def test_other_greenlets_run_between_the_frames_of_one_read():
    """A ping flood already in the buffer must not hold the loop: each ping yields."""
    import gevent
    ran = []
    ws, stream = memory_ws(frame(PING, b'a') * 3 + frame(TEXT, b'msg'))
    ws.on_ping = lambda payload: ran.append('ping')
    other = gevent.spawn(lambda: [ran.append('other') or gevent.sleep(0) for _ in range(3)])
    assert ws.receive() == 'msg'
    other.join()
    assert ran.count('other') == 3 and ran.count('ping') == 3
    assert ran.index('other') < len(ran) - 1 - ran[::-1].index('ping')   # not after them all


def test_close_sends_the_code():
    ws, stream = memory_ws(b'')
    ws.close(4000, 'send queue overflow')
    assert stream.written == [b'\x88\x15\x0f\xa0send queue overflow']
    for code, expected in ((None, b'\x88\x00'), (1005, b'\x88\x00'), (1000, b'\x88\x02\x03\xe8')):
        ws, stream = memory_ws(b'')
        ws.close(code)
        assert stream.written == [expected]
    ws, stream = memory_ws(b'')
    ws.close(1008, 'é' * 100)                  # cut to 125 bytes, on a code point
    (sent,) = stream.written
    assert sent[1] == 2 + 122 and sent[4:].decode() == 'é' * 61


def test_close_survives_a_concurrent_writer():
    from gevent.exceptions import ConcurrentObjectUseError

    def busy(data):
        raise ConcurrentObjectUseError('This socket is already used by another greenlet')

    ws, stream = memory_ws(frame(TEXT, b'\xff'))
    ws.raw_write = busy
    with pytest.raises(ConcurrentObjectUseError):       # the library's close()
        wsfix.ORIGINAL['WebSocket.close'](ws, 1007)
    ws, stream = memory_ws(frame(TEXT, b'\xff'))
    ws.raw_write = busy
    assert ws.receive() is None                         # close(1007) inside: no raise
    assert ws.closed


# --------------------------------------------------------------------------- real server

def echo(c, opcode, payload):
    c.send(frame(opcode, payload))
    fin, op, got = c.recv_frame()
    assert fin and op == opcode
    return got


def test_256_mib_frame_is_refused_quickly_and_not_buffered(srv):
    hwm_before = srv.status_kib('VmHWM')
    c = Client(srv.port)
    t0 = time.monotonic()
    c.send(frame(BINARY, length=256 << 20) + os.urandom(64 * 1024))
    try:
        assert c.recv_close() == (1009, b'message too big')
    finally:
        elapsed = time.monotonic() - t0
    assert elapsed < 1.0
    assert c.closed_by_server()
    c.close()
    assert srv.status_kib('VmHWM') - hwm_before < 4 * 1024    # KiB: < 4 MiB more
    assert srv.status_kib('VmRSS') < 64 * 1024


def test_fragmented_message_over_the_cap_is_refused(srv):
    c = Client(srv.port)
    c.send(frame(TEXT, b'a' * 8192, fin=False) + frame(CONT, b'b' * 8192, fin=False)
           + frame(CONT, b'c', fin=True))
    assert c.recv_close() == (1009, b'message too big')
    assert c.closed_by_server()


def test_fragmented_message_at_the_cap_passes(srv):
    c = Client(srv.port)
    c.send(frame(TEXT, b'a' * 8192, fin=False) + frame(PING, b'p')
           + frame(CONT, b'b' * 8192, fin=True))
    assert c.recv_frame() == (True, PONG, b'p')
    assert c.recv_frame() == (True, TEXT, b'a' * 8192 + b'b' * 8192)
    c.close()


@pytest.mark.parametrize('n', [CAP - 1, CAP])
def test_messages_up_to_the_cap_pass(srv, n):
    c = Client(srv.port)
    payload = os.urandom(n)
    assert echo(c, BINARY, payload) == payload
    text = ('é' * (n // 2) + 'x' * (n % 2)).encode()
    assert len(text) == n
    assert echo(c, TEXT, text) == text
    c.close()


def test_one_byte_over_the_cap_is_refused(srv):
    c = Client(srv.port)
    c.send(frame(BINARY, os.urandom(CAP + 1)))
    assert c.recv_close() == (1009, b'message too big')


def test_websocket_client_interop(srv):
    websocket = pytest.importorskip('websocket')
    ws = websocket.create_connection('ws://127.0.0.1:%d/echo' % srv.port, timeout=5)
    try:
        msg = '{"type":"chat","text":"%s"}' % ('♠' * 3000)
        ws.send(msg)
        assert ws.recv() == msg
        ws.send_binary(b'\x00\xff' * 100)
        assert ws.recv() == b'\x00\xff' * 100
        ws.ping(b'are you there')
        opcode, f = ws.recv_data_frame(control_frame=True)
        assert (opcode, f.data) == (PONG, b'are you there')
        ws.send('x' * (CAP + 1))
        opcode, f = ws.recv_data_frame(control_frame=True)
        assert (opcode, f.data) == (CLOSE, struct.pack('!H', 1009) + b'message too big')
    finally:
        ws.close()


@pytest.mark.parametrize('chunks', [
    [b'\xc3\x28'],
    [b'ok \xed\xa0\x80'],                      # an encoded surrogate
    [b'\xe2\x82', b'\x28 and more'],           # broken across fragments
])
def test_invalid_utf8_text_closes_1007(srv, chunks):
    c = Client(srv.port)
    data = b''
    for i, chunk in enumerate(chunks):
        data += frame(TEXT if i == 0 else CONT, chunk, fin=i == len(chunks) - 1)
    c.send(data)
    assert c.recv_close() == (1007, b'')
    assert c.closed_by_server()


def test_invalid_utf8_fails_fast_in_the_first_fragment(srv):
    """The message is never finished: the bad first fragment alone closes it."""
    c = Client(srv.port)
    c.send(frame(TEXT, b'\xff bad', fin=False))
    assert c.recv_close() == (1007, b'')


def test_ping_without_on_ping_gets_a_pong(srv):
    c = Client(srv.port)
    c.send(frame(PING, b'\x00 ping \xff'))
    assert c.recv_frame() == (True, PONG, b'\x00 ping \xff')
    c.send(frame(PING))
    assert c.recv_frame() == (True, PONG, b'')
    c.close()


def test_ping_with_on_ping_goes_to_the_writer(srv):
    c = Client(srv.port, '/writer')
    c.send(frame(PING, b'one') + frame(PING, b'two') + frame(TEXT, b'report'))
    assert c.recv_frame() == (True, PONG, b'one')     # sent by the writer greenlet
    assert c.recv_frame() == (True, PONG, b'two')
    fin, op, payload = c.recv_frame()                 # no third pong: the reader sent none
    assert op == TEXT
    assert json.loads(payload) == {'pings': [b'one'.hex(), b'two'.hex()], 'type': 'WebSocket'}
    c.close()


def test_an_unmasked_frame_closes_with_1002(srv):
    c = Client(srv.port)
    c.send(frame(TEXT, b'hello', masked=False))
    assert c.recv_close() == (1002, b'client frames must be masked')
    assert c.closed_by_server()


def test_client_close_is_echoed_with_its_code(srv):
    c = Client(srv.port)
    c.send(frame(CLOSE, struct.pack('!H', 1001) + b'bye'))
    assert c.recv_close() == (1001, b'bye')
    assert c.closed_by_server()


def test_access_log_has_the_websocket_and_http_lines(srv):
    c = Client(srv.port, '/logged-ws')
    c.send(frame(CLOSE, struct.pack('!H', 1000)))
    c.recv_close()
    c.closed_by_server()
    s = socket.create_connection(('127.0.0.1', srv.port), timeout=5)
    s.sendall(b'GET /logged-http HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    while s.recv(4096):
        pass
    s.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        with open(srv.log_path, 'rb') as f:
            log = f.read()
        if b'"GET /logged-ws HTTP/1.1" 101' in log and b'"GET /logged-http HTTP/1.1" 200' in log:
            break
        time.sleep(0.05)
    assert b'"GET /logged-ws HTTP/1.1" 101' in log
    assert b'"GET /logged-http HTTP/1.1" 200' in log


def wait_for_log(server, needle, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        with open(server.log_path, 'rb') as f:
            log = f.read()
        if needle in log or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def close_while_the_writer_is_blocked(server):
    c = Client(server.port, '/stuck', rcvbuf=4096)
    time.sleep(0.3)                            # the writer fills the buffers and blocks
    c.send(frame(TEXT, b'\xff'))              # the reader must now close with 1007
    log = wait_for_log(server, b'STUCK-END')
    c.close()
    return log


def test_close_while_the_writer_is_blocked(srv):
    """receive() ends with None. (Linux usually lets the reader's small close frame
    into the send queue even then -- appended mid-way into the writer's frame, which
    is the interleaving the single writer avoids elsewhere; when it cannot, the
    reader would wait on the socket the writer waits on: ConcurrentObjectUseError,
    see test_close_survives_a_concurrent_writer.)"""
    log = close_while_the_writer_is_blocked(srv)
    assert b'STUCK-END receive returned None' in log


# --------------------------------------------------------------------------- the library, unpatched

def test_unpatched_library_has_no_cap_and_sends_no_close_codes(plain_srv):
    """What wsfix fixes, pinned on the library as installed (so the tests above can fail)."""
    c = Client(plain_srv.port)
    big = os.urandom(CAP + 1000)
    assert echo(c, BINARY, big) == big                 # no size limit at all
    c.send(frame(TEXT, b'\xc3\x28'))
    assert c.recv_close() == (None, b'')               # meant 1007; the code is dropped
    c = Client(plain_srv.port)
    assert echo(c, TEXT, b'x') == b'x'
    c.send(frame(TEXT, b'unmasked', masked=False))      # read as if it were fine
    assert c.recv_frame() == (True, TEXT, b'unmasked')
    c = Client(plain_srv.port, '/writer')              # ws.on_ping cannot even be set
    c.send(frame(TEXT, b'report'))
    assert c.closed_by_server()
    assert b"AttributeError: 'WebSocket' object has no attribute 'on_ping'" in \
        wait_for_log(plain_srv, b'AttributeError')

