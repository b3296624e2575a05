"""The record engine: appends per second, and proof times at 1,000,000 entries.

    .venv/bin/python bench/bench_record.py [--n 1000000] [--proofs 2000]

An append is the whole engine step: canonical JSON of the entry, a fresh salt, the salted
commitment, the leaf hash and the tree update. Proofs are generated and verified at random
indices and sizes of the full tree.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from deconline.record.entries import entry_bytes, entry_leaf_hash
from deconline.record.merkle import MerkleTree, verify_consistency, verify_inclusion

OUT = Path(__file__).parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(1)
    tree = MerkleTree()
    event = {"kind": "operation.filed", "operation": "op_0123456789abcdef", "state": "accepted", "notices": 0}
    began = time.perf_counter()
    for i in range(args.n):
        canonical = entry_bytes(i, 1_700_000_000.0 + i, "alpha", event)
        tree.append(entry_leaf_hash(os.urandom(32), canonical))
        if (i + 1) % 200_000 == 0:
            print(f"  {i + 1:,} appended", file=sys.stderr)
    append_s = time.perf_counter() - began
    root = tree.root()
    inclusion_ms, consistency_ms, verify_ms = [], [], []
    for _ in range(args.proofs):
        size = rng.randint(1, args.n)
        index = rng.randrange(size)
        t = time.perf_counter()
        proof = tree.inclusion_proof(index, size)
        inclusion_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        verify_inclusion(index, size, tree.levels[0][index], proof, tree.root(size) if size < args.n else root)
        verify_ms.append((time.perf_counter() - t) * 1000)
        first = rng.randint(1, size)
        t = time.perf_counter()
        consistency = tree.consistency_proof(first, size)
        consistency_ms.append((time.perf_counter() - t) * 1000)
        verify_consistency(first, size, tree.root(first), tree.root(size), consistency)
    result = {
        "entries": args.n,
        "appends_per_s": round(args.n / append_s),
        "inclusion_proof_ms": {"median": round(statistics.median(inclusion_ms), 3), "max": round(max(inclusion_ms), 3)},
        "consistency_proof_ms": {
            "median": round(statistics.median(consistency_ms), 3),
            "max": round(max(consistency_ms), 3),
        },
        "verify_inclusion_ms_median": round(statistics.median(verify_ms), 3),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "record.json").write_text(json.dumps(result, indent=2))
    print("| record engine | figure |")
    print("| --- | --- |")
    print(f"| appends ({args.n:,} entries) | {result['appends_per_s']:,} /s |")
    inclusion, consistency = result["inclusion_proof_ms"], result["consistency_proof_ms"]
    print(f"| inclusion proof at {args.n:,} (median / max) | {inclusion['median']} / {inclusion['max']} ms |")
    print(f"| consistency proof (median / max) | {consistency['median']} / {consistency['max']} ms |")
    print(f"| verifying an inclusion proof (median) | {result['verify_inclusion_ms_median']} ms |")


if __name__ == "__main__":
    main()
