"""The journal's files: checksummed lines in segments that name the segment they continue.

This module is the journal's file format and what recovery reads of it; the
writer is :mod:`persistence.journal`. ``docs/snapshots.md`` describes both.

**Segments.** ``journal-<seq>.jsonl`` holds the entries applied after
snapshot image ``seq`` was serialised (the server opens it in the same loop
turn). A segment written by this code (version 2) starts with a header line::

    {"format":"pokerserver-journal","version":2,"seq":43,"prev":42,"prev_bytes":5120} 3f0a9c1e

``prev`` is the segment this one continues and ``prev_bytes`` how many bytes
of it come before this one (the end of its last entry); ``prev`` is null when
the segment starts a new chain (a start that had nothing to continue, or a
journal re-opened after a failure): it then applies only on image ``seq``.

**Lines.** Every line, the header included, is compact JSON, a space, the
CRC-32 of the JSON bytes as 8 lowercase hex digits, and a newline. CRC-32
catches every single flipped bit (and every burst up to 32 bits) in the JSON;
a flipped bit in the digits, the space or the newline breaks the line's form.

Segments written before the checksums (version 1: no header, plain JSON lines)
are still read, as they were.

**Recovery** (:func:`entries_after`) starts at the segment of the image it
loaded and follows the chain: the next segment is the newest one that names
the current one as ``prev``, and it is applied only if the current one's
whole entries end exactly at ``prev_bytes``. Reading stops, and says why, at
the first damaged line (nothing after it is applied), at a segment whose tail
was lost (shorter than its successor says: entries after a hole are unsafe),
and at a segment that does not continue the chain.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass, field

import orjson

FORMAT = "pokerserver-journal"
VERSION = 2
SEQ_DIGITS = 12
NAME_RE = re.compile(r"^journal-(\d{%d})\.jsonl$" % SEQ_DIGITS)
_MAGIC = b'{"format":"%s",' % FORMAT.encode()
_SUM = len(b" 01234567")          # the checksum's part of a line, before the newline


class BadLine(ValueError):
    """A line that must not be applied; the message says why."""


def segment_name(seq: int) -> str:
    """The file name of segment ``seq``.

    >>> segment_name(7)
    'journal-000000000007.jsonl'
    """
    return f"journal-{seq:0{SEQ_DIGITS}d}.jsonl"


def list_segments(directory: str) -> list[tuple[int, str]]:
    """``(seq, path)`` of every segment in the folder, oldest first."""
    found = []
    for name in os.listdir(directory):
        m = NAME_RE.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(directory, name)))
    return sorted(found)


# ---------------------------------------------------------------------------
# Lines


def encode_line(value: dict) -> bytes:
    """One line: compact JSON, a space, its CRC-32 in hex, a newline.

    >>> encode_line({"k": "chat", "text": "gl"})
    b'{"k":"chat","text":"gl"} 6fe0bde1\\n'
    >>> decode_line(encode_line({"n": 1})[:-1])
    {'n': 1}
    >>> decode_line(b'{"n":2} ' + encode_line({"n": 1})[-9:-1])
    Traceback (most recent call last):
    ...
    persistence.segments.BadLine: checksum mismatch
    """
    data = orjson.dumps(value)
    return b"%s %08x\n" % (data, zlib.crc32(data))


def decode_line(line: bytes) -> dict:
    """The object on one line (without its newline); :class:`BadLine` if it is not sound."""
    if len(line) <= _SUM or line[-_SUM] != 0x20:
        raise BadLine("no checksum")
    data = line[:-_SUM]
    if b"%08x" % zlib.crc32(data) != line[-_SUM + 1:]:
        raise BadLine("checksum mismatch")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as e:   # a writer's bug: the checksum matched
        raise BadLine(f"not JSON: {e}") from None
    if not isinstance(value, dict):
        raise BadLine("not an object")
    return value


def header_line(seq: int, prev: int | None, prev_bytes: int | None) -> bytes:
    """The first line of segment ``seq``, which continues ``prev`` after its first
    ``prev_bytes`` bytes (both None: a new chain)."""
    return encode_line({"format": FORMAT, "version": VERSION, "seq": seq, "prev": prev,
                        "prev_bytes": prev_bytes})


# ---------------------------------------------------------------------------
# One segment


@dataclass
class Segment:
    """What one segment file held: its entries, and why reading stopped early, if it did."""

    seq: int
    path: str
    entries: list[dict]
    stopped: str | None = None    # None: read to a clean end (and the chain went on)
    version: int = VERSION
    header: dict | None = None
    start: int = 0                # byte offset where the entries start (after the header)
    ends: list[int] = field(default_factory=list)   # byte offset after each entry's line
    size: int = 0                 # bytes in the file
    damaged: bool = False         # stopped at a damaged line, not merely at a torn last one
    lines: int = 0                # whole entry lines in the file, good or not
    missing: bool = False         # a placeholder: no such file

    @property
    def end(self) -> int:
        """Byte offset just after the last entry kept (or after the header)."""
        return self.ends[-1] if self.ends else self.start


def _note(segment: Segment, text: str) -> None:
    segment.stopped = text if not segment.stopped else f"{segment.stopped}; {text}"


def read_segment(path: str, seq: int = -1) -> Segment:
    """Read every whole, sound entry; stop at a torn or damaged line and say why.

    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), segment_name(1))
    >>> _ = open(p, "wb").write(header_line(1, None, None) + encode_line({"k": "a"})
    ...                         + encode_line({"k": "b"}) + b'{"k":')
    >>> s = read_segment(p, 1)
    >>> [e["k"] for e in s.entries], s.stopped
    (['a', 'b'], 'torn last line (5 bytes) ignored')
    """
    with open(path, "rb") as f:
        return parse_segment(f.read(), path, seq)


def parse_segment(data: bytes, path: str = "", seq: int = -1) -> Segment:
    """:func:`read_segment` of a segment's bytes (``path`` only names it in notes)."""
    if data.startswith(_MAGIC) or _MAGIC.startswith(data):   # (empty, or a torn header)
        return _read_v2(path, seq, data)
    return _read_v1(path, seq, data)


def _read_v2(path: str, seq: int, data: bytes) -> Segment:
    segment = Segment(seq, path, [], size=len(data))
    lines = data.split(b"\n")
    tail = lines.pop()      # after the last newline: a write that did not finish
    segment.lines = max(len(lines) - 1, 0)
    if not lines:
        if tail:
            segment.stopped = f"torn header ({len(tail)} bytes) ignored"
        return segment
    try:
        header = decode_line(lines[0])
        if header.get("format") != FORMAT or header.get("version") != VERSION:
            raise BadLine(f"not a version {VERSION} journal header")
        if seq >= 0 and header.get("seq") != seq:
            raise BadLine(f"header says segment {header.get('seq')}, the file name {seq}")
    except BadLine as e:
        segment.damaged = True
        segment.stopped = f"damaged header, line 1 ({e}); {len(lines) - 1} later line(s) ignored"
        return segment
    segment.header = header
    at = segment.start = len(lines[0]) + 1
    for number, line in enumerate(lines[1:], 2):
        try:
            entry = decode_line(line)
        except BadLine as e:
            segment.damaged = True
            segment.stopped = (f"damaged line {number} ({e}); "
                               f"{len(lines) - number} later line(s) ignored")
            return segment
        at += len(line) + 1
        segment.entries.append(entry)
        segment.ends.append(at)
    if tail:
        segment.stopped = f"torn last line ({len(tail)} bytes) ignored"
    return segment


def _read_v1(path: str, seq: int, data: bytes) -> Segment:
    """Segments written before checksums: plain JSON lines, read as they always were."""
    segment = Segment(seq, path, [], version=1, size=len(data))
    lines = data.split(b"\n")
    tail = lines.pop()
    segment.lines = len(lines)
    at = 0
    for number, line in enumerate(lines, 1):
        try:
            entry = orjson.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except (orjson.JSONDecodeError, ValueError) as e:
            rest = len(lines) - number
            segment.damaged = rest > 0
            segment.stopped = (f"damaged line {number} ({e}); {rest} later line(s) ignored"
                               if rest else f"damaged last line {number} ignored")
            return segment
        at += len(line) + 1
        segment.entries.append(entry)
        segment.ends.append(at)
    if tail:
        segment.stopped = f"torn last line ({len(tail)} bytes) ignored"
    return segment


# ---------------------------------------------------------------------------
# The chain


def entries_after(directory: str, seq: int) -> list[Segment]:
    """The segments to replay on top of snapshot image ``seq``, in order, each cut where
    the chain leaves it; the last one's ``stopped`` says why nothing more is applied.

    Starts at segment ``seq`` (none: nothing is applied, the journal was off when
    the image was taken) and follows the chain (see the module doc). Stops at a
    damaged line, at a hole (a segment shorter than its successor says it was: its
    tail never reached the disk) and at a segment that does not continue the
    chain; segments after the stop are not applied, and the note says how many
    lines they hold. Version 1 segments (no header) follow each other by number.
    """
    found = [(s, p) for s, p in list_segments(directory) if s >= seq]
    if not found:
        return []
    segments = {s: read_segment(p, s) for s, p in found}
    order = [s for s, _ in found]
    if order[0] != seq:
        missing = Segment(seq, os.path.join(directory, segment_name(seq)), [], missing=True)
        _note(missing, f"no segment {seq} for image {seq} (the journal was off when it was "
                       f"taken, or the file is gone): {_unapplied(segments, order)}")
        return [missing]
    current = segments[seq]
    chain = [current]
    while True:
        later = [s for s in order if s > current.seq]
        if not later:
            return chain
        following = segments[later[0]]
        if current.version == 1 and following.version == 1:
            if current.damaged:      # as version 1 always did: nothing after damage
                _note(current, _unapplied(segments, later))
                return chain
            current = following
            chain.append(current)
            continue
        claims = [s for s in later
                  if segments[s].header is not None and segments[s].header.get("prev") == current.seq]
        if not claims:
            _note(current, f"segment {following.seq} does not continue segment {current.seq} "
                           f"({_why_not(following)}): {_unapplied(segments, later)}")
            return chain
        successor = segments[max(claims)]   # the newest word: a later start's chain wins
        wanted = successor.header.get("prev_bytes")
        cuts = [current.start] + current.ends
        if wanted not in cuts:
            lost = (f"its tail was lost: the file has {current.size} bytes"
                    if isinstance(wanted, int) and current.size < wanted
                    else f"its sound entries end at byte {current.end}")
            _note(current, f"hole: segment {successor.seq} says segment {current.seq} ended "
                           f"at byte {wanted}, but {lost}; entries after a hole are unsafe: "
                           f"{_unapplied(segments, [s for s in later if s >= successor.seq])}")
            return chain
        keep = cuts.index(wanted)
        if keep < len(current.entries):
            _note(current, f"entries {keep + 1}-{len(current.entries)} ignored: segment "
                           f"{successor.seq} continues this one after byte {wanted} (the start "
                           "that wrote it did not apply them)")
            del current.entries[keep:], current.ends[keep:]
        skipped = [s for s in later if s < successor.seq]
        if skipped:
            _note(current, f"{_unapplied(segments, skipped)}: segment {successor.seq} "
                           "continues this one (a later start did not apply them)")
        current = successor
        chain.append(current)


def _why_not(segment: Segment) -> str:
    if segment.version == 1:
        return "it has no header"
    if segment.header is None:
        return "its header is damaged or missing"
    prev = segment.header.get("prev")
    if prev is None:
        return (f"it starts a new chain: after a journal failure, or a start with nothing to "
                f"continue; it applies only on image {segment.seq}")
    return f"it continues segment {prev}"


def _unapplied(segments: dict[int, Segment], seqs: list[int]) -> str:
    lines = sum(segments[s].lines for s in seqs)
    names = ", ".join(str(s) for s in seqs)
    return f"segment(s) {names} ({lines} line(s)) not applied"


def chain_end(chain: list[Segment], applied: int) -> tuple[int, int] | None:
    """Where replaying ``applied`` entries of ``chain`` left off: ``(segment seq, byte
    offset)``, what the next segment names as its ``prev`` and ``prev_bytes``; None
    when the chain has no segment (the next segment starts a new chain).

    >>> chain = [Segment(4, "a", [{}, {}], start=80, ends=[100, 130]), Segment(5, "b", [{}], start=70, ends=[90])]
    >>> chain_end(chain, 3), chain_end(chain, 2), chain_end(chain, 1), chain_end(chain, 0)
    ((5, 90), (5, 70), (4, 100), (4, 80))
    """
    end = None
    for segment in chain:
        if segment.missing:
            break
        take = min(applied, len(segment.entries))
        applied -= take
        end = (segment.seq, segment.ends[take - 1] if take else segment.start)
        if take < len(segment.entries):
            break
    return end


def left_over(directory: str, seq: int, end: tuple[int, int] | None) -> list[tuple[str, int]]:
    """The whole entry lines a replay from image ``seq`` did not apply: ``(path, lines)``
    for each segment numbered ``seq`` or more that holds whole lines past ``end`` (where
    the replay stopped: :func:`chain_end`; None: it applied nothing). A torn last line
    (a crash in the middle of a write) is not a whole entry and is not counted.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, segment_name(3)), "wb").write(b'{"k":"a"}\\n{"k":"b"}\\n{"k"')
    >>> _ = open(os.path.join(d, segment_name(4)), "wb").write(b'{"k":"c"}\\n')
    >>> [(os.path.basename(p), n) for p, n in left_over(d, 3, (3, 10))]
    [('journal-000000000003.jsonl', 1), ('journal-000000000004.jsonl', 1)]
    >>> left_over(d, 3, (4, 10))
    []
    """
    out = []
    for s, path in list_segments(directory):
        if s < seq or (end is not None and s < end[0]):
            continue
        with open(path, "rb") as f:
            data = f.read()
        if end is not None and s == end[0]:
            start = end[1]
        else:       # the whole segment, but its header (version 2) is not an entry
            start = data.find(b"\n") + 1 if data.startswith(_MAGIC) else 0
        lines = data.count(b"\n", start)
        if lines > 0:
            out.append((path, lines))
    return out
