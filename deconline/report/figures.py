"""The review's figures: review data in, PNG bytes out (matplotlib's Agg, no pyplot, no files).

matplotlib is imported inside the functions, so commands that never draw start fast. Every
figure is drawn under one fixed style and saved without a "Software" or date stamp, so the same
data gives the same bytes. Text that a party chose never reaches matplotlib unescaped (a ``$``
would start mathtext).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
STYLE: Any = {  # rcParams for every figure (typed loosely: matplotlib types the keys as literals)
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "timezone": "UTC",
    "path.simplify": False,
    "svg.hashsalt": "deconline",
}
LEVEL_COLOURS = {
    "advisory": "#e0a526",
    "warning": "#d9480f",
    "loss_of_separation": "#8b0000",
    "inside_hazard": "#6f42c1",
    "nonconformance": "#4a6fa5",
}
SPARE_COLOURS = ("#2b8a3e", "#0b7285", "#862e9c", "#5c940d", "#a61e4d", "#495057")
KIND_ORDER = ("separation", "hazard", "nonconformance")
MARKERS = {"loss_of_separation": "s", "warning": "^", "advisory": "o", "inside_hazard": "D", "nonconformance": "x"}


def plain(text: str) -> str:
    """Text as matplotlib should print it, never as mathtext."""
    return text.replace("$", r"\$")


def colour(level: str, levels: list[str]) -> str:
    return LEVEL_COLOURS.get(level) or SPARE_COLOURS[levels.index(level) % len(SPARE_COLOURS)]


@contextmanager
def _figure(width: float, height: float, rows: int = 1) -> Iterator[tuple[Figure, list[Axes]]]:
    import matplotlib
    from matplotlib.figure import Figure  # drawn with Agg by savefig; pyplot's global state is never used

    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        axes = [figure.add_subplot(rows, 1, k + 1) for k in range(rows)]
        yield figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


BIN_WIDTHS = ((600.0, "10 min"), (3600.0, "hour"), (6 * 3600.0, "6 h"), (86_400.0, "day"), (7 * 86_400.0, "week"))


def _bins(start: float, end: float) -> tuple[float, str]:
    """The narrowest bin that keeps the bars countable (at most 48 across the period)."""
    for width, unit in BIN_WIDTHS:
        if (end - start) / width <= 48:
            return width, unit
    return BIN_WIDTHS[-1]


def _days(epoch_s: float) -> float:
    """matplotlib's date number: days since its default epoch, 1970-01-01 UTC."""
    return epoch_s / 86_400.0


def alerts_over_time(alerts: dict[str, Any], start: float, end: float) -> bytes | None:
    """Alerts raised per hour (day, week), one panel per kind, stacked by the worst level reached."""
    series: list[dict[str, Any]] = alerts["series"]
    if not series:
        return None
    from matplotlib import dates
    from matplotlib.ticker import MaxNLocator

    width, unit = _bins(start, end)
    first = math.floor(start / width) * width  # bins on whole hours (days, ...), not on the period's start
    count = max(1, math.ceil((end - first) / width))
    edges = [first + k * width for k in range(count + 1)]
    kinds = [k for k in KIND_ORDER if any(s["kind"] == k for s in series)]
    kinds += sorted({s["kind"] for s in series} - set(kinds))
    levels: list[str] = alerts["levels"]
    with _figure(8.0, 1.2 + 1.6 * len(kinds), len(kinds)) as (figure, axes):
        for ax, kind in zip(axes, kinds, strict=True):
            bottom = [0] * count
            for level in levels:
                heights = [0] * count
                for s in series:
                    if s["kind"] == kind and s["level"] == level:
                        heights[min(int((s["t"] - first) // width), count - 1)] += 1
                if not any(heights):
                    continue
                lefts = [_days(e) for e in edges[:-1]]
                ax.bar(
                    lefts,
                    heights,
                    width=width / 86_400.0,
                    bottom=bottom,
                    align="edge",
                    color=colour(level, levels),
                    label=plain(level.replace("_", " ")),
                    edgecolor="white",
                    linewidth=0.4,
                )
                bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
            ax.set_title(plain(kind), loc="left", fontsize=9, fontweight="bold")
            ax.set_ylabel(f"alerts / {unit}")
            ax.set_xlim(_days(start), _days(end))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            locator = dates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]
            ax.legend(loc="upper right", fontsize=8, frameon=False)
        axes[-1].set_xlabel("time (UTC)")
        return _png(figure)


def ack_delays(hotline: dict[str, Any]) -> bytes | None:
    """Each acknowledgement's delay as a share of its message's deadline, one row per kind and
    deadline: left of the red line is in time."""
    delays: list[dict[str, Any]] = hotline["delays"]
    if not delays:
        return None
    groups: dict[tuple[str, float], list[float]] = {}
    for d in delays:
        share = 100.0 * d["delay_s"] / d["deadline_s"] if d["deadline_s"] > 0 else 0.0
        groups.setdefault((d["kind"], d["deadline_s"]), []).append(share)
    keys = sorted(groups)
    with _figure(8.0, 1.0 + 0.45 * len(keys)) as (figure, (ax,)):
        for row, key in enumerate(keys):
            values = sorted(groups[key])
            if len(values) >= 5:
                ax.boxplot(values, positions=[row], orientation="horizontal", widths=0.5, showfliers=False)
            spread = min(len(values), 5)
            offsets = [((k % 5) - (spread - 1) / 2) * 0.07 for k in range(len(values))]  # no randomness
            colours = ["#d9480f" if v > 100 else "#1c7ed6" for v in values]
            ax.scatter(values, [row + o for o in offsets], s=18, c=colours, zorder=3, linewidths=0)
        ax.axvline(100, color="#c92a2a", linewidth=1.2)
        ax.text(100, 0.99, " deadline", color="#c92a2a", fontsize=8, va="top", transform=ax.get_xaxis_transform())
        ax.set_yticks(range(len(keys)), [plain(f"{kind} ({deadline:g} s)") for kind, deadline in keys])
        ax.set_ylim(-0.6, len(keys) - 0.2)
        ax.set_xlim(left=0, right=max(120.0, max(max(v) for v in groups.values()) * 1.08))
        ax.set_xlabel("acknowledgement delay, % of the deadline")
        ax.invert_yaxis()
        return _png(figure)


def resolutions(conflicts: dict[str, Any]) -> bytes | None:
    """How the conflicts of the period were resolved; the darker part came after a request."""
    outcomes: dict[str, dict[str, int]] = conflicts["outcomes"]
    if not outcomes:
        return None
    from matplotlib.ticker import MaxNLocator

    names = sorted(outcomes)
    with _figure(8.0, 1.1 + 0.4 * len(names)) as (figure, (ax,)):
        asked = [outcomes[n]["after_request"] for n in names]
        rest = [outcomes[n]["resolved"] - outcomes[n]["after_request"] for n in names]
        ax.barh(names, asked, height=0.6, color="#1864ab", label="after a deconfliction request")
        ax.barh(names, rest, height=0.6, left=asked, color="#a5d8ff", label="without a request")
        ax.set_xlabel("notices resolved")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.invert_yaxis()
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, fontsize=8, frameon=False)
        return _png(figure)


def _ring(footprint: dict[str, Any], radius_m: float) -> list[tuple[float, float]]:
    """A footprint's outline in lon/lat: a polygon's ring, or a circle's 72-gon on a flat earth."""
    if footprint.get("type") == "Polygon":
        return [(float(x), float(y)) for x, y, *_ in footprint["coordinates"][0]]
    lon, lat = (float(v) for v in footprint["coordinates"][:2])
    dlat = math.degrees(radius_m / 6_371_000.0)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return [(lon + dlon * math.cos(a), lat + dlat * math.sin(a)) for a in (2 * math.pi * k / 72 for k in range(73))]


def encounter_map(where: dict[str, Any], levels: list[str]) -> bytes | None:
    """The party's own aircraft at its encounters, over its own side's operations and the hazards."""
    points: list[dict[str, Any]] = where["encounters"]
    if not points:
        return None
    with _figure(7.0, 6.0) as (figure, (ax,)):
        for shape, edge, label in (
            ("operations", "#1c7ed6", "your side's operations"),
            ("hazards", "#7048e8", "hazards"),
        ):
            for k, item in enumerate(where[shape]):
                xs, ys = zip(*_ring(item["footprint"], item["radius_m"]), strict=True)
                ax.fill(xs, ys, facecolor=edge + "26", edgecolor=edge, linewidth=1.2, label=label if k == 0 else None)
        for level in [lvl for lvl in levels if any(p["level"] == lvl for p in points)]:
            chosen = [p for p in points if p["level"] == level]
            ax.scatter(
                [p["lon"] for p in chosen],
                [p["lat"] for p in chosen],
                s=46,
                marker=MARKERS.get(level, "o"),
                color=colour(level, levels),
                label=plain(level.replace("_", " ")),
                zorder=3,
            )
        lats = [p["lat"] for p in points]
        ax.set_aspect(1.0 / max(math.cos(math.radians(sum(lats) / len(lats))), 0.05))
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
        ax.legend(loc="best", fontsize=8)
        return _png(figure)
