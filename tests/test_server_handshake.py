"""Slow or half-finished handshakes are cut off, with one log line; an idle WebSocket is
not."""

from __future__ import annotations

import json
import signal
import socket
import time

import websocket

from test_crash import get, start_server


def test_half_finished_request_is_closed_but_idle_websocket_lives(tmp_path):
    proc, port, lines = start_server(str(tmp_path / "state"), "--handshake-timeout", "0.5")
    try:
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=5)
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr")   # and nothing more
        started = time.monotonic()
        answer = b""
        try:
            while chunk := slow.recv(4096):   # an error reply may come first; then the close
                answer += chunk
        except ConnectionResetError:
            pass
        assert time.monotonic() - started < 4, "the half-finished request was not cut off"
        assert b"101 Switching" not in answer
        slow.close()
        time.sleep(1.0)   # the WebSocket has been idle for twice the handshake timeout
        ws.send(json.dumps({"type": "ping", "rid": 1}))
        assert json.loads(ws.recv())["type"] in ("pong", "error")
        ws.close()
        assert json.loads(get(port, "/healthz"))["ok"] is True
        # The cut-off is one line in the log, not a traceback.
        assert not [line for line in lines if "Traceback" in line], "\n".join(lines)
        assert sum("request not finished within 0.5 s (GET /ws)" in line for line in lines) == 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
