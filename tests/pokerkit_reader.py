"""pokerkit's *strict* reading of a PHH text: every player's decision comes from the file.

``pokerkit.HandHistory`` iterates a hand leniently: when an action does not
fit, it inserts the check or fold a player owed, or the show-or-muck the
showdown needs, and tries again. A file is only right if it needs none of
that, so :func:`strict_state` applies each action line as it is and lets
pokerkit do by itself only what no player decides: antes, blinds, collecting
bets, burning, dealing hole cards the file does not list (as unknown), killing
hands, pushing and pulling chips.

The number of runouts is a selection in pokerkit with no PHH notation; a
file with our extension ``_runout_count = 2`` selects two runouts for every
player when pokerkit asks.
"""

from __future__ import annotations

import warnings

from pokerkit import Automation, HandHistory
from pokerkit.notation import parse_action

AUTOMATIONS = (
    Automation.ANTE_POSTING, Automation.BET_COLLECTION, Automation.BLIND_OR_STRADDLE_POSTING,
    Automation.CARD_BURNING, Automation.HAND_KILLING, Automation.CHIPS_PUSHING,
    Automation.CHIPS_PULLING,
)


class NotStrict(AssertionError):
    """pokerkit cannot apply an action line as written, or the hand does not end."""


def _bookkeeping(state, runouts: int, following: str | None = None) -> None:
    """What no player decides; hole cards the file does not deal are dealt unknown."""
    while True:
        if state.can_post_ante():
            state.post_ante()
        elif state.can_collect_bets():
            state.collect_bets()
        elif state.can_post_blind_or_straddle():
            state.post_blind_or_straddle()
        elif state.can_burn_card():
            state.burn_card("??")
        elif state.can_deal_hole() and not (following or "").startswith("d dh"):
            state.deal_hole("??")
        elif state.can_select_runout_count():
            state.select_runout_count(runouts if runouts > 1 else None)
        elif state.can_kill_hand():
            state.kill_hand()
        elif state.can_push_chips():
            state.push_chips()
        elif state.can_pull_chips():
            state.pull_chips()
        else:
            return


def strict_state(text: str):
    """pokerkit's state after every action line of a one-hand PHH text; raises NotStrict."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pokerkit warns about our extra fields
        hh = HandHistory.loads(text, automations=AUTOMATIONS)
        runouts = hh.user_defined_fields.get("_runout_count", 1)
        state = hh.create_state()
        for number, action in enumerate(hh.actions, 1):
            _bookkeeping(state, runouts, action)
            try:
                parse_action(state, action, hh.parse_value)
            except ValueError as e:
                raise NotStrict(f"pokerkit refuses {action!r} (#{number}): {e}") from None
        _bookkeeping(state, runouts)
    if state.status:
        raise NotStrict(f"the hand is not over in pokerkit: {state.operations[-3:]}")
    return state


def strict_stacks(text: str) -> list:
    return list(strict_state(text).stacks)
