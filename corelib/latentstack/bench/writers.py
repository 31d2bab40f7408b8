"""Write a BenchReport as NAME.json, NAME.md (a table) and NAME.png (a chart), atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latentstack.atomic import atomic_file, write_json
from latentstack.bench.report import BenchReport


def _fmt(value: object, digits: str = ".4f") -> str:
    """Scores to 4 decimals; timings to 3 significant digits below 10 (2.56 s, not 2.5600); larger to one decimal.

    Counts get thousands separators (4,884,480 parameters).
    """
    if isinstance(value, float):
        return f"{value:{digits}}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def markdown(report: BenchReport) -> str:
    """A Markdown table, one row per method: its params (when rows have them), metric then timing columns."""
    param_keys = list(dict.fromkeys(k for r in report.results for k in r.params))
    metric_keys = list(dict.fromkeys(k for r in report.results for k in r.metrics))
    timing_keys = list(dict.fromkeys(k for r in report.results for k in r.timing))
    head = ["method", *param_keys, *metric_keys, *timing_keys]
    lines = [
        f"# {report.suite}: {report.data} (n={report.n})",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in report.results:
        cells = [r.method] + [str(r.params.get(k, "")) for k in param_keys]
        cells += [_fmt(r.metrics.get(k, "")) for k in metric_keys]
        cells += [_fmt(r.timing.get(k, ""), ".3g") for k in timing_keys]
        lines.append("| " + " | ".join(cells) + " |")
    env = report.env
    features = env.get("cpu_features")  # absent from reports written before it was recorded
    cpu = f"{env.get('cpu')}" + ("" if features is None else f" ({' '.join(features) or 'no AVX2, AVX-512 or AMX'})")
    lines += ["", f"Environment: Python {env.get('python')}, torch {env.get('torch', '-')}, "
              f"CPU {cpu}, {env.get('threads')} threads.", ""]
    if report.params:
        lines.append("Parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(report.params.items())))
    return "\n".join(lines) + "\n"


def bar_chart(report: BenchReport, path: Path, metrics: list[str] | None = None) -> None:
    """Grouped bars: one group per metric, one bar per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    keys = metrics or list(dict.fromkeys(k for r in report.results for k in r.metrics))
    fig, ax = plt.subplots(figsize=(min(14, max(6, 0.35 * len(keys) * max(1, len(report.results)))), 4.5))
    width = 0.8 / max(1, len(report.results))
    x = np.arange(len(keys))
    for i, r in enumerate(report.results):
        ax.bar(x + i * width, [r.metrics.get(k, 0.0) for k in keys], width, label=r.method)
    ax.set_xticks(x + width * (len(report.results) - 1) / 2, keys)
    ax.set_title(f"{report.suite}: {report.data} (n={report.n})")
    ax.set_ylim(0, 1.05 if all(0 <= r.metrics.get(k, 0) <= 1 for r in report.results for k in keys) else None)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def timing_chart(key: str, label: str) -> Any:
    """A chart function drawing one horizontal bar per method for the timing figure ``key``."""

    def draw(report: BenchReport, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = [r for r in report.results if key in r.timing]
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(rows) + 1.5))
        ax.barh([r.method for r in rows], [r.timing[key] for r in rows])
        ax.invert_yaxis()
        ax.set_xlabel(label)
        ax.set_title(f"{report.suite}: {report.data}")
        fig.tight_layout()
        with atomic_file(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)

    return draw


#: The files a run writes per suite: NAME.json, NAME.md and NAME.png.
REPORT_EXTENSIONS = (".json", ".md", ".png")


def keep_previous(out: Path, suite: str, new: dict[str, Any]) -> str | None:
    """Rename an earlier run's NAME.json, .md and .png in ``out`` to NAME.<its time>.* (the time the first of them
    was written), so that a new run never overwrites one, nor a file of the user's that has one of these names;
    the suffix used, or None when there was nothing to keep (no such file, or a JSON holding exactly this
    report)."""
    import json
    import os
    import time

    present = [out / f"{suite}{ext}" for ext in REPORT_EXTENSIONS if (out / f"{suite}{ext}").exists()]
    if not present:
        return None
    old = out / f"{suite}.json"
    try:
        if old.exists() and json.loads(old.read_text(encoding="utf-8")) == json.loads(json.dumps(new)):
            return None
    except (OSError, ValueError):
        pass  # unreadable or not JSON: kept like any other earlier file
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(present[0].stat().st_mtime))
    suffix, n = stamp, 1
    while any((out / f"{suite}.{suffix}{ext}").exists() for ext in REPORT_EXTENSIONS):
        n += 1
        suffix = f"{stamp}-{n}"
    for ext in REPORT_EXTENSIONS:
        if (out / f"{suite}{ext}").exists():
            os.replace(out / f"{suite}{ext}", out / f"{suite}.{suffix}{ext}")
    return suffix


def write_all(report: BenchReport, out: Path, chart: bool = True) -> list[Path]:
    """Write NAME.json, NAME.md and NAME.png under ``out``, an earlier run's files there kept under another name
    (``keep_previous``, which logs it); returns the paths."""
    from latentstack.progress import log

    out.mkdir(parents=True, exist_ok=True)
    body = report.to_dict()
    kept = keep_previous(out, report.suite, body)
    if kept is not None:
        log(f"kept the earlier {report.suite} report in {out} as {report.suite}.{kept}.*")
    paths = [out / f"{report.suite}.json", out / f"{report.suite}.md"]
    write_json(paths[0], body)
    with atomic_file(paths[1]) as tmp:
        tmp.write_text(markdown(report), encoding="utf-8")
    if chart and report.results:
        paths.append(out / f"{report.suite}.png")
        (report.chart or bar_chart)(report, paths[-1])
    return paths
