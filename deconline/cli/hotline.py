"""``deconline msg …`` and ``deconline line health``: the hotline from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from deconline.cli.common import JsonOption, api_call, api_client, fail, out, print_json, print_list_json, print_table

msg_app = typer.Typer(
    help="Send, read and acknowledge hotline messages (through the API, signed).", no_args_is_help=True
)
line_app = typer.Typer(help="The line itself: communications checks.", no_args_is_help=True)


@msg_app.command("send")
def send(
    to: Annotated[list[str], typer.Option("--to", help="recipient party, or group:<name> (repeatable)")],
    kind: Annotated[str, typer.Option(help="notice, deconfliction_request, response, incident_report…")] = "notice",
    text: Annotated[str, typer.Option(help="free text, at most 2,000 characters")] = "",
    ref: Annotated[
        list[str] | None, typer.Option(help="TYPE:ID, e.g. operation:op_… or notice:cn_… (repeatable)")
    ] = None,
    action: Annotated[str | None, typer.Option(help="proposal: hold, shift_time, change_band, reroute_away…")] = None,
    shift: Annotated[float | None, typer.Option(help="with --action shift_time: seconds")] = None,
    no_ack: Annotated[bool, typer.Option("--no-ack", help="no acknowledgement required")] = False,
) -> None:
    """Send a message; it is signed with your key and recorded."""
    references = []
    for item in ref or []:
        kind_, _, ident = item.partition(":")
        if not ident:
            fail(f"--ref {item!r}: expected TYPE:ID", 2)
        references.append({"type": kind_, "id": ident})
    proposal = None if action is None else {"action": action, **({"shift_s": shift} if shift is not None else {})}
    with api_client() as client:
        message = api_call(client.send_message, to, kind, text, references, proposal, not no_ack)
    out.print(f"{message['id']}: sent to {', '.join(message['recipients'])}; ack by {message['deadline'] or 'n/a'}")


@msg_app.command("inbox")
def inbox(
    box: Annotated[str, typer.Option(help="in or out")] = "in",
    status: Annotated[str | None, typer.Option(help="sent, acknowledged, overdue, accepted or rejected")] = None,
    json: JsonOption = False,
) -> None:
    """List your messages."""
    with api_client() as client:
        found = api_call(client.messages, box, status)
    if json:
        print_list_json(found)
        return
    rows = [
        (m["id"], m["sender"], ", ".join(m["recipients"]), m["kind"], m["status"], m["deadline"] or "", m["text"][:40])
        for m in found
    ]
    print_table(("id", "from", "to", "kind", "status", "deadline", "text"), rows)


@msg_app.command("show")
def show(message_id: str) -> None:
    """Show one message with its acknowledgements."""
    with api_client() as client:
        print_json(api_call(client.message, message_id))


@msg_app.command("ack")
def ack(message_id: str) -> None:
    """Acknowledge a message sent to you (signed)."""
    with api_client() as client:
        out.print(f"{message_id}: {api_call(client.acknowledge, message_id)['status']}")


@msg_app.command("answer")
def answer(
    message_id: str,
    choice: Annotated[str, typer.Argument(metavar="accept|reject", help="accept or reject the resolution")],
) -> None:
    """Accept or reject a coordinated resolution sent to you (signed); the other side is told at once."""
    if choice not in ("accept", "reject"):
        fail(f"expected accept or reject, not {choice!r}", 2)
    with api_client() as client:
        out.print(f"{message_id}: {api_call(client.answer, message_id, choice)['status']}")


@line_app.command("health")
def health(json: JsonOption = False) -> None:
    """Per party: last answer to a communications check, median and worst delay, missed checks."""
    with api_client() as client:
        found = api_call(client.line_health)
    if json:
        print_list_json(found)
        return
    keys = ("party", "checks", "last_answer", "median_delay_s", "worst_delay_s", "missed")
    rows = [tuple("" if h[k] is None else str(h[k]) for k in keys) for h in found]
    columns = ("party", "checks", "last answer", "median delay (s)", "worst delay (s)", "missed")
    print_table(columns, rows, ids=("party",))
