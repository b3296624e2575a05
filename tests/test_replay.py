"""Replaying the shared recordings through the engine, checked against the all-pairs reference."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from deconline.cli import app
from deconline.core.tactical import TacticalRules, extrapolate
from deconline.ingest.recordings import Recording, latest_states, latest_states_at, load_recording
from deconline.replay import evaluation_times, owners, replay, states
from tests.conftest import SHARED
from tests.core.reference_tactical import reference_conflicts

runner = CliRunner()
DATA = SHARED / "data"
RULES = TacticalRules(9260.0, 304.8, 300.0, 20.0)


@pytest.mark.parametrize(("name", "step"), [("calfire.json.gz", 10), ("quickstart.json.gz", 60)])
def test_replay_cli_writes_one_line_per_time_and_pair(tmp_path: Path, name: str, step: int) -> None:
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["replay", str(DATA / name), "--format", "traffic-json", "--step", str(step), "--raw", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "conflict pairs" in result.output and "loss of separation" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows, "the recordings hold conflicts"
    for row in rows:
        assert set(row) == {"t", "a", "b", "t_los", "t_cpa", "d_cpa_m", "dz_cpa_m", "los"}
        assert row["a"] < row["b"] and row["t"] % step == 0 and 0 <= row["t_los"] < 300


def test_replay_matches_the_reference_at_sampled_times() -> None:
    recording = load_recording(DATA / "calfire.json.gz", "traffic-json")
    rows = list(replay(recording, RULES, 10.0))
    by_time: dict[int, set[tuple[str, str]]] = {}
    for row in rows:
        by_time.setdefault(row["t"], set()).add((row["a"], row["b"]))
    owner = owners(recording, None)
    times = evaluation_times(recording, 10.0)
    for t in times[:: max(1, len(times) // 25)]:
        idx = latest_states(recording, float(t), 20.0)
        tracks = states(recording, owner, idx)
        ids = recording.ids[idx]
        expected = {tuple(sorted((str(ids[c.a]), str(ids[c.b])))) for c in reference_conflicts(tracks, float(t), RULES)}
        assert by_time.get(int(t), set()) == expected, t


def test_party_map_and_csv(tmp_path: Path) -> None:
    recording = load_recording(DATA / "calfire.json.gz", "traffic-json")
    everyone = tmp_path / "map.json"
    everyone.write_text(json.dumps({str(i): "agency" for i in np.unique(recording.ids)}))
    result = runner.invoke(
        app, ["replay", str(DATA / "calfire.json.gz"), "--party-map", str(everyone), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0 and (tmp_path / "o").read_text() == ""
    csv = tmp_path / "two.csv"
    csv.write_text(
        "timestamp,icao24,latitude,longitude,altitude,groundspeed,track,vertical_rate\n"
        "2026-11-23T06:00:00Z,aaaaaa,50.0,10.0,30000,400,90,0\n"
        "2026-11-23T06:00:00Z,bbbbbb,50.0,10.5,30000,400,270,0\n"
    )
    result = runner.invoke(
        app, ["replay", str(csv), "--format", "csv", "--step", "10", "--raw", "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in (tmp_path / "c").read_text().splitlines()]
    assert (row["a"], row["b"], row["los"]) == ("aaaaaa", "bbbbbb", False)


def test_replay_reports_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    result = runner.invoke(app, ["replay", str(bad)])
    assert result.exit_code == 2
    assert runner.invoke(app, ["replay", str(bad), "--format", "xml"]).exit_code == 2


def test_replay_cli_reports_confirmed_alerts_and_scores_them(tmp_path: Path) -> None:
    out, figures = tmp_path / "alerts.jsonl", tmp_path / "score.json"
    result = runner.invoke(
        app, ["replay", str(DATA / "calfire.json.gz"), "--out", str(out), "--score", "--score-json", str(figures)]
    )
    assert result.exit_code == 0, result.output
    assert "alert pairs" in result.output and "episodes per flight hour" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {row["level"] for row in rows} == {"advisory", "warning", "loss_of_separation"}
    assert all(row["los"] == (row["level"] == "loss_of_separation") for row in rows)
    assert all(isinstance(row["t"], int) for row in rows)  # every second, the service's period
    scored = json.loads(figures.read_text())
    assert scored["episodes"] > 0 and scored["false_los_rows"] < 50


def test_replay_takes_the_rules_from_an_agreement(tmp_path: Path) -> None:
    document = tmp_path / "agreement.json"
    document.write_text(
        json.dumps(
            {
                "version": 1, "parties": ["a"], "h_strategic_m": 1000.0, "v_m": 300.0, "time_buffer_s": 0.0,
                "alert_levels": [{"name": "caution", "within_s": 30}],
                "confirmation": {"m": 1, "n": 1, "persistence_s": 0, "clear_after_s": 0},
            }
        )
    )  # fmt: skip
    out = tmp_path / "rows.jsonl"
    result = runner.invoke(
        app, ["replay", str(DATA / "calfire.json.gz"), "--agreement", str(document), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    levels = {json.loads(line)["level"] for line in out.read_text().splitlines()}
    assert levels == {"caution", "loss_of_separation"}
    bad = runner.invoke(app, ["replay", str(DATA / "calfire.json.gz"), "--score-json", str(tmp_path / "x.json")])
    assert bad.exit_code == 2 and "--score" in bad.output


@settings(max_examples=200, deadline=None)
@given(
    reports=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 120).map(float)), min_size=0, max_size=60
    ),
    max_age=st.sampled_from([0.0, 5.0, 20.0]),
    step=st.sampled_from([1.0, 3.0, 10.0]),
)
def test_latest_states_at_many_times_equal_one_time_each(
    reports: list[tuple[str, float]], max_age: float, step: float
) -> None:
    reports.sort(key=lambda r: (r[1], r[0]))
    n = len(reports)
    zeros = np.zeros(n)
    recording = Recording(
        np.array([t for _, t in reports]), np.array([i for i, _ in reports], dtype=np.str_),
        zeros, zeros, zeros, zeros, zeros, zeros, {}, n,
    )  # fmt: skip
    times = evaluation_times(recording, step)
    idx, bounds = latest_states_at(recording, times, max_age)
    for k, t in enumerate(times):
        assert idx[bounds[k] : bounds[k + 1]].tolist() == latest_states(recording, float(t), max_age).tolist()


def test_replay_guidance_adds_both_aircraft_ranges_and_nothing_else(tmp_path: Path) -> None:
    plain, guided = tmp_path / "plain.jsonl", tmp_path / "guided.jsonl"
    args = ["replay", str(DATA / "calfire.json.gz"), "--step", "30"]
    assert runner.invoke(app, [*args, "--out", str(plain)]).exit_code == 0
    result = runner.invoke(app, [*args, "--guidance", "--out", str(guided)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in guided.read_text().splitlines()]
    assert rows and [{k: v for k, v in r.items() if k != "guidance"} for r in rows] == [
        json.loads(line) for line in plain.read_text().splitlines()
    ]  # the same rows, with guidance added
    states = set()
    for row in rows:
        assert set(row["guidance"]) == {row["a"], row["b"]}
        for shown in row["guidance"].values():
            if shown is None:  # an alert held open while its aircraft is gone
                assert row["t_los"] is None
                continue
            assert set(shown) == {"track_deg", "gs_mps", "vs_mps", "alt_m"}
            for ranges in shown.values():
                assert all(lo <= hi for lo, hi, _ in ranges)
                assert all(a[1] < b[0] and a[2] != b[2] for a, b in itertools.pairwise(ranges))
                states |= {state for _, _, state in ranges}
    assert states == {"free", "conflict", "recovery"}  # aircraft in loss of separation get recovery ranges


def test_replay_guidance_is_the_engine_s(tmp_path: Path) -> None:
    """One row's guidance is guidance_many's on the picture of that time."""
    from deconline.core.guidance import BandRules, guidance_many

    recording = load_recording(DATA / "calfire.json.gz", "traffic-json")
    row = next(r for r in replay(recording, RULES, 60.0, guidance=True, alerting=None) if r["t_los"] is not None)
    idx = latest_states(recording, float(row["t"]), RULES.max_track_age_s)
    s = extrapolate(states(recording, owners(recording, None), idx), float(row["t"]), RULES.max_track_age_s)
    names = [str(n) for n in recording.ids[idx][s.index]]
    found = guidance_many(s, [names.index(row["a"])], BandRules(RULES.h_m, RULES.v_m, RULES.lookahead_s))[0]
    shown = row["guidance"][row["a"]]["alt_m"]
    assert [(lo, hi, state != "free") for lo, hi, state in shown] == [
        (round(r.lo, 1), round(r.hi, 1), r.conflict) for r in found.alt_m
    ]
