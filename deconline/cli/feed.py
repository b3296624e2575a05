"""``deconline feed``: point a receiver or a radar feed at the line."""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deconline.cli.common import api_call, api_client, err, fail

if TYPE_CHECKING:
    from deconline.feed import Feed, Tally
    from deconline.ingest.recordings import Recording

SOURCES_HELP = (
    "beast://HOST:30005, avr://HOST:30002, sbs://HOST:30003, readsb+http://HOST/data/aircraft.json, "
    "asterix+udp://ADDR:PORT, or a file: beast+file:, avr+file:, sbs+file:, csv+file:, readsb+file:, asterix+file: "
    "(raw records or a pcap)"
)


def feed(
    sources: Annotated[list[str], typer.Argument(help=SOURCES_HELP, show_default=False)],
    party: Annotated[str | None, typer.Option(help="check that the token is this party's before posting")] = None,
    fleet: Annotated[
        Path | None,
        typer.Option(help="your aircraft: ICAO addresses one a line, or CSV 'icao24,callsign' (callsign may be FAF*)"),
    ] = None,
    unaffiliated: Annotated[
        bool,
        typer.Option(
            "--unaffiliated", help="post aircraft outside the fleet as unaffiliated traffic (surveillance providers)"
        ),
    ] = False,
    every: Annotated[float, typer.Option(help="seconds between batches", min=0.1, max=60)] = 1.0,
    max_age: Annotated[float, typer.Option(help="a state needs position, altitude and velocity this fresh (s)")] = 10.0,
    reference: Annotated[
        str | None, typer.Option(help="LAT,LON of the receiver: positions from single ADS-B frames (CPR local)")
    ] = None,
    radar: Annotated[
        list[str] | None, typer.Option(help="SAC/SIC=LAT,LON,ALT_M of a radar whose CAT048 plots are fed (repeat)")
    ] = None,
    start: Annotated[
        float | None, typer.Option(help="epoch seconds where a Beast file's MLAT clock starts (default: now)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="write the states (--out) instead of posting")] = False,
    out: Annotated[
        Path | None, typer.Option(help="with --dry-run: JSON lines, one state each (default stdout)")
    ] = None,
) -> None:
    """Feed your aircraft from receivers and radars: states built per aircraft, posted signed every second."""
    from deconline.feed import Feed, Options, SourceError, read_fleet, summary

    def say(message: str) -> None:
        err.print(f"{time.strftime('%H:%M:%S')} {message}", soft_wrap=True, markup=False, highlight=False)

    try:
        ours = read_fleet(fleet) if fleet is not None else None
        options = Options(_reference(reference), _radars(radar or []), start)
    except (SourceError, ValueError) as exc:
        fail(str(exc), 2)
    if ours is None and not dry_run:
        fail("say which aircraft are yours with --fleet FILE (ICAO addresses or callsigns): only those are posted", 2)
    with contextlib.ExitStack() as stack:
        if dry_run:
            sink = stack.enter_context(out.open("w", encoding="utf-8")) if out is not None else sys.stdout
            post = None
        else:
            client = stack.enter_context(api_client())
            me = api_call(client.whoami)
            if party is not None and me.party_id != party:
                fail(f"the token is {me.party_id or 'no party'}'s, not {party}'s: check --token", 2)
            sink = None

            def post(reports: list[dict[str, Any]], unaffiliated: bool) -> object:
                return client.post_tracks(reports, unaffiliated=unaffiliated)

        try:
            running = Feed(
                sources, ours, post, unaffiliated=unaffiliated, out=sink, period_s=every, max_age_s=max_age,
                options=options, say=say,
            )  # fmt: skip
        except SourceError as exc:
            fail(str(exc), 2)
        signal.signal(signal.SIGTERM, lambda *_: running.stop.set())
        with Status(running, live=err.is_terminal and (not dry_run or out is not None)) as status:
            try:
                tally = running.run(status.update)
            except KeyboardInterrupt:
                running.stop.set()
                tally = running.tally
    say(summary(tally, dry_run))


class Status:
    """A live line per source (messages/s, malformed) and one for the feed; a log line each 30 s
    when stderr is not a terminal."""

    def __init__(self, running: Feed, live: bool) -> None:
        self.running = running
        self.live_mode = live
        self.last = time.monotonic()
        self.last_logged = self.last
        self.seen: dict[str, int] = {}
        self.rates: dict[str, float] = {}
        self._live: Any = None

    def __enter__(self) -> Status:
        if self.live_mode:
            from rich.live import Live

            self._live = Live(self.render(), console=err, refresh_per_second=2, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self.render())
            self._live.__exit__(None, None, None)

    def update(self) -> None:
        now = time.monotonic()
        tally = self.running.tally
        for source, count in tally.messages.items():
            self.rates[source] = (count - self.seen.get(source, 0)) / max(now - self.last, 1e-3)
            self.seen[source] = count
        self.last = now
        if self._live is not None:
            self._live.update(self.render())
        elif now - self.last_logged >= 30:
            self.last_logged = now
            self.running.say(self.line(tally))

    def line(self, tally: Tally) -> str:
        aircraft = len(self.running.builder.aircraft)
        sent = f"{tally.posted} states posted in {tally.batches} batches"
        if tally.unaffiliated:
            sent += f" (+{tally.unaffiliated} unaffiliated)"
        return f"{aircraft} aircraft · {sent} · {tally.dropped} superseded · {tally.errors} failed posts"

    def render(self) -> Any:
        from rich.table import Table

        tally = self.running.tally
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for column in ("source", "msg/s", "messages", "malformed", "no use", "state"):
            table.add_column(column, justify="left" if column in ("source", "state") else "right")
        for reader in self.running.readers:
            source = reader.spec.text
            state = "connected" if reader.connected else ("reading" if reader.spec.ends else "waiting")
            table.add_row(
                source, f"{self.rates.get(source, 0.0):,.0f}", f"{tally.messages[source]:,}",
                f"{tally.malformed[source]:,}", f"{tally.other[source]:,}", state,
            )  # fmt: skip
        table.caption = self.line(tally)
        return table


def _reference(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--reference {text!r}: expected LAT,LON in degrees, e.g. 43.6,1.4") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"--reference {text!r}: latitude within ±90 and longitude within ±180")
    return lat, lon


def _radars(texts: list[str]) -> dict[tuple[int, int], Any]:
    if not texts:
        return {}
    from deconline.ingest.asterix import parse_radar

    return dict(parse_radar(text) for text in texts)


def load_capture(text: str, radars: list[str], reference: str | None, max_age_s: float) -> Recording:
    """A capture file decoded as ``deconline feed`` would, as a recording for ``deconline replay``."""
    from deconline.feed import Feed, Options
    from deconline.ingest.captures import recording_from_states, states_over_time
    from deconline.sources import parse_source

    spec = parse_source(text)
    if spec.path is None:
        raise ValueError(f"{text}: replay reads files; give FORMAT+file:PATH")
    started = spec.path.stat().st_mtime  # a Beast file's clock has no date: it starts when the file was written
    options = Options(_reference(reference), _radars(radars), started)
    feed = Feed([text], None, None, options=options, now=started, say=lambda message: None)
    sightings = feed.read_files()
    counts = {k: sum(c.values()) for k, c in (("messages", feed.tally.messages), ("malformed", feed.tally.malformed),
                                               ("other", feed.tally.other))}  # fmt: skip
    return recording_from_states(states_over_time(sightings, max_age_s=min(max_age_s, 10.0)), counts)
