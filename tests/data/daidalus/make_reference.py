#!/usr/bin/env python3
"""Regenerate the DAIDALUS reference bands in this folder (test data only).

DAIDALUS (NASA, NOSA 1.3) is never copied into the project: it is cloned and
built in a temporary directory (or taken from --daidalus), our driver.cpp is
compiled against it there, and only the JSON outputs are written here.

    python tests/data/daidalus/make_reference.py                  # clone + build
    python tests/data/daidalus/make_reference.py --daidalus DIR   # existing checkout

Writes H1.json, C1_0_120.json (DAIDALUS's own lat/lon scenarios),
random.daa (our seeded Euclidean encounters) and random.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = "https://github.com/nasa/daidalus"
COMMIT = "e0439250c8a9fe55fe189c2271b57177938e6974"  # master, 2024-03-10, C++ v2.0.4
LIB = "C++/lib/DAIDALUSv2.0.4.a"
SEED = 20240310
N_RANDOM = 100

# Thresholds of deconline_cd3d.conf (for generating / counting conflicts only).
D = 5 * 1852.0  # m
H = 1000 * 0.3048  # m
T = 300.0  # s


def sh(*cmd: str, cwd: Path | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, check=True)


def get_daidalus(work: Path, repo: str, commit: str) -> Path:
    src = work / "daidalus"
    sh("git", "clone", "--quiet", "--no-checkout", repo, str(src))
    # Only the paths we need (some large blobs, e.g. docs PDFs, may be absent from mirrors).
    sh("git", "-C", str(src), "checkout", "--quiet", commit, "--", "C++", "Scenarios", "Configurations")
    return src


def build(src: Path, work: Path) -> Path:
    if not (src / LIB).exists():
        sh("make", "-j8", "lib", cwd=src / "C++")
    exe = work / "daa_bands_json"
    sh(
        "g++",
        "-std=c++14",
        "-O2",
        "-Wall",
        f"-I{src / 'C++/include'}",
        "-o",
        str(exe),
        str(HERE / "driver.cpp"),
        str(src / LIB),
    )
    return exe


# ---------------------------------------------------------------- encounters
def cd3d_conflict(s, v) -> bool:
    """Relative position s, velocity v (intruder minus ownship): cylinder conflict in [0, T]?"""
    lo, hi = 0.0, T
    # vertical: |sz + vz t| < H
    if v[2] == 0:
        if abs(s[2]) >= H:
            return False
    else:
        a, b = (-H - s[2]) / v[2], (H - s[2]) / v[2]
        lo, hi = max(lo, min(a, b)), min(hi, max(a, b))
    # horizontal: |s + v t| < D
    a2 = v[0] ** 2 + v[1] ** 2
    b = s[0] * v[0] + s[1] * v[1]
    c = s[0] ** 2 + s[1] ** 2 - D * D
    if a2 == 0:
        if c >= 0:
            return False
    else:
        disc = b * b - a2 * c
        if disc <= 0:
            return False
        r = math.sqrt(disc)
        lo, hi = max(lo, (-b - r) / a2), min(hi, (-b + r) / a2)
    return lo < hi


def random_velocity(rng: random.Random):
    gs, trk = rng.uniform(50, 250), rng.uniform(0, 360)
    return [gs * math.sin(math.radians(trk)), gs * math.cos(math.radians(trk)), rng.uniform(-10, 10)]


def encounter(rng: random.Random, want_conflict: bool):
    alt = rng.uniform(1000, 12000)
    own = ([0.0, 0.0, alt], random_velocity(rng))
    intruders = []
    for k in range(rng.randint(1, 3)):
        for _ in range(100000):
            v = random_velocity(rng)
            if k == 0 and want_conflict:
                # aim at a point near the ownship's position at time tc
                tc = rng.uniform(0, 280)
                r, a = 0.8 * D * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
                miss = [r * math.cos(a), r * math.sin(a), rng.uniform(-0.8, 0.8) * H]
                s = [own[0][i] + own[1][i] * tc + miss[i] - v[i] * tc for i in range(3)]
            else:
                r, a = 20000 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
                s = [r * math.cos(a), r * math.sin(a), alt + rng.uniform(-1000, 1000)]
            if math.hypot(s[0], s[1]) <= 20000 and abs(s[2] - alt) <= 1000:
                intruders.append((s, v))
                break
    return own, intruders


def write_random_daa(path: Path) -> list[bool]:
    rng = random.Random(SEED)
    lines = ["NAME, sx, sy, sz, vx, vy, vz, time", "[none], [m], [m], [m], [m/s], [m/s], [m/s], [s]"]
    conflicts = []
    for t in range(N_RANDOM):
        own, intruders = encounter(rng, rng.random() < 0.7)
        conflicts.append(
            any(
                cd3d_conflict([s[i] - own[0][i] for i in range(3)], [v[i] - own[1][i] for i in range(3)])
                for s, v in intruders
            )
        )
        for name, (s, v) in [("Ownship", own)] + [(f"Intruder{k + 1}", x) for k, x in enumerate(intruders)]:
            lines.append(", ".join([name] + [f"{x:.6f}" for x in (*s, *v)] + [f"{t:.1f}"]))
    path.write_text("\n".join(lines) + "\n")
    return conflicts


# ---------------------------------------------------------------- main
def run(exe: Path, daa: Path, out: Path) -> list:
    res = subprocess.run(
        [str(exe), str(HERE / "deconline_cd3d.conf"), str(daa)], check=True, capture_output=True, text=True
    )
    data = json.loads(res.stdout)
    # one time step per line: small diffs, still valid JSON
    out.write_text("[\n" + ",\n".join(json.dumps(e, separators=(",", ":")) for e in data) + "\n]\n")
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daidalus", type=Path, help="existing DAIDALUS checkout (default: clone --repo)")
    ap.add_argument("--repo", default=REPO, help="git URL or path of DAIDALUS (default: %(default)s)")
    ap.add_argument("--commit", default=COMMIT, help="DAIDALUS commit (default: %(default)s)")
    ap.add_argument("--workdir", type=Path, help="build directory (default: a new temp dir)")
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="daidalus-build-"))
    work.mkdir(parents=True, exist_ok=True)
    src = args.daidalus.resolve() if args.daidalus else get_daidalus(work, args.repo, args.commit)
    exe = build(src, work)

    conflicts = write_random_daa(HERE / "random.daa")
    for name in ("H1", "C1_0_120"):
        data = run(exe, src / "Scenarios" / f"{name}.daa", HERE / f"{name}.json")
        print(f"{name}.json: {len(data)} time steps")
    data = run(exe, HERE / "random.daa", HERE / "random.json")
    alerting = sum(any(t["alert"] > 0 for t in e["traffic"]) for e in data)
    print(
        f"random.json: {len(data)} encounters, {sum(conflicts)} in conflict within {T:.0f} s "
        f"(our check), {alerting} with a DAIDALUS alert"
    )
    print(f"build dir: {work}")


if __name__ == "__main__":
    main()
