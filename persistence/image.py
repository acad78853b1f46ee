"""The snapshot image file format: names, encoding, decoding (pure, but for listing a folder).

One image is one file, ``snapshot-<seq>.json`` (``seq`` zero-padded so that
names sort), and is itself valid JSON::

    {"format":"pokerserver-snapshot","version":2,"seq":42,"time":1795465234.123,
     "utc":"2026-11-23T19:40:34.123Z","body_bytes":123456,"lazy_bytes":4567,
     "body":{...the root...},"lazy":{...finished hands and chat...},
     "sha256":"<64 hex digits>"}

``sha256`` is the digest of every byte of the file before ``,"sha256":"``
(the header fields, the exact body bytes and the ``lazy`` member), so any
truncation or flipped byte is caught. ``docs/snapshots.md`` describes the
format; :mod:`persistence.snapshot` writes images, :mod:`persistence.restore`
loads them.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime, timezone
from typing import Any, Callable

import orjson

FORMAT = "pokerserver-snapshot"
VERSION = 2
READS = (1, 2)           # versions this code loads (1: no lazy member)
SEQ_DIGITS = 12
NAME_RE = re.compile(r"^snapshot-(\d{%d})\.json$" % SEQ_DIGITS)
TEMP_RE = re.compile(r"^\.snapshot-.*\.tmp$")

_MAGIC = b'{"format":"%s",' % FORMAT.encode()
_BODY_KEY = b',"body":'
_LAZY_KEY = b',"lazy":'
_SUM_KEY = b',"sha256":"'
_TAIL = len(_SUM_KEY) + 64 + len(b'"}\n')  # ,"sha256":"<64 hex>"}\n


class BadImage(ValueError):
    """An image that must not be loaded; the message says why."""


# ---------------------------------------------------------------------------
# Names


def image_name(seq: int) -> str:
    """``snapshot-000000000042.json``: zero-padded so that names sort by sequence.

    >>> image_name(42)
    'snapshot-000000000042.json'
    """
    return f"snapshot-{seq:0{SEQ_DIGITS}d}.json"


def temp_name(seq: int, pid: int) -> str:
    """The temporary file a writer (process ``pid``) renames to :func:`image_name` when done.

    >>> temp_name(42, 977)
    '.snapshot-000000000042-977.tmp'
    """
    return f".snapshot-{seq:0{SEQ_DIGITS}d}-{pid}.tmp"


def seq_of(name: str) -> int | None:
    """The sequence number in an image's file name (None for another name).

    >>> seq_of("snapshot-000000000042.json"), seq_of("notes.txt")
    (42, None)
    """
    m = NAME_RE.match(name)
    return int(m.group(1)) if m else None


def list_images(directory: str) -> list[tuple[int, str]]:
    """``(seq, path)`` of every image name in ``directory``, newest first."""
    found = []
    for name in os.listdir(directory):
        seq = seq_of(name)
        if seq is not None:
            found.append((seq, os.path.join(directory, name)))
    found.sort(reverse=True)
    return found


# ---------------------------------------------------------------------------
# Encoding and decoding (pure)


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
    persistence.image.BadImage: truncated or damaged end (no checksum)
    """
    view = memoryview(data)       # bytes, or a file's mmap (restore.load_newest)
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


def data_of(body: bytes, lazy: bytes | None) -> Any:
    """The root data an image of ``body`` and ``lazy`` decodes to (what a check sees),
    without encoding it: the writer checks an image before it is written.

    >>> data_of(b'{"a":1}', b'{"t1/chat":[]}')
    {'a': 1, 'lazy': b'{"t1/chat":[]}'}
    """
    parsed = orjson.loads(body)
    if lazy is not None:
        if not isinstance(parsed, dict) or "lazy" in parsed:
            raise ValueError("a lazy member needs a body object without its own 'lazy'")
        parsed["lazy"] = bytes(lazy)
    return parsed


def check_problems(check: Callable[[Any], list[str]], data: Any) -> str | None:
    """What ``check(data)`` finds, as one line (None when sound); a crash is a problem too.

    >>> check_problems(lambda data: [], {}), check_problems(lambda data: ["chips: 1 != 2"], {})
    (None, 'invariant check failed: chips: 1 != 2')
    """
    try:
        problems = check(data)
    except Exception as e:  # noqa: BLE001 - a check that crashes rejects the image
        return f"invariant check crashed: {e!r}"
    if not problems:
        return None
    shown = "; ".join(problems[:5])
    more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
    return f"invariant check failed: {shown}{more}"
