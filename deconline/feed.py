"""``deconline feed``: surveillance sources in, signed track batches out.

Sources run in threads and reconnect with back-off; what they read goes through the pure parsers
(``ingest.sbs``) into one :class:`TrackBuilder`. Every ``period_s`` the poster takes the states
that became ready, keeps the party's own aircraft (its ``--fleet``), and posts them signed. When
the service cannot be reached it keeps only the newest state per aircraft (tracks are perishable)
and counts the ones it replaced as dropped. Malformed input is counted and skipped, never fatal.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from deconline.client import Client
from deconline.demo_feed import describe
from deconline.ingest.sbs import SbsError, parse
from deconline.ingest.track_builder import State, TrackBuilder

Say = Callable[[str], None]
MAX_BATCH = 5000
SUPPORTED = ("sbs://HOST:PORT", "sbs+file:PATH")


@dataclass
class Tally:
    """What happened, for the status line and the summary."""

    messages: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    states: int = 0
    posted: int = 0
    batches: int = 0
    dropped: int = 0
    not_in_fleet: int = 0
    errors: int = 0


class SourceError(ValueError):
    """A source that cannot be understood (the text says what is supported)."""


def read_fleet(path: Path) -> set[str]:
    """ICAO addresses, one a line (a CSV's first column; ``#`` starts a comment)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot read the fleet file {path}: {exc.strerror}") from exc
    fleet = set()
    for number, raw in enumerate(text.splitlines(), 1):
        entry = raw.split("#", 1)[0].split(",", 1)[0].strip().lower()
        if not entry or entry in ("icao24", "icao", "hex"):
            continue
        if len(entry) != 6 or any(c not in "0123456789abcdef" for c in entry):
            raise SourceError(f"{path}:{number}: {entry!r} is not a 24-bit ICAO address (six hex digits)")
        fleet.add(entry)
    return fleet


class Feed:
    """Sources, one builder, one poster; ``run`` until ``stop`` is set (or every file source ended)."""

    def __init__(
        self,
        sources: list[str],
        fleet: set[str] | None,
        post: Callable[[list[dict[str, object]]], object] | None,
        *,
        out: IO[str] | None = None,
        period_s: float = 1.0,
        max_age_s: float = 10.0,
        say: Say = print,
    ) -> None:
        for source in sources:
            if not (source.startswith("sbs://") or source.startswith("sbs+file:")):
                raise SourceError(f"unsupported source {source!r}: use one of {', '.join(SUPPORTED)}")
        self.sources = sources
        self.fleet = fleet
        self.post = post
        self.out = out
        self.period_s = period_s
        self.builder = TrackBuilder(max_age_s)
        self.lock = threading.Lock()
        self.tally = Tally()
        self.pending: dict[str, State] = {}
        self.say = say
        self.stop = threading.Event()

    # --- sources ---------------------------------------------------------------------------
    def take_lines(self, source: str, lines: Iterable[str]) -> None:
        for line in lines:
            if not line.strip():
                continue
            self.tally.messages[source] += 1
            try:
                report = parse(line)
            except SbsError:
                self.tally.malformed[source] += 1
                continue
            if report is not None:
                with self.lock:
                    self.builder.sbs(report)

    def _read_file(self, source: str) -> None:
        path = Path(source.split(":", 1)[1])
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                self.take_lines(source, handle)
        except OSError as exc:
            self.say(f"{source}: cannot read it: {exc.strerror}")

    def _read_socket(self, source: str) -> None:
        host, _, port = source[len("sbs://") :].rpartition(":")
        backoff = 0.5
        while not self.stop.is_set():
            try:
                with socket.create_connection((host, int(port)), timeout=5) as connection:
                    connection.settimeout(1.0)
                    self.say(f"{source}: connected")
                    backoff = 0.5
                    buffer = b""
                    while not self.stop.is_set():
                        try:
                            chunk = connection.recv(65536)
                        except TimeoutError:
                            continue
                        if not chunk:
                            break
                        buffer += chunk
                        *lines, buffer = buffer.split(b"\n")
                        self.take_lines(source, (raw.decode("ascii", "replace") for raw in lines))
                self.say(f"{source}: the receiver closed the connection; reconnecting")
            except (OSError, ValueError) as exc:
                self.say(f"{source}: {exc}; trying again in {backoff:.1f} s")
            self.stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)

    # --- poster ----------------------------------------------------------------------------
    def collect(self) -> None:
        """Move ready states of the fleet into ``pending``, newest per aircraft."""
        with self.lock:
            ready = self.builder.ready()
            self.builder.forget_older_than(max((s.time_s for s in ready), default=0.0) - 300)
        for state in ready:
            self.tally.states += 1
            if self.fleet is not None and state.id not in self.fleet:
                self.tally.not_in_fleet += 1
                continue
            if state.id in self.pending:
                self.tally.dropped += 1  # an older state never sent: superseded
            self.pending[state.id] = state

    def flush(self) -> bool:
        """Post (or write) what is pending; on failure keep it for the next try."""
        if not self.pending:
            return True
        states = sorted(self.pending.values(), key=lambda s: s.id)
        if self.out is not None:
            for state in states:
                self.out.write(json.dumps(state.as_report(), separators=(",", ":")) + "\n")
            self.out.flush()
        elif self.post is not None:
            try:
                for k in range(0, len(states), MAX_BATCH):
                    self.post([s.as_report() for s in states[k : k + MAX_BATCH]])
                    self.tally.batches += 1
            except Exception as exc:
                self.tally.errors += 1
                self.say(f"posting failed ({describe(exc)}); keeping the newest state of {len(states)} aircraft")
                return False
        self.tally.posted += len(states)
        self.pending.clear()
        return True

    def run(self) -> Tally:
        threads = [
            threading.Thread(
                target=self._read_file if s.startswith("sbs+file:") else self._read_socket, args=(s,), daemon=True
            )
            for s in self.sources
        ]
        for thread in threads:
            thread.start()
        backoff = self.period_s
        while not self.stop.is_set():
            done = not any(t.is_alive() for t in threads)
            self.collect()
            ok = self.flush()
            backoff = self.period_s if ok else min(backoff * 2, 30.0)
            if done and ok:
                break
            self.stop.wait(backoff)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=2)
        return self.tally


def poster(client: Client) -> Callable[[list[dict[str, object]]], object]:
    return client.post_tracks


def summary(tally: Tally) -> str:
    messages = sum(tally.messages.values())
    malformed = sum(tally.malformed.values())
    return (
        f"{messages} messages ({malformed} malformed, skipped), {tally.states} states, "
        f"{tally.not_in_fleet} not in the fleet, {tally.posted} posted in {tally.batches} batches, "
        f"{tally.dropped} superseded before they could be sent, {tally.errors} failed posts"
    )
