"""Writing the report as a static site: pages from Jinja2 templates (autoescaped: names,
hypotheses and log problems are the user's text, shown as text), charts from ``charts``, a
stylesheet, nothing fetched from elsewhere. The site is built in a temporary folder beside the
target and moved into place whole, so a failed build leaves the previous report as it was.

Every number in a table carries its exact value in ``data-value`` and where it comes from in
``data-key`` (a path into ``maia exp analyze --json``), so that it can be checked, and copied.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from maia_git.errors import UsageError
from maia_git.report import charts
from maia_git.usecases.report import ExperimentReport, Report, status_order
from maia_git.usecases.trend import WINDOWS, Trend

try:
    import jinja2
except ImportError:  # pragma: no cover - the message is tested through the CLI
    raise UsageError(
        "maia report needs its optional extra: pip install 'maia-git[report]'"
    ) from None

MARKER = ".maia-report"  # a folder holding it is a report maia may replace
_HERE = Path(__file__).parent


def write_site(report: Report, out: Path, title: str) -> list[str]:
    """Write the report to ``out`` (replacing an earlier report there); return its pages."""
    target = _check_target(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    mask = os.umask(0)
    os.umask(mask)
    build.chmod(0o777 & ~mask)  # mkdtemp's folder is private; a report is for reading
    try:
        pages = _build(report, build, title)
        _swap(build, target)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return pages


def _check_target(out: Path) -> Path:
    target = out.absolute()
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise UsageError(f"--out {out}: the folder is not empty and holds no maia report")
    return target


def _swap(build: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(build, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ---- the pages ----


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=_pct, num=_num, pval=_pval, raw=_raw)
    return env


def _build(report: Report, folder: Path, title: str) -> list[str]:
    env = _environment()
    (folder / "charts").mkdir()
    shutil.copyfile(_HERE / "templates" / "style.css", folder / "style.css")
    (folder / MARKER).write_text("written by maia report; replaced by the next one\n")
    level = f"{1 - report.settings['alpha']:.0%}"
    common = {"title": title, "generated": report.generated, "settings": report.settings,
              "level": level}  # fmt: skip
    pages: list[str] = []

    def page(name: str, template: str, **context: Any) -> None:
        html = env.get_template(template).render(**common, **context)
        (folder / name).write_text(html, encoding="utf-8")
        pages.append(name)

    def chart(name: str, drawn: charts.Chart) -> dict[str, Any]:
        (folder / "charts" / f"{name}.svg").write_bytes(drawn.svg)
        return {"src": f"charts/{name}.svg", "width": drawn.width, "height": drawn.height}

    experiments = sorted(report.experiments, key=lambda e: (status_order(e.view["status"]), e.id))
    has_users = any(
        "users" in (e.analysis.get("control") or {}) or "arms" in e.analysis for e in experiments
    )
    page("index.html", "overview.html.j2", experiments=experiments, queue=report.queue,
         has_users=has_users,
         agents=[_agent_summary(t) for t in report.agents],
         forest=_forest(experiments, report.settings, chart))  # fmt: skip
    for e in experiments:
        page(f"experiment-{e.id}.html", "experiment.html.j2", e=e, a=e.analysis,
             timeline=_timeline(e, report.settings, level, chart))  # fmt: skip
    for t in report.agents:
        mine = [e for e in experiments if e.view["agent"] == t.agent]
        page(f"agent-{t.agent}.html", "agent.html.j2", t=t, experiments=mine,
             windows=WINDOWS, trend=_trend(t, chart), bands=_bands(t, chart))  # fmt: skip
    return pages


ChartWriter = Callable[[str, charts.Chart], dict[str, Any]]


def _forest(
    experiments: list[ExperimentReport], settings: dict[str, Any], chart: ChartWriter
) -> dict[str, Any] | None:
    rows = [row for e in experiments for row in _lifts(e)]
    if not rows:
        return None
    ci = [r["lift_ci"] or [None, None] for r in rows]
    drawn = charts.lifts_by_experiment(
        [r["label"] for r in rows], [r["lift"] for r in rows], [c[0] for c in ci],
        [c[1] for c in ci], settings["min_lift"],
    )  # fmt: skip
    return chart("overview-lifts", drawn) | {"rows": rows}


def _lifts(e: ExperimentReport) -> list[dict[str, Any]]:
    """The experiment's lifts for the forest plot: treatment's, or each treatment's of several
    (labelled with the arm); ``key`` is where each comes from in the analysis."""
    a = e.analysis
    if "comparisons" not in a:
        found = [(e.id, a, f"{e.id}:")]
    else:
        found = [(f"{e.id} {c['arm']}", c, f"{e.id}:comparisons.{i}.")
                 for i, c in enumerate(a["comparisons"])]  # fmt: skip
    return [
        {"label": label, "lift": d["lift"], "lift_ci": d.get("lift_ci"), "key": key}
        for label, d, key in found
        if d.get("lift") is not None
    ]


def _timeline(
    e: ExperimentReport, settings: dict[str, Any], level: str, chart: ChartWriter
) -> dict[str, Any] | None:
    points = [p.to_dict() for p in e.timeline.points]
    if not points:
        return None
    if "comparisons" in points[-1]:
        return _timeline_arms(e, points, settings, chart)
    ci = [p["lift_ci"] or [None, None] for p in points]
    since = _significant_since(points)
    drawn = charts.lift_over_time(
        [_time(p["until"]) for p in points], [p["lift"] for p in points], [c[0] for c in ci],
        [c[1] for c in ci], settings["min_lift"], level, _time(since) if since else None,
    )  # fmt: skip
    return chart(f"experiment-{e.id}-lift", drawn) | {"points": points, "since": since}


def _timeline_arms(
    e: ExperimentReport, points: list[dict[str, Any]], settings: dict[str, Any],
    chart: ChartWriter,
) -> dict[str, Any]:  # fmt: skip
    """Several treatments: one lift line per treatment (the arms are those of the last point)."""
    names = [c["arm"] for c in points[-1]["comparisons"]]
    lifts = [(name, [_lift_of(p, name) for p in points]) for name in names]
    drawn = charts.lifts_over_time([_time(p["until"]) for p in points], lifts, settings["min_lift"])
    return chart(f"experiment-{e.id}-lift", drawn) | {"points": points, "since": None}


def _lift_of(point: dict[str, Any], arm: str) -> float | None:
    return next((c["lift"] for c in point["comparisons"] if c["arm"] == arm), None)


def _significant_since(points: list[dict[str, Any]]) -> str | None:
    """The cut-off from which on every point's interval excludes zero (None: the last one does
    not), so a reader sees whether the result has held or only just arrived."""
    since = None
    for p in points:
        low, high = p["lift_ci"] or (None, None)
        excludes = low is not None and high is not None and (low > 0 or high < 0)
        since = (since or p["until"]) if excludes else None
    return since


def _trend(t: Trend, chart: ChartWriter) -> dict[str, Any] | None:
    if not t.days:
        return None
    days = [d.to_dict() for d in t.days]
    windows = [(f"{w}-day average", [d[f"average_{w}d"] for d in days]) for w in WINDOWS]
    drawn = charts.quality_trend(
        [_time(d["day"] + "T12:00:00Z") for d in days], [d["mean"] for d in days], windows
    )
    return chart(f"agent-{t.agent}-trend", drawn) | {"days": days}


def _bands(t: Trend, chart: ChartWriter) -> dict[str, Any] | None:
    if not t.count:
        return None
    return chart(f"agent-{t.agent}-bands", charts.band_counts(t.bands)) | {"rows": t.bands}


def _agent_summary(t: Trend) -> dict[str, Any]:
    last = t.days[-1].to_dict() if t.days else {}
    return {"agent": t.agent, "count": t.count, "last_day": last.get("day"),
            "average": last.get(f"average_{WINDOWS[0]}d")}  # fmt: skip


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ---- filters ----


def _pct(value: Any, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _num(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _pval(value: Any) -> str:
    if value is None:
        return "–"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def _raw(value: Any) -> str:
    """The exact value, as JSON (what ``maia exp analyze --json`` prints for it)."""
    return json.dumps(value)
