"""What a seeding run will create, decided up front, and the cases built from it chunk by chunk.

Each chunk of cases draws from its own random generator, seeded with the run's seed and the chunk's first
index. So a chunk is the same whether it is built first or last, here or in another process, and the
PostgreSQL loader can build chunks in parallel without changing the data.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from random import Random

from .generator import CaseFactory
from .records import DAY, HOUR, MINUTE, CaseBundle

FIRST_TICKET_ID = 1000
RECENT_SHARE = 0.15  # share of cases created in the last 24 hours (the rest spread over --days)
ZERO_ALERT_SHARE = 0.05
CHUNK_CASES = 1000  # cases built and written together; bounds memory at any --cases


@dataclass
class SeedPlan:
    seed: int
    factory: CaseFactory
    created_ms: list[int]  # per case, oldest first
    alert_counts: list[int]  # per case

    @property
    def cases(self) -> int:
        return len(self.created_ms)

    def chunks(self) -> list[tuple[int, int]]:
        return [(start, min(self.cases, start + CHUNK_CASES)) for start in range(0, self.cases, CHUNK_CASES)]

    def build(self, start: int, stop: int) -> list[CaseBundle]:
        self.factory.rng = Random(f"{self.seed}/{start}")
        with gc_paused():
            return [
                self.factory.build(
                    ticket_id=FIRST_TICKET_ID + i, created_ms=self.created_ms[i], size=self.alert_counts[i]
                )
                for i in range(start, stop)
            ]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector. A chunk of cases is hundreds of thousands of small dicts and
    lists, and the collector would walk all of them again every few thousand allocations, for nothing:
    the records hold no reference cycles (reference counting frees them). Building takes a third less."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def plan_creation_times(rng: Random, *, cases: int, days: int, now_ms: int) -> list[int]:
    """Creation times, oldest first (so ticket ids grow with time). A fixed share falls in the last
    24 hours (at least a minute and at most 23 hours ago, so it stays "last 24 hours" for a while)."""
    recent = cases if days == 1 else math.ceil(cases * RECENT_SHARE)
    offsets = [rng.randint(MINUTE, 23 * HOUR) for _ in range(recent)]
    offsets += [rng.randint(DAY, days * DAY) for _ in range(cases - recent)]
    offsets.sort(reverse=True)
    return [now_ms - o for o in offsets]


def plan_alert_counts(rng: Random, *, cases: int, alerts_per_case: int) -> list[int]:
    """Alerts per case: a few cases have none, most a handful, some up to 3x the mean; the total is
    exactly cases * alerts_per_case."""
    mean = alerts_per_case
    if mean == 0 or cases == 0:
        return [0] * cases
    cap = 3 * mean
    nonzero_mean = mean / (1 - ZERO_ALERT_SHARE)
    sizes = [
        0 if rng.random() < ZERO_ALERT_SHARE else min(cap, 1 + int(rng.expovariate(1 / max(nonzero_mean - 1, 0.1))))
        for _ in range(cases)
    ]
    diff = cases * mean - sum(sizes)
    step = 1 if diff > 0 else -1
    while diff:
        i = rng.randrange(cases)
        if 1 <= sizes[i] + step <= cap and sizes[i] != 0:
            sizes[i] += step
            diff -= step
        elif diff > 0 and sizes[i] == 0 and rng.random() < 0.01:
            # Only a fully zero plan (tiny --cases) needs to revive an empty case.
            sizes[i] = 1
            diff -= 1
    return sizes
