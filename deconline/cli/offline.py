"""``deconline conflicts`` and ``deconline replay``: the engines on files, with no server.

The engines (numpy, shapely, scipy) are imported by the command that runs, not when the CLI starts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

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
    step: Annotated[float, typer.Option(help="seconds between evaluations (the service evaluates every second)")] = 1.0,
    agreement: Annotated[
        Path | None,
        typer.Option(
            help="take the minima, look-ahead, track age and alerting from this agreement file "
            "(default: a new agreement's defaults)"
        ),
    ] = None,
    lookahead: Annotated[float | None, typer.Option(help="look-ahead, seconds")] = None,
    hsep: Annotated[float | None, typer.Option(help="horizontal minimum, metres")] = None,
    vsep: Annotated[float | None, typer.Option(help="vertical minimum, metres")] = None,
    max_age: Annotated[float | None, typer.Option(help="reports older than this are stale, seconds")] = None,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="the raw state-based detector's conflicts (no levels, no confirmation), as "
            "reference simulators report them",
        ),
    ] = False,
    score: Annotated[
        bool, typer.Option("--score", help="judge the alerts against the recording's own later positions")
    ] = False,
    score_json: Annotated[Path | None, typer.Option(help="with --score: write the figures here as JSON")] = None,
    party_map: Annotated[Path | None, typer.Option(help="icao24 -> party (JSON object or CSV lines)")] = None,
    guidance: Annotated[
        bool,
        typer.Option(
            "--guidance",
            help='add both aircraft\'s guidance to each row: "guidance": {id: {"track_deg": ranges, "gs_mps": '
            'ranges, "vs_mps": ranges, "alt_m": ranges}}, each range a list (from, to, state), state "free", '
            '"conflict" or "recovery" (null for an aircraft with no live track); track in degrees, speeds in m/s, '
            "level in metres (CD3D bands against every other aircraft)",
        ),
    ] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="write JSON lines here (default stdout)")] = None,
    radar: Annotated[
        list[str] | None, typer.Option(help="for a capture: SAC/SIC=LAT,LON,ALT_M of a CAT048 radar (repeat)")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="for a capture: LAT,LON of the receiver (single-frame ADS-B positions)")
    ] = None,
) -> None:
    """Replay a recording or a raw capture as the service would evaluate it: one JSON line per time and
    pair in alert (its level, time to loss of separation, closest approach), or with --raw per pair in
    conflict; --guidance adds both aircraft's conflict-free and conflicting ranges of track, speed,
    vertical speed and level; --score judges the alerts against what the aircraft then actually did."""
    from rich.progress import Progress

    from deconline.core.tactical import TacticalRules
    from deconline.ingest.recordings import RecordingError, load_recording
    from deconline.replay import read_party_map, replay, run

    if fmt not in ("traffic-json", "csv"):
        fail("--format must be traffic-json or csv", 2)
    given = {"--lookahead": lookahead, "--hsep": hsep, "--vsep": vsep, "--max-age": max_age}
    if step <= 0 or any(value is not None and value <= 0 for value in given.values()):
        fail("--step, --lookahead, --hsep, --vsep and --max-age must be > 0", 2)
    if score_json is not None and not score:
        fail("--score-json goes with --score", 2)
    from deconline.core.alerting import default_rules
    from deconline.core.tactical import DEFAULTS

    minima, alerting = DEFAULTS, default_rules(DEFAULTS.h_m, DEFAULTS.v_m)
    if agreement is not None:  # pydantic only then: a replay with the defaults starts faster
        from deconline.core.agreement import Agreement

        try:
            signed = Agreement.model_validate(read_document(agreement))
        except ValueError as exc:
            fail(f"{agreement}: {exc}", 2)
        t = signed.tactical
        minima = TacticalRules(t.h_m, t.v_m, t.lookahead_s, signed.max_track_age_s)
        alerting = signed.alerting_rules
    rules = TacticalRules(
        hsep if hsep is not None else minima.h_m,
        vsep if vsep is not None else minima.v_m,
        lookahead if lookahead is not None else minima.lookahead_s,
        max_age if max_age is not None else minima.max_track_age_s,
    )
    try:
        if ":" in file and file.split(":", 1)[0].endswith("+file"):
            from deconline.cli.feed import load_capture

            recording = load_capture(file, radar or [], reference, rules.max_track_age_s)
        else:
            recording = load_recording(Path(file), fmt)  # type: ignore[arg-type]
        mapping = read_party_map(party_map) if party_map else None
    except (RecordingError, OSError, ValueError) as exc:
        fail(str(exc), 2)
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(recording.skipped.items())) or "none"
    err.print(f"{file}: {recording.total:,} records, {len(recording.time_s):,} usable (skipped: {skipped})")
    sink = out_file.open("w") if out_file else sys.stdout
    kept: list[dict[str, object]] = []
    try:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("replaying", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            rows = replay(recording, rules, step, mapping, progress, None if raw else alerting, guidance)
            summary = run(_kept(rows, kept) if score else rows, sink)
    finally:
        if out_file:
            sink.close()
    what = "conflict" if raw else "alert"
    err.print(
        f"{len(summary.pairs):,} {what} pairs in {summary.conflict_rows:,} rows; "
        f"{len(summary.los_pairs):,} pairs in loss of separation ({summary.los_rows:,} rows)"
    )
    if score:
        from deconline.score import score as judge
        from deconline.score import summary_table

        levels = None if raw else [level.name for level in alerting.levels]
        figures = judge(
            recording, kept, h_m=rules.h_m, v_m=rules.v_m, lookahead_s=rules.lookahead_s, step_s=step,
            tolerance_m=alerting.vertical_tolerance_m,
            levels_order=None if levels is None else [*levels, "loss_of_separation"],
        )  # fmt: skip
        err.print(summary_table({Path(file).name: figures}))
        if score_json is not None:
            score_json.write_text(json.dumps(figures.as_json(), indent=2) + "\n")


def _kept(rows: Iterator[dict[str, Any]], kept: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The rows as they pass, kept for scoring."""
    for row in rows:
        kept.append(row)
        yield row
