"""Two service processes on one database: conflicting submissions never both end accepted.

Real processes (uvicorn), real sockets, real concurrent clients; on SQLite and PostgreSQL.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.helpers import box, make_world, server


def test_conflicting_submissions_to_two_processes_never_both_accepted(db_url: str) -> None:
    world = make_world(db_url)
    world.line.db.dispose()
    rounds = 12
    with server(db_url) as first, server(db_url) as second:
        clients = {
            who: httpx.Client(base_url=url, headers={"Authorization": f"Bearer {world.tokens[who]}"}, timeout=30)
            for who, url in (("alpha", first), ("charlie", second))
        }

        def submit(who: str, lon: float) -> str:
            body = {"volumes": [box(lon, 50.0, 3)]}
            response = clients[who].post("/v1/operations", **world.signed_request(who, "POST", "/v1/operations", body))
            assert response.status_code == 201, response.text
            state: str = response.json()["state"]
            return state

        with ThreadPoolExecutor(max_workers=4) as pool:
            for i in range(rounds):
                lon = 5.0 + i * 0.5  # each round in its own place
                states = list(pool.map(submit, ["alpha", "charlie"], [lon, lon]))
                assert sorted(states) == ["accepted", "proposed"], (i, states)
        for c in clients.values():
            c.close()


def test_an_acknowledged_filing_survives_kill_9(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db_url)
    world.line.db.dispose()
    headers = {"Authorization": f"Bearer {world.tokens['alpha']}"}
    with server(db_url) as url:
        bodies = [{"volumes": [box(5 + i, 50)]} for i in range(5)]
        ids = [
            httpx.post(f"{url}/v1/operations", **world.signed_request("alpha", "POST", "/v1/operations", b)).json()[
                "id"
            ]
            for b in bodies
        ]
    with server(db_url) as url:  # the first was killed with SIGKILL
        listed = httpx.get(f"{url}/v1/operations", headers=headers).json()
    assert [o["id"] for o in listed] == ids
    assert all(o["state"] == "accepted" for o in listed)


@pytest.mark.parametrize("n", [8])
def test_many_parallel_identical_submissions_accept_at_most_one(db_url: str, n: int) -> None:
    world = make_world(db_url)
    world.line.db.dispose()
    with server(db_url) as first, server(db_url) as second:
        urls = [first, second]
        who = ["alpha", "charlie"]

        def submit(i: int) -> tuple[str, str]:
            party = who[i % 2]
            body = {"volumes": [box()]}
            request = world.signed_request(party, "POST", "/v1/operations", body)
            response = httpx.post(f"{urls[(i // 2) % 2]}/v1/operations", timeout=30, **request)
            assert response.status_code == 201, response.text
            return party, response.json()["state"]

        with ThreadPoolExecutor(max_workers=n) as pool:
            results = list(pool.map(submit, range(n)))
    accepted_parties = {party for party, state in results if state == "accepted"}
    assert len(accepted_parties) <= 1, results
