"""Coordinated resolution (``deconline.core.resolution``): time per warning against the traffic around it.

    .venv/bin/python bench/bench_resolution.py [--sizes 100,1000,10000] [--pairs 50] [--out FILE]

Random traffic over a square that keeps the density of 10,000 aircraft over 1,000 km x 1,000 km
(levels FL200 to FL390, level, 100 to 250 m/s, any track), seeded. Into it, ``--pairs`` encounters:
aircraft ``2k`` and ``2k + 1`` converging to a closest approach within the minima 40 to 200 s
ahead, at levels within 400 m. Each pair is resolved once (the evaluator resolves a warning when
it is first shown); the table gives the time per resolution and what came out. Writes
bench/out/resolution.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np

from deconline.core.guidance import BandRules
from deconline.core.resolution import resolve
from deconline.core.tactical import EARTH_RADIUS_M, Extrapolated

OUT = Path(__file__).parent / "out"
RULES = BandRules(h_m=9260.0, v_m=304.8, lookahead_s=300.0)
LAT0 = math.radians(56.0)


def picture(n: int, pairs: int, seed: int = 1) -> Extrapolated:
    rng = np.random.default_rng(seed)
    side = 1_000_000.0 * math.sqrt(n / 10_000)
    east, north = rng.uniform(0, side, n), rng.uniform(0, side, n)
    gs, heading = rng.uniform(100, 250, n), rng.uniform(0, 2 * math.pi, n)
    alt = rng.integers(200, 400, n).astype(np.float64) * 30.48
    vx, vy = gs * np.sin(heading), gs * np.cos(heading)
    for k in range(pairs):  # b placed where it meets a near the closest approach
        a, b = 2 * k, 2 * k + 1
        t_cpa, miss = rng.uniform(40, 200), rng.uniform(0, 8000)
        rel = np.array([vx[b] - vx[a], vy[b] - vy[a]])
        across = np.array([-rel[1], rel[0]]) / max(float(np.hypot(*rel)), 1e-9)
        east[b], north[b] = np.array([east[a], north[a]]) - rel * t_cpa + across * miss
        alt[b] = alt[a] + rng.uniform(-400, 400)
    return Extrapolated(
        index=np.arange(n, dtype=np.int64), lat=LAT0 + north / EARTH_RADIUS_M,
        lon=east / (EARTH_RADIUS_M * math.cos(LAT0)), alt_m=alt, vx=vx, vy=vy, vz=np.zeros(n),
        owner=np.arange(n, dtype=np.int64), t_cap=np.full(n, np.inf), reported_alt_m=alt,
    )  # fmt: skip


def run(n: int, pairs: int) -> dict[str, float | int]:
    s = picture(n, pairs)
    resolve(s, 0, 1, RULES)  # warm
    times, counts = [], {"resolved": 0, "recoveries": 0, "none": 0, "clear_of_others": 0}
    for k in range(pairs):
        start = time.perf_counter()
        r = resolve(s, 2 * k, 2 * k + 1, RULES)
        times.append((time.perf_counter() - start) * 1000)
        if r is None:
            counts["none"] += 1
            continue
        counts["recoveries" if r.recovery_s is not None else "resolved"] += 1
        counts["clear_of_others"] += r.clear_of_others
    times.sort()
    return {
        "aircraft": n, "pairs": pairs, "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2), **counts,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=OUT / "resolution.json")
    args = parser.parse_args()
    rows = [run(int(n), args.pairs) for n in args.sizes.split(",")]
    header = list(rows[0])
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for row in rows:
        print(" | ".join(str(row[h]) for h in header))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
