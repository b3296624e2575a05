"""Strategic check of one new volume against N accepted ones: the index against a naive scan.

    .venv/bin/python bench/bench_strategic.py [--n 100000] [--queries 2000] [--naive-queries 20] [--seed 1]

N volumes spread uniformly over 1,000 km x 1,000 km centred on 50N 10E and over 24 h; footprints
2-10 km across (60 % boxes, 20 % irregular hexagons, 20 % circles), windows 0.5-3 h, bands
100-1,000 m thick between 0 and 12 km, 50 owners; rules 5 NM / 300 m / 10 min. The population is
not deconflicted first (that only makes hits more common). Each query is a new volume of a
random owner, whose own volumes are excluded.

The naive scan applies the exact predicate (``volumes_conflict``) to every volume in turn, with
no vectorised pre-filter; at 100,000 volumes that takes a few hundred ms per query, so it is
timed on the first ``--naive-queries`` queries only. Both must give the same answers on those.
Results: a Markdown table on stdout, JSON in bench/out/strategic.json, progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import Point, Polygon

from deconline.core.strategic import StrategicIndex, StrategicRules, volumes_conflict
from deconline.core.volumes import Volume

OUT = Path(__file__).parent / "out"
RULES = StrategicRules(h_m=9260.0, v_m=300.0, time_buffer_s=600.0)
CENTRE_LON, CENTRE_LAT = 10.0, 50.0
HALF_SIDE_M = 500_000.0
OWNERS = 50


def random_volume(rng: random.Random) -> Volume:
    """A volume a few km across somewhere in the 1,000 km square, some time in the day."""
    lat = CENTRE_LAT + rng.uniform(-HALF_SIDE_M, HALF_SIDE_M) / 111_200.0
    metres_per_deg_lon = 111_320.0 * math.cos(math.radians(lat))
    lon = CENTRE_LON + rng.uniform(-HALF_SIDE_M, HALF_SIDE_M) / metres_per_deg_lon
    lower = rng.uniform(0.0, 11_000.0)
    band = (lower, lower + rng.uniform(100.0, 1000.0))
    start = rng.uniform(0.0, 24 * 3600.0)
    window = (start, start + rng.uniform(1800.0, 3 * 3600.0))
    half_m = rng.uniform(1000.0, 5000.0)
    kind = rng.random()
    if kind < 0.2:
        return Volume(Point(lon, lat), half_m, *band, *window)
    if kind < 0.4:  # an irregular convex hexagon
        angles = sorted(rng.uniform(0.0, 2 * math.pi) for _ in range(6))
        radii = [half_m * rng.uniform(0.6, 1.0) for _ in angles]
        ring = [
            (lon + r * math.cos(a) / metres_per_deg_lon, lat + r * math.sin(a) / 111_200.0)
            for a, r in zip(angles, radii, strict=True)
        ]
        return Volume(shapely.convex_hull(Polygon(ring)), 0.0, *band, *window)
    dlat, dlon = half_m / 111_200.0, half_m / metres_per_deg_lon
    ring = [(lon - dlon, lat - dlat), (lon + dlon, lat - dlat), (lon + dlon, lat + dlat), (lon - dlon, lat + dlat)]
    return Volume(Polygon(ring), 0.0, *band, *window)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q * 100.0))


def summary(ms: Sequence[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(ms), 4),
        "p99": round(percentile(ms, 0.99), 4),
        "mean": round(statistics.fmean(ms), 4),
        "max": round(max(ms), 4),
    }


def naive(population: Sequence[tuple[Hashable, Volume, str]], query: Volume, owner: str) -> set[Hashable]:
    """Every volume, the exact predicate, nothing pruned."""
    return {key for key, volume, other in population if other != owner and volumes_conflict(query, volume, RULES)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="accepted volumes in the index")
    parser.add_argument("--queries", type=int, default=2000, help="queries timed on the index")
    parser.add_argument("--naive-queries", type=int, default=20, help="of those, queries also timed naively")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    print(f"generating {args.n:,} volumes and {args.queries:,} queries…", file=sys.stderr)
    population = [(i, random_volume(rng), f"p{rng.randrange(OWNERS)}") for i in range(args.n)]
    queries = [(random_volume(rng), f"p{rng.randrange(OWNERS)}") for _ in range(args.queries)]

    print("building the index…", file=sys.stderr)
    began = time.perf_counter()
    index = StrategicIndex()
    for key, volume, owner in population:
        index.add(key, volume, owner)
    add_s = time.perf_counter() - began
    index.conflicts(queries[0][0], RULES)  # the first query builds the tree
    build_s = time.perf_counter() - began

    print(f"indexed: {args.queries:,} queries…", file=sys.stderr)
    indexed_ms: list[float] = []
    answers: list[set[Hashable]] = []
    for query, owner in queries:
        t = time.perf_counter_ns()
        hits = index.conflicts(query, RULES, exclude_owners=(owner,))
        indexed_ms.append((time.perf_counter_ns() - t) / 1e6)
        answers.append({h.key for h in hits})

    naive_count = min(args.naive_queries, args.queries)
    naive_ms: list[float] = []
    for i, (query, owner) in enumerate(queries[:naive_count]):
        print(f"naive: query {i + 1}/{naive_count} over all {args.n:,} volumes…", file=sys.stderr)
        t = time.perf_counter_ns()
        expected = naive(population, query, owner)
        naive_ms.append((time.perf_counter_ns() - t) / 1e6)
        if expected != answers[i]:
            raise SystemExit(f"query {i}: the index and the naive scan disagree on {sorted(answers[i] ^ expected)}")

    indexed, slow = summary(indexed_ms), summary(naive_ms)
    result: dict[str, Any] = {
        "n": args.n,
        "seed": args.seed,
        "rules": {"h_m": RULES.h_m, "v_m": RULES.v_m, "time_buffer_s": RULES.time_buffer_s},
        "add_s": round(add_s, 3),
        "build_s": round(build_s, 3),
        "indexed": {"queries": args.queries, **indexed},
        "naive": {"queries": naive_count, **slow},
        "indexed_on_naive_queries_ms": summary(indexed_ms[:naive_count]),
        "ratio_median": round(slow["median"] / indexed["median"], 1),
        "ratio_mean": round(slow["mean"] / indexed["mean"], 1),
        "mean_hits_per_query": round(statistics.fmean(len(a) for a in answers), 3),
        "agree_on_naive_queries": True,
        "environment": {
            "python": platform.python_version(),
            "shapely": shapely.__version__,
            "geos": shapely.geos_version_string,
            "pyproj": pyproj.__version__,
            "proj": pyproj.proj_version_str,
            "numpy": np.__version__,
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "strategic.json").write_text(json.dumps(result, indent=2) + "\n")

    print(f"| strategic check, N = {args.n:,} | queries | median ms | p99 ms | mean ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(
        f"| indexed (STRtree + numpy) | {args.queries:,} | {indexed['median']:.3f} | {indexed['p99']:.3f} | "
        f"{indexed['mean']:.3f} |"
    )
    print(
        f"| naive scan (exact predicate on every volume) | {naive_count} | {slow['median']:.1f} | {slow['p99']:.1f} | "
        f"{slow['mean']:.1f} |"
    )
    print()
    print(
        f"naive / indexed: {result['ratio_median']:,}x at the median, {result['ratio_mean']:,}x on the mean; "
        f"the answers agree on the {naive_count} queries timed both ways (the naive scan is too slow for all "
        f"{args.queries:,})."
    )
    print(
        f"index: {add_s:.2f} s to add {args.n:,} volumes, {build_s:.2f} s with the tree; "
        f"{result['mean_hits_per_query']} conflicts per query on average."
    )


if __name__ == "__main__":
    main()
