"""PHH: reading, replaying through our rules, the command line, and writing hands back out.

The round trips play random hands at our table, write them as PHH, and read
them back twice: with our replay and with pokerkit's, an independent engine.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pokerkit import HandHistory

from game.cards import DECK
from game.phh import (SPECTATOR, PHHAction, PHHError, dumps_phh, dumps_phhs, hand_to_phh,
                      loads_phh, loads_phhs, parse_action, replay, replay_result)
from game.table import (AllIn, Bet, Call, Check, Fold, Muck, Raise, RunTwice, Show, SitDown,
                        SitIn, SitOut, StandUp, StartHand, Timeout, TopUp, apply,
                        automatic_action, can_start_hand, legal_actions, new_table)
from game.variants import deck_fits
from hands import stacked_deck
from pokerkit_reader import NotStrict, strict_stacks
from test_pokerkit_diff import pokerkit_stacks

ROOT = Path(__file__).resolve().parent.parent

EXAMPLE = """\
variant = "NT"
antes = [0, 0, 0]
blinds_or_straddles = [50, 100, 0]
min_bet = 100
starting_stacks = [10000, 10000, 10000]
actions = [
  "d dh p1 7c2d", "d dh p2 QhQd", "d dh p3 AsKs",
  "p3 cbr 300", "p1 f", "p2 cc",
  "d db 2h7h9c",
  "p2 cc", "p3 cbr 400", "p2 f",
]
finishing_stacks = [9950, 9700, 10350]
"""

# The first televised million-dollar pot (pokerkit's own test of PHH): an
# unknown folded hand, all in on the turn, shown before the river card.
DWAN_IVEY = """\
# Tom Dwan and Phil Ivey, Full Tilt Million Dollar Cash Game S4E12
variant = "NT"
ante_trimming_status = true
antes = [500, 500, 500]
blinds_or_straddles = [1000, 2000, 0]
min_bet = 2000
starting_stacks = [1125600, 2000000, 553500]
actions = [
  "d dh p1 Ac2d",  # Ivey
  "d dh p2 ????",  # Antonius
  "d dh p3 7h6h",  # Dwan
  "p3 cbr 7000", "p1 cbr 23000", "p2 f", "p3 cc",
  "d db Jc3d5c",
  "p1 cbr 35000", "p3 cc",
  "d db 4h",
  "p1 cbr 90000", "p3 cbr 232600", "p1 cbr 1067100", "p3 cc",
  "p1 sm Ac2d", "p3 sm 7h6h",
  "d db Jh",
]
players = ["Phil Ivey", "Patrik Antonius", "Tom Dwan"]
finishing_stacks = [572100, 1997500, 1109500]
"""


def nt(stacks, actions, blinds=None, ante=0, **fields) -> dict:
    """A hand's fields: blinds 1/2 unless given."""
    n = len(stacks)
    blinds = blinds or [1, 2] + [0] * (n - 2)
    return {"variant": "NT", "antes": [ante] * n, "blinds_or_straddles": blinds,
            "min_bet": max(blinds), "starting_stacks": stacks, "actions": actions, **fields}


def run_cli(*paths) -> tuple[int, list[dict]]:
    proc = subprocess.run([sys.executable, "-m", "game.phh", "replay", *map(str, paths)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()]


# -- reading ---------------------------------------------------------------------------------

def test_parse_action_lines():
    assert parse_action("d db Jc3d5c") == PHHAction("db", None, ("Jc", "3d", "5c"))
    assert parse_action("d dh p10 ????") == PHHAction("dh", 9, ("??", "??"))
    assert parse_action("p3 cc") == PHHAction("cc", 2)
    assert parse_action("p2 sm AsKd # at last") == PHHAction("sm", 1, ("As", "Kd"),
                                                              comment="at last")
    assert parse_action("# just words") == PHHAction("#", comment="just words")
    for bad in ["p0 f", "p1 cbr", "p1 cbr 1.", "p1 cbr -2", "p1 cbr 1e3", "d dh p1 AsXx", "d db Jc3", "x1 f", "", "p1 sd"]:
        with pytest.raises(PHHError):
            parse_action(bad)


def test_the_example_of_phh_md():
    hand = loads_phh(EXAMPLE)
    assert replay(hand).finishing_stacks == [9950, 9700, 10350]
    # The same text is what pokerkit reads too.
    assert list(list(HandHistory.loads(EXAMPLE))[-1].stacks) == [9950, 9700, 10350]


def test_unknown_hole_cards_of_a_folded_player_and_shows_before_the_river():
    result = replay(loads_phh(DWAN_IVEY))
    assert result.finishing_stacks == [572100, 1997500, 1109500]
    table = result.table
    assert table.hand.board == ("Jc", "3d", "5c", "4h", "Jh")
    assert [s.player for s in table.seats] == ["Phil Ivey", "Patrik Antonius", "Tom Dwan"]


def test_heads_up_the_button_is_p2_and_posts_the_small_blind():
    # p1 posts 2 (big blind), p2 the button posts 1 and acts first before the flop.
    result = replay(nt([100, 100], ["p2 cbr 6", "p1 f"]))
    assert result.finishing_stacks == [98, 102]
    with pytest.raises(PHHError, match="not your turn"):
        replay(nt([100, 100], ["p1 cc"]))


def test_a_showdown_the_file_leaves_out_gets_our_default():
    # Nobody all in, the river checked through, no show lines: the first
    # player left of the button shows, the other shows only if they win or tie.
    actions = ["d dh p1 AsAd", "d dh p2 KsKd", "d dh p3 2c7h", "p3 f", "p1 cc", "p2 cc",
               "d db 3c8d9h", "p1 cc", "p2 cc", "d db Ts", "p1 cc", "p2 cc",
               "d db 4d", "p1 cc", "p2 cc"]
    result = replay(nt([50, 50, 50], actions))
    assert result.finishing_stacks == [52, 48, 50]
    seats = result.table.seats
    assert seats[0].shown and seats[1].mucked


def test_show_lines_in_another_order_than_ours():
    # Our order (first left of the button: p1) differs from the file's; the
    # decisions wait for their turn.
    actions = ["d dh p1 AsAd", "d dh p2 KsKd", "d dh p3 2c7h", "p3 f", "p1 cc", "p2 cc",
               "d db 3c8d9h", "p1 cc", "p2 cc", "d db Ts", "p1 cc", "p2 cc",
               "d db 4d", "p1 cc", "p2 cc", "p2 sm", "p1 sm AsAd"]
    assert replay(nt([50, 50, 50], actions)).finishing_stacks == [52, 48, 50]


def test_a_decision_the_file_gives_early_waits_for_the_defaults_before_it():
    # Our order is p1, p2, p3; the file only says p3 (the best hand) mucked:
    # p1 and p2 get the default (both show), then p3 mucks and p2 wins.
    actions = ["d dh p1 2c7d", "d dh p2 KsKd", "d dh p3 AsAd", "p3 cc", "p1 cc", "p2 cc",
               "d db 3c8d9h", "p1 cc", "p2 cc", "p3 cc", "d db Ts", "p1 cc", "p2 cc", "p3 cc",
               "d db 4d", "p1 cc", "p2 cc", "p3 cc", "p3 sm"]
    result = replay(nt([50, 50, 50], actions))
    assert result.finishing_stacks == [48, 54, 48]
    assert result.table.seats[2].mucked


def test_side_pots_all_in_everyone_tabled():
    # Rule case 5's stacks, all in preflop (the big stack calls: nobody could
    # call a raise); the all-in hands are turned up automatically, so the
    # file's show lines (before the board, as pokerkit writes them) are only checked.
    actions = ["d dh p1 2c2d", "d dh p2 3c3d", "d dh p3 4c4d", "d dh p4 5c5d",
               "p3 cbr 4000", "p4 cc", "p1 cc", "p2 cc",
               "p1 sm 2c2d", "p2 sm 3c3d", "p3 sm 4c4d", "p4 sm 5c5d",
               "d db AhKhQs", "d db 9s", "d db 7h"]
    stacks = replay(nt([1000, 2501, 4000, 10000], actions, blinds=[50, 100, 0, 0]))
    assert stacks.finishing_stacks == [0, 0, 0, 4000 + 3 * 1501 + 2 * 1499 + 6000]
    with pytest.raises(PHHError, match="nobody left could call any of a raise"):
        replay(nt([1000, 2501, 4000, 10000], actions[:5] + ["p4 cbr 10000"],
                  blinds=[50, 100, 0, 0]))


def test_a_dead_small_blind_and_a_player_between_button_and_blinds():
    # blinds_or_straddles as our own exports write them after a bust-out.
    dead_small = replay(nt([100, 100, 100], ["p2 f", "p3 f"], blinds=[2, 0, 0]))
    assert dead_small.finishing_stacks == [100, 100, 100]
    between = replay(nt([100] * 4, ["p4 f", "p1 f", "p2 f"], blinds=[0, 1, 2, 0]))
    assert between.finishing_stacks == [100, 99, 101, 100]
    # Heads-up to three-handed with the button seat busted: our rule puts the
    # small blind on the seat that had the big blind, last in position order.
    hand = nt([100] * 3, ["p2 f", "p3 f"], blinds=[2, 0, 1])
    assert replay(hand).finishing_stacks == [101, 100, 99]
    assert pokerkit_replay(dumps_phh(hand)) == [101, 100, 99]


@pytest.mark.parametrize("hand, reason", [
    (nt([100, 100, 100], [], blinds=[1, 2, 4]), "unsupported: blinds_or_straddles"),
    ({**nt([100, 100], []), "antes": [1, 0]}, r"unsupported: antes \[1, 0\] \(the same"),
    ({**nt([100, 100], []), "min_bet": 1}, "min_bet 1 is not the big blind 2"),
    ({**nt([100, 100], []), "variant": "FO/2"}, "unsupported: variant 'FO/2'"),
    ({**nt([100, 100], []), "variant": "FT"}, "unsupported: small_bet None and big_bet None"),
    ({**nt([100, 100], ["d dh p1 AsAd"]), "variant": "PO"}, "dealt 2 hole cards, not 4"),
    (nt([100, 0], []), "unsupported: a player without chips"),
    (nt([100, 100], ["p2 cc", "p1 cc", "d db 2c3c"]), "hand not finished"),
    (nt([100, 100], ["p2 f", "p1 cc"]), r"\(#2\): the hand is already over"),
    (nt([100, 100], ["p2 cc"]), "hand not finished: p1 to act"),
    (nt([100, 100], ["d db 2c3c4c", "p2 cc"]), r"\(#1\): the board comes before"),
    (nt([100, 100], ["p3 f"]), r"\(#1\): no player p3"),
    (nt([100, 100], ["d dh p1 AsAs"]), "the card As appears twice"),
    (nt([100, 100], ["d dh p1 AsKs", "p2 f", "p1 sm AsQs"]), "p1 shows AsQs but was dealt"),
    (nt([100, 100], ["p2 cbr 3"]), r"action 'p2 cbr 3' \(#1\): the minimum raise is to 4"),
    (nt([100, 100], ["p2 jumps"]), r"\(#1\): not a PHH action"),
])
def test_hands_we_cannot_replay_say_why(hand, reason):
    with pytest.raises(PHHError, match=reason):
        replay(hand)


def test_unknown_cards_needed_at_an_all_in_showdown():
    actions = ["d dh p1 ????", "d dh p2 KsKd", "p2 cbr 100", "p1 cc",
               "d db 2c3c4h", "d db 9s", "d db Td"]
    with pytest.raises(PHHError, match="p1's hole cards are unknown"):
        replay(nt([100, 100], actions))
    # A later show line tells them: the replay goes on with those cards.
    shown = replay(nt([100, 100], actions + ["p1 sm AsAd", "p2 sm KsKd"]))
    assert shown.finishing_stacks == [200, 0]
    assert shown.table.seats[0].cards == ("As", "Ad")


# An all-in hand nobody knows that the file mucks (as pokerkit writes it:
# the other hand shown, this one mucked, the board dealt up to the street
# where the hand is over): the unknown hand is out, the result is known.
MUCKED_ALL_IN = """\
variant = "NT"
antes = [0, 0]
blinds_or_straddles = [1, 2]
min_bet = 2
starting_stacks = [100, 100]
actions = [
  "d dh p1 ????", "d dh p2 KsKd", "p2 cbr 100", "p1 cc",
  "p2 sm KsKd", "p1 sm",
  "d db 2c3c4h",
]
"""


def test_an_unknown_all_in_hand_the_file_mucks_is_out_of_the_contest():
    assert pokerkit_replay(MUCKED_ALL_IN) == [0, 200]
    result = replay(loads_phh(MUCKED_ALL_IN))
    assert result.finishing_stacks == [0, 200]
    p1 = result.table.seats[result.seat_of[0]]
    assert p1.mucked and not p1.shown and p1.cards == ("??", "??")
    # The rest of the board decides nothing, but a file may deal it all.
    full = loads_phh(MUCKED_ALL_IN)
    full["actions"] += ["d db 9s", "d db Td"]
    assert replay(full).finishing_stacks == [0, 200]
    # Three-handed the two shown hands still need the whole board; a side pot
    # between the mucked hand and a shown one goes to the shown one.
    actions = ["d dh p1 ????", "d dh p2 KsKd", "d dh p3 QsQd", "p3 cbr 300", "p1 cc", "p2 cc",
               "p3 sm QsQd", "p1 sm", "p2 sm KsKd", "d db 2c3c4h", "d db 9s", "d db Td"]
    side = nt([300, 100, 300], actions)
    assert replay(side).finishing_stacks == [0, 300, 400]
    assert pokerkit_replay(dumps_phh(side)) == [0, 300, 400]
    with pytest.raises(PHHError, match="the file deals 3 board cards, the hand needs 5"):
        replay(nt([300, 100, 300], actions[:-2]))
    # Both hands unknown: one mucked, the other wins without showing; both
    # mucked, or a tabled hand the file never shows against a shown one, and
    # the result depends on cards nobody knows.
    both = ["d dh p1 ????", "d dh p2 ????", "p2 cbr 100", "p1 cc", "p1 sm", "d db 2c3c4h"]
    assert replay(nt([100, 100], both)).finishing_stacks == [0, 200]
    with pytest.raises(PHHError, match="the result is undetermined"):
        replay(nt([100, 100], both + ["p2 sm"]))
    three = ["d dh p1 ????", "d dh p2 ????", "d dh p3 QsQd", "p3 cbr 100", "p1 cc", "p2 cc",
             "p1 sm", "d db 2c3c4h", "d db 9s", "d db Td"]
    with pytest.raises(PHHError, match="p2's hole cards are unknown but the showdown needs"):
        replay(nt([100, 100, 100], three))


def test_unknown_cards_that_never_show_lose_to_the_shown_winner():
    actions = ["d dh p1 ????", "d dh p2 KsKd", "p2 cc", "p1 cc",
               "d db 2c3c4h", "p1 cc", "p2 cc", "d db 9s", "p1 cc", "p2 cc",
               "d db Td", "p1 cc", "p2 cc"]
    # p1 shows first (left of the button) but never does: mucked, as a hand
    # not shown wins nothing; p2's known hand takes the pot.
    result = replay(nt([100, 100], actions))
    assert result.finishing_stacks == [98, 102]
    assert result.table.seats[0].cards == ("??", "??") and result.table.seats[0].mucked
    assert replay(nt([100, 100], actions + ["p1 sm"])).finishing_stacks == [98, 102]
    assert replay(nt([100, 100], actions + ["p1 sm 5s6s"])).finishing_stacks == [102, 98]
    # Nobody shows and nobody folds: who won is unknown.
    both = ["d dh p1 ????", "d dh p2 ????"] + actions[2:]
    with pytest.raises(PHHError, match="the result is undetermined"):
        replay(nt([100, 100], both))
    # A player who shows nothing but is the last one in wins without showing,
    # even when our showdown order asks them first.
    assert replay(nt([100, 100], both + ["p1 sm"])).finishing_stacks == [98, 102]
    assert replay(nt([100, 100], both + ["p2 sm"])).finishing_stacks == [102, 98]
    known = ["d dh p1 5s6s"] + actions[1:]          # p1 would win, but the file mucks it
    assert replay(nt([100, 100], known + ["p1 sm"])).finishing_stacks == [98, 102]
    assert replay(nt([100, 100], known)).finishing_stacks == [102, 98]


def test_unknown_cards_of_players_who_fold_never_matter():
    hand = nt([100, 100, 100], ["d dh p1 ????", "d dh p2 ????", "d dh p3 ????",
                                "p3 cbr 6", "p1 f", "p2 cc", "d db 2c3c4h", "p2 f"])
    assert replay(hand).finishing_stacks == [99, 94, 107]


# -- the command line ------------------------------------------------------------------------

def test_cli_replays_phh_and_phhs_files(tmp_path):
    one = tmp_path / "example.phh"
    one.write_text(EXAMPLE)
    many = tmp_path / "session.phhs"
    many.write_text(dumps_phhs([
        nt([100, 100], ["p2 cbr 6", "p1 f"], finishing_stacks=[98, 102]),
        nt([100, 100], ["p2 f"], hand="table-7 #12"),
        nt([1000, 2501, 4000, 10000],
           ["d dh p1 2c2d", "d dh p2 3c3d", "d dh p3 4c4d", "d dh p4 5c5d",
            "p3 cbr 4000", "p4 cc", "p1 cc", "p2 cc",
            "d db AhKhQs", "d db 9s", "d db 7h"], blinds=[50, 100, 0, 0],
           finishing_stacks=[0, 0, 0, 17501]),
    ]))
    code, lines = run_cli(one, many)
    assert code == 0
    assert lines == [
        {"file": str(one), "hand": None, "finishing_stacks": [9950, 9700, 10350],
         "expected_finishing_stacks": [9950, 9700, 10350], "matches_file": True},
        {"file": str(many), "hand": 1, "finishing_stacks": [98, 102],
         "expected_finishing_stacks": [98, 102], "matches_file": True},
        {"file": str(many), "hand": "table-7 #12", "finishing_stacks": [101, 99]},
        {"file": str(many), "hand": 3, "finishing_stacks": [0, 0, 0, 17501],
         "expected_finishing_stacks": [0, 0, 0, 17501], "matches_file": True},
    ]


def test_cli_a_rejected_action_is_an_error_line_and_exit_code_1(tmp_path):
    bad = loads_phh(EXAMPLE)
    bad["actions"] = [a.replace("p3 cbr 300", "p3 cbr 150") for a in bad["actions"]]
    path = tmp_path / "hands.phhs"
    path.write_text(dumps_phhs([bad, loads_phh(EXAMPLE)]))
    code, lines = run_cli(path, tmp_path / "missing.phh")
    assert code == 1
    assert lines[0] == {"file": str(path), "hand": 1,
                        "error": "action 'p3 cbr 150' (#4): the minimum raise is to 200"}
    assert lines[1]["matches_file"] is True  # the next hand is still replayed
    assert lines[2]["hand"] is None and lines[2]["error"].startswith("cannot read the file")


def test_cli_other_finishing_stacks_than_the_file_exit_1(tmp_path):
    path = tmp_path / "wrong.phh"
    path.write_text(dumps_phh(nt([100, 100], ["p2 f"], finishing_stacks=[100, 100])))
    code, lines = run_cli(path)
    assert code == 1 and lines[0]["matches_file"] is False


def test_replay_result_and_loads_phhs_keys():
    [(key, hand)] = loads_phhs(EXAMPLE)
    assert key is None
    assert replay_result(hand, "f.phh")["matches_file"] is True
    assert [k for k, _ in loads_phhs('[a]\nvariant = "NT"\n[b]\nvariant = "NT"\n')] == ["a", "b"]
    with pytest.raises(PHHError, match="not TOML"):
        loads_phhs("variant = ")


# -- writing, and round trips ----------------------------------------------------------------

def random_action(table, rng: random.Random):
    legal = legal_actions(table)
    seat = legal.seat
    if table.hand.street == "showdown":
        return rng.choice([Show(seat), Timeout(seat)] + [Muck(seat)] * ("muck" in legal.actions))
    choices = [Fold(seat), Timeout(seat)]
    choices += [Check(seat) if "check" in legal.actions else Call(seat)] * 4
    if "bet" in legal.actions or "raise" in legal.actions:
        cls = Bet if "bet" in legal.actions else Raise
        choices += [cls(seat, legal.min_to), cls(seat, rng.randint(legal.min_to, legal.max_to))]
    if legal.max_to and "all_in" in legal.actions:  # pot, fixed limit: not above the most
        choices.append(AllIn(seat))
    return rng.choice(choices)


def random_table(rng: random.Random, features: bool, game: str = "NT"):
    """A table of 2 to 10 seats; with ``features`` a big-blind ante, a straddle, run twice."""
    size = rng.randint(2, 10) if game != "PO5" else rng.randint(2, 9)
    big = rng.choice([2, 10])
    options = {}
    if features:
        options = {"ante_kind": rng.choice(["each", "big_blind", "big_blind"]),
                   "straddle": rng.choice([0, 2 * big]), "run_it_twice": rng.random() < 0.6}
    ante = rng.choice([0, 0, 1, big // 2] if not features else [0, 1, big // 2, big])
    if game == "FT":
        options.pop("straddle", None)
    if not deck_fits(game, size, 2):
        options.pop("run_it_twice", None)
    return new_table(size, big // 2, big, ante=ante, game=game, **options), big


def random_session(seed: int, hands: int = 5, leave_rate: float = 0.0, features: bool = False,
                   game: str = "NT"):
    """Hands at one table with players coming, going, sitting out and busting.

    Yields (start, actions, end, events) per hand. ``leave_rate`` makes players
    leave mid-hand; ``features`` adds table options, sitting out and coming
    back (posting missed blinds or waiting), agreeing to run twice, and the
    rules' own actions (a sitting-out player timed out, a busted one sat out).
    """
    rng = random.Random(seed)
    table, big = random_table(rng, features, game)
    size = len(table.seats)
    names = (f"player{i}" for i in range(10_000))

    def step(action):
        nonlocal table
        table, more = apply(table, action)
        return more

    for seat in range(size):
        if rng.random() < 0.8:
            stack = rng.choice([1, 3, big * 5, big * 100, rng.randint(1, 500 * big)])
            step(SitDown(seat, next(names), stack))
    for _ in range(hands):
        for seat, s in enumerate(table.seats):
            if s is None and rng.random() < 0.2:
                step(SitDown(seat, next(names), rng.randint(1, 300 * big)))
            elif s is not None and s.stack == 0 and rng.random() < 0.5:
                step(TopUp(seat, rng.randint(1, 100 * big)))
            elif s is not None and rng.random() < 0.05:
                step(StandUp(seat))
            elif features and s is not None and s.sitting_out and s.stack and rng.random() < 0.5:
                step(SitIn(seat, post=rng.random() < 0.6))
            elif features and s is not None and not s.sitting_out and rng.random() < 0.08:
                step(SitOut(seat))
            if features and table.run_it_twice and table.seats[seat] and rng.random() < 0.3:
                step(RunTwice(seat, rng.random() < 0.8))
        if not can_start_hand(table):
            continue
        start = table
        deck = list(DECK)
        rng.shuffle(deck)
        actions = [StartHand(tuple(deck))]
        events = step(actions[0])
        while table.hand_running:
            in_hand = [i for i, s in enumerate(table.seats)
                       if s and s.in_hand and not s.leaving]
            action = automatic_action(table) if features else None
            if action is None and in_hand and rng.random() < leave_rate:
                action = StandUp(rng.choice(in_hand))
            elif action is None and features and rng.random() < 0.02 and any(
                    not table.seats[i].sitting_out for i in in_hand):
                action = SitOut(rng.choice([i for i in in_hand if not table.seats[i].sitting_out]))
            elif action is None:
                action = random_action(table, rng)
            events += step(action)
            actions.append(action)
        while (action := automatic_action(table)) is not None and features:
            step(action)
        yield start, actions, table, events


def real_stacks(phh: dict, end, events) -> list[int]:
    """Each PHH player's stack at the end of the real hand (a leaver's: all they took)."""
    dealt = next(e for e in events if e.type == "hand_started").seats
    left: dict[int, int] = {}
    for e in events:
        if e.type == "left" and e.seat in dealt:
            left[e.seat] = left.get(e.seat, 0) + e.stack
    return [left[s - 1] if s - 1 in left else end.seats[s - 1].stack for s in phh["seats"]]


def pokerkit_paid(phh: dict, stacks: list[int], events) -> list[int]:
    """The stacks pokerkit should end with: it splits pots its own way (see test_pokerkit_diff)."""
    return pokerkit_stacks(stacks, events, [s - 1 for s in phh["seats"]])


def pokerkit_replay(text: str) -> list[int]:
    """pokerkit's final stacks, reading the file strictly (tests/pokerkit_reader.py)."""
    return strict_stacks(text)


def check_export(phh: dict, end, events) -> None:
    """The export tells what was dealt and done, and nothing else.

    Its cards are the hole cards dealt and the board(s) dealt, in order (never
    a card left in the deck); its player actions are the hand's, in order,
    plus at most one check pokerkit asks for that changes nothing.
    """
    text = dumps_phh(phh)
    order = [s - 1 for s in phh["seats"]]
    player = {seat: f"p{k + 1}" for k, seat in enumerate(order)}
    holes = {e.seat: "".join(e.cards) for e in events if e.type == "hole_cards"}
    board = [c for e in events if e.type in ("street", "second_board") for c in e.cards]
    lines = [parse_action(a) for a in phh["actions"]]
    assert [c for a in lines if a.verb == "db" for c in a.cards] == board, text
    assert {a.player: "".join(a.cards) for a in lines if a.verb == "dh"} == {
        order.index(seat): cards for seat, cards in holes.items()}, text
    dealt = set(board) | {holes[s][i:i + 2] for s in holes for i in range(0, len(holes[s]), 2)}
    for a in lines:
        assert set(a.cards) <= dealt | {"??"}, (a, text)
    def verb(e) -> str:
        return {"fold": "f", "check": "cc", "call": "cc"}.get(e.action, f"cbr {e.to}")

    played = [f"{player[e.seat]} {verb(e)}" for e in events if e.type == "action"]
    written = [a.partition(" #")[0] for a in phh["actions"] if a[:1] == "p" and " sm" not in a]
    if written != played:  # pokerkit's check that changes nothing, once
        assert len(written) == len(played) + 1, text
        assert any(written[i].endswith(" cc") and written[:i] + written[i + 1:] == played
                   for i in range(len(written))), text
    assert phh["finishing_stacks"] == real_stacks(phh, end, events), text


def test_round_trip_random_hands_through_our_replay_and_pokerkit():
    played = lone = 0
    for seed in range(120):
        for start, actions, end, events in random_session(seed):
            phh = hand_to_phh(start, actions)
            text = dumps_phh(phh)
            real = real_stacks(phh, end, events)
            check_export(phh, end, events)
            assert replay(loads_phh(text)).finishing_stacks == real, text
            assert pokerkit_replay(text) == pokerkit_paid(phh, real, events), text
            played += 1
            lone += sum(1 for e in events if e.type == "action") < sum(
                1 for a in phh["actions"] if a[:1] == "p" and " sm" not in a)
    assert played > 300 and lone > 0


def raised_after_a_short_all_in(events) -> bool:
    """Fixed limit: a bet or raise after an all-in bet or raise on the same street.

    We reopen the betting for an all-in of half a bet or more and raise one bet
    over the last full bet; pokerkit 0.7.7 reopens only for a full bet and raises
    one bet over the all-in: its strict reader refuses such a raise.
    """
    all_in = False
    for e in events:
        if e.type == "street":
            all_in = False
        elif e.type == "action" and e.action in ("bet", "raise"):
            if all_in:
                return True
            all_in = all_in or e.all_in
    return False


@pytest.mark.parametrize("game", ["PO", "FT", "PO5"])
def test_round_trip_random_hands_of_each_variant(game):
    """PHH with variant "PO" and "FT" replays in our reader and pokerkit's strict one
    (5-card PLO, "PO5", is our code: pokerkit has no such variant, only we read it)."""
    played = strict = 0
    for seed in range(25):
        for start, actions, end, events in random_session(seed, features=True, game=game):
            phh = hand_to_phh(start, actions)
            assert phh["variant"] == game
            text = dumps_phh(phh)
            real = real_stacks(phh, end, events)
            check_export(phh, end, events)
            assert replay(loads_phh(text)).finishing_stacks == real, text
            played += 1
            if game == "PO5" or "_inexact" in phh or (
                    game == "FT" and raised_after_a_short_all_in(events)):
                continue
            assert pokerkit_replay(text) == pokerkit_paid(phh, real, events), text
            strict += 1
    assert played > 60 and (strict > 50 or game == "PO5"), (played, strict)


def test_exports_after_leaves_sit_outs_and_timeouts_are_what_was_dealt():
    """Many random sessions with every table option, players leaving mid-hand, sitting
    out and back, timing out: each export holds only what was dealt and done, and both
    our reader and pokerkit's strict one replay it to the real stacks."""
    counts = {"hands": 0, "left": 0, "left_all_in_paid": 0, "runs_twice": 0, "straddles": 0,
              "posts": 0, "inexact": 0}
    for seed in range(160):
        for start, actions, end, events in random_session(seed, hands=4, leave_rate=0.03,
                                                           features=True):
            phh = hand_to_phh(start, actions)
            text = dumps_phh(phh)
            check_export(phh, end, events)
            real = real_stacks(phh, end, events)
            counts["hands"] += 1
            left = [e.seat for e in events if e.type == "left"]
            counts["left"] += bool(left)
            counts["left_all_in_paid"] += len(left) > len(set(left))
            counts["runs_twice"] += "_runout_count" in phh
            counts["straddles"] += any(e.type == "blind" and e.kind == "straddle" for e in events)
            counts["posts"] += any(e.type == "blind" and e.kind == "post" for e in events)
            if "_inexact" in phh:
                counts["inexact"] += 1
                continue
            assert replay(loads_phh(text)).finishing_stacks == real, text
            assert pokerkit_replay(text) == pokerkit_paid(phh, real, events), text
    assert counts["hands"] > 300 and counts["inexact"] <= counts["hands"] // 100, counts
    assert all(v > 0 for k, v in counts.items() if k != "inexact"), counts


def test_redacted_exports_hide_unshown_cards_and_still_replay():
    checked = 0
    for seed in range(60):
        for start, actions, end, events in random_session(seed, hands=3):
            shown = {e.seat for e in events if e.type == "show"}
            holes = {e.seat: e.cards for e in events if e.type == "hole_cards"}
            for viewer in [*holes, SPECTATOR]:
                phh = hand_to_phh(start, actions, viewer=viewer)
                text = dumps_phh(phh)
                for seat, cards in holes.items():
                    visible = seat == viewer or seat in shown
                    assert all((card in text) == visible for card in cards), (seat, text)
                assert replay(loads_phh(text)).finishing_stacks == phh["finishing_stacks"]
                checked += 1
    assert checked > 300


def test_export_fields_names_seats_and_extra_fields():
    table = new_table(6, 5, 10, ante=1)
    for seat, name in [(1, "ann"), (3, "bob"), (4, "cy")]:
        table, _ = apply(table, SitDown(seat, name, 500))
    start = table
    deck = StartHand(DECK)
    table, _ = apply(table, deck)
    hand = table.hand  # fresh table: button 1 (ann), small blind 3 (bob), big blind 4 (cy)
    assert (hand.button, hand.small_blind_seat, hand.big_blind_seat) == (1, 3, 4)
    phh = hand_to_phh(start, [deck, Fold(1), Fold(3)], table="Ridge", _server="x")
    assert phh["players"] == ["bob", "cy", "ann"] and phh["seats"] == [4, 5, 2]
    assert phh["antes"] == [1, 1, 1] and phh["blinds_or_straddles"] == [5, 10, 0]
    assert phh["starting_stacks"] == [500, 500, 500]
    assert phh["finishing_stacks"] == [494, 507, 499]
    assert phh["seat_count"] == 6 and phh["table"] == "Ridge" and phh["_server"] == "x"
    assert phh["actions"][-2:] == ["p3 f", "p1 f"]
    text = dumps_phh(phh)
    assert loads_phh(text) == phh
    assert pokerkit_replay(text) == [494, 507, 499]
    with pytest.raises(ValueError, match="not finished"):
        hand_to_phh(start, [deck, Fold(1)])
    with pytest.raises(ValueError, match="begin with"):
        hand_to_phh(start, [Fold(1)])


def test_a_player_leaving_out_of_turn_folds_on_their_turn_in_the_record():
    table = new_table(3, 1, 2)
    for seat in range(3):
        table, _ = apply(table, SitDown(seat, f"p{seat}", 100))
    start = table
    # Button 0, small blind 1, big blind 2. The big blind leaves while the
    # button is to act; the button raises, the small blind calls, and the big
    # blind's hand is folded when its turn comes, as the record says.
    actions = [StartHand(DECK), StandUp(2), Raise(0, 6), Call(1)]
    actions += [Check(1), Check(0)] * 3  # flop, turn, river checked down
    table = start
    for a in actions:
        table, _ = apply(table, a)
    while table.hand_running:  # the showdown
        actions.append(Timeout(table.hand.to_act))
        table, _ = apply(table, actions[-1])
    phh = hand_to_phh(start, actions)
    assert phh["actions"][3:7] == ["# p2 left the table", "p3 cbr 6", "p1 cc",
                                   "p2 f # left the table"]
    text = dumps_phh(phh)
    real = [table.seats[1].stack, 98, table.seats[0].stack]
    assert phh["finishing_stacks"] == real
    assert replay(loads_phh(text)).finishing_stacks == real
    assert pokerkit_replay(text) == real


ALL_IN_LEAVER = """\
variant = "NT"
antes = [0, 0]
blinds_or_straddles = [1, 2]
min_bet = 2
starting_stacks = [100, 100]
actions = [
  "d dh p1 KsKd",
  "d dh p2 AsAd",
  "p2 cbr 100",
  "# p2 left the table",
  "p1 cc",
  "p2 sm AsAd",
  "p1 sm KsKd",
  "d db 2c7d9h",
  "d db 3s",
  "d db 4c",
]
hand = 1
players = ["p1", "p0"]
seats = [2, 1]
seat_count = 2
finishing_stacks = [0, 200]
"""


def test_an_all_in_player_who_leaves_keeps_a_live_hand_and_is_paid():
    table = new_table(2, 1, 2)
    for seat in range(2):
        table, _ = apply(table, SitDown(seat, f"p{seat}", 100))
    start = table
    # Heads-up: seat 0 is the button and small blind. It goes all in, then
    # stands up while seat 1 thinks. Its hand plays on: seat 1 calls, seat 0's
    # aces hold, and the 200 chips follow the player who left.
    deck = stacked_deck([1, 0], {0: "AsAd", 1: "KsKd"}, "2c7d9h3s4c")
    actions = [StartHand(deck), AllIn(0), StandUp(0), Call(1)]
    events = []
    for a in actions:
        table, more = apply(table, a)
        events += more
    assert not table.hand_running and table.seats == (None, table.seats[1])
    assert [e.stack for e in events if e.type == "left"] == [0, 200]
    phh = hand_to_phh(start, actions)
    text = dumps_phh(phh)
    assert text == ALL_IN_LEAVER          # the hand as played: no workaround
    assert replay(loads_phh(text)).finishing_stacks == [0, 200]
    assert pokerkit_replay(text) == [0, 200]


# -- issue 12: hand histories from the real world ---------------------------------------------

# What pokerkit writes when the button calls all in for the big blind and the
# small blind folds: it still asks the big blind, who can only check ("p2 cc").
LONE_CHECK = """\
variant = "NT"
antes = [0, 0, 0]
blinds_or_straddles = [1, 2, 0]
min_bet = 2
starting_stacks = [100, 100, 2]
actions = [
  "d dh p1 7c2d",
  "d dh p2 KsKd",
  "d dh p3 AsAd",
  "p3 cc",
  "p1 f",
  "p2 cc",
  "p3 sm AsAd",
  "p2 sm KsKd",
  "d db 2c7d9h",
  "d db 3s",
  "d db 4c",
]
finishing_stacks = [99, 98, 5]
"""


def three_seats(stacks, **options):
    table = new_table(len(stacks), 1, 2, **options)
    for seat, stack in enumerate(stacks):
        table, _ = apply(table, SitDown(seat, f"p{seat}", stack))
    return table


def test_the_check_pokerkit_asks_of_the_last_player_with_chips_both_ways():
    # Reading: accepted though our rules dealt on without asking.
    assert replay(loads_phh(LONE_CHECK)).finishing_stacks == [99, 98, 5]
    assert pokerkit_replay(LONE_CHECK) == [99, 98, 5]
    # Without it pokerkit's strict reading refuses the file; ours does not need it.
    without = LONE_CHECK.replace('  "p2 cc",\n', "")
    assert replay(loads_phh(without)).finishing_stacks == [99, 98, 5]
    with pytest.raises(NotStrict, match="'p3 sm AsAd'"):   # p2 is still to act
        pokerkit_replay(without)
    # Writing: the same hand at our table. The live game never asks for the
    # check (the hand is over at once), the export writes it.
    start = three_seats([2, 100, 100])            # button 0, blinds 1 and 2
    deck = stacked_deck([1, 2, 0], {0: "AsAd", 1: "7c2d", 2: "KsKd"}, "2c7d9h3s4c")
    table, _ = apply(start, StartHand(deck))
    table, _ = apply(table, Call(0))
    table, _ = apply(table, Fold(1))
    assert not table.hand_running and legal_actions(table) is None
    phh = hand_to_phh(start, [StartHand(deck), Call(0), Fold(1)])
    expected = loads_phh(LONE_CHECK)["actions"]
    assert phh["actions"][:6] == expected[:6]         # ... "p3 cc", "p1 f", "p2 cc"
    assert sorted(phh["actions"][6:8]) == sorted(expected[6:8])   # shows, our order
    assert phh["actions"][8:] == expected[8:]
    assert phh["finishing_stacks"] == [99, 98, 5]
    assert pokerkit_replay(dumps_phh(phh)) == [99, 98, 5]


def test_a_raise_nobody_can_call_is_refused_by_both_readers():
    # p3 is all in for 200; p2 (the big blind) holds 50 in all: nobody could
    # call any of a raise by p1.
    pointless = nt([300, 50, 200], ["p3 cbr 200", "p1 cbr 300"])
    with pytest.raises(PHHError, match=r"'p1 cbr 300' \(#2\): nobody left could call"):
        replay(pointless)
    with pytest.raises(NotStrict, match="p1 cbr 300"):
        pokerkit_replay(dumps_phh(pointless))


SHORT_ANTE = """\
variant = "NT"
antes = [5, 5, 5]
blinds_or_straddles = [1, 2, 0]
min_bet = 2
starting_stacks = [3, 100, 100]
actions = [
  "d dh p1 AsAd", "d dh p2 KsKd", "d dh p3 QsQd",
  "p3 cc", "p2 cc",
  "d db 2c7d9h", "p2 cc", "p3 cc",
  "d db 3s", "p2 cc", "p3 cc",
  "d db 4c", "p2 cc", "p3 cc",
  "p2 sm KsKd", "p3 sm QsQd", "p1 sm AsAd",
]
"""


@pytest.mark.parametrize("trimming, stacks", [
    # pokerkit's default: antes are dead money in the main pot, so p1's 3
    # chips win all 13 chips of antes; p2 wins the 4 of blinds.
    (None, [13, 97, 93]),
    (False, [13, 97, 93]),
    # Trimmed antes count like any chips put in (our live rule): p1 wins 3 from each.
    (True, [9, 101, 93]),
])
def test_ante_trimming_status_is_honoured(trimming, stacks):
    text = SHORT_ANTE if trimming is None else (
        f"ante_trimming_status = {str(trimming).lower()}\n" + SHORT_ANTE)
    assert replay(loads_phh(text)).finishing_stacks == stacks
    assert pokerkit_replay(text) == stacks


CENTS = """\
variant = "NT"
antes = [0, 0, 0]
blinds_or_straddles = [0.25, 0.50, 0]
min_bet = 0.50
starting_stacks = [50.00, 47.35, 62.10]
actions = [
  "d dh p1 ????", "d dh p2 ????", "d dh p3 AsKs",
  "p3 cbr 1.50", "p1 f", "p2 cc",
  "d db 2h7h9c",
  "p2 cc", "p3 cbr 2.25", "p2 f",
]
finishing_stacks = [49.75, 45.85, 63.85]
"""


def test_amounts_in_dollars_and_cents_are_read_in_cents_and_given_back_in_dollars(tmp_path):
    hand = loads_phh(CENTS)
    result = replay(hand)
    assert result.unit == Decimal("0.01") and result.chips == [4975, 4585, 6385]
    assert result.finishing_stacks == [Decimal("49.75"), Decimal("45.85"), Decimal("63.85")]
    assert result.finishing_stacks == hand["finishing_stacks"]
    assert pokerkit_replay(CENTS) == hand["finishing_stacks"]
    path = tmp_path / "cents.phh"
    path.write_text(CENTS)
    code, lines = run_cli(path)
    assert code == 0
    assert lines == [{"file": str(path), "hand": None, "finishing_stacks": [49.75, 45.85, 63.85],
                      "unit": "0.01", "expected_finishing_stacks": [49.75, 45.85, 63.85],
                      "matches_file": True}]
    # Written back, in the same unit: the same amounts and the same lines.
    back = hand_to_phh(result.start, result.actions, unit=result.unit,
                       viewer=result.seat_of[2])
    for name in ("blinds_or_straddles", "min_bet", "starting_stacks", "finishing_stacks"):
        assert back[name] == hand[name], name
    assert back["actions"] == [
        "d dh p1 ????", "d dh p2 ????", "d dh p3 AsKs", "p3 cbr 1.50", "p1 f", "p2 cc",
        "d db 2h7h9c", "p2 cc", "p3 cbr 2.25", "p2 f"]
    assert loads_phh(dumps_phh(back))["starting_stacks"] == hand["starting_stacks"]


def cents(old: str, new: str) -> dict:
    assert old in CENTS
    return loads_phh(CENTS.replace(old, new))


@pytest.mark.parametrize("hand, reason", [
    (cents("p3 cbr 1.50", "p3 cbr 0.75"), r"'p3 cbr 0.75' \(#4\): the minimum raise is to 1.00$"),
    (cents("p3 cbr 1.50", "p3 cbr 70.00"),
     r"you have only 62.10 chips: cannot raise to 70.00$"),
    (cents('"p2 cc", "p3 cbr 2.25"', '"p2 cbr 0.40", "p3 cbr 2.25"'),
     r"\(#8\): the minimum bet is to 0.50$"),
    (cents('"p2 cc",\n  "d db', '"p2 cbr 0.50",\n  "d db'),
     r"\(#6\): a raise must be to more than 1.50$"),
    (cents("min_bet = 0.50", "min_bet = 1.00"), r"^min_bet 1.00 is not the big blind 0.50$"),
    (cents("[0.25, 0.50, 0]", "[0.25, 0.50, -0.05]"),
     r"p3 posts 0.05 out of position \(only a big blind, 0.50, posted back"),
    (cents("[0.25, 0.50, 0]", "[0.25, 0.50, 0.75]"),
     r"a straddle must be 0 or at least twice the big blind \(1.00\), not 0.75$"),
    (cents("[0.25, 0.50, 0]", "[0.50, 0.25, 2.00]"),
     r"unsupported: blinds_or_straddles \[0.50, 0.25, 2.00\] \(not a small blind"),
    (cents("antes = [0, 0, 0]", "antes = [0.05, 0.10, 0]"),
     r"unsupported: antes \[0.05, 0.10, 0\] \(the same for everyone"),
])
def test_reasons_for_a_file_in_dollars_and_cents_speak_in_dollars_and_cents(hand, reason):
    with pytest.raises(PHHError, match=reason):
        replay(hand)


@pytest.mark.parametrize("hand, reason", [
    (nt([100, 100, 100], [], blinds=[-1, 2, 0]),
     r"unsupported: p1 posts 1 out of position \(only a big blind, 2, posted back"),
    # Heads-up both players post a blind: nobody posts one back out of position.
    (nt([100, 100], [], blinds=[-2, 2]),
     r"^unsupported: blinds_or_straddles \[-2, 2\] \(heads-up: a small and a big blind, "
     r"none posted out of position\)$"),
    ({**nt([100, 100, 100], []), "antes": [-1, 0, 0]}, "antes cannot be negative: -1"),
    ({**nt([100, 100, 100], [], blinds=[1, 2, 3]), "min_bet": 2}, "twice the big blind"),
])
def test_forced_bets_we_do_not_model_say_why(hand, reason):
    with pytest.raises(PHHError, match=reason):
        replay(hand)


# A player back from missing the blinds posts a big blind out of position (a
# negative entry, as pokerkit writes posts) and the small blind dead (their
# antes entry: pokerkit's untrimmed antes are dead money).
POSTED = """\
variant = "NT"
ante_trimming_status = false
antes = [0, 0, 0, 1, 0]
blinds_or_straddles = [1, 2, 0, -2, 0]
min_bet = 2
starting_stacks = [100, 100, 100, 100, 100]
actions = [
  "d dh p1 7c2d", "d dh p2 8s3h", "d dh p3 9d5c", "d dh p4 AsAd", "d dh p5 KsKd",
  "p3 f", "p4 cc", "p5 cbr 10", "p1 f", "p2 f", "p4 cc",
  "d db 2c7d9h", "p4 cc", "p5 cc", "d db 3s", "p4 cc", "p5 cc", "d db 4c", "p4 cc", "p5 cc",
  "p4 sm AsAd", "p5 sm",
]
finishing_stacks = [99, 98, 100, 113, 90]
"""


# A big-blind ante (p1's 10) where everyone else owes something: p2 straddles
# (all in for 10 of its 20), p3 posts a big blind back from waiting. The antes
# list has one non-zero entry among players who owe nothing: not "antes for
# everyone".
BIG_BLIND_ANTE_AND_POSTS = """\
variant = "NT"
ante_trimming_status = false
antes = [10, 0, 0]
blinds_or_straddles = [10, 20, -10]
min_bet = 10
starting_stacks = [230, 10, 510]
actions = [
  "d dh p1 2hJd", "d dh p2 7dAd", "d dh p3 TcKh",
  "p3 cbr 20", "p1 cbr 30", "p3 cc",
  "d db QdTsTd", "p1 f", "p3 cc",
  "p2 sm 7dAd", "p3 sm TcKh",
  "d db Kc", "d db 9s",
]
finishing_stacks = [190, 0, 560]
"""


def test_a_big_blind_ante_where_everyone_else_owes_a_forced_bet():
    result = replay(loads_phh(BIG_BLIND_ANTE_AND_POSTS))
    assert result.start.ante_kind == "big_blind"
    assert result.finishing_stacks == [190, 0, 560]
    assert pokerkit_replay(BIG_BLIND_ANTE_AND_POSTS) == [190, 0, 560]


def test_a_posted_big_blind_and_a_dead_small_blind():
    result = replay(loads_phh(POSTED))
    # p4's dead small blind is in the pot: 1 + 2 + 1 + 10 + 10.
    assert result.finishing_stacks == [99, 98, 100, 113, 90]
    assert pokerkit_replay(POSTED) == [99, 98, 100, 113, 90]
    seat = result.table.seats[result.seat_of[3]]
    assert seat.dead == 1 and seat.total == 11


STRADDLE = """\
variant = "NT"
antes = [0, 0, 0, 0]
blinds_or_straddles = [1, 2, 4, 0]
min_bet = 2
starting_stacks = [100, 100, 100, 100]
actions = [
  "d dh p1 7c2d", "d dh p2 8s3h", "d dh p3 AsAd", "d dh p4 KsKd",
  "p4 cbr 8", "p1 f", "p2 f", "p3 cc",
  "d db 2c7d9h", "p3 cbr 10", "p4 f",
]
finishing_stacks = [99, 98, 111, 92]
"""


def test_an_under_the_gun_straddle():
    result = replay(loads_phh(STRADDLE))
    assert result.finishing_stacks == [99, 98, 111, 92]
    assert result.table.hand.straddle_seat == result.seat_of[2]
    assert pokerkit_replay(STRADDLE) == [99, 98, 111, 92]
    # pokerkit takes a raise to 6 over the straddle; real rooms (and we) want 8.
    with pytest.raises(PHHError, match="minimum raise is to 8"):
        replay(loads_phh(STRADDLE.replace('"p4 cbr 8"', '"p4 cbr 6"')))


# Day 5 of the 2023 WSOP Event #43, hand 1 (pokerkit's tests/test_wsop): a big-blind ante.
WSOP_BB_ANTE = """\
variant = "NT"
antes = [0, 120000, 0, 0, 0]
blinds_or_straddles = [40000, 80000, 0, 0, 0]
min_bet = 80000
starting_stacks = [7380000, 2500000, 5110000, 10170000, 4545000]
actions = [
  "d dh p1 7s4s", "d dh p2 Js8h", "d dh p3 Td8c", "d dh p4 6d5h", "d dh p5 Qh7h",
  "p3 f", "p4 cbr 170000", "p5 f", "p1 f", "p2 cc",
  "d db JcTs2d", "p2 cc", "p4 cbr 140000", "p2 cc",
  "d db As", "p2 cc", "p4 cbr 325000", "p2 cc",
  "d db Qs", "p2 cc", "p4 cbr 600000", "p2 cc",
  "p4 sm 6d5h", "p2 sm Js8h",
]
finishing_stacks = [7340000, 3775000, 5110000, 8935000, 4545000]
"""


def test_the_2023_wsop_final_table_with_a_big_blind_ante():
    result = replay(loads_phh(WSOP_BB_ANTE))
    assert result.finishing_stacks == [7340000, 3775000, 5110000, 8935000, 4545000]
    assert result.start.ante_kind == "big_blind" and result.start.ante == 120000
    assert pokerkit_replay(WSOP_BB_ANTE) == result.finishing_stacks
    # Played at our table and written back: the same forced bets.
    back = hand_to_phh(result.start, result.actions)
    assert back["antes"] == [0, 120000, 0, 0, 0] and back["ante_trimming_status"] is False
    assert back["actions"] == loads_phh(WSOP_BB_ANTE)["actions"]


RUN_TWICE = """\
variant = "NT"
antes = [0, 0]
blinds_or_straddles = [1, 2]
min_bet = 2
starting_stacks = [101, 101]
actions = [
  "d dh p1 KsKh",
  "d dh p2 AsAh",
  "p2 cbr 101",
  "p1 cc",
  "p2 sm AsAh",
  "p1 sm KsKh",
  "d db Kc7d2h",
  "d db 3s",
  "d db 9c",
  "d db QdJdTd",
  "d db 8h",
  "d db 4c",
]
hand = 1
players = ["p1", "p0"]
seats = [2, 1]
seat_count = 2
finishing_stacks = [101, 101]
_runout_count = 2
"""


def test_a_board_run_twice_is_written_as_pokerkit_deals_it_with_our_extension():
    table = new_table(2, 1, 2, run_it_twice=True)
    for seat in range(2):
        table, _ = apply(table, SitDown(seat, f"p{seat}", 101))
        table, _ = apply(table, RunTwice(seat))
    start = table
    deck = stacked_deck([1, 0], {0: "AsAh", 1: "KsKh"}, "Kc7d2h3s9c" + "QdJdTd8h4c")
    actions = [StartHand(deck), AllIn(0), Call(1)]
    phh = hand_to_phh(start, actions)
    assert dumps_phh(phh) == RUN_TWICE
    result = replay(loads_phh(RUN_TWICE))
    assert result.finishing_stacks == [101, 101]
    assert result.table.hand.board == ("Kc", "7d", "2h", "3s", "9c")
    assert result.table.hand.second_board == ("Qd", "Jd", "Td", "8h", "4c")
    # pokerkit plays both runouts when the runout count it asks for is 2
    # (tests/pokerkit_reader.py reads our extension); without it, one board only.
    assert pokerkit_replay(RUN_TWICE) == [101, 101]
    with pytest.raises(NotStrict):
        pokerkit_replay(RUN_TWICE.replace("_runout_count = 2\n", ""))
    with pytest.raises(PHHError, match="10 board cards"):
        replay(loads_phh(RUN_TWICE.replace("_runout_count = 2\n", "")))
