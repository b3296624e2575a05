"""The agreement: the memorandum in force, as a strict document every party signs.

Unknown fields are refused so that what a party signs is exactly what the line enforces.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from deconline.core.strategic import StrategicRules
from deconline.core.text import check_plain, problem

PARTY_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
PartyId = Annotated[str, Field(pattern=PARTY_ID_PATTERN, description="lower-case letters, digits, '-' and '_'")]
UNAFFILIATED = "unaffiliated"  # the owner shown for aircraft of no party; reserved, so no party can take it
STORED = {"stored": True}  # validation context of a document already on the line: its text is read as signed


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TacticalRules(_Strict):
    """Minima and look-ahead for predicted losses of separation between live tracks."""

    h_m: float = Field(9260.0, gt=0, le=100_000, description="horizontal minimum, metres (default 5 NM)")
    v_m: float = Field(304.8, gt=0, le=10_000, description="vertical minimum, metres (default 1,000 ft)")
    lookahead_s: float = Field(300.0, gt=0, le=3600, description="how far ahead losses of separation are predicted")
    check_same_owner: bool = Field(False, description="also alert on pairs of one party's own aircraft")


class AlertLevel(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    within_s: float = Field(gt=0, le=3600, description="raised when loss of separation is predicted within this time")


class Disclosure(_Strict):
    tracks_of_others: Literal["in_alert", "always"] = Field(
        "in_alert", description="'in_alert': another party's track is shown only while it is in an alert with one's own"
    )


def _stored(info: ValidationInfo) -> bool:
    """Versions proposed before text was checked keep loading (they are signed as they are)."""
    return bool(info.context and info.context.get("stored"))


def _default_levels() -> list[AlertLevel]:
    return [AlertLevel(name="advisory", within_s=300), AlertLevel(name="warning", within_s=120)]


def _default_deadlines() -> dict[str, float]:
    return {"default": 300.0, "safety_alert": 60.0, "deconfliction_request": 600.0, "comm_check": 120.0}


class Agreement(_Strict):
    """One version of the memorandum. It takes effect once every listed party has signed it."""

    version: int = Field(ge=1, le=2**31 - 1, description="1 for the first agreement, then the next number")
    title: str = Field("", max_length=200)
    parties: list[PartyId] = Field(min_length=1, max_length=100)
    h_strategic_m: float = Field(gt=0, le=1_000_000, description="strategic horizontal separation, metres")
    v_m: float = Field(ge=0, le=10_000, description="strategic vertical separation, metres")
    time_buffer_s: float = Field(ge=0, le=86_400, description="gap required between time windows, seconds")
    tactical: TacticalRules = Field(default_factory=TacticalRules)
    max_track_age_s: float = Field(20.0, gt=0, le=3600, description="older tracks are stale and take no part")
    alert_levels: list[AlertLevel] = Field(default_factory=_default_levels, max_length=10)
    ack_deadlines_s: dict[str, float] = Field(
        default_factory=_default_deadlines, description="hotline acknowledgement deadline per message kind"
    )
    comm_check_interval_s: float = Field(900.0, gt=0, le=86_400)
    escalation: dict[str, str] = Field(
        default_factory=dict, description="per party, who is alerted when its acknowledgements are overdue"
    )
    disclosure: Disclosure = Field(default_factory=Disclosure)
    auto_end_after_s: float = Field(
        0.0,
        ge=0,
        le=7 * 86_400,
        description="an operation still open this long after its last window closes is ended by the line",
    )
    surveillance_providers: list[PartyId] = Field(
        default_factory=list,
        max_length=100,
        description="parties that may post unaffiliated traffic (aircraft of no party, e.g. from an ADS-B receiver)",
    )

    @field_validator("title")
    @classmethod
    def _plain_title(cls, title: str, info: ValidationInfo) -> str:
        return title if _stored(info) else check_plain(title)

    @field_validator("ack_deadlines_s", "escalation")
    @classmethod
    def _plain_names(cls, names: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if not _stored(info):
            for key, value in names.items():
                if (reason := problem(key)) is not None:
                    reason = f"a key {reason}"
                elif isinstance(value, str) and (reason := problem(value)) is not None:
                    reason = f"the value for {key!r} {reason}"
                if reason is not None:
                    raise PydanticCustomError("text_characters", "{reason}", {"reason": reason})
        return names

    @field_validator("parties", "surveillance_providers")
    @classmethod
    def _unique(cls, parties: list[str]) -> list[str]:
        if len(set(parties)) != len(parties):
            raise ValueError("each party may be listed only once")
        return parties

    @field_validator("ack_deadlines_s")
    @classmethod
    def _positive_deadlines(cls, deadlines: dict[str, float]) -> dict[str, float]:
        for kind, seconds in deadlines.items():
            if not 0 < seconds <= 86_400:
                raise ValueError(f"deadline for {kind!r} must be in (0, 86400] seconds")
        return deadlines

    @model_validator(mode="after")
    def _escalation_names_parties(self) -> Agreement:
        unknown = set(self.escalation) - set(self.parties)
        if unknown:
            raise ValueError(f"escalation names parties not in the agreement: {sorted(unknown)}")
        return self

    @model_validator(mode="after")
    def _providers_are_parties(self) -> Agreement:
        unknown = [p for p in self.surveillance_providers if p not in self.parties]
        if unknown:
            raise ValueError(f"surveillance_providers names parties not in the agreement: {unknown}")
        return self

    @property
    def strategic_rules(self) -> StrategicRules:
        return StrategicRules(h_m=self.h_strategic_m, v_m=self.v_m, time_buffer_s=self.time_buffer_s)

    def document(self) -> dict[str, object]:
        """The JSON document the parties sign (defaults filled in, so everyone signs the same bytes).

        Fields added after the first release (``surveillance_providers``, ``auto_end_after_s``) are
        left out while they hold their defaults: versions signed before they existed keep their
        exact bytes, so their signatures and hashes still verify.
        """
        document = self.model_dump(mode="json")
        if not self.surveillance_providers:
            del document["surveillance_providers"]
        if not self.auto_end_after_s:
            del document["auto_end_after_s"]
        return document
