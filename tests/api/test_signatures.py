"""A party's submissions carry its Ed25519 signature; the service verifies it and records it."""

from __future__ import annotations

import json

from deconline.api.deps import SIGNATURE_HEADER
from deconline.record.signing import sign_document
from tests.helpers import World, box


def test_unsigned_or_badly_signed_submissions_are_refused(world: World) -> None:
    body = {"volumes": [box()]}
    unsigned = world.post("alpha", "/v1/operations", body, sign=False)
    assert unsigned.status_code == 401 and SIGNATURE_HEADER in unsigned.json()["detail"]
    other_key = {**world.headers("alpha"), SIGNATURE_HEADER: sign_document(world.keys["bravo"], body)}
    assert world.client.post("/v1/operations", json=body, headers=other_key).status_code == 401
    other_body = {**world.headers("alpha"), SIGNATURE_HEADER: sign_document(world.keys["alpha"], {"volumes": []})}
    assert world.client.post("/v1/operations", json=body, headers=other_body).status_code == 401
    garbage = {**world.headers("alpha"), SIGNATURE_HEADER: "not base64!"}
    assert world.client.post("/v1/operations", json=body, headers=garbage).status_code == 401
    assert world.get("alpha", "/v1/operations").json() == []  # nothing changed
    track = {
        "tracks": [
            {
                "id": "A1",
                "lat": 50,
                "lon": 10,
                "alt_m": 900,
                "gs_mps": 90,
                "track_deg": 0,
                "time": "2036-11-23T06:00:00Z",
            }
        ]
    }
    assert world.post("alpha", "/v1/tracks", track, sign=False).status_code == 401
    assert world.post("charlie", "/v1/hazards", {"kind": "other", "volume": box()}, sign=False).status_code == 401


def test_malformed_input_is_a_422_before_it_is_a_401(world: World) -> None:
    response = world.post("alpha", "/v1/operations", {"volumes": [dict(box(), lower_m=5000)]}, sign=False)
    assert response.status_code == 422


def test_the_signed_submission_is_in_the_record(world: World) -> None:
    op = world.file("alpha", box(), name="signed")
    entries = [world.get("alpha", f"/v1/record/entries/{i}").json() for i in range(8)]
    [filed] = [e for e in entries if "entry" in e and op["id"] in e["entry"]]
    assert filed["signer"] == "alpha"
    submission = json.loads(filed["entry"])["event"]["submission"]
    assert submission["name"] == "signed"
    from deconline.record.signing import public_key_b64, verify_document

    verify_document(public_key_b64(world.keys["alpha"]), submission, filed["signature"])
