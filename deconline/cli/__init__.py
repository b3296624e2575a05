"""``deconline`` commands.

Administration (``init``, ``party add``, ``token``, ``demo``, ``serve``) works on the database
directly; everything a party does goes through the API with ``--url`` and ``--token`` (or
``DECONLINE_URL`` / ``DECONLINE_TOKEN``). ``conflicts`` and ``replay`` need neither.

Every command module imports only the standard library, typer and rich at its top; the service,
the store, the client and the engines are imported by the command that runs (issue 14:
``deconline --help`` had been paying ~0.7 s for FastAPI, SQLAlchemy, numpy and scipy).
Commands are registered here, in one place and in the order ``--help`` lists them.

A failure is one line on stderr and an exit code (README, "Exit codes"): the commands say what went
wrong where they know it, and :class:`~deconline.cli.common.GuardedGroup` catches what they let
through; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import typer

from deconline.cli import admin, alerts, feed, offline, review, serve
from deconline.cli.agreement import agreement_app
from deconline.cli.common import FAILED, GuardedGroup, err, global_options, one_line, settings
from deconline.cli.hazards import hazard_app
from deconline.cli.hotline import line_app, msg_app
from deconline.cli.operations import op_app
from deconline.cli.record import record_app
from deconline.cli.witness import witness_app

__all__ = ["app", "main"]

app = typer.Typer(
    cls=GuardedGroup,
    help="deconline: a deconfliction line for shared airspace.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # --debug's traceback must not print tokens and keys
)
app.callback()(global_options)

app.add_typer(admin.party_app, name="party")
app.add_typer(admin.token_app, name="token")
app.add_typer(agreement_app, name="agreement")
app.add_typer(op_app, name="op")
app.add_typer(hazard_app, name="hazard")
app.add_typer(record_app, name="record")
app.add_typer(msg_app, name="msg")
app.add_typer(line_app, name="line")
app.add_typer(witness_app, name="witness")
app.command("alerts")(alerts.alerts)
app.command("feed")(feed.feed)
app.command("review")(review.review)
app.command()(admin.init)
app.command()(admin.demo)
app.command()(serve.serve)
app.command()(serve.worker)
app.command()(serve.desk)
app.command("conflicts")(offline.conflicts_command)
app.command("replay")(offline.replay_command)


def main() -> None:
    """The ``deconline`` entry point; the last resort for an error outside any command."""
    try:
        app()
    except Exception as exc:  # the commands' guard has let it through: --debug, or before a command ran
        if settings.debug:
            raise
        err.print(
            f"error: {type(exc).__name__}: {one_line(exc, 200)} (run with --debug for the traceback)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(FAILED)
