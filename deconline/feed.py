"""``deconline feed``: surveillance sources in, signed track batches out.

Each source runs in its own thread (``sources.Reader``) with its format's decoder; what they decode
goes into one :class:`TrackBuilder`, so several sources merge per aircraft and the newest report
wins. Every ``period_s`` the poster takes the states that became ready and sorts them: the party's
own aircraft (its fleet) are posted as its tracks; the others are posted as unaffiliated traffic
when the party is a surveillance provider (``--unaffiliated``), and dropped otherwise. When the
service cannot be reached only the newest state per aircraft is kept (tracks are perishable) and
the ones it replaced are counted as dropped. Malformed input is counted and skipped, never fatal.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from deconline.client import ApiError, describe
from deconline.ingest.captures import states_over_time
from deconline.ingest.decoders import AsterixDecoder, Decoder, Outcome, ReadsbDecoder, SbsDecoder, modes_decoder
from deconline.ingest.sighting import Sighting
from deconline.ingest.track_builder import State, TrackBuilder
from deconline.sources import Reader, SourceError, SourceSpec, parse_source

if TYPE_CHECKING:
    from deconline.ingest.asterix import RadarSite

Say = Callable[[str], None]
Post = Callable[[list[dict[str, object]], bool], object]  # (reports, unaffiliated)
MAX_BATCH = 5000
HEX6 = re.compile(r"[0-9a-f]{6}")
CALLSIGN_PATTERN = re.compile(r"[A-Z0-9*?]{1,8}")

__all__ = ["Feed", "Fleet", "Options", "Post", "SourceError", "Tally", "read_fleet", "summary"]


@dataclass
class Tally:
    """What happened, for the status line and the summary."""

    messages: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    states: int = 0
    posted: int = 0
    unaffiliated: int = 0
    batches: int = 0
    dropped: int = 0
    not_in_fleet: int = 0
    errors: int = 0
    refused: int = 0  # states the service refused (4xx): dropped, never retried


@dataclass(frozen=True)
class Fleet:
    """The party's own aircraft: ICAO addresses and callsign patterns (``FAF*``)."""

    addresses: frozenset[str] = frozenset()
    callsigns: tuple[str, ...] = ()

    def owns(self, address: str, callsign: str | None) -> bool:
        if address in self.addresses:
            return True
        return callsign is not None and any(fnmatch.fnmatchcase(callsign.upper(), p) for p in self.callsigns)

    def __len__(self) -> int:
        return len(self.addresses) + len(self.callsigns)


def read_fleet(path: Path) -> Fleet:
    """One ICAO address a line, or CSV lines ``icao24,callsign`` where either may be empty and the
    callsign may be a pattern (``*`` any run, ``?`` one character); ``#`` starts a comment."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot read the fleet file {path}: {exc.strerror}") from exc
    addresses, callsigns = set(), []
    for number, raw in enumerate(text.splitlines(), 1):
        cells = [c.strip() for c in raw.split("#", 1)[0].split(",")]
        address, callsign = cells[0].lower(), (cells[1].upper() if len(cells) > 1 else "")
        if address in ("icao24", "icao", "hex"):
            continue  # a header
        if address:
            if HEX6.fullmatch(address) is None:
                raise SourceError(f"{path}:{number}: {cells[0]!r} is not a 24-bit ICAO address (six hex digits)")
            addresses.add(address)
        if callsign and not address:
            if CALLSIGN_PATTERN.fullmatch(callsign) is None:
                raise SourceError(f"{path}:{number}: {cells[1]!r} is not a callsign pattern (A-Z, 0-9, * and ?)")
            callsigns.append(callsign)
    return Fleet(frozenset(addresses), tuple(callsigns))


@dataclass(frozen=True)
class Options:
    reference: tuple[float, float] | None = None  # the receiver's position, for single-frame CPR decoding
    radars: dict[tuple[int, int], RadarSite] = field(default_factory=dict)  # SAC/SIC -> site, for CAT048
    start_s: float | None = None  # where a Beast file's MLAT clock starts (default: now)


def make_decoder(spec: SourceSpec, options: Options, now: float) -> Decoder:
    if spec.format in ("beast", "avr", "csv"):
        start = (options.start_s if options.start_s is not None else now) if spec.transport == "file" else None
        return modes_decoder(spec.format, spec.text, options.reference, start)
    if spec.format == "sbs":
        return SbsDecoder(spec.text)
    if spec.format == "readsb":
        return ReadsbDecoder(spec.text)
    return AsterixDecoder(spec.text, options.radars)


class Feed:
    """Sources, one builder, one poster; ``run`` until ``stop`` is set (or every file source ended)."""

    def __init__(
        self,
        sources: list[str],
        fleet: Fleet | None,
        post: Post | None,
        *,
        unaffiliated: bool = False,
        out: IO[str] | None = None,
        period_s: float = 1.0,
        max_age_s: float = 10.0,
        options: Options | None = None,
        say: Say = print,
        now: float | None = None,
    ) -> None:
        now = time.time() if now is None else now
        self.specs = [parse_source(s) for s in sources]
        if any(spec.ends for spec in self.specs) and not all(spec.ends for spec in self.specs):
            raise SourceError("files are replayed on their own: give file sources without live ones")
        self.fleet = fleet
        self.post = post
        self.unaffiliated = unaffiliated
        self.out = out
        self.period_s = period_s
        self.options = options or Options()
        self.builder = TrackBuilder(max_age_s)
        self.lock = threading.Lock()
        self.tally = Tally()
        self.pending: dict[str, State] = {}
        self.pending_unaffiliated: dict[str, State] = {}
        self.say = say
        self.stop = threading.Event()
        self.readers = [
            Reader(spec, make_decoder(spec, self.options, now), self._deliver(spec.text), self.stop, say, period_s)
            for spec in self.specs
        ]

    def _deliver(self, source: str, into_builder: bool = True) -> Callable[[Outcome], None]:
        def deliver(outcome: Outcome) -> None:
            with self.lock:
                self.tally.messages[source] += outcome.messages
                self.tally.malformed[source] += outcome.malformed
                self.tally.other[source] += outcome.other
                if into_builder:
                    for sighting in outcome.sightings:
                        self.builder.take(sighting)

        return deliver

    # --- poster ----------------------------------------------------------------------------
    def collect(self) -> None:
        """Move ready states into ``pending`` (own) or ``pending_unaffiliated``, newest per aircraft."""
        with self.lock:
            ready = self.builder.ready()
            self.builder.forget_older_than(max((s.time_s for s in ready), default=0.0) - 300)
        self._classify(ready)

    def _classify(self, ready: list[State]) -> None:
        for state in ready:
            self.tally.states += 1
            if self.fleet is None or self.fleet.owns(state.id, state.callsign):
                target = self.pending
            elif self.unaffiliated:
                target = self.pending_unaffiliated
            else:
                self.tally.not_in_fleet += 1
                continue
            if state.id in target:
                self.tally.dropped += 1  # an older state never sent: superseded
            target[state.id] = state

    def flush(self) -> bool:
        """Post (or write) what is pending; on failure keep it for the next try."""
        ok = True
        for pending, unaffiliated in ((self.pending, False), (self.pending_unaffiliated, True)):
            if pending and self._send(sorted(pending.values(), key=lambda s: s.id), unaffiliated):
                pending.clear()
            elif pending:
                ok = False
        return ok

    def _send(self, states: list[State], unaffiliated: bool) -> bool:
        if self.out is not None:
            for state in states:
                line = state.as_line() | ({"unaffiliated": True} if unaffiliated else {})
                self.out.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.out.flush()
        elif self.post is not None:
            try:
                for k in range(0, len(states), MAX_BATCH):
                    self.post([s.as_report() for s in states[k : k + MAX_BATCH]], unaffiliated)
                    self.tally.batches += 1
            except Exception as exc:
                self.tally.errors += 1
                kind = "unaffiliated traffic" if unaffiliated else "tracks"
                if isinstance(exc, ApiError) and 400 <= exc.status < 500 and exc.status not in (408, 429):
                    # refused, not lost in transit: sending the same again cannot help
                    self.tally.refused += len(states)
                    if unaffiliated and exc.status == 403:
                        self.unaffiliated = False
                        self.say(f"posting {kind} failed ({describe(exc)}); no longer posting unaffiliated traffic")
                    else:
                        self.say(f"posting {kind} failed ({describe(exc)}); {len(states)} states dropped")
                    return True
                self.say(f"posting {kind} failed ({describe(exc)}); keeping the newest state of {len(states)} aircraft")
                return False
        if unaffiliated:
            self.tally.unaffiliated += len(states)
        else:
            self.tally.posted += len(states)
        return True

    def run(self, on_cycle: Callable[[], None] | None = None) -> Tally:
        if self.specs and all(spec.ends for spec in self.specs):
            return self._run_files(on_cycle)
        threads = [threading.Thread(target=r.run, daemon=True, name=r.spec.text) for r in self.readers]
        for thread in threads:
            thread.start()
        backoff = self.period_s
        while not self.stop.is_set():
            done = not any(t.is_alive() for t in threads)
            self.collect()
            ok = self.flush()
            if on_cycle is not None:
                on_cycle()
            backoff = self.period_s if ok else min(backoff * 2, 30.0)
            if done and ok:
                break
            self.stop.wait(backoff)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=2)
        return self.tally

    def read_files(self) -> list[Sighting]:
        """Every sighting in the sources' files, each read once (counted in the tally)."""
        sightings: list[Sighting] = []
        for reader in self.readers:
            tally_it = self._deliver(reader.spec.text, into_builder=False)

            def deliver(outcome: Outcome, tally_it: Callable[[Outcome], None] = tally_it) -> None:
                tally_it(outcome)
                sightings.extend(outcome.sightings)

            reader.deliver = deliver
            reader.read_file()
        return sightings

    def _run_files(self, on_cycle: Callable[[], None] | None) -> Tally:
        """Captures: every state they hold, one per aircraft a second, in time order. With ``--dry-run``
        they are written at once; otherwise posted in real time, shifted so the capture starts now
        (a live service takes only fresh reports)."""
        states = states_over_time(self.read_files(), self.builder.max_age_s)
        shift = 0.0 if self.out is not None or not states else time.time() - states[0].time_s
        if shift and self.post is not None:
            self.say(f"replaying the capture in real time, its clock moved {shift / 3600:+.2f} h to now")
        for second, group in itertools.groupby(states, key=lambda st: math.floor(st.time_s)):
            if self.out is None:
                self.stop.wait(max(0.0, second + shift - time.time()))
            if self.stop.is_set():
                break
            batch = list(group)
            self._classify([dataclasses.replace(st, time_s=st.time_s + shift) for st in batch] if shift else batch)
            self.flush()
            if on_cycle is not None:
                on_cycle()
        give_up = time.time() + 30.0  # the service is away: the last states are worth trying a little
        while self.out is None and not self.stop.is_set() and (self.pending or self.pending_unaffiliated):
            if time.time() > give_up:
                self.say(f"giving up on the last {len(self.pending) + len(self.pending_unaffiliated)} states")
                break
            self.stop.wait(self.period_s)
            self.flush()
        return self.tally


def summary(tally: Tally, dry_run: bool = False) -> str:
    messages = sum(tally.messages.values())
    malformed = sum(tally.malformed.values())
    other = sum(tally.other.values())
    unused = f"; {other} of no use for a track" if other else ""
    unaffiliated = f" and {tally.unaffiliated} unaffiliated" if tally.unaffiliated else ""
    sent = "written" if dry_run else f"posted in {tally.batches} batches"
    return (
        f"{messages} messages ({malformed} malformed, skipped{unused}), {tally.states} states, "
        f"{tally.not_in_fleet} not in the fleet, {tally.posted} own{unaffiliated} {sent}, "
        f"{tally.dropped} superseded before they could be sent, {tally.errors} failed posts"
        + (f" ({tally.refused} states refused by the service)" if tally.refused else "")
    )
