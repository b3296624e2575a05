"""``deconline record …``: export a disclosure bundle, verify it offline, answer a claim with it."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deconline.cli.common import api_call, api_client, err, fail, open_line, out

if TYPE_CHECKING:
    from deconline.record.bundle import Verified

record_app = typer.Typer(help="The verifiable record: export, verify, claim (verify and claim need no server).")


def _load(bundle_path: Path) -> dict[str, Any]:
    """A missing file is a usage error; a damaged one fails verification."""
    try:
        text = bundle_path.read_text()
    except OSError as exc:
        fail(f"cannot read {bundle_path}: {exc}", 2)
    try:
        bundle = json.loads(text)
    except ValueError as exc:
        err.print(f"[red]FAILED[/red] format: {bundle_path} is not JSON ({exc})")
        raise typer.Exit(1) from exc
    if not isinstance(bundle, dict):
        err.print(f"[red]FAILED[/red] format: {bundle_path} is not a bundle")
        raise typer.Exit(1)
    return bundle


def _verify(
    bundle: dict[str, Any], key: str | None, checkpoint: Path | None, party_keys: dict[str, Any] | None = None
) -> Verified:
    """Exit 1 with what failed and where; exit 2 on unusable arguments."""
    from deconline.record.bundle import BundleError, verify_bundle
    from deconline.record.checkpoint import NoteError, open_checkpoint, parse_verifier_key

    if key is None:
        key_text = bundle.get("key", "")
        err.print("[yellow]note:[/yellow] using the key inside the bundle; pass --key to pin the service's key")
    else:
        key_text = Path(key).read_text() if Path(key).is_file() else key
    try:
        verifier = parse_verifier_key(key_text)
    except NoteError as exc:
        fail(f"the verifier key is unusable: {exc}", 2)
    older = None
    if checkpoint is not None:
        try:
            older = open_checkpoint(checkpoint.read_text(), verifier)
        except (OSError, NoteError) as exc:
            err.print(f"[red]FAILED[/red] older checkpoint: {exc}")
            raise typer.Exit(1) from exc
    try:
        return verify_bundle(bundle, verifier, party_keys, older)
    except BundleError as exc:
        err.print(f"[red]FAILED[/red] {exc}", soft_wrap=True, highlight=False)  # one line, to read or to grep
        raise typer.Exit(1) from exc


@record_app.command("checkpoint")
def checkpoint_command(
    out_file: Annotated[Path | None, typer.Option("--out", help="store it here, as a witness (default: print)")] = None,
) -> None:
    """Fetch the latest signed checkpoint (through the API) and keep it to check later bundles against."""
    from deconline.record.checkpoint import NoteError, open_checkpoint, parse_verifier_key

    with api_client() as client:
        note = api_call(client.checkpoint)
        key = api_call(client.record_key)
    try:
        checkpoint = open_checkpoint(note, parse_verifier_key(key))
    except NoteError as exc:
        err.print(f"[red]FAILED[/red] the service's checkpoint does not verify: {exc}")
        raise typer.Exit(1) from exc
    if out_file is None:
        out.print(note, end="")
    else:
        out_file.write_text(note)
        err.print(f"{out_file}: checkpoint of {checkpoint.origin} at size {checkpoint.size}")


@record_app.command("export")
def export(
    start: Annotated[int, typer.Option("--from", help="first entry index")],
    end: Annotated[int, typer.Option("--to", help="last entry index (inclusive)")],
    out_file: Annotated[Path, typer.Option("--out", help="the bundle file to write")],
    party: Annotated[
        str | None, typer.Option(help="on the database: disclose only what this party may see; withhold the rest")
    ] = None,
) -> None:
    """Write a disclosure bundle of entries FROM..TO.

    With a token (--token or DECONLINE_TOKEN) the service builds your own bundle through the API:
    what your side may read, everything else withheld, checkable offline without the operator.
    Without one it is the operator's export, on the database (--db), of everything or of --party's share.
    """
    from deconline.cli.common import settings

    if settings.token:
        if party is not None:
            fail("--party is for the operator's export on the database; with a token you export your own share", 2)
        with api_client() as client:
            bundle = api_call(client.export_record, start, end)
    else:
        from deconline.service import disclosure, witnesses
        from deconline.service.errors import ServiceError

        line = open_line()
        try:
            with line.db.write() as session:
                bundle = disclosure.export(line.record, session, start, end, party, line.clock())
                bundle |= witnesses.for_bundle(session)
        except ServiceError as exc:
            fail(exc.message, 2)
    try:
        out_file.write_text(json.dumps(bundle))
    except OSError as exc:
        fail(f"cannot write {out_file}: {exc}", 2)
    err.print(f"{out_file}: {len(bundle['entries'])} entries disclosed, {len(bundle['withheld'])} withheld")


@record_app.command("verify")
def verify(
    bundle_path: Annotated[Path | None, typer.Argument(help="the bundle")] = None,
    key: Annotated[str | None, typer.Option(help="the service's verifier key (text or file)")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="an older checkpoint that the bundle must extend")] = None,
    party_keys: Annotated[
        Path | None,
        typer.Option(
            "--party-keys",
            help="keys you already trust, a JSON object of party id -> base64 Ed25519 public key (as a "
            "bundle's party_keys): the bundle's keys must lead to them",
        ),
    ] = None,
    evidence: Annotated[
        Path | None,
        typer.Option(help="a witness's evidence (deconline witness evidence): check it against --key instead"),
    ] = None,
    witness_keys: Annotated[
        Path | None,
        typer.Option(help="the witnesses you trust: a file of their vkeys, one a line (default: the bundle's)"),
    ] = None,
    quorum: Annotated[
        int | None, typer.Option(min=1, help="cosignatures the checkpoint needs (default: the bundle's quorum)")
    ] = None,
) -> None:
    """Check the checkpoint signature, completeness, every entry and signature, and the root; or,
    with --evidence, that a witness's evidence shows the log signed two checkpoints that cannot
    both be true."""
    if evidence is not None:
        _verify_evidence(evidence, key)
        return
    if bundle_path is None:
        fail("give the bundle to verify (or --evidence FILE)", 2)
    bundle = _load(bundle_path)
    pinned = _trusted_keys(party_keys) if party_keys is not None else None
    result = _verify(bundle, key, checkpoint, pinned)
    if pinned is not None:
        signers = sorted({str(item.get("signer")) for item in bundle.get("entries", []) if item.get("signer")})
        unpinned = [p for p in signers if p not in pinned]
        if unpinned:
            err.print(f"[yellow]note:[/yellow] not pinned, the bundle's own keys used for: {', '.join(unpinned)}")
    witnessed = _witnessed(bundle, witness_keys, quorum)
    out.print(
        f"VERIFIED entries {result.start}..{result.end} of {result.checkpoint.origin} (tree size "
        f"{result.checkpoint.size}): {len(result.entries)} disclosed, {len(result.withheld)} withheld"
    )
    out.print(_signed_counts(result), soft_wrap=True, highlight=False)
    if witnessed:
        out.print(witnessed, soft_wrap=True, highlight=False)


def _witnessed(bundle: dict[str, Any], witness_keys: Path | None, quorum: int | None) -> str:
    """Exit 1, UNWITNESSED, unless the checkpoint carries the quorum of cosignatures; "" for a line
    that names no witnesses (and none given)."""
    from deconline.record.checkpoint import NoteError
    from deconline.record.cosignature import cosignatures, parse_vkey

    given = bundle.get("witnesses") or {}
    if witness_keys is not None:
        try:
            texts = [t for t in witness_keys.read_text().split() if t.strip()]
        except OSError as exc:
            fail(f"cannot read {witness_keys}: {exc}", 2)
    else:
        texts = [str(k) for k in given.get("keys", [])]
        if texts:
            err.print("[yellow]note:[/yellow] using the witness keys inside the bundle; pin yours with --witness-keys")
    if not texts:
        return ""
    try:
        trusted = [parse_vkey(t) for t in texts]
    except NoteError as exc:
        fail(f"a witness key is unusable: {exc}", 2)
    needed = quorum or int(given.get("quorum") or len(trusted))
    try:
        found = cosignatures(str(bundle.get("checkpoint", "")), trusted)
    except NoteError as exc:
        err.print(f"[red]FAILED[/red] cosignatures: {exc}")
        raise typer.Exit(1) from exc
    if len(found) < needed:
        err.print(
            f"[red]UNWITNESSED[/red] the checkpoint carries {len(found)} of the {needed} witness cosignatures "
            f"needed ({', '.join(sorted(found)) or 'none'}): it may be a view shown to you alone"
        )
        raise typer.Exit(1)
    return f"WITNESSED by {', '.join(sorted(found))} ({len(found)} of {len(trusted)}, {needed} needed)"


def _verify_evidence(path: Path, key: str | None) -> None:
    """Exit 0 when every item is the log's own signature on two checkpoints that disagree."""
    from deconline.record.checkpoint import NoteError, parse_verifier_key
    from deconline.record.witnessing import check_evidence

    if key is None:
        fail("--evidence needs --key: the log's verifier key you trust", 2)
    try:
        items = json.loads(path.read_text())
        verifier = parse_verifier_key(Path(key).read_text() if Path(key).is_file() else key)
    except (OSError, ValueError) as exc:
        fail(f"cannot read the evidence or the key: {exc}", 2)
    if not isinstance(items, list) or not items:
        fail(f"{path} holds no evidence (a JSON list, as 'deconline witness evidence' writes)", 2)
    for number, item in enumerate(items, 1):
        try:
            found = check_evidence(item, verifier)
        except (NoteError, KeyError, TypeError, ValueError) as exc:
            err.print(f"[red]FAILED[/red] evidence {number}: {exc}")
            raise typer.Exit(1) from exc
        out.print(f"evidence {number}: {found}", soft_wrap=True, highlight=False)


def _signed_counts(result: Verified) -> str:
    """``1,234 signed entries: 1,200 in envelopes, 34 signed without an envelope``."""
    signed, enveloped = result.signed, result.in_envelopes
    return (
        f"{signed:,} signed {'entry' if signed == 1 else 'entries'}: {enveloped:,} in "
        f"{'an envelope' if enveloped == 1 else 'envelopes'}, {result.without_envelope:,} signed without an envelope"
    )


def _trusted_keys(path: Path) -> dict[str, Any]:
    """The verifier's own keys for some parties; a file that cannot be read or parsed is a usage error."""
    from deconline.record.bundle import BundleError, check_party_keys

    try:
        given = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        fail(f"cannot read {path}: {exc}", 2)
    try:
        return check_party_keys({"party_keys": given})
    except BundleError as exc:
        fail(f"{path}: {exc}", 2)


def _signed_as(signer: Any, entry: dict[str, Any]) -> str:
    """How a verified signed entry was signed: its envelope's action, time and nonce, or its body alone."""
    from deconline.record.statements import StatementError, signed_part

    try:
        statement = signed_part(entry.get("event")).statement
    except StatementError:  # verified, so it cannot be; said plainly all the same
        return f"signed by {signer}, in a form this verifier does not read"
    if statement is None:
        return f"signed by {signer} without an envelope (over its body alone: no line, action, time or nonce)"
    return (
        f"signed by {signer} in an envelope: action {statement.action}, created {statement.created}, "
        f"nonce {statement.nonce}"
    )


def _time(text: str) -> float:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{text!r} is not an ISO 8601 time", 2)
    if value.tzinfo is None:
        fail(f"{text!r} has no time zone", 2)
    return value.timestamp()


@record_app.command("claim")
def claim(
    bundle_path: Annotated[Path, typer.Argument(help="the bundle")],
    sender: Annotated[str, typer.Option("--from", help="the party said to have sent it")],
    recipient: Annotated[str, typer.Option("--to", help="the party said to have received it")],
    between: Annotated[tuple[str, str], typer.Option(help="T1 T2 (ISO 8601 with a zone)")],
    kind: Annotated[str | None, typer.Option(help="event kind, or its prefix (e.g. 'operation')")] = None,
    contains: Annotated[str | None, typer.Option(help="text the event must contain")] = None,
    key: Annotated[str | None, typer.Option(help="the service's verifier key (text or file)")] = None,
) -> None:
    """Is there an entry from SENDER to RECIPIENT in [T1, T2]? Says so plainly when the bundle cannot tell."""
    t1, t2 = _time(between[0]), _time(between[1])
    if t2 < t1:
        fail("--between needs T1 <= T2", 2)
    bundle = _load(bundle_path)
    result = _verify(bundle, key, None)
    parsed = {index: json.loads(raw) for index, raw in result.entries.items()}
    matches = []
    for index, entry in sorted(parsed.items()):
        event = entry.get("event", {})
        if entry.get("author") != sender or recipient not in entry.get("to", []):
            continue
        if not t1 <= float(entry.get("time", -1)) <= t2:
            continue
        if kind and not str(event.get("kind", "")).startswith(kind):
            continue
        if contains and contains not in json.dumps(event):
            continue
        matches.append(index)
    if matches:
        out.print(f"FOUND: entries {', '.join(map(str, matches))} (verified against the signed checkpoint)")
        signers = {item.get("index"): item.get("signer") for item in bundle.get("entries", []) if "signature" in item}
        for index in matches:
            if index in signers:
                out.print(
                    f"  entry {index}: {_signed_as(signers[index], parsed[index])}", soft_wrap=True, highlight=False
                )
        return
    times = {i: float(e.get("time", 0)) for i, e in parsed.items()}
    before = [i for i, t in times.items() if t < t1]
    after = [i for i, t in times.items() if t > t2]
    low = max(before) if before else None
    high = min(after) if after else None
    unknown = [i for i in result.withheld if (low is None or i > low) and (high is None or i < high)]
    if low is None or high is None:
        out.print("UNDECIDED: the bundle does not cover the whole interval (no disclosed entry before T1 or after T2)")
    elif unknown:
        out.print(f"UNDECIDED: {len(unknown)} entries in that interval are withheld; the bundle cannot exclude it")
    else:
        out.print("NOT FOUND: the bundle discloses every entry of that interval, and none matches")
    sys.stdout.flush()
