"""``deconline conflicts`` and ``deconline replay``: the engines on files, with no server.

The engines (numpy, shapely, scipy) are imported by the command that runs, not when the CLI starts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from deconline.cli.common import err, fail, read_document


def conflicts_command(
    operations: Annotated[Path, typer.Option("--operations", help="GeoJSON FeatureCollection of volumes")],
    hsep: Annotated[float | None, typer.Option(help="horizontal separation, metres")] = None,
    vsep: Annotated[float | None, typer.Option(help="vertical separation, metres")] = None,
    time_buffer: Annotated[float | None, typer.Option(help="time buffer, seconds")] = None,
    agreement: Annotated[Path | None, typer.Option(help="take the minima from this agreement file")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write JSON lines here (default stdout)")] = None,
) -> None:
    """Offline planning check: one JSON line per conflicting pair of different parties (no server)."""
    from deconline.core.strategic import StrategicRules
    from deconline.planning import PlanningError, conflicts, read_features

    h, v, buf = hsep, vsep, time_buffer
    if agreement is not None:
        from deconline.core.agreement import Agreement  # pydantic: only when an agreement file is given

        try:
            rules = Agreement.model_validate(read_document(agreement)).strategic_rules
        except ValueError as exc:
            fail(f"{agreement}: {exc}", 2)
        h = rules.h_m if h is None else h
        v = rules.v_m if v is None else v
        buf = rules.time_buffer_s if buf is None else buf
    if h is None or v is None or buf is None:
        fail("give --hsep, --vsep and --time-buffer, or --agreement", 2)
    assert h is not None and v is not None and buf is not None
    if h <= 0 or v < 0 or buf < 0:
        fail("--hsep must be > 0; --vsep and --time-buffer must be >= 0", 2)
    try:
        planned = read_features(operations)
    except PlanningError as exc:
        fail(str(exc), 2)
    sink = out_file.open("w") if out_file else sys.stdout
    count = 0
    try:
        for record in conflicts(planned, StrategicRules(h_m=h, v_m=v, time_buffer_s=buf)):
            sink.write(json.dumps(record) + "\n")
            count += 1
    finally:
        if out_file:
            sink.close()
    err.print(f"{len(planned)} volumes, {count} conflicting pairs")


def replay_command(
    file: Annotated[
        str,
        typer.Argument(
            help="the recording (.json, .json.gz or .csv), or a capture: beast+file:, avr+file:, csv+file:, "
            "sbs+file:, readsb+file: or asterix+file: PATH",
            show_default=False,
        ),
    ],
    fmt: Annotated[str, typer.Option("--format", help="traffic-json or csv (for a recording)")] = "traffic-json",
    step: Annotated[float, typer.Option(help="seconds between evaluations")] = 10.0,
    lookahead: Annotated[float, typer.Option(help="look-ahead, seconds")] = 300.0,
    hsep: Annotated[float, typer.Option(help="horizontal minimum, metres")] = 9260.0,
    vsep: Annotated[float, typer.Option(help="vertical minimum, metres")] = 304.8,
    max_age: Annotated[float, typer.Option(help="reports older than this are stale, seconds")] = 20.0,
    party_map: Annotated[Path | None, typer.Option(help="icao24 -> party (JSON object or CSV lines)")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write JSON lines here (default stdout)")] = None,
    radar: Annotated[
        list[str] | None, typer.Option(help="for a capture: SAC/SIC=LAT,LON,ALT_M of a CAT048 radar (repeat)")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="for a capture: LAT,LON of the receiver (single-frame ADS-B positions)")
    ] = None,
) -> None:
    """Run the tactical engine over a recording or a raw capture: one JSON line per time and pair in conflict."""
    from rich.progress import Progress

    from deconline.core.tactical import TacticalRules
    from deconline.ingest.recordings import RecordingError, load_recording
    from deconline.replay import read_party_map, replay, run

    if fmt not in ("traffic-json", "csv"):
        fail("--format must be traffic-json or csv", 2)
    if step <= 0 or lookahead <= 0 or hsep <= 0 or vsep <= 0 or max_age <= 0:
        fail("--step, --lookahead, --hsep, --vsep and --max-age must be > 0", 2)
    try:
        if ":" in file and file.split(":", 1)[0].endswith("+file"):
            from deconline.cli.feed import load_capture

            recording = load_capture(file, radar or [], reference, max_age)
        else:
            recording = load_recording(Path(file), fmt)  # type: ignore[arg-type]
        mapping = read_party_map(party_map) if party_map else None
    except (RecordingError, OSError, ValueError) as exc:
        fail(str(exc), 2)
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(recording.skipped.items())) or "none"
    err.print(f"{file}: {recording.total:,} records, {len(recording.time_s):,} usable (skipped: {skipped})")
    rules = TacticalRules(hsep, vsep, lookahead, max_age)
    sink = out_file.open("w") if out_file else sys.stdout
    try:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("replaying", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = run(replay(recording, rules, step, mapping, progress), sink)
    finally:
        if out_file:
            sink.close()
    err.print(
        f"{len(summary.pairs):,} conflict pairs in {summary.conflict_rows:,} rows; "
        f"{len(summary.los_pairs):,} pairs in loss of separation ({summary.los_rows:,} rows)"
    )
