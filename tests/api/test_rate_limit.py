"""Per-token rate limits: the bucket with a clock the test sets, then the service answering 429 with
Retry-After to one token while another is still served, and recovering after the time it gave."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from deconline.api.app import create_app
from deconline.api.metrics import Metrics
from deconline.api.ratelimit import DEFAULT_LIMIT, RateLimit, RateLimited, TokenBuckets, exempt, retry_after
from deconline.cli import app as cli
from tests.helpers import Clock, box, make_world, server

# -- the bucket, on a clock the test moves ------------------------------------------------------


def buckets(rate: float, burst: int, max_buckets: int = 1000) -> tuple[TokenBuckets, Clock]:
    clock = Clock(1000.0)
    return TokenBuckets(RateLimit(rate, burst), clock, max_buckets), clock


def test_a_fresh_token_may_send_its_burst_at_once_then_waits() -> None:
    limit, _ = buckets(rate=10, burst=5)
    assert [limit.take("a") for _ in range(5)] == [0.0] * 5
    assert limit.take("a") == pytest.approx(0.1)  # one unit comes back in 1/rate s
    assert limit.take("a") == pytest.approx(0.1)  # a refusal takes nothing
    assert limit.take("b") == 0.0  # another key has its own bucket


def test_the_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    limit, clock = buckets(rate=10, burst=5)
    for _ in range(5):
        limit.take("a")
    clock.now += 0.05
    assert limit.take("a") == pytest.approx(0.05)  # half a unit back: half of 1/rate still to wait
    clock.now += 0.05
    assert limit.take("a") == 0.0
    assert limit.take("a") > 0
    clock.now += 3600  # idle for an hour: full again, but never more than the burst
    assert [limit.take("a") for _ in range(5)] == [0.0] * 5
    assert limit.take("a") > 0


def test_sustained_requests_at_the_rate_are_all_served() -> None:
    limit, clock = buckets(rate=50, burst=100)
    served = 0
    for _ in range(1000):  # 20 s at exactly 50 a second
        clock.now += 0.02
        served += limit.take("a") == 0.0
    assert served == 1000


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert retry_after(0.0) == 1
    assert retry_after(0.02) == 1
    assert retry_after(1.0) == 1
    assert retry_after(1.01) == 2
    limit, clock = buckets(rate=0.25, burst=1)  # one request every 4 s
    assert limit.take("a") == 0.0
    clock.now += 1
    assert retry_after(limit.take("a")) == 3
    clock.now += 3
    assert limit.take("a") == 0.0


def test_idle_buckets_are_dropped_and_memory_stays_bounded() -> None:
    limit, clock = buckets(rate=10, burst=5, max_buckets=100)
    for i in range(50):
        limit.take(f"k{i}")
    assert len(limit) == 50
    clock.now += 0.4  # not yet full again (5 / 10 = 0.5 s): kept, they still owe something
    limit.take("fresh")
    assert len(limit) == 51
    clock.now += 0.1  # full again: dropping them changes nothing for anyone
    limit.take("fresh")
    assert len(limit) == 1
    for i in range(1000):  # a flood of distinct keys at one instant: the cap holds
        limit.take(f"flood{i}")
    assert len(limit) == 100


def test_a_key_dropped_by_the_cap_starts_again_with_its_burst() -> None:
    limit, _ = buckets(rate=1, burst=2, max_buckets=2)
    limit.take("a")
    limit.take("a")
    assert limit.take("a") > 0
    limit.take("b")
    limit.take("c")  # "a" is the least recently used: dropped
    assert limit.take("a") == 0.0


def test_threads_taking_at_once_never_get_more_than_the_burst() -> None:
    limit, _ = buckets(rate=1, burst=200)
    served = [0] * 8

    def hammer(i: int) -> None:
        for _ in range(100):
            served[i] += limit.take("shared") == 0.0

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(served) == 200  # the clock stands still: exactly the burst, no lost update


def test_rate_limit_parses_the_option() -> None:
    assert RateLimit.parse("50/100") == RateLimit(50, 100) == DEFAULT_LIMIT
    assert RateLimit.parse("20") == RateLimit(20, 40)  # two seconds' worth
    assert RateLimit.parse("0.5") == RateLimit(0.5, 1)
    assert RateLimit.parse(" OFF ") is None
    assert RateLimit.parse("0") is None
    for bad in ("fast", "10/x", "-1", "10/0", "nan", "inf", "1/2/3"):
        with pytest.raises(ValueError):
            RateLimit.parse(bad)


def test_exempt_paths() -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/", "/console/js/app.js", "/docs", "/openapi.json"):
        assert exempt(path), path
    for path in ("/v1/operations", "/v1/events", "/healthz/x", "/documents", "/v1/docs"):
        assert not exempt(path), path


# -- the middleware alone, on a clock the test moves -----------------------------------------------


def test_the_middleware_refuses_recovers_and_logs_once_a_minute(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(f"sqlite:///{tmp_path / 'line.db'}")
    metrics = Metrics(world.line)
    clock = Clock(1000.0)
    inner = TestClient(create_app(world.line, rate_limit=None)).app
    client = TestClient(RateLimited(inner, RateLimit(0.5, 2), metrics, clock))
    alpha = bearer(world.tokens["alpha"])
    caplog.set_level(logging.WARNING, logger="deconline.api")
    assert [client.get("/v1/whoami", headers=alpha).status_code for _ in range(2)] == [200, 200]
    for _ in range(3):
        refused = client.get("/v1/whoami", headers=alpha)
        assert (refused.status_code, refused.headers["Retry-After"]) == (429, "2")
    token_id = hashlib.sha256(world.tokens["alpha"].encode()).hexdigest()[:12]
    assert [r.getMessage() for r in caplog.records] == [
        f"rate limit: refusing token {token_id}, at most 0.5 per second (burst 2) (logged once a minute)"
    ]
    clock.now += 2  # the Retry-After it was given
    assert client.get("/v1/whoami", headers=alpha).status_code == 200
    assert client.get("/v1/whoami", headers=alpha).status_code == 429
    assert len(caplog.records) == 1
    clock.now += 60
    assert client.get("/v1/whoami", headers=alpha).status_code == 200
    assert client.get("/v1/whoami", headers=alpha).status_code == 200
    assert client.get("/v1/whoami", headers=alpha).status_code == 429
    assert len(caplog.records) == 2
    assert metrics.registry.get_sample_value("deconline_rate_limited_total") == 5


# -- through the application ---------------------------------------------------------------------


@pytest.fixture
def limited(tmp_path: Path) -> tuple[TestClient, dict[str, str]]:
    """An app where each token may send one request, then one more every 1000 s."""
    world = make_world(f"sqlite:///{tmp_path / 'line.db'}")
    client = TestClient(create_app(world.line, rate_limit=RateLimit(0.001, 1)), raise_server_exceptions=False)
    return client, world.tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_over_the_limit_a_token_gets_429_with_retry_after_and_a_detail(
    limited: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = limited
    assert client.get("/v1/operations", headers=bearer(tokens["alpha"])).status_code == 200
    refused = client.get("/v1/operations", headers=bearer(tokens["alpha"]))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1000"
    assert refused.headers["X-Request-ID"]  # answered inside the request-id middleware, like any other
    assert refused.json() == {
        "detail": "too many requests for this token: at most 0.001 per second (burst 1); retry after 1000 s"
    }
    assert client.get("/v1/operations", headers=bearer(tokens["charlie"])).status_code == 200  # not starved
    metrics = client.get("/metrics", headers=bearer(tokens["auditor"])).text
    assert "deconline_rate_limited_total 1.0" in metrics
    assert 'route="unmatched",status="429"' in metrics


def test_exempt_routes_are_never_limited(limited: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = limited
    auditor = bearer(tokens["auditor"])
    for _ in range(5):
        assert client.get("/healthz", headers=auditor).status_code == 200
        assert client.get("/readyz", headers=auditor).status_code == 200
        assert client.get("/metrics", headers=auditor).status_code == 200
        assert client.get("/", headers=auditor).status_code == 200
        assert client.get("/console/favicon.svg", headers=auditor).status_code == 200
        assert client.get("/docs", headers=auditor).status_code == 200
        assert client.get("/openapi.json", headers=auditor).status_code == 200
    assert client.get("/v1/record/key", headers=auditor).status_code == 200  # its one request is still there
    assert client.get("/v1/record/key", headers=auditor).status_code == 429


def test_without_a_token_the_client_address_is_limited(limited: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = limited
    assert client.get("/v1/operations").status_code == 401
    refused = client.get("/v1/operations")
    assert refused.status_code == 429 and "for this address" in refused.json()["detail"]
    assert client.get("/v1/operations", headers=bearer(tokens["alpha"])).status_code == 200


def test_off_means_no_limit(tmp_path: Path) -> None:
    world = make_world(f"sqlite:///{tmp_path / 'line.db'}")
    client = TestClient(create_app(world.line, rate_limit=None))
    assert all(client.get("/v1/operations").status_code == 401 for _ in range(20))


def test_serve_refuses_a_malformed_rate_limit(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'line.db'}"
    result = CliRunner().invoke(cli, ["--db", db, "serve", "--rate-limit", "lots"])
    assert result.exit_code == 2
    assert "'lots' is not a rate limit: give RATE or RATE/BURST" in result.output
    from_env = CliRunner().invoke(cli, ["--db", db, "serve"], env={"DECONLINE_RATE_LIMIT": "-5/10"})
    assert from_env.exit_code == 2
    assert "'-5/10' is not a rate limit" in from_env.output


# -- a real server ------------------------------------------------------------------------------


def test_a_real_server_limits_one_token_serves_another_and_recovers(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db_url)
    world.line.db.dispose()
    burst = 5
    with server(db_url, "--rate-limit", f"1/{burst}") as url:
        alpha = httpx.Client(base_url=url, headers=bearer(world.tokens["alpha"]), timeout=30)
        charlie = httpx.Client(base_url=url, headers=bearer(world.tokens["charlie"]), timeout=30)
        body = {"volumes": [box()]}
        # Refilling one a second, twenty requests cannot all pass unless each took over a second.
        statuses = []
        for _ in range(20):
            response = alpha.post("/v1/operations", **world.signed_request("alpha", "POST", "/v1/operations", body))
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        assert statuses[-1] == 429 and statuses[:burst] == [201] * burst, statuses
        wait = int(response.headers["Retry-After"])
        assert wait == 1  # under one unit short at one a second
        assert "retry after 1 s" in response.json()["detail"]
        assert all(charlie.get("/v1/operations").status_code == 200 for _ in range(burst))  # not starved
        time.sleep(wait)
        assert alpha.get("/v1/operations").status_code == 200  # recovered after the time it was told
        for c in (alpha, charlie):
            c.close()
