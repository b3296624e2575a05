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
    parser.add_argument("--bundle", type=int, default=1_000_000, help="entries in the bundle to verify (0: skip)")
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
    if args.bundle:
        print(f"verifying a bundle of {args.bundle:,} entries…", file=sys.stderr)
        result["bundle"] = bundle_bench(args.bundle)
    OUT.mkdir(exist_ok=True)
    (OUT / "record.json").write_text(json.dumps(result, indent=2))
    print("| record engine | figure |")
    print("| --- | --- |")
    print(f"| appends ({args.n:,} entries) | {result['appends_per_s']:,} /s |")
    inclusion, consistency = result["inclusion_proof_ms"], result["consistency_proof_ms"]
    print(f"| inclusion proof at {args.n:,} (median / max) | {inclusion['median']} / {inclusion['max']} ms |")
    print(f"| consistency proof (median / max) | {consistency['median']} / {consistency['max']} ms |")
    print(f"| verifying an inclusion proof (median) | {result['verify_inclusion_ms_median']} ms |")
    if args.bundle:
        b = result["bundle"]
        print(f"| `record verify` of a {b['entries']:,}-entry bundle ({b['bundle_mb']} MB) | {b['verify_s']} s |")


def bundle_bench(n: int) -> dict[str, float]:
    """Verify a bundle of ``n`` disclosed entries from its file, as `deconline record verify` does."""
    import base64
    import tempfile

    from deconline.record.bundle import FORMAT, range_proof, verify_bundle
    from deconline.record.checkpoint import Checkpoint, parse_verifier_key, sign_checkpoint, verifier_key
    from deconline.record.signing import generate_key

    key = generate_key()
    tree = MerkleTree()
    entries = []
    for i in range(n):
        canonical = entry_bytes(i, 1_700_000_000.0 + i, "alpha", {"kind": "tracks.batch", "tracks": 12}, ["alpha"])
        salt = os.urandom(32)
        tree.append(entry_leaf_hash(salt, canonical))
        entries.append({"index": i, "entry": canonical.decode(), "salt": base64.b64encode(salt).decode()})
    checkpoint = Checkpoint("bench/log", n, tree.root())
    bundle = {
        "format": FORMAT,
        "from": 0,
        "to": n - 1,
        "checkpoint": sign_checkpoint(checkpoint, "bench/log", key),
        "range_proof": [base64.b64encode(h).decode() for h in range_proof(tree, 0, n, n)],
        "entries": entries,
        "withheld": [],
    }
    verifier = parse_verifier_key(verifier_key("bench/log", key.public_key()))
    with tempfile.NamedTemporaryFile("w", suffix=".bundle", delete=False) as handle:
        json.dump(bundle, handle)
        path = Path(handle.name)
    began = time.perf_counter()
    verify_bundle(json.loads(path.read_text()), verifier)
    elapsed = time.perf_counter() - began
    size_mb = path.stat().st_size / 1e6
    path.unlink()
    return {"entries": n, "verify_s": round(elapsed, 2), "bundle_mb": round(size_mb, 1)}


if __name__ == "__main__":
    main()
