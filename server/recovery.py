"""Re-applying the journal: every change to the root, as the server made it.

Each :class:`~server.effects.Effects` carries its journal entries, which
``commit`` appends before anything is sent:

- ``{"k": "act", "t": table, "a": action, "at": time}`` -- every action applied to a
  table (players', the server's own: ``StartHand`` with its deck, ``Timeout``,
  ``SitOut``...), from :func:`server.play.apply_action`;
- ``{"k": "player", "id", "name", "token", "bankroll"}`` -- a new player (``hello``);
- ``{"k": "forget", "id"}`` -- a player long gone, forgotten;
- ``{"k": "chat", "t", "player", "name", "text"}``;
- ``{"k": "table", "id", "name", "config", "creator", "owner", "created"}`` -- a table
  created with ``POST /api/tables`` (the last three: who and when, for the quotas);
- ``{"k": "closing", "t"}`` -- an operator closed a table: it goes when its hand is over;
- ``{"k": "close", "t"}`` -- a table went (its players stood up first, journaled as actions);
- ``{"k": "bots", "t", "players"}`` -- house bots seated by ``POST /api/tables``;
- ``{"k": "tournament" | "register" | "unregister", ...}`` -- see :mod:`server.tournaments`;
- ``{"k": "transfer" | "transfer_done", ...}`` -- chips to or from a cluster's wallet,
  see :mod:`server.transfers`;
- ``{"k": "wait" | "unwait", "t", "player"}`` -- a player joined or left a full table's
  waiting list; ``{"k": "offer", "t", "player", "until"}`` -- a free seat held for a
  player on it until ``until`` (``until`` null: no longer; ``player`` null: no seat is,
  as journals written before several offers say it), see :mod:`server.waiting`.

Recovery re-applies the entries through the same functions, and throws their
effects away (nobody is connected yet), which makes the journal exactly as
deterministic as the rules: the deck and the time are in the entries.

The clock's time bank and presence are not journaled: after a recovery
clocks are re-armed, and every client resyncs (see :func:`fresh_versions`).
"""

from __future__ import annotations

import logging

from game.events import Chat
from game.table import action_from_json
from server import play, tournaments, transfers, waiting
from server.effects import Effects
from server.root import TableConfig, add_player, add_table, forget_player

log = logging.getLogger("server.recovery")

# After a recovery every table's version jumps by this much: a client may have
# seen versions the crash lost, with other events in them, so no version it
# holds may be reused.
VERSION_JUMP = 1_000_000


def apply_entry(root, entry: dict) -> None:
    """Re-apply one journal entry to the root, as the server applied it."""
    kind = entry["k"]
    fx = Effects()      # what it caused then was sent then (or lost with the crash)
    if kind == "act":
        play.apply_action(root, root.tables[entry["t"]], action_from_json(entry["a"]),
                          entry["at"], fx)
    elif kind == "player":
        player = add_player(root, entry["name"], token=entry["token"],
                            bankroll=entry["bankroll"],
                            player_id=entry["id"] if root.shard else None)
        if player.id != entry["id"]:
            raise ValueError(f"player created as {player.id}, journal says {entry['id']}")
    elif kind == "bots":
        root.tables[entry["t"]].house_bots.extend(entry["players"])
    elif kind == "forget":
        forget_player(root, root.players[entry["id"]])
    elif kind == "chat":
        room = root.tables[entry["t"]]
        room.chat.append({"name": entry["name"], "text": entry["text"]})
        play.publish(room, [Chat(entry["player"], entry["name"], entry["text"])], fx)
    elif kind == "table":
        room = add_table(root, entry["name"], TableConfig(**entry["config"]))
        if room.id != entry["id"]:
            raise ValueError(f"table created as {room.id}, journal says {entry['id']}")
        room.creator, room.owner = entry.get("creator"), entry.get("owner")
        room.created = entry.get("created")
    elif kind == "closing":
        root.tables[entry["t"]].closing = True
    elif kind == "close":
        room = root.tables.pop(entry["t"])
        if any(room.game.seats):
            raise ValueError(f"table {room.id} closed with players still seated")
    elif kind == "tstart":
        tr = root.tournaments[entry["id"]]
        tournaments.start(root, tr, entry["draw"], entry["at"])
        for tid in tr.rooms.values():
            play.settle(root, root.tables[tid], entry["at"], fx, new_turn=False)
    elif kind == "transfer":
        transfers.pending(root, entry)
    elif kind == "transfer_done":
        transfers.settle(root, entry)
    elif kind in waiting.KINDS:
        waiting.apply_entry(root, entry)
    elif kind in tournaments.KINDS:
        tournaments.apply_entry(root, entry, play.publish)
    else:
        raise ValueError(f"unknown journal entry kind {kind!r}")


def replay(root, segments) -> tuple[int, list[str]]:
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
    other events in them, so each table's version jumps far ahead: any version
    a client holds is then older than every event the new process keeps, and
    ``watch`` answers with a full table.
    """
    for room in root.tables.values():
        room.v += VERSION_JUMP
