"""A snapshot's body: root_image serialises to exactly root_to_json, cheaply and repeatedly."""

import random

import orjson

from game.table import ACTION_TYPES, Fold, SitDown, legal_actions
from persistence.snapshot import Fragments, turn_over
from server import play
from server.root import (TableConfig, add_player, add_table, new_root, root_from_json,
                         root_image, root_to_json)


def played_root(hands=6, seed=3):
    """A root whose tables played a few hands through the server's own flow."""
    rng = random.Random(seed)
    shuffler, play._shuffler = play._shuffler, rng   # seeded shuffles: deterministic
    try:
        return _play(rng, hands)
    finally:
        play._shuffler = shuffler   # later tests deal from the real shuffler again


def _play(rng, hands):
    root = new_root()
    for name, seats in (("Six", 6), ("Duel", 2)):
        room = add_table(root, name, TableConfig(seats, 1, 2, 0, 40, 200))
        for i in range(seats):
            p = add_player(root, f"{name}{i}")
            play.act(root, room, SitDown(i, p.id, 100 + 10 * i))
        for _ in range(hands):
            play.start_hand(root, room)
            while room.game.hand_running:
                legal = legal_actions(room.game)
                choice = rng.choice([a for a in legal.actions if a not in ("bet", "raise")])
                play.act(root, room, ACTION_TYPES[choice](legal.seat))
        play.start_hand(root, room)   # one hand left running
    return root


def test_image_is_root_to_json_and_round_trips():
    root = played_root()
    assert len(root.tables["t1"].finished) >= 5
    frags = Fragments()
    expected = root_to_json(root)
    for _ in range(3):   # fresh, then from the fragment cache
        assert orjson.loads(orjson.dumps(root_image(root, frags))) == expected
        turn_over(frags)
    assert frags.hits > 0
    assert "history" not in expected["tables"]["t1"]   # every recovery drops it anyway
    rebuilt = root_from_json(expected)
    assert root_to_json(rebuilt) == expected and len(rebuilt.tables["t1"].history) == 0


def test_image_follows_changes():
    root = played_root(hands=2)
    frags = Fragments()
    orjson.dumps(root_image(root, frags))
    turn_over(frags)
    room = root.tables["t2"]
    legal = legal_actions(room.game)
    play.act(root, room, Fold(legal.seat))
    assert orjson.loads(orjson.dumps(root_image(root, frags))) == root_to_json(root)
