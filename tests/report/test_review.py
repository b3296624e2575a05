"""The periodic review: known counts from a scenario, disclosure per reader, same bytes for the same data."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select, update

from deconline.report.review_html import render
from deconline.service.actors import Actor
from deconline.service.review import review_data
from deconline.store.models import CheckpointRow, ConflictNotice
from tests.report.scenario import END, SECRET_NAME, START, Scenario

ALPHA = Actor("party", "alpha", "allies")
BRAVO = Actor("party", "bravo", "allies")
CHARLIE = Actor("party", "charlie")


def data_for(s: Scenario, actor: Actor) -> dict[str, Any]:
    return review_data(s.world.line, actor, START, END)


def test_the_admin_review_counts_what_happened(shared: Scenario) -> None:
    data = data_for(shared, Actor("admin"))
    assert {k: data["operations"][k] for k in ("filed", "accepted", "in_conflict")} == {
        "filed": 4,  # patrol, tanker, far sortie, secret sortie
        "accepted": 3,  # all but the secret sortie (cancelled while proposed)
        "in_conflict": 2,  # the patrol and the secret sortie
    }
    conflicts = data["conflicts"]
    assert (conflicts["opened"], conflicts["resolved"], conflicts["open_at_end"]) == (3, 3, 0)
    assert conflicts["outcomes"] == {
        "cancelled": {"resolved": 2, "after_request": 2},  # one notice to each owner, both asked about
        "hazard withdrawn": {"resolved": 1, "after_request": 0},  # opened after the request: not about it
    }
    assert conflicts["resolutions"] == {"hazard_withdrawn": 1, "other_cancelled": 1, "own_cancelled": 1}
    assert conflicts["by_request"] == 2 and conflicts["by_kind"] == {"hazard": 1, "operation": 2}
    assert {k: data["hazards"][k] for k in ("declared", "withdrawn")} == {"declared": 1, "withdrawn": 1}

    alerts = data["alerts"]
    assert alerts["raised"] == 2 and alerts["by_kind"] == {"nonconformance": 1, "separation": 1}
    assert alerts["by_level"] == {"loss_of_separation": 1, "nonconformance": 1}  # advisory → warning → LoS
    assert alerts["loss_of_separation"] == 1 and alerts["losses"][0]["parties"] == ["alpha", "charlie"]
    assert alerts["nonconformance_s"] == 300.0 and alerts["nonconformance_by_party"] == {"alpha": 300.0}

    hotline = data["hotline"]
    assert hotline["by_kind"] == {
        "comm_check": 1, "deconfliction_request": 1, "notice": 2, "resolution": 2, "safety_alert": 1
    }  # fmt: skip
    # the two sides' coordinated resolutions of the warning went unanswered too
    assert (hotline["acknowledgements"], hotline["late_acknowledgements"], hotline["never_acknowledged"]) == (5, 1, 5)
    assert hotline["resolutions"] == {"proposed": 2, "accepted": 0, "rejected": 0, "unanswered": 2}
    assert sorted((d["kind"], d["deadline_s"], d["delay_s"]) for d in hotline["delays"]) == [
        ("comm_check", 120.0, 10.0),
        ("comm_check", 120.0, 100.0),
        ("deconfliction_request", 600.0, 80.0),
        ("safety_alert", 60.0, 30.0),
        ("safety_alert", 60.0, 100.0),
    ]
    assert hotline["overdue"] == 6 and hotline["overdue_silent"] == {"alpha": 3, "charlie": 3}
    assert hotline["escalations"] == 3 and hotline["escalations_by_contact"] == {"bravo": 3}
    health = {h["party"]: h for h in hotline["comm_checks"]}
    assert (health["alpha"]["in_time"], health["bravo"]["median_delay_s"], health["charlie"]["missed"]) == (1, 100.0, 1)

    assert [(v["version"], v["in_force_until"] is None) for v in data["agreements"]] == [(1, False), (2, True)]
    assert [s["party"] for s in data["agreements"][1]["signatures"]] == ["alpha", "bravo", "charlie"]
    record = data["record"]
    assert record["checkpoints"] == 3 and record["consistency"]["consistent"] is True
    assert record["consistency"]["first"]["size"] < record["consistency"]["last"]["size"] == record["size_at_end"]


def test_a_party_review_is_its_own_side_and_its_own_aircraft(shared: Scenario) -> None:
    alpha = data_for(shared, ALPHA)
    assert sorted(o["name"] for o in alpha["operations"]["items"]) == ["alpha patrol", "bravo tanker"]  # group's too
    assert [
        (n["kind"], n["other_party"], n["resolution"], n["after_request"]) for n in alpha["conflicts"]["items"]
    ] == [
        ("operation", "charlie", "other_cancelled", True),
        ("hazard", "bravo", "hazard_withdrawn", False),
    ]
    assert alpha["conflicts"]["items"][0]["other_ref"].startswith("ref_")
    assert alpha["alerts"]["raised"] == 2 and alpha["alerts"]["closest"][0]["other_track"] == "C1"
    assert {p["kind"] for p in alpha["map"]["encounters"]} == {"separation", "nonconformance"}
    assert alpha["hotline"]["messages"] == 6 and alpha["hotline"]["escalations"] == 0

    charlie = data_for(shared, CHARLIE)
    assert sorted(o["name"] for o in charlie["operations"]["items"]) == ["charlie far sortie", SECRET_NAME]
    assert charlie["alerts"]["by_kind"] == {"separation": 1}  # alpha's nonconformance is alpha's
    assert [p["kind"] for p in charlie["map"]["encounters"]] == ["separation"]
    assert charlie["hotline"]["by_kind"] == {
        "comm_check": 1, "deconfliction_request": 1, "resolution": 1, "safety_alert": 1
    }  # fmt: skip
    assert charlie["conflicts"]["outcomes"] == {"cancelled": {"resolved": 1, "after_request": 1}}

    bravo = data_for(shared, BRAVO)
    assert bravo["alerts"]["raised"] == 0  # alpha's group, but not its aircraft
    assert [e["silent"] for e in bravo["hotline"]["escalation_items"]] == ["charlie"] * 3


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def test_a_party_review_holds_nothing_of_another_party_the_api_would_not_show(shared: Scenario) -> None:
    world, ids = shared.world, shared.ids
    with world.line.db.read() as session:
        others = set(
            session.scalars(select(ConflictNotice.other_operation_id).where(ConflictNotice.party_id == "alpha"))
        )
    charlie_things = [ids["secret"], ids["far"], SECRET_NAME, "charlie far sortie", *shared.charlie_coordinates]
    charlie_things += [o for o in others if o]
    alpha = data_for(shared, ALPHA)
    page = render(alpha).decode()
    assert _leaks(json.dumps(alpha), charlie_things) == []
    assert _leaks(page, charlie_things) == []
    assert "charlie" in page and alpha["conflicts"]["items"][0]["other_ref"] in page  # what it may see, it sees

    alpha_things = [ids["patrol"], ids["tanker"], "alpha patrol", "bravo tanker", *shared.alpha_coordinates]
    charlie = data_for(shared, CHARLIE)
    assert _leaks(json.dumps(charlie) + render(charlie).decode(), alpha_things) == []


def test_admin_and_auditor_reviews_hold_counts_and_timing_only(shared: Scenario) -> None:
    ids = shared.ids
    names = ["alpha patrol", "bravo tanker", "charlie far sortie", SECRET_NAME, "SAM"]
    for actor in (Actor("admin"), Actor("auditor")):
        data = data_for(shared, actor)
        text = json.dumps(data)
        assert "map" not in data and "items" not in data["operations"] and "positions" not in data["alerts"]
        assert not re.search(r'"(lat|lon|footprint|coordinates|radius_m|own_track|other_track)"', text)
        page = render(data).decode()
        assert "<img" in page and "Map of" not in page
        for leak in (*ids.values(), *names, *shared.charlie_coordinates, *shared.alpha_coordinates):
            assert leak not in text, (actor.role, leak)
            assert leak not in re.sub(r'src="data:image/png;base64,[^"]*"', "", page), (actor.role, leak)
    auditor = data_for(shared, Actor("auditor"))
    assert all("rules" not in v and "title" not in v for v in auditor["agreements"])


def test_same_data_same_bytes_and_every_text_escaped(shared: Scenario) -> None:
    first = data_for(shared, ALPHA)
    second = data_for(shared, ALPHA)
    assert first == second
    page = render(first)
    assert render(second) == page
    text = page.decode()
    assert "SAM &lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script" not in text
    assert text.count("<img ") == 4  # resolutions, alerts over time, the map, acknowledgement delays
    assert all(alt for alt in re.findall(r'<img [^>]*alt="([^"]*)"', text))
    assert "http://" not in text and "https://" not in text  # nothing to fetch: it opens offline
    assert [m.group(1) for m in re.finditer(r'<section id="(\w+)"', text)] == [
        "operations",
        "hazards",
        "alerts",
        "hotline",
        "agreement",
        "record",
    ]


def test_a_tampered_checkpoint_fails_the_consistency_check(scenario: Scenario) -> None:
    world = scenario.world
    with world.line.db.write() as session:
        last = max(session.scalars(select(CheckpointRow.size)))
        session.execute(update(CheckpointRow).where(CheckpointRow.size == last).values(root="00" * 32))
    check = data_for(scenario, Actor("auditor"))["record"]["consistency"]
    assert check["consistent"] is False and "does not match its stored root" in check["detail"]
    assert "NOT CONSISTENT" in render(data_for(scenario, Actor("auditor"))).decode()


def test_a_period_without_activity_still_renders(shared: Scenario) -> None:
    data = review_data(shared.world.line, ALPHA, END + 86_400, END + 2 * 86_400)
    assert data["operations"]["filed"] == 0 and data["alerts"]["series"] == []
    assert data["record"]["consistency"] == {"checked": False, "detail": "no checkpoint was published in the period"}
    page = render(data).decode()
    assert "<img" not in page and "None in this period." in page
