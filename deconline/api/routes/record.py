"""The record: checkpoints, the service's key, proofs and disclosed entries. Auditors may read these."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response

from deconline.api.deps import ActorDep, LineDep
from deconline.api.routing import JsonRoute
from deconline.service import disclosure, record, tiles, witnesses
from deconline.service.errors import Invalid
from deconline.service.geo import iso

router = APIRouter(prefix="/v1/record", tags=["record"], route_class=JsonRoute)
Index = Annotated[int, Query(ge=0, le=2**62)]
Size = Annotated[int, Query(ge=1, le=2**62)]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


IMMUTABLE = "public, max-age=31536000, immutable"


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(line: LineDep) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note), public like the tiles (no
    token needed); its publication time in the `X-Deconline-Checkpoint-Time` header (the note
    itself carries none). Not cached: it changes with every new entry."""
    with line.db.read() as session:
        row = record.latest_checkpoint_row(session)
    headers = {"X-Deconline-Checkpoint-Time": iso(row.created_at), "Cache-Control": "no-cache"}
    return PlainTextResponse(row.cosigned or row.note, headers=headers)


@router.get(
    "/tile/{path:path}", response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}}
)
def tile(path: str, line: LineDep) -> Response:
    """The tree as C2SP tlog-tiles, public and immutable: `tile/<L>/<N>[.p/<W>]` (256 hashes of
    level `L`, or the `W` of a partial tile) and `tile/entries/<N>[.p/<W>]` (the leaves: each entry's
    salted commitment, uint16-length-prefixed), as far as the latest checkpoint reaches; `404` for
    a path the spec does not allow or a tile beyond it."""
    with line.db.read() as session:
        _, data = tiles.read_tile(line.record, session, path)
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE})


@router.get("/mine")
def mine(line: LineDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> list[dict[str, Any]]:
    """Your party's own newest entries (what you submitted, signed), to check their inclusion."""
    with line.db.read() as session:
        rows = record.own_entries(session, actor, limit)
    return [{"index": r.seq, "kind": r.kind, "time": iso(r.time_s)} for r in rows]


@router.get("/key", response_class=PlainTextResponse)
def key(line: LineDep, actor: ActorDep) -> str:
    """The service's note verifier key: ``<origin>+<key id>+<base64 Ed25519 key>``."""
    with line.db.read() as session:
        return record.service_verifier_key(line.record, session) + "\n"


@router.get("/proof/inclusion")
def inclusion(line: LineDep, actor: ActorDep, index: Index, size: Size) -> dict[str, Any]:
    with line.db.read() as session:
        proof = record.inclusion(line.record, session, index, size)
    return {**proof, "leaf_hash": _b64(proof["leaf_hash"]), "hashes": [_b64(h) for h in proof["hashes"]]}


@router.get("/proof/consistency")
def consistency(line: LineDep, actor: ActorDep, first: Size, second: Size) -> dict[str, Any]:
    with line.db.read() as session:
        proof = record.consistency(line.record, session, first, second)
    return {**proof, "hashes": [_b64(h) for h in proof["hashes"]]}


@router.get("/entries/{index}")
def entry(line: LineDep, actor: ActorDep, index: Annotated[int, Path(ge=0, le=2**62)]) -> dict[str, Any]:
    """An entry with its salt — only to a party entitled to see that event (404 otherwise)."""
    with line.db.read() as session:
        row = record.entry(session, actor, index)
        found: dict[str, Any] = {"index": row.seq, "entry": row.canonical, "salt": _b64(bytes.fromhex(row.salt))}
        if row.signature:  # a party's own signature over its submission
            found |= {"signature": _b64(bytes.fromhex(row.signature)), "signer": row.author}
        return found


@router.get("/export", response_class=Response, responses={200: {"content": {"application/json": {}}}})
def export(
    line: LineDep,
    actor: ActorDep,
    start: Annotated[int, Query(alias="from", ge=0, le=2**62, description="first entry index")],
    end: Annotated[int, Query(alias="to", ge=0, le=2**62, description="last entry index (inclusive)")],
) -> Response:
    """Your own disclosure bundle of entries ``from``..``to`` (at most 250,000): the entries your side
    may read, with their salts; every other entry withheld as its bare commitment; the range proof and
    the signed checkpoint. ``deconline record verify`` and ``claim`` check it offline, without the
    operator. An auditor gets the public entries; the admin exports on the database instead (403)."""
    if end < start:
        raise Invalid(["query", "to"], f"the range ends ({end}) before it starts ({start})")
    with line.db.write() as session:  # publishes a checkpoint covering the range if there is none yet
        bundle = disclosure.export_for(line.record, session, actor, start, end, line.clock())
        bundle |= witnesses.for_bundle(session)
    return Response(orjson.dumps(bundle), media_type="application/json")  # 100,000 entries: tens of MB
