"""The transport: who is connected and watches what, and turning effects into frames.

None of this is the root's: it starts empty with the process and is never in a
snapshot (after a restart every client reconnects with its token). It holds

- the open connections (:class:`server.conn.Conn`), and each player's (presence
  is a count of sockets, so closing a second tab is not "left the table");
- who watches which table;
- each table's recent events as the frames sent (:class:`server.history.History`),
  so that a client coming back with the last version it saw gets what it missed.

:meth:`Fanout.prepare` turns an :class:`~server.effects.Effects` into each
socket's frames (and keeps the events) with no I/O; :meth:`Fanout.deliver`
queues them on the sockets, which never switches greenlets
(:func:`server.conn.send`). Everything one change does at a table goes to
each viewer as one ``events`` message (one frame), encoded once for the whole
table; only ``hole_cards`` differ between viewers (the player they were dealt
to sees them whole, everyone else :func:`game.views.event_view` ``(event,
None)``, with the same version), and then one encoding is made per kind of
viewer.
"""

from __future__ import annotations

import orjson

from game.views import event_view
from server import conn as conns
from server.effects import Effects
from server.history import History
from server.protocol import encode


class Fanout:
    """The transport's state (see the module doc) and what is done with it."""

    def __init__(self, keep: int = 512):
        self.keep = keep                            # events kept per table
        self.conns: dict[int, conns.Conn] = {}
        self.watchers: dict[str, set[int]] = {}     # table id -> connection ids
        self.sockets: dict[str, set[int]] = {}      # player id -> connection ids
        self.gone_since: dict[str, float] = {}      # player id -> their last socket closed
        self.histories: dict[str, History] = {}
        # A cluster's buy-ins and top-ups waiting for the wallet: transfer id -> the
        # socket that asked and its rid, answered when the wallet has (server.cluster).
        self.waiting: dict[str, tuple[int, object]] = {}

    # -- connections -------------------------------------------------------------

    def add(self, c: conns.Conn) -> None:
        self.conns[c.id] = c

    def remove(self, c: conns.Conn, now: float) -> bool:
        """A connection ended: forget it; True when it was its player's last socket."""
        self.conns.pop(c.id, None)
        for table_id in c.watching:
            watchers = self.watchers.get(table_id)
            if watchers is not None:
                watchers.discard(c.id)
        c.watching.clear()
        sockets = self.sockets.get(c.player) if c.player else None
        if sockets is None or c.id not in sockets:
            return False
        sockets.discard(c.id)
        if sockets:
            return False
        del self.sockets[c.player]
        self.gone_since[c.player] = now
        return True

    def bind(self, c: conns.Conn, player_id: str) -> bool:
        """The connection speaks for ``player_id`` (``hello``); True when the player had
        no other socket (they came back)."""
        c.player = player_id
        self.gone_since.pop(player_id, None)
        sockets = self.sockets.setdefault(player_id, set())
        sockets.add(c.id)
        return len(sockets) == 1

    def online(self, player_id: str) -> bool:
        return bool(self.sockets.get(player_id))

    def watch(self, c: conns.Conn, table_id: str) -> None:
        self.watchers.setdefault(table_id, set()).add(c.id)
        c.watching.add(table_id)

    def unwatch(self, c: conns.Conn, table_id: str) -> None:
        watchers = self.watchers.get(table_id)
        if watchers is not None:
            watchers.discard(c.id)
        c.watching.discard(table_id)

    def forget_table(self, table_id: str) -> None:
        for cid in self.watchers.pop(table_id, ()):
            c = self.conns.get(cid)
            if c is not None:
                c.watching.discard(table_id)
        self.histories.pop(table_id, None)

    # -- effects -----------------------------------------------------------------

    def history(self, table_id: str) -> History:
        h = self.histories.get(table_id)
        if h is None:
            h = self.histories[table_id] = History(self.keep)
        return h

    def prepare(self, fx: Effects) -> list:
        """Each socket's frames for ``fx``, as ``(connection, frame)`` in ``fx.out``'s
        order, with every run of one table's events in one ``events`` message per
        viewer (kept in the table's history on the way); the messages to players
        follow the events they came with."""
        out = []
        found = self.conns.get
        run: list = []          # (table id, v, event, only) of one table, in order
        later: list = []        # ("send", player, message) to go after the run
        for item in fx.out:
            kind = item[0]
            if kind == "event":
                if run and run[-1][0] != item[1]:
                    self._flush(run, later, out)
                run.append(item[1:])
                continue
            if kind == "send":
                later.append(item)
                continue
            self._flush(run, later, out)
            if kind == "reply":
                c = found(item[1])
                if c is not None:
                    message = item[2]
                    out.append((c, message if type(message) is conns.Raw else encode(message)))
            elif kind == "close":       # the table is gone: tell its watchers, forget it
                _, table_id, message = item
                text = encode(message)
                out += [(c, text) for cid in self.watchers.get(table_id, ())
                        if (c := found(cid))]
                self.forget_table(table_id)
            else:   # "watch"
                _, cid, table_id, since, full = item
                c = found(cid)
                if c is None:
                    continue
                self.watch(c, table_id)
                missed = None if since is None else self.replay(c, table_id, since, full["v"])
                if missed is None:
                    out.append((c, encode(full)))
                else:
                    out += [(c, frame) for frame in missed]
        self._flush(run, later, out)
        return out

    def _flush(self, run: list, later: list, out: list) -> None:
        """The events of ``run`` (one table's) as one batch per viewer, then ``later``."""
        found = self.conns.get
        if run:
            table_id, first = run[0][0], run[0][1]
            history = self.history(table_id)
            parts = []          # each event's JSON, or (event, only) when it is private
            for _, v, event, only in run:
                if only is None:
                    data = orjson.dumps(event)
                    # Kept copied to size: orjson's bytes hold its 4 KB work buffer,
                    # and a history keeps up to a block of them per table.
                    history.append(bytes(memoryview(data)), v)
                    parts.append(data)
                else:
                    history.append(event, v)
                    parts.append((event, only))
            watchers = [c for cid in self.watchers.get(table_id, ()) if (c := found(cid))]
            out += _batches(table_id, first, parts, watchers)
            run.clear()
        for _, player_id, message in later:
            text = encode(message)
            out += [(c, text) for cid in self.sockets.get(player_id, ()) if (c := found(cid))]
        later.clear()

    @staticmethod
    def deliver(out: list) -> None:
        """Queue the frames on their sockets (a socket closed meanwhile takes none)."""
        send = conns.send
        for c, item in out:
            send(c, item)

    def replay(self, c: conns.Conn, table_id: str, since: int, v: int) -> list | None:
        """The events after version ``since`` for ``c`` as one batch (a list of its frames),
        the table being at version ``v``; None unless the history holds them all, up to
        ``v`` (send a full table instead)."""
        if since > v:
            return None
        if since == v:
            return []
        history = self.histories.get(table_id)
        if history is None or history.v != v or history.first > since + 1:
            return None
        parts = [item if type(item) is bytes else (item, item.player)
                 for item in history.last(v - since)]
        return [frame for _, frame in _batches(table_id, since + 1, parts, [c])]


def _batches(table_id: str, first: int, parts: list, watchers: list) -> list:
    """``(connection, frame)`` of one ``events`` message for each watcher: ``parts`` are
    the events' JSON (the same for everyone) or ``(event, only)`` for one that only the
    player ``only`` sees whole (hole cards). Encoded once per kind of viewer: once for
    the whole table when nothing is private."""
    head = b'{"type":"events","table":%s,"v":%d,"events":[' % (orjson.dumps(table_id), first)
    if all(type(p) is bytes for p in parts):
        framed = conns.Raw(conns.frame(head + b",".join(parts) + b"]}"))
        return [(c, framed) for c in watchers]
    # Each private event encoded twice, once whole and once as others see it
    # (a deal at six seats: 12 encodings, not one per event per kind of viewer).
    whole = {i: orjson.dumps(p[0]) for i, p in enumerate(parts) if type(p) is not bytes}
    hidden = {i: orjson.dumps(event_view(parts[i][0], None)) for i in whole}
    owners = {parts[i][1] for i in whole}
    made: dict = {}
    out = []
    for c in watchers:
        key = c.player if c.player in owners else None     # None: sees no hole cards
        framed = made.get(key)
        if framed is None:
            body = b",".join(
                p if type(p) is bytes else whole[i] if p[1] == key else hidden[i]
                for i, p in enumerate(parts))
            framed = made[key] = conns.Raw(conns.frame(head + body + b"]}"))
        out.append((c, framed))
    return out
