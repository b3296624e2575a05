"""The agreement: the memorandum in force, as a strict document every party signs.

Unknown fields are refused so that what a party signs is exactly what the line enforces.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from deconline.core import alerting
from deconline.core.strategic import StrategicRules
from deconline.core.tactical import DEFAULTS
from deconline.core.text import check_plain, problem

PARTY_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
PartyId = Annotated[str, Field(pattern=PARTY_ID_PATTERN, description="lower-case letters, digits, '-' and '_'")]
UNAFFILIATED = "unaffiliated"  # the owner shown for aircraft of no party; reserved, so no party can take it
STORED = {"stored": True}  # validation context of a document already on the line: its text is read as signed


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TacticalRules(_Strict):
    """Minima and look-ahead for predicted losses of separation between live tracks."""

    h_m: float = Field(DEFAULTS.h_m, gt=0, le=100_000, description="horizontal minimum, metres (default 5 NM)")
    v_m: float = Field(DEFAULTS.v_m, gt=0, le=10_000, description="vertical minimum, metres (default 1,000 ft)")
    lookahead_s: float = Field(
        DEFAULTS.lookahead_s, gt=0, le=3600, description="how far ahead losses of separation are predicted"
    )
    check_same_owner: bool = Field(False, description="also alert on pairs of one party's own aircraft")


class AlertLevel(_Strict):
    """One alert level's own criteria, as DAIDALUS's DO-365 alerters have them.

    A level is raised when its thresholds are predicted to be violated within ``within_s`` (the
    alerting time) and, once raised, held while they are predicted within ``early_s`` (the longer
    early-alerting time), so a level does not flicker on a prediction near its limit. In a version
    signed before these fields existed, an absent ``early_s`` is ``within_s`` and absent thresholds
    are the tactical minima.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    within_s: float = Field(
        gt=0, le=3600, description="alerting time: raised when its thresholds are predicted violated within this time"
    )
    early_s: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="early-alerting time (>= within_s): a raised level is held while predicted within it",
    )
    h_m: float | None = Field(None, gt=0, le=100_000, description="horizontal threshold, metres (default: the minimum)")
    v_m: float | None = Field(None, gt=0, le=10_000, description="vertical threshold, metres (default: the minimum)")

    def read(self, tactical: TacticalRules) -> alerting.Level:
        """The level as the line applies it: absent fields as documented."""
        return alerting.Level(
            name=self.name,
            h_m=tactical.h_m if self.h_m is None else self.h_m,
            v_m=tactical.v_m if self.v_m is None else self.v_m,
            alerting_s=self.within_s,
            early_s=self.within_s if self.early_s is None else self.early_s,
        )

    @model_validator(mode="after")
    def _early_not_before_alerting(self) -> AlertLevel:
        if self.early_s is not None and self.early_s < self.within_s:
            raise ValueError(
                f"alert level {self.name!r}: early_s ({self.early_s:g}) must be >= within_s ({self.within_s:g})"
            )
        return self


class Surveillance(_Strict):
    """What the surveillance can resolve: reported altitudes come in 25 ft steps (100 ft for Mode C)
    and vertical rates in 64 ft/min steps, so two aircraft level 1,000 ft apart may report 950 ft."""

    vertical_tolerance_m: float = Field(
        alerting.DEFAULT_TOLERANCE_M,
        ge=0,
        le=300,
        description="a loss of separation is declared only below the vertical minimum by more than this; two level "
        "aircraft whose gap is within it of the minimum are separated (default 200 ft, ICAO's RVSM level band)",
    )
    level_rate_mps: float = Field(
        alerting.DEFAULT_LEVEL_RATE_MPS,
        ge=0,
        le=10,
        description="an aircraft whose vertical rate is within this is level and projected level (default 1 m/s, "
        "197 ft/min: three 64 ft/min steps of the ADS-B vertical-rate encoding, the noise of level flight)",
    )


class Confirmation(_Strict):
    """When a predicted loss of separation becomes an alert, and when an alert ends."""

    m: int = Field(
        alerting.Confirmation.m,
        ge=1,
        le=20,
        description="a level is raised when M of the last N evaluations predict it",
    )
    n: int = Field(alerting.Confirmation.n, ge=1, le=20, description="the N of M-of-N confirmation")
    persistence_s: float = Field(
        alerting.Confirmation.persistence_s, ge=0, le=600, description="after a raise, no lower level for this long"
    )
    clear_after_s: float = Field(
        alerting.Confirmation.clear_after_s,
        ge=0,
        le=600,
        description="an alert is cleared only after nothing was predicted for this long",
    )

    @model_validator(mode="after")
    def _m_of_n(self) -> Confirmation:
        if self.m > self.n:
            raise ValueError(f"confirmation: m ({self.m}) must be <= n ({self.n})")
        return self


class WitnessRef(_Strict):
    """A party's witness of the line's record (C2SP tlog-witness), as the agreement names it."""

    party: PartyId
    url: str = Field(
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        max_length=300,
        description="its submission prefix (POST URL/add-checkpoint)",
    )
    key: str = Field(
        pattern=r"^[!-*,-~]{1,200}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$",
        description="its cosigning key as a vkey: name+keyid+base64(0x04 || Ed25519 key)",
    )


class Disclosure(_Strict):
    tracks_of_others: Literal["in_alert", "always"] = Field(
        "in_alert", description="'in_alert': another party's track is shown only while it is in an alert with one's own"
    )


def _stored(info: ValidationInfo) -> bool:
    """Versions proposed before text was checked keep loading (they are signed as they are)."""
    return bool(info.context and info.context.get("stored"))


def _default_levels() -> list[AlertLevel]:
    """Tuned on the shared recordings with ``bench/bench_alerts.py`` (README, "Alerting")."""
    return [AlertLevel(name=name, within_s=within, early_s=early) for name, within, early in alerting.DEFAULT_LEVELS]


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
    max_track_age_s: float = Field(
        DEFAULTS.max_track_age_s, gt=0, le=3600, description="older tracks are stale and take no part"
    )
    alert_levels: list[AlertLevel] = Field(default_factory=_default_levels, min_length=1, max_length=10)
    surveillance: Surveillance | None = Field(
        None, description="the surveillance's resolution (absent in versions signed before it existed: the defaults)"
    )
    confirmation: Confirmation | None = Field(
        None, description="M-of-N confirmation, persistence and clearing (absent in older versions: the defaults)"
    )
    guidance: Literal["bands", "off"] | None = Field(
        None,
        description="'bands': a party may ask the line which of its own aircraft's manoeuvres would conflict; "
        "'off': it may not (absent in older versions: bands)",
    )
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
    statement_window_s: float | None = Field(
        None,
        ge=10,
        le=86_400,
        description="a signed statement is accepted only if created within ± this many seconds of the line's "
        "clock (absent: 300)",
    )
    witnesses: list[WitnessRef] = Field(
        default_factory=list,
        max_length=20,
        description="the parties' witnesses, to which the line sends every checkpoint to be cosigned",
    )
    checkpoint_every_s: float | None = Field(
        None, ge=0.1, le=3600, description="a new checkpoint at most this long after a write (absent: 1 s)"
    )
    witness_quorum: int | None = Field(
        None, ge=1, le=20, description="cosignatures a checkpoint needs to count (absent: all the witnesses)"
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
    def _alerting_written_out(self, info: ValidationInfo) -> Agreement:
        """A new version writes every alerting criterion in its document, so what the parties sign
        is what the line does; a stored one is read exactly as it was signed."""
        if _stored(info):
            return self
        for level in self.alert_levels:
            read = level.read(self.tactical)
            level.early_s, level.h_m, level.v_m = read.early_s, read.h_m, read.v_m
        self.surveillance = self.surveillance or Surveillance()
        self.confirmation = self.confirmation or Confirmation()
        self.guidance = self.guidance or "bands"
        return self

    @model_validator(mode="after")
    def _escalation_names_parties(self) -> Agreement:
        unknown = set(self.escalation) - set(self.parties)
        if unknown:
            raise ValueError(f"escalation names parties not in the agreement: {sorted(unknown)}")
        return self

    @model_validator(mode="after")
    def _witnesses_fit(self) -> Agreement:
        unknown = [w.party for w in self.witnesses if w.party not in self.parties]
        if unknown:
            raise ValueError(f"witnesses names parties not in the agreement: {unknown}")
        if self.witness_quorum is not None and self.witness_quorum > len(self.witnesses):
            raise ValueError(
                f"witness_quorum ({self.witness_quorum}) is more than the witnesses ({len(self.witnesses)})"
            )
        names = [w.key.split("+", 1)[0] for w in self.witnesses]
        if len(set(names)) != len(names):
            raise ValueError("each witness has a name of its own")
        return self

    @property
    def quorum(self) -> int:
        """Cosignatures a checkpoint needs (0: the line has no witnesses)."""
        return self.witness_quorum if self.witness_quorum is not None else len(self.witnesses)

    @model_validator(mode="after")
    def _providers_are_parties(self) -> Agreement:
        unknown = [p for p in self.surveillance_providers if p not in self.parties]
        if unknown:
            raise ValueError(f"surveillance_providers names parties not in the agreement: {unknown}")
        return self

    @property
    def strategic_rules(self) -> StrategicRules:
        return StrategicRules(h_m=self.h_strategic_m, v_m=self.v_m, time_buffer_s=self.time_buffer_s)

    @property
    def alerting_rules(self) -> alerting.AlertingRules:
        """The alerting criteria with absent fields read as documented (older versions): levels
        from least to most severe (the longer alerting time first)."""
        confirmation = self.confirmation or Confirmation()
        surveillance = self.surveillance or Surveillance()
        levels = [level.read(self.tactical) for level in self.alert_levels]
        return alerting.AlertingRules(
            levels=tuple(sorted(levels, key=lambda level: -level.alerting_s)),
            confirmation=alerting.Confirmation(
                confirmation.m, confirmation.n, confirmation.persistence_s, confirmation.clear_after_s
            ),
            vertical_tolerance_m=surveillance.vertical_tolerance_m,
            level_rate_mps=surveillance.level_rate_mps,
        )

    def document(self) -> dict[str, object]:
        """The JSON document the parties sign (defaults filled in, so everyone signs the same bytes).

        Fields added after the first release (``surveillance_providers``, ``auto_end_after_s``) are
        left out while they hold their defaults, and the alerting criteria (``surveillance``,
        ``confirmation``, ``guidance``, a level's ``early_s``, ``h_m``, ``v_m``) while absent: versions signed before
        they existed keep their exact bytes, so their signatures and hashes still verify.
        """
        document = self.model_dump(mode="json")
        for name in ("surveillance", "confirmation", "guidance", "statement_window_s"):
            if document[name] is None:
                del document[name]
        for level in document["alert_levels"]:
            for name in ("early_s", "h_m", "v_m"):
                if level[name] is None:
                    del level[name]
        if not self.surveillance_providers:
            del document["surveillance_providers"]
        if not self.witnesses:
            del document["witnesses"]
        for name in ("witness_quorum", "checkpoint_every_s"):
            if document[name] is None:
                del document[name]
        if not self.auto_end_after_s:
            del document["auto_end_after_s"]
        return document
