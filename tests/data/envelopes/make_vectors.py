"""Write vectors.json: envelopes sealed with fixed keys, times and nonces (Ed25519 is deterministic),
so every implementation (the Python client, the browser console's WebCrypto) can be checked
against the same bytes. Run: .venv/bin/python tests/data/envelopes/make_vectors.py"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconline.record.envelope import PAYLOAD_TYPE, pae, seal
from deconline.record.signing import public_key_b64

CASES = [
    (
        "deconline/1a2b3c4d",
        "message.send",
        {"kind": "notice", "recipients": ["blue-af"], "text": "Hello", "requires_ack": True},
    ),
    ("exercise.north", "tracks.post", {"tracks": [{"id": "VIPER11", "lat": 57.1, "lon": 18.25, "alt_m": 7500.0}]}),
    ("deconline/1a2b3c4d", "message.answer:msg_0f1e2d3c4b5a6978", {"answer": "accept"}),
    ("deconline/1a2b3c4d", "message.ack:msg_0f1e2d3c4b5a6978", {}),
    ("deconline/1a2b3c4d", "operation.file", {"name": "Übung Nord – €", "volumes": [], "n": 1e21, "small": 5e-7}),
]


def main() -> None:
    vectors = []
    for k, (line, action, body) in enumerate(CASES):
        key = Ed25519PrivateKey.from_private_bytes(bytes([k + 1]) * 32)
        nonce = base64.urlsafe_b64encode(bytes(range(k, k + 16))).rstrip(b"=").decode("ascii")
        created = f"2026-12-06T23:{k:02d}:00.000Z"
        sealed = seal(key, line, action, body, created=created, nonce=nonce)
        vectors.append(
            {
                "private_key_seed_hex": (bytes([k + 1]) * 32).hex(),
                "public_key": public_key_b64(key),
                "line": line,
                "action": action,
                "created": created,
                "nonce": nonce,
                "body": body,
                "statement": sealed.statement.decode("utf-8"),
                "pae_hex": pae(PAYLOAD_TYPE, sealed.statement).hex(),
                "signature": sealed.signature,
            }
        )
    out = Path(__file__).with_name("vectors.json")
    out.write_text(json.dumps({"payload_type": PAYLOAD_TYPE, "vectors": vectors}, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
