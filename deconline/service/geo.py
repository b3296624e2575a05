"""Between stored rows and core volumes, and the times and shapes shown to people."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from shapely.geometry import mapping, shape

from deconline.core.volumes import Volume


class VolumeRow(Protocol):
    footprint: dict[str, object]
    radius_m: float
    lower_m: float
    upper_m: float
    start_s: float
    end_s: float


def volume_from_row(row: VolumeRow) -> Volume:
    """Rows were validated on the way in, so they are trusted here."""
    return Volume(shape(row.footprint), row.radius_m, row.lower_m, row.upper_m, row.start_s, row.end_s)


def footprint_json(volume: Volume) -> dict[str, Any]:
    return _rounded(dict(mapping(volume.footprint)))


def _rounded(geojson: dict[str, Any]) -> dict[str, Any]:
    """Plain lists (not tuples) with 1e-9 degree precision (~0.1 mm)."""

    def walk(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        if isinstance(value, float):
            return round(value, 9)
        return value

    return {"type": geojson["type"], "coordinates": walk(geojson["coordinates"])}


def geometry_json(geometry: Any) -> dict[str, Any]:
    return _rounded(dict(mapping(geometry)))


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def epoch(value: datetime) -> float:
    return value.timestamp()
