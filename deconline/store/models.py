"""Tables. Times are epoch seconds (float, UTC) so SQLite and PostgreSQL store them alike.

The schema is created and upgraded only by the Alembic migrations in ``migrations/``; these
classes are the mapping the service code uses, and a test checks the two agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy import text as sql_text  # a class below has a column named text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from deconline.core.agreement import UNAFFILIATED


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Service-wide values made at ``init`` (e.g. the secret behind opaque references)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Counter(Base):
    """Monotonic counters: the ``record`` row numbers the record (and is its lock), the
    ``tactical`` row serialises evaluation; ``strategic`` is no longer used (see service.line)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Party(Base):
    __tablename__ = "parties"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group: Mapped[str | None] = mapped_column(String(64), index=True)
    public_key: Mapped[str] = mapped_column(String(64))  # the current key: the last row of its party_keys
    created_at: Mapped[float] = mapped_column(Float)


class PartyKey(Base):
    """Every key a party has held, so its old signatures keep verifying: the current one has no
    ``valid_until``. A rotation keeps the document the party signed with its previous key and the
    index of the record entry that made it public, so anyone can follow the chain."""

    __tablename__ = "party_keys"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    public_key: Mapped[str] = mapped_column(String(64), index=True)
    valid_from: Mapped[float] = mapped_column(Float)
    valid_until: Mapped[float | None] = mapped_column(Float)
    document: Mapped[str | None] = mapped_column(Text)  # canonical JSON of the rotation, as signed
    signature: Mapped[str | None] = mapped_column(String(128))  # base64, by the previous key
    record_index: Mapped[int | None] = mapped_column(BigInteger)  # the party.key_rotated entry


class Token(Base):
    """API tokens, stored only as SHA-256 hashes (they are 256-bit random, so no slow hash is needed)."""

    __tablename__ = "tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    party_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)  # refused from then on
    revoked_at: Mapped[float | None] = mapped_column(Float)  # refused from then on, on every instance

    @property
    def token_id(self) -> str:
        """A short name for the token that reveals nothing: the start of its hash."""
        return self.token_hash[:12]


class AgreementVersion(Base):
    __tablename__ = "agreements"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly what is signed
    proposed_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    in_force_at: Mapped[float | None] = mapped_column(Float)
    signatures: Mapped[list[AgreementSignature]] = relationship(
        back_populates="agreement", order_by="AgreementSignature.party_id"
    )


class AgreementSignature(Base):
    __tablename__ = "agreement_signatures"
    version: Mapped[int] = mapped_column(ForeignKey("agreements.version"), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    signature: Mapped[str] = mapped_column(String(128))
    signed_at: Mapped[float] = mapped_column(Float)
    agreement: Mapped[AgreementVersion] = relationship(back_populates="signatures")


# The operations that can still be in a conflict (``service.notices.PENDING_STATES``), as the
# worker's search for those past their end and the index that serves it both write it.
PENDING_OPERATIONS = "state IN ('proposed', 'accepted', 'active')"


class Operation(Base):
    __tablename__ = "operations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), index=True)  # the evaluator reads the active ones every second
    version: Mapped[int] = mapped_column(Integer)
    agreement_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    ends_at: Mapped[float] = mapped_column(Float, index=True)  # end of the last window: when it may end on its own
    volumes: Mapped[list[OperationVolume]] = relationship(
        back_populates="operation", order_by="OperationVolume.ordinal", cascade="all, delete-orphan"
    )
    notices: Mapped[list[ConflictNotice]] = relationship(
        primaryjoin="and_(Operation.id == ConflictNotice.operation_id, ConflictNotice.state == 'open')",
        order_by="ConflictNotice.id",
        viewonly=True,
        foreign_keys="ConflictNotice.operation_id",
    )  # the open ones: resolved notices stay in the table as history

    # For the worker's search every second: ended and cancelled operations stay for good, and the
    # oldest come first on the index of ``ends_at`` alone, so the search walked them all.
    __table_args__ = (
        Index(
            "ix_operations_pending_ends_at",
            "ends_at",
            postgresql_where=sql_text(PENDING_OPERATIONS),
            sqlite_where=sql_text(PENDING_OPERATIONS),
        ),
    )


class OperationVolume(Base):
    __tablename__ = "operation_volumes"
    operation_id: Mapped[str] = mapped_column(ForeignKey("operations.id"), primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    footprint: Mapped[dict[str, object]] = mapped_column(JSON)
    radius_m: Mapped[float] = mapped_column(Float)
    lower_m: Mapped[float] = mapped_column(Float)
    upper_m: Mapped[float] = mapped_column(Float)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    operation: Mapped[Operation] = relationship(back_populates="volumes")


class Hazard(Base):
    __tablename__ = "hazards"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    party_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16))
    footprint: Mapped[dict[str, object]] = mapped_column(JSON)
    radius_m: Mapped[float] = mapped_column(Float)
    lower_m: Mapped[float] = mapped_column(Float)
    upper_m: Mapped[float] = mapped_column(Float)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[float] = mapped_column(Float)


class ConflictNotice(Base):
    """What the owner of ``operation_id`` (``party_id``) is told about a conflict of its own operation
    with another party's operation or a hazard: ``open`` until the cause goes away, then
    ``resolved`` with the reason. ``other_operation_id`` never leaves the service."""

    __tablename__ = "conflict_notices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    operation_id: Mapped[str] = mapped_column(ForeignKey("operations.id"), index=True)
    party_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # open, resolved
    resolved_at: Mapped[float | None] = mapped_column(Float)
    resolution: Mapped[str | None] = mapped_column(String(32))
    operation_version: Mapped[int] = mapped_column(Integer)
    volume_ordinal: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    other_party_id: Mapped[str | None] = mapped_column(String(64))
    other_operation_id: Mapped[str | None] = mapped_column(String(40), index=True)
    other_ref: Mapped[str] = mapped_column(String(64))
    hazard_id: Mapped[str | None] = mapped_column(String(40), index=True)
    footprint: Mapped[dict[str, object]] = mapped_column(JSON)
    lower_m: Mapped[float] = mapped_column(Float)
    upper_m: Mapped[float] = mapped_column(Float)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


Index("ix_hazards_state", Hazard.state)


class Kinematics:
    """One aircraft's latest state (SI units, time in epoch s): the columns every track table has.

    The last four are what the report said when it said it (NULL otherwise): the selected altitude
    (intent), the callsign, the NACp, and how much older its velocity was than its position.
    """

    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    alt_m: Mapped[float] = mapped_column(Float)
    gs_mps: Mapped[float] = mapped_column(Float)
    track_deg: Mapped[float] = mapped_column(Float)
    vrate_mps: Mapped[float] = mapped_column(Float)
    time_s: Mapped[float] = mapped_column(Float)
    received_at: Mapped[float] = mapped_column(Float)
    selected_alt_m: Mapped[float | None] = mapped_column(Float)
    callsign: Mapped[str | None] = mapped_column(String(8))
    nac_p: Mapped[int | None] = mapped_column(Integer)
    velocity_age_s: Mapped[float | None] = mapped_column(Float)


class TrackState(Kinematics, Base):
    """The latest reported state of one aircraft of one party (SI units, time in epoch s)."""

    __tablename__ = "tracks"
    # No index on time_s, and room on each page: a report then updates its row in place (a
    # PostgreSQL HOT update: no index entry, no dead row for VACUUM). 20,000 reports a second are
    # 20,000 updates a second; a party's fleet is bounded, so reading the live ones scans a small table.
    __table_args__ = ({"postgresql_with": {"fillfactor": 70}},)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    track_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class UnaffiliatedTrack(Kinematics, Base):
    """The latest state of one aircraft of no party, as a surveillance provider reported it.

    Keyed by track id alone: several providers' receivers may see the same aircraft, and the
    newest report wins whoever sent it. Kept apart from ``tracks`` so that nothing reading a
    party's own tracks can take one of these for the provider's aircraft, and so an echo of a
    party's own aircraft never overwrites that party's track.
    """

    __tablename__ = "unaffiliated_tracks"
    # A receiver sees aircraft come and go all day: the live ones are found by time.
    __table_args__ = (Index("ix_unaffiliated_tracks_time_s", "time_s"),)
    track_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("parties.id"))

    @property
    def party_id(self) -> str:
        """The owner as alerts and views name it: never the provider."""
        return UNAFFILIATED


OPEN_ALERT_STATES = ("raised", "updated")  # not cleared: read as a list, so the index of state serves it


class Alert(Base):
    """A predicted loss of separation between two tracks of different parties, or of a party's and
    an unaffiliated one (``b_party`` = ``unaffiliated``) (``separation``), a predicted entry of a
    track into a hazard (``b_track`` = the hazard id), or a party's aircraft outside every active
    operation of theirs (``nonconformance``: one alert per party, ``aircraft`` lists them and
    ``a_track`` is empty), with its lifecycle."""

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # separation, hazard, nonconformance
    a_party: Mapped[str] = mapped_column(String(64), index=True)
    a_track: Mapped[str] = mapped_column(String(64))
    b_party: Mapped[str] = mapped_column(String(64), index=True)
    b_track: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)  # raised, updated, cleared
    level: Mapped[str] = mapped_column(String(32))
    t_los: Mapped[float] = mapped_column(Float)
    t_cpa: Mapped[float] = mapped_column(Float)
    d_cpa_m: Mapped[float] = mapped_column(Float)
    dz_cpa_m: Mapped[float] = mapped_column(Float)
    los: Mapped[bool] = mapped_column(Boolean)
    raised_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    cleared_at: Mapped[float | None] = mapped_column(Float)
    # Each side's aircraft at the predicted closest approach, as of the last raise or level change
    # (for the owner's periodic review map); never shown to the other side.
    a_lat: Mapped[float | None] = mapped_column(Float)
    a_lon: Mapped[float | None] = mapped_column(Float)
    b_lat: Mapped[float | None] = mapped_column(Float)
    b_lon: Mapped[float | None] = mapped_column(Float)
    # Each side's guidance for its own aircraft (core.guidance ranges as JSON), refreshed by every
    # evaluation; shown to that side only, never to the other.
    a_guidance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    b_guidance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A nonconformance alert's aircraft (their track ids, sorted), as of the last evaluation.
    aircraft: Mapped[list[str] | None] = mapped_column(JSON)


class RecordEntry(Base):
    """One leaf of the record: the canonical entry, its salt, and who may see it disclosed."""

    __tablename__ = "record_entries"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time_s: Mapped[float] = mapped_column(Float)
    author: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48))
    readers: Mapped[list[str]] = mapped_column(JSON)  # party ids, or ["*"] for public events
    canonical: Mapped[str] = mapped_column(Text)
    salt: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(128))  # a party's Ed25519 signature over its submission
    # The statement this entry carries out, as "author:nonce" (unique: a statement is carried out
    # once, whichever instance it reaches), and the SHA-256 of its bytes (a copy must match them).
    statement_nonce: Mapped[str | None] = mapped_column(String(200), unique=True)
    statement_digest: Mapped[str | None] = mapped_column(String(64))


class StatementRow(Base):
    """The first answer to a party's signed statement, by its nonce, for copies of it (the claim
    itself is the statement's record entry: ``RecordEntry.statement_nonce``); and an unsigned
    write's ``Idempotency-Key``, held while its request runs, then its answer (``party_id`` a
    digest of the token, ``nonce`` the key prefixed ``key:``)."""

    __tablename__ = "statements"
    party_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(160), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the statement's bytes (or the request's)
    action: Mapped[str] = mapped_column(String(160))
    created_s: Mapped[float] = mapped_column(Float)
    received_s: Mapped[float] = mapped_column(Float, index=True)
    status: Mapped[int | None] = mapped_column(Integer)  # the first answer, once given
    answer: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))


class CheckpointRow(Base):
    """Every checkpoint ever published; each must stay consistent with every later one."""

    __tablename__ = "checkpoints"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    # The note with the witnesses' cosignature lines (C2SP cosignature/v1), once any cosigned it.
    cosigned: Mapped[str | None] = mapped_column(Text)
    cosigners: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Message(Base):
    """A hotline message: safety of flight only (the schema has no field for anything else)."""

    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sender: Mapped[str] = mapped_column(String(64), index=True)  # a party, or "service" for comm checks
    recipients: Mapped[list[str]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(32))
    references: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    proposal: Mapped[dict[str, object] | None] = mapped_column(JSON)
    subjects: Mapped[dict[str, list[str]]] = mapped_column(JSON)  # per party: its own operations concerned
    text: Mapped[str] = mapped_column(Text)
    requires_ack: Mapped[bool] = mapped_column(Boolean)
    deadline_s: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)  # sent, acknowledged, overdue
    created_at: Mapped[float] = mapped_column(Float)

    # For the sweep every second (``hotline.past_deadline``), the messages that ask to be
    # acknowledged: one that asks for nothing stays "sent" for good, and the sweep read every such
    # message. Status, then deadline: so SQLite's planner prefers it to the index of status alone.
    __table_args__ = (
        Index(
            "ix_messages_awaiting_ack",
            "status",
            "deadline_s",
            postgresql_where=sql_text("requires_ack"),
            sqlite_where=sql_text("requires_ack = 1"),  # as SQLAlchemy writes the condition on SQLite
        ),
    )


class Acknowledgement(Base):
    __tablename__ = "acknowledgements"
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    at: Mapped[float] = mapped_column(Float)
    answer: Mapped[str | None] = mapped_column(String(16))  # a resolution's: accepted or rejected


class PartyEvent(Base):
    """Every live event a party receives, persisted before it is pushed, so a stream that
    reconnects with ``Last-Event-ID`` gets exactly what it missed.

    ``seq`` numbers a party's events 1, 2, 3, ... in the order their transactions committed
    (``EventCounter``); it is what streams show. ``id`` orders all parties' rows for the service
    alone (on SQLite, one writer, it is commit order too) and is never shown."""

    __tablename__ = "party_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    party_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)  # the event as compact JSON, exactly as pushed
    created_at: Mapped[float] = mapped_column(Float, index=True)

    __table_args__ = (Index("ux_party_events_party_id_seq", "party_id", "seq", unique=True),)


class EventCounter(Base):
    """The last number given to a party's events. A transaction takes the row's lock when it
    numbers its events, just before it commits, and holds it until then: numbers follow commits."""

    __tablename__ = "event_counters"
    party_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger, default=0)


class StrategicCell(Base):
    """One cell of the fixed grid strategic decisions lock: its row is the lock, ``seq`` counts
    the changes made in it (so a process knows whether its picture of the cell is current)."""

    __tablename__ = "strategic_cells"
    cell: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class StrategicCellMember(Base):
    """A subject (operation or hazard) that is, or was, in a cell, and the cell change that last
    touched it; kept after it leaves, so a process learns it left."""

    __tablename__ = "strategic_cell_members"
    cell: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_strategic_cell_members_cell_seq", "cell", "seq"),)
