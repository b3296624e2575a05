"""kill -9 during a stream of writes: nothing acknowledged is lost, no published root changes."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import httpx

from deconline.record.checkpoint import open_checkpoint, parse_verifier_key
from deconline.record.merkle import verify_consistency
from deconline.service.geo import iso
from deconline.service.line import Line
from deconline.store.db import Database
from deconline.store.models import CheckpointRow, RecordEntry
from tests.helpers import make_world, server

FAST_CHECKPOINTS = ("--evaluate-every", "0", "--checkpoint-every", "0.05")


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db_url)
    world.line.db.dispose()
    headers = {"Authorization": f"Bearer {world.tokens['alpha']}"}
    acknowledged: list[int] = []
    notes: list[str] = []
    enough = threading.Event()  # the kill waits for this, not for a fixed time: CI machines are slower

    def stream(url: str) -> None:
        for i in range(100_000):
            report = {
                "id": f"T{i}",
                "lat": 50,
                "lon": 10,
                "alt_m": 1000,
                "gs_mps": 100,
                "track_deg": 0,
                "time": iso(time.time()),  # the server runs on the real clock
            }
            body = {"tracks": [report]}
            try:
                request = world.signed_request("alpha", "POST", "/v1/tracks", body)
                response = httpx.post(f"{url}/v1/tracks", timeout=5, **request)
            except httpx.HTTPError:
                return
            if response.status_code == 202:
                acknowledged.append(i)
            if i % 10 == 0:
                try:
                    checkpoint = httpx.get(f"{url}/v1/record/checkpoint", headers=headers, timeout=5)
                except httpx.HTTPError:
                    return
                if checkpoint.status_code == 200:
                    notes.append(checkpoint.text)
            if len(acknowledged) > 20 and notes:
                enough.set()

    with server(db_url, *FAST_CHECKPOINTS) as url:
        writer = threading.Thread(target=stream, args=(url,))
        writer.start()
        assert enough.wait(60), f"{len(acknowledged)} batches acknowledged, {len(notes)} checkpoints in 60 s"
        time.sleep(0.5)  # the kill then lands in the middle of the stream
    # Leaving the block killed the server with SIGKILL in the middle of the stream.
    writer.join()
    assert len(acknowledged) > 20 and notes

    with server(db_url, *FAST_CHECKPOINTS) as url:  # restarted on the same file
        time.sleep(0.3)
        line = Line(Database(db_url))
        with line.db.read() as session:
            batches = [
                json.loads(r.canonical) for r in session.query(RecordEntry).filter(RecordEntry.kind == "tracks.batch")
            ]
            published = list(session.query(CheckpointRow).order_by(CheckpointRow.size))
        assert len(batches) >= len(acknowledged)
        verifier = parse_verifier_key(httpx.get(f"{url}/v1/record/key", headers=headers).text)
        latest = open_checkpoint(httpx.get(f"{url}/v1/record/checkpoint", headers=headers).text, verifier)
        seen = [open_checkpoint(note, verifier) for note in notes] + [
            open_checkpoint(row.note, verifier) for row in published
        ]
        for old in seen:
            if old.size == latest.size:
                assert old.root == latest.root
                continue
            proof = httpx.get(
                f"{url}/v1/record/proof/consistency",
                params={"first": old.size, "second": latest.size},
                headers=headers,
            ).json()
            verify_consistency(
                old.size, latest.size, old.root, latest.root, [base64.b64decode(h) for h in proof["hashes"]]
            )
