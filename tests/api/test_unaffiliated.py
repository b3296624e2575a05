"""Unaffiliated traffic: posted by surveillance providers only, public, alerted to the party involved only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from deconline.service import events as events_service
from deconline.service import tactical
from deconline.store.models import Message, RecordEntry, TrackState, UnaffiliatedTrack
from tests.api.test_tactical import iso, report, send
from tests.helpers import AGREEMENT, World, adopt

# What ``tracks.batch`` recorded for BATCH before unaffiliated traffic existed (computed on that code;
# recomputed when the test clock moved ten years on, the digest code unchanged).
BATCH_DIGEST = "430b3b5e7a320fa443735a8349bad06ba352d68a33b6df5dd991a96b758adadc"
BATCH: dict[str, Any] = {
    "tracks": [
        {"id": "A2", "lat": 50.1, "lon": 10.2, "alt_m": 9000.0, "gs_mps": 200.0, "track_deg": 90.0,
         "vrate_mps": 0.0, "time": "2036-11-23T05:59:58Z"},
        {"id": "A1", "lat": 50.0, "lon": 10.0, "alt_m": 8000.5, "gs_mps": 150.0, "track_deg": 360.0,
         "vrate_mps": -2.5, "time": "2036-11-23T05:59:59Z"},
    ]
}  # fmt: skip
# The exact bytes of the test agreement (version 1, no providers), alerting criteria written out (a version
# signed before those existed keeps its own bytes: tests/api/test_alerting.py).
V1_DOCUMENT_SHA256 = "150f10f2b6b60ecca16c635ca499f684350ac5263fd9224c78623fca9ccc6462"


@pytest.fixture
def line(world: World) -> World:
    """The test world with charlie named as the surveillance provider."""
    adopt(world, surveillance_providers=["charlie"])
    return world


def post_unaffiliated(world: World, who: str, *reports: dict[str, Any]) -> Any:
    return world.post(who, "/v1/tracks", {"tracks": list(reports), "unaffiliated": True})


def stored(world: World) -> tuple[int, int]:
    with world.line.db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(TrackState)) or 0,
            session.scalar(select(func.count()).select_from(UnaffiliatedTrack)) or 0,
        )


def unaffiliated_ids(world: World, who: str) -> set[str]:
    tracks = world.get(who, "/v1/tracks").json()
    return {t["id"] for t in tracks if t["party"] == "unaffiliated"}


def events_of(world: World, party: str, kind: str | None = None) -> list[dict[str, Any]]:
    """What ``party``'s event stream delivers (persisted before it is pushed)."""
    with world.line.db.read() as session:
        found = [json.loads(data) for _, data in events_service.since(session, party, 0)]
    return [e for e in found if kind is None or e["type"] == kind]


def batch_entries(world: World) -> list[dict[str, Any]]:
    with world.line.db.read() as session:
        rows = session.scalars(select(RecordEntry).where(RecordEntry.kind == "tracks.batch").order_by(RecordEntry.seq))
        return [json.loads(r.canonical) for r in rows]


def test_only_a_named_provider_may_post_unaffiliated_traffic(world: World) -> None:
    u1 = report(world, "U1", 0, 3000, 90)
    refused = post_unaffiliated(world, "charlie", u1)  # no agreement names a provider yet
    assert refused.status_code == 403
    assert "surveillance provider" in refused.json()["detail"] and "none" in refused.json()["detail"]
    adopt(world, surveillance_providers=["charlie"])
    for who in ("alpha", "bravo"):  # parties, but not providers
        refused = post_unaffiliated(world, who, u1)
        assert refused.status_code == 403
        assert "surveillance_providers: charlie" in refused.json()["detail"]
        assert f"'{who}' is not one" in refused.json()["detail"]
    assert world.post("auditor", "/v1/tracks", {"tracks": [u1], "unaffiliated": True}).status_code == 403
    assert world.post("admin", "/v1/tracks", {"tracks": [u1], "unaffiliated": True}).status_code == 403
    assert stored(world) == (0, 0) and batch_entries(world) == []
    # The flag is signed with the batch: a signature over the batch without it does not cover it.
    request = world.signed_request("charlie", "POST", "/v1/tracks", {"tracks": [u1]}, world.now_iso())
    unflagged = json.loads(request["content"])
    flagged = json.dumps(dict(unflagged, body={"tracks": [u1], "unaffiliated": True})).encode()
    tampered = world.client.post("/v1/tracks", content=flagged, headers=request["headers"])
    assert tampered.status_code in (401, 422)
    unsigned = world.post("charlie", "/v1/tracks", {"tracks": [u1], "unaffiliated": True}, sign=False)
    assert unsigned.status_code == 401
    not_bool = world.post("charlie", "/v1/tracks", {"tracks": [u1], "unaffiliated": "yes"})
    assert not_bool.status_code == 422
    assert stored(world) == (0, 0)
    accepted = post_unaffiliated(world, "charlie", u1)
    assert accepted.status_code == 202 and accepted.json() == {"stored": 1}
    assert stored(world) == (0, 1)


def test_every_party_sees_live_unaffiliated_traffic(line: World) -> None:
    send(line, "alpha", report(line, "A1", -200_000, 9000, 0))
    assert post_unaffiliated(line, "charlie", report(line, "U1", 0, 3000, 90)).status_code == 202
    for who in ("alpha", "bravo", "charlie"):
        [seen] = [t for t in line.get(who, "/v1/tracks").json() if t["id"] == "U1"]
        assert seen["party"] == "unaffiliated" and seen["unaffiliated"] is True
        assert seen["alt_m"] == 3000 and "provider" not in seen
    assert {t["id"] for t in line.get("charlie", "/v1/tracks").json()} == {"U1"}  # A1 stays alpha's side's
    assert all("unaffiliated" not in t for t in line.get("alpha", "/v1/tracks").json() if t["id"] == "A1")
    line.clock.now += 25  # stale: no longer shown
    assert unaffiliated_ids(line, "alpha") == set()


def test_the_newest_report_wins_whichever_provider_sent_it(line: World) -> None:
    adopt(line, 3, surveillance_providers=["charlie", "bravo"])
    assert post_unaffiliated(line, "bravo", report(line, "U1", 0, 3000, 90)).status_code == 202
    older = report(line, "U1", 0, 1000, 90, time=iso(line.clock.now - 5))
    assert post_unaffiliated(line, "charlie", older).status_code == 202
    with line.line.db.read() as session:
        [row] = session.scalars(select(UnaffiliatedTrack))
        assert (row.provider_id, row.alt_m) == ("bravo", 3000)
    line.clock.now += 1
    assert post_unaffiliated(line, "charlie", report(line, "U1", 200, 3100, 90)).status_code == 202
    with line.line.db.read() as session:
        [row] = session.scalars(select(UnaffiliatedTrack))
        assert (row.provider_id, row.alt_m) == ("charlie", 3100)
    [seen] = [t for t in line.get("alpha", "/v1/tracks").json() if t["id"] == "U1"]
    assert seen["alt_m"] == 3100


def test_an_unaffiliated_report_never_touches_a_party_track(line: World) -> None:
    send(line, "bravo", report(line, "B1", 0, 5000, 90))
    send(line, "charlie", report(line, "C1", 50_000, 5000, 90))
    line.clock.now += 1
    echo = report(line, "B1", 100, 4000, 270)
    own_echo = report(line, "C1", 100, 4000, 270)
    assert post_unaffiliated(line, "charlie", echo, own_echo).status_code == 202
    with line.line.db.read() as session:
        assert session.get(TrackState, ("bravo", "B1")).alt_m == 5000  # type: ignore[union-attr]
        assert session.get(TrackState, ("charlie", "C1")).alt_m == 5000  # type: ignore[union-attr]
    assert stored(line) == (2, 2)


def test_a_party_aircraft_against_unaffiliated_traffic_alerts_that_party_only(line: World) -> None:
    send(line, "alpha", report(line, "A1", -15_000, 9000, 90))
    assert post_unaffiliated(line, "charlie", report(line, "U1", 15_000, 9000, 270)).status_code == 202
    [changed] = tactical.evaluate(line.line)
    assert (changed.a_party, changed.a_track, changed.b_party, changed.b_track) == ("alpha", "A1", "unaffiliated", "U1")
    [alert] = line.get("alpha", "/v1/alerts").json()
    assert alert["own_track"] == "A1" and alert["kind"] == "separation"
    assert alert["intruder"]["party"] == "unaffiliated" and alert["intruder"]["track"] == "U1"
    assert alert["intruder"]["state"]["alt_m"] == 9000
    for other in ("bravo", "charlie"):  # the group partner and the provider
        assert line.get(other, "/v1/alerts", params={"state": "all"}).json() == []
        assert events_of(line, other) == []
    [event] = events_of(line, "alpha", "alert")
    assert event["alert"]["intruder"]["party"] == "unaffiliated"
    assert "charlie" not in json.dumps(event)
    with line.line.db.read() as session:
        [entry] = session.scalars(select(RecordEntry).where(RecordEntry.kind == "alert.raised"))
        assert entry.readers == ["alpha"]
        [safety] = session.scalars(select(Message).where(Message.kind == "safety_alert"))
        assert safety.recipients == ["alpha"]
    # Cleared when the unaffiliated aircraft is gone, and told to alpha only.
    line.clock.now += 25
    send(line, "alpha", report(line, "A1", 0, 9000, 90))
    [cleared] = tactical.evaluate(line.line)
    assert cleared.state == "cleared"
    assert [e["alert"]["state"] for e in events_of(line, "alpha", "alert")] == ["raised", "cleared"]
    assert events_of(line, "charlie") == []


def test_the_providers_own_aircraft_is_alerted_to_the_provider(line: World) -> None:
    send(line, "charlie", report(line, "C1", -15_000, 9000, 90))
    assert post_unaffiliated(line, "charlie", report(line, "U1", 15_000, 9000, 270)).status_code == 202
    tactical.evaluate(line.line)
    [alert] = line.get("charlie", "/v1/alerts").json()
    assert alert["own_track"] == "C1" and alert["intruder"]["party"] == "unaffiliated"
    assert line.get("alpha", "/v1/alerts").json() == []


def test_unaffiliated_aircraft_never_alert_against_each_other(line: World) -> None:
    send(line, "alpha", report(line, "A1", -200_000, 9000, 0))  # far away, so the picture is evaluated
    pair = (report(line, "U1", -5000, 9000, 90), report(line, "U2", 5000, 9000, 270))
    assert post_unaffiliated(line, "charlie", *pair).status_code == 202
    assert tactical.evaluate(line.line) == []
    adopt(line, 3, surveillance_providers=["charlie", "bravo"], tactical={"check_same_owner": True})
    line.clock.now += 1
    send(line, "alpha", report(line, "A1", -200_000, 9000, 0))
    assert post_unaffiliated(line, "charlie", report(line, "U1", -4800, 9000, 90)).status_code == 202
    assert post_unaffiliated(line, "bravo", report(line, "U2", 4800, 9000, 270)).status_code == 202
    assert tactical.evaluate(line.line) == []
    for who in ("alpha", "bravo", "charlie"):
        assert line.get(who, "/v1/alerts").json() == []


def test_an_echo_of_a_party_aircraft_is_ignored(line: World) -> None:
    send(line, "alpha", report(line, "4ca7b1", 0, 9000, 90))
    echo = report(line, "4CA7B1", 50, 9010, 90)  # another feed's spelling of the same address
    assert post_unaffiliated(line, "charlie", echo, report(line, "4ca7b1", 50, 9010, 90)).status_code == 202
    assert tactical.evaluate(line.line) == []
    for who in ("alpha", "bravo", "charlie"):  # not shown either: it is alpha's aircraft
        assert unaffiliated_ids(line, who) == set()
    # Next to charlie's aircraft, alpha's aircraft and its echo make one alert, between the parties.
    send(line, "charlie", report(line, "C1", 20_000, 9000, 270))
    [changed] = tactical.evaluate(line.line)
    assert (changed.a_party, changed.a_track, changed.b_party, changed.b_track) == ("alpha", "4ca7b1", "charlie", "C1")
    # Once alpha's own track is stale, what the receiver hears is traffic like any other.
    line.clock.now += 21
    send(line, "charlie", report(line, "C1", 20_000, 9000, 270))
    post_unaffiliated(line, "charlie", report(line, "4ca7b1", 0, 9000, 90))
    assert unaffiliated_ids(line, "bravo") == {"4ca7b1"}


def test_alerts_between_parties_are_unchanged_beside_unaffiliated_traffic(line: World) -> None:
    send(line, "alpha", report(line, "A1", -15_000, 9000, 90))
    send(line, "charlie", report(line, "C1", 15_000, 9000, 270))
    assert post_unaffiliated(line, "charlie", report(line, "U1", 0, 20_000, 0)).status_code == 202  # far above
    [changed] = tactical.evaluate(line.line)
    assert (changed.a_party, changed.b_party) == ("alpha", "charlie")
    assert line.get("charlie", "/v1/alerts").json()[0]["intruder"]["party"] == "alpha"


def test_providers_must_be_parties_of_the_agreement(world: World) -> None:
    for providers, words in ((["zulu"], "zulu"), (["charlie", "charlie"], "only once"), (["Bad!"], "pattern")):
        refused = world.post("admin", "/v1/agreements", dict(AGREEMENT, version=2, surveillance_providers=providers))
        assert refused.status_code == 422 and words in refused.text, refused.text
    named = world.post("admin", "/v1/agreements", dict(AGREEMENT, version=2, surveillance_providers=["bravo"]))
    assert named.status_code == 201 and named.json()["document"]["surveillance_providers"] == ["bravo"]
    assert b'"surveillance_providers":["bravo"]' in world.get("alpha", "/v1/agreements/2/document").content


def test_agreements_without_providers_keep_their_signed_bytes(world: World) -> None:
    import hashlib

    raw = world.get("alpha", "/v1/agreements/1/document").content
    assert hashlib.sha256(raw).hexdigest() == V1_DOCUMENT_SHA256
    assert b"surveillance_providers" not in raw
    assert "surveillance_providers" not in world.get("alpha", "/v1/agreements/1").json()["document"]
    adopt(world, surveillance_providers=[])  # an explicit empty list signs the same way
    assert b"surveillance_providers" not in world.get("alpha", "/v1/agreements/2/document").content


def test_unaffiliated_is_a_reserved_party_id(world: World) -> None:
    refused = world.post("admin", "/v1/parties", {"id": "unaffiliated", "public_key": "A" * 43 + "="})
    assert refused.status_code == 422 and "reserved" in refused.text


def test_the_digest_of_a_batch_without_the_flag_is_unchanged(world: World) -> None:
    adopt(world, surveillance_providers=["alpha"])
    assert world.post("alpha", "/v1/tracks", BATCH).status_code == 202
    assert world.post("alpha", "/v1/tracks", dict(BATCH, unaffiliated=False)).status_code == 202
    assert post_unaffiliated(world, "alpha", *BATCH["tracks"]).status_code == 202  # the same reports, flagged
    plain, explicit, flagged = ({**e["event"], "envelope": None} for e in batch_entries(world))
    plain.pop("envelope"), explicit.pop("envelope")
    assert plain == explicit == {"kind": "tracks.batch", "reports": 2, "tracks": 2, "digest": BATCH_DIGEST}
    assert flagged["unaffiliated"] is True and flagged["digest"] != BATCH_DIGEST
