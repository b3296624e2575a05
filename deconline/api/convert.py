"""Between wire shapes and core volumes; and ORM rows to the views each party may see."""

from __future__ import annotations

from collections.abc import Sequence

from shapely.geometry import Point, Polygon

from deconline.api.schemas import (
    AgreementOut,
    AstmVolume4D,
    ConflictPartOut,
    HazardOut,
    NoticeOut,
    OperationOut,
    VolumeIn,
    VolumeOut,
)
from deconline.core.volumes import Limits, Volume, VolumeError, circle_centre, make_volume, polygon_from_geojson
from deconline.core.volumes import polygon_from_ring as ring_polygon
from deconline.service.agreements import AgreementState
from deconline.service.errors import Invalid
from deconline.service.geo import iso
from deconline.store.models import ConflictNotice, Hazard, Operation, OperationVolume

Loc = Sequence[str | int]


def _footprint(volume: VolumeIn | AstmVolume4D) -> tuple[Polygon | Point, float, Loc]:
    if isinstance(volume, VolumeIn):
        if volume.footprint.type == "Point":
            if volume.radius_m is None:
                raise VolumeError("radius_m", "a Point footprint needs radius_m (a circle)")
            point, radius = circle_centre(volume.footprint.coordinates, volume.radius_m, "footprint")
            return point, radius, ["footprint"]
        if volume.radius_m is not None:
            raise VolumeError("radius_m", "radius_m goes only with a Point footprint")
        return polygon_from_geojson(volume.footprint.model_dump(), "footprint"), 0.0, ["footprint"]
    outline = volume.volume
    if (outline.outline_polygon is None) == (outline.outline_circle is None):
        raise VolumeError("volume", "give exactly one of outline_polygon and outline_circle")
    if outline.outline_circle is not None:
        c = outline.outline_circle
        point, radius = circle_centre([c.center.lng, c.center.lat], c.radius.value, "volume.outline_circle.center")
        return point, radius, ["volume", "outline_circle"]
    assert outline.outline_polygon is not None
    ring = [[v.lng, v.lat] for v in outline.outline_polygon.vertices]
    return ring_polygon(ring, "volume.outline_polygon.vertices", closed=False), 0.0, ["volume", "outline_polygon"]


def to_volume(volume: VolumeIn | AstmVolume4D, limits: Limits, loc: Loc) -> Volume:
    """Validate one wire volume into a core volume, or raise a 422 naming the field and the rule."""
    try:
        footprint, radius, _ = _footprint(volume)
        if isinstance(volume, VolumeIn):
            return make_volume(
                footprint,
                radius,
                volume.lower_m,
                volume.upper_m,
                volume.start.timestamp(),
                volume.end.timestamp(),
                limits,
            )
        v = volume.volume
        return make_volume(
            footprint,
            radius,
            v.altitude_lower.value,
            v.altitude_upper.value,
            volume.time_start.value.timestamp(),
            volume.time_end.value.timestamp(),
            limits,
        )
    except VolumeError as exc:
        raise Invalid([*loc, *exc.field.replace("]", "").replace("[", ".").split(".")], exc.message) from exc


def to_volumes(volumes: Sequence[VolumeIn | AstmVolume4D], limits: Limits) -> list[Volume]:
    return [to_volume(v, limits, ["body", "volumes", i]) for i, v in enumerate(volumes)]


def volume_out(row: OperationVolume | Hazard) -> VolumeOut:
    return VolumeOut(
        footprint=row.footprint,
        radius_m=row.radius_m or None,
        lower_m=row.lower_m,
        upper_m=row.upper_m,
        start=iso(row.start_s),
        end=iso(row.end_s),
    )


def notice_out(notice: ConflictNotice) -> NoticeOut:
    """Deliberately leaves out ``other_operation_id``: the filer sees only the opaque reference."""
    return NoticeOut(
        id=notice.id,
        kind=notice.kind,  # type: ignore[arg-type]
        operation=notice.operation_id,
        operation_version=notice.operation_version,
        volume=notice.volume_ordinal,
        other_party=notice.other_party_id,
        other_ref=notice.other_ref,
        hazard_id=notice.hazard_id,
        conflict=ConflictPartOut(
            footprint=notice.footprint,
            lower_m=notice.lower_m,
            upper_m=notice.upper_m,
            start=iso(notice.start_s),
            end=iso(notice.end_s),
        ),
        state=notice.state,  # type: ignore[arg-type]
        created_at=iso(notice.created_at),
        resolved_at=iso(notice.resolved_at) if notice.resolved_at is not None else None,
        resolution=notice.resolution,  # type: ignore[arg-type]
    )


def operation_out(op: Operation) -> OperationOut:
    return OperationOut(
        id=op.id,
        party=op.party_id,
        name=op.name,
        state=op.state,
        version=op.version,
        agreement_version=op.agreement_version,
        created_at=iso(op.created_at),
        updated_at=iso(op.updated_at),
        volumes=[volume_out(v) for v in op.volumes],
        notices=[notice_out(n) for n in op.notices],
    )


def hazard_out(hazard: Hazard) -> HazardOut:
    return HazardOut(
        id=hazard.id,
        kind=hazard.kind,
        name=hazard.name,
        state=hazard.state,
        declared_by=hazard.party_id,
        volume=volume_out(hazard),
        version=hazard.version,
        created_at=iso(hazard.created_at),
        updated_at=iso(hazard.updated_at),
    )


def agreement_out(state: AgreementState) -> AgreementOut:
    return AgreementOut(
        version=state.agreement.version,
        document=state.agreement.document(),
        proposed_by=state.proposed_by,
        created_at=iso(state.created_at),
        signed_by={p: iso(t) for p, t in state.signed_by.items()},
        missing_signatures=state.missing,
        in_force_at=iso(state.in_force_at) if state.in_force_at is not None else None,
        current=state.current,
    )
