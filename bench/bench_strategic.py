"""Strategic check of one new operation against N accepted ones: the index vs a naive scan.

    .venv/bin/python bench/bench_strategic.py [--n 100000] [--queries 2000] [--naive-queries 30]

N volumes spread over 1,000 km x 1,000 km (centred on 50N 10E) and 24 h; footprints 2-10 km
(boxes and circles), windows 0.5-3 h, bands 100-1,000 m thick between 0 and 12 km; rules
5 NM / 300 m / 10 min. The naive scan applies the exact predicate to every volume, so it is
measured on fewer queries; both answer the same queries and must agree.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

from shapely.geometry import Point, Polygon

from deconline.core.strategic import StrategicIndex, StrategicRules, volumes_conflict
from deconline.core.volumes import Volume

OUT = Path(__file__).parent / "out"
RULES = StrategicRules(h_m=9260.0, v_m=300.0, time_buffer_s=600.0)


def random_volume(rng: random.Random) -> Volume:
    lat = 45.5 + rng.uniform(0.0, 9.0)  # ~1,000 km north-south
    lon = 10.0 + rng.uniform(-7.0, 7.0) / math.cos(math.radians(50.0)) * 0.95  # ~1,000 km east-west
    half_km = rng.uniform(1.0, 5.0)
    start = rng.uniform(0.0, 24 * 3600.0)
    lower = rng.uniform(0.0, 11_000.0)
    band = (lower, lower + rng.uniform(100.0, 1000.0))
    window = (start, start + rng.uniform(1800.0, 3 * 3600.0))
    if rng.random() < 0.2:
        return Volume(Point(lon, lat), half_km * 1000.0, *band, *window)
    dlat = half_km / 111.32
    dlon = half_km / (111.32 * math.cos(math.radians(lat)))
    ring = [(lon - dlon, lat - dlat), (lon + dlon, lat - dlat), (lon + dlon, lat + dlat), (lon - dlon, lat + dlat)]
    return Volume(Polygon(ring), 0.0, *band, *window)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--naive-queries", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    print(f"building {args.n:,} volumes…", file=sys.stderr)
    population = [(i, random_volume(rng), f"p{i % 50}") for i in range(args.n)]
    queries = [random_volume(rng) for _ in range(args.queries)]
    began = time.perf_counter()
    index = StrategicIndex()
    for key, volume, owner in population:
        index.add(key, volume, owner)
    index.conflicts(queries[0], RULES)  # the first query builds the tree
    build_s = time.perf_counter() - began

    print(f"indexed: {args.queries:,} queries…", file=sys.stderr)
    indexed_ms, answers = [], []
    for q in queries:
        t = time.perf_counter()
        hits = index.conflicts(q, RULES, exclude_owners=("mine",))
        indexed_ms.append((time.perf_counter() - t) * 1000)
        answers.append({h.key for h in hits})

    print(f"naive: {args.naive_queries} queries over all {args.n:,} volumes…", file=sys.stderr)
    naive_ms = []
    for i, q in enumerate(queries[: args.naive_queries]):
        t = time.perf_counter()
        expected = {key for key, volume, _ in population if volumes_conflict(q, volume, RULES)}
        naive_ms.append((time.perf_counter() - t) * 1000)
        if expected != answers[i]:
            raise SystemExit(f"query {i}: index and naive scan disagree: {sorted(answers[i] ^ expected)}")

    result = {
        "n": args.n,
        "queries": args.queries,
        "build_s": round(build_s, 3),
        "indexed_ms": {
            "median": round(statistics.median(indexed_ms), 3),
            "p99": round(percentile(indexed_ms, 0.99), 3),
            "mean": round(statistics.fmean(indexed_ms), 3),
        },
        "naive_queries": args.naive_queries,
        "naive_ms": {"median": round(statistics.median(naive_ms), 1), "p99": round(percentile(naive_ms, 0.99), 1)},
        "mean_conflicts_per_query": round(statistics.fmean(len(a) for a in answers), 2),
        "agree": True,
    }
    result["speedup_median"] = round(result["naive_ms"]["median"] / result["indexed_ms"]["median"], 1)
    OUT.mkdir(exist_ok=True)
    (OUT / "strategic.json").write_text(json.dumps(result, indent=2))
    print(f"| strategic check, N = {args.n:,} | median ms | p99 ms | queries |")
    print("| --- | --- | --- | --- |")
    print(f"| indexed (STRtree) | {result['indexed_ms']['median']} | {result['indexed_ms']['p99']} | {args.queries} |")
    print(f"| naive scan | {result['naive_ms']['median']} | {result['naive_ms']['p99']} | {args.naive_queries} |")
    print(f"speed-up (median): {result['speedup_median']}x; answers agree on the {args.naive_queries} common queries")
    print(f"index build: {build_s:.2f} s; mean conflicts per query: {result['mean_conflicts_per_query']}")


if __name__ == "__main__":
    main()
