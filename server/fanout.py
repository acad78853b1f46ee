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
(:func:`server.conn.send`). Each event is encoded and framed once per table;
only ``hole_cards`` differ between viewers (the player they were dealt to
sees them whole, everyone else :func:`game.views.event_view` ``(event, None)``,
with the same version).
"""

from __future__ import annotations

from game.events import HoleCards
from game.views import event_view
from server import conn as conns
from server.effects import Effects
from server.history import History
from server.protocol import encode


def event_message(table_id: str, v: int, event) -> dict:
    return {"type": "event", "table": table_id, "v": v, "event": event}


def _framed(message: dict) -> conns.Raw:
    """``message`` encoded and framed once, to be sent to several connections."""
    return conns.Raw(conns.frame(encode(message)))


class Fanout:
    """The transport's state (see the module doc) and what is done with it."""

    def __init__(self, keep: int = 512):
        self.keep = keep                            # events kept per table
        self.conns: dict[int, conns.Conn] = {}
        self.watchers: dict[str, set[int]] = {}     # table id -> connection ids
        self.sockets: dict[str, set[int]] = {}      # player id -> connection ids
        self.gone_since: dict[str, float] = {}      # player id -> their last socket closed
        self.histories: dict[str, History] = {}

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
        order; the events are kept in their table's history on the way."""
        out = []
        found = self.conns.get
        for item in fx.out:
            kind = item[0]
            if kind == "event":
                _, table_id, v, event, only = item
                history = self.history(table_id)
                watchers = [c for cid in self.watchers.get(table_id, ()) if (c := found(cid))]
                if only is None:
                    framed = _framed(event_message(table_id, v, event))
                    history.append(framed.data, v)
                    out += [(c, framed) for c in watchers]
                    continue
                history.append(event, v)
                whole = hidden = None
                for c in watchers:
                    if c.player == only:
                        whole = whole or _framed(event_message(table_id, v, event))
                        out.append((c, whole))
                    else:
                        hidden = hidden or _framed(
                            event_message(table_id, v, event_view(event, None)))
                        out.append((c, hidden))
            elif kind == "send":
                text = encode(item[2])
                out += [(c, text) for cid in self.sockets.get(item[1], ()) if (c := found(cid))]
            elif kind == "reply":
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
        return out

    @staticmethod
    def deliver(out: list) -> None:
        """Queue the frames on their sockets (a socket closed meanwhile takes none)."""
        send = conns.send
        for c, item in out:
            send(c, item)

    def replay(self, c: conns.Conn, table_id: str, since: int, v: int) -> list | None:
        """The frames of the events after version ``since`` for ``c``, the table being at
        version ``v``; None unless the history holds them all, up to ``v``."""
        if since > v:
            return None
        if since == v:
            return []
        history = self.histories.get(table_id)
        if history is None or history.v != v or history.first > since + 1:
            return None
        out = []
        for ev_v, item in enumerate(history.last(v - since), since + 1):
            if type(item) is bytes:
                out.append(conns.Raw(item))
            else:
                event = item if type(item) is not HoleCards or item.player == c.player \
                    else event_view(item, None)
                out.append(_framed(event_message(table_id, ev_v, event)))
        return out
