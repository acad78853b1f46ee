"""What one change to the root causes, and the one place that carries it out.

The table flow (:mod:`server.play`) and the message handlers
(:mod:`server.handlers`) change the root and say what follows as an
:class:`Effects` value: the journal entries; the versioned table events (each
tagged with who may see it whole), the messages for one player or one
connection, in the order they must leave; and when time next decides
something at each table they touched. They do no I/O. :func:`commit` is the
only code that acts on an ``Effects``, through the ports it is given (the
shape of boardgame.io's master with its storage and transport, or Elm's
``(model, cmd)``):

1. journal the entries (``ports.journal.append``);
2. let the transport make every socket's frames and keep the events for
   reconnecting clients (``ports.transport.prepare``), still without I/O;
3. hand the frames to the sockets once what was journaled is durable
   (``ports.journal.when_durable``: at once, unless the journal's policy is
   ``always`` and lines are waiting for their fsync);
4. set the tables' next wake-ups (``ports.timers.schedule``).

So with ``--journal always`` nobody hears of a change before it is on disk,
and each socket's messages keep their order (the transport's frames for a
later commit are handed over after an earlier one's).

>>> from types import SimpleNamespace as NS
>>> journal, sent, woken = [], [], {}
>>> ports = NS(journal=NS(append=journal.append, when_durable=lambda then: then()),
...            transport=NS(prepare=lambda fx: list(fx.out), deliver=sent.extend),
...            timers=NS(schedule=woken.__setitem__))
>>> fx = Effects(journal=[{"k": "chat"}], wake={"t1": 12.5})
>>> fx.send("p1", {"type": "bankroll"})
>>> commit(fx, ports)
>>> journal, sent, woken
([{'k': 'chat'}], [('send', 'p1', {'type': 'bankroll'})], {'t1': 12.5})
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any

from game.events import Event


@dataclass
class Effects:
    """Everything a change to the root causes, in order; built up by the code that
    makes the change, carried out by :func:`commit`.

    ``out`` holds what leaves the server, in the order it must leave (a socket's
    messages keep this order):

    - ``("event", table id, v, event, only)``: a versioned table event for the
      table's watchers; ``only`` is the player who may see it whole (hole cards),
      None for everyone: the others get ``game.views.event_view(event, None)``,
      with the same ``v``;
    - ``("send", player id, message)``: to every socket of that player (``turn``,
      ``bankroll``);
    - ``("reply", connection id, message)``: an answer to one socket;
    - ``("watch", connection id, table id, since, full, rid)``: the socket follows
      the table from here on: it gets the events after version ``since`` if they
      are still kept, else ``full`` (the table message as of this change);
    - ``("close", table id, message)``: the table is gone: its watchers get
      ``message`` and stop watching.
    """

    journal: list[dict] = field(default_factory=list)    # entries (server.recovery)
    out: list[tuple] = field(default_factory=list)
    # table id -> when time next decides something there (None: nothing to wait for).
    wake: dict[str, float | None] = field(default_factory=dict)
    # Transfers to send to the cluster's wallet once their pending entries are durable
    # (server.transfers; never in one process).
    transfers: list[str] = field(default_factory=list)

    def event(self, table_id: str, v: int, event: Event, only: str | None = None) -> None:
        self.out.append(("event", table_id, v, event, only))

    def send(self, player_id: str, message: dict) -> None:
        self.out.append(("send", player_id, message))

    def reply(self, conn_id: int, message, rid=None) -> None:
        """Answer one socket (echoing the request's ``rid``)."""
        if rid is not None:
            message["rid"] = rid
        self.out.append(("reply", conn_id, message))

    def watch(self, conn_id: int, table_id: str, since: int | None, full: dict,
              rid=None) -> None:
        if rid is not None:
            full["rid"] = rid
        self.out.append(("watch", conn_id, table_id, since, full))

    def extend(self, other: "Effects") -> "Effects":
        """``other``'s effects after these; returns self."""
        self.journal += other.journal
        self.out += other.out
        self.wake.update(other.wake)
        self.transfers += other.transfers
        return self

    def events(self) -> list:
        """The table events, as ``(table id, v, event)``."""
        return [item[1:4] for item in self.out if item[0] == "event"]

    def sent(self, kind: str) -> list:
        """``out``'s items of one kind, without the kind."""
        return [item[1:] for item in self.out if item[0] == kind]


# The journal port when there is no journal: nothing to write, everything durable at once.
NO_JOURNAL = SimpleNamespace(append=lambda entry: None, when_durable=lambda then: then())


def commit(fx: Effects, ports) -> None:
    """Carry out ``fx`` (see the module doc). ``ports`` has ``journal``
    (``append``, ``when_durable``), ``transport`` (``prepare``, ``deliver``) and
    ``timers`` (``schedule``), and in a cluster ``wallet`` (``send``: transfers go
    to the wallet once their pending entries are durable)."""
    journal = ports.journal
    for entry in fx.journal:
        journal.append(entry)
    transport = ports.transport
    out = transport.prepare(fx)
    if out:
        journal.when_durable(partial(transport.deliver, out))
    if fx.transfers:
        journal.when_durable(partial(ports.wallet.send, list(fx.transfers)))
    schedule = ports.timers.schedule
    for table_id, at in fx.wake.items():
        schedule(table_id, at)
