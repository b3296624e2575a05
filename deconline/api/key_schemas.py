"""Wire shapes of party key rotation (``POST /v1/parties/{id}/keys``) and of a party's key history."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from deconline.api.schemas import Strict
from deconline.core.agreement import PARTY_ID_PATTERN

KEY = "base64 of the raw 32-byte Ed25519 public key"


class KeyRotationIn(Strict):
    """The document a party signs with its current key (``X-Deconline-Signature``) to replace it."""

    kind: Literal["key_rotation"] = Field(description="says what the signature is for: nothing else can reuse it")
    party: str = Field(pattern=PARTY_ID_PATTERN, description="the party whose key this is: yours")
    previous_key: str = Field(min_length=1, max_length=100, description=f"your current key, {KEY}")
    public_key: str = Field(min_length=1, max_length=100, description=f"the new key, {KEY}, never used on the line")
    signed_at: AwareDatetime = Field(description="when you signed it (informative: the key is valid from acceptance)")


class PartyKeyOut(BaseModel):
    """One key of a party and the interval it signs for."""

    party: str
    public_key: str
    valid_from: str = Field(description="from the party's registration, or the service's time of the rotation")
    valid_until: str | None = Field(description="null for the current key")
    record_index: int | None = Field(description="the public record entry of the rotation (null for the first key)")
    signature: str | None = Field(
        description="the rotation statement's signature by the previous key (over its DSSE PAE; the statement is "
        "in the rotation's record entry)"
    )
