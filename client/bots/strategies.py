"""Bot strategies: plain functions ``(turn, state) -> action``.

``turn`` is the server's ``turn`` message (see docs/protocol.md); the action is
the body of an ``act`` message without ``type``/``table``/``rid``:
``{"action": "raise", "amount": 60}``.  Every strategy returns an action that
``turn["legal"]`` allows, with an amount inside ``min_to..max_to`` for a bet
or raise, whatever the state says.

>>> import random
>>> turn = {"legal": {"seat": 3, "actions": ["fold", "call", "raise", "all_in"],
...                   "call": 20, "min_to": 40, "max_to": 200}}
>>> calling_station(turn, BotState())
{'action': 'call'}
>>> tight_aggressive(turn, BotState(cards=("7c", "2d"), rng=random.Random(1)))
{'action': 'fold'}
>>> tight_aggressive(turn, BotState(cards=("As", "Ad"), pot=30, rng=random.Random(1)))
{'action': 'raise', 'amount': 59}
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from game.cards import DECK, RANKS
from game.evaluator import evaluate, evaluate_omaha


@dataclass
class BotState:
    """What a bot knows of the hand it plays, kept up to date from events.

    ``in_hand`` holds the seats still in the hand (not folded), so the number
    of opponents is ``len(in_hand) - 1``; ``pot`` counts every chip put in
    this hand, bets of the current street included.
    """

    seat: int | None = None
    cards: tuple = ()
    board: tuple = ()
    in_hand: set = field(default_factory=set)
    pot: int = 0
    big_blind: int = 2
    rng: random.Random = field(default_factory=random.Random)

    @property
    def opponents(self) -> int:
        return max(1, len(self.in_hand - {self.seat}))


def _act(action: str, amount: int | None = None) -> dict:
    return {"action": action} if amount is None else {"action": action, "amount": amount}


def _passive(legal: dict) -> dict:
    """Check when free, else fold; at showdown show (the only always-legal choice)."""
    actions = legal["actions"]
    if "check" in actions:
        return _act("check")
    if "fold" in actions:
        return _act("fold")
    return _act(actions[0])


def _clamp(amount: int, legal: dict) -> int:
    return max(legal["min_to"], min(int(amount), legal["max_to"]))


def _sized(legal: dict, extra: int) -> dict:
    """A bet or raise to ``min_to + extra``, clamped to the legal range."""
    name = "raise" if "raise" in legal["actions"] else "bet"
    return _act(name, _clamp(legal["min_to"] + extra, legal))


def _can_raise(legal: dict) -> bool:
    return "raise" in legal["actions"] or "bet" in legal["actions"]


# ---------------------------------------------------------------------------
# Strategies


def calling_station(turn: dict, state: BotState) -> dict:
    """Never folds, never raises: check, else call, else whatever is left."""
    actions = turn["legal"]["actions"]
    for name in ("check", "call", "all_in", "show"):
        if name in actions:
            return _act(name)
    return _act(actions[0])


def random_play(turn: dict, state: BotState) -> dict:
    """Any legal action, weighted so hands go on.

    Mostly check or call; sometimes a bet or raise to a random legal amount
    (skewed towards the minimum so stacks last); rarely all in; folds
    rarely when checking is free and now and then facing a bet.
    """
    legal, rng = turn["legal"], state.rng
    actions = legal["actions"]
    if "check" not in actions and "call" not in actions:  # showdown: show or muck
        return _act(rng.choice(actions))
    weights = {"check": 60, "call": 60, "bet": 20, "raise": 15, "all_in": 1,
               "fold": 1 if "check" in actions else 12}
    names = [a for a in actions if a in weights]
    name = rng.choices(names, [weights[a] for a in names])[0]
    if name in ("bet", "raise"):
        span = legal["max_to"] - legal["min_to"]
        return _act(name, _clamp(legal["min_to"] + int(span * rng.random() ** 3), legal))
    return _act(name)


def tight_aggressive(turn: dict, state: BotState, samples: int = 150) -> dict:
    """Plays few hands and plays them hard.

    Preflop: the Chen score of the hole cards (10+ raises, 7+ calls a modest
    bet, the rest check or fold); in Omaha (four or five hole cards) the Monte
    Carlo equity against the field instead (raises at 1.4 times a fair share,
    calls a modest bet at 1.1).  Postflop: a Monte Carlo equity against
    random hands of the opponents still in (``samples`` deals); raises with
    a strong edge, calls when the pot odds pay, folds the rest facing a bet.
    Bet sizes are clamped to ``min_to..max_to``: the pot limit and the fixed
    limit's one size come from the server.

    >>> omaha = {"legal": {"seat": 0, "actions": ["fold", "call", "raise"],
    ...                    "call": 2, "min_to": 4, "max_to": 7}}
    >>> tight_aggressive(omaha, BotState(cards=("As", "Ad", "Ks", "Kd"), pot=3,
    ...                                  in_hand={0, 1}, seat=0, rng=random.Random(1)))
    {'action': 'raise', 'amount': 7}
    """
    legal = turn["legal"]
    actions = legal["actions"]
    if "show" in actions:
        return _act("muck" if "muck" in actions else "show")
    if len(state.cards) not in (2, 4, 5):  # lost track of the hand (a resync): play safe
        return _passive(legal)
    call = legal["call"]
    bb = max(1, state.big_blind)
    if not state.board and len(state.cards) > 2:
        equity = monte_carlo_equity(state.cards, (), state.opponents, samples, state.rng)
        share = equity * (min(state.opponents, 5) + 1)
        if share >= 1.4 and _can_raise(legal):
            return _sized(legal, 2 * bb + state.pot // 2)
        if share >= 1.1 and "call" in actions and call <= 4 * bb:
            return _act("call")
        return _passive(legal)
    if not state.board:
        score = chen_score(state.cards)
        if score >= 10 and _can_raise(legal):
            return _sized(legal, 2 * bb + state.pot // 2)
        if score >= 7 and "call" in actions and call <= 4 * bb:
            return _act("call")
        if score >= 7 and "call" not in actions:
            return _act("check")
        return _passive(legal)
    equity = monte_carlo_equity(state.cards, state.board, state.opponents, samples, state.rng)
    if equity >= 0.75 and _can_raise(legal):
        return _sized(legal, (state.pot * 2) // 3)
    if "check" in actions:
        return _act("check")
    pot_odds = call / (state.pot + call) if state.pot + call else 1.0
    if equity >= pot_odds + 0.05:
        return _act("call" if "call" in actions else "all_in")
    return _act("fold")


STRATEGIES = {
    "random": random_play,
    "calling-station": calling_station,
    "tight-aggressive": tight_aggressive,
}


# ---------------------------------------------------------------------------
# Hand strength


def chen_score(cards) -> int:
    """Bill Chen's preflop score of two hole cards, rounded up (-1..20).

    >>> chen_score(("As", "Ah")), chen_score(("Ks", "Qs")), chen_score(("7c", "2d"))
    (20, 10, -1)
    """
    high, low = sorted((RANKS.index(c[0]) for c in cards), reverse=True)
    points = {12: 10, 11: 8, 10: 7, 9: 6}.get(high, (high + 2) / 2)
    if high == low:
        return int(-(-max(points * 2, 5) // 1))
    if cards[0][1] == cards[1][1]:
        points += 2
    gap = high - low - 1
    points -= (0, 1, 2, 4)[gap] if gap < 4 else 5
    if gap <= 1 and high < RANKS.index("Q"):
        points += 1
    return int(-(-points // 1))


def monte_carlo_equity(cards, board, opponents: int, samples: int, rng: random.Random) -> float:
    """Share of the pot ``cards`` win against ``opponents`` random hands.

    Deals the rest of the board and the opponents' hole cards ``samples``
    times from the unseen cards; a tie between k best hands counts 1/k.
    Opponents beyond five count as five (it bounds the cost). Four or five
    hole cards are Omaha: opponents get as many, and every hand is ranked by
    exactly two hole cards and three board cards.

    >>> rng = random.Random(7)
    >>> monte_carlo_equity(("As", "Ah"), ("Ad", "Ac", "Ks"), 1, 50, rng)
    1.0
    >>> 0.0 <= monte_carlo_equity(("7c", "2d"), (), 3, 50, rng) < 0.3
    True
    >>> monte_carlo_equity(("As", "Ah", "2c", "3d"), ("Ad", "Ac", "Ks"), 1, 50, rng)
    1.0
    """
    opponents = max(1, min(opponents, 5))
    known = set(cards) | set(board)
    unseen = [c for c in DECK if c not in known]
    missing = 5 - len(board)
    k = len(cards)
    need = missing + k * opponents
    mine, board = list(cards), list(board)

    def rank(hole, full):
        return evaluate(hole + full) if k == 2 else evaluate_omaha(hole, full)

    won = 0.0
    for _ in range(samples):
        dealt = rng.sample(unseen, need)
        full = board + dealt[:missing]
        best = rank(mine, full)
        ties = 1
        for i in range(missing, need, k):
            value = rank(dealt[i:i + k], full)
            if value > best:
                break
            ties += value == best
        else:
            won += 1.0 / ties
    return won / samples
