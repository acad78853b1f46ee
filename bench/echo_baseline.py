"""The floor of server-side CPU per WebSocket round trip: a bare echo over our stack.

    .venv/bin/python bench/echo_baseline.py [--connections 100] [--messages 300]
        [--duration 10] [--size 200] [--compare] [--rounds 1] [--fanout 6]

The server is a subprocess (gevent pywsgi + geventwebsocket's WebSocketHandler +
``server.wsfix.install()``, an app that sends every message back) on 127.0.0.1; this
process is the load: ``--connections`` gevent greenlets on raw sockets, each sending a
text message of ``--size`` bytes (JSON-like, masked as a client must) and waiting for
its echo, ``--messages`` times or until ``--duration`` seconds have passed. Handshakes
and a few warm-up round trips per connection happen before the clock starts.

Printed per run: round trips/s, p50/p99 round-trip latency, and the server process's CPU
time (user + system, /proc/<pid>/stat) per round trip -- the figure that matters: the
game server can spend no less than this on a message. ``--compare`` also runs the same
load against the library without wsfix and prints the ratio. The load generator's own
CPU is printed too: near 100 % means round trips/s and latency are the client's limit,
not the server's (CPU per round trip stays valid); and so is the CPU other processes
took meanwhile (% of one core; the machine has ``os.cpu_count()``): when it is high,
trust the CPU per round trip, not the rates and latencies. CPU times come in clock
ticks (10 ms): let a run use a second or more of server CPU for a 1 % reading.

``--fanout 6`` sends every message to a group of six connections (a table),
sender included: the least a server on this stack can spend on one message
everyone at a table sees.

``--serve [--no-wsfix]`` runs only the server (prints its port); used by the runs.
"""

import argparse
import base64
import os
import socket as _stdsocket
import subprocess
import sys
import time

import gevent
import gevent.event
from gevent import socket

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import (CpuMeter, machine_busy_seconds, percentiles,  # noqa: E402
                      server_cpu_seconds)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------- server

def serve(wsfix, fanout=1):
    from gevent.pywsgi import WSGIServer
    from geventwebsocket.handler import WebSocketHandler
    if wsfix:
        sys.path.insert(0, ROOT)
        from server import wsfix as _wsfix
        _wsfix.install()

    groups = {}     # with --fanout: group id (?g=) -> its sockets

    def app(environ, start_response):
        ws = environ.get('wsgi.websocket')
        if ws is None:
            start_response('400 Bad Request', [])
            return [b'websocket only\n']
        group = [ws]
        if fanout > 1:
            group = groups.setdefault(environ.get('QUERY_STRING', ''), [])
            group.append(ws)
        while True:
            msg = ws.receive()
            if msg is None:
                return []
            for peer in group:      # the echo, and with --fanout a copy to every peer
                peer.send(msg, binary=not isinstance(msg, str))

    server = WSGIServer(('127.0.0.1', 0), app, handler_class=WebSocketHandler,
                        log=None, backlog=1024)
    server.start()
    print(server.server_port, flush=True)
    server.serve_forever()


def start_server(wsfix=True, fanout=1):
    """(Popen, port) of an echo server subprocess."""
    cmd = [sys.executable, os.path.abspath(__file__), '--serve', '--fanout', str(fanout)]
    if not wsfix:
        cmd.append('--no-wsfix')
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT)
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError('echo server did not start')
    return proc, int(line)


# --------------------------------------------------------------------------- load

def message(size):
    """A JSON-looking ASCII text message of exactly ``size`` bytes."""
    head = '{"type":"chat","rid":1,"text":"'
    body = head + 'x' * max(0, size - len(head) - 2) + '"}'
    return body.encode()[:size] if size >= len(head) + 2 else b'x' * size


def client_frame(payload):
    """One masked text frame. The mask is fixed per connection: unmasking costs the
    server the same whatever the key, and the load generator stays cheap."""
    n = len(payload)
    if n < 126:
        head = bytes([0x81, 0x80 | n])
    elif n < 65536:
        head = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, 'big')
    else:
        head = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, 'big')
    mask = os.urandom(4)
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, 'big') ^ int.from_bytes(key, 'big')).to_bytes(n, 'big')
    return head + mask + masked


def _recv_exact(sock, n):
    chunks, got = [], 0
    while got < n:
        data = sock.recv(max(65536, n - got))
        if not data:
            raise EOFError('server closed the connection')
        chunks.append(data)
        got += len(data)
    data = b''.join(chunks)
    if len(data) != n:
        raise RuntimeError('more data than one echo')   # only one message in flight
    return data


def _connect(port, group=None):
    sock = socket.create_connection(('127.0.0.1', port))
    sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    path = '/echo' if group is None else '/echo?%d' % group
    sock.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n'
                  'Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
                  'Sec-WebSocket-Version: 13\r\n\r\n' % (path, key)).encode())
    buf = b''
    while b'\r\n\r\n' not in buf:
        data = sock.recv(4096)
        if not data:
            raise EOFError('handshake refused')
        buf += data
    if not buf.startswith(b'HTTP/1.1 101') or not buf.endswith(b'\r\n\r\n'):
        raise RuntimeError('bad handshake: %r' % buf[:200])
    return sock


def run_load(port, pid, connections=100, messages=200, duration=10.0, size=200,
             warmup=3, fanout=1):
    """Drive the echo server at ``port`` (process ``pid``); return the figures as a dict.

    With ``fanout`` > 1 the connections go in groups of that many (a table): each
    round trip is one member sending a message and every member, the sender
    included, receiving it -- the least any server on this stack can spend on a
    message that everyone at a table must see.
    """
    if fanout > 1:
        return _run_fanout(port, pid, connections, messages, duration, size, warmup, fanout)
    payload = message(size)
    reply_len = (2 if size < 126 else 4 if size < 65536 else 10) + size
    expected = (bytes([0x81]) + (bytes([size]) if size < 126 else
                                 bytes([126]) + size.to_bytes(2, 'big') if size < 65536 else
                                 bytes([127]) + size.to_bytes(8, 'big')) + payload)
    assert len(expected) == reply_len
    go = gevent.event.Event()
    ready = []
    samples = []
    errors = []
    deadline = [None]

    def conn():
        try:
            sock = _connect(port)
        except Exception as e:      # noqa: BLE001 -- reported, not fatal to the run
            errors.append(repr(e))
            ready.append(False)
            return
        frame = client_frame(payload)
        counted = False
        try:
            for _ in range(warmup):
                sock.sendall(frame)
                if _recv_exact(sock, reply_len) != expected:
                    raise RuntimeError('echo differs from the message')
            ready.append(True)
            counted = True
            go.wait()
            mine = []
            perf = time.perf_counter
            for _ in range(messages):
                if perf() >= deadline[0]:
                    break
                t0 = perf()
                sock.sendall(frame)
                _recv_exact(sock, reply_len)
                mine.append(perf() - t0)
                # gevent does not switch when a recv finds data waiting, so without this
                # a few connections would ping-pong alone while the others starve.
                gevent.sleep(0)
            samples.extend(mine)
        except Exception as e:      # noqa: BLE001
            errors.append(repr(e))
            if not counted:
                ready.append(False)
        finally:
            sock.close()

    greenlets = [gevent.spawn(conn) for _ in range(connections)]
    return _measure(pid, greenlets, connections, 1, ready, samples, errors, go, deadline,
                    duration)


def _measure(pid, greenlets, expected, per_ready, ready, samples, errors, go, deadline,
             duration):
    """Wait for the load greenlets to be ready, run them for ``duration`` and measure:
    the figures as a dict (``per_ready`` connections for each entry of ``ready``)."""
    t_setup = time.perf_counter() + 60
    while len(ready) < expected and time.perf_counter() < t_setup:
        gevent.sleep(0.01)
    server = CpuMeter(pid).start()
    client = CpuMeter(os.getpid()).start()
    busy0 = machine_busy_seconds()
    deadline[0] = time.perf_counter() + duration
    go.set()
    gevent.joinall(greenlets)
    server.stop()
    client.stop()
    others = machine_busy_seconds() - busy0 - server.cpu - client.cpu
    n = len(samples)
    pct = percentiles(samples, (50, 99)) if samples else {50: float('nan'), 99: float('nan')}
    return {
        'connections': per_ready * sum(1 for r in ready if r),
        'round_trips': n,
        'seconds': server.wall,
        'rt_per_s': n / server.wall if server.wall else 0.0,
        'p50_ms': pct[50] * 1e3,
        'p99_ms': pct[99] * 1e3,
        'server_cpu_us_per_rt': server.per(n),
        'server_cpu_pct': 100 * server.cpu / server.wall,
        'client_cpu_pct': 100 * client.cpu / client.wall,
        'others_cpu_pct': max(0.0, 100 * others / server.wall),
        'errors': errors,
    }


def _run_fanout(port, pid, connections, messages, duration, size, warmup, fanout):
    payload = message(size)
    reply_len = (2 if size < 126 else 4) + size
    go = gevent.event.Event()
    groups = max(1, connections // fanout)
    ready, samples, errors, deadline = [], [], [], [None]

    def table(g):
        try:
            socks = [_connect(port, g) for _ in range(fanout)]
        except Exception as e:      # noqa: BLE001 -- reported, not fatal to the run
            errors.append(repr(e))
            ready.append(False)
            return
        frames = [client_frame(payload) for _ in socks]
        perf = time.perf_counter
        try:
            for i in range(warmup + messages):
                if i == warmup:
                    ready.append(True)
                    go.wait()
                elif i > warmup and perf() >= deadline[0]:
                    break
                t0 = perf()
                socks[i % fanout].sendall(frames[i % fanout])
                for s in socks:
                    _recv_exact(s, reply_len)
                if i >= warmup:
                    samples.append(perf() - t0)
                gevent.sleep(0)
        except Exception as e:      # noqa: BLE001
            errors.append(repr(e))
        finally:
            for s in socks:
                s.close()

    greenlets = [gevent.spawn(table, g) for g in range(groups)]
    return _measure(pid, greenlets, groups, fanout, ready, samples, errors, go, deadline,
                    duration)


def run_config(wsfix, fanout=1, **load):
    proc, port = start_server(wsfix, fanout)
    try:
        result = run_load(port, proc.pid, fanout=fanout, **load)
        result['server_total_cpu_s'] = server_cpu_seconds(proc.pid)
        return result
    finally:
        proc.kill()
        proc.wait()


def _row(name, r):
    return ('%-7s %5d %7d %6.2f %9.0f %8.2f %8.2f %13.1f %8.0f%% %8.0f%% %8.0f%%' % (
        name, r['connections'], r['round_trips'], r['seconds'], r['rt_per_s'], r['p50_ms'],
        r['p99_ms'], r['server_cpu_us_per_rt'], r['server_cpu_pct'], r['client_cpu_pct'],
        r['others_cpu_pct']))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--connections', type=int, default=100)
    ap.add_argument('--messages', type=int, default=300, help='round trips per connection')
    ap.add_argument('--duration', type=float, default=10.0, help='at most, seconds')
    ap.add_argument('--size', type=int, default=200, help='message bytes')
    ap.add_argument('--compare', action='store_true', help='also run without wsfix')
    ap.add_argument('--rounds', type=int, default=1,
                    help='with --compare: alternate the two this many times, keep the best')
    ap.add_argument('--fanout', type=int, default=1,
                    help='every message goes to a group of this many connections (a table)')
    ap.add_argument('--serve', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--no-wsfix', action='store_true', help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.serve:
        return serve(wsfix=not a.no_wsfix, fanout=a.fanout)

    load = dict(connections=a.connections, messages=a.messages, duration=a.duration,
                size=a.size, fanout=a.fanout)
    configs = [('wsfix', True)] + ([('plain', False)] if a.compare else [])
    best = {}
    print('echo over gevent pywsgi + gevent-websocket, %d connections x %d messages of '
          '%d bytes (at most %gs)' % (a.connections, a.messages, a.size, a.duration))
    print('%-7s %5s %7s %6s %9s %8s %8s %13s %9s %9s %9s' % (
        'config', 'conns', 'rts', 'secs', 'rt/s', 'p50 ms', 'p99 ms', 'srv CPU us/rt',
        'srv CPU', 'load CPU', 'others'))
    for _ in range(a.rounds if a.compare else 1):
        for name, wsfix in configs:
            r = run_config(wsfix, **load)
            print(_row(name, r), flush=True)
            for e in sorted(set(r['errors']))[:5]:
                print('   error: %s (x%d)' % (e, r['errors'].count(e)))
            if name not in best or r['server_cpu_us_per_rt'] < best[name]['server_cpu_us_per_rt']:
                best[name] = r
    if a.compare:
        w, p = best['wsfix'], best['plain']
        print('without/with wsfix: server CPU per round trip x%.2f (wsfix saves %.0f%%), '
              'round trips/s x%.2f' % (
                  p['server_cpu_us_per_rt'] / w['server_cpu_us_per_rt'],
                  100 * (1 - w['server_cpu_us_per_rt'] / p['server_cpu_us_per_rt']),
                  p['rt_per_s'] / w['rt_per_s']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
