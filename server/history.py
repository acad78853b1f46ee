"""A table's event history for clients that come back: the latest events, compact.

A client that reconnects says the last version it saw, and gets the events
after it if they are still kept (``server.fanout.Fanout.replay``), a full table
otherwise. A busy table's history is most of what a table costs in memory, and
a forked snapshot's pause grows with the server's memory (docs/benchmarks.md),
so the events are kept as the frames sent (bytes; only ``hole_cards`` stay
values, redacted per viewer at replay), and every ``block`` of them is joined
and compressed (zlib, level 1: about a fifth of the size). Only a replay that
reaches back into a block reads it again.

The history knows the version of its newest event (``v``): versions grow by
one per event, so the others follow. An event that does not follow (the
table's versions jumped after a recovery) starts the history afresh.

At least ``keep`` of the latest events are kept (fewer than ``keep + block``,
and a block is at most an eighth of ``keep``: whole blocks go, oldest first):

>>> h = History(keep=16)           # in blocks of two events
>>> for v in range(1, 41):
...     h.append(b"frame %d" % v, v)
>>> len(h), h.v, h.first, h.last(3)
(16, 40, 25, [b'frame 38', b'frame 39', b'frame 40'])
>>> h.append(b"after a jump", 1_000_041)
>>> len(h), h.first, h.last(2)
(1, 1000041, [b'after a jump'])
"""

from __future__ import annotations

import struct
import zlib
from collections import deque

import orjson

from game.events import from_json

BLOCK = 64                        # events compressed together (64: about 5x smaller)
_ITEM = struct.Struct("<BI")      # in a block, before each item: its kind and length
_BYTES, _DICT = 0, 1


class History:
    """The latest events of one table, oldest first: frames (bytes) and event values."""

    __slots__ = ("keep", "block", "blocks", "tail", "sealed", "v")

    def __init__(self, keep: int = 512, block: int = BLOCK):
        self.keep = keep
        self.block = max(1, min(block, keep // 8))   # so at most 1/8 more are kept
        self.blocks: deque[tuple[int, bytes]] = deque()   # (events, compressed), oldest first
        self.tail: list = []                               # the latest events, as they came
        self.sealed = 0                                    # events in blocks
        self.v = 0                                         # the newest event's version

    def __len__(self) -> int:
        return self.sealed + len(self.tail)

    @property
    def first(self) -> int:
        """The version of the oldest event kept (``v + 1`` when none is)."""
        return self.v - len(self) + 1

    def append(self, item, v: int) -> None:
        """Keep ``item``, the event of version ``v``."""
        if v != self.v + 1:
            self.clear()
        self.v = v
        if self.keep <= 0:
            return
        self.tail.append(item)
        if len(self.tail) >= self.block:
            self._seal()
        blocks = self.blocks    # the oldest block goes once the rest hold ``keep`` events
        while blocks and len(self) - blocks[0][0] >= self.keep:
            self.sealed -= blocks.popleft()[0]

    def _seal(self) -> None:
        parts = []
        for item in self.tail:
            kind, data = (_BYTES, item) if type(item) is bytes else (_DICT, orjson.dumps(item))
            parts += (_ITEM.pack(kind, len(data)), data)
        self.blocks.append((len(self.tail), zlib.compress(b"".join(parts), 1)))
        self.sealed += len(self.tail)
        self.tail = []

    def clear(self) -> None:
        self.blocks.clear()
        self.tail = []
        self.sealed = 0

    def __iter__(self):
        for _, packed in self.blocks:
            yield from _unpack(packed)
        yield from self.tail

    def last(self, n: int) -> list:
        """The latest ``n`` events (all of them if fewer are kept), oldest first."""
        skip = max(0, len(self) - n)
        out = []
        for count, packed in self.blocks:
            if skip >= count:
                skip -= count
                continue
            out += list(_unpack(packed))[skip:]
            skip = 0
        out += self.tail[skip:]
        return out

    def __eq__(self, other) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return self.keep == other.keep and self.v == other.v and list(self) == list(other)

    def __repr__(self) -> str:
        return f"History(keep={self.keep}, {len(self)} events to v{self.v})"


def _unpack(packed: bytes):
    data = zlib.decompress(packed)
    at, end, head = 0, len(data), _ITEM.size
    while at < end:
        kind, n = _ITEM.unpack_from(data, at)
        item = data[at + head:at + head + n]
        yield item if kind == _BYTES else from_json(orjson.loads(item))
        at += head + n
