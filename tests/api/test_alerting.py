"""Alerting on the live line: a new agreement's criteria (confirmation, persistence, clearing), an
older signed version read with the documented defaults, and the service giving the same alerts as
``replay`` for the same tracks."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from deconline.core.agreement import Agreement
from deconline.ingest.recordings import Recording, load_recording
from deconline.record.canonical import canonical_json
from deconline.record.signing import sign_document
from deconline.replay import evaluation_times, replay
from deconline.service import agreements, tactical
from deconline.service import events as events_service
from deconline.service import rules as rules_service
from deconline.service.actors import Actor
from deconline.service.review import review_data
from deconline.store.models import AgreementVersion, Alert
from tests.conftest import SHARED
from tests.helpers import AGREEMENT, World

EARTH = 6_371_000.0
# The test agreement exactly as a version signed before alerting criteria existed was stored.
OLD_DOCUMENT = (
    '{"ack_deadlines_s":{"comm_check":120,"deconfliction_request":600,"default":300,"safety_alert":60},'
    '"alert_levels":[{"name":"advisory","within_s":300},{"name":"warning","within_s":120}],'
    '"comm_check_interval_s":900,"disclosure":{"tracks_of_others":"in_alert"},"escalation":{},'
    '"h_strategic_m":5000,"max_track_age_s":20,"parties":["alpha","bravo","charlie"],'
    '"tactical":{"check_same_owner":false,"h_m":9260,"lookahead_s":300,"v_m":304.8},"time_buffer_s":600,'
    '"title":"","v_m":300,"version":1}'
)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def adopt_defaults(world: World) -> None:
    """Version 2: the test agreement with every alerting criterion at a new version's defaults."""
    document = {k: v for k, v in AGREEMENT.items() if k not in ("alert_levels", "confirmation")}
    state = agreements.propose(world.line, Actor("admin"), {**document, "version": 2})
    for party in AGREEMENT["parties"]:
        signature = sign_document(world.keys[party], state.agreement.document())
        agreements.sign(world.line, Actor("party", party), 2, signature)


def head_on(world: World, distance_m: float, alt_b: float = 9000.0) -> None:
    for who, track, east, heading, alt in (
        ("alpha", "A1", -distance_m / 2, 90, 9000.0),
        ("charlie", "C1", distance_m / 2, 270, alt_b),
    ):
        lon = 10.0 + math.degrees(east / (EARTH * math.cos(math.radians(50.0))))
        body = {"id": track, "lat": 50.0, "lon": lon, "alt_m": alt, "gs_mps": 200.0, "track_deg": heading,
                "vrate_mps": 0.0, "time": iso(world.clock.now)}  # fmt: skip
        assert world.post(who, "/v1/tracks", {"tracks": [body]}).status_code == 202


def levels(world: World) -> list[str]:
    return [alert["level"] for alert in world.get("alpha", "/v1/alerts").json()]


def test_an_alert_is_raised_once_confirmed_and_cleared_after_a_quiet_while(world: World) -> None:
    adopt_defaults(world)
    head_on(world, 9260 + 400 * 50)  # loss of separation in 50 s: a warning, once confirmed
    tactical.evaluate(world.line)
    assert levels(world) == []  # one evaluation is not an alert
    world.clock.now += 1
    head_on(world, 9260 + 400 * 49)
    tactical.evaluate(world.line)
    assert levels(world) == ["warning"]
    with world.line.db.read() as session:
        events = [json.loads(data) for _, data in events_service.since(session, "alpha", 0)]
    assert [e["alert"]["level"] for e in events if e["type"] == "alert"] == ["warning"]  # nothing before it
    # C1 climbs away: nothing is predicted from the next second; 2 of the last 4 still confirm for
    # two more, then the alert is quiet and stays open at the lowest level for 15 s.
    for _ in range(17):
        world.clock.now += 1
        head_on(world, 9260 + 400 * 60, alt_b=12_000.0)
        tactical.evaluate(world.line)
    assert levels(world) == ["advisory"]  # held open at the lowest level until quiet for 15 s
    world.clock.now += 1
    head_on(world, 9260 + 400 * 60, alt_b=12_000.0)
    tactical.evaluate(world.line)
    assert levels(world) == []


def test_adjacent_levels_never_alert_on_the_line(world: World) -> None:
    adopt_defaults(world)
    for _ in range(6):  # head on, 975 ft apart as reported (FL350 and FL360, 25 ft off): level, so separated
        head_on(world, 20_000, alt_b=9000.0 + 975 * 0.3048)
        tactical.evaluate(world.line)
        world.clock.now += 1
    assert levels(world) == []


def test_the_review_counts_only_real_losses(world: World) -> None:
    """An encounter 975 ft apart as reported (two level aircraft at adjacent levels) is no loss; one
    700 ft apart is, and counts once."""
    adopt_defaults(world)
    start = world.clock.now
    for alt_b in (9000.0 + 975 * 0.3048, 9000.0 + 700 * 0.3048):
        for _ in range(8):  # passing each other, 2 km apart
            head_on(world, 2000, alt_b=alt_b)
            tactical.evaluate(world.line)
            world.clock.now += 1
        world.clock.now += 120  # stale, then cleared
        tactical.evaluate(world.line)
    review = review_data(world.line, Actor("admin"), start, world.clock.now)["alerts"]
    assert review["loss_of_separation"] == 1 and review["by_level"] == {"loss_of_separation": 1}


def test_a_version_signed_before_the_criteria_keeps_its_bytes(bare_world: World) -> None:
    world = bare_world
    with world.line.db.write() as session:
        session.add(AgreementVersion(version=1, document=OLD_DOCUMENT, proposed_by="admin", created_at=world.clock.now))
    for party in AGREEMENT["parties"]:
        signature = sign_document(world.keys[party], json.loads(OLD_DOCUMENT))
        agreements.sign(world.line, Actor("party", party), 1, signature)
    served = world.get("alpha", "/v1/agreements/1/document").content
    assert served == OLD_DOCUMENT.encode()
    with world.line.db.read() as session:
        agreement = rules_service.require_in_force(session)
    assert canonical_json(agreement.document()) == OLD_DOCUMENT.encode()
    rules = agreement.alerting_rules  # absent fields read as documented: early = alerting time, thresholds = minima
    assert [(lv.name, lv.alerting_s, lv.early_s, lv.h_m, lv.v_m) for lv in rules.levels] == [
        ("advisory", 300, 300, 9260, 304.8),
        ("warning", 120, 120, 9260, 304.8),
    ]
    assert (rules.confirmation.m, rules.confirmation.n, rules.confirmation.clear_after_s) == (2, 4, 15)
    assert rules.vertical_tolerance_m == pytest.approx(60.96)
    assert Agreement.model_validate(json.loads(OLD_DOCUMENT)).document() != json.loads(OLD_DOCUMENT)  # new: written out


def test_a_new_version_refuses_an_early_time_before_its_alerting_time(world: World) -> None:
    document = {**AGREEMENT, "version": 2, "alert_levels": [{"name": "advisory", "within_s": 120, "early_s": 60}]}
    refused = world.post("admin", "/v1/agreements", document)
    assert refused.status_code == 422 and "early_s" in refused.text
    bad = {**AGREEMENT, "version": 2, "confirmation": {"m": 5, "n": 4}}
    assert world.post("admin", "/v1/agreements", bad).status_code == 422


# --- the same alerts as replay -------------------------------------------------------------------

DATA = SHARED / "data"
PARTIES = ("alpha", "bravo", "charlie")


def window(recording: Recording, start: float, end: float) -> Recording:
    keep = (recording.time_s >= start) & (recording.time_s <= end)
    return Recording(
        recording.time_s[keep], recording.ids[keep], recording.lat[keep], recording.lon[keep], recording.alt_m[keep],
        recording.gs_mps[keep], recording.track_deg[keep], recording.vrate_mps[keep], {}, int(keep.sum()),
    )  # fmt: skip


@pytest.mark.skipif(not DATA.exists(), reason="the shared recordings are not in this checkout")
def test_the_service_gives_the_same_alerts_as_replay(world: World) -> None:
    """A stretch of real wildfire traffic posted through the API as it happened and evaluated by the
    service every second, against ``replay`` of the same reports."""
    adopt_defaults(world)
    recording = window(load_recording(DATA / "calfire.json.gz", "traffic-json"), 1599699300.0, 1599700200.0)
    aircraft = sorted({str(i) for i in recording.ids})
    party_of = {icao: PARTIES[k % len(PARTIES)] for k, icao in enumerate(aircraft)}
    with world.line.db.read() as session:
        agreement = rules_service.require_in_force(session)
    t = agreement.tactical
    from deconline.core.tactical import TacticalRules

    rules = TacticalRules(t.h_m, t.v_m, t.lookahead_s, agreement.max_track_age_s)
    expected: dict[float, set[tuple[str, str, str]]] = {}
    for row in replay(recording, rules, 1.0, party_of, alerting=agreement.alerting_rules):
        expected.setdefault(float(row["t"]), set()).add((row["a"], row["b"], row["level"]))

    got: dict[float, set[tuple[str, str, str]]] = {}
    k = 0
    for now in evaluation_times(recording, 1.0):
        while k < len(recording.time_s) and recording.time_s[k] <= now:
            report = _report(recording, k)
            world.clock.now = float(recording.time_s[k])
            assert world.post(party_of[report["id"]], "/v1/tracks", {"tracks": [report]}).status_code == 202
            k += 1
        world.clock.now = float(now)
        tactical.evaluate(world.line)
        with world.line.db.read() as session:
            open_alerts = list(session.scalars(select(Alert).where(Alert.state != "cleared")))
        shown = {(*sorted((a.a_track, a.b_track)), a.level) for a in open_alerts}
        if shown:
            got[float(now)] = shown  # type: ignore[assignment]
    assert expected, "the stretch holds alerts"
    assert got == expected


def _report(recording: Recording, k: int) -> dict[str, Any]:
    return {
        "id": str(recording.ids[k]),
        "lat": float(recording.lat[k]),
        "lon": float(recording.lon[k]),
        "alt_m": float(recording.alt_m[k]),
        "gs_mps": float(recording.gs_mps[k]),
        "track_deg": float(np.mod(recording.track_deg[k], 360.0)),
        "vrate_mps": float(recording.vrate_mps[k]),
        "time": iso(float(recording.time_s[k])),
    }


def test_a_selected_altitude_posted_on_the_track_caps_the_climb(world: World) -> None:
    """A climbs at 1,500 ft/min below B, level 1,000 ft above A's selected altitude: no alert when A's
    track says where it will level off, an alert when it does not."""
    adopt_defaults(world)
    fl, fpm = 100 * 0.3048, 0.3048 / 60

    def fly(selected: float | None) -> list[str]:
        for _ in range(4):
            lon_b = 10.0 + math.degrees(40_000 / (EARTH * math.cos(math.radians(50.0))))
            a = {"id": "A1", "lat": 50.0, "lon": 10.0, "alt_m": 330 * fl, "gs_mps": 230.0, "track_deg": 90.0,
                 "vrate_mps": 1500 * fpm, "time": iso(world.clock.now)}  # fmt: skip
            if selected is not None:
                a["selected_altitude_m"] = selected
            b = {"id": "C1", "lat": 50.0, "lon": lon_b, "alt_m": 350 * fl, "gs_mps": 230.0, "track_deg": 270.0,
                 "vrate_mps": 0.0, "time": iso(world.clock.now)}  # fmt: skip
            assert world.post("alpha", "/v1/tracks", {"tracks": [a]}).status_code == 202
            assert world.post("charlie", "/v1/tracks", {"tracks": [b]}).status_code == 202
            tactical.evaluate(world.line)
            world.clock.now += 1
        return levels(world)

    assert fly(340 * fl) == []
    assert fly(None) == ["advisory"]  # in about a minute


def test_an_agreement_with_fewer_levels_takes_over_an_open_warning(world: World) -> None:
    adopt_defaults(world)
    for distance in (9260 + 400 * 50, 9260 + 400 * 49):
        head_on(world, distance)
        tactical.evaluate(world.line)
        world.clock.now += 1
    assert levels(world) == ["warning"]
    document = {k: v for k, v in AGREEMENT.items() if k not in ("alert_levels", "confirmation")}
    state = agreements.propose(
        world.line, Actor("admin"), {**document, "version": 3, "alert_levels": [{"name": "caution", "within_s": 90}]}
    )
    for party in AGREEMENT["parties"]:
        agreements.sign(
            world.line, Actor("party", party), 3, sign_document(world.keys[party], state.agreement.document())
        )
    head_on(world, 9260 + 400 * 48)
    tactical.evaluate(world.line)
    assert levels(world) == ["caution"]
