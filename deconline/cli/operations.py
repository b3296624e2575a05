"""``deconline op …``: file and manage a party's operations, through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from deconline.cli.common import (
    JsonOption,
    api_call,
    api_client,
    fail,
    out,
    print_json,
    print_list_json,
    print_table,
    read_document,
)

op_app = typer.Typer(help="File and manage your operations (through the API).", no_args_is_help=True)


def _operation_body(file: Path) -> dict[str, Any]:
    body = read_document(file)
    if not isinstance(body, dict) or "volumes" not in body:
        fail(f"{file} must hold an object with 'volumes' (and optionally 'name')", 2)
    return body


@op_app.command("file")
def op_file(file: Path) -> None:
    """File an operation from a JSON/YAML file: {"name": …, "volumes": [...]}."""
    body = _operation_body(file)
    with api_client() as c:
        op = api_call(c.file_operation, body["volumes"], body.get("name", ""))
        out.print(f"{op.id}: {op.state} (version {op.version}), {len(op.notices)} conflict notices")
        for n in op.notices:
            out.print(f"  {n.kind} with {n.other_party or '-'} ref {n.other_ref} on volume {n.volume}")


@op_app.command("list")
def op_list(
    state: Annotated[str | None, typer.Option(help="only this state")] = None, json: JsonOption = False
) -> None:
    """List your (and your group's) operations."""
    with api_client() as c:
        found = api_call(c.operations, state)
    if json:
        print_list_json(found)
        return
    rows = [(op.id, op.party, op.name, op.state, str(op.version), str(len(op.notices))) for op in found]
    print_table(("id", "party", "name", "state", "version", "notices"), rows)


@op_app.command("notices")
def op_notices(
    state: Annotated[str | None, typer.Option(help="open or resolved")] = None,
    operation: Annotated[str | None, typer.Option(help="only notices about this operation of yours")] = None,
    json: JsonOption = False,
) -> None:
    """Conflict notices about your side's operations: open until the cause goes away, then
    resolved with the reason (own_/other_ revised, cancelled, ended; hazard_changed or
    hazard_withdrawn; rules_changed; superseded)."""
    with api_client() as c:
        found = api_call(c.notices, state, operation)
    if json:
        print_list_json(found)
        return
    rows = []
    for n in found:
        other = n.hazard_id or f"{n.other_party} {n.other_ref}"
        rows.append((n.id, n.operation, n.kind, other, n.state, n.created_at, n.resolution or ""))
    columns = ("id", "operation", "kind", "other", "state", "since", "resolution")
    print_table(columns, rows, ids=("id", "operation"))  # ids are copied into other commands


@op_app.command("show")
def op_show(op_id: str) -> None:
    """Show one operation with its notices."""
    with api_client() as c:
        print_json(api_call(c.operation, op_id))


@op_app.command("revise")
def op_revise(op_id: str, version: int, file: Path) -> None:
    """Replace the volumes of OP_ID (at VERSION) from a file and check again."""
    body = _operation_body(file)
    with api_client() as c:
        op = api_call(c.revise_operation, op_id, version, body["volumes"], body.get("name", ""))
        out.print(f"{op.id}: {op.state} (version {op.version}), {len(op.notices)} conflict notices")


@op_app.command("check")
def op_check(op_id: str, version: int) -> None:
    """Check a proposed operation again; it is accepted if it no longer conflicts."""
    with api_client() as c:
        op = api_call(c.check_operation, op_id, version)
        out.print(f"{op.id}: {op.state} (version {op.version}), {len(op.notices)} conflict notices")


@op_app.command("state")
def op_state(op_id: str, version: int, state: str) -> None:
    """Move OP_ID to STATE: accepted, active, ended or cancelled."""
    with api_client() as c:
        op = api_call(c.set_state, op_id, version, state)
        out.print(f"{op.id}: {op.state} (version {op.version})")
