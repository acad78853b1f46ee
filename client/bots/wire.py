"""The bots' side of the wire: open a WebSocket, read and send one JSON message.

Shared by the bots (``client.bots.bot``) and the chaos probes (``client.bots.chaos``).
"""

from __future__ import annotations

import struct

import orjson
import websocket

_TEXT = websocket.ABNF.OPCODE_TEXT
_CLOSE = websocket.ABNF.OPCODE_CLOSE
_CONT = websocket.ABNF.OPCODE_CONT
_BINARY = websocket.ABNF.OPCODE_BINARY
_PING = websocket.ABNF.OPCODE_PING


def table_url(url: str, table: str | None) -> str:
    """The socket URL for playing ``table``: ``?table=`` lets a cluster's HAProxy send the
    socket to the table's shard (docs/scaling.md); one server ignores it.

    >>> table_url("ws://127.0.0.1:8080/ws", "t3-17"), table_url("ws://h/ws", None)
    ('ws://127.0.0.1:8080/ws?table=t3-17', 'ws://h/ws')
    """
    return url if table is None else f"{url}{'&' if '?' in url else '?'}table={table}"


def connect(url: str, origin: str | None = None, timeout: float = 10.0) -> websocket.WebSocket:
    """Open a client WebSocket (no UTF-8 re-validation: the server's JSON is checked by orjson).

    Without ``origin`` no ``Origin`` header is sent (bots are not browsers, and the
    server allows that), so bots work whatever the server's ``--origins`` list.
    """
    options = {"origin": origin} if origin else {"suppress_origin": True}
    ws = websocket.create_connection(url, timeout=timeout, skip_utf8_validation=True,
                                     enable_multithread=True, **options)
    ws.settimeout(None)
    return ws


def read(ws: websocket.WebSocket):
    """The next message: a dict, or ``("close", code)`` when the server closed.

    Frames are read one by one (not with ``recv_data_frame``, which answers a
    close frame itself and loses its code when the server has already gone).
    """
    parts = []
    while True:
        frame = ws.recv_frame()
        opcode = frame.opcode
        if opcode == _TEXT or opcode == _CONT or opcode == _BINARY:
            parts.append(frame.data)
            if frame.fin:
                data = parts[0] if len(parts) == 1 else b"".join(parts)
                return orjson.loads(data)
        elif opcode == _CLOSE:
            code = struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else 1005
            try:
                ws.send_close()
            except (OSError, websocket.WebSocketException):
                pass
            return ("close", code)
        elif opcode == _PING:
            ws.pong(frame.data)


def send(ws: websocket.WebSocket, msg) -> None:
    """Send one JSON text frame (``bytes`` are sent as they are)."""
    ws.send(msg if isinstance(msg, bytes) else orjson.dumps(msg), _TEXT)
