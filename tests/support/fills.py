"""Generate generic-format fills for tests (deterministic, balanced round trips)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path


def write_fills(path: Path, round_trips: int, seed: int = 7) -> int:
    """Write `round_trips` buy/sell pairs over 50 symbols; returns the number of rows."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    lines = ["datetime,symbol,side,quantity,price,fees,execution id"]
    for i in range(round_trips):
        symbol = f"SYM{i % 50}"
        when = start + timedelta(minutes=i)
        price = 50 + rng.random() * 100
        qty = rng.randint(1, 500)
        exit_price = price * (1 + rng.gauss(0, 0.01))
        lines.append(f"{when.isoformat()},{symbol},buy,{qty},{price:.4f},1.00,E{i}a")
        lines.append(
            f"{(when + timedelta(seconds=30)).isoformat()},{symbol},sell,{qty},"
            f"{exit_price:.4f},1.00,E{i}b"
        )
    path.write_text("\n".join(lines) + "\n")
    return 2 * round_trips
