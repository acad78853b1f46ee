"""Chips between a shard and the cluster's wallet: the root's side (docs/scaling.md).

In a cluster the bankrolls live in Redis (:mod:`server.cluster`); a shard holds the
chips on its tables, and nothing else for long. Every move between the two is a
*transfer* with an id the shard chooses (``s<shard>-<n>``), which the wallet applies
at most once (a retry is answered with the stored outcome):

- a buy-in, a top-up or a tournament's buy-in *debits* the wallet: :func:`begin`
  records it pending and journals it before the wallet is asked; when the answer
  comes, :func:`finish` journals it done, deposits the chips in the player's bankroll
  here and, in the same step, applies the sit-down, the top-up or the registration
  the way one process does, taking them from that bankroll;
- chips that leave a table or a tournament (a player stands up, unregisters or is
  paid a prize; a seat or registration that became impossible meanwhile) land in the
  player's bankroll here, as in one process, and
  :func:`sweep` turns every such bankroll into a pending *credit* of the wallet in
  the same step; its answer finishes it.

So a shard's bankrolls are 0 between steps; a pending credit counts as chips in
play (:func:`server.root.total_chips`), and ``chips_issued`` counts what came in
from the wallet less what went back: a shard's own books balance like one
process's. The cluster's invariant (wallets + every shard's tables + chips in
flight == chips issued) is :func:`server.cluster.audit`'s.

Journal entries (:mod:`server.recovery` applies them with the functions below):

- ``{"k": "transfer", "id", "player", "amount", "then"}`` -- pending; ``amount`` is
  what the wallet gains (negative: a debit), ``then`` what a finished debit is for:
  ``["sit", table, seat]`` or ``["top_up", table]``;
- ``{"k": "transfer_done", "id", "ok", "balance"}`` -- the wallet's answer (the
  step that followed is journaled after it, as ``act`` entries).

>>> from server.root import add_player, new_root, total_chips
>>> root = new_root(); root.shard = 2
>>> p = add_player(root, "ann", bankroll=0, player_id="p9")
>>> t, entry = begin(root, "p9", -100, ["top_up", "t2-1"])
>>> t, root.transfers[t]["amount"], total_chips(root), root.chips_issued
('s2-1', -100, 0, 0)
>>> settle(root, {"k": "transfer_done", "id": t, "ok": True, "balance": 9900})
>>> p.bankroll, root.chips_issued, root.transfers
(100, 100, {})
"""

from __future__ import annotations

from server.effects import Effects
from server.root import Root

KINDS = ("transfer", "transfer_done")


def begin(root: Root, player_id: str, amount: int, then: list | None = None
          ) -> tuple[str, dict]:
    """A new pending transfer (``amount``: what the wallet gains); returns its id and its
    journal entry. A credit leaves the player's bankroll here at once."""
    entry = {"k": "transfer", "id": f"s{root.shard}-{root.next_transfer}",
             "player": player_id, "amount": amount, "then": then}
    pending(root, entry)
    return entry["id"], entry


def pending(root: Root, entry: dict) -> None:
    """Apply a ``transfer`` entry (live and in recovery)."""
    tid = entry["id"]
    if tid in root.transfers:
        raise ValueError(f"transfer {tid} is already pending")
    root.transfers[tid] = {"id": tid, "player": entry["player"], "amount": entry["amount"],
                           "then": entry["then"]}
    root.next_transfer = max(root.next_transfer, int(tid.rsplit("-", 1)[1]) + 1)
    if entry["amount"] > 0:
        player = root.players[entry["player"]]
        if player.bankroll < entry["amount"]:
            raise ValueError(f"transfer {tid}: {player.id} holds {player.bankroll} here, "
                             f"not {entry['amount']}")
        player.bankroll -= entry["amount"]


def settle(root: Root, entry: dict) -> None:
    """Apply a ``transfer_done`` entry (live and in recovery): the chips of a debit the
    wallet granted arrive in the player's bankroll here; a credit's leave the shard. A
    refused credit (the wallet does not know the player) stays pending."""
    t = root.transfers[entry["id"]]
    if t["amount"] > 0 and not entry["ok"]:
        return
    del root.transfers[entry["id"]]
    if t["amount"] < 0 and entry["ok"]:
        root.chips_issued -= t["amount"]
        root.players[t["player"]].bankroll -= t["amount"]
    elif t["amount"] > 0:
        root.chips_issued -= t["amount"]


def finish(root: Root, transfer_id: str, outcome: dict, now: float, spend
           ) -> tuple[Effects, str | None]:
    """The wallet answered ``outcome`` (``ok``, ``balance``, maybe ``reason``): settle
    the transfer and, for a granted debit, spend the chips on what they were for in the
    same step (``spend(root, transfer, now, fx)``, which returns None or why not:
    :func:`server.handlers.spend`). Returns the effects, swept (commit them as they
    are: the ``bankroll`` message in them is the wallet's balance) and, when the debit
    was for nothing, why (the text of the error the asker gets)."""
    t = root.transfers[transfer_id]
    fx = Effects()
    entry = {"k": "transfer_done", "id": transfer_id, "ok": bool(outcome["ok"]),
             "balance": outcome.get("balance")}
    settle(root, entry)
    fx.journal.append(entry)
    why = None
    player = root.players.get(t["player"])
    if t["amount"] < 0 and not entry["ok"]:
        why = (f"your bankroll is {outcome.get('balance', 0)}, less than {-t['amount']}"
               if outcome.get("reason") == "bankroll" else
               f"the wallet refused it ({outcome.get('reason')})")
    elif t["amount"] < 0 and player is not None:
        why = spend(root, t, now, fx)
    if player is not None:
        sweep(root, fx, [player.id])
        if outcome.get("balance") is not None:
            fx.send(player.id, {"type": "bankroll", "bankroll": outcome["balance"]})
    return fx, why


def sweep(root: Root, fx: Effects, players=()) -> None:
    """Send every chip a step left in a bankroll here back to the wallet: a pending
    credit per player, journaled and to be sent with ``fx``. The players looked at are
    ``players`` and those ``fx`` tells of a new bankroll (whose ``bankroll`` messages
    are dropped: in a cluster the wallet's answer says the balance)."""
    seen = list(players)
    kept = []
    for item in fx.out:
        if item[0] == "send" and item[2].get("type") == "bankroll":
            seen.append(item[1])
        else:
            kept.append(item)
    fx.out[:] = kept
    for pid in dict.fromkeys(seen):
        player = root.players.get(pid)
        if player is not None and player.bankroll > 0:
            tid, entry = begin(root, pid, player.bankroll)
            fx.journal.append(entry)
            fx.transfers.append(tid)
