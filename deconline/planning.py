"""The offline planning check: conflicts among the features of a GeoJSON file, no server needed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from deconline.core.strategic import StrategicRules, conflicting_pairs
from deconline.core.volumes import Limits, Volume, VolumeError, circle_centre, make_volume, polygon_from_geojson
from deconline.service.geo import iso

HAZARD = "hazard"


class PlanningError(ValueError):
    """The input file breaks a rule; the message names the feature and the field."""


@dataclass(frozen=True)
class PlannedVolume:
    id: str
    party: str
    volume: Volume


def _time(value: Any, where: str) -> float:
    if not isinstance(value, str):
        raise PlanningError(f"{where}: must be an ISO 8601 time with a zone")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PlanningError(f"{where}: {value!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise PlanningError(f"{where}: {value!r} has no time zone (add Z or +00:00)")
    return parsed.timestamp()


def parse_feature(feature: Any, index: int, limits: Limits) -> PlannedVolume:
    where = f"feature {index}"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise PlanningError(f"{where}: not a GeoJSON Feature")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise PlanningError(f"{where}: properties must be an object")
    for name in ("id", "party", "lower_m", "upper_m", "start", "end"):
        if name not in props:
            raise PlanningError(f"{where}: property '{name}' is missing")
    fid, party = str(props["id"]), str(props["party"])
    where = f"feature {index} (id {fid})"
    geometry = feature.get("geometry")
    try:
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            footprint, radius = circle_centre(geometry.get("coordinates"), props.get("radius_m"), "geometry")
        else:
            footprint, radius = polygon_from_geojson(geometry, "geometry"), 0.0
        volume = make_volume(
            footprint,
            radius,
            props["lower_m"],
            props["upper_m"],
            _time(props["start"], f"{where} start"),
            _time(props["end"], f"{where} end"),
            limits,
        )
    except VolumeError as exc:
        raise PlanningError(f"{where}: {exc.message}") from exc
    return PlannedVolume(fid, party, volume)


def read_features(path: Path, limits: Limits = Limits()) -> list[PlannedVolume]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PlanningError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise PlanningError(f"{path}: must be a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise PlanningError(f"{path}: 'features' must be a list")
    planned = [parse_feature(f, i, limits) for i, f in enumerate(features)]
    seen: set[str] = set()
    for p in planned:
        if p.id in seen:
            raise PlanningError(f"feature id {p.id!r} appears twice")
        seen.add(p.id)
    return planned


def _span(a_lo: float, a_hi: float, b_lo: float, b_hi: float) -> tuple[float, float]:
    """The overlap of two intervals, or the gap between them when they do not overlap."""
    lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
    return min(lo, hi), max(lo, hi)


def conflicts(planned: list[PlannedVolume], rules: StrategicRules) -> Iterator[dict[str, Any]]:
    """One record per conflicting pair of different parties, ``a < b``, in a stable order."""
    items = [(p.id, p.volume, p.party) for p in planned]
    records = []
    for i, j in conflicting_pairs(items, rules):
        first, second = sorted((planned[i], planned[j]), key=lambda p: p.id)
        a, b = first.volume, second.volume
        start, end = _span(a.start_s, a.end_s, b.start_s, b.end_s)
        lower, upper = _span(a.lower_m, a.upper_m, b.lower_m, b.upper_m)
        kind = "hazard" if HAZARD in (first.party, second.party) else "operation"
        records.append(
            {"a": first.id, "b": second.id, "kind": kind, "window": [iso(start), iso(end)], "altitude": [lower, upper]}
        )
    yield from sorted(records, key=lambda r: (r["a"], r["b"]))
