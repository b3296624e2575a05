"""``deconline feed``: point a receiver at the line."""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer


def feed(
    sources: Annotated[list[str], typer.Argument(help="sbs://HOST:PORT (BaseStation, port 30003) or sbs+file:PATH")],
    fleet: Annotated[
        Path | None,
        typer.Option(help="your aircraft: ICAO addresses, one a line (or a CSV's first column); others are dropped"),
    ] = None,
    every: Annotated[float, typer.Option(help="seconds between batches", min=0.1, max=60)] = 1.0,
    max_age: Annotated[float, typer.Option(help="a state needs position, altitude and velocity this fresh (s)")] = 10.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="write the states (--out) instead of posting")] = False,
    out: Annotated[
        Path | None, typer.Option(help="with --dry-run: JSON lines, one state each (default stdout)")
    ] = None,
) -> None:
    """Feed your aircraft from surveillance sources: states built per aircraft, posted signed every second."""
    from deconline.cli import _client, _fail, err
    from deconline.feed import Feed, SourceError, poster, read_fleet, summary

    def say(message: str) -> None:
        err.print(f"{time.strftime('%H:%M:%S')} {message}", soft_wrap=True, markup=False, highlight=False)

    try:
        addresses = read_fleet(fleet) if fleet is not None else None
    except SourceError as exc:
        _fail(str(exc), 2)
    if addresses is None and not dry_run:
        _fail("say which aircraft are yours with --fleet FILE (ICAO addresses): only those are posted", 2)
    with contextlib.ExitStack() as stack:
        if dry_run:
            sink = stack.enter_context(out.open("w", encoding="utf-8")) if out is not None else sys.stdout
            post = None
        else:
            client = stack.enter_context(_client())
            sink = None
            post = poster(client)
        try:
            running = Feed(sources, addresses, post, out=sink, period_s=every, max_age_s=max_age, say=say)
        except SourceError as exc:
            _fail(str(exc), 2)
        signal.signal(signal.SIGTERM, lambda *_: running.stop.set())
        try:
            tally = running.run()
        except KeyboardInterrupt:
            running.stop.set()
            tally = running.tally
    say(summary(tally))
