"""What the service is doing, for its operator: Prometheus metrics, readiness and request logs.

One registry per application (no global state). Requests are counted by route *template*
(``/v1/operations/{op_id}``), never by path, so no id becomes a label; every response carries an
``X-Request-ID`` (the caller's, when it sent a sane one) that is also in the access log. The live
figures (tracks, alerts, record, overdue messages) are read from the database when scraped, so
every instance on one database reports the same picture.
"""

from __future__ import annotations

import gc
import logging
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, GCCollector, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deconline.service.desk import DeskClient
from deconline.service.duties import Beat, last_beat
from deconline.service.line import Line
from deconline.service.rules import in_force
from deconline.store.models import (
    OPEN_ALERT_STATES,
    Alert,
    CheckpointRow,
    ConflictNotice,
    Operation,
    RecordEntry,
    TrackState,
    UnaffiliatedTrack,
)
from deconline.store.models import Message as HotlineMessage

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LOCK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
access_log = logging.getLogger("deconline.access")


class Metrics:
    """The application's registry and the instruments the service and the middleware feed."""

    def __init__(self, line: Line, instance: str = "") -> None:
        self.line, self.instance = line, instance
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "deconline_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "deconline_http_request_duration_seconds",
            "time to answer an HTTP request (an event stream: how long it stayed open)",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "deconline_decisions",
            "operation decisions (filed, revised, checked, state changes) by the state they left it in",
            ["kind", "state"],
            registry=self.registry,
        )
        self.lock_wait = Histogram(
            "deconline_strategic_lock_wait_seconds",
            "time from asking for a strategic decision's locks (its cells) to holding them",
            buckets=LOCK_BUCKETS,
            registry=self.registry,
        )
        self.lock_hold = Histogram(
            "deconline_strategic_lock_hold_seconds",
            "time a strategic decision holds its locks, its commit included",
            buckets=LOCK_BUCKETS,
            registry=self.registry,
        )
        self.batch = Histogram(
            "deconline_decision_batch_size",
            "filings decided together in one transaction and one commit (group commit)",
            buckets=(1, 2, 4, 8, 16, 32),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "deconline_rate_limited",
            "requests refused with 429: a token (or an address without one) over its rate limit",
            registry=self.registry,
        )
        self.desk: DeskClient | None = None  # the filing desk's way, when this instance sends it filings
        self.registry.register(LiveFigures(line, self))
        GCCollector(registry=self.registry)  # python_gc_*: collections by generation
        line.probes.lock_wait = self.lock_wait.observe
        line.probes.lock_hold = self.lock_hold.observe
        line.probes.decision = lambda kind, state: self.decisions.labels(kind, state).inc()
        line.probes.batch = self.batch.observe

    def leads(self, beat: Beat | None) -> bool:
        """Whether this instance's evaluator (its worker, or its own threads) beat last, and lately."""
        return beat is not None and beat.by == self.instance and _recent(self.line, beat)


class LiveFigures(Collector):
    """Gauges read from the database at scrape time, in one read transaction."""

    def __init__(self, line: Line, metrics: Metrics) -> None:
        self.line, self.metrics = line, metrics

    def describe(self) -> list[Metric]:
        return []  # nothing to read while registering: the figures come with each scrape

    def collect(self) -> Iterator[Metric]:
        now = self.line.clock()
        with self.line.db.read() as session:
            agreement = in_force(session)
            fresh = now - (agreement.max_track_age_s if agreement else 20.0)
            tracks = session.scalar(select(func.count()).select_from(TrackState).where(TrackState.time_s >= fresh))
            others = session.scalar(
                select(func.count()).select_from(UnaffiliatedTrack).where(UnaffiliatedTrack.time_s >= fresh)
            )
            alerts: dict[str, int] = {
                kind: n
                for kind, n in session.execute(
                    select(Alert.kind, func.count()).where(Alert.state.in_(OPEN_ALERT_STATES)).group_by(Alert.kind)
                )
            }
            by_state = select(Operation.state, func.count()).group_by(Operation.state)
            operations: dict[str, int] = {state: n for state, n in session.execute(by_state)}
            notices = session.scalar(select(func.count()).where(ConflictNotice.state == "open"))
            overdue = session.scalar(select(func.count()).where(HotlineMessage.status == "overdue"))
            size = session.scalar(select(func.max(RecordEntry.seq)))
            checkpoint = session.scalar(select(func.max(CheckpointRow.created_at)))
            cosigners = session.scalar(select(CheckpointRow.cosigners).order_by(CheckpointRow.size.desc()).limit(1))
            beat = last_beat(session)
        family = GaugeMetricFamily("deconline_live_tracks", "tracks fresh enough to take part", labels=["owner"])
        family.add_metric(["party"], float(tracks or 0))
        family.add_metric(["unaffiliated"], float(others or 0))
        yield family
        family = GaugeMetricFamily("deconline_active_alerts", "alerts raised and not cleared", labels=["kind"])
        for kind in ("separation", "hazard", "nonconformance"):
            family.add_metric([kind], float(alerts.get(kind, 0)))
        yield family
        family = GaugeMetricFamily("deconline_operations", "operations by state", labels=["state"])
        for state in ("proposed", "accepted", "active", "ended", "cancelled"):
            family.add_metric([state], float(operations.get(state, 0)))
        yield family
        yield GaugeMetricFamily("deconline_open_notices", "conflict notices open", value=float(notices or 0))
        yield GaugeMetricFamily(
            "deconline_overdue_messages", "hotline messages past their deadline", value=float(overdue or 0)
        )
        yield GaugeMetricFamily(
            "deconline_event_streams",
            "event streams open on this instance",
            value=float(self.line.events.subscriber_count()),
        )
        yield GaugeMetricFamily(
            "deconline_record_entries", "entries in the record", value=float(size + 1 if size is not None else 0)
        )
        if checkpoint is not None:
            yield GaugeMetricFamily(
                "deconline_checkpoint_age_seconds", "time since the newest checkpoint", value=now - checkpoint
            )
        if agreement is not None and agreement.witnesses:
            yield GaugeMetricFamily(
                "deconline_checkpoint_cosignatures",
                "witnesses' cosignatures on the newest checkpoint",
                value=float(cosigners or 0),
            )
            yield GaugeMetricFamily(
                "deconline_checkpoint_quorum_met",
                "1 when the newest checkpoint has the cosignatures the agreement's witness quorum needs",
                value=1.0 if (cosigners or 0) >= agreement.quorum else 0.0,
            )
        yield GaugeMetricFamily(
            "deconline_gc_frozen_objects",
            "objects start-up put out of the garbage collector's sight (0: every full collection scans them)",
            value=float(gc.get_freeze_count()),
        )
        if self.metrics.desk is not None:
            by_desk = CounterMetricFamily(
                "deconline_desk_filings",
                "signed filings this instance sent to the filing desk: decided there, or here (no desk led, "
                "it did not answer, or it could not decide)",
                labels=["decided"],
            )
            by_desk.add_metric(["desk"], float(self.metrics.desk.sent))
            by_desk.add_metric(["here"], float(self.metrics.desk.kept))
            yield by_desk
        yield GaugeMetricFamily(
            "deconline_leader",
            "1 on the instance whose evaluator (with checkpoints and hotline deadlines) runs the line",
            value=1.0 if self.metrics.leads(beat) else 0.0,
        )
        if beat is not None:  # the leading evaluator's own figures, whichever process or instance it is
            yield CounterMetricFamily(
                "deconline_evaluation_cycles", "evaluations of the live picture by the leader", value=beat.cycles
            )
            yield CounterMetricFamily(
                "deconline_evaluation_seconds", "time the leader spent evaluating, all cycles", value=beat.seconds
            )
            yield CounterMetricFamily(
                "deconline_evaluation_overruns",
                "evaluation cycles that took longer than their period (the next one started late)",
                value=beat.overruns,
            )
            yield GaugeMetricFamily(
                "deconline_evaluation_last_cycle_seconds", "the leader's last evaluation", value=beat.last_s
            )


def _recent(line: Line, beat: Beat) -> bool:
    return time.time() - beat.at <= max(3 * line.evaluate_every_s, 5.0)


def _evaluator(line: Line, metrics: Metrics) -> str:
    """Alive somewhere: the leading instance (this one or another) beat recently."""
    period = line.evaluate_every_s
    if period <= 0:
        return "off"
    try:
        with line.db.read() as session:
            beat = last_beat(session)
    except Exception:  # reported under "database"
        return "unknown"
    if beat is None:
        return "not started"
    where = "here" if beat.by == metrics.instance else "on another instance"
    late = time.time() - beat.at
    return f"ok ({where})" if _recent(line, beat) else f"last cycle {late:.0f} s ago"


def readiness(line: Line, metrics: Metrics) -> tuple[bool, dict[str, str]]:
    """Database reachable, migrations current, the evaluator beating (when it is on)."""
    checks: dict[str, str] = {}
    try:
        with line.db.read() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
        pending = line.db.migrations_pending()
        checks["migrations"] = "ok" if not pending else f"{len(pending)} pending: run 'deconline init'"
    except Exception as exc:  # any failure to reach the database is the answer, not an error
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    checks["evaluator"] = _evaluator(line, metrics)
    ready = all(v == "off" or v.startswith("ok") for v in checks.values())
    return ready, checks


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = bytes(value).decode("latin-1")
            if _SANE_ID.match(candidate):
                return candidate
    return secrets.token_hex(8)


class Observed:
    """ASGI middleware: a request id on every response, request metrics, one access-log line."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            fields: dict[str, Any] = {
                "request_id": request_id,
                "method": method,
                "route": route,
                "path": scope.get("path", ""),
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            }
            access_log.info(
                "%s %s %s %.1f ms [%s]", method, fields["path"], status, elapsed * 1000, request_id, extra=fields
            )
