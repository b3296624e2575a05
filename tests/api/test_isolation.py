"""Every route, called across parties: nobody reads or changes another side's data."""

from __future__ import annotations

from tests.helpers import World, box


def test_other_party_cannot_read_list_or_change_an_operation(world: World) -> None:
    op = world.file("alpha", box())
    path = f"/v1/operations/{op['id']}"
    assert world.get("charlie", path).status_code == 404
    assert world.get("charlie", "/v1/operations").json() == []
    put = world.put("charlie", path, {"version": 1, "volumes": [box(12, 50)]})
    assert put.status_code == 404
    assert world.post("charlie", f"{path}/state", {"version": 1, "state": "cancelled"}).status_code == 404
    assert world.post("charlie", f"{path}/check", {"version": 1}).status_code == 404
    # Unchanged, as its owner sees it.
    assert world.get("alpha", path).json() == op


def test_not_found_and_foreign_look_the_same(world: World) -> None:
    op = world.file("alpha", box())
    foreign = world.get("charlie", f"/v1/operations/{op['id']}")
    missing = world.get("charlie", "/v1/operations/op_0000000000000000")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"].replace(op["id"], "X") == missing.json()["detail"].replace(
        "op_0000000000000000", "X"
    )


def test_group_member_reads_but_cannot_change(world: World) -> None:
    op = world.file("alpha", box())
    path = f"/v1/operations/{op['id']}"
    assert world.get("bravo", path).json()["id"] == op["id"]
    assert [o["id"] for o in world.get("bravo", "/v1/operations").json()] == [op["id"]]
    response = world.post("bravo", f"{path}/state", {"version": 1, "state": "cancelled"})
    assert response.status_code == 403 and "owner" in response.json()["detail"]


def test_lists_hold_only_ones_own_side(world: World) -> None:
    world.file("alpha", box(10, 50))
    world.file("charlie", box(12, 50))
    assert {o["party"] for o in world.get("alpha", "/v1/operations").json()} == {"alpha"}
    assert {o["party"] for o in world.get("bravo", "/v1/operations").json()} == {"alpha"}
    assert {o["party"] for o in world.get("charlie", "/v1/operations").json()} == {"charlie"}


def test_no_response_to_the_filer_reveals_the_other_operation(world: World) -> None:
    theirs = world.file("alpha", box(10.0, 50.0, 1, lower=1500, upper=1600))
    mine = world.file("charlie", box(10.0, 50.0, 30, lower=0, upper=10_000, start_h=0, end_h=10))
    for response in (
        world.get("charlie", f"/v1/operations/{mine['id']}"),
        world.get("charlie", "/v1/operations"),
        world.post("charlie", f"/v1/operations/{mine['id']}/check", {"version": 1}),
    ):
        text = response.text
        assert theirs["id"] not in text
        assert "1600" not in text.replace("1600.0", "")  # the other band's top never appears as such


def test_tokens_and_roles(world: World) -> None:
    assert world.client.get("/v1/operations").status_code == 401
    bad = world.client.get("/v1/operations", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    for path in ("/v1/operations", "/v1/hazards", "/v1/agreements", "/v1/parties"):
        assert world.get("auditor", path).status_code == 403, path
    assert world.post("admin", "/v1/operations", {"volumes": [box()]}).status_code == 403
    assert world.post("auditor", "/v1/hazards", {"kind": "other", "volume": box()}).status_code == 403
    assert world.client.get("/healthz").json()["status"] == "ok"


def test_only_the_admin_registers_parties(world: World) -> None:
    body = {"id": "delta", "public_key": "A" * 43 + "="}
    assert world.post("alpha", "/v1/parties", body).status_code == 403
    created = world.post("admin", "/v1/parties", body)
    assert created.status_code == 201 and created.json()["token"].startswith("dl_")
    assert world.client.get("/v1/whoami", headers={"Authorization": f"Bearer {created.json()['token']}"}).json() == {
        "role": "party",
        "party": "delta",
        "group": None,
        "line": world.line_id(),
    }


def test_only_named_surveillance_providers_post_unaffiliated_traffic(world: World) -> None:
    """No party may post as nobody's: the agreement in force (here: naming none) says who may."""
    from tests.api.test_tactical import report

    body = {"tracks": [report(world, "U1", 0, 3000, 90)], "unaffiliated": True}
    for who in ("alpha", "bravo", "charlie"):
        response = world.post(who, "/v1/tracks", body)
        assert response.status_code == 403 and "surveillance provider" in response.json()["detail"]
    assert all(t["id"] != "U1" for who in ("alpha", "charlie") for t in world.get(who, "/v1/tracks").json())


def test_notices_and_hazard_changes_stay_on_their_side(world: World) -> None:
    theirs = world.file("charlie", box(10.0, 50.0, 10), name="range day")
    mine = world.file("alpha", box(10.05, 50.0, 3, lower=1500), name="patrol")
    told = world.get("charlie", "/v1/notices")
    assert told.status_code == 200 and {n["operation"] for n in told.json()} == {theirs["id"]}
    assert mine["id"] not in told.text and "patrol" not in told.text
    assert world.get("charlie", "/v1/notices", params={"operation": mine["id"]}).json() == []
    assert {n["operation"] for n in world.get("bravo", "/v1/notices").json()} == {mine["id"]}
    hazard = world.post("alpha", "/v1/hazards", {"kind": "other", "volume": box(30, 50)}).json()
    body = {"kind": "other", "volume": box(31, 50), "version": 1}
    assert world.put("charlie", f"/v1/hazards/{hazard['id']}", body).status_code == 403
    assert world.put("bravo", f"/v1/hazards/{hazard['id']}", body).status_code == 403  # group member: not its own
    assert world.get("alpha", f"/v1/hazards/{hazard['id']}").json()["version"] == 1
