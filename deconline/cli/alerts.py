"""``deconline alerts``: your alerts, and with ``--guidance`` your own aircraft's free manoeuvres."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from deconline.cli.common import JsonOption, api_call, api_client, out, print_list_json, print_table

KT = 1852.0 / 3600.0
FPM = 0.3048 / 60.0
FT = 0.3048


def _track(v: float) -> str:
    return f"{v % 360:03.0f}°"


def _speed(v: float) -> str:
    return f"{v / KT:.0f} kt"


def _rate(v: float) -> str:
    return f"{v / FPM:+,.0f} ft/min"


def _level(v: float) -> str:
    return f"{v / FT:,.0f} ft"


# each dimension: its key, its label, and how to show one value of it
_DIMENSIONS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("track_deg", "track", _track),
    ("gs_mps", "speed", _speed),
    ("vs_mps", "vertical speed", _rate),
    ("alt_m", "level", _level),
)


def _free(guidance: dict[str, Any]) -> list[str]:
    """One line per dimension: the free ranges (or the recovery ones when nothing is free)."""
    lines = []
    for key, label, show in _DIMENSIONS:
        ranges = guidance.get(key, [])
        free = [r for r in ranges if not r["conflict"]]
        chosen, word = (free, "free") if free else ([r for r in ranges if r.get("recovery")], "recovery")
        spans = ", ".join(
            show(r["from"]) if r["from"] == r["to"] else f"{show(r['from'])}–{show(r['to'])}" for r in chosen
        )
        lines.append(f"  {label:>14} {word}: {spans or 'none'}")
    return lines


def _resolution(r: dict[str, Any]) -> str:
    what = f"turn {r['sense']} to {_track(r['to'])}" if r["axis"] == "track" else f"vertical speed {_rate(r['to'])}"
    answer = r["answer"] or "unanswered"
    return (
        f"  resolution {r['message']}: {what}; the other side is asked to go {r['other_sense']} "
        f"(you: {answer}, they: {r['other_answer']}; by {r['deadline']})"
    )


def alerts(
    every: Annotated[bool, typer.Option("--all", help="cleared alerts too")] = False,
    guidance: Annotated[
        bool, typer.Option("--guidance", help="under each alert, your own aircraft's free manoeuvres")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Your alerts, most recent first; with --guidance the ranges of track, speed, vertical speed and
    level that keep your aircraft clear, and any coordinated resolution proposed to you."""
    with api_client() as client:
        found = api_call(client.alerts, not every)
    if json:
        print_list_json(found if guidance else [{k: v for k, v in a.items() if k != "guidance"} for a in found])
        return
    rows = [
        (
            a["id"], a["kind"], a["level"], a["state"], _own(a),
            f"{a['intruder']['party']} {a['intruder']['track']}" if "intruder" in a else a.get("hazard_id", ""),
            "now" if a["los"] else f"{a['t_los']:.0f} s",
        )
        for a in found
    ]  # fmt: skip
    print_table(("id", "kind", "level", "state", "own", "other", "loss"), rows)
    if not guidance:
        return
    _print_guidance(found)


def _own(alert: dict[str, Any]) -> str:
    """One's own aircraft in an alert: a nonconformance lists them all (the first few, and how many)."""
    if "aircraft" not in alert:
        return str(alert["own_track"])
    aircraft = alert["aircraft"]
    more = f" +{len(aircraft) - 3}" if len(aircraft) > 3 else ""
    return ", ".join(aircraft[:3]) + more


def _print_guidance(found: list[dict[str, Any]]) -> None:
    for a in found:
        if a.get("guidance") is None and "resolution" not in a:
            continue
        out.print(f"{a['id']} {a['own_track']}:", markup=False, highlight=False)
        for text in (
            _free(a["guidance"]) if a.get("guidance") else ["  no guidance (guidance: off, or not yet computed)"]
        ):
            out.print(text, markup=False, highlight=False)
        if "resolution" in a:
            out.print(_resolution(a["resolution"]), markup=False, highlight=False)
