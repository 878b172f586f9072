"""The plots (matplotlib; PNG and SVG): a bar chart per placement, the scaling
curves, RSS against guest processes. Returns what it wrote, or why not."""

from __future__ import annotations

from pathlib import Path

from . import common
from .micro import BENCHES

COLORS = {"native": "#7f7f7f", "uml": "#d62728", "proot": "#9467bd"}
GK_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#17becf", "#bcbd22", "#8c564b")
SERIES_STYLE = {"seq": "-", "scatter": "--", "scatter1": ":"}


def _color(system: str, gk: list[str]) -> str:
    return COLORS.get(system) or GK_COLORS[gk.index(system) % len(GK_COLORS)]


def _title(res: dict, what: str) -> str:
    return f"{what}\n{common.machine_line(res['machine'])}, {res['date']}"


def _save(fig, out: Path, name: str, written: list[str]) -> None:
    fig.tight_layout()
    for ext, kw in (("png", {"dpi": 80}), ("svg", {})):
        fig.savefig(out / f"{name}.{ext}", **kw)
        written.append(f"{name}.{ext}")


def bars(plt, res: dict, placement: str, out: Path, written: list[str]) -> None:
    agg, gk = res["summary"], res["gk_systems"]
    systems = [s for s in res["systems"] if s != "ptrace"]
    benches = [b for b in BENCHES if any(f"{s}/{placement}" in agg and b.name in agg[f"{s}/{placement}"]
                                         for s in systems)]
    if not benches:
        return
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(benches) * max(1, len(systems) / 4) + 1.5))
    h = 0.8 / len(systems)
    for i, s in enumerate(systems):
        ys, xs, lo, hi = [], [], [], []
        for j, b in enumerate(benches):
            e = agg.get(f"{s}/{placement}", {}).get(b.name)
            if not e or not e["ok"]:
                continue
            med = e["median_ns"] / 1000
            ys.append(j - 0.4 + h * (i + 0.5))
            xs.append(med)
            lo.append(med - e["min_ns"] / 1000)
            hi.append(e["max_ns"] / 1000 - med)
        if xs:
            ax.barh(ys, xs, h, xerr=[lo, hi], capsize=1.5, label=s, color=_color(s, gk),
                    error_kw={"linewidth": 0.6})
    rtt = agg.get(f"ptrace/{placement}", {}).get("ptrace_rtt")
    if rtt and rtt["ok"]:
        ax.axvline(rtt["median_ns"] / 1000, color="black", linestyle=":", linewidth=1,
                   label="raw ptrace round trip")
    ax.set_xscale("log")
    ax.set_yticks(range(len(benches)))
    ax.set_yticklabels([b.label for b in benches], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("µs per operation (median; whiskers: min–max over reps)")
    ax.set_title(_title(res, f"Micro-benchmarks, {placement}"), fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    _save(fig, out, f"bench-{placement}", written)
    plt.close(fig)


def scaling(plt, res: dict, out: Path, written: list[str]) -> None:
    sc = res.get("scaling")
    if not sc or len(sc["pages"]) < 2:
        return
    gk, summ, pages = res["gk_systems"], sc["summary"], sc["pages"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 5))
    for s in ["native"] + gk:
        for series, label in sc["series"].items():
            pts = [(n, summ[k]) for n in pages for k in [f"{s}/{series}/{n}"]
                   if k in summ and summ[k]["ok"]]
            if not pts:
                continue
            kw = {"color": _color(s, gk), "linestyle": SERIES_STYLE.get(series, "-"), "marker": "o",
                  "markersize": 3, "label": f"{s}, {label}"}
            a1.plot([n for n, _ in pts], [e["median_ns"] / 1000 for _, e in pts], **kw)
            vm = [(n, e["peak_host_vmas"]) for n, e in pts if "peak_host_vmas" in e]
            if vm:
                a2.plot([n for n, _ in vm], [max(v, 1) for _, v in vm], **kw)
    limit = res["machine"].get("max_map_count")
    if limit:
        a2.axhline(limit, color="black", linestyle=":", linewidth=1,
                   label=f"vm.max_map_count = {limit}")
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("pages touched (4 KiB each)")
        ax.grid(which="both", alpha=0.3)
    a1.set_ylabel("µs per page (median)")
    a1.set_title("first-touch fault cost", fontsize=9)
    a2.set_ylabel("peak host VMAs of the child (sampled)")
    a2.set_title("host VMAs", fontsize=9)
    a1.legend(fontsize=6)
    a2.legend(fontsize=6)
    fig.suptitle(_title(res, f"Scaling, {sc['placement']}"), fontsize=9)
    _save(fig, out, "scaling", written)
    plt.close(fig)


def rss(plt, res: dict, out: Path, written: list[str]) -> None:
    r = res.get("rss")
    if not r or len(r["procs"]) < 2:
        return
    gk = res["gk_systems"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in gk:
        pts = [(n, r["summary"][k]["vmrss_kib"] / 1024) for n in r["procs"]
               for k in [f"{s}/{n}"] if k in r["summary"] and r["summary"][k]["ok"]]
        if pts:
            ax.plot(*zip(*pts), marker="o", color=_color(s, gk), label=s)
    ax.set_xscale("log")
    ax.set_xlabel("sleeping guest processes")
    ax.set_ylabel("guestkernel VmRSS (MiB)")
    ax.set_ylim(bottom=0)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(_title(res, f"Guest kernel RSS (--mem={r['mem']})"), fontsize=9)
    _save(fig, out, "rss", written)
    plt.close(fig)


def plot_all(res: dict, out: Path) -> tuple[list[str], str | None]:
    """(files written, reason nothing was drawn or None)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # noqa: BLE001 - any import failure means no plot
        return [], f"matplotlib unavailable: {e}"
    written: list[str] = []
    for placement in common.PLACEMENTS:
        bars(plt, res, placement, out, written)
    scaling(plt, res, out, written)
    rss(plt, res, out, written)
    return written, None if written else "nothing to plot"
