"""Benchmark game.evaluator.evaluate_omaha: is it fast enough for bots' Monte Carlo?

    .venv/bin/python bench/omaha.py [--n 50000] [--seed 1] [--repeat 3]

On the same random deals (four hole cards, five board cards) it times:

* ``omaha``: ours, ``evaluate_omaha(hole, board)`` (60 five-card hands each);
* ``holdem``: our hold'em ``evaluate`` of the first two hole cards and the board,
  the cost a hold'em bot pays per player per Monte Carlo trial;
* ``phevaluator``: its ``evaluate_omaha_cards`` (C code), if installed
  (``.venv/bin/pip install -e '.[bench]'``), on card ids made before the clock starts.

The best of ``--repeat`` runs counts; runs alternate. Then phevaluator's ranks
(lower is better) must order our values the same way: exit status 1 if not.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from itertools import starmap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from game.cards import DECK  # noqa: E402
from game.evaluator import evaluate, evaluate_omaha  # noqa: E402

try:
    from phevaluator import Card, evaluate_omaha_cards
except ImportError:  # not in the test extra: only the bench extra has it
    evaluate_omaha_cards = None


def deals(n: int, seed: int) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        cards = rng.sample(DECK, 9)
        out.append((tuple(cards[:4]), tuple(cards[4:])))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    hands = deals(args.n, args.seed)
    holdem = [hole[:2] + board for hole, board in hands]
    runs = {"omaha": lambda: list(starmap(evaluate_omaha, hands)),
            "holdem": lambda: list(map(evaluate, holdem))}
    if evaluate_omaha_cards is not None:
        ids = [tuple(int(Card(c)) for c in board + hole) for hole, board in hands]
        runs["phevaluator"] = lambda: list(starmap(evaluate_omaha_cards, ids))
    best = {name: (float("inf"), None) for name in runs}
    for _ in range(args.repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            result = run()
            elapsed = time.perf_counter() - start
            if elapsed < best[name][0]:
                best[name] = (elapsed, result)
    for name, (seconds, _) in best.items():
        print(f"{name:12} {seconds / args.n * 1e6:8.2f} us/hand  "
              f"{args.n / seconds:12,.0f} hands/s")
    if evaluate_omaha_cards is None:
        print("phevaluator not installed: pip install -e '.[bench]'")
        return 0
    ours, theirs = best["omaha"][1], best["phevaluator"][1]
    order = sorted(range(args.n), key=ours.__getitem__)
    bad = sum(1 for a, b in zip(order, order[1:])
              if (ours[a] == ours[b]) != (theirs[a] == theirs[b])
              or (ours[a] < ours[b] and theirs[a] <= theirs[b]))
    print(f"disagreements with phevaluator: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
