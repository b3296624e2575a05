"""Wire shapes of the API. Every input model forbids unknown fields and non-finite numbers.

Volumes come in two shapes: deconline's own (a GeoJSON footprint) and the ASTM F3548
``Volume4D`` shape used by UTM software, so such software can file without a converter.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    Tag,
    model_validator,
)

from deconline.api.track_reports import MAX_REPORTS, read_batch
from deconline.core.agreement import PARTY_ID_PATTERN
from deconline.core.notices import RESOLUTIONS
from deconline.core.text import MultilineText, PlainText
from deconline.service.tactical import Report


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# --- deconline's own volume shape -------------------------------------------------------------

Position = Annotated[list[float], Field(min_length=2, max_length=3, description="[longitude, latitude]")]


class PolygonGeometry(Strict):
    type: Literal["Polygon"]
    coordinates: list[list[Position]] = Field(description="one closed exterior ring of [lon, lat] positions")


class PointGeometry(Strict):
    type: Literal["Point"]
    coordinates: Position


class VolumeIn(Strict):
    """A 4D volume: a polygon, or a circle (Point footprint + radius_m)."""

    footprint: Annotated[PolygonGeometry | PointGeometry, Field(discriminator="type")]
    radius_m: float | None = Field(None, gt=0, description="required with a Point footprint, metres")
    lower_m: float = Field(description="lower bound of the altitude band, metres (WGS84)")
    upper_m: float = Field(description="upper bound of the altitude band, metres (WGS84)")
    start: AwareDatetime = Field(description="ISO 8601 with a time zone, e.g. 2026-11-23T08:00:00Z")
    end: AwareDatetime


# --- ASTM F3548 Volume4D ----------------------------------------------------------------------


class LatLng(Strict):
    lat: float
    lng: float


class AstmPolygon(Strict):
    vertices: list[LatLng] = Field(description="at least 3 vertices; the ring is closed implicitly")


class AstmRadius(Strict):
    value: float = Field(gt=0)
    units: Literal["M"]


class AstmCircle(Strict):
    center: LatLng
    radius: AstmRadius


class AstmAltitude(Strict):
    value: float
    reference: Literal["W84"]
    units: Literal["M"]


class AstmVolume3D(Strict):
    outline_polygon: AstmPolygon | None = None
    outline_circle: AstmCircle | None = None
    altitude_lower: AstmAltitude
    altitude_upper: AstmAltitude


class AstmTime(Strict):
    value: AwareDatetime
    format: Literal["RFC3339"]


class AstmVolume4D(Strict):
    """ASTM F3548-21 ``Volume4D`` (exactly one of outline_polygon / outline_circle)."""

    volume: AstmVolume3D
    time_start: AstmTime
    time_end: AstmTime


def _volume_shape(value: Any) -> str:
    if isinstance(value, dict):
        return "astm" if "volume" in value else "native"
    return "astm" if isinstance(value, AstmVolume4D) else "native"


AnyVolume = Annotated[
    Annotated[VolumeIn, Tag("native")] | Annotated[AstmVolume4D, Tag("astm")],
    Discriminator(_volume_shape),
]


# --- requests ---------------------------------------------------------------------------------


class OperationIn(Strict):
    name: PlainText = Field("", max_length=200, description="no control or bidirectional formatting characters")
    volumes: list[AnyVolume] = Field(min_length=1, max_length=100)


class OperationRevision(OperationIn):
    version: int = Field(ge=1, le=2**31 - 1, description="the version being replaced (409 if it is not the latest)")


class StateChange(Strict):
    version: int = Field(ge=1, le=2**31 - 1)
    state: Literal["accepted", "active", "ended", "cancelled"]


class VersionRef(Strict):
    version: int = Field(ge=1, le=2**31 - 1)


class HazardIn(Strict):
    kind: Literal["air_defence", "live_fire", "firefighting", "other"]
    name: PlainText = Field("", max_length=200, description="no control or bidirectional formatting characters")
    volume: AnyVolume


class HazardChange(HazardIn):
    """The whole hazard as it is now; ``version`` must be the latest (else 409)."""

    version: int = Field(ge=1, le=2**31 - 1)


class SignatureIn(Strict):
    signature: str = Field(min_length=1, max_length=200, description="base64 Ed25519 signature over the canonical JSON")


class PartyIn(Strict):
    id: str = Field(pattern=PARTY_ID_PATTERN)
    group: str | None = Field(None, pattern=PARTY_ID_PATTERN)
    public_key: str = Field(min_length=1, max_length=100, description="base64 of the raw 32-byte Ed25519 public key")


# --- responses --------------------------------------------------------------------------------


class VolumeOut(BaseModel):
    footprint: dict[str, Any]
    radius_m: float | None
    lower_m: float
    upper_m: float
    start: str
    end: str


class ConflictPartOut(BaseModel):
    """The part of one's OWN volume in conflict; nothing of the other party's geometry."""

    footprint: dict[str, Any]
    lower_m: float
    upper_m: float
    start: str
    end: str


NoticeKind = Literal["operation", "hazard", "rules_changed"]


class NoticeOut(BaseModel):
    """A conflict of one's OWN operation: with another party's operation (``operation``), a hazard
    (``hazard``), or either found when a new agreement version came into force (``rules_changed``)."""

    id: str
    kind: NoticeKind
    operation: str = Field(description="one's own operation the notice is about")
    operation_version: int
    volume: int = Field(description="index of one's own volume in conflict")
    other_party: str | None
    other_ref: str = Field(description="opaque reference to the other operation (or the public hazard id)")
    hazard_id: str | None
    conflict: ConflictPartOut
    state: Literal["open", "resolved"]
    created_at: str
    resolved_at: str | None = None
    resolution: str | None = Field(
        None,
        description="why it was resolved: own_/other_ revised, cancelled or ended; hazard_changed or "
        "hazard_withdrawn; rules_changed; superseded (the same pair told anew, by a newer notice)",
        json_schema_extra={"enum": [*RESOLUTIONS, None]},
    )


class OperationOut(BaseModel):
    id: str
    party: str
    name: str
    state: str
    version: int
    agreement_version: int
    created_at: str
    updated_at: str
    volumes: list[VolumeOut]
    notices: list[NoticeOut]


class HazardOut(BaseModel):
    id: str
    kind: str
    name: str
    state: str
    declared_by: str | None
    volume: VolumeOut
    version: int
    created_at: str
    updated_at: str


class AgreementOut(BaseModel):
    version: int
    document: dict[str, Any]
    proposed_by: str
    created_at: str
    signed_by: dict[str, str]
    missing_signatures: list[str]
    in_force_at: str | None
    current: bool


class PartyOut(BaseModel):
    id: str
    group: str | None
    public_key: str


class PartyCreated(PartyOut):
    token: str = Field(description="shown once; only its hash is stored")


class WhoAmI(BaseModel):
    role: str
    party: str | None
    group: str | None
    line: str | None = Field(None, description="this line's id (the record's origin): every signed statement names it")


# --- tracks ------------------------------------------------------------------------------------


def _trimmed_upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# A callsign is trimmed and upper-cased first, then checked against the pattern.
Callsign = Annotated[str, Field(pattern=r"^[A-Z0-9 ]{1,8}$"), BeforeValidator(_trimmed_upper)]


class TrackIn(Strict):
    """One position report of one of the sender's aircraft (SI units)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="ICAO 24-bit address or the party's own id")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_m: float = Field(ge=-500, le=30_000)
    gs_mps: float = Field(ge=0, le=1_500, description="ground speed, m/s")
    track_deg: float = Field(ge=0, le=360, description="track angle, degrees true")
    vrate_mps: float = Field(0.0, ge=-250, le=250, description="vertical rate, m/s (positive up)")
    time: AwareDatetime
    selected_altitude_m: float | None = Field(
        None,
        ge=-500,
        le=30_000,
        description="the altitude selected on the autopilot (MCP/FCU, else FMS), m, as ADS-B target state "
        "(TC 29) or Mode S BDS 4,0 report it: where a climb or descent is meant to stop",
    )
    callsign: Callsign | None = Field(
        None, description="the flight's callsign: up to 8 letters, digits and spaces once trimmed; stored upper-case"
    )
    nac_p: int | None = Field(
        None, ge=0, le=11, strict=True, description="ADS-B navigation accuracy category for position (0-11)"
    )
    velocity_age_s: float = Field(
        0.0, ge=0, le=3600, description="how much older the velocity (gs_mps, track_deg, vrate_mps) is than the time, s"
    )


class TrackBatch(Strict):
    """Read by msgspec where it agrees with this model (``api.track_reports``): such a batch carries
    its reports, not ``TrackIn`` models (``tracks`` is empty); :meth:`reports` gives them either way."""

    tracks: list[TrackIn] = Field(min_length=1, max_length=MAX_REPORTS)
    unaffiliated: bool = Field(
        False,
        strict=True,
        description="the reports are of aircraft of no party (e.g. civil traffic from an ADS-B receiver); "
        "only a surveillance provider named in the agreement in force may send them (403 otherwise)",
    )
    _read: list[Report] | None = PrivateAttr(None)

    @model_validator(mode="wrap")
    @classmethod
    def _read_fast(cls, value: Any, handler: ModelWrapValidatorHandler[TrackBatch]) -> TrackBatch:
        read = read_batch(value)
        if read is None:
            return handler(value)  # the model decides, and its errors are the answer
        batch = cls.model_construct(tracks=[], unaffiliated=read[1])
        batch._read = read[0]
        return batch

    def reports(self) -> list[Report]:
        if self._read is not None:
            return self._read
        return [
            Report(
                t.id, t.lat, t.lon, t.alt_m, t.gs_mps, t.track_deg % 360.0, t.vrate_mps, t.time.timestamp(),
                t.selected_altitude_m, t.callsign, t.nac_p, t.velocity_age_s or None,
            )
            for t in self.tracks
        ]  # fmt: skip


class TrackAccepted(BaseModel):
    stored: int


# --- hotline -----------------------------------------------------------------------------------

MessageKind = Literal["notice", "deconfliction_request", "response", "acknowledgement", "comm_check", "incident_report"]


class AnswerIn(Strict):
    """The answer to a coordinated resolution proposed to you."""

    answer: Literal["accept", "reject"]


class Reference(Strict):
    """What a message is about: one's own operation, a conflict notice, an alert, an earlier message."""

    type: Literal["operation", "notice", "alert", "message"]
    id: str = Field(pattern=r"^[a-z]{2}_[0-9a-f]{16}$")


class Proposal(Strict):
    """A change proposed to deconflict; deliberately nothing but airspace, time and altitude."""

    action: Literal["hold", "shift_time", "change_band", "reroute_away", "accept", "reject", "counter"]
    shift_s: float | None = Field(None, ge=-86_400, le=86_400)
    band: tuple[float, float] | None = Field(None, description="proposed altitude band [lower_m, upper_m]")
    area: PolygonGeometry | None = Field(None, description="the area to keep clear of")
    until: AwareDatetime | None = None


class MessageIn(Strict):
    """A hotline message. There is no field for targets, weapons or strike data, and unknown fields
    are refused: the line carries safety-of-flight information only."""

    recipients: list[PlainText] = Field(min_length=1, max_length=50, description="party ids, or 'group:<name>'")
    kind: MessageKind
    references: list[Reference] = Field(default_factory=list, max_length=20)
    proposal: Proposal | None = None
    text: MultilineText = Field(
        "", max_length=2000, description="tab and newline allowed, no other control or bidi formatting characters"
    )
    requires_ack: bool = True


class NoticeRequest(Strict):
    """A deconfliction request built from one's own conflict notice."""

    proposal: Proposal | None = None
    text: MultilineText = Field(
        "", max_length=2000, description="tab and newline allowed, no other control or bidi formatting characters"
    )
