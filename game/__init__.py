"""Pure poker rules (No-Limit Hold'em, Pot-Limit Omaha, Fixed-Limit Hold'em: see
:mod:`game.variants`): no I/O, no clock, no randomness.

``apply(table, action) -> (table, events)`` is the whole engine; see
:mod:`game.table`. Cards are strings (:mod:`game.cards`), hands are ranked
by :mod:`game.evaluator`, pots are split by :mod:`game.pots`, and
:mod:`game.views` redacts tables and events for each viewer.
"""

from game.table import (  # noqa: F401
    ACTION_TYPES, AllIn, Bet, Call, Check, Fold, Hand, IllegalAction, Legal, Muck, Raise,
    RunTwice, Seat, Show, SitDown, SitIn, SitOut, StandUp, StartHand, Table, Timeout, TopUp,
    action_from_json, action_to_json, after_timeouts, apply, automatic_action, can_start_hand,
    dealable, legal_actions, new_table, pots, table_from_json, table_to_json,
)
