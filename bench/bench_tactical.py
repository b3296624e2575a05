"""One tactical detection cycle on random en-route traffic: the engine vs brute force (and BlueSky).

    .venv/bin/python bench/bench_tactical.py [--sizes 50 200 1000 5000 20000 100000] [--brute-max 100000]
        [--bluesky]

Traffic at one aircraft per 100 km^2 (the square grows with N), altitudes 300-12,000 m, speeds
50-300 m/s, random headings, climb rates within +-15 m/s; rules 5 NM / 1,000 ft / 300 s. The
brute-force reference tests every pair with the same exact formula, in chunks so that it fits
in memory; the engine must report exactly its pairs. With --bluesky, BlueSky's state-based
detection (``bluesky-simulator``, numpy variant) runs on the same states where it fits in memory.
Small N are timed as the best of many runs (one run is shorter than the machine's noise).
``--compare DIR`` times the engine of another checkout (e.g. a ``git worktree`` of an earlier
commit) on the same states in the same process, alternating run by run with ours.
Recordings and whole-process replays: bench/bench_replay.py.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import math
import os
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np

from deconline.core.agreement import Agreement
from deconline.core.tactical import (
    EARTH_RADIUS_M,
    VERTICAL_TOLERANCE_M,
    Conflicts,
    Extrapolated,
    TacticalRules,
    Thresholds,
    Tracks,
    detect,
    extrapolate,
)

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


def _block_hits(s: Extrapolated, r0: int, r1: int, rules: TacticalRules = RULES) -> list[tuple[int, int]]:
    """Rows r0..r1 against every later column, broadcast (no index arrays, no pruning)."""
    h, v, lookahead = rules.h_m, rules.v_m - VERTICAL_TOLERANCE_M, rules.lookahead_s
    rows, cols = slice(r0, r1), slice(r0, len(s.lat))
    lat_a, lat_b = s.lat[rows, None], s.lat[None, cols]
    dlon = np.remainder(s.lon[None, cols] - s.lon[rows, None] + math.pi, 2 * math.pi) - math.pi
    dx = EARTH_RADIUS_M * np.cos(0.5 * (lat_a + lat_b)) * dlon
    dy = EARTH_RADIUS_M * (lat_b - lat_a)
    dz = s.alt_m[None, cols] - s.alt_m[rows, None]
    dvx = s.vx[None, cols] - s.vx[rows, None]
    dvy = s.vy[None, cols] - s.vy[rows, None]
    dvz = s.vz[None, cols] - s.vz[rows, None]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        a = dvx * dvx + dvy * dvy
        b = 2.0 * (dx * dvx + dy * dvy)
        c = dx * dx + dy * dy - h * h
        disc = b * b - 4.0 * a * c
        root = np.sqrt(np.maximum(disc, 0.0))
        h_in = np.where(a > 0, (-b - root) / (2 * a), np.where(c < 0, -np.inf, np.inf))
        h_out = np.where(a > 0, (-b + root) / (2 * a), np.where(c < 0, np.inf, -np.inf))
        h_in = np.where((a > 0) & (disc <= 0), np.inf, h_in)
        t1, t2 = (-v - dz) / dvz, (v - dz) / dvz
        inside = np.abs(dz) < v
        v_in = np.where(dvz != 0, np.minimum(t1, t2), np.where(inside, -np.inf, np.inf))
        v_out = np.where(dvz != 0, np.maximum(t1, t2), np.where(inside, np.inf, -np.inf))
    start, end = np.maximum(h_in, v_in), np.minimum(h_out, v_out)
    hit = (start < end) & (end > 0) & (start < lookahead)
    hit &= np.arange(r0, len(s.lat))[None, :] > np.arange(r0, r1)[:, None]  # upper triangle only
    hit &= s.owner[rows, None] != s.owner[None, cols]
    i, j = np.nonzero(hit)
    return list(zip((s.index[i + r0]).tolist(), (s.index[j + r0]).tolist(), strict=True))


def brute_force_pairs(tracks: Tracks, block_pairs: int = 4_000_000) -> set[tuple[int, int]]:
    """Every pair, the same formula, in blocks of rows small enough for memory, on every core."""
    s = extrapolate(tracks, T0, RULES.max_track_age_s)
    n = len(s.lat)
    blocks, r0 = [], 0
    while r0 < n - 1:
        r1 = min(n - 1, r0 + max(1, block_pairs // (n - r0)))
        blocks.append((r0, r1))
        r0 = r1
    if len(blocks) <= 1:  # small N: one broadcast, no threads (the reference at its fastest)
        return {hit for block in blocks for hit in _block_hits(s, *block)}
    found: set[tuple[int, int]] = set()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for done, hits in enumerate(pool.map(lambda block: _block_hits(s, *block), blocks), 1):
            found.update(hits)
            if done % 50 == 0 or done == len(blocks):
                print(f"\r  brute force: {done}/{len(blocks)} blocks", end="", file=sys.stderr)
    print(file=sys.stderr)
    return found


def _bluesky_traffic(tracks: Tracks) -> SimpleNamespace:
    """The attributes BlueSky's detection reads from its traffic object (ids are our indices)."""
    n = len(tracks)
    return SimpleNamespace(
        lat=tracks.lat,
        lon=tracks.lon,
        alt=tracks.alt_m,
        trk=tracks.track_deg,
        gs=tracks.gs_mps,
        vs=tracks.vrate_mps,
        ntraf=n,
        id=list(range(n)),
    )


def bluesky_pairs(tracks: Tracks) -> tuple[set[tuple[int, int]], float, int]:
    """BlueSky's numpy state-based detection on the same states (N x N matrices).

    Called with the vertical minimum less the same 0.01 m tolerance, so both apply one rule.
    """
    from bluesky.traffic.asas.statebased import StateBased

    n = len(tracks)
    traffic = _bluesky_traffic(tracks)
    rpz = np.full(n, RULES.h_m)
    hpz = np.full(n, RULES.v_m - VERTICAL_TOLERANCE_M)
    look = np.full(n, RULES.lookahead_s)
    gc.collect()
    tracemalloc.start()
    began = time.perf_counter()
    result = StateBased.detect(None, traffic, traffic, rpz, hpz, look)
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {(min(a, b), max(a, b)) for a, b in result[0]}, elapsed, peak


def bluesky_cpp_pairs(tracks: Tracks) -> tuple[set[tuple[int, int]], float]:
    """BlueSky's C++ state-based detection (pairwise loops, no N x N matrices)."""
    from bluesky.traffic.asas import cstatebased

    n = len(tracks)
    traffic = _bluesky_traffic(tracks)
    limits = (np.full(n, RULES.h_m), np.full(n, RULES.v_m - VERTICAL_TOLERANCE_M), np.full(n, RULES.lookahead_s))
    began = time.perf_counter()
    result = cstatebased.detect(traffic, traffic, *limits)
    return {(min(a, b), max(a, b)) for a, b in result[0]}, time.perf_counter() - began


def repeats_for(n: int) -> int:
    """Best of more runs where one run is short (the machine is shared; the minimum is the figure)."""
    return max(3, min(200, 200_000 // max(n, 1)))


def alerting_engine() -> tuple[TacticalRules, tuple[Thresholds, ...]]:
    """The rules and levels of a new agreement's defaults (what the live service runs)."""
    alerting = Agreement(version=1, parties=["a"], h_strategic_m=1.0, v_m=1.0, time_buffer_s=0.0).alerting_rules
    return alerting.engine_rules(RULES), alerting.thresholds()


ENGINE: tuple[TacticalRules, tuple[Thresholds, ...]] = (RULES, ())  # --alerting: alerting_engine()


def run_ours(tracks: Tracks) -> Conflicts:
    return detect(tracks, T0, *ENGINE)


def time_engine(tracks: Tracks, repeats: int = 3) -> tuple[float, int, set[tuple[int, int]]]:
    best = math.inf
    found = None
    gc.collect()  # once: collecting before each run would empty the caches the brute force keeps warm
    for _ in range(repeats):
        began = time.perf_counter()
        found = run_ours(tracks)
        best = min(best, time.perf_counter() - began)
    assert found is not None
    gc.collect()
    tracemalloc.start()
    run_ours(tracks)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak, set(zip(found.a.tolist(), found.b.tolist(), strict=True))


def other_engine(checkout: str) -> ModuleType:
    """``deconline.core.tactical`` of another checkout, loaded beside ours under another name."""
    path = Path(checkout) / "deconline" / "core" / "tactical.py"
    spec = importlib.util.spec_from_file_location("compared_tactical", path)
    if spec is None or spec.loader is None:
        sys.exit(f"no engine at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def time_other(other: ModuleType, tracks: Tracks, repeats: int, ours: set[tuple[int, int]]) -> tuple[float, bool]:
    """The other engine's best time on the same states, alternating with ours run by run."""
    theirs = other.Tracks(*(getattr(tracks, f) for f in other.Tracks.__dataclass_fields__))
    best = math.inf
    found = None
    for _ in range(repeats):
        run_ours(tracks)  # ours in between: both see the same machine
        began = time.perf_counter()
        found = other.detect(theirs, T0, other.TacticalRules(RULES.h_m, RULES.v_m, RULES.lookahead_s, 20.0))
        best = min(best, time.perf_counter() - began)
    assert found is not None
    return best, set(zip(found.a.tolist(), found.b.tolist(), strict=True)) == ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1_000, 5_000, 20_000, 100_000])
    parser.add_argument("--brute-max", type=int, default=100_000, help="largest N checked against brute force")
    parser.add_argument("--bluesky", action="store_true", help="also run BlueSky's detection (N <= 5,000)")
    parser.add_argument("--compare", help="a checkout of other code: its engine timed in the same process, alternately")
    parser.add_argument(
        "--alerting",
        action="store_true",
        help="ours with a new agreement's alerting (levels, level flight, tolerance), not the raw detector; "
        "no brute force (it checks the raw definition)",
    )
    args = parser.parse_args()
    if args.alerting:
        global ENGINE
        ENGINE = alerting_engine()
        args.brute_max = 0
    other = other_engine(args.compare) if args.compare else None
    rows = []
    for n in args.sizes:
        print(f"N = {n:,}", file=sys.stderr)
        tracks = random_traffic(n)
        engine_s, peak, pairs = time_engine(tracks, repeats_for(n))
        row: dict[str, object] = {"n": n, "engine_s": float(f"{engine_s:.3g}"), "engine_peak_mb": round(peak / 1e6, 1)}
        row["pairs"] = len(pairs)
        if other is not None:
            other_s, same = time_other(other, tracks, repeats_for(n), pairs)
            row["compared_s"], row["compared_ratio"] = float(f"{other_s:.3g}"), round(other_s / engine_s, 2)
            row["same_pairs_as_compared"] = same
        if n <= args.brute_max:
            brute_s = math.inf
            for _ in range(repeats_for(n) if n <= 1_000 else 1):
                began = time.perf_counter()
                reference = brute_force_pairs(tracks)
                brute_s = min(brute_s, time.perf_counter() - began)
            row["brute_s"] = float(f"{brute_s:.3g}")
            row["same_pairs_as_brute"] = reference == pairs
            row["ratio_brute"] = round(brute_s / engine_s, 1)
            if reference != pairs:
                print(f"  MISMATCH: {len(reference ^ pairs)} pairs differ", file=sys.stderr)
        if args.bluesky and n <= 5_000:
            bs_pairs, bs_s, bs_peak = bluesky_pairs(tracks)
            row["bluesky_s"] = round(bs_s, 3)
            row["bluesky_peak_mb"] = round(bs_peak / 1e6, 1)
            row["same_pairs_as_bluesky"] = bs_pairs == pairs
            row["ratio_bluesky"] = round(bs_s / engine_s, 1)
            cpp_pairs, cpp_s = bluesky_cpp_pairs(tracks)
            row["bluesky_cpp_s"] = round(cpp_s, 3)
            row["same_pairs_as_bluesky_cpp"] = cpp_pairs == pairs
            if bs_pairs != pairs:
                print(f"  BlueSky differs on {len(bs_pairs ^ pairs)} pairs", file=sys.stderr)
        rows.append(row)
        print(f"  {row}", file=sys.stderr)
    OUT.mkdir(exist_ok=True)
    (OUT / "tactical.json").write_text(json.dumps({"detection": rows}, indent=2))
    if other is not None:
        print(f"| N | ours | {args.compare} | ratio | same pairs |")
        print("| --- | --- | --- | --- | --- |")
        for r in rows:
            print(
                f"| {r['n']:,} | {float(r['engine_s']) * 1000:.3g} ms "  # type: ignore[arg-type]
                f"| {float(r['compared_s']) * 1000:.3g} ms | {r['compared_ratio']}x | {r['same_pairs_as_compared']} |"  # type: ignore[arg-type]
            )
    print("| N | engine | peak memory | pairs | brute force | ratio | same pairs | BlueSky | ratio | same pairs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['n']:,} | {float(r['engine_s']) * 1000:.3g} ms | {r['engine_peak_mb']} MB | {r['pairs']} "  # type: ignore[arg-type]
            f"| {r.get('brute_s', '-')} s "
            f"| {r.get('ratio_brute', '-')}x | {r.get('same_pairs_as_brute', '-')} | {r.get('bluesky_s', '-')} s "
            f"| {r.get('ratio_bluesky', '-')}x | {r.get('same_pairs_as_bluesky', '-')} |"
        )
    for r in rows:
        if "bluesky_cpp_s" in r:
            print(
                f"BlueSky C++ at N = {r['n']:,}: {r['bluesky_cpp_s']} s, same pairs: {r['same_pairs_as_bluesky_cpp']}"
            )


if __name__ == "__main__":
    main()
