"""``deconline`` commands.

Administration (``init``, ``party add``, ``token``, ``demo``, ``serve``) works on the database
directly; everything a party does goes through the API with ``--url`` and ``--token`` (or
``DECONLINE_URL`` / ``DECONLINE_TOKEN``). ``conflicts`` needs neither.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.table import Table

from deconline.cli_feed import feed
from deconline.cli_hotline import line_app, msg_app
from deconline.cli_keys import rotate_key
from deconline.cli_record import record_app
from deconline.cli_review import review
from deconline.client import ApiError, Client
from deconline.core.agreement import Agreement
from deconline.core.strategic import StrategicRules
from deconline.planning import PlanningError, conflicts, read_features
from deconline.record.signing import generate_key, public_key_b64, write_private_key
from deconline.service import parties
from deconline.service.errors import ServiceError
from deconline.service.line import Line
from deconline.store.db import DEFAULT_URL, Database

app = typer.Typer(help="deconline: a deconfliction line for shared airspace.", no_args_is_help=True)
party_app = typer.Typer(
    help="Register and list parties (admin, on the database); rotate your own key (party, through the API).",
    no_args_is_help=True,
)
agreement_app = typer.Typer(help="Propose, sign and read the agreement (through the API).", no_args_is_help=True)
op_app = typer.Typer(help="File and manage your operations (through the API).", no_args_is_help=True)
hazard_app = typer.Typer(help="Declare, list and withdraw hazards (through the API).", no_args_is_help=True)
token_app = typer.Typer(
    help="Issue, list and revoke API tokens (admin, on the database): token auditor|admin|party, list, revoke.",
    no_args_is_help=True,
)
app.add_typer(party_app, name="party")
party_app.command("rotate-key")(rotate_key)
app.add_typer(token_app, name="token")
app.add_typer(agreement_app, name="agreement")
app.add_typer(op_app, name="op")
app.add_typer(hazard_app, name="hazard")
app.add_typer(record_app, name="record")
app.add_typer(msg_app, name="msg")
app.add_typer(line_app, name="line")
app.command("feed")(feed)
app.command("review")(review)

out = Console()
err = Console(stderr=True)


class Settings:
    db_url: str = DEFAULT_URL
    url: str = "http://127.0.0.1:8000"
    token: str | None = None
    key: Path | None = None


settings = Settings()


@app.callback()
def _global(
    db: Annotated[str, typer.Option(envvar="DECONLINE_DB", help="database URL (sqlite:///FILE or postgresql://…)")] = (
        DEFAULT_URL
    ),
    url: Annotated[str, typer.Option(envvar="DECONLINE_URL", help="service URL for API commands")] = settings.url,
    token: Annotated[str | None, typer.Option(envvar="DECONLINE_TOKEN", help="API token for API commands")] = None,
    key: Annotated[
        Path | None, typer.Option(envvar="DECONLINE_KEY", help="your party's private key: signs what you submit")
    ] = None,
) -> None:
    settings.db_url, settings.url, settings.token, settings.key = db, url, token, key


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _line() -> Line:
    return Line(Database(settings.db_url))


def _client() -> Client:
    if not settings.token:
        _fail("this command talks to the API: give --token or set DECONLINE_TOKEN", 2)
    if settings.key is not None and not settings.key.is_file():
        _fail(f"--key {settings.key}: no such file", 2)
    return Client(settings.url, settings.token, key=settings.key)


def _api(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except ApiError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot reach {settings.url}: {exc}")


def _print_json(value: Any) -> None:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
    out.print_json(json.dumps(value))


def _read_document(path: Path) -> Any:
    try:
        text = path.read_text()
        return yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        _fail(f"cannot read {path}: {exc}", 2)


# --- administration ---------------------------------------------------------------------------


@app.command()
def init() -> None:
    """Create (or upgrade) the database and print the admin token on the first run."""
    token = parties.initialise(_line())
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
    key_path = keys_dir / f"{name}.key"
    if key_path.exists():
        _fail(f"{key_path} already exists; remove it or choose another --keys-dir", 2)
    key = generate_key()
    try:
        token = parties.add_party(_line(), name, public_key_b64(key), group)
    except ServiceError as exc:
        _fail(exc.message, 2)
    write_private_key(key, key_path)
    (keys_dir / f"{name}.pub").write_text(public_key_b64(key) + "\n")
    out.print(f"party {name} registered{f' in group {group}' if group else ''}")
    out.print(f"private key: {key_path} (mode 0600)\ntoken (shown once): [bold]{token}[/bold]")


@party_app.command("list")
def party_list() -> None:
    """List the registered parties."""
    table = Table("party", "group", "public key")
    for p in parties.list_parties(_line()):
        table.add_row(p.id, p.group or "", p.public_key)
    out.print(table)


def _lifetime(text: str | None) -> float | None:
    """'90d', '12h', '30m' or '3600s' (or plain seconds) as seconds."""
    if text is None:
        return None
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        value = float(number) * units[unit]
    except ValueError:
        _fail(f"--expires-in: '{text}' is not a lifetime like 90d, 12h, 30m or 3600s", 2)
    return value


ExpiresIn = Annotated[
    str | None, typer.Option(help="refuse the token after this long: 90d, 12h, 30m, 3600s (default: never)")
]
Label = Annotated[str, typer.Option(help="what the token is for (shown by 'token list')")]


def _issue(role: str, party: str | None, label: str, expires_in: str | None) -> None:
    try:
        value = parties.issue_token(_line(), role, party, label, _lifetime(expires_in))  # type: ignore[arg-type]
    except ServiceError as exc:
        _fail(exc.message, 2)
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
def token_list() -> None:
    """Every token issued: its id (the start of its hash; the token itself is never stored), role,
    party, label, when it was made, when it expires, whether it was revoked."""
    from deconline.service.geo import iso

    try:
        tokens = parties.list_tokens(_line())
    except ServiceError as exc:
        _fail(exc.message, 2)
    table = Table()
    table.add_column("id", overflow="fold")  # never cut: it is what 'token revoke' takes
    for name in ("role", "party", "label", "created", "expires", "revoked"):
        table.add_column(name)
    for t in tokens:
        table.add_row(
            t.token_id,
            t.role,
            t.party_id or "",
            t.label,
            iso(t.created_at),
            iso(t.expires_at) if t.expires_at else "never",
            iso(t.revoked_at) if t.revoked_at else "",
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="the id from 'token list', or the token itself")],
) -> None:
    """Refuse a token from now on, on every instance of the service."""
    try:
        row = parties.revoke_token(_line(), token_id)
    except ServiceError as exc:
        _fail(exc.message, 2)
    out.print(f"token {row.token_id} ({row.role}{' ' + row.party_id if row.party_id else ''}) revoked")


@app.command()
def demo(
    keys_dir: Annotated[Path, typer.Option(help="where the parties' keys and tokens.json go")] = Path("keys"),
) -> None:
    """Load the demo scenario into a new database; print each party's token and key file (also in tokens.json)."""
    from deconline.demo import load, write_tokens

    try:
        tokens = load(_line(), keys_dir)
    except RuntimeError as exc:
        _fail(str(exc), 2)
    path = write_tokens(keys_dir, tokens)
    out.print("demo tokens (who, token, key file):")
    for who, value in tokens.items():
        key = keys_dir / f"{who}.key"
        out.print(f"  {who:<10} {value}  {key if key.is_file() else ''}", soft_wrap=True, markup=False, highlight=False)
    out.print(f"tokens also in {path} (mode 0600)")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    evaluate_every: Annotated[float, typer.Option(help="seconds between live-picture evaluations (0: off)")] = 1.0,
    checkpoint_every: Annotated[float, typer.Option(help="seconds between record checkpoints (0: off)")] = 10.0,
    quiet: Annotated[bool, typer.Option("--quiet", help="log warnings only (no access log)")] = False,
    log_format: Annotated[
        str, typer.Option(help="text, or json: one JSON object a line with the request id, for log collectors")
    ] = "text",
    demo_feed: Annotated[
        Path | None,
        typer.Option(
            help="also fly the demo's aircraft: each party posts its tracks every second to this server, "
            "with the tokens and keys 'deconline demo --keys-dir DIR' wrote (no access log meanwhile)",
            metavar="DIR",
        ),
    ] = None,
    tile_url: Annotated[
        str | None,
        typer.Option(
            envvar="DECONLINE_TILE_URL",
            help="your site's own XYZ tile server for the console's map, e.g. https://tiles.example/{z}/{x}/{y}.png "
            "(the console's security policy allows that origin; the offline basemap stays the default)",
        ),
    ] = None,
    rate_limit: Annotated[
        str,
        typer.Option(
            envvar="DECONLINE_RATE_LIMIT",
            metavar="RATE[/BURST]|off",
            help="requests a second per API token (per address without one) and how many at once, per instance; "
            "over it: 429 with Retry-After. off: no limit",
        ),
    ] = "50/100",
) -> None:
    """Run the API server and the console (OpenAPI documentation at /docs)."""
    import uvicorn

    from deconline.api.app import create_app, settle_heap

    if evaluate_every < 0 or checkpoint_every < 0:
        _fail("--evaluate-every and --checkpoint-every must be >= 0", 2)
    if log_format not in ("text", "json"):
        _fail("--log-format must be text or json", 2)
    from deconline.api.console import tile_origin
    from deconline.api.ratelimit import RateLimit
    from deconline.logs import log_config

    try:
        tile_origin(tile_url)
        limit = RateLimit.parse(rate_limit)
    except ValueError as exc:
        _fail(str(exc), 2)
    feeders = None
    if demo_feed is not None:
        from deconline.demo_feed import credentials

        try:
            feeders = credentials(demo_feed)
        except ValueError as exc:
            _fail(str(exc), 2)
    line = Line(Database(settings.db_url), evaluate_every_s=evaluate_every, checkpoint_every_s=checkpoint_every)
    admin = parties.initialise(line)
    if admin is not None:
        out.print(f"new database: admin token (shown once): [bold]{admin}[/bold]")
    base = f"http://{host}:{port}"
    out.print(f"deconline on {base}/  (API docs: {base}/docs, database {settings.db_url})", soft_wrap=True)
    log_level = "warning" if quiet else "info"
    logging_config = log_config("json" if log_format == "json" else "text", log_level)
    app = create_app(line, tile_url, limit)
    settle_heap()
    if feeders is None:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            log_config=logging_config,
            access_log=False,  # deconline.access logs each request, with its id
        )
        return
    from deconline.demo_feed import serve_with_feed

    out.print(f"console: {base}/ (sign in with a party's token and key file)", soft_wrap=True)
    for who in feeders:
        out.print(f"  {who.party:<10} {who.token}  {who.key.resolve()}", soft_wrap=True, markup=False, highlight=False)
    quiet_access = log_config("json" if log_format == "json" else "text", log_level, access=False)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=quiet_access,
        access_log=False,
    )

    def say(message: str) -> None:
        err.print(f"{time.strftime('%H:%M:%S')} {message}", soft_wrap=True, markup=False, highlight=False)

    serve_with_feed(config, feeders, say)


# --- agreement --------------------------------------------------------------------------------


@agreement_app.command("propose")
def agreement_propose(file: Path) -> None:
    """Propose the next agreement version from a YAML or JSON file."""
    with _client() as c:
        _print_json(_api(c.propose_agreement, _read_document(file)))


@agreement_app.command("sign")
def agreement_sign(version: int, key: Annotated[Path, typer.Option(help="your party's private key file")]) -> None:
    """Sign agreement VERSION with your key (the exact canonical document the service holds)."""
    with _client() as c:
        state = _api(c.sign_agreement, version, key)
        missing = ", ".join(state.missing_signatures) or "none"
        out.print(f"signed version {version}; in force: {state.current}; still to sign: {missing}")


@agreement_app.command("show")
def agreement_show(version: Annotated[int | None, typer.Argument()] = None) -> None:
    """Show the agreement in force (or VERSION)."""
    with _client() as c:
        _print_json(_api(c.agreement, version))


@agreement_app.command("list")
def agreement_list() -> None:
    """List every version with its signatures."""
    with _client() as c:
        table = Table("version", "in force", "signed by", "missing")
        for a in _api(c.agreements):
            table.add_row(
                str(a.version), "yes" if a.current else "", ", ".join(a.signed_by), ", ".join(a.missing_signatures)
            )
        out.print(table)


# --- operations -------------------------------------------------------------------------------


def _operation_body(file: Path) -> dict[str, Any]:
    body = _read_document(file)
    if not isinstance(body, dict) or "volumes" not in body:
        _fail(f"{file} must hold an object with 'volumes' (and optionally 'name')", 2)
    return body


@op_app.command("file")
def op_file(file: Path) -> None:
    """File an operation from a JSON/YAML file: {"name": …, "volumes": [...]}."""
    body = _operation_body(file)
    with _client() as c:
        op = _api(c.file_operation, body["volumes"], body.get("name", ""))
        out.print(f"{op.id}: {op.state} (version {op.version}), {len(op.notices)} conflict notices")
        for n in op.notices:
            out.print(f"  {n.kind} with {n.other_party or '-'} ref {n.other_ref} on volume {n.volume}")


@op_app.command("list")
def op_list(state: Annotated[str | None, typer.Option(help="only this state")] = None) -> None:
    """List your (and your group's) operations."""
    with _client() as c:
        table = Table("id", "party", "name", "state", "version", "notices")
        for op in _api(c.operations, state):
            table.add_row(op.id, op.party, op.name, op.state, str(op.version), str(len(op.notices)))
        out.print(table)


@op_app.command("notices")
def op_notices(
    state: Annotated[str | None, typer.Option(help="open or resolved")] = None,
    operation: Annotated[str | None, typer.Option(help="only notices about this operation of yours")] = None,
) -> None:
    """Conflict notices about your side's operations: open until the cause goes away, then
    resolved with the reason (own_/other_ revised, cancelled, ended; hazard_changed or
    hazard_withdrawn; rules_changed; superseded)."""
    with _client() as c:
        table = Table()
        for name in ("id", "operation"):
            table.add_column(name, overflow="fold")  # folded, never cut: ids are copied into other commands
        for name in ("kind", "other", "state", "since", "resolution"):
            table.add_column(name)
        for n in _api(c.notices, state, operation):
            other = n.hazard_id or f"{n.other_party} {n.other_ref}"
            table.add_row(n.id, n.operation, n.kind, other, n.state, n.created_at, n.resolution or "")
        out.print(table)


@op_app.command("show")
def op_show(op_id: str) -> None:
    """Show one operation with its notices."""
    with _client() as c:
        _print_json(_api(c.operation, op_id))


@op_app.command("revise")
def op_revise(op_id: str, version: int, file: Path) -> None:
    """Replace the volumes of OP_ID (at VERSION) from a file and check again."""
    body = _operation_body(file)
    with _client() as c:
        op = _api(c.revise_operation, op_id, version, body["volumes"], body.get("name", ""))
        out.print(f"{op.id}: {op.state} (version {op.version}), {len(op.notices)} conflict notices")


@op_app.command("check")
def op_check(op_id: str, version: int) -> None:
    """Check a proposed operation again; it is accepted if it no longer conflicts."""
    with _client() as c:
        op = _api(c.check_operation, op_id, version)
        out.print(f"{op.id}: {op.state} (version {op.version}), {len(op.notices)} conflict notices")


@op_app.command("state")
def op_state(op_id: str, version: int, state: str) -> None:
    """Move OP_ID to STATE: accepted, active, ended or cancelled."""
    with _client() as c:
        op = _api(c.set_state, op_id, version, state)
        out.print(f"{op.id}: {op.state} (version {op.version})")


# --- hazards ----------------------------------------------------------------------------------


@hazard_app.command("declare")
def hazard_declare(file: Path) -> None:
    """Declare a hazard from a file: {"kind": …, "name": …, "volume": {...}}."""
    body = _read_document(file)
    if not isinstance(body, dict):
        _fail(f"{file} must hold an object with kind, name and volume", 2)
    with _client() as c:
        hz = _api(c.declare_hazard, body.get("kind"), body.get("volume"), body.get("name", ""))
        out.print(f"{hz.id}: {hz.kind} declared")


@hazard_app.command("list")
def hazard_list() -> None:
    """List the active hazards (public to every party)."""
    with _client() as c:
        table = Table("id", "kind", "name", "declared by", "band (m)", "window")
        for h in _api(c.hazards):
            v = h.volume
            table.add_row(
                h.id, h.kind, h.name, h.declared_by or "", f"{v.lower_m:g}–{v.upper_m:g}", f"{v.start} – {v.end}"
            )
        out.print(table)


@hazard_app.command("change")
def hazard_change(hazard_id: str, version: int, file: Path) -> None:
    """Replace HAZARD_ID (at VERSION) with the hazard in a file: {"kind": …, "name": …, "volume": {...}}.
    Owners of accepted and active operations it now touches are told."""
    body = _read_document(file)
    if not isinstance(body, dict):
        _fail(f"{file} must hold an object with kind, name and volume", 2)
    with _client() as c:
        hz = _api(c.change_hazard, hazard_id, version, body.get("kind"), body.get("volume"), body.get("name", ""))
        out.print(f"{hz.id}: {hz.kind} changed (version {hz.version})")


@hazard_app.command("withdraw")
def hazard_withdraw(hazard_id: str) -> None:
    """Withdraw a hazard you declared."""
    with _client() as c:
        out.print(f"{_api(c.withdraw_hazard, hazard_id).id}: withdrawn")


# --- offline planning -------------------------------------------------------------------------


@app.command("conflicts")
def conflicts_command(
    operations: Annotated[Path, typer.Option("--operations", help="GeoJSON FeatureCollection of volumes")],
    hsep: Annotated[float | None, typer.Option(help="horizontal separation, metres")] = None,
    vsep: Annotated[float | None, typer.Option(help="vertical separation, metres")] = None,
    time_buffer: Annotated[float | None, typer.Option(help="time buffer, seconds")] = None,
    agreement: Annotated[Path | None, typer.Option(help="take the minima from this agreement file")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write JSON lines here (default stdout)")] = None,
) -> None:
    """Offline planning check: one JSON line per conflicting pair of different parties (no server)."""
    h, v, buf = hsep, vsep, time_buffer
    if agreement is not None:
        try:
            rules = Agreement.model_validate(_read_document(agreement)).strategic_rules
        except ValueError as exc:
            _fail(f"{agreement}: {exc}", 2)
        h = rules.h_m if h is None else h
        v = rules.v_m if v is None else v
        buf = rules.time_buffer_s if buf is None else buf
    if h is None or v is None or buf is None:
        _fail("give --hsep, --vsep and --time-buffer, or --agreement", 2)
    assert h is not None and v is not None and buf is not None
    if h <= 0 or v < 0 or buf < 0:
        _fail("--hsep must be > 0; --vsep and --time-buffer must be >= 0", 2)
    try:
        planned = read_features(operations)
    except PlanningError as exc:
        _fail(str(exc), 2)
    sink = out_file.open("w") if out_file else sys.stdout
    count = 0
    try:
        for record in conflicts(planned, StrategicRules(h_m=h, v_m=v, time_buffer_s=buf)):
            sink.write(json.dumps(record) + "\n")
            count += 1
    finally:
        if out_file:
            sink.close()
    err.print(f"{len(planned)} volumes, {count} conflicting pairs")


@app.command("replay")
def replay_command(
    file: Annotated[
        str,
        typer.Argument(
            help="the recording (.json, .json.gz or .csv), or a capture: beast+file:, avr+file:, csv+file:, "
            "sbs+file:, readsb+file: or asterix+file: PATH",
            show_default=False,
        ),
    ],
    fmt: Annotated[str, typer.Option("--format", help="traffic-json or csv (for a recording)")] = "traffic-json",
    step: Annotated[float, typer.Option(help="seconds between evaluations")] = 10.0,
    lookahead: Annotated[float, typer.Option(help="look-ahead, seconds")] = 300.0,
    hsep: Annotated[float, typer.Option(help="horizontal minimum, metres")] = 9260.0,
    vsep: Annotated[float, typer.Option(help="vertical minimum, metres")] = 304.8,
    max_age: Annotated[float, typer.Option(help="reports older than this are stale, seconds")] = 20.0,
    party_map: Annotated[Path | None, typer.Option(help="icao24 -> party (JSON object or CSV lines)")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write JSON lines here (default stdout)")] = None,
    radar: Annotated[
        list[str] | None, typer.Option(help="for a capture: SAC/SIC=LAT,LON,ALT_M of a CAT048 radar (repeat)")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="for a capture: LAT,LON of the receiver (single-frame ADS-B positions)")
    ] = None,
) -> None:
    """Run the tactical engine over a recording or a raw capture: one JSON line per time and pair in conflict."""
    from rich.progress import Progress

    from deconline.core.tactical import TacticalRules
    from deconline.ingest.recordings import RecordingError, load_recording
    from deconline.replay import read_party_map, replay, run

    if fmt not in ("traffic-json", "csv"):
        _fail("--format must be traffic-json or csv", 2)
    if step <= 0 or lookahead <= 0 or hsep <= 0 or vsep <= 0 or max_age <= 0:
        _fail("--step, --lookahead, --hsep, --vsep and --max-age must be > 0", 2)
    try:
        if ":" in file and file.split(":", 1)[0].endswith("+file"):
            from deconline.cli_feed import load_capture

            recording = load_capture(file, radar or [], reference, max_age)
        else:
            recording = load_recording(Path(file), fmt)  # type: ignore[arg-type]
        mapping = read_party_map(party_map) if party_map else None
    except (RecordingError, OSError, ValueError) as exc:
        _fail(str(exc), 2)
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(recording.skipped.items())) or "none"
    err.print(f"{file}: {recording.total:,} records, {len(recording.time_s):,} usable (skipped: {skipped})")
    rules = TacticalRules(hsep, vsep, lookahead, max_age)
    sink = out_file.open("w") if out_file else sys.stdout
    try:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("replaying", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = run(replay(recording, rules, step, mapping, progress), sink)
    finally:
        if out_file:
            sink.close()
    err.print(
        f"{len(summary.pairs):,} conflict pairs in {summary.conflict_rows:,} rows; "
        f"{len(summary.los_pairs):,} pairs in loss of separation ({summary.los_rows:,} rows)"
    )


def main() -> None:
    app()
