"""``deconline hazard …``: declare, list, change and withdraw hazards, through the API."""

from __future__ import annotations

from pathlib import Path

import typer

from deconline.cli.common import (
    JsonOption,
    api_call,
    api_client,
    fail,
    out,
    print_list_json,
    print_table,
    read_document,
)

hazard_app = typer.Typer(help="Declare, list and withdraw hazards (through the API).", no_args_is_help=True)


@hazard_app.command("declare")
def hazard_declare(file: Path) -> None:
    """Declare a hazard from a file: {"kind": …, "name": …, "volume": {...}}."""
    body = read_document(file)
    if not isinstance(body, dict):
        fail(f"{file} must hold an object with kind, name and volume", 2)
    with api_client() as c:
        hz = api_call(c.declare_hazard, body.get("kind"), body.get("volume"), body.get("name", ""))
        out.print(f"{hz.id}: {hz.kind} declared")


@hazard_app.command("list")
def hazard_list(json: JsonOption = False) -> None:
    """List the active hazards (public to every party)."""
    with api_client() as c:
        found = api_call(c.hazards)
    if json:
        print_list_json(found)
        return
    rows = []
    for h in found:
        v = h.volume
        rows.append((h.id, h.kind, h.name, h.declared_by or "", f"{v.lower_m:g}–{v.upper_m:g}", f"{v.start} – {v.end}"))
    print_table(("id", "kind", "name", "declared by", "band (m)", "window"), rows)


@hazard_app.command("change")
def hazard_change(hazard_id: str, version: int, file: Path) -> None:
    """Replace HAZARD_ID (at VERSION) with the hazard in a file: {"kind": …, "name": …, "volume": {...}}.
    Owners of accepted and active operations it now touches are told."""
    body = read_document(file)
    if not isinstance(body, dict):
        fail(f"{file} must hold an object with kind, name and volume", 2)
    with api_client() as c:
        hz = api_call(c.change_hazard, hazard_id, version, body.get("kind"), body.get("volume"), body.get("name", ""))
        out.print(f"{hz.id}: {hz.kind} changed (version {hz.version})")


@hazard_app.command("withdraw")
def hazard_withdraw(hazard_id: str) -> None:
    """Withdraw a hazard you declared."""
    with api_client() as c:
        out.print(f"{api_call(c.withdraw_hazard, hazard_id).id}: withdrawn")
