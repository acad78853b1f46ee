"""Benchmark game.evaluator against treys on the same random 7-card hands.

    .venv/bin/python bench/evaluator.py [--n 200000] [--seed 1] [--repeat 3]

Each evaluator gets the hands in its own input form, converted before the
clock starts (ours: tuples of card strings; treys: lists of ``Card.new`` ints,
board of 5 and hand of 2), and both are driven the same way, by ``map``.
The best of ``--repeat`` runs counts; the runs alternate between the two.
The results of the timed runs are then checked against each other: both
evaluators must order every hand the same way (treys: lower is better) and
agree on its category.  Exit status 1 on any disagreement.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_t0 = time.perf_counter()
from game import evaluator as ours  # noqa: E402  (timed: it builds its tables)
IMPORT_SECONDS = time.perf_counter() - _t0

import treys  # noqa: E402
from game.cards import DECK  # noqa: E402


def best_times(runs: dict, repeat: int) -> dict:
    """Fastest of ``repeat`` timed calls of each ``runs[name]()``, and its result.

    The runs take turns (ours, treys, ours, ...), so that a slow spell on a
    shared machine hurts both rather than whichever was running at the time.
    """
    best = {name: (float("inf"), None) for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            result = run()
            elapsed = time.perf_counter() - start
            if elapsed < best[name][0]:
                best[name] = (elapsed, result)
    return best


def disagreements(our_values, treys_values) -> int:
    """Adjacent pairs, in our order, on which treys disagrees (ties included).

    Sorted by our value, treys' values must be constant within a tie and
    strictly decrease between ties; checking neighbours covers every pair.
    """
    pairs = sorted(zip(our_values, treys_values))
    bad = 0
    for (o1, t1), (o2, t2) in zip(pairs, pairs[1:]):
        if (o1 == o2 and t1 != t2) or (o1 < o2 and not t1 > t2):
            bad += 1
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="number of 7-card hands")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per evaluator; best counts")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    hands = [tuple(rng.sample(DECK, 7)) for _ in range(args.n)]
    boards = [[treys.Card.new(c) for c in hand[:5]] for hand in hands]
    holes = [[treys.Card.new(c) for c in hand[5:]] for hand in hands]

    evaluate, reference = ours.evaluate, treys.Evaluator()
    best = best_times({
        "ours": lambda: list(map(evaluate, hands)),
        "treys": lambda: list(map(reference.evaluate, boards, holes)),
    }, args.repeat)
    (t_ours, our_values), (t_treys, treys_values) = best["ours"], best["treys"]

    bad_order = disagreements(our_values, treys_values)
    treys_names = {"royal flush": "straight flush"}
    bad_category = 0
    for ov, tv in zip(our_values, treys_values):
        name = reference.class_to_string(reference.get_rank_class(tv)).lower()
        if ours.category(ov).lower() != treys_names.get(name, name):
            bad_category += 1

    rate_ours, rate_treys = args.n / t_ours, args.n / t_treys
    print(f"{args.n:,} random 7-card hands, seed {args.seed}, best of {args.repeat}")
    print(f"ours: {rate_ours:,.0f} evals/s   treys: {rate_treys:,.0f} evals/s   "
          f"ratio: {rate_ours / rate_treys:.1f}x")
    print(f"import of game.evaluator (table build): {IMPORT_SECONDS * 1000:.0f} ms")
    print(f"disagreements: order {bad_order}, category {bad_category} "
          f"({len(set(our_values)):,} distinct values)")
    return 1 if bad_order or bad_category else 0


if __name__ == "__main__":
    sys.exit(main())
