"""docs/protocol.md's table of event kinds is the schema of game/events.py: same kinds,
same fields in the same order (the doc is what client authors read)."""

from __future__ import annotations

import os
import re
from dataclasses import fields

from game.events import EVENT_TYPES

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                   "protocol.md")


def documented_events() -> dict[str, list[str]]:
    """kind -> field names, from the rows of the event table (``| `kind` | fields | ...``)."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    section = text.split("### events", 1)[1].split("\n### ", 1)[0]
    out = {}
    for line in section.splitlines():
        m = re.match(r"^\| (`[a-z_]+`(?: / `[a-z_]+`)*) \| ([^|]*) \|", line)
        if not m:
            continue
        cells = re.sub(r"\([^)]*\)|: \[[^\]]*\]", "", m.group(2))   # notes, nested fields
        names = [f.strip() for f in cells.split(",") if f.strip()]
        for kind in re.findall(r"`([a-z_]+)`", m.group(1)):
            out[kind] = names
    return out


def test_the_protocol_doc_lists_every_event_with_its_fields_in_order():
    documented = documented_events()
    assert documented.keys() == EVENT_TYPES.keys(), (
        f"only in the doc: {sorted(documented.keys() - EVENT_TYPES.keys())}; "
        f"only in game/events.py: {sorted(EVENT_TYPES.keys() - documented.keys())}")
    for kind, cls in EVENT_TYPES.items():
        names = [f.name for f in fields(cls) if f.name != "type"]
        assert documented[kind] == names, (kind, documented[kind], names)
