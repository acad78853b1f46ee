"""A snapshot's body: root_image serialises to exactly root_to_json, cheaply and repeatedly."""

import random

import orjson

from game.cards import DECK
from game.table import ACTION_TYPES, Fold, SitDown, StartHand, can_start_hand, legal_actions
from persistence.layout import (LazyDeque, join_lazy, lazy_image, lazy_parts, root_from_json,
                                root_image, root_to_json, split_lazy, with_lazy)
from persistence.snapshot import Fragments, turn_over
from server import play
from server.root import (CHAT_LINES, FINISHED_HANDS, TableConfig, add_player, add_table,
                         finished_hands, new_root)

NOW = 1_795_000_000.0


def image_json(root, frags=None) -> dict:
    """What a snapshot holds, parsed back: the body plus the finished hands apart."""
    data = orjson.loads(orjson.dumps(root_image(root, frags)))
    data["lazy"] = lazy_image(root)
    return with_lazy(data)


def deal(root, room, rng):
    """The next hand, if it can start, with a seeded shuffle (deterministic)."""
    if not can_start_hand(room.game):
        return
    deck = list(DECK)
    rng.shuffle(deck)
    play.step(root, room, StartHand(tuple(deck)), NOW)


def played_root(hands=6, seed=3):
    """A root whose tables played a few hands through the server's own flow."""
    rng = random.Random(seed)
    root = new_root()
    for name, seats in (("Six", 6), ("Duel", 2)):
        room = add_table(root, name, TableConfig(seats, 1, 2, 0, 40, 200))
        for i in range(seats):
            p = add_player(root, f"{name}{i}")
            play.step(root, room, SitDown(i, p.id, 100 + 10 * i, p.name), NOW)
        for _ in range(hands):
            deal(root, room, rng)
            while room.game.hand_running:
                legal = legal_actions(room.game)
                choice = rng.choice([a for a in legal.actions if a not in ("bet", "raise")])
                play.step(root, room, ACTION_TYPES[choice](legal.seat), NOW)
        deal(root, room, rng)   # one hand left running
    return root


def test_image_is_root_to_json_and_round_trips():
    root = played_root()
    assert len(root.tables["t1"].finished) >= 5
    frags = Fragments()
    expected = root_to_json(root)
    for _ in range(3):   # fresh, then from the fragment cache
        assert image_json(root, frags) == expected
        body = orjson.loads(orjson.dumps(root_image(root, frags)))
        assert "finished" not in body["tables"]["t1"] and "chat" not in body["tables"]["t1"]
        turn_over(frags)
    assert frags.hits > 0
    assert "history" not in expected["tables"]["t1"]   # the transport's, not the root's
    rebuilt = root_from_json(expected)
    assert root_to_json(rebuilt) == expected


def test_image_follows_changes():
    root = played_root(hands=2)
    frags = Fragments()
    image_json(root, frags)
    turn_over(frags)
    room = root.tables["t2"]
    legal = legal_actions(room.game)
    play.step(root, room, Fold(legal.seat), NOW)
    assert image_json(root, frags) == root_to_json(root)


def test_finished_hands_are_kept_compressed_and_the_image_is_joined_from_what_was_taken():
    root = played_root(hands=3)
    room = root.tables["t2"]
    hands = len(room.finished)
    play.step(root, room, Fold(legal_actions(room.game).seat), NOW)   # heads-up: it ends
    assert len(room.finished) == hands + 1
    assert all(type(h) is bytes for h in room.finished)
    last = finished_hands(room)[-1]
    assert last["number"] == room.game.hand_number and last["actions"][0]["type"] == "start_hand"
    assert len(room.finished[-1]) < len(orjson.dumps(last)) / 2
    # The loop takes the parts in one go; the join (a thread's, a child's) sees
    # the hands as they were then, whatever the table does in between.
    parts = lazy_parts(root)
    image = lazy_image(root)
    assert join_lazy(parts) == image
    for _ in range(4):
        legal = legal_actions(room.game)
        if legal is None:
            deal(root, room, random.Random(len(room.finished)))
        else:
            play.step(root, room, Fold(legal.seat), NOW)
    assert len(room.finished) > hands + 1 and lazy_image(root) != image
    assert join_lazy(parts) == image
    lazy = split_lazy(image)
    assert orjson.loads(lazy["t2"]["finished"]) == finished_hands(room)[:hands + 1]


def recovered(root):
    """The root as a start rebuilds it from an image: hands and chat raw, not parsed."""
    data = orjson.loads(orjson.dumps(root_image(root)))
    data["lazy"] = lazy_image(root)
    return data, root_from_json(data)


def test_recovered_hands_and_chat_stay_raw_until_used_and_are_written_back_as_they_were():
    root = played_root()
    root.tables["t1"].chat.extend({"name": "ann", "text": f"gl {i} \n\"],["} for i in range(30))
    data, back = recovered(root)
    for room in back.tables.values():
        for f in (room.finished, room.chat):
            assert type(f) is LazyDeque and f.raw is not None
    assert lazy_image(back) == data["lazy"]               # copied, never parsed
    assert all(r.finished.raw is not None and r.chat.raw is not None
               for r in back.tables.values())
    assert root_to_json(back) == root_to_json(root)      # parsed when used
    room = back.tables["t1"]
    assert room.finished.raw is None and room.chat.raw is None
    assert list(reversed(room.finished)) == list(reversed(root.tables["t1"].finished))
    assert all(type(h) is bytes for h in room.finished)   # loaded: JSON bytes again
    assert list(room.chat) == list(root.tables["t1"].chat) and len(room.chat) == CHAT_LINES
    # the uses of the server: a search by number, len, reversed, append past maxlen
    duel, original = back.tables["t2"], root.tables["t2"]
    number = finished_hands(original)[-1]["number"]
    assert next(h for h in finished_hands(duel) if h["number"] == number) == \
        finished_hands(original)[-1]
    assert len(duel.finished) == len(original.finished)
    duel2 = recovered(root)[1].tables["t2"]
    for i in range(FINISHED_HANDS):
        duel2.finished.append(orjson.dumps({"number": 1000 + i}))
    assert len(duel2.finished) == FINISHED_HANDS and duel2.finished[0] == b'{"number":1000}'
    assert duel2.finished.copy() == duel2.finished and type(duel2.finished.copy()) is not LazyDeque
    chat = recovered(root)[1].tables["t1"].chat
    chat.append({"name": "bob", "text": "last"})
    assert len(chat) == CHAT_LINES and chat[-1]["text"] == "last"


def test_lazy_member_is_one_json_object_cut_per_line_without_parsing():
    root = played_root(hands=2)
    raw = lazy_image(root)
    assert orjson.loads(raw) == {f"{tid}/{name}": (finished_hands(r) if name == "finished"
                                                   else list(r.chat) if name == "chat"
                                                   else r.hand_start)
                                 for tid, r in root.tables.items()
                                 for name in ("finished", "chat", "hand_start")}
    assert {f"{t}/{n}": orjson.loads(p) for t, parts in split_lazy(raw).items()
            for n, p in parts.items()} == orjson.loads(raw)
    odd = b'{\n"t\\"x/chat":[1],\n"t2/finished":[]\n}'       # an id a line cut cannot trust
    assert split_lazy(odd) == {'t"x': {"chat": b"[1]"}, "t2": {"finished": b"[]"}}
    assert split_lazy(lazy_image(new_root())) == {}


def test_a_running_hands_start_stays_raw_after_a_start_and_is_recorded_as_it_was():
    """Format 5: a start parses no table's hand start (a tenth of a 10,000-table start);
    the hand that ends after it is recorded with the start it began with."""
    root = played_root()
    data, back = recovered(root)
    assert all("hand_start" not in t for t in orjson.loads(orjson.dumps(
        root_image(back)))["tables"].values())                 # not in the body
    for room in back.tables.values():
        assert type(room.hand_start) is orjson.Fragment        # kept raw
    assert lazy_image(back) == data["lazy"]                    # written back as it was
    assert root_to_json(back) == root_to_json(root)
    rng = random.Random(9)
    for tid, room in back.tables.items():
        original = root.tables[tid]
        for r in (room, original):                             # the same actions at both
            rr = random.Random(tid)
            while r.game.hand_running:
                legal = legal_actions(r.game)
                choice = rr.choice([a for a in legal.actions if a not in ("bet", "raise")])
                play.step(root if r is original else back, r, ACTION_TYPES[choice](legal.seat),
                          NOW)
        assert finished_hands(room)[-1] == finished_hands(original)[-1]
        deal(back, room, rng)
        if room.game.hand_running:
            assert type(room.hand_start) is dict               # a new hand: a new start


def test_an_image_of_format_4_still_loads_with_its_hand_starts_in_the_body():
    root = played_root(hands=2)
    body = orjson.loads(orjson.dumps(root_image(root)))
    body["format"] = 4
    for tid, t in body["tables"].items():
        t["hand_start"] = root.tables[tid].hand_start
    parts = [p for p in lazy_parts(root) if p[1] != "hand_start"]
    body["lazy"] = join_lazy(parts)
    back = root_from_json(orjson.loads(orjson.dumps({**body, "lazy": None})) | {
        "lazy": body["lazy"]})
    assert root_to_json(back) == root_to_json(root)
