"""A party lists its own entries (to check their inclusion in the browser), and nobody else's."""

from __future__ import annotations

from deconline.service import record as record_service
from tests.helpers import World, box


def test_own_entries_only_newest_first(world: World) -> None:
    mine = world.file("alpha", box(), name="mine")
    world.file("charlie", box(lon=12.0), name="theirs")
    entries = world.get("alpha", "/v1/record/mine").json()
    assert entries and all(set(e) == {"index", "kind", "time"} for e in entries)
    indices = [e["index"] for e in entries]
    assert indices == sorted(indices, reverse=True)
    for entry in entries:  # each is one alpha may open, and its own
        opened = world.get("alpha", f"/v1/record/entries/{entry['index']}")
        assert opened.status_code == 200 and '"author":"alpha"' in opened.json()["entry"]
    assert mine["id"] in world.get("alpha", f"/v1/record/entries/{indices[0]}").json()["entry"]
    theirs = world.get("charlie", "/v1/record/mine").json()
    assert not set(indices) & {e["index"] for e in theirs}
    bravo = world.get("bravo", "/v1/record/mine").json()  # the group shares data, not authorship
    assert [e["kind"] for e in bravo] == ["agreement.signed"] and not set(indices) & {e["index"] for e in bravo}
    assert len(world.get("alpha", "/v1/record/mine", params={"limit": 1}).json()) == 1
    assert world.get("alpha", "/v1/record/mine", params={"limit": 0}).status_code == 422
    assert world.get("admin", "/v1/record/mine").status_code == 403
    assert world.get("auditor", "/v1/record/mine").status_code == 403
    assert world.client.get("/v1/record/mine").status_code == 401


def test_the_checkpoint_says_when_it_was_published(world: World) -> None:
    world.file("alpha", box())
    with world.line.db.write() as session:
        record_service.publish_checkpoint(world.line.record, session, world.clock.now)
    response = world.get("alpha", "/v1/record/checkpoint")
    assert response.status_code == 200
    assert response.headers["x-deconline-checkpoint-time"].startswith("2036-11-23T06:00:00")
