"""``deconline witness …``: run a party's own witness of the line's record (C2SP tlog-witness)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from deconline.cli.common import err, fail, out

witness_app = typer.Typer(
    help="A witness of the line's record: cosigns a checkpoint only if it extends the last one it cosigned."
)
DEFAULT_DB = Path("witness.db")


@witness_app.command("key")
def key(
    name: Annotated[str, typer.Option(help="the witness's name, e.g. witness.blue-af.example/w1")],
    out_file: Annotated[Path, typer.Option("--out", help="where to write the private key (PEM, mode 0600)")],
) -> None:
    """Make a cosigning key; prints its public vkey, for the line's agreement."""
    from deconline.record.cosignature import cosigner
    from deconline.record.signing import generate_key, write_private_key

    if out_file.exists():
        fail(f"{out_file} exists: a witness key is made once", 2)
    made = generate_key()
    write_private_key(made, out_file)
    out.print(cosigner(name, made.public_key()).vkey(), soft_wrap=True, highlight=False)


@witness_app.command("serve")
def serve(
    name: Annotated[str, typer.Option(help="the witness's name (as in its vkey)")],
    key_file: Annotated[Path, typer.Option("--key", help="the witness's private key (deconline witness key)")],
    log: Annotated[list[str], typer.Option(help="a log to witness: its verifier key (GET /v1/record/key); repeat")],
    db: Annotated[Path, typer.Option(help="the witness's own SQLite file")] = DEFAULT_DB,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8010,
) -> None:
    """Answer POST /add-checkpoint for the logs given, with cosignatures by this witness's key."""
    import uvicorn

    from deconline.record.checkpoint import NoteError, parse_verifier_key
    from deconline.record.signing import SignatureError, read_private_key
    from deconline.witness import Witness, create_app

    try:
        private = read_private_key(key_file)
        verifiers = [parse_verifier_key(Path(k).read_text() if Path(k).is_file() else k) for k in log]
    except (SignatureError, NoteError, OSError) as exc:
        fail(str(exc), 2)
    if not verifiers:
        fail("give at least one --log: the verifier key of a line's record", 2)
    witness = Witness(name, private, {v.name: v for v in verifiers}, db)
    err.print(f"witness {name} for {', '.join(v.name for v in verifiers)} on http://{host}:{port}/add-checkpoint")
    uvicorn.run(create_app(witness), host=host, port=port, log_level="warning")


@witness_app.command("evidence")
def evidence(
    db: Annotated[Path, typer.Option(help="the witness's SQLite file")] = DEFAULT_DB,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the JSON here (default: stdout)")] = None,
) -> None:
    """Every pair of checkpoints the log signed that cannot both be true, as JSON (for record verify)."""
    from deconline.witness import evidence as kept

    if not db.is_file():
        fail(f"{db}: no such witness database", 2)
    text = json.dumps(kept(db), indent=2)
    if out_file is None:
        print(text)
    else:
        out_file.write_text(text + "\n")


@witness_app.command("check")
def check(db: Annotated[Path, typer.Option(help="the witness's SQLite file")] = DEFAULT_DB) -> None:
    """Exit 1 if the witness holds evidence that a log forked; else say what it last cosigned."""
    import sqlite3

    from deconline.witness import evidence as kept

    if not db.is_file():
        fail(f"{db}: no such witness database", 2)
    found = kept(db)
    connection = sqlite3.connect(db)
    try:
        cosigned = connection.execute("SELECT origin, size FROM cosigned ORDER BY origin").fetchall()
    finally:
        connection.close()
    for origin, size in cosigned:
        out.print(f"{origin}: cosigned up to size {size:,}", highlight=False)
    if found:
        for item in found:
            err.print(f"[red]EVIDENCE[/red] {item['origin']}: {item['message']}", soft_wrap=True)
        raise typer.Exit(1)
    out.print("no evidence of a forked log", highlight=False)
