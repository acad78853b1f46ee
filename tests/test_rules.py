"""Scripted hands for each rule, and each case of shared/rules-cases.md."""

from dataclasses import replace

import pytest

from game.cards import DECK

from game.table import (AllIn, Bet, Call, Check, Fold, IllegalAction, Raise, RunTwice, SitDown,
                        SitIn, SitOut, StandUp, StartHand, Timeout, TopUp, action_from_json,
                        action_to_json, apply, automatic_action, can_start_hand, dealable,
                        legal_actions, new_table, table_from_json, table_to_json)
from game.views import table_view
from hands import deal, of_type, play, seated, stacks


# -- case 1: an incomplete all-in raise does not reopen the betting ------------

def test_incomplete_all_in_raise_does_not_reopen_preflop():
    # Blinds 50/100; BTN 1000, SB 180, BB 1000 three-handed.
    t, _ = deal([1000, 180, 1000], blinds=(50, 100), button=0)
    t, _ = play(t, "0 call, 1 allin, 2 call")
    legal = legal_actions(t)
    assert legal.seat == 0
    assert legal.actions == ("fold", "call") and legal.call == 80
    with pytest.raises(IllegalAction, match="not reopened"):
        apply(t, Raise(0, 400))
    with pytest.raises(IllegalAction, match="not reopened"):
        apply(t, AllIn(0))
    t, _ = play(t, "0 call")
    assert t.hand.street == "flop"


def test_player_who_has_not_acted_may_raise_an_incomplete_all_in():
    t, _ = deal([1000, 180, 1000], blinds=(50, 100), button=0)
    t, _ = play(t, "0 call, 1 allin")
    legal = legal_actions(t)
    assert legal.seat == 2 and "raise" in legal.actions
    assert legal.min_to == 280  # the short all-in does not change the raise size (100)
    t, _ = play(t, "2 raise 280")
    assert "raise" in legal_actions(t).actions  # a full raise reopens for the button


def test_incomplete_all_in_raise_does_not_reopen_after_the_flop():
    t, _ = deal([1000, 1000, 250], blinds=(50, 100), button=0)
    t, _ = play(t, "0 call, 1 call, 2 check")          # flop, 100 each in
    assert t.hand.street == "flop" and t.hand.to_act == 1
    t, _ = play(t, "1 bet 100, 2 allin, 0 call")       # 150 all in: a raise of 50 < 100
    legal = legal_actions(t)
    assert legal.seat == 1 and legal.actions == ("fold", "call") and legal.call == 50


def test_short_all_ins_adding_up_to_a_full_raise_reopen():
    t, _ = deal([1000, 1000, 250, 320], blinds=(50, 100), button=0)
    t, _ = play(t, "3 call, 0 call, 1 call, 2 check")  # flop: 100 each, 150 / 220 behind
    t, _ = play(t, "1 bet 100, 2 allin, 3 allin")      # 150, then 220: 120 more than 100
    t, _ = play(t, "0 call")
    legal = legal_actions(t)
    assert legal.seat == 1 and "raise" in legal.actions and legal.min_to == 320


# -- case 2: minimum raise ---------------------------------------------------------

def test_minimum_raise_is_the_largest_full_raise():
    t, _ = deal([200] * 4, blinds=(1, 2), button=0)    # SB 1, BB 2, UTG 3
    t, _ = play(t, "3 raise 6")
    assert legal_actions(t).min_to == 10
    with pytest.raises(IllegalAction, match="minimum raise is to 10"):
        apply(t, Raise(0, 9))
    t, _ = play(t, "0 raise 20")                       # a raise of 14
    assert legal_actions(t).min_to == 34


def test_all_in_for_less_than_a_minimum_raise_is_allowed():
    t, _ = deal([200, 200, 200, 8], blinds=(1, 2), button=0)
    t, _ = play(t, "3 raise 6, 0 call")  # seat 0 is the button here
    t, _ = play(t, "1 call, 2 call")
    t, _ = play(t, "1 check, 2 check, 3 allin")  # flop: seat 3 bets its last 2
    assert of_type(_, "action")[-1] == {"type": "action", "seat": 3, "action": "bet",
                                        "amount": 2, "to": 2, "stack": 0, "all_in": True}


def test_minimum_bet_is_the_big_blind():
    t, _ = deal([200, 200], blinds=(5, 10), button=0)
    t, _ = play(t, "0 call, 1 check")
    with pytest.raises(IllegalAction, match="minimum bet is to 10"):
        apply(t, Bet(1, 5))
    with pytest.raises(IllegalAction, match="positive|more than"):
        apply(t, Bet(1, 0))
    t, _ = play(t, "1 bet 10")
    assert t.hand.current_bet == 10


# -- case 3: heads-up ---------------------------------------------------------------

def test_heads_up_button_posts_small_blind_acts_first_preflop_last_after():
    t, events = deal([100, 100], blinds=(1, 2), button=1)
    blinds = of_type(events, "blind")
    assert [(b["seat"], b["kind"]) for b in blinds] == [(1, "small"), (0, "big")]
    assert t.hand.to_act == 1
    t, _ = play(t, "1 call, 0 check")
    assert t.hand.street == "flop" and t.hand.to_act == 0


# -- case 4: the uncalled bet goes back ---------------------------------------------

def test_uncalled_bet_goes_back_and_is_in_no_pot():
    t, _ = deal([100, 100], blinds=(1, 2), button=0)
    t, _ = play(t, "0 call, 1 check, 1 bet 50")
    t, events = play(t, "0 fold")
    assert of_type(events, "uncalled") == [{"type": "uncalled", "seat": 1, "amount": 50}]
    assert of_type(events, "award")[0]["amount"] == 4
    assert stacks(t) == [98, 102]


def test_uncalled_part_of_an_all_in_goes_back():
    t, events = deal([1000, 300], blinds=(1, 2), button=0,
                     holes={0: "AsAh", 1: "KsKh"}, board="2c7d9h3s4c")
    t, events = play(t, "0 allin, 1 allin")
    assert {"type": "uncalled", "seat": 0, "amount": 700} in of_type(events, "uncalled")
    assert stacks(t) == [1300, 0]


# -- case 5: side pots ----------------------------------------------------------------

def test_side_pots_four_way_all_in():
    holes = {0: "AsAh", 1: "KsKh", 2: "QsQh", 3: "JsJh"}
    t, _ = deal([1000, 2501, 4000, 10000], blinds=(50, 100), button=3, holes=holes,
                board="2c7d9h3s4c")
    # The big stack shoves first (once the others are all in for less, a raise
    # nobody can call is refused), and everyone calls all in for less.
    t, events = play(t, "2 call, 3 allin, 0 allin, 1 allin, 2 allin")
    assert {"type": "uncalled", "seat": 3, "amount": 6000} in of_type(events, "uncalled")
    assert of_type(events, "pots")[-1]["pots"] == [
        {"amount": 4000, "eligible": [0, 1, 2, 3]},
        {"amount": 4503, "eligible": [1, 2, 3]},
        {"amount": 2998, "eligible": [2, 3]},
    ]
    assert stacks(t) == [4000, 4503, 2998, 6000]
    assert t.chips() == 1000 + 2501 + 4000 + 10000


def test_each_pot_goes_to_the_best_hand_among_its_eligible_players():
    # The short stack has the worst hand: it loses the main pot; the side pot
    # goes to the best of the other two.
    holes = {0: "2d3h", 1: "KsKh", 2: "AsAh"}
    t, _ = deal([50, 500, 300], blinds=(1, 2), button=2, holes=holes, board="8c9dJh4s6c")
    t, events = play(t, "2 allin, 0 allin, 1 call")
    assert stacks(t) == [0, 200, 650]


# -- case 6: odd chips ----------------------------------------------------------------

@pytest.mark.parametrize("button, first", [(3, 1), (2, 0)])
def test_odd_chips_go_to_the_first_winners_left_of_the_button(button, first):
    # Blinds 1/2: the small blind folds (1 chip); three players all in for 109
    # tie with a royal flush on the board: 328 splits 110/109/109.
    stack = [109] * 4
    t, _ = deal(stack, blinds=(1, 2), button=button, board="AsKsQsJsTs")
    small = (button + 1) % 4
    order = [(button + k) % 4 for k in range(1, 5)]
    script = ", ".join(f"{s} {'fold' if s == small else 'allin'}"
                       for s in order[2:] + order[:2])
    t, events = play(t, script)
    award = of_type(events, "award")[0]
    assert award["amount"] == 328
    assert award["winners"][0] == {"seat": first, "amount": 110}
    assert sorted(w["amount"] for w in award["winners"]) == [109, 109, 110]
    assert sum(stacks(t)) == 4 * 109


# -- case 7: dead button after a bust-out ---------------------------------------------

def test_dead_button_big_blind_moves_one_player_each_hand():
    t, ev = deal([100, 100, 100, 100], button=0)
    start = of_type(ev, "hand_started")[0]
    assert (start["button"], start["small_blind"], start["big_blind"]) == (0, 1, 2)
    t, _ = play(t, "3 fold, 0 fold, 1 fold")
    # Seat 2 (who just posted the big blind) leaves: the big blind still moves
    # to seat 3, the small blind is dead, the button goes to seat 1.
    t, _ = apply(t, StandUp(2))
    t, ev = apply(t, StartHand(tuple(_deck())))
    start = of_type(ev, "hand_started")[0]
    assert (start["button"], start["small_blind"], start["big_blind"]) == (1, None, 3)
    assert [b["kind"] for b in of_type(ev, "blind")] == ["big"]
    t, _ = play(t, "0 fold, 1 fold")
    # Next: big blind to seat 0, small blind seat 3, the button on empty seat 2.
    t, ev = apply(t, StartHand(tuple(_deck())))
    start = of_type(ev, "hand_started")[0]
    assert (start["button"], start["small_blind"], start["big_blind"]) == (2, 3, 0)
    assert t.hand.to_act == 1  # first left of the big blind


def test_nobody_posts_the_big_blind_twice_or_skips_it_when_going_heads_up():
    t, ev = deal([100, 100, 100], button=0)   # button 0, SB 1, BB 2
    t, _ = play(t, "0 fold, 1 fold")
    t, _ = apply(t, StandUp(0))               # the button leaves: heads-up now
    t, ev = apply(t, StartHand(tuple(_deck())))
    start = of_type(ev, "hand_started")[0]
    # The big blind moves on to seat 1; seat 2 (last big blind) has the button and the SB.
    assert (start["button"], start["small_blind"], start["big_blind"]) == (2, 2, 1)


def test_new_player_waits_for_the_big_blind():
    t, _ = deal([100, 100, 100, None, None], button=0)  # button 0, SB 1, BB 2
    t, _ = play(t, "0 fold, 1 fold")
    t, _ = apply(t, SitDown(4, "late", 100))  # sits between the BB and the button
    t, ev = apply(t, StartHand(tuple(_deck())))   # BB moves to seat 4: dealt in at once
    start = of_type(ev, "hand_started")[0]
    assert start["big_blind"] == 4 and 4 in start["seats"]
    t, _ = play(t, "0 fold, 1 fold, 2 fold")
    t, _ = apply(t, SitDown(3, "later", 100))  # sits just after the BB: waits a round
    t, ev = apply(t, StartHand(tuple(_deck())))
    start = of_type(ev, "hand_started")[0]
    assert start["big_blind"] == 0 and 3 not in start["seats"]
    assert table_view(t, 3)["seats"][3]["waiting"] is True


def test_sitting_out_and_back_in_waits_for_the_big_blind():
    t, _ = deal([100, 100, 100], button=0)
    t, _ = apply(t, SitOut(1))
    t, _ = play(t, "0 fold, 1 fold")
    t, ev = apply(t, StartHand(tuple(_deck())))
    assert 1 not in of_type(ev, "hand_started")[0]["seats"]
    t, _ = apply(t, SitIn(1))
    assert t.seats[1].waiting


# -- case 8: showdown order, mucking, all-in hands shown --------------------------------

def test_last_aggressor_shows_first_and_a_loser_may_muck():
    holes = {0: "2d3h", 1: "AsAh"}
    t, _ = deal([100, 100], button=0, holes=holes, board="8c9dJh4sKc")
    t, _ = play(t, "0 call, 1 check, 1 check, 0 check, 1 check, 0 check, 1 check, 0 bet 10")
    t, events = play(t, "1 call")
    assert t.hand.street == "showdown" and t.hand.to_act == 0
    assert legal_actions(t).actions == ("show", "muck")
    t, events = play(t, "0 timeout")       # the default: 2-3 high does not beat... nothing shown yet
    assert of_type(events, "show")[0]["seat"] == 0
    t, events = play(t, "1 timeout")
    assert of_type(events, "show")[0]["seat"] == 1
    assert stacks(t) == [88, 112]


def test_everyone_checked_first_left_of_button_shows_and_loser_mucks_hidden():
    holes = {0: "2d3h", 1: "AsAh", 2: "KsKh"}
    t, _ = deal([100, 100, 100], button=2, holes=holes, board="8c9dJh4sQc")
    t, _ = play(t, "2 call, 0 call, 1 check")
    for _street in range(3):
        t, _ = play(t, "0 check, 1 check, 2 check")
    assert t.hand.street == "showdown" and t.hand.showdown_order == (0, 1, 2)
    t, ev = play(t, "0 show")
    t, ev = play(t, "1 show, 2 timeout")    # KK cannot beat AA: mucked
    assert of_type(ev, "muck") == [{"type": "muck", "seat": 2}]
    for viewer in (0, 1, None):
        assert table_view(t, viewer)["seats"][2]["cards"] is None
    assert table_view(t, 2)["seats"][2]["cards"] == ["Ks", "Kh"]
    assert stacks(t) == [98, 104, 98]


def test_last_contender_cannot_muck():
    t, _ = deal([100, 100], button=0, board="8c9dJh4sQc")
    t, _ = play(t, "0 call, 1 check" + ", 1 check, 0 check" * 3)
    t, _ = play(t, "1 muck")
    assert legal_actions(t).actions == ("show",)
    with pytest.raises(IllegalAction, match="last player"):
        play(t, "0 muck")


def test_the_last_contender_leaving_at_showdown_must_still_show_and_is_paid():
    # Showdown order 0, 1, 2: seats 0 and 1 muck (legal: seat 2 still contends),
    # then seat 2 leaves on its turn. Its hand cannot be mucked (it is the last
    # that can win the pot), so it is shown, wins, and the pot follows the player.
    holes = {0: "AsAh", 1: "KsKh", 2: "2d3c"}
    t, _ = deal([100, 100, 100], button=2, holes=holes, board="8c9dJh4sQc")
    t, _ = play(t, "2 call, 0 call, 1 check" + ", 0 check, 1 check, 2 check" * 3)
    t, _ = play(t, "0 muck, 1 muck")
    t, events = apply(t, StandUp(2))
    assert of_type(events, "show")[0]["seat"] == 2
    assert of_type(events, "award")[0]["winners"] == [{"seat": 2, "amount": 6}]
    assert [e["stack"] for e in of_type(events, "left")] == [98, 6]   # behind, then won
    assert stacks(t) == [98, 98, None] and not t.hand_running


def test_players_leaving_at_showdown_muck_on_their_turn_the_last_one_shows():
    t, _ = deal([100, 100, 100], button=2, board="8c9dJh4sQc")
    t, _ = play(t, "2 call, 0 call, 1 check" + ", 0 check, 1 check, 2 check" * 3)
    t, events = apply(t, StandUp(1))          # not its turn yet: mucked when it comes
    assert not of_type(events, "muck") and t.hand.to_act == 0
    t, events = apply(t, StandUp(0))          # its turn: mucked, then seat 1's too
    assert [e["seat"] for e in of_type(events, "muck")] == [0, 1]
    assert legal_actions(t).actions == ("show",) and automatic_action(t) == Timeout(2)
    t, events = apply(t, Timeout(2))
    assert of_type(events, "award")[0]["winners"] == [{"seat": 2, "amount": 6}]
    assert not t.hand_running and stacks(t) == [None, None, 104]


def test_all_in_hands_are_always_shown():
    holes = {0: "2d3h", 1: "AsAh"}
    t, _ = deal([100, 50], button=0, holes=holes, board="8c9dJh4sKc")
    t, events = play(t, "0 raise 50, 1 allin")
    assert [e["seat"] for e in of_type(events, "show")] == [0, 1]
    assert not of_type(events, "muck")


# -- case 9: everyone all in -----------------------------------------------------------

def test_everyone_all_in_runs_out_the_board():
    t, _ = deal([100, 100, 100], button=0)
    t, events = play(t, "0 allin, 1 call, 2 call")
    assert [e["street"] for e in of_type(events, "street")] == ["flop", "turn", "river"]
    flop = next(i for i, e in enumerate(events) if e.type == "street")
    assert not of_type(events[flop:], "to_act")
    assert t.hand.street == "complete" and len(t.hand.board) == 5
    assert sum(stacks(t)) == 300


def test_all_but_one_all_in_deals_without_betting():
    t, _ = deal([100, 30, 500], button=0)
    t, events = play(t, "0 call, 1 allin, 2 call, 0 call")
    assert t.hand.street == "flop" and t.hand.to_act == 2  # two can still bet
    t, events = play(t, "2 bet 100, 0 allin")   # 70 behind: a call for less
    assert {"type": "uncalled", "seat": 2, "amount": 30} in of_type(events, "uncalled")
    assert t.hand.street == "complete"


# -- case 10: folded contributions, no pot without an eligible player -------------------

def test_folded_chips_stay_in_the_pot_and_every_pot_has_a_winner():
    holes = {0: "AsAh", 1: "KsKh", 2: "QsQh"}
    t, _ = deal([50, 1000, 1000], button=2, holes=holes, board="2c7d9h3s4c")
    t, _ = play(t, "2 raise 200, 0 allin, 1 call")
    t, _ = play(t, "1 check, 2 bet 300, 1 fold")
    assert stacks(t) == [150, 800, 1100]  # main pot to seat 0, side pot to seat 2
    assert sum(stacks(t)) == 2050


def test_leaving_mid_hand_folds_on_the_players_turn_and_chips_stay_in_the_pot():
    t, _ = deal([100, 100, 100], button=0)
    t, _ = play(t, "0 raise 10")
    t, events = apply(t, StandUp(0))
    assert of_type(events, "left") == [{"type": "left", "seat": 0, "player": "p0", "stack": 90}]
    # The stack went with the player; the hand folds when the turn comes back.
    assert t.seats[0].leaving and not t.seats[0].folded and t.chips() == 300 - 90
    # (A raise against nobody but the leaver would be refused: nobody could call it.)
    t, events = play(t, "1 call, 2 raise 30")
    assert of_type(events, "action")[-1] == {"type": "action", "seat": 0, "action": "fold",
                                             "amount": 0, "to": 10, "stack": 0, "all_in": False}
    assert t.hand.to_act == 1
    t, events = play(t, "1 fold")
    assert of_type(events, "award")[0]["amount"] == 30
    assert t.seats[0] is None and stacks(t) == [None, 90, 120]


def test_a_hand_left_behind_that_everyone_folds_to_is_paid_to_the_player():
    t, _ = deal([100, 100, 100], button=0)
    t, _ = play(t, "0 raise 10")
    t, _ = apply(t, StandUp(0))
    t, events = play(t, "1 fold, 2 fold")
    assert {"type": "uncalled", "seat": 0, "amount": 8} in of_type(events, "uncalled")
    assert of_type(events, "award")[0]["winners"] == [{"seat": 0, "amount": 5}]
    assert of_type(events, "left") == [{"type": "left", "seat": 0, "player": "p0", "stack": 13}]
    assert t.seats[0] is None and stacks(t)[1:] == [99, 98]


def test_an_all_in_hand_plays_on_when_its_player_leaves_and_wins_for_them():
    holes = {0: "AsAh", 1: "KsKh", 2: "QsQh"}
    t, _ = deal([50, 200, 200], button=2, holes=holes, board="2c7d9h3s4c")
    t, _ = play(t, "2 call, 0 allin")
    t, events = apply(t, StandUp(0))
    assert of_type(events, "left")[0]["stack"] == 0 and t.seats[0].live
    assert table_view(t, 1)["seats"][0]["cards"] is None     # not shown yet
    t, events = play(t, "1 call, 2 call, 1 bet 20, 2 call, 1 check, 2 check, 1 check, 2 check")
    assert not t.hand_running
    assert of_type(events, "show")[0]["seat"] in (0, 1, 2)
    assert of_type(events, "award")[0]["winners"] == [{"seat": 0, "amount": 150}]
    assert of_type(events, "left") == [{"type": "left", "seat": 0, "player": "p0", "stack": 150}]
    assert stacks(t) == [None, 170, 130]          # KK takes the side pot


def test_leaving_out_of_turn_lets_play_go_on():
    t, _ = deal([100, 100, 100], button=0)
    t, ev = apply(t, StandUp(2))          # the big blind leaves before the button acts
    assert t.hand.to_act == 0
    t, ev = play(t, "0 call, 1 call")
    assert t.hand.street == "flop"


# -- forced bets ----------------------------------------------------------------------------

def test_antes_and_short_blinds_are_all_in_for_what_they_have():
    t, events = deal([100, 1, 3, 100], blinds=(2, 4), ante=1, button=0)
    blinds = [(b["seat"], b["kind"], b["amount"], b["all_in"]) for b in of_type(events, "blind")]
    # Seat 1 is all in from the ante and posts no small blind.
    assert blinds == [(1, "ante", 1, True), (2, "ante", 1, False), (3, "ante", 1, False),
                      (0, "ante", 1, False), (2, "big", 2, True)]
    assert t.hand.small_blind_seat == 1 and t.hand.current_bet == 2


def test_big_blind_has_the_option():
    t, _ = deal([100, 100, 100], button=0)
    t, _ = play(t, "0 call, 1 call")
    legal = legal_actions(t)
    assert legal.seat == 2 and legal.actions == ("fold", "check", "raise", "all_in")


# -- readable errors, and nothing changes ---------------------------------------------------

def test_illegal_actions_explain_themselves_and_change_nothing():
    t, _ = deal([100, 100, 100], blinds=(20, 40), button=0)
    before = table_to_json(t)
    cases = [
        (Check(0), "cannot check facing a bet of 40"),
        (Call(1), "not your turn"),
        (Bet(0, 100), "cannot bet facing a bet of 40"),
        (Raise(0, 50), "minimum raise is to 80"),
        (Raise(0, 101), "only 100 chips"),
        (Raise(0, True), "whole number"),
        (Raise(0, 80.0), "whole number"),
        (Call(7), "no seat 7"),
        (StartHand(tuple("As" for _ in range(52))), "already running"),
        (TopUp(0, 10), "between hands"),
        (SitDown(0, "x", 10), "taken"),
    ]
    for action, message in cases:
        with pytest.raises(IllegalAction, match=message):
            apply(t, action)
    assert table_to_json(t) == before


def test_acting_after_folding_and_with_no_hand():
    t = seated([100, 100])
    with pytest.raises(IllegalAction, match="no hand"):
        apply(t, Check(0))
    t, _ = deal([100, 100, 100], button=0)
    t, _ = play(t, "0 fold")
    with pytest.raises(IllegalAction, match="folded"):
        apply(t, Call(0))


def test_timeout_checks_when_it_can_and_folds_otherwise():
    t, _ = deal([100, 100, 100], button=0)
    t, ev = play(t, "0 timeout")
    assert of_type(ev, "action")[0]["action"] == "fold"
    t, ev = play(t, "1 call, 2 timeout")
    assert of_type(ev, "action")[-1] == {"type": "action", "seat": 2, "action": "check",
                                         "amount": 0, "to": 2, "stack": 98, "all_in": False}


def test_view_pots_are_collected_pots_and_a_leaver_is_marked():
    t, _ = deal([100, 100, 100], button=0)
    t, _ = play(t, "0 call, 1 call, 2 check, 1 bet 10")
    view = table_view(t, None)
    assert view["hand"]["pots"] == [{"amount": 6, "eligible": [0, 1, 2]}]  # not the bet of 10
    assert view["seats"][1]["bet"] == 10
    t, _ = apply(t, StandUp(0))
    assert table_view(t, 2)["seats"][0]["leaving"] is True


def test_json_round_trip_mid_hand():
    t, _ = deal([100, 37, 250], button=1, ante=1)
    t, _ = play(t, "1 raise 10")
    assert table_from_json(table_to_json(t)) == t


def test_new_table_rejects_bad_sizes_and_stakes():
    with pytest.raises(ValueError):
        new_table(11, 1, 2)
    with pytest.raises(ValueError):
        new_table(6, 2, 1)


def _deck():
    from game.cards import DECK
    return DECK


# -- what the rules do by themselves ---------------------------------------------------

def test_automatic_actions_time_out_a_sitting_out_player_to_act():
    t, _ = deal([100, 100, 100], button=0)
    assert automatic_action(t) is None                 # seat 0 is to act and present
    t, _ = apply(t, SitOut(0))
    assert automatic_action(t) == Timeout(0)


def test_automatic_actions_settle_the_showdown_by_the_default():
    t, _ = deal([100, 100], blinds=(1, 2), button=0, holes={0: "2c7h", 1: "AsAd"},
                board="Kc9s5h3d8c")
    t, _ = play(t, "0 call, 1 check, 1 check, 0 check, 1 check, 0 check, 1 check, 0 check")
    assert t.hand.street == "showdown"
    while (a := automatic_action(t)) is not None:
        assert type(a) is Timeout
        t, _ = apply(t, a)
    assert not t.hand_running and t.seats[0].mucked and t.seats[1].shown


def test_automatic_actions_sit_out_a_busted_player_after_the_hand():
    t, _ = deal([50, 100], blinds=(1, 2), button=0, holes={0: "2c7h", 1: "AsAd"},
                board="Kc9s5h3d8c")
    t, _ = play(t, "0 allin, 1 call")
    assert not t.hand_running and t.seats[0].stack == 0
    assert automatic_action(t) == SitOut(0) and not can_start_hand(t)
    t, _ = apply(t, SitOut(0))
    assert automatic_action(t) is None and dealable(t) == [1]


# -- issue 12: a raise nobody can call --------------------------------------------------


def test_no_raise_when_nobody_left_could_call_any_of_it():
    # Blinds 1/2; the button (seat 0) is all in for 100; the small blind (seat 1)
    # has 300, the big blind (seat 2) 50 in all: it cannot even call 100, so a
    # raise by the small blind could only come back as uncalled.
    t, _ = deal([100, 300, 50], button=0)
    t, _ = play(t, "0 allin")
    legal = legal_actions(t)
    assert legal.seat == 1 and legal.actions == ("fold", "call") and legal.max_to == 0
    with pytest.raises(IllegalAction, match="nobody left could call any of a raise"):
        apply(t, Raise(1, 200))
    with pytest.raises(IllegalAction, match="nobody left could call"):
        apply(t, AllIn(1))
    # Someone who can call part of it is enough: the big blind with 150 could.
    t, _ = deal([100, 300, 150], button=0)
    t, _ = play(t, "0 allin")
    assert "raise" in legal_actions(t).actions


# -- issue 12: big-blind ante -------------------------------------------------------------

def test_a_big_blind_ante_is_one_ante_for_the_table_dead_in_the_main_pot():
    t = seated([1000, 1000, 1000], blinds=(50, 100), ante=100)
    t = replace(t, ante_kind="big_blind")
    t, events = deal(None, table=t, button=2)
    blinds = [(b["seat"], b["kind"], b["amount"]) for b in of_type(events, "blind")]
    assert blinds == [(1, "ante", 100), (0, "small", 50), (1, "big", 100)]
    assert t.hand.current_bet == 100 and t.seats[1].dead == 100 and t.seats[1].bet == 100
    t, events = play(t, "2 fold, 0 fold")
    # The big blind gets 50 back as uncalled and wins its ante, 50 of its blind
    # and the small blind.
    assert of_type(events, "award")[0]["amount"] == 200
    assert stacks(t) == [950, 1050, 1000]


def test_a_big_blind_all_in_from_its_ante_wins_only_the_dead_money():
    holes = {0: "2c7d", 1: "AsAh", 2: "3c8d"}
    t = replace(seated([500, 80, 500], blinds=(25, 50), ante=100), ante_kind="big_blind")
    t, events = deal(None, table=t, button=2, holes=holes, board="KhQh9s4c3s")
    assert [(b["seat"], b["kind"], b["amount"]) for b in of_type(events, "blind")] == [
        (1, "ante", 80), (0, "small", 25)]
    # No big blind posted: the small blind is the bet to call, and has the option.
    t, events = play(t, "2 call, 0 check" + ", 0 check, 2 check" * 3)
    assert of_type(events, "pots")[-1]["pots"] == [{"amount": 80, "eligible": [0, 1, 2]},
                                                  {"amount": 50, "eligible": [0, 2]}]
    assert stacks(t) == [475, 80, 525]     # the aces win the ante alone, the threes the rest


# -- issue 12: straddle ------------------------------------------------------------------

def test_under_the_gun_straddles_acts_last_before_the_flop_and_the_raise_is_to_twice_it():
    t = replace(seated([200] * 4), straddle=4)
    t, events = deal(None, table=t, button=0)   # button 0, blinds 1 and 2, UTG 3
    assert [(b["seat"], b["kind"], b["amount"]) for b in of_type(events, "blind")] == [
        (1, "small", 1), (2, "big", 2), (3, "straddle", 4)]
    assert t.hand.straddle_seat == 3 and t.hand.to_act == 0
    legal = legal_actions(t)
    assert legal.call == 4 and legal.min_to == 8
    with pytest.raises(IllegalAction, match="minimum raise is to 8"):
        apply(t, Raise(0, 6))
    t, _ = play(t, "0 call, 1 call, 2 call")
    legal = legal_actions(t)    # the straddle has the option
    assert legal.seat == 3 and legal.actions == ("fold", "check", "raise", "all_in")
    t, _ = play(t, "3 check")
    assert t.hand.street == "flop" and t.hand.current_bet == 0 and t.hand.min_raise == 2


def test_no_straddle_heads_up_and_a_short_straddle_does_not_set_the_raise():
    t = replace(seated([200, 200]), straddle=4)
    t, events = deal(None, table=t, button=1)
    assert not [b for b in of_type(events, "blind") if b["kind"] == "straddle"]
    t = replace(seated([200, 200, 3]), straddle=4)       # three-handed: UTG is the button
    t, events = deal(None, table=t, button=2)
    assert of_type(events, "blind")[-1] == {"type": "blind", "seat": 2, "kind": "straddle",
                                            "amount": 3, "all_in": True}
    assert legal_actions(t).min_to == 5     # 3 + the big blind: an incomplete straddle
    with pytest.raises(ValueError, match="twice the big blind"):
        new_table(4, 1, 2, straddle=3)


# -- issue 12: missed blinds -------------------------------------------------------------

def _hands(t, count):
    """Play ``count`` hands where everyone folds to the big blind."""
    for _ in range(count):
        t, _ = apply(t, StartHand(tuple(_deck())))
        while t.hand_running:
            t, _ = apply(t, Fold(t.hand.to_act))
    return t


def test_a_player_who_missed_the_big_blind_posts_it_and_a_dead_small_blind_to_come_back():
    t, _ = deal([100] * 5, button=0)                 # button 0, blinds 1 and 2
    t, _ = apply(t, SitOut(4))
    while t.hand_running:
        t, _ = apply(t, Fold(t.hand.to_act))
    t = _hands(t, 2)                                 # the big blind passes seat 4
    assert t.seats[4].missed and t.hand.big_blind_seat == 0
    t, events = apply(t, SitIn(4, post=True))
    assert t.seats[4].posting and not t.seats[4].waiting
    # Next hand: button 3, blinds 0 and 1. Seat 4 sits between the button and
    # the small blind: not dealt in there, it still owes and waits one hand.
    t, events = apply(t, StartHand(tuple(_deck())))
    assert 4 not in of_type(events, "hand_started")[0]["seats"] and t.seats[4].posting
    while t.hand_running:
        t, _ = apply(t, Fold(t.hand.to_act))
    t, events = apply(t, StartHand(tuple(_deck())))   # button 0, blinds 1 and 2
    assert 4 in of_type(events, "hand_started")[0]["seats"]
    blinds = [(b["seat"], b["kind"], b["amount"]) for b in of_type(events, "blind")]
    assert blinds == [(4, "dead", 1), (1, "small", 1), (2, "big", 2), (4, "post", 2)]
    assert t.seats[4].bet == 2 and t.seats[4].dead == 1 and not t.seats[4].missed
    t, events = play(t, "3 call, 4 check, 0 call, 1 call, 2 check")   # the post is live
    assert t.hand.street == "flop"
    assert of_type(events, "pots")[-1]["pots"] == [{"amount": 11, "eligible": [0, 1, 2, 3, 4]}]


def test_a_player_who_missed_the_big_blind_may_wait_for_it_instead():
    t, _ = deal([100] * 5, button=0)
    t, _ = apply(t, SitOut(4))
    while t.hand_running:
        t, _ = apply(t, Fold(t.hand.to_act))
    t = _hands(t, 2)
    t, _ = apply(t, SitIn(4))
    for big in (1, 2, 3):                              # dealt in only when it reaches them
        t, events = apply(t, StartHand(tuple(_deck())))
        assert of_type(events, "hand_started")[0]["big_blind"] == big
        assert 4 not in of_type(events, "hand_started")[0]["seats"]
        while t.hand_running:
            t, _ = apply(t, Fold(t.hand.to_act))
    t, events = apply(t, StartHand(tuple(_deck())))
    assert of_type(events, "hand_started")[0]["big_blind"] == 4
    assert [b["kind"] for b in of_type(events, "blind") if b["seat"] == 4] == ["big"]


def test_one_who_sat_out_but_missed_no_big_blind_comes_back_at_once_posting_nothing():
    t, _ = deal([100] * 5, button=0)
    t, _ = apply(t, SitOut(4))
    while t.hand_running:
        t, _ = apply(t, Fold(t.hand.to_act))
    t, _ = apply(t, SitIn(4, post=True))
    assert not t.seats[4].missed and not t.seats[4].posting and not t.seats[4].waiting
    t, events = apply(t, StartHand(tuple(_deck())))
    assert 4 in of_type(events, "hand_started")[0]["seats"]
    assert not [b for b in of_type(events, "blind") if b["seat"] == 4]


def test_sitting_out_does_not_skip_the_wait_for_a_first_big_blind():
    t, _ = deal([100, None, 100, 100], button=0)    # button 0, blinds 2 and 3
    t, _ = play(t, "0 fold, 2 fold")
    t, _ = apply(t, SitDown(1, "late", 100))       # waits for the big blind
    t, _ = apply(t, SitOut(1))
    t, _ = apply(t, SitIn(1))
    assert t.seats[1].waiting and not t.seats[1].posting
    t, _ = apply(t, SitOut(1))
    t, _ = apply(t, SitIn(1, post=True))           # coming in now costs a big blind
    t, events = apply(t, StartHand(tuple(_deck())))   # button 2, blinds 3 and 0
    assert 1 in of_type(events, "hand_started")[0]["seats"]
    assert [(b["kind"], b["amount"]) for b in of_type(events, "blind") if b["seat"] == 1] == [
        ("post", 2)]


# -- issue 12: run it twice -----------------------------------------------------------------

def test_all_in_players_who_all_agree_run_the_board_twice_half_the_pot_on_each():
    holes = {0: "AsAh", 1: "KsKh"}
    t = replace(seated([101, 101]), run_it_twice=True)
    for seat in (0, 1):
        t, events = apply(t, RunTwice(seat))
        assert of_type(events, "run_twice") == [{"type": "run_twice", "seat": seat,
                                                 "agree": True}]
    # The first board (from the top of the deck) pairs the kings' king, the
    # second is dealt from the cards after it.
    board = "Kc7d2h3s9c" + "QdJdTd8h4c"
    t, _ = deal(None, table=t, button=0, holes=holes, board=board)
    t, events = play(t, "0 allin, 1 call")
    assert t.hand.board == ("Kc", "7d", "2h", "3s", "9c")
    assert t.hand.second_board == ("Qd", "Jd", "Td", "8h", "4c")
    assert [e["street"] for e in of_type(events, "second_board")] == ["flop", "turn", "river"]
    awards = of_type(events, "award")
    assert [(a["board"], a["amount"], a["winners"]) for a in awards] == [
        (0, 101, [{"seat": 1, "amount": 101}]), (1, 101, [{"seat": 0, "amount": 101}])]
    assert stacks(t) == [101, 101]


def test_run_twice_needs_every_player_still_in_and_the_table():
    t = replace(seated([100, 100]), run_it_twice=True)
    t, _ = apply(t, RunTwice(0))
    t, _ = deal(None, table=t, button=0)
    t, _ = play(t, "0 allin, 1 call")
    assert not t.hand.second_board                     # seat 1 did not agree
    with pytest.raises(IllegalAction, match="does not run it twice"):
        apply(seated([100, 100]), RunTwice(0))


def test_an_odd_chip_of_a_pot_run_twice_goes_to_the_first_board():
    # The main pot is 3 x 3 = 9: 5 on the first board, 4 on the second; the
    # side pot of 2 x 97 splits evenly.
    holes = {0: "AsAh", 1: "KsKh", 2: "2c3d"}
    t = replace(seated([100, 3, 100]), run_it_twice=True)
    for seat in range(3):
        t, _ = apply(t, RunTwice(seat))
    t, _ = deal(None, table=t, button=2, holes=holes,
                board="Kc7d2h3s9c" + "QdJdTd8h4c")
    t, events = play(t, "2 call, 0 call, 1 allin, 2 call, 0 call")
    t, more = play(t, "0 allin, 2 call")
    events += more
    awards = [(a["pot"], a["board"], a["amount"]) for a in of_type(events, "award")]
    assert awards == [(0, 0, 5), (0, 1, 4), (1, 0, 97), (1, 1, 97)]
    assert sum(stacks(t)) == 203


# -- issue 12: a top-up from zero is a new buy-in ------------------------------------------

def test_a_top_up_from_zero_needs_the_minimum_buy_in():
    t = new_table(3, 1, 2, min_buy_in=40, max_buy_in=200)
    t, _ = apply(t, SitDown(0, "ann", 40))
    with pytest.raises(IllegalAction, match="buy-in at this table is 40 to 200"):
        apply(t, SitDown(1, "bob", 39))
    t = replace(t, seats=(replace(t.seats[0], stack=0, sitting_out=True),) + t.seats[1:])
    with pytest.raises(IllegalAction, match="at least 40, not 39"):
        apply(t, TopUp(0, 39))
    t, _ = apply(t, TopUp(0, 40))
    t, _ = apply(t, TopUp(0, 1))                   # not from zero: any amount
    with pytest.raises(IllegalAction, match="at most 200"):
        apply(t, TopUp(0, 160))
    assert t.seats[0].stack == 41


# -- issue 12: the new fields keep JSON round trips, and old JSON loads ---------------------

def test_json_round_trip_with_every_option_and_old_json():
    t = new_table(4, 1, 2, ante=2, ante_kind="big_blind", straddle=4, run_it_twice=True,
                  min_buy_in=40, max_buy_in=400)
    for seat in range(4):
        t, _ = apply(t, SitDown(seat, f"p{seat}", 100))
    t, _ = apply(t, RunTwice(1))
    t, _ = deal(None, table=t)
    t, _ = play(t, "0 call")
    assert table_from_json(table_to_json(t)) == t
    old = table_to_json(t)
    for name in ("ante_kind", "straddle", "run_it_twice", "min_buy_in", "max_buy_in"):
        del old[name]
    for s in old["seats"]:
        for name in ("folding", "missed", "posting", "run_twice", "dead"):
            s.pop(name, None)       # written only when not at their defaults
    for name in ("straddle_seat", "second_board"):
        old["hand"].pop(name, None)
    loaded = table_from_json(old)
    assert loaded.ante_kind == "each" and loaded.straddle == 0 and not loaded.run_it_twice
    assert loaded.hand.second_board == () and loaded.seats[1].run_twice is False
    assert action_from_json({"type": "sit_in", "seat": 2}) == SitIn(2)   # journals before post
    assert action_from_json(action_to_json(SitIn(2, post=True))) == SitIn(2, post=True)


# -- sitting out: now, when the hand is over, or instead of the next big blind ---------


def test_sitting_out_during_a_hand_waits_for_its_end_and_does_not_fold():
    t, _ = deal([100, 100, 100], button=0)               # seat 0 is under the gun
    t, ev = apply(t, SitOut(0, when="hand"))
    assert [e.type for e in ev] == ["sit_out_next"] and automatic_action(t) is None
    t, _ = play(t, "0 call, 1 call, 2 check")            # seat 0 plays on
    assert t.hand.street == "flop" and t.seats[0].live and not t.seats[0].sitting_out
    t, ev = play(t, "1 check, 2 check, 0 check, 1 check, 2 check, 0 check, "
                    "1 check, 2 check, 0 check")
    while (a := automatic_action(t)) is not None and t.hand_running:
        t, more = apply(t, a)
        ev += more
    assert not t.hand_running and t.seats[0].sitting_out
    assert of_type(ev, "sat_out") == [{"type": "sat_out", "seat": 0}]
    assert [e.type for e in ev].index("sat_out") > [e.type for e in ev].index("hand_ended")
    assert dealable(t) == [1, 2]


def test_sitting_out_between_hands_is_at_once_and_sitting_in_calls_a_plan_off():
    t = seated([100, 100, 100])
    t, ev = apply(t, SitOut(1, when="hand"))
    assert t.seats[1].sitting_out and of_type(ev, "sat_out") == [{"type": "sat_out", "seat": 1}]
    t, _ = deal([100, 100, 100], button=0)
    t, _ = apply(t, SitOut(2, when="hand"))
    t, ev = apply(t, SitIn(2))                            # changed their mind
    assert t.seats[2].sit_out_after is None and of_type(ev, "sat_in") == [
        {"type": "sat_in", "seat": 2, "post": False}]
    with pytest.raises(IllegalAction, match="sit out when"):
        apply(t, SitOut(2, when="tomorrow"))


def test_sitting_out_at_the_next_big_blind_plays_until_it_would_post_it():
    t, _ = deal([100, 100, 100, 100], button=0)          # blinds: 1 small, 2 big
    t, ev = apply(t, SitOut(3, when="big_blind"))        # seat 3 is the next big blind
    assert of_type(ev, "sit_out_next") == [{"type": "sit_out_next", "seat": 3,
                                            "when": "big_blind"}]
    t, ev = play(t, "3 fold, 0 fold, 1 fold")             # the hand ends: 3 sits out now
    assert not t.hand_running and t.seats[3].sitting_out
    assert of_type(ev, "sat_out") == [{"type": "sat_out", "seat": 3}]
    t, ev = apply(t, StartHand(tuple(DECK)))
    started = of_type(ev, "hand_started")[0]
    assert started["big_blind"] == 0 and 3 not in started["seats"]   # it moved on past 3


# -- the view's waits_for_big_blind: who is not dealt in before the big blind ------

def _waiting_in_view(table) -> set[int]:
    seats = table_view(table)["seats"]
    assert all(s is None or s.get("waits_for_big_blind", True) is True for s in seats), \
        "the field is sent only when true"
    return {s["seat"] for s in seats if s and s.get("waits_for_big_blind")}


def _finish_hand(table):
    """Everyone checks or calls (the rules' own timeouts act for those sitting out)."""
    while table.hand_running:
        auto = automatic_action(table)
        if auto is not None:
            table, _ = apply(table, auto)
            continue
        legal = legal_actions(table)
        table, _ = apply(table, Check(legal.seat) if "check" in legal.actions else Call(legal.seat))
    return table


def test_waits_for_big_blind_says_who_the_next_hand_leaves_out():
    import random
    rng = random.Random(7)
    t = new_table(6, 1, 2)
    for i in (0, 2):
        t, _ = apply(t, SitDown(i, f"p{i}", 100))
    assert _waiting_in_view(t) == set()     # the first hand deals everyone in
    t, _ = apply(t, SitDown(4, "p4", 100))
    assert _waiting_in_view(t) == set()
    checked = 0
    for n in range(60):
        t, _ = apply(t, StartHand(DECK))
        # Mid-hand a newcomer waits (two players are in the hand).
        free = [i for i, s in enumerate(t.seats) if s is None]
        if free and rng.random() < 0.5:
            seat = rng.choice(free)
            t, _ = apply(t, SitDown(seat, f"n{n}", 100))
            assert seat in _waiting_in_view(t)
        t = _finish_hand(t)
        # Between hands: sit-outs, returns and leaves change who is ready.
        for i, s in enumerate(t.seats):
            if s is None or rng.random() > 0.2:
                continue
            if s.sitting_out:
                t, _ = apply(t, SitIn(i))
            elif s.stack == 0 or rng.random() < 0.3:
                t, _ = apply(t, StandUp(i))
            else:
                t, _ = apply(t, SitOut(i, "now"))
        waits = _waiting_in_view(t)
        if not can_start_hand(t):
            for i, s in enumerate(t.seats):   # somebody comes back, or a table of one gets company
                if s is not None and s.sitting_out:
                    t, _ = apply(t, SitIn(i))
            if not can_start_hand(t):
                free = [i for i, s in enumerate(t.seats) if s is None]
                t, _ = apply(t, SitDown(free[0], f"m{n}", 100))
            waits = _waiting_in_view(t)
        dealt_before = t
        t, events = apply(t, StartHand(DECK))
        started = of_type(events, "hand_started")[0]
        dealt = set(started["seats"])
        for i in dealable(dealt_before):
            if i in waits:        # left out, unless the big blind reached it
                assert i not in dealt or i == started["big_blind"], (n, i, waits, started)
                checked += 1
            elif not dealt_before.seats[i].posting:
                assert i in dealt, (n, i, waits, started)
        t = _finish_hand(t)
    assert checked >= 5, checked
