"""The report's charts, drawn by matplotlib as SVG: deterministic (fixed ids, no date in the
file), text kept as text, nothing loaded from elsewhere. Each function takes the numbers its
page also shows as a table and returns a ``Chart``.

matplotlib is used through ``Figure`` alone (no pyplot): no global figure state, no GUI backend.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maia_git.errors import UsageError

try:
    import matplotlib
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter
except ImportError:  # pragma: no cover - the message is tested through the CLI
    raise UsageError(
        "maia report needs its optional extra: pip install 'maia-git[report]'"
    ) from None

CONTROL, TREATMENT, BAND, ACCENT = "#4c72b0", "#dd8452", "#dd845233", "#55a868"
BAND_COLOURS = {"exceptional": "#2e7d32", "good": "#81c784", "acceptable": "#ffb74d",
                "poor": "#e57373"}  # fmt: skip
_STYLE = {
    "svg.hashsalt": "maia-report",  # the same ids on every run
    "svg.fonttype": "none",  # text stays text: smaller, and searchable in the page
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
PX_PER_INCH = 96  # how a browser sizes the SVG's points (72 per inch) in CSS pixels


def _styled() -> Any:
    return matplotlib.rc_context(_STYLE)  # type: ignore[arg-type]


def _x(times: Sequence[datetime]) -> list[float]:
    """Times as matplotlib's date numbers (days), which its date axis formats."""
    return [float(mdates.date2num(t)) for t in times]


@dataclass(frozen=True)
class Chart:
    svg: bytes
    width: int  # CSS pixels
    height: int


def _render(fig: Figure) -> Chart:
    out = io.BytesIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    width, height = fig.get_size_inches()
    return Chart(out.getvalue(), round(width * PX_PER_INCH), round(height * PX_PER_INCH))


def _figure(width: float = 8.0, height: float = 3.4, legend: bool = False) -> Figure:
    """A figure with fixed margins in inches, room for a legend row below when asked: its tick
    labels have a known width. (Constrained layout would find the margins itself, at twice the
    cost of the whole chart: it draws everything once more.)"""
    fig = Figure(figsize=(width, height))
    bottom = 0.85 if legend else 0.55
    fig.subplots_adjust(left=0.85 / width, right=1 - 0.2 / width, top=1 - 0.15 / height,
                        bottom=bottom / height)  # fmt: skip
    return fig


def _legend_below(fig: Figure) -> None:
    fig.legend(loc="lower center", ncols=4, fontsize=8, frameon=False)


def lift_over_time(
    times: Sequence[datetime],
    lifts: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    min_lift: float,
    level: str,
    since: datetime | None = None,
) -> Chart:
    """The cumulative lift with its interval band, zero, the lift a promotion needs, and a
    vertical line at ``since``, from when on the interval has excluded zero."""
    with _styled():
        fig = _figure(legend=True)
        ax = fig.subplots()
        xs = _x(times)
        band = [(x, lo, hi) for x, lo, hi in zip(xs, lows, highs, strict=True)
                if lo is not None and hi is not None]  # fmt: skip
        if band:
            ax.fill_between([b[0] for b in band], [b[1] for b in band], [b[2] for b in band],
                            color=BAND, linewidth=0, label=f"{level} interval")  # fmt: skip
        points = [(x, y) for x, y in zip(xs, lifts, strict=True) if y is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], color=TREATMENT, marker="o",
                    markersize=3, linewidth=1.8, label="lift (treatment vs control)")  # fmt: skip
        ax.axhline(0, color="#555555", linewidth=1)
        ax.axhline(min_lift, color=ACCENT, linewidth=1, linestyle="--",
                   label=f"lift needed ({min_lift:+.0%})")  # fmt: skip
        if since is not None:
            ax.axvline(_x([since])[0], color="#555555", linewidth=1, linestyle=":",
                       label="significant from here on")  # fmt: skip
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        _time_axis(ax, xs)
        ax.set_ylabel("relative lift in completion rate")
        _legend_below(fig)
        return _render(fig)


# One colour per treatment of an experiment with several (from the seaborn palette, without
# the blue of control and the green of the lift needed); more treatments reuse them, dashed.
ARM_COLOURS = ("#dd8452", "#8172b3", "#c44e52", "#937860", "#da8bc3", "#8c8c8c", "#ccb974")


def lifts_over_time(
    times: Sequence[datetime],
    lifts: Sequence[tuple[str, Sequence[float | None]]],
    min_lift: float,
) -> Chart:
    """Each treatment's cumulative lift over control, one line per treatment (named in the
    legend), zero and the lift a promotion needs. Intervals are in the table beside it: k
    overlapping bands would hide one another."""
    with _styled():
        fig = _figure(legend=True)
        ax = fig.subplots()
        xs = _x(times)
        for i, (name, values) in enumerate(lifts):
            points = [(x, y) for x, y in zip(xs, values, strict=True) if y is not None]
            style = "-" if i < len(ARM_COLOURS) else "--"
            ax.plot([p[0] for p in points], [p[1] for p in points], style, marker="o",
                    color=ARM_COLOURS[i % len(ARM_COLOURS)], markersize=3, linewidth=1.8,
                    label=name)  # fmt: skip
        ax.axhline(0, color="#555555", linewidth=1)
        ax.axhline(min_lift, color=ACCENT, linewidth=1, linestyle="--",
                   label=f"lift needed ({min_lift:+.0%})")  # fmt: skip
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        _time_axis(ax, xs)
        ax.set_ylabel("relative lift in completion rate")
        _legend_below(fig)
        return _render(fig)


def _time_axis(ax: Any, xs: Sequence[float]) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if len(xs) == 1:  # one point: give the axis some width around it
        ax.set_xlim(xs[0] - 0.5, xs[0] + 0.5)


def lifts_by_experiment(
    labels: Sequence[str],
    lifts: Sequence[float],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    min_lift: float,
) -> Chart:
    """Every experiment's lift with its interval, one row each (a forest plot)."""
    with _styled():
        # Experiment ids label the rows: their width varies, so this one lays itself out.
        fig = Figure(figsize=(8.0, max(1.6, 0.9 + 0.42 * len(labels))), layout="constrained")
        ax = fig.subplots()
        rows = list(range(len(labels)))[::-1]
        for y, lift, lo, hi in zip(rows, lifts, lows, highs, strict=True):
            if lo is not None and hi is not None:
                ax.plot([lo, hi], [y, y], color=TREATMENT, linewidth=2.5, alpha=0.5)
            ax.plot([lift], [y], "o", color=TREATMENT)
        ax.axvline(0, color="#555555", linewidth=1)
        ax.axvline(min_lift, color=ACCENT, linewidth=1, linestyle="--")
        ax.set_yticks(rows, list(labels))
        ax.set_ylim(-0.7, len(labels) - 0.3)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("relative lift in completion rate, with its interval")
        return _render(fig)


def quality_trend(
    days: Sequence[datetime],
    means: Sequence[float | None],
    windows: Sequence[tuple[str, Sequence[float | None]]],
) -> Chart:
    """Daily mean quality score (dots) and the windowed averages (lines), 0-100."""
    with _styled():
        fig = _figure(legend=True)
        ax = fig.subplots()
        xs = _x(days)
        shown = [(d, m) for d, m in zip(xs, means, strict=True) if m is not None]
        ax.plot([d for d, _ in shown], [m for _, m in shown], "o", color=CONTROL, markersize=4,
                label="daily mean")  # fmt: skip
        for (label, values), colour in zip(windows, (TREATMENT, ACCENT), strict=False):
            line = [(d, v) for d, v in zip(xs, values, strict=True) if v is not None]
            ax.plot([d for d, _ in line], [v for _, v in line], color=colour, linewidth=1.8,
                    marker=".", label=label)  # fmt: skip
        for name, floor in (("good", 75), ("acceptable", 60)):
            ax.axhline(floor, color=BAND_COLOURS[name], linewidth=0.8, linestyle=":")
        ax.set_ylim(0, 100)
        ax.set_ylabel("quality score")
        _time_axis(ax, xs)
        _legend_below(fig)
        return _render(fig)


def band_counts(bands: Sequence[tuple[str, int]]) -> Chart:
    """How many scores fell in each band, best first."""
    with _styled():
        fig = _figure(8.0, 2.4)
        fig.subplots_adjust(left=1.1 / 8.0)  # room for "exceptional"
        ax = fig.subplots()
        names = [name for name, _ in bands][::-1]
        counts = [n for _, n in bands][::-1]
        ax.barh(names, counts, color=[BAND_COLOURS.get(n, CONTROL) for n in names])
        ax.set_xlabel("scores")
        ax.grid(axis="y", visible=False)
        return _render(fig)
