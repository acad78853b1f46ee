"""Durability for the root: journal every change, re-apply the journal on recovery.

The server changes the root in a few places only, and each one reports the
change here as a journal entry, right after the change and before any
message about it is queued:

- ``{"k": "act", "t": table, "a": action, "at": time}`` -- every action applied to a
  table (players', the server's own: ``StartHand`` with its deck, ``Timeout``,
  ``SitOut``...), from :func:`server.play.apply_action`;
- ``{"k": "player", "id", "name", "token", "bankroll"}`` -- a new player (``hello``);
- ``{"k": "chat", "t", "player", "name", "text"}``;
- ``{"k": "table", "id", "name", "config"}`` -- a table created with ``POST /api/tables``.

Recovery re-applies the entries through the same functions (there are no
connections then, so nothing is sent), which makes the journal exactly as
deterministic as the rules: the deck and the time are in the entries.

Messages wait for the journal: with the ``always`` policy every message is
queued only once the entries before it are fsynced (:func:`deliver`), so
nobody hears of an action that a crash could lose, and a socket's messages
keep their order.

The clock's time bank and presence are not journaled: after a recovery
clocks are re-armed, and every client resyncs (see :func:`fresh_versions`).
"""

from __future__ import annotations

import logging
from typing import Callable

from persistence import journal as jr

log = logging.getLogger("server.durable")

# The open journal, or None (no --journal, or while recovering). A module
# object like the root itself: the loop is the only thread that touches it.
JOURNAL: jr.Journal | None = None

# After a recovery every table's version jumps by this much (and its history
# is dropped): a client may have seen versions the crash lost, with other
# events in them, so no version it holds may be reused.
VERSION_JUMP = 1_000_000


def record(entry: dict) -> None:
    """Journal one change to the root (a no-op without a journal)."""
    if JOURNAL is not None:
        jr.append(JOURNAL, entry)


def deliver(send: Callable[[], None]) -> None:
    """Queue a message now, or once the journal entries before it are durable (``always``)."""
    j = JOURNAL
    if j is None or j.policy != "always" or not (j.pending or j.waiting or j.syncing
                                                 or j.scheduled):
        send()
        return
    if j.failed is None:
        j.waiting.append(send)
    # After a failure nothing more is acknowledged: the server is stopping.


def wait_durable(timeout: float = 5.0) -> bool:
    """Block this greenlet until what was journaled so far is durable (HTTP replies)."""
    j = JOURNAL
    if j is None or j.policy != "always":
        return True
    from gevent.event import Event
    done = Event()
    deliver(done.set)
    return done.wait(timeout)


# ---------------------------------------------------------------------------
# Recovery


def apply_entry(root, entry: dict) -> None:
    """Re-apply one journal entry to the root, as the server applied it."""
    from game.events import Chat
    from game.table import action_from_json
    from server import play
    from server.root import TableConfig, add_player, add_table, forget_player

    kind = entry["k"]
    if kind == "act":
        play.apply_action(root, root.tables[entry["t"]], action_from_json(entry["a"]),
                          t=entry["at"])
    elif kind == "player":
        player = add_player(root, entry["name"], token=entry["token"],
                            bankroll=entry["bankroll"])
        if player.id != entry["id"]:
            raise ValueError(f"player created as {player.id}, journal says {entry['id']}")
    elif kind == "bots":
        root.tables[entry["t"]].house_bots.extend(entry["players"])
    elif kind == "forget":
        forget_player(root, root.players[entry["id"]])
    elif kind == "chat":
        room = root.tables[entry["t"]]
        room.chat.append({"name": entry["name"], "text": entry["text"]})
        play.publish(root, room, [Chat(entry["player"], entry["name"], entry["text"])])
    elif kind == "table":
        room = add_table(root, entry["name"], TableConfig(**entry["config"]))
        if room.id != entry["id"]:
            raise ValueError(f"table created as {room.id}, journal says {entry['id']}")
    else:
        raise ValueError(f"unknown journal entry kind {kind!r}")


def replay(root, segments: list[jr.Segment]) -> tuple[int, list[str]]:
    """Apply the segments' entries in order; stop at the first that cannot be applied.

    Returns ``(entries applied, notes)``: notes say where and why reading stopped.
    """
    applied, notes = 0, []
    for segment in segments:
        for n, entry in enumerate(segment.entries, 1):
            try:
                apply_entry(root, entry)
            except Exception as e:  # noqa: BLE001 - a bad entry ends the replay, loudly
                notes.append(f"{segment.path}: entry {n} could not be applied ({e!r}); "
                             "the rest of the journal is ignored")
                log.error("journal: %s", notes[-1])
                return applied, notes
            applied += 1
        if segment.stopped:
            notes.append(f"{segment.path}: {segment.stopped}")
            log.warning("journal: %s", notes[-1])
    return applied, notes


def fresh_versions(root) -> None:
    """After any recovery: make every reconnecting client take a full view.

    Versions after the image (or journal) may have been seen by clients with
    other events in them, so each table's version jumps far ahead and its
    history is dropped: any version a client holds is then older than every
    kept event, and ``watch`` answers with a full table.
    """
    for room in root.tables.values():
        room.v += VERSION_JUMP
        room.history.clear()
