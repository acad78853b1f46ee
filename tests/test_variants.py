"""Pot-Limit Omaha and Fixed-Limit Hold'em: the game in the table's state, and each rule
that differs from No-Limit Hold'em, as a scripted hand."""

import pytest

from game.table import (AllIn, IllegalAction, Raise, apply, legal_actions, new_table,
                        table_from_json, table_to_json)
from game.variants import GAMES, LIMIT
from game.views import table_view
from hands import deal, of_type, play, stacks


# -- the game is part of the table's state -------------------------------------

@pytest.mark.parametrize("game", GAMES)
def test_every_image_carries_the_game(game):
    t, _ = deal([100, 100, 100], game=game)
    data = table_to_json(t)
    assert data["game"] == game
    assert table_from_json(data) == t
    assert table_view(t, 0)["game"] == game


def test_an_image_from_before_games_loads_as_no_limit_hold_em():
    t, _ = deal([100, 100, 100])
    data = table_to_json(t)
    data.pop("game"), data["hand"].pop("raises", None)
    old = table_from_json(data)
    assert old.game == "NT" and old == t


def test_new_table_refuses_unknown_games_and_decks_too_small():
    with pytest.raises(ValueError, match="the game is one of"):
        new_table(6, 1, 2, game="XX")
    with pytest.raises(ValueError, match="one deck cannot deal PO5 to 10 seats"):
        new_table(10, 1, 2, game="PO5")
    with pytest.raises(ValueError, match="no straddle"):
        new_table(6, 1, 2, game="FT", straddle=4)
    assert new_table(10, 1, 2, game="PO", run_it_twice=True).game == "PO"


# -- pot limit: the most is the pot after calling ---------------------------------
# Three-handed, blinds 1/2: seat 0 the button, 1 the small blind, 2 the big blind.

def test_pot_limit_preflop_with_blinds_only():
    t, _ = deal([1000, 1000, 1000], game="PO")
    legal = legal_actions(t)
    # Call 2: the pot is 1 + 2 + 2 = 5; raise by it, to 7.
    assert legal.seat == 0 and legal.min_to == 4 and legal.max_to == 7
    assert legal.actions == ("fold", "call", "raise")   # no all-in: it is over the pot
    with pytest.raises(IllegalAction, match="the pot limit raise is to 7 at most"):
        apply(t, Raise(0, 8))
    with pytest.raises(IllegalAction, match="pot limit"):
        apply(t, AllIn(0))
    t, _ = play(t, "0 raise 7")
    # The small blind: call 6 more, the pot is 10 + 6 = 16; to 7 + 16 = 23.
    assert legal_actions(t).max_to == 23


def test_pot_limit_facing_a_bet_and_a_raise():
    t, _ = deal([1000, 1000, 1000], game="PO")
    t, _ = play(t, "0 call, 1 call, 2 check")           # flop, pot 6
    assert legal_actions(t).max_to == 6                  # a pot-sized bet
    t, _ = play(t, "1 bet 6")
    # Facing 6 into 12: call 6, pot 18, raise to 6 + 18 = 24.
    assert legal_actions(t).max_to == 24 and legal_actions(t).min_to == 12
    t, _ = play(t, "2 raise 24")
    # Facing 24 (pot 36): call 24, pot 60, raise to 84.
    legal = legal_actions(t)
    assert legal.seat == 0 and legal.max_to == 84 and legal.min_to == 42
    t, _ = play(t, "0 raise 84")
    assert t.hand.current_bet == 84


def test_pot_limit_with_an_all_in_for_less_than_a_call():
    t, _ = deal([1000, 1000, 6], game="PO")
    t, _ = play(t, "0 call, 1 call, 2 check")           # flop, pot 6; seat 2 has 4 left
    t, _ = play(t, "1 bet 6, 2 allin")                   # all in for 4: less than the call
    # Seat 0 faces 6; the pot is 6 + 6 + 4 = 16; call 6, pot 22, raise to 28.
    legal = legal_actions(t)
    assert legal.seat == 0 and legal.call == 6 and legal.max_to == 28


def test_pot_limit_with_an_incomplete_all_in_raise():
    t, _ = deal([1000, 1000, 9], game="PO")
    t, _ = play(t, "0 call, 1 call, 2 check")           # seat 2 has 7 left
    t, _ = play(t, "1 bet 6, 2 allin")                   # to 7: a raise of 1, not full
    legal = legal_actions(t)
    # Seat 0: pot 6 + 6 + 7 = 19; call 7, pot 26, raise to 33; the least is 7 + 6.
    assert legal.seat == 0 and legal.min_to == 13 and legal.max_to == 33
    t, _ = play(t, "0 raise 33")
    legal = legal_actions(t)                             # a full raise reopens for seat 1
    assert legal.seat == 1 and legal.max_to == 33 + (6 + 7 + 33 + 6) + 27


def test_pot_limit_all_in_within_the_pot_is_allowed():
    t, _ = deal([5, 1000, 1000], game="PO")
    legal = legal_actions(t)
    assert legal.max_to == 5 and "all_in" in legal.actions and "raise" in legal.actions
    t, _ = play(t, "0 allin")
    assert t.seats[0].stack == 0 and t.hand.current_bet == 5


# -- Omaha showdown: exactly two hole cards and three board cards ----------------

def test_omaha_uses_exactly_two_hole_cards():
    # Four aces for hold'em, but only two of them play: trip aces lose to a straight.
    t, events = deal([4, 4], game="PO", holes={0: "AsAdAcKd", 1: "TsJc3d4h"},
                     board="Ah7c8d9s2h")
    t, events = play(t, "0 allin, 1 call")
    assert stacks(t) == [0, 8]
    assert [e["hand"] for e in of_type(events, "show")] == ["Three of a kind, aces",
                                                             "Straight, jack high"]


def test_omaha_uses_exactly_three_board_cards():
    # Four hearts on the board and one in the hand is no flush in Omaha.
    t, _ = deal([4, 4], game="PO", holes={0: "Ah7c7d7s", 1: "QcQdJsTs"},
                board="2h5h9hKh3c")
    t, _ = play(t, "0 allin, 1 call")
    assert stacks(t) == [0, 8]


def test_five_card_omaha_deals_five():
    t, events = deal([4, 4, 4], game="PO5", holes={1: "AsAdKsKdQs"}, board="Ac2h7c8dJs")
    assert all(len(e["cards"]) == 5 for e in of_type(events, "hole_cards"))
    t, events = play(t, "0 allin, 1 allin, 2 call")
    assert stacks(t)[1] == 12                            # trip aces, two of the five


# -- fixed limit: small bet 2 (preflop, flop), big bet 4 (turn, river) -------------

def test_fixed_limit_bet_sizes_by_street():
    t, _ = deal([1000, 1000, 1000], game="FT")
    legal = legal_actions(t)
    assert (legal.min_to, legal.max_to) == (4, 4)
    assert legal.actions == ("fold", "call", "raise")    # no all-in above the limit
    with pytest.raises(IllegalAction, match="fixed limit: the raise is to 4 at most"):
        apply(t, Raise(0, 5))
    with pytest.raises(IllegalAction, match="minimum raise is to 4"):
        apply(t, Raise(0, 3))
    t, _ = play(t, "0 call, 1 call, 2 check")
    assert (legal_actions(t).min_to, legal_actions(t).max_to) == (2, 2)    # flop
    t, _ = play(t, "1 check, 2 check, 0 check")
    assert (legal_actions(t).min_to, legal_actions(t).max_to) == (4, 4)    # turn
    t, _ = play(t, "1 bet 4, 2 raise 8, 0 call, 1 call")
    assert t.hand.street == "river" and legal_actions(t).max_to == 4


def test_fixed_limit_caps_a_street_at_a_bet_and_three_raises():
    t, _ = deal([1000, 1000, 1000], game="FT")
    t, _ = play(t, "0 call, 1 call, 2 check")
    t, _ = play(t, "1 bet 2, 2 raise 4, 0 raise 6, 1 raise 8")
    legal = legal_actions(t)
    assert legal.seat == 2 and legal.actions == ("fold", "call") and legal.call == 4
    with pytest.raises(IllegalAction, match="a bet and 3 raises"):
        apply(t, Raise(2, 10))


def test_fixed_limit_preflop_the_big_blind_is_the_bet():
    t, _ = deal([1000, 1000, 1000], game="FT")
    t, _ = play(t, "0 raise 4, 1 raise 6, 2 raise 8")
    assert legal_actions(t).actions == ("fold", "call")


def test_fixed_limit_cap_holds_heads_up():
    t, _ = deal([1000, 1000], game="FT")
    t, _ = play(t, "0 raise 4, 1 raise 6, 0 raise 8")
    assert legal_actions(t).actions == ("fold", "call")


def test_fixed_limit_all_in_under_half_a_bet_does_not_reopen():
    t, _ = deal([1000, 1000, 7], game="FT")
    t, _ = play(t, "0 call, 1 call, 2 check, 1 check, 2 check, 0 check")   # turn: bet 4
    t, _ = play(t, "1 bet 4, 2 allin")                   # all in to 5: 1 more, under 2
    legal = legal_actions(t)
    # Seat 0 has not acted: call 5, or complete the raise: to 4 + 4 = 8.
    assert legal.seat == 0 and legal.call == 5 and (legal.min_to, legal.max_to) == (8, 8)
    t, _ = play(t, "0 call")
    legal = legal_actions(t)
    assert legal.seat == 1 and legal.actions == ("fold", "call")
    with pytest.raises(IllegalAction, match="not reopened"):
        apply(t, Raise(1, 8))
    assert t.hand.raises == 1                            # the short all-in is no raise


def test_fixed_limit_all_in_of_half_a_bet_or_more_reopens():
    t, _ = deal([1000, 1000, 8], game="FT")
    t, _ = play(t, "0 call, 1 call, 2 check, 1 check, 2 check, 0 check")   # turn: bet 4
    t, _ = play(t, "1 bet 4, 2 allin")                   # all in to 6: 2 more, half a bet
    legal = legal_actions(t)
    # It counts as a raise: the next raise is one bet above it, to 10.
    assert legal.seat == 0 and (legal.min_to, legal.max_to) == (10, 10)
    t, _ = play(t, "0 call")
    legal = legal_actions(t)
    assert legal.seat == 1 and "raise" in legal.actions and legal.max_to == 10
    assert t.hand.raises == 2
    t, _ = play(t, "1 raise 10, 0 call")
    assert t.hand.street == "river"


def test_fixed_limit_all_in_of_more_than_half_a_bet_reopens():
    t, _ = deal([1000, 1000, 9], game="FT")
    t, _ = play(t, "0 call, 1 call, 2 check, 1 check, 2 check, 0 check")   # turn: bet 4
    t, _ = play(t, "1 bet 4, 2 allin")                   # all in to 7: 3 more, over half
    legal = legal_actions(t)
    # A raise, though short of a full bet: the next raise is one bet above it, to 11.
    assert legal.seat == 0 and legal.call == 7 and (legal.min_to, legal.max_to) == (11, 11)
    with pytest.raises(IllegalAction, match="fixed limit: the raise is to 11 at most"):
        apply(t, Raise(0, 12))
    t, _ = play(t, "0 call")
    legal = legal_actions(t)
    # Seat 1 already acted (its bet of 4) and faces 3 more: the betting is reopened.
    assert legal.seat == 1 and "raise" in legal.actions and (legal.min_to, legal.max_to) == (11, 11)
    assert t.hand.raises == 2
    t, _ = play(t, "1 raise 11, 0 call")
    assert t.hand.street == "river" and stacks(t) == [987, 987, 0]   # 2 preflop, 11 on the turn


# -- the Omaha evaluator -----------------------------------------------------------

def test_evaluate_omaha_is_the_best_of_two_hole_and_three_board_cards():
    import random
    from itertools import combinations

    from game.cards import DECK
    from game.evaluator import evaluate, evaluate_omaha
    rng = random.Random(17)
    for _ in range(300):
        holes, n = rng.choice((4, 5)), rng.choice((3, 4, 5))
        cards = rng.sample(DECK, holes + n)
        hole, board = tuple(cards[:holes]), tuple(cards[holes:])
        if rng.random() < 0.5:
            # Three suited board cards and two suited hole cards: the flush path.
            suit = rng.choice("cdhs")
            suited = rng.sample([c for c in DECK if c[1] == suit], 5)
            others = rng.sample([c for c in DECK if c[1] != suit], holes + n - 5)
            board = tuple(suited[:3] + others[:n - 3])
            hole = tuple(suited[3:] + others[n - 3:])
        brute = max(evaluate(h + b) for h in combinations(hole, 2)
                    for b in combinations(board, 3))
        assert evaluate_omaha(hole, board) == brute, (hole, board)


def test_evaluate_omaha_refuses_bad_input():
    from game.evaluator import EvaluatorError, evaluate_omaha
    with pytest.raises(EvaluatorError, match="not a card"):
        evaluate_omaha(("Xx", "As"), ("2c", "3c", "4c"))
    with pytest.raises(EvaluatorError, match="all distinct"):
        evaluate_omaha(("As", "As"), ("2c", "3c", "4c"))
    with pytest.raises(EvaluatorError, match="3 to 5 board cards"):
        evaluate_omaha(("As", "Ks"), ("2c", "3c"))


# -- the server: a table's game from POST /api/tables to the lobby and the images ---

def test_a_new_table_takes_its_game_and_the_lobby_shows_it():
    from server import lobby
    from server.effects import Effects
    from server.root import new_root
    root = new_root()
    for game in ("PO", "FT", None):
        body = {"name": f"table {game}", "seats": 6, "small_blind": 1, "big_blind": 2}
        if game:
            body["game"] = game
        lobby.create_table(root, body, Effects(), 0.0)
    shown = [(t["game"], t["stakes"]) for t in lobby.lobby(root)]
    assert shown == [("PO", "PLO 1/2"), ("FT", "FL 2/4"), ("NT", "NL 1/2")]
    assert [room.game.game for room in root.tables.values()] == ["PO", "FT", "NT"]
    with pytest.raises(ValueError, match="the game is one of"):
        lobby.table_config({"name": "x", "seats": 6, "small_blind": 1, "big_blind": 2,
                            "game": "stud"})


def test_a_played_omaha_table_survives_the_root_image_and_old_configs_load_as_no_limit():
    import random

    import orjson

    from game.cards import DECK
    from game.table import ACTION_TYPES, SitDown, StartHand
    from persistence.layout import root_from_json, root_to_json, room_from_json
    from server import play
    from server.root import TableConfig, add_player, add_table, new_root
    rng = random.Random(5)
    root = new_root()
    room = add_table(root, "PLO", TableConfig(4, 1, 2, 0, 40, 200, game="PO"))
    for i in range(4):
        p = add_player(root, f"p{i}")
        play.step(root, room, SitDown(i, p.id, 100, p.name), 1.0)
    for _ in range(3):
        deck = list(DECK)
        rng.shuffle(deck)
        play.step(root, room, StartHand(tuple(deck)), 1.0)
        while room.game.hand_running:
            legal = legal_actions(room.game)
            verb = rng.choice([a for a in legal.actions if a not in ("bet", "raise")])
            play.step(root, room, ACTION_TYPES[verb](legal.seat), 1.0)
    assert all(len(s.cards) == 4 for s in room.game.seats if s)
    image = orjson.loads(orjson.dumps(root_to_json(root)))
    rebuilt = root_from_json(image)
    assert rebuilt.tables[room.id].game == room.game
    assert rebuilt.tables[room.id].config.game == "PO"
    old = image["tables"][room.id]
    del old["config"]["game"], old["game"]["game"]
    assert room_from_json(old).config.game == room_from_json(old).game.game == "NT"


# -- bots play every game with the server's legal actions -------------------------

@pytest.mark.parametrize("game", GAMES)
def test_every_strategy_plays_every_game_legally(game):
    import random

    from client.bots.strategies import STRATEGIES, BotState
    from game.cards import DECK
    from game.table import ACTION_TYPES, SitDown, StartHand
    rng = random.Random(game)
    t = new_table(3, 1, 2, game=game)
    for i in range(3):
        t, _ = apply(t, SitDown(i, f"p{i}", 200))
    names = sorted(STRATEGIES)
    hands = 0
    while hands < 12 and len([s for s in t.seats if s and s.stack]) > 1:
        deck = list(DECK)
        rng.shuffle(deck)
        t, _ = apply(t, StartHand(tuple(deck)))
        while t.hand_running:
            legal = legal_actions(t)
            seat = t.seats[legal.seat]
            state = BotState(seat=legal.seat, cards=seat.cards, board=t.hand.board, rng=rng,
                             in_hand={i for i, s in enumerate(t.seats) if s and s.live},
                             pot=sum(s.total for s in t.seats if s and s.in_hand))
            act = STRATEGIES[names[(legal.seat + hands) % len(names)]](
                {"legal": legal.to_json()}, state)
            cls = ACTION_TYPES[act["action"]]
            action = cls(legal.seat, act["amount"]) if "amount" in act else cls(legal.seat)
            if LIMIT[game] == "fixed" and "amount" in act:
                assert act["amount"] == legal.min_to == legal.max_to
            t, _ = apply(t, action)                      # raises if the bot is wrong
        hands += 1
    assert hands >= 3
