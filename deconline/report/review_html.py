"""The periodic review as one self-contained HTML file: review data in, bytes out.

Everything is inside the file (inline CSS, figures as base64 PNG), so it opens offline and can be
mailed or archived as it is. Every text is escaped: party, operation and hazard names are chosen
by the parties. Nothing here reads a clock: the same data gives the same bytes.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

from deconline.report import figures

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2125;margin:0;background:#f4f5f7}
main{max-width:1000px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 8px;border-bottom:2px solid #dee2e6;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}
.meta{color:#495057;margin:0 0 12px}.note{color:#495057;font-size:13px}
nav ol{columns:2;margin:8px 0 0;padding-left:20px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.card{border:1px solid #dee2e6;border-radius:6px;padding:8px 12px;min-width:120px}
.card b{display:block;font-size:22px}.card span{color:#495057;font-size:13px}
.bad b{color:#c92a2a}.good b{color:#2b8a3e}
table{border-collapse:collapse;margin:8px 0 12px;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e9ecef;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
figure{margin:12px 0}figure img{max-width:100%;height:auto;border:1px solid #e9ecef}
figcaption{color:#495057;font-size:13px}
.ok{color:#2b8a3e;font-weight:600}.fail{color:#c92a2a;font-weight:600}
.scroll{overflow-x:auto}td{white-space:nowrap}
footer{margin-top:40px;color:#868e96;font-size:12px}
"""
SECTIONS = (
    ("operations", "Operations and conflicts"),
    ("hazards", "Hazards"),
    ("alerts", "Tactical alerts"),
    ("hotline", "The hotline"),
    ("agreement", "The agreement"),
    ("record", "The record"),
)
Cell = str | int | float | None
ISO_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z$")


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:,.1f}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"
    return f"{text}{unit}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _cards(items: Iterable[tuple[str, Cell, str]]) -> str:
    """Headline numbers; ``tone`` is '', 'bad' or 'good'."""
    body = "".join(
        f'<div class="card {tone}"><b>{_e(value if isinstance(value, str) else _num(value))}</b>'
        f"<span>{_e(label)}</span></div>"
        for label, value, tone in items
    )
    return f'<div class="cards">{body}</div>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], numeric: Sequence[int] = ()) -> str:
    rows = list(rows)
    if not rows:
        return '<p class="note">None in this period.</p>'

    def cell(tag: str, k: int, value: Cell) -> str:
        klass = ' class="n"' if k in numeric else ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = _num(value)
        elif isinstance(value, str) and (time := ISO_TIME.match(value)):
            text = f"{time[1]} {time[2]}"  # UTC, as the page says: short enough not to wrap
        else:
            text = _e(value)
        return f"<{tag}{klass}>{text}</{tag}>"

    head = "".join(cell("th", k, h) for k, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", k, v) for k, v in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _figure(png: bytes | None, alt: str, caption: str) -> str:
    if png is None:
        return ""
    from struct import unpack

    width, height = unpack(">II", png[16:24])  # the PNG header's IHDR
    data = base64.b64encode(png).decode()
    return (
        f'<figure><img src="data:image/png;base64,{data}" width="{width}" height="{height}" alt="{_e(alt)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _counts(mapping: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in mapping.items()) or "none"


def render(data: dict[str, Any]) -> bytes:
    """The review page for ``data`` (from ``deconline.service.review.review_data``)."""
    period, viewer = data["period"], data["viewer"]
    if viewer["role"] == "party":
        who = f"party {viewer['party']} (its side: {', '.join(viewer['side'])})"
        scope = (
            "It shows what this party may see on the line: its side's operations and conflict notices (of another "
            "party only its id and an opaque reference), alerts of its own aircraft, messages its side sent or "
            "received, and the public hazards."
        )
    else:
        who = f"the {viewer['role']}"
        scope = "It shows counts and timing only: no geometry, no positions, no names of operations or hazards."
    parts = [
        f"<header><h1>Periodic review of the line</h1><p class='meta'>{_e(period['from'])} to {_e(period['to'])} "
        f"(UTC), for {_e(who)}.</p><p class='note'>{_e(scope)}</p>",
        "<nav><ol>" + "".join(f'<li><a href="#{k}">{_e(t)}</a></li>' for k, t in SECTIONS) + "</ol></nav></header>",
    ]
    builders: dict[str, Callable[[dict[str, Any]], str]] = {
        "operations": _operations,
        "hazards": _hazards,
        "alerts": _alerts,
        "hotline": _hotline,
        "agreement": _agreement,
        "record": _record,
    }
    for number, (key, title) in enumerate(SECTIONS, 1):
        parts.append(f'<section id="{key}"><h2>{number}. {_e(title)}</h2>{builders[key](data)}</section>')
    parts.append(
        f"<footer>{_e(data['format'])} · the same data always gives the same file · figures drawn with "
        "matplotlib</footer>"
    )
    title = f"Periodic review {period['from']} – {period['to']}"
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>{''.join(parts)}</main></body></html>\n"
    )
    return page.encode("utf-8")


def _operations(data: dict[str, Any]) -> str:
    ops, conflicts = data["operations"], data["conflicts"]
    out = [
        _cards(
            [
                ("operations filed", ops["filed"], ""),
                ("of them accepted", ops["accepted"], ""),
                ("of them in conflict", ops["in_conflict"], "bad" if ops["in_conflict"] else ""),
                ("conflict notices opened", conflicts["opened"], ""),
                ("resolved", conflicts["resolved"], "good" if conflicts["resolved"] else ""),
                ("resolved after a request", conflicts["by_request"], ""),
                ("still open at the end", conflicts["open_at_end"], "bad" if conflicts["open_at_end"] else ""),
            ]
        ),
        "<p class='note'>A conflict between two operations gives each owner a notice about its own operation; "
        "a notice superseded by a newer one for the same pair is not counted as resolved.</p>",
        "<h3>Per party</h3>",
        _table(
            ["party", "filed", "accepted", "in conflict", "notices opened"],
            [
                [p, row["filed"], row["accepted"], row["in_conflict"], conflicts["by_party"].get(p, 0)]
                for p, row in sorted(ops["by_party"].items())
            ],
            numeric=(1, 2, 3, 4),
        ),
        "<h3>How conflicts were resolved</h3>",
        _table(
            ["outcome", "notices", "after a deconfliction request"],
            [[name, row["resolved"], row["after_request"]] for name, row in conflicts["outcomes"].items()],
            numeric=(1, 2),
        ),
    ]
    outcomes = conflicts["outcomes"]
    alt = "Notices resolved per outcome: " + (
        "; ".join(f"{k} {v['resolved']} ({v['after_request']} after a request)" for k, v in outcomes.items()) or "none"
    )
    out.append(_figure(figures.resolutions(conflicts), alt, "Notices resolved in the period, by outcome."))
    out.append(
        f"<p>Median time from notice to resolution: {_e(_duration(conflicts['median_time_to_resolve_s']))}. "
        f"Notices by kind: {_e(_counts(conflicts['by_kind']))}. Superseded: {_e(conflicts['superseded'])}.</p>"
    )
    if "items" in ops:
        out.append("<h3>Your side's operations filed in the period</h3>")
        out.append(
            _table(
                ["operation", "party", "name", "filed", "accepted", "in conflict", "state now"],
                [
                    [
                        o["id"],
                        o["party"],
                        o["name"],
                        o["filed_at"],
                        _yes(o["accepted"]),
                        _yes(o["in_conflict"]),
                        o["state"],
                    ]
                    for o in ops["items"]
                ],
            )
        )
        out.append("<h3>Conflict notices of your side</h3>")
        out.append(
            _table(
                [
                    "notice",
                    "operation",
                    "kind",
                    "other party",
                    "reference",
                    "opened",
                    "resolved",
                    "resolution",
                    "request",
                ],
                [
                    [
                        n["id"],
                        n["operation"],
                        n["kind"],
                        n["other_party"] or ("hazard" if n["hazard"] else ""),
                        n["other_ref"],
                        n["opened_at"],
                        n["resolved_at"] or "open",
                        n["resolution"] or "",
                        _yes(n["after_request"]),
                    ]
                    for n in conflicts["items"]
                ],
            )
        )
    return "".join(out)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _hazards(data: dict[str, Any]) -> str:
    hz = data["hazards"]
    out = [
        _cards([("declared", hz["declared"], ""), ("changed", hz["changed"], ""), ("withdrawn", hz["withdrawn"], "")]),
        f"<p>Declared by kind: {_e(_counts(hz['by_kind']))}.</p>",
    ]
    if "items" in hz:
        out.append(
            _table(
                ["hazard", "kind", "name", "declared by", "declared", "withdrawn"],
                [
                    [h["id"], h["kind"], h["name"], h["declared_by"] or "admin", h["declared_at"], h["withdrawn_at"]]
                    for h in hz["items"]
                ],
            )
        )
    return "".join(out)


def _alerts(data: dict[str, Any]) -> str:
    al, period = data["alerts"], data["period"]
    party = data["viewer"]["role"] == "party"
    out = [
        _cards(
            [
                ("alerts raised", al["raised"], ""),
                ("losses of separation", al["loss_of_separation"], "bad" if al["loss_of_separation"] else "good"),
                ("nonconformance time", _duration(al["nonconformance_s"]), ""),
            ]
        ),
        f"<p>By kind: {_e(_counts(al['by_kind']))}. By worst level reached: {_e(_counts(al['by_level']))}.</p>",
    ]
    alt = (
        f"Alerts raised over time, one panel per kind, stacked by worst level: {_counts(al['by_kind'])}; "
        f"levels {_counts(al['by_level'])}."
    )
    out.append(
        _figure(figures.alerts_over_time(al, period["from_s"], period["to_s"]), alt, "Alerts raised in the period.")
    )
    out.append(
        "<h3>Closest approaches</h3><p class='note'>Separation alerts by the predicted distance at the closest "
        "point of approach (the last prediction while the alert was active).</p>"
    )
    if party:
        rows = [
            [
                c["raised_at"],
                c["cleared_at"],
                c["own_track"],
                f"{c['other_party']} {c['other_track']}",
                c["level"],
                c["d_cpa_m"],
                c["dz_cpa_m"],
            ]
            for c in al["closest"]
        ]
        out.append(
            _table(
                ["raised", "cleared", "your aircraft", "other aircraft", "worst level", "horizontal m", "vertical m"],
                rows,
                (5, 6),
            )
        )
    else:
        rows = [
            [c["raised_at"], c["cleared_at"], " – ".join(c["parties"]), c["level"], c["d_cpa_m"], c["dz_cpa_m"]]
            for c in al["closest"]
        ]
        out.append(_table(["raised", "cleared", "parties", "worst level", "horizontal m", "vertical m"], rows, (4, 5)))
    if "map" in data:
        where = data["map"]
        alt = (
            f"Map of {len(where['encounters'])} positions of your own aircraft at the closest point of approach "
            "of its alerts."
        )
        drawn = _figure(
            figures.encounter_map(where, al["levels"]),
            alt,
            "Where your aircraft were predicted at the closest approach of each alert, over your side's "
            "operations and the hazards.",
        )
        out.append(
            drawn
            or "<p class='note'>No positions are stored for these alerts (alerts raised before positions "
            "were kept have none).</p>"
        )
    out.append("<h3>Losses of separation</h3>")
    out.append(
        _table(
            ["raised", "cleared", "between" if not party else "other aircraft", "horizontal m", "vertical m"],
            [
                [
                    c["raised_at"],
                    c["cleared_at"],
                    " – ".join(c["parties"]) if not party else f"{c['other_party']} {c['other_track']}",
                    c["d_cpa_m"],
                    c["dz_cpa_m"],
                ]
                for c in al["losses"]
            ],
            (3, 4),
        )
    )
    out.append("<h3>Nonconformance time</h3>")
    out.append(
        _table(
            ["party", "time outside its active operations"],
            [[p, _duration(s)] for p, s in al["nonconformance_by_party"].items()],
        )
    )
    return "".join(out)


def _resolutions(r: dict[str, int] | None) -> list[str]:
    """Coordinated resolutions and their answers (absent from reviews made before they existed)."""
    if not r or not r["proposed"]:
        return []
    rows = [(k, r[k]) for k in ("proposed", "accepted", "rejected", "unanswered")]
    return ["<h3>Coordinated resolutions (one message per side)</h3>", _table(["answer", "messages"], rows, (1,))]


def _hotline(data: dict[str, Any]) -> str:
    hl = data["hotline"]
    out = [
        _cards(
            [
                ("messages", hl["messages"], ""),
                ("acknowledgements", hl["acknowledgements"], ""),
                ("late acknowledgements", hl["late_acknowledgements"], "bad" if hl["late_acknowledgements"] else ""),
                ("never acknowledged", hl["never_acknowledged"], "bad" if hl["never_acknowledged"] else ""),
                ("overdue", hl["overdue"], "bad" if hl["overdue"] else ""),
                ("escalations", hl["escalations"], "bad" if hl["escalations"] else ""),
            ]
        ),
        "<h3>Messages by kind</h3>",
        _table(["kind", "messages"], list(hl["by_kind"].items()), (1,)),
        *_resolutions(hl.get("resolutions")),
        "<h3>Messages by sender</h3>",
        _table(["sender", "messages"], list(hl["by_sender"].items()), (1,)),
    ]
    late = sum(1 for d in hl["delays"] if d["delay_s"] > d["deadline_s"])
    alt = (
        f"Acknowledgement delays as a share of each message's deadline: {len(hl['delays'])} acknowledgements, "
        f"{late} late."
    )
    out.append(
        _figure(
            figures.ack_delays(hl),
            alt,
            "Acknowledgement delay against each deadline (100 % = the deadline; red points were late).",
        )
    )
    out.append("<h3>Overdue messages and escalations</h3>")
    out.append(
        f"<p>Silent recipients of overdue messages: {_e(_counts(hl['overdue_silent']))}. "
        f"Escalations by contact: {_e(_counts(hl['escalations_by_contact']))}.</p>"
    )
    if "overdue_items" in hl:
        out.append(
            _table(
                ["overdue at", "message", "kind", "sender", "silent"],
                [[o["at"], o["message"], o["kind"], o["sender"], ", ".join(o["silent"])] for o in hl["overdue_items"]],
            )
        )
        out.append("<h3>Escalations sent to you</h3>")
        out.append(
            _table(
                ["at", "message", "silent party"],
                [[x["at"], x["message"], x["silent"]] for x in hl["escalation_items"]],
            )
        )
    out.append("<h3>Communications checks per party</h3>")
    out.append(
        _table(
            ["party", "checks", "answered", "in time", "missed", "median delay", "worst delay"],
            [
                [
                    h["party"],
                    h["checks"],
                    h["answered"],
                    h["in_time"],
                    h["missed"],
                    _duration(h["median_delay_s"]),
                    _duration(h["worst_delay_s"]),
                ]
                for h in hl["comm_checks"]
            ],
            (1, 2, 3, 4),
        )
    )
    return "".join(out)


def _agreement(data: dict[str, Any]) -> str:
    versions = data["agreements"]
    if not versions:
        return "<p class='note'>No agreement was in force in this period.</p>"
    out = []
    for v in versions:
        title = f"Version {v['version']}" + (f": {v['title']}" if v.get("title") else "")
        until = v["in_force_until"] or "still in force"
        out.append(
            f"<h3>{_e(title)}</h3><p>In force from {_e(v['in_force_from'])} until {_e(until)}; "
            f"proposed {_e(v['proposed_at'])}.</p>"
        )
        if "rules" in v:
            r = v["rules"]
            out.append(
                f"<p class='note'>Strategic minima {_e(_num(r['h_strategic_m']))} m, {_e(_num(r['v_m']))} m, "
                f"{_e(_num(r['time_buffer_s']))} s; tactical {_e(_num(r['tactical_h_m']))} m, "
                f"{_e(_num(r['tactical_v_m']))} m, "
                f"look-ahead {_e(_num(r['lookahead_s']))} s.</p>"
            )
        out.append(_table(["signed by", "at"], [[s["party"], s["signed_at"]] for s in v["signatures"]]))
    return "".join(out)


def _record(data: dict[str, Any]) -> str:
    rec = data["record"]
    cards = [
        ("checkpoints published", rec["checkpoints"], ""),
        ("entries appended", rec["entries_in_period"], ""),
        ("record size at the end", rec["size_at_end"], ""),
    ]
    if "entries_readable" in rec:
        cards.append(("entries you may read", rec["entries_readable"], ""))
    out = [_cards(cards), "<h3>Consistency across the period</h3>"]
    check = rec["consistency"]
    if not check["checked"]:
        out.append(f"<p class='note'>{_e(check['detail'])}.</p>")
        return "".join(out)
    verdict = (
        '<span class="ok">CONSISTENT</span>' if check["consistent"] else '<span class="fail">NOT CONSISTENT</span>'
    )
    out.append(
        f"<p>{verdict}: {_e(check['detail'])}. The first checkpoint at or after the start and the last at or before "
        "the end were checked against the service's key, and an RFC 9162 consistency proof between their tree sizes "
        "was verified against both signed roots.</p>"
    )
    out.append(
        _table(
            ["checkpoint", "tree size", "published", "root (SHA-256)"],
            [
                [name, c["size"], c["published_at"], c["root"]]
                for name, c in (("first", check["first"]), ("last", check["last"]))
            ],
            (1,),
        )
    )
    return "".join(out)
