"""GET /v1/review: who may ask, what a bad period gets, and the same data as the service gives."""

from __future__ import annotations

from deconline.service.actors import Actor
from deconline.service.review import review_data
from tests.helpers import World
from tests.report.scenario import END, START, Scenario, iso

PERIOD = {"from": iso(START), "to": iso(END)}


BAD_PERIODS = [
    ({"to": "2036-11-23T07:00:00Z"}, "from"),
    ({"from": "2036-11-23T07:00:00Z"}, "to"),
    ({"from": "yesterday", "to": "2036-11-23T07:00:00Z"}, "not an ISO 8601 time"),
    ({"from": "2036-11-23T06:00:00", "to": "2036-11-23T07:00:00Z"}, "needs a time zone"),
    ({"from": "2036-11-23T07:00:00Z", "to": "2036-11-23T06:00:00Z"}, "'to' must be after 'from'"),
    ({"from": "2036-11-23T06:00:00Z", "to": "2036-11-23T06:00:00Z"}, "'to' must be after 'from'"),
    ({"from": "2035-01-01T00:00:00Z", "to": "2036-11-23T06:00:00Z"}, "at most 366 days"),
    ({"from": "1900-01-01T00:00:00Z", "to": "1900-02-01T00:00:00Z"}, "between 1970-01-01 and 9999-12-31"),
    ({"from": "9999-12-31T23:00:00-14:00", "to": "9999-12-31T23:30:00-14:00"}, "between"),
    ({"from": "2036-11-23T06:00:00Z", "to": "x" * 65}, "at most 64 characters"),
]


def test_no_token_is_a_401_and_a_bad_period_a_422_that_says_why(world: World) -> None:
    assert world.client.get("/v1/review", params=PERIOD).status_code == 401
    for params, says in BAD_PERIODS:
        response = world.get("alpha", "/v1/review", params=params)
        assert response.status_code == 422, (params, response.text)
        assert says in response.text, (params, response.text)


def test_each_token_gets_its_own_review(shared: Scenario) -> None:
    world = shared.world
    alpha = world.get("alpha", "/v1/review", params=PERIOD)
    assert alpha.status_code == 200, alpha.text
    assert alpha.json() == review_data(world.line, Actor("party", "alpha", "allies"), START, END)
    assert "map" in alpha.json() and shared.ids["secret"] not in alpha.text
    admin = world.get("admin", "/v1/review", params=PERIOD).json()
    assert admin["viewer"] == {"role": "admin", "party": None, "side": []}
    assert "map" not in admin and admin["operations"]["filed"] == 4 and alpha.json()["operations"]["filed"] == 2
    auditor = world.get("auditor", "/v1/review", params=PERIOD)
    assert auditor.status_code == 200 and "footprint" not in auditor.text
