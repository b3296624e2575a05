"""``deconline agreement …``: propose, sign and read the agreement, through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deconline.cli.common import (
    JsonOption,
    api_call,
    api_client,
    out,
    print_json,
    print_list_json,
    print_table,
    read_document,
    read_key,
)

agreement_app = typer.Typer(help="Propose, sign and read the agreement (through the API).", no_args_is_help=True)


@agreement_app.command("propose")
def agreement_propose(file: Path) -> None:
    """Propose the next agreement version from a YAML or JSON file."""
    with api_client() as c:
        print_json(api_call(c.propose_agreement, read_document(file)))


@agreement_app.command("sign")
def agreement_sign(version: int, key: Annotated[Path, typer.Option(help="your party's private key file")]) -> None:
    """Sign agreement VERSION with your key (the exact canonical document the service holds)."""
    read_key(key, "--key")  # a missing or malformed key file is named before anything is fetched
    with api_client() as c:
        state = api_call(c.sign_agreement, version, key)
        missing = ", ".join(state.missing_signatures) or "none"
        out.print(f"signed version {version}; in force: {state.current}; still to sign: {missing}")


@agreement_app.command("show")
def agreement_show(version: Annotated[int | None, typer.Argument()] = None) -> None:
    """Show the agreement in force (or VERSION)."""
    with api_client() as c:
        print_json(api_call(c.agreement, version))


@agreement_app.command("list")
def agreement_list(json: JsonOption = False) -> None:
    """List every version with its signatures."""
    with api_client() as c:
        found = api_call(c.agreements)
    if json:
        print_list_json(found)
        return
    rows = [
        (str(a.version), "yes" if a.current else "", ", ".join(a.signed_by), ", ".join(a.missing_signatures))
        for a in found
    ]
    print_table(("version", "in force", "signed by", "missing"), rows, ids=("version",))
