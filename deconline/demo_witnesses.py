"""The demo's witnesses (issue 25): one per demo party, each with a key the demo writes beside the
parties' keys and a SQLite file there, served on loopback ports from 8011 by ``serve --demo-feed``,
so that a new user sees checkpoints cosigned by the parties' witnesses (the demo's agreement
names them, with a quorum of 2)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deconline.record.checkpoint import parse_verifier_key
from deconline.record.cosignature import cosigner
from deconline.record.signing import generate_key, read_private_key, write_private_key

BASE_PORT = 8011
QUORUM = 2


def _name(party: str) -> str:
    return f"witness.{party}.demo"


def _key_file(keys_dir: Path, party: str) -> Path:
    return keys_dir / f"witness-{party}.key"


def make(keys_dir: Path, parties: list[str]) -> list[dict[str, Any]]:
    """A key for each party's witness; the agreement's ``witnesses`` entries for them."""
    refs = []
    for k, party in enumerate(parties):
        key = generate_key()
        write_private_key(key, _key_file(keys_dir, party))
        url = f"http://127.0.0.1:{BASE_PORT + k}"
        refs.append({"party": party, "url": url, "key": cosigner(_name(party), key.public_key()).vkey()})
    return refs


def start(keys_dir: Path, parties: list[str], log_vkey: str, say: Callable[[str], None]) -> list[Any]:
    """Serve each party's witness in a thread of this process; the servers (``should_exit`` stops one)."""
    import uvicorn

    from deconline.witness import Witness, create_app

    log_key = parse_verifier_key(log_vkey)
    servers = []
    for k, party in enumerate(parties):
        key_file = _key_file(keys_dir, party)
        if not key_file.is_file():
            continue  # a demo made before witnesses: none to run
        witness = Witness(
            _name(party), read_private_key(key_file), {log_key.name: log_key}, keys_dir / f"witness-{party}.db"
        )
        config = uvicorn.Config(create_app(witness), host="127.0.0.1", port=BASE_PORT + k, log_level="error")
        server = uvicorn.Server(config)
        threading.Thread(target=server.run, name=f"witness {party}", daemon=True).start()
        servers.append(server)
    deadline = time.monotonic() + 5
    while servers and not all(s.started for s in servers) and time.monotonic() < deadline:
        time.sleep(0.05)
    if servers:
        running = sum(1 for s in servers if s.started)
        last = BASE_PORT + len(servers) - 1
        say(f"demo witnesses: {running} of {len(servers)} cosigning, on 127.0.0.1:{BASE_PORT}-{last}")
    return servers
