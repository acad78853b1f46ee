"""Open a snapshot and see what happened: ``python -m persistence.replay SNAPSHOT_OR_DIR``.

A developer's tool for "the pot was wrong": it reads a snapshot image (or the
newest readable one in a folder) and

- with no options prints a summary (time, sequence, tables, players, hands in
  progress, chip totals and whether they add up);
- ``--table ID`` draws that table in the terminal (seats, stacks, cards,
  pots, whose turn, the legal actions);
- ``--table ID --steps`` replays the table's current hand from its stored
  start through the pure rules, one action at a time, with the state after
  each (press Enter between steps on a terminal);
- ``--verify`` replays every table's current hand and checks it reaches
  exactly the stored state, reporting any difference (exit code 1);
- ``--phh OUT`` writes every table's kept finished hands as PHH files
  (``OUT/<table>-<hand>.phh``, all hole cards: for the developer);
- ``--journal`` (with a folder) also applies the journal written after the
  image, listing each entry (with ``--steps``: the table after each).

Snapshots hold hole cards and decks: the pictures show hole cards (needed to
debug a showdown) but never the order of the undealt deck nor session tokens.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from typing import Iterator

from game.table import (Table, action_from_json, apply, legal_actions, pots, street_of,
                        table_from_json, table_to_json)
from persistence import image, restore


# ---------------------------------------------------------------------------
# Loading


def load(path: str) -> tuple[dict, dict, str]:
    """``(header, root data, file path)`` of an image file or of the newest good one in a folder.

    Damaged images are never shown: a folder falls back to an older generation. The
    data is as ``root_to_json`` gives it (finished hands inside their tables).
    """
    from persistence.layout import with_lazy
    if not os.path.exists(path):
        raise SystemExit(f"{path}: no such file or folder")
    if os.path.isdir(path):
        loaded, rejected = restore.load_newest(path)
        for name, why in rejected:
            print(f"note: skipped {name}: {why}", file=sys.stderr)
        if loaded is None:
            raise SystemExit(f"{path}: no readable snapshot")
        return loaded.header, with_lazy(loaded.data), loaded.path
    with open(path, "rb") as f:
        raw = f.read()
    try:
        header, data = image.decode(raw)
    except image.BadImage as e:
        raise SystemExit(f"{path}: {e}") from None
    return header, with_lazy(data), path


# ---------------------------------------------------------------------------
# Pictures


def _when(header: dict) -> str:
    t = header.get("time")
    if not isinstance(t, (int, float)):
        return "?"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat(timespec="seconds")


def chip_totals(data: dict) -> dict:
    """Bankrolls, stacks, pots and chips issued of a root (JSON form)."""
    bankrolls = sum(p["bankroll"] for p in data["players"].values())
    stacks = in_pots = 0
    for room in data["tables"].values():
        game = room["game"]
        # (fields at their defaults are left out: see game.table.table_to_json)
        running = game["hand"] is not None and street_of(game["hand"]) != "complete"
        for s in game["seats"]:
            if s:
                stacks += s["stack"]
                in_pots += s.get("total", 0) if running else 0
    return {"bankrolls": bankrolls, "stacks": stacks, "pots": in_pots,
            "issued": data["chips_issued"]}


def summary(header: dict, data: dict) -> str:
    """The one-screen overview of a snapshot."""
    from persistence.layout import check_root
    lines = [f"snapshot seq {header.get('seq')} written {_when(header)}",
             f"{len(data['tables'])} tables, {len(data['players'])} players"]
    running = 0
    for tid, room in data["tables"].items():
        game = room["game"]
        hand = game["hand"]
        seated = sum(1 for s in game["seats"] if s)
        state = "no hand yet"
        if hand is not None:
            street = street_of(hand)
            state = f"hand #{hand['number']} {street}"
            running += street != "complete"
        lines.append(f"  {tid:<6} {room['name']!r:<24} {seated}/{len(game['seats'])} seated, "
                     f"{state}, v={room['v']}, {len(room['finished'])} finished hands kept")
    c = chip_totals(data)
    total = c["bankrolls"] + c["stacks"] + c["pots"]
    lines.append(f"hands in progress: {running}")
    lines.append(f"chips: bankrolls {c['bankrolls']} + stacks {c['stacks']} + pots {c['pots']}"
                 f" = {total}; issued {c['issued']} "
                 f"({'add up' if total == c['issued'] else 'DO NOT ADD UP'})")
    problems = check_root(data, replay=True)
    lines += [f"problem: {p}" for p in problems] or ["invariants: ok"]
    return "\n".join(lines)


def picture(table: Table, names: dict[str, str] | None = None, title: str = "") -> str:
    """A table drawn as text: the board, the pots, one line per seat, who acts and how."""
    names = names or {}
    hand = table.hand
    out = []
    head = f"{title}  blinds {table.small_blind}/{table.big_blind}"
    if table.ante:
        head += f" ante {table.ante}"
    if hand is not None:
        head += f"  hand #{hand.number} {hand.street}"
    out.append(head.strip())
    if hand is not None:
        out.append(f"board: {' '.join(hand.board) or '-'}   "
                   f"({len(hand.deck)} cards left in the deck)")
        pot_text = ", ".join(f"{p.amount} (seats {','.join(map(str, p.eligible))})"
                             for p in pots(table))
        out.append(f"pots: {pot_text or '-'}   bet to match: {hand.current_bet}")
    out.append(f"  {'seat':<5} {'player':<20} {'stack':>7} {'bet':>6} {'in pot':>7}  cards  state")
    for i, s in enumerate(table.seats):
        if s is None:
            continue
        marks = ""
        if hand is not None:
            marks += "D" if i == hand.button else " "
            marks += {hand.small_blind_seat: "s", hand.big_blind_seat: "b"}.get(i, " ")
        state = []
        for flag in ("folded", "all_in", "sitting_out", "waiting", "leaving", "shown", "mucked"):
            if getattr(s, flag):
                state.append(flag.replace("_", " "))
        if hand is not None and hand.to_act == i:
            state.insert(0, "TO ACT")
        name = names.get(s.player, "")
        who = f"{name} ({s.player})" if name else s.player
        cards = " ".join(s.cards) if s.cards else "-"
        arrow = ">" if hand is not None and hand.to_act == i else " "
        out.append(f"{arrow} {i:<2} {marks:<2} {who:<20} {s.stack:>7} {s.bet:>6} {s.total:>7}  "
                   f"{cards:<5}  {', '.join(state)}")
    legal = legal_actions(table)
    if legal is not None:
        options = []
        for a in legal.actions:
            if a == "call":
                options.append(f"call {legal.call}")
            elif a in ("bet", "raise"):
                options.append(f"{a} {legal.min_to}..{legal.max_to}")
            else:
                options.append(a)
        out.append(f"seat {legal.seat} may: {', '.join(options)}")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Replaying a hand through the pure rules


def hand_steps(room: dict) -> Iterator[tuple[dict, Table, list[dict]]]:
    """Replay a table's current hand from its stored start: ``(action, table after, events)``."""
    if room.get("hand_start") is None:
        return
    table = table_from_json(room["hand_start"])
    for action in room["hand_actions"]:
        table, events = apply(table, action_from_json(action))
        yield action, table, events


def _diff(a, b, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += _diff(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: replayed {a!r}, stored {b!r}"]


def verify(data: dict) -> dict[str, list[str]]:
    """Per table, the differences between its replayed current hand and the stored state."""
    report = {}
    for tid, room in data["tables"].items():
        if room.get("hand_start") is None:
            continue
        try:
            done, table = 0, table_from_json(room["hand_start"])
            try:
                for done, (_, table, _) in enumerate(hand_steps(room), 1):
                    pass
            except ValueError as e:
                action = room["hand_actions"][done]
                raise ValueError(f"action #{done} {action}: the rules reject it: {e}") from None
            report[tid] = _diff(table_to_json(table), room["game"])
        except (ValueError, KeyError, TypeError) as e:
            report[tid] = [str(e)]
    return report


def _describe(action: dict) -> str:
    extra = {k: v for k, v in action.items() if k not in ("type", "deck")}
    text = action["type"] + "".join(f" {k}={v}" for k, v in extra.items())
    return text + (" (with a shuffled deck)" if "deck" in action else "")


def _wait(interactive: bool) -> None:
    if interactive:
        try:
            input("-- Enter for the next step --")
        except EOFError:
            pass


# ---------------------------------------------------------------------------
# The command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m persistence.replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="SNAPSHOT_OR_DIR")
    parser.add_argument("--table", help="draw this table (e.g. t1)")
    parser.add_argument("--steps", action="store_true",
                        help="with --table: replay its current hand one action at a time")
    parser.add_argument("--verify", action="store_true",
                        help="replay every current hand and compare with the stored state")
    parser.add_argument("--phh", metavar="OUT", help="write kept finished hands as PHH files")
    parser.add_argument("--journal", action="store_true",
                        help="with a folder: apply the journal entries after the image")
    args = parser.parse_args(argv)
    status = 0
    for path in args.paths:
        header, data, file = load(path)
        if len(args.paths) > 1:
            print(f"== {file}")
        if args.journal:
            data = apply_journal(path, header, data, args.table if args.steps else None)
        if args.table:
            room = data["tables"].get(args.table)
            if room is None:
                print(f"no table {args.table!r}; tables: {', '.join(data['tables'])}",
                      file=sys.stderr)
                status = 2
                continue
            names = {pid: p["name"] for pid, p in data["players"].items()}
            names.update(room.get("hand_names") or {})
            title = f"table {args.table} {room['name']!r} v={room['v']}"
            if args.steps:
                if room.get("hand_start") is None:
                    print("this table has no hand to replay")
                    continue
                interactive = sys.stdin.isatty() and sys.stdout.isatty()
                print(picture(table_from_json(room["hand_start"]), names, title + " (start)"))
                for n, (action, table, _events) in enumerate(hand_steps(room), 1):
                    _wait(interactive)
                    print(f"\n#{n} {_describe(action)}")
                    print(picture(table, names, title))
            else:
                print(picture(table_from_json(room["game"]), names, title))
        if args.verify:
            report = verify(data)
            for tid, diffs in report.items():
                if diffs:
                    status = 1
                    print(f"{tid}: DIFFERS")
                    for d in diffs[:20]:
                        print(f"  {d}")
                else:
                    print(f"{tid}: ok ({len(data['tables'][tid]['hand_actions'])} actions replayed)")
            if not report:
                print("no hands to verify")
        if args.phh:
            print(f"wrote {write_phh(data, args.phh)} hands to {args.phh}")
        if not (args.table or args.verify or args.phh):
            print(summary(header, data))
    return status


def write_phh(data: dict, out: str) -> int:
    """Write every table's kept finished hands as ``OUT/<table>-<hand>.phh``; return the count."""
    from server.lobby import finished_hand_phh
    os.makedirs(out, exist_ok=True)
    written = 0
    for tid, room in data["tables"].items():
        for record in room["finished"]:
            text = finished_hand_phh(record, tid, everything=True)
            with open(os.path.join(out, f"{tid}-{record['number']}.phh"), "w") as f:
                f.write(text)
            written += 1
    return written


def apply_journal(path: str, header: dict, data: dict, table: str | None) -> dict:
    """The root after the journal entries written after this image, listing each entry."""
    from persistence import segments
    from server import recovery
    from persistence.layout import root_from_json, root_to_json
    if not os.path.isdir(path):
        raise SystemExit("--journal needs the snapshot folder, not one image file")
    root = root_from_json(data)
    names = {pid: p.name for pid, p in root.players.items()}
    interactive = table is not None and sys.stdin.isatty() and sys.stdout.isatty()
    count = 0
    for segment in segments.entries_after(path, header["seq"]):
        print(f"journal {os.path.basename(segment.path)}: {len(segment.entries)} entries")
        for entry in segment.entries:
            count += 1
            print(f"  j{count} {_describe_entry(entry)}")
            try:
                recovery.apply_entry(root, entry)
            except Exception as e:  # noqa: BLE001 - show where the journal stops making sense
                print(f"  j{count} cannot be applied: {e!r}; the rest is ignored")
                return root_to_json(root)
            if table is not None and entry.get("t") == table and entry["k"] == "act":
                names.update({pid: p.name for pid, p in root.players.items()})
                print(picture(root.tables[table].game, names, f"table {table} after j{count}"))
                _wait(interactive)
        if segment.stopped:
            print(f"  ({segment.stopped})")
    return root_to_json(root)


def _describe_entry(entry: dict) -> str:
    kind = entry["k"]
    if kind == "act":
        return f"{entry['t']}: {_describe(entry['a'])}"
    if kind == "player":
        return f"new player {entry['id']} {entry['name']!r} with {entry['bankroll']}"
    if kind == "chat":
        return f"{entry['t']}: chat from {entry['name']!r}"
    if kind == "table":
        return f"new table {entry['id']} {entry['name']!r}"
    return repr(entry)


if __name__ == "__main__":
    sys.exit(main())
