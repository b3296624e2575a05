"""Administration, on the database: ``init``, ``party add|list``, ``token …``, ``demo``.

The service, the store and the signing keys are imported inside each command: ``deconline --help``
builds every command's options but runs none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deconline.cli.common import JsonOption, fail, open_line, out, print_list_json, print_table, settings
from deconline.cli.keys import rotate_key

party_app = typer.Typer(
    help="Register and list parties (admin, on the database); rotate your own key (party, through the API).",
    no_args_is_help=True,
)
party_app.command("rotate-key")(rotate_key)  # first: help lists a group's commands in the order they were added
token_app = typer.Typer(
    help="Issue, list and revoke API tokens (admin, on the database): token auditor|admin|party, list, revoke.",
    no_args_is_help=True,
)


def init() -> None:
    """Create (or upgrade) the database and print the admin token on the first run."""
    from deconline.service import parties

    token = parties.initialise(open_line(create=True))
    if token is None:
        out.print(f"database {settings.db_url} is up to date (the admin token was printed when it was created)")
    else:
        out.print(f"database {settings.db_url} created\nadmin token (shown once): [bold]{token}[/bold]")


@party_app.command("add")
def party_add(
    name: str,
    group: Annotated[str | None, typer.Option(help="group (coalition) the party belongs to")] = None,
    keys_dir: Annotated[Path, typer.Option(help="where the key pair is written")] = Path("keys"),
) -> None:
    """Register a party: writes its Ed25519 key pair (private key mode 0600) and prints its token once."""
    from deconline.record.signing import generate_key, public_key_b64, write_private_key
    from deconline.service import parties
    from deconline.service.errors import ServiceError

    key_path = keys_dir / f"{name}.key"
    if key_path.exists():
        fail(f"{key_path} already exists; remove it or choose another --keys-dir", 2)
    key = generate_key()
    try:
        token = parties.add_party(open_line(), name, public_key_b64(key), group)
    except ServiceError as exc:
        fail(exc.message, 2)
    write_private_key(key, key_path)
    (keys_dir / f"{name}.pub").write_text(public_key_b64(key) + "\n")
    out.print(f"party {name} registered{f' in group {group}' if group else ''}")
    out.print(f"private key: {key_path} (mode 0600)\ntoken (shown once): [bold]{token}[/bold]")


@party_app.command("list")
def party_list(json: JsonOption = False) -> None:
    """List the registered parties."""
    from deconline.service import parties
    from deconline.service.geo import iso

    found = parties.list_parties(open_line())
    if json:
        print_list_json(
            {"id": p.id, "group": p.group, "public_key": p.public_key, "created_at": iso(p.created_at)} for p in found
        )
        return
    rows = [(p.id, p.group or "", p.public_key) for p in found]
    print_table(("party", "group", "public key"), rows, ids=("party", "public key"))


def _lifetime(text: str | None) -> float | None:
    """'90d', '12h', '30m' or '3600s' (or plain seconds) as seconds."""
    if text is None:
        return None
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        value = float(number) * units[unit]
    except ValueError:
        fail(f"--expires-in: '{text}' is not a lifetime like 90d, 12h, 30m or 3600s", 2)
    return value


ExpiresIn = Annotated[
    str | None, typer.Option(help="refuse the token after this long: 90d, 12h, 30m, 3600s (default: never)")
]
Label = Annotated[str, typer.Option(help="what the token is for (shown by 'token list')")]


def _issue(role: str, party: str | None, label: str, expires_in: str | None) -> None:
    from deconline.service import parties
    from deconline.service.errors import ServiceError

    try:
        value = parties.issue_token(open_line(), role, party, label, _lifetime(expires_in))  # type: ignore[arg-type]
    except ServiceError as exc:
        fail(exc.message, 2)
    out.print(f"{role} token (shown once): [bold]{value}[/bold]")


@token_app.command("auditor")
def token_auditor(label: Label = "", expires_in: ExpiresIn = None) -> None:
    """Issue an auditor token (reads the record; give one to Prometheus for /metrics); printed once."""
    _issue("auditor", None, label, expires_in)


@token_app.command("admin")
def token_admin(label: Label = "", expires_in: ExpiresIn = None) -> None:
    """Issue another admin token; printed once."""
    _issue("admin", None, label, expires_in)


@token_app.command("party")
def token_party(
    party: Annotated[str, typer.Option(help="the party")], label: Label = "", expires_in: ExpiresIn = None
) -> None:
    """Issue another token for a party (e.g. for a second feeder); printed once."""
    _issue("party", party, label, expires_in)


@token_app.command("list")
def token_list(json: JsonOption = False) -> None:
    """Every token issued: its id (the start of its hash; the token itself is never stored), role,
    party, label, when it was made, when it expires, whether it was revoked."""
    from deconline.service import parties
    from deconline.service.errors import ServiceError
    from deconline.service.geo import iso

    try:
        tokens = parties.list_tokens(open_line())
    except ServiceError as exc:
        fail(exc.message, 2)
    if json:
        print_list_json(
            {
                "id": t.token_id,
                "role": t.role,
                "party": t.party_id,
                "label": t.label,
                "created_at": iso(t.created_at),
                "expires_at": iso(t.expires_at) if t.expires_at else None,
                "revoked_at": iso(t.revoked_at) if t.revoked_at else None,
            }
            for t in tokens
        )
        return
    rows = [
        (
            t.token_id,  # never cut: it is what 'token revoke' takes
            t.role,
            t.party_id or "",
            t.label,
            iso(t.created_at),
            iso(t.expires_at) if t.expires_at else "never",
            iso(t.revoked_at) if t.revoked_at else "",
        )
        for t in tokens
    ]
    print_table(("id", "role", "party", "label", "created", "expires", "revoked"), rows)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="the id from 'token list', or the token itself")],
) -> None:
    """Refuse a token from now on, on every instance of the service."""
    from deconline.service import parties
    from deconline.service.errors import ServiceError

    try:
        row = parties.revoke_token(open_line(), token_id)
    except ServiceError as exc:
        fail(exc.message, 2)
    out.print(f"token {row.token_id} ({row.role}{' ' + row.party_id if row.party_id else ''}) revoked")


def demo(
    keys_dir: Annotated[Path, typer.Option(help="where the parties' keys and tokens.json go")] = Path("keys"),
) -> None:
    """Load the demo scenario into a new database; print each party's token and key file (also in tokens.json)."""
    from deconline.demo import load, write_tokens

    try:
        tokens = load(open_line(create=True), keys_dir)
    except RuntimeError as exc:
        fail(str(exc), 2)
    path = write_tokens(keys_dir, tokens)
    out.print("demo tokens (who, token, key file):")
    for who, value in tokens.items():
        key = keys_dir / f"{who}.key"
        out.print(f"  {who:<10} {value}  {key if key.is_file() else ''}", soft_wrap=True, markup=False, highlight=False)
    out.print(f"tokens also in {path} (mode 0600)")
