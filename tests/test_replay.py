"""The replay tool on real snapshot files: summary, pictures, stepping, verify."""

import random

import orjson
import pytest

from game.cards import DECK
from game.table import (Call, Raise, SitDown, StartHand, action_to_json, apply, legal_actions,
                        table_to_json)
from persistence import image, replay, snapshot
from persistence.layout import root_to_json
from server.root import TableConfig, add_player, add_table, new_root


def busy_root():
    """A root whose table is mid-hand, recorded the way the server records it."""
    root = new_root()
    room = add_table(root, "Six-max 1/2", TableConfig(6, 1, 2, 0, 40, 200))
    for i, name in enumerate(["ann", "bob", "cyd"]):
        p = add_player(root, name)
        p.bankroll -= 200
        p.seats[room.id] = i
        room.game, _ = apply(room.game, SitDown(i, p.id, 200))
    room.hand_start = table_to_json(room.game)
    deck = list(DECK)
    random.Random(7).shuffle(deck)
    actions = [StartHand(tuple(deck))]
    room.game, _ = apply(room.game, actions[0])
    for act in (Call, Call):
        a = act(legal_actions(room.game).seat)
        room.game, _ = apply(room.game, a)
        actions.append(a)
    room.hand_actions = [action_to_json(a) for a in actions]
    return root


def write(tmp_path, data, seq=1):
    tmp_path.mkdir(exist_ok=True)
    snapshot.write_snapshot(str(tmp_path), seq, 1_700_000_000.0, orjson.dumps(data), keep=3)
    return str(tmp_path)


def test_summary_names_tables_and_checks_chips(tmp_path, capsys):
    folder = write(tmp_path, root_to_json(busy_root()))
    assert replay.main([folder]) == 0
    out = capsys.readouterr().out
    assert "snapshot seq 1" in out and "'Six-max 1/2'" in out
    assert "hands in progress: 1" in out and "(add up)" in out and "invariants: ok" in out


def test_table_picture_shows_cards_turn_and_legal_actions_but_no_tokens(tmp_path, capsys):
    data = root_to_json(busy_root())
    folder = write(tmp_path, data)
    assert replay.main([folder, "--table", "t1"]) == 0
    out = capsys.readouterr().out
    assert "TO ACT" in out and "may: fold, check" in out and "ann (p1)" in out
    assert "cards left in the deck" in out
    for p in data["players"].values():
        assert p["token"] not in out
    deck = data["tables"]["t1"]["game"]["hand"]["deck"]
    assert " ".join(deck[:3]) not in out  # the order of the deck is not printed


def test_steps_replay_the_hand_action_by_action(tmp_path, capsys):
    folder = write(tmp_path, root_to_json(busy_root()))
    assert replay.main([folder, "--table", "t1", "--steps"]) == 0
    out = capsys.readouterr().out
    assert "#1 start_hand (with a shuffled deck)" in out and "#3 call seat=" in out


def test_verify_passes_on_a_sound_snapshot_and_reports_a_difference(tmp_path, capsys):
    data = root_to_json(busy_root())
    assert replay.main([write(tmp_path / "good", data), "--verify"]) == 0
    assert "t1: ok (3 actions replayed)" in capsys.readouterr().out
    # A server bug: the stored stack disagrees with what the rules produce.
    data["tables"]["t1"]["game"]["seats"][0]["stack"] += 5
    assert replay.main([write(tmp_path / "bad", data), "--verify"]) == 1
    out = capsys.readouterr().out
    assert "t1: DIFFERS" in out and "seats[0].stack" in out


def test_verify_reports_an_action_the_rules_reject(tmp_path, capsys):
    data = root_to_json(busy_root())
    data["tables"]["t1"]["hand_actions"].append(action_to_json(Raise(5, 10)))
    assert replay.main([write(tmp_path, data), "--verify"]) == 1
    assert "the rules reject it" in capsys.readouterr().out


def test_damaged_newest_image_falls_back_to_the_previous(tmp_path, capsys):
    data = root_to_json(busy_root())
    write(tmp_path, data, seq=1)
    write(tmp_path, data, seq=2)
    newest = tmp_path / image.image_name(2)
    newest.write_bytes(newest.read_bytes()[:-10])
    assert replay.main([str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "snapshot seq 1" in captured.out and "skipped" in captured.err
    with pytest.raises(SystemExit, match="truncated"):
        replay.main([str(newest)])
    with pytest.raises(SystemExit, match="no such file"):
        replay.main([str(tmp_path / "missing.json")])
