"""Bot clients: strategies, a bot per greenlet, crowds of them, chaos.

    python -m client.bots --url ws://127.0.0.1:8080/ws --bots 200 --tables 40 --duration 60
    python -m client.bots --join t1 --bots 3          # play against bots in the browser

See ``python -m client.bots --help`` and docs/benchmarks.md ("Load").
"""

from client.bots.run import BotGroup, create_tables, run_bots, spawn_bots
from client.bots.stats import Stats, format_report
from client.bots.strategies import (
    STRATEGIES, BotState, calling_station, random_play, tight_aggressive)

__all__ = [
    "BotGroup", "BotState", "STRATEGIES", "Stats", "calling_station", "create_tables",
    "format_report", "random_play", "run_bots", "spawn_bots", "tight_aggressive",
]
