"""Free text one party submits is shown to others: control and bidirectional formatting characters
are refused with a 422 naming the field and the character, and nothing is stored (tab and newline
are allowed in hotline message text only)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError

from deconline.core.agreement import STORED, Agreement
from deconline.core.text import describe, problem
from deconline.record.signing import generate_key, public_key_b64
from deconline.service import parties
from deconline.service.errors import Invalid
from tests.helpers import AGREEMENT, World, box

BAD = {
    "\x00": "U+0000 NULL",
    "\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "U+2066 LEFT-TO-RIGHT ISOLATE",
    "\x07": "U+0007 BELL",
    "\x85": "U+0085 NEXT LINE",
    "\u200f": "U+200F RIGHT-TO-LEFT MARK",
}
LINE_BREAKS = {"\t": "U+0009 CHARACTER TABULATION", "\n": "U+000A LINE FEED"}
NON_ASCII = "Équipe Ω 北"


@dataclass(frozen=True)
class Case:
    """One free-text field: how to send a value in it, and what must be unchanged after a refusal."""

    field: str
    loc: list[Any]
    sample: str  # a valid value; the bad characters go inside it
    send: Callable[[World, dict[str, Any], str], Any]
    unchanged: Callable[[World, dict[str, Any]], None]
    setup: Callable[[World], dict[str, Any]] = lambda world: {}
    multiline: bool = False  # tab and newline allowed
    free: bool = True  # any other text is accepted (not a name that must exist)
    echo: Callable[[dict[str, Any]], Any] | None = None  # the value as the answer shows it


def _none_filed(world: World, _: dict[str, Any]) -> None:
    assert world.get("alpha", "/v1/operations").json() == []


def _filed(world: World) -> dict[str, Any]:
    return {"op": world.file("alpha", box(), name="patrol")}


def _op_unchanged(world: World, ctx: dict[str, Any]) -> None:
    op = world.get("alpha", f"/v1/operations/{ctx['op']['id']}").json()
    assert (op["version"], op["name"]) == (1, "patrol")


def _no_hazard(world: World, _: dict[str, Any]) -> None:
    assert world.get("alpha", "/v1/hazards", params={"include_withdrawn": True}).json() == []


def _declared(world: World) -> dict[str, Any]:
    response = world.post("alpha", "/v1/hazards", {"kind": "other", "name": "range", "volume": box()})
    assert response.status_code == 201, response.text
    return {"hazard": response.json()}


def _hazard_unchanged(world: World, ctx: dict[str, Any]) -> None:
    hazard = world.get("alpha", f"/v1/hazards/{ctx['hazard']['id']}").json()
    assert (hazard["version"], hazard["name"]) == (1, "range")


def _nothing_sent(world: World, _: dict[str, Any]) -> None:
    assert world.get("alpha", "/v1/messages", params={"box": "out"}).json() == []
    assert [m for m in world.get("bravo", "/v1/messages").json() if m["sender"] == "alpha"] == []


def _message(text: str, recipient: str = "bravo") -> dict[str, Any]:
    return {"recipients": [recipient], "kind": "notice", "text": text}


def _in_conflict(world: World) -> dict[str, Any]:
    world.file("charlie", box(10.0, 50.0, 5), name="range day")
    mine = world.file("alpha", box(10.0, 50.0, 5, lower=1200), name="patrol")
    return {"op": mine, "notice": mine["notices"][0]}


def _no_request(world: World, _: dict[str, Any]) -> None:
    assert world.get("alpha", "/v1/messages", params={"box": "out"}).json() == []


def _proposal(**fields: Any) -> dict[str, Any]:
    return {**AGREEMENT, "version": 2, **fields}


def _one_agreement(world: World, _: dict[str, Any]) -> None:
    assert [a["version"] for a in world.get("admin", "/v1/agreements").json()] == [1]


CASES = [
    Case(
        "operation name",
        ["body", "name"],
        "patrol",
        lambda w, _, v: w.post("alpha", "/v1/operations", {"name": v, "volumes": [box()]}),
        _none_filed,
        echo=lambda body: body["name"],
    ),
    Case(
        "operation name (revision)",
        ["body", "name"],
        "patrol",
        lambda w, c, v: w.put(
            "alpha", f"/v1/operations/{c['op']['id']}", {"version": 1, "name": v, "volumes": [box()]}
        ),
        _op_unchanged,
        setup=_filed,
        echo=lambda body: body["name"],
    ),
    Case(
        "hazard name",
        ["body", "name"],
        "range",
        lambda w, _, v: w.post("alpha", "/v1/hazards", {"kind": "other", "name": v, "volume": box()}),
        _no_hazard,
        echo=lambda body: body["name"],
    ),
    Case(
        "hazard name (change)",
        ["body", "name"],
        "range",
        lambda w, c, v: w.put(
            "alpha", f"/v1/hazards/{c['hazard']['id']}", {"kind": "other", "name": v, "volume": box(), "version": 1}
        ),
        _hazard_unchanged,
        setup=_declared,
        echo=lambda body: body["name"],
    ),
    Case(
        "message text",
        ["body", "text"],
        "comm check",
        lambda w, _, v: w.post("alpha", "/v1/messages", _message(v)),
        _nothing_sent,
        multiline=True,
        echo=lambda body: body["text"],
    ),
    Case(
        "message recipient",
        ["body", "recipients", 0],
        "bravo",
        lambda w, _, v: w.post("alpha", "/v1/messages", _message("comm check", recipient=v)),
        _nothing_sent,
        free=False,
    ),
    Case(
        "notice request text",
        ["body", "text"],
        "two hours later?",
        lambda w, c, v: w.post(
            "alpha", f"/v1/operations/{c['op']['id']}/notices/{c['notice']['id']}/request", {"text": v}
        ),
        _no_request,
        setup=_in_conflict,
        multiline=True,
        echo=lambda body: body["text"],
    ),
    Case(
        "agreement title",
        ["body", "title"],
        "Baltic memorandum",
        lambda w, _, v: w.post("admin", "/v1/agreements", _proposal(title=v)),
        _one_agreement,
        echo=lambda body: body["document"]["title"],
    ),
    Case(
        "agreement escalation contact",
        ["body", "escalation"],
        "bravo",
        lambda w, _, v: w.post("admin", "/v1/agreements", _proposal(escalation={"alpha": v})),
        _one_agreement,
        free=False,
    ),
    Case(
        "agreement deadline kind",
        ["body", "ack_deadlines_s"],
        "notice",
        lambda w, _, v: w.post("admin", "/v1/agreements", _proposal(ack_deadlines_s={v: 60.0})),
        _one_agreement,
        echo=lambda body: next(k for k in body["document"]["ack_deadlines_s"] if k != "default"),
    ),
]
IDS = [c.field for c in CASES]


def _refused(world: World, case: Case, ctx: dict[str, Any], char: str, name: str) -> None:
    value = case.sample[:2] + char + case.sample[2:]
    response = case.send(world, ctx, value)
    assert response.status_code == 422, (name, response.text)
    [error] = response.json()["detail"]
    assert error["loc"] == case.loc, (name, error)
    assert f"contains {name} at character 3" in error["msg"], (name, error)
    assert "control and bidirectional formatting characters are not allowed" in error["msg"]
    case.unchanged(world, ctx)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_control_and_bidi_characters_are_refused_naming_the_field(world: World, case: Case) -> None:
    ctx = case.setup(world)
    for char, name in BAD.items():
        _refused(world, case, ctx, char, name)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_tab_and_newline_only_in_message_text(world: World, case: Case) -> None:
    ctx = case.setup(world)
    if not case.multiline:
        for char, name in LINE_BREAKS.items():
            _refused(world, case, ctx, char, name)
        return
    _refused(world, case, ctx, "\r", "U+000D CARRIAGE RETURN")  # tab and newline, nothing else
    text = "line one\nline two:\tindented\n"
    response = case.send(world, ctx, text)
    assert response.status_code == 201, response.text
    assert case.echo is not None and case.echo(response.json()) == text


@pytest.mark.parametrize("case", [c for c in CASES if c.free], ids=[c.field for c in CASES if c.free])
def test_ordinary_non_ascii_text_is_accepted(world: World, case: Case) -> None:
    ctx = case.setup(world)
    response = case.send(world, ctx, NON_ASCII)
    assert response.status_code in (200, 201), response.text
    assert case.echo is not None and case.echo(response.json()) == NON_ASCII


def test_the_service_refuses_a_party_id_with_a_final_newline(world: World) -> None:
    """`deconline party add NAME` registers through the service, not the API: the same id rule."""
    key = public_key_b64(generate_key())
    for bad in ("delta\n", "delta\x00", "del\u202eta"):
        with pytest.raises(Invalid):
            parties.add_party(world.line, bad, key)
        with pytest.raises(Invalid):
            parties.add_party(world.line, "delta", key, group=bad)
    assert "delta" not in [p["id"] for p in world.get("admin", "/v1/parties").json()]


def test_an_agreement_stored_before_the_rule_still_loads() -> None:
    """Signed versions are read as they were stored; only new proposals are checked."""
    document = json.dumps({**AGREEMENT, "title": "old\u202etitle", "escalation": {"alpha": "x\x07"}})
    assert Agreement.model_validate_json(document, context=STORED).title == "old\u202etitle"
    with pytest.raises(ValidationError, match="U\\+202E RIGHT-TO-LEFT OVERRIDE"):
        Agreement.model_validate_json(document)


def test_every_refused_character_is_named() -> None:
    refused = [*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    for code in [*refused, 0x200E, 0x200F, 0x061C]:
        char = chr(code)
        assert problem(f"a{char}") is not None, hex(code)
        assert describe(char).startswith(f"U+{code:04X} "), hex(code)
    assert problem("a\tb\nc", multiline=True) is None
    assert problem("a\u200db\u00a0c" + NON_ASCII) is None  # a joiner or a no-break space is no bidi control
    assert describe("\u061c") == "U+061C ARABIC LETTER MARK"
