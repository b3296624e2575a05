"""One tactical detection cycle on random en-route traffic: the engine vs brute force (and BlueSky).

    .venv/bin/python bench/bench_tactical.py [--sizes 5000 10000 100000] [--brute-max 100000] [--bluesky]

Traffic at one aircraft per 100 km^2 (the square grows with N), altitudes 300-12,000 m, speeds
50-300 m/s, random headings, climb rates within +-15 m/s; rules 5 NM / 1,000 ft / 300 s. The
brute-force reference tests every pair with the same exact formula, in chunks so that it fits
in memory; the engine must report exactly its pairs. With --bluesky, BlueSky's state-based
detection (``bluesky-simulator``, numpy variant) runs on the same states where it fits in memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from deconline.core.tactical import EARTH_RADIUS_M, TacticalRules, Tracks, detect, extrapolate, pair_conflicts

OUT = Path(__file__).parent / "out"
RULES = TacticalRules(h_m=5 * 1852.0, v_m=1000 * 0.3048, lookahead_s=300.0, max_track_age_s=20.0)
T0 = 1_700_000_000.0


def random_traffic(n: int, seed: int = 1, lat0: float = 45.0, lon0: float = 10.0) -> Tracks:
    rng = np.random.default_rng(seed)
    side = math.sqrt(n * 100.0) * 1000.0  # metres
    y = rng.uniform(-side / 2, side / 2, n)
    lat = lat0 + np.degrees(y / EARTH_RADIUS_M)
    x = rng.uniform(-side / 2, side / 2, n)
    lon = lon0 + np.degrees(x / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
    return Tracks(
        lat=lat,
        lon=lon,
        alt_m=rng.uniform(300.0, 12_000.0, n),
        gs_mps=rng.uniform(50.0, 300.0, n),
        track_deg=rng.uniform(0.0, 360.0, n),
        vrate_mps=rng.uniform(-15.0, 15.0, n),
        time_s=np.full(n, T0),
        owner=np.arange(n, dtype=np.int64),
    )


def brute_force_pairs(tracks: Tracks, chunk_pairs: int = 20_000_000) -> set[tuple[int, int]]:
    """Every pair, the exact formula, rows in chunks of about ``chunk_pairs`` pairs."""
    s = extrapolate(tracks, T0, RULES.max_track_age_s)
    n = len(s.lat)
    found: set[tuple[int, int]] = set()
    start = 0
    while start < n - 1:
        rows = max(1, chunk_pairs // max(1, n - start))
        stop = min(n - 1, start + rows)
        i_parts, j_parts = [], []
        for i in range(start, stop):
            j = np.arange(i + 1, n, dtype=np.int64)
            i_parts.append(np.full(len(j), i, dtype=np.int64))
            j_parts.append(j)
        i_all, j_all = np.concatenate(i_parts), np.concatenate(j_parts)
        result = pair_conflicts(s, i_all, j_all, RULES)
        found.update(zip(s.index[result.a].tolist(), s.index[result.b].tolist(), strict=True))
        start = stop
        print(f"\r  brute force: {start:,}/{n:,} rows", end="", file=sys.stderr)
    print(file=sys.stderr)
    return found


def time_engine(tracks: Tracks, repeats: int = 3) -> tuple[float, int, set[tuple[int, int]]]:
    best = math.inf
    found = None
    for _ in range(repeats):
        gc.collect()
        began = time.perf_counter()
        found = detect(tracks, T0, RULES)
        best = min(best, time.perf_counter() - began)
    assert found is not None
    gc.collect()
    tracemalloc.start()
    detect(tracks, T0, RULES)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak, set(zip(found.a.tolist(), found.b.tolist(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 10_000, 100_000])
    parser.add_argument("--brute-max", type=int, default=100_000, help="largest N checked against brute force")
    parser.add_argument("--bluesky", action="store_true", help="also run BlueSky's detection (N <= 5,000)")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        print(f"N = {n:,}", file=sys.stderr)
        tracks = random_traffic(n)
        engine_s, peak, pairs = time_engine(tracks)
        row: dict[str, object] = {"n": n, "engine_s": round(engine_s, 3), "engine_peak_mb": round(peak / 1e6, 1)}
        row["pairs"] = len(pairs)
        if n <= args.brute_max:
            began = time.perf_counter()
            reference = brute_force_pairs(tracks)
            row["brute_s"] = round(time.perf_counter() - began, 2)
            row["same_pairs_as_brute"] = reference == pairs
            row["ratio_brute"] = round(float(row["brute_s"]) / engine_s, 1)  # type: ignore[arg-type]
            if reference != pairs:
                print(f"  MISMATCH: {len(reference ^ pairs)} pairs differ", file=sys.stderr)
        if args.bluesky and n <= 5_000:
            from bench.bluesky_cd import bluesky_pairs

            began = time.perf_counter()
            bs_pairs, bs_s, bs_peak = bluesky_pairs(tracks, RULES, T0)
            row["bluesky_s"] = round(bs_s, 3)
            row["bluesky_peak_mb"] = round(bs_peak / 1e6, 1)
            row["same_pairs_as_bluesky"] = bs_pairs == pairs
            row["ratio_bluesky"] = round(bs_s / engine_s, 1)
            if bs_pairs != pairs:
                print(f"  BlueSky differs on {len(bs_pairs ^ pairs)} pairs", file=sys.stderr)
        rows.append(row)
        print(f"  {row}", file=sys.stderr)
    OUT.mkdir(exist_ok=True)
    (OUT / "tactical.json").write_text(json.dumps(rows, indent=2))
    print("| N | engine | peak memory | pairs | brute force | ratio | same pairs | BlueSky | ratio | same pairs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['engine_s']} s | {r['engine_peak_mb']} MB | {r['pairs']} | {r.get('brute_s', '-')} s "
            f"| {r.get('ratio_brute', '-')}x | {r.get('same_pairs_as_brute', '-')} | {r.get('bluesky_s', '-')} s "
            f"| {r.get('ratio_bluesky', '-')}x | {r.get('same_pairs_as_bluesky', '-')} |"
        )


if __name__ == "__main__":
    main()
