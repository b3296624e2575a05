"""Per-token rate limits: one party cannot starve the others by sending requests faster than the
service can answer everyone.

A token bucket per API token, keyed by the SHA-256 hash of the bearer token (the same hash the
database keeps, so the token itself is never held here, and its first 12 hex digits are the id
``deconline token list`` shows); a request without a token is keyed by its client address. A
request takes one unit from its bucket; the bucket refills at ``rate`` units a second up to
``burst``. An empty bucket answers ``429 Too Many Requests`` with ``Retry-After`` (whole seconds,
at least 1) and a ``detail`` saying the limit, before any route, database or signature work.

**The default, 50 requests a second with a burst of 100 per token**, is far above what anything
that is used normally sends: the demo's feeder posts one batch of tracks a second per party, the
console loads its views with a few dozen requests at sign-in and then listens to one event stream,
and a planning tool filing a day's operations at once fits in the burst. It is well below what one
instance answers (about 140 signed filings a second on SQLite, several hundred reads), so a single
runaway script or a client retrying in a tight loop can take at most a fraction of the service
while every other token keeps being served. ``serve --rate-limit RATE[/BURST]`` (or
``DECONLINE_RATE_LIMIT``) changes it, ``off`` switches it off (benchmarks that push one token as
hard as they can).

What it deliberately is not:

- **Per process, in memory.** No database access and no shared state, so it costs a dictionary
  lookup under an uncontended lock. With N instances behind a proxy the effective limit for a
  token is up to N times the configured one (each instance has its own buckets); that is enough
  to stop one party starving the others and is accepted.
- **Not a defence against token guessing.** A request with an unknown token has a bucket of its
  own and is answered ``401`` after one indexed lookup; memory stays bounded all the same (see
  :class:`TokenBuckets`).

Exempt, so monitoring and the console's files never see a ``429``: ``/healthz``, ``/readyz``,
``/metrics``, the console (``/`` and ``/console/…``), ``/docs``, ``/openapi.json`` and the
documentation's own files. An event stream (``/v1/events``) is one request: it counts once, when
it is opened, however long it stays open.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from deconline.api.metrics import Metrics

log = logging.getLogger("deconline.api")

DEFAULT_RATE = 50.0
DEFAULT_BURST = 100
LOG_EVERY_S = 60.0
MAX_BUCKETS = 100_000  # about 15 MB at worst; far more tokens and addresses than a line has
EXEMPT_PATHS = frozenset({"/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/favicon.ico"})
EXEMPT_PREFIXES = ("/console/", "/docs/", "/static-offline-docs/")


@dataclass(frozen=True)
class RateLimit:
    """``rate`` requests a second sustained, ``burst`` at once (the bucket's size)."""

    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError("the rate must be a number of requests a second above 0")
        if self.burst < 1:
            raise ValueError("the burst must be at least 1")

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """``RATE``, ``RATE/BURST`` or ``off`` (None). Without a burst, two seconds' worth (at least 1)."""
        value = text.strip().lower()
        if value in ("off", "none", "0"):
            return None
        rate_text, _, burst_text = value.partition("/")
        try:
            rate = float(rate_text)
            if not (math.isfinite(rate) and rate > 0):
                raise ValueError(rate)
            return cls(rate, int(burst_text) if burst_text else max(1, math.ceil(2 * rate)))
        except ValueError:
            raise ValueError(
                f"'{text}' is not a rate limit: give RATE or RATE/BURST (e.g. 50/100: 50 requests a second, "
                "100 at once), or off"
            ) from None

    def describe(self) -> str:
        return f"at most {self.rate:g} per second (burst {self.burst})"


DEFAULT_LIMIT = RateLimit()


class _Bucket:
    __slots__ = ("at", "level")

    def __init__(self, level: float, at: float) -> None:
        self.level, self.at = level, at


class TokenBuckets:
    """A token bucket per key, thread-safe, in bounded memory.

    Buckets are kept in least-recently-used order. A bucket idle for ``burst / rate`` seconds is
    full again, exactly as if it had never existed, so it is dropped at no cost to anyone; beyond
    ``max_buckets`` the least recently used are dropped too (which only ever forgives: a dropped
    key starts again with a full burst). Each call does O(1) work, amortised.
    """

    def __init__(
        self, limit: RateLimit, clock: Callable[[], float] = time.monotonic, max_buckets: int = MAX_BUCKETS
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.max_buckets = max_buckets
        self.refill_s = limit.burst / limit.rate  # from empty to full
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one unit for ``key``: 0.0 when the request may go, otherwise the seconds until it may."""
        limit = self.limit
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(limit.burst), now)
            else:
                self._buckets.move_to_end(key)
                bucket.level = min(float(limit.burst), bucket.level + max(0.0, now - bucket.at) * limit.rate)
                bucket.at = now
            if bucket.level >= 1.0 - 1e-9:  # a request on time must not be refused for the clock's rounding
                bucket.level -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - bucket.level) / limit.rate
            self._evict(now)
            return wait

    def _evict(self, now: float) -> None:
        buckets = self._buckets
        while buckets:
            oldest = next(iter(buckets.values()))
            if now - oldest.at < self.refill_s and len(buckets) <= self.max_buckets:
                break
            buckets.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)


def retry_after(wait_s: float) -> int:
    """Whole seconds for ``Retry-After``: rounded up, never 0 (a client told 0 would retry at once)."""
    return max(1, math.ceil(wait_s))


def exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)


def _caller(scope: Scope) -> tuple[str, bool]:
    """The bucket's key and whether it is a token's (else the client address's)."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credentials = bytes(value).decode("latin-1").strip().partition(" ")
            credentials = credentials.strip()
            if scheme.lower() == "bearer" and credentials:
                return "t:" + hashlib.sha256(credentials.encode("utf-8")).hexdigest(), True  # as parties.hash_token
            break
    client = scope.get("client")
    return "a:" + (str(client[0]) if client else "unknown"), False


class RateLimited:
    """ASGI middleware: refuses a caller over its limit with ``429``, ``Retry-After`` and a ``detail``."""

    def __init__(
        self, app: ASGIApp, limit: RateLimit, metrics: Metrics, clock: Callable[[], float] | None = None
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(limit, clock) if clock is not None else TokenBuckets(limit)
        self.metrics = metrics
        self._logged: dict[str, float] = {}  # key -> when a refusal of it was last logged

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or exempt(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        key, is_token = _caller(scope)
        wait = self.buckets.take(key)
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        seconds = retry_after(wait)
        who = "this token" if is_token else "this address"
        self.metrics.rate_limited.inc()
        self._log_refusal(key, is_token)
        body = json.dumps(
            {"detail": f"too many requests for {who}: {self.buckets.limit.describe()}; retry after {seconds} s"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(seconds).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _log_refusal(self, key: str, is_token: bool) -> None:
        """At most once a minute per caller: a client hammering at the limit must not flood the log."""
        now = self.buckets.clock()
        if now - self._logged.get(key, -math.inf) < LOG_EVERY_S:
            return
        if len(self._logged) >= MAX_BUCKETS:
            self._logged = {k: t for k, t in self._logged.items() if now - t < LOG_EVERY_S}
            if len(self._logged) >= MAX_BUCKETS:
                return
        self._logged[key] = now
        name = f"token {key[2:14]}" if is_token else f"address {key[2:]}"  # the id 'deconline token list' shows
        log.warning("rate limit: refusing %s, %s (logged once a minute)", name, self.buckets.limit.describe())
