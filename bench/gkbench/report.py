"""table.md: every figure of the run as markdown tables a person can paste
(headings from level 3 on, to sit under the README's "Performance" section),
and the performance targets the suite checks (reported, never asserted)."""

from __future__ import annotations

import statistics

from . import common
from .common import PLACEMENTS, fmt_num, fmt_us, md_table
from .micro import BENCHES, BY_NAME, RTT, not_run

PLACEMENT_TITLE = {"free": "free placement (no pinning)",
                   "pinned": f"pinned to one CPU (taskset -c {common.PIN_CPU})"}
NULL_SYSCALL_LIMIT = 1.15   # × the raw ptrace round trip
SEQ_FAULT_UML_LIMIT = 0.25  # × UML's sequential first-touch fault


def median(agg: dict, cfg: str, bench: str) -> float | None:
    e = agg.get(cfg, {}).get(bench)
    return e["median_ns"] if e and e["ok"] else None


def cell(agg: dict, system: str, placement: str, bench: str, na: set) -> str:
    if not_run(system, BY_NAME.get(bench)):
        return "—"
    if system in na:
        return "n/a"
    e = agg.get(f"{system}/{placement}", {}).get(bench)
    if e is None:
        return "—"
    return fmt_us(e["median_ns"]) if e["ok"] else "error"


# --------------------------------------------------------------------------
# Targets


def targets(agg: dict, gk: list[str], have_uml: bool) -> list[dict]:
    """Each target per placement: {target, placement, met (None: not
    measurable), figure (text), limit, details}."""
    out = []
    for pl in PLACEMENTS:
        rtt = median(agg, f"ptrace/{pl}", RTT)
        # 1. Faster than UML on every micro-benchmark both run.
        if have_uml:
            rows, misses, worst = 0, [], None
            for b in BENCHES:
                u = median(agg, f"uml/{pl}", b.name)
                vals = {g: median(agg, f"{g}/{pl}", b.name) for g in gk}
                if b.gk_only or u is None or None in vals.values():
                    continue
                rows += 1
                for g, v in vals.items():
                    r = v / u
                    if worst is None or r > worst[0]:
                        worst = (r, g, b.name)
                    if r >= 1:
                        misses.append(f"{b.name} {g} {r:.2f}×")
            out.append({"target": "guestkernel faster than UML on every micro-benchmark both run",
                        "placement": pl, "limit": "every gk-* / uml < 1",
                        "met": (not misses) if rows else None,
                        "figure": (f"{rows - len({m.split()[0] for m in misses})} of {rows} rows "
                                   f"faster under every backend"
                                   + (f"; worst {worst[1]} on {worst[2]}: {worst[0]:.2f}×"
                                      if worst else "")),
                        "misses": misses})
        # 2. Null syscall within 1.15× of the raw round trip.
        ratios = {g: (v / rtt if v and rtt else None)
                  for g in gk for v in [median(agg, f"{g}/{pl}", "null_syscall")]}
        known = {g: r for g, r in ratios.items() if r is not None}
        out.append({"target": "null syscall within 1.15× of the raw ptrace round trip",
                    "placement": pl, "limit": f"≤ {NULL_SYSCALL_LIMIT}",
                    "met": all(r <= NULL_SYSCALL_LIMIT for r in known.values()) if known else None,
                    "figure": ", ".join(f"{g} {r:.2f}×" for g, r in known.items()) or "not measured",
                    "ratios": ratios})
        # 3. Amortized sequential first-touch fault at most 0.25× of UML's.
        if have_uml:
            u = median(agg, f"uml/{pl}", "fault_seq")
            ratios = {g: (v / u if v and u else None)
                      for g in gk for v in [median(agg, f"{g}/{pl}", "fault_seq")]}
            known = {g: r for g, r in ratios.items() if r is not None}
            out.append({"target": "sequential 64 MiB first-touch fault at most 0.25× of UML's",
                        "placement": pl, "limit": f"≤ {SEQ_FAULT_UML_LIMIT}",
                        "met": (all(r <= SEQ_FAULT_UML_LIMIT for r in known.values())
                                if known else None),
                        "figure": ", ".join(f"{g} {r:.2f}×" for g, r in known.items())
                        or "not measured", "ratios": ratios})
    return out


# --------------------------------------------------------------------------
# Sections of table.md


def header(res: dict) -> list[str]:
    m = res["machine"]
    lines = [f"Machine: {common.machine_line(m)}; {res['date']}; `{res['command']}`; "
             f"{res['reps']} rep(s){', SMOKE counts (figures mean nothing)' if res['smoke'] else ''}; "
             f"load average at start {' '.join(m.get('loadavg_start', ['?']))}, "
             f"at end {' '.join(m.get('loadavg_end', ['?']))}.", ""]
    sys_text = ["`native` (the program on the host)",
                ", ".join(f"`{g}`" for g in res["gk_systems"])
                + f" (guestkernel --mmu=BACKEND, trap mode {', '.join(res['trap_modes'])})"]
    uml, proot = res["uml"], res["proot"]
    if uml.get("available"):
        sys_text.append(f"`uml` (Debian user-mode-linux {uml.get('package_version', '?')}, "
                        f"busybox root over hostfs, one boot per rep and placement)")
    elif "uml" in res["systems"]:
        sys_text.append(f"`uml` n/a: {uml.get('reason', '?')}")
    if proot.get("available"):
        sys_text.append(f"`proot` (Debian proot {proot.get('package_version', '?')}, "
                        f"`proot PROGRAM`)")
    elif res.get("proot_requested"):
        sys_text.append(f"`proot` n/a: {proot.get('reason', '?')}")
    lines.append("Configurations: " + "; ".join(sys_text) + ".")
    lines.append("µs per operation, median over reps (results.json has min and max and every "
                 "sample); \"—\" not run by design (a guestkernel setting, or UML's boot "
                 "runs only the shared rows).")
    return lines


def micro_tables(res: dict) -> list[str]:
    agg, systems = res["summary"], [s for s in res["systems"] if s != "ptrace"]
    gk = res["gk_systems"]
    na = {"uml"} if "uml" in systems and not res["uml"].get("available") else set()
    lines = []
    for pl in PLACEMENTS:
        lines += ["", f"### Micro-benchmarks, {PLACEMENT_TITLE[pl]}", ""]
        header_ = ["benchmark"] + systems + (["best gk / uml"] if "uml" in systems else [])
        rows = []
        for b in BENCHES:
            if b.name not in res["counts"]:
                continue
            row = [b.label] + [cell(agg, s, pl, b.name, na) for s in systems]
            if "uml" in systems:
                u = median(agg, f"uml/{pl}", b.name)
                vals = [median(agg, f"{g}/{pl}", b.name) for g in gk]
                ok = u is not None and vals and None not in vals
                row.append(f"{min(vals) / u:.2f}" if ok else "—")
            rows.append(row)
        lines += md_table(header_, rows)
        extra = [f"Raw PTRACE_SYSEMU round trip (bench/ptrace_rtt): "
                 f"{cell(agg, 'ptrace', pl, RTT, set())} µs."]
        boots = [b["boot_s"] for b in res["uml_boots"] if b.get("placement") == pl
                 and "boot_s" in b]
        if boots:
            extra.append(f"UML boot (launch to /init running), median of {len(boots)}: "
                         f"{statistics.median(boots):.2f} s.")
        lines += ["", " ".join(extra)]
    return lines


def target_table(res: dict) -> list[str]:
    rows = [[t["target"], t["placement"], t["figure"], t["limit"],
             {True: "met", False: "**missed**", None: "n/a"}[t["met"]]] for t in res["targets"]]
    lines = ["", "### Performance targets", ""] + md_table(
        ["target", "placement", "figure", "limit", ""], rows)
    for t in res["targets"]:
        if t.get("misses"):
            lines += ["", f"Slower than UML ({t['placement']}): " + ", ".join(t["misses"]) + "."]
    return lines


def ratio_table(res: dict) -> list[str]:
    agg, gk = res["summary"], res["gk_systems"]
    rows = []
    for b in BENCHES:
        if b.kind not in ("syscall", "fault") or b.name not in res["counts"]:
            continue
        for pl in PLACEMENTS:
            rtt = median(agg, f"ptrace/{pl}", RTT)
            denom = rtt if b.kind == "syscall" else (2 * rtt if rtt else None)
            row = [b.label + ("" if b.kind == "syscall" else " / 2"), pl]
            for g in gk:
                v = median(agg, f"{g}/{pl}", b.name)
                row.append(f"{v / denom:.2f}" if v and denom else "—")
            rows.append(row)
    return (["", "### Against the raw ptrace round trip",
             "", "A syscall needs at least one round trip; a fault two (the SIGSEGV stop, "
                 "and the stub run that maps the page). Below 1: work was avoided "
                 "(fault-around maps 16 pages per fault, growing along a sequential streak).", ""]
            + md_table(["guest time / round trips", "placement"] + gk, rows))


def hostcost_tables(res: dict) -> list[str]:
    bd, gk = res["breakdown"], res["gk_systems"]
    lines = ["", f"### Host-side cost, from guestkernel's own counters (--stats-json, "
                 f"{bd['placement']} runs)", "",
             "Per operation: the whole run's count ÷ the benchmark's iterations "
             "(start-up and warm-up included). Each cell: " + " / ".join(gk) + ".", ""]
    rows = []
    for b in BENCHES:
        figs = [bd["per_op"].get(g, {}).get(b.name) for g in gk]
        if not any(figs):
            continue

        def col(key):
            return " / ".join(fmt_num(f[key]) if f else "—" for f in figs)
        rows.append([b.label, col("ptrace_stops"), col("stub_runs"), col("host_calls"),
                     col("stub_us"), col("host_minor_faults")])
    lines += md_table(["benchmark", "ptrace stops", "stub runs", "host mm calls",
                       "µs in host mm calls", "host minor faults"], rows)
    rows = []
    for g in gk:
        ev = bd["per_event"].get(g, {})
        row = [g]
        for k in ("syscall", "fault"):
            e = ev.get(k, {})
            row += [str(e.get("count", 0)),
                    fmt_num(e["ptrace_stops"]) if e.get("ptrace_stops") else "—",
                    fmt_num(e["stub_runs"]) if e.get("stub_runs") is not None else "—"]
        rows.append(row)
    lines += ["", "Per guest syscall and per guest fault, over all these runs (a stub run, "
                  "in which the child makes the host mm calls, is one more ptrace stop):", ""]
    lines += md_table(["backend", "syscalls", "ptrace stops / syscall", "stub runs / syscall",
                       "faults", "ptrace stops / fault", "stub runs / fault"], rows)
    rows = []
    for g in gk:
        for kind, c in sorted(bd["host_calls"].get(g, {}).items()):
            rows.append([g, kind, str(c["count"]),
                         f"{c['us_per_call']:.2f}" if c.get("us_per_call") else "—"])
    lines += ["", "Host mm calls by kind over all these runs, timed inside the stub (rdtsc "
                  "around each call):", ""]
    lines += md_table(["backend", "host call", "count", "µs per call"], rows)
    rows = []
    for g in gk:
        f = bd["fault_single"].get(g)
        if not f:
            continue
        rows.append([g, str(f["faults"]),
                     ", ".join(f"{fmt_num(n)} {k}" for k, n in sorted(f["calls_per_fault"].items())),
                     f"{f['stub_us_per_fault']:.2f}", fmt_num(f["host_minor_faults_per_fault"]),
                     str(f["peak_host_vmas"]), str(f["evictions"])])
    if rows:
        lines += ["", "One page per fault (the `--fault-around=1` row): what one guest fault "
                      "costs the host:", ""]
        lines += md_table(["backend", "guest faults", "host mm calls per fault",
                           "µs in them per fault", "host minor faults per fault",
                           "peak host VMAs", "evictions"], rows)
    return lines


def scaling_tables(res: dict) -> list[str]:
    sc = res.get("scaling")
    if not sc:
        return []
    summ, pages = sc["summary"], sc["pages"]
    lines = ["", f"### Scaling: first-touch faults as the touched pages grow "
                 f"({sc['placement']}, bench_fault, guestkernel --mem={sc['mem']}, "
                 f"vm.max_map_count {res['machine'].get('max_map_count', '?')})", "",
             "µs per page:", ""]
    systems = ["native"] + res["gk_systems"]
    rows = []
    for s in systems:
        for series, label in sc["series"].items():
            es = [summ.get(f"{s}/{series}/{n}") for n in pages]
            if not any(es):
                continue
            rows.append([f"{s}, {label}"] + [
                fmt_us(e["median_ns"]) if e and e["ok"] else ("error" if e else "—") for e in es])
    lines += md_table(["configuration"] + [str(n) for n in pages], rows)
    rows = []
    for s in res["gk_systems"]:
        for series, label in sc["series"].items():
            es = [summ.get(f"{s}/{series}/{n}") for n in pages]
            if not any(e and "peak_host_vmas" in e for e in es):
                continue
            rows.append([f"{s}, {label}"] + [
                (f"{e['peak_host_vmas']}" + (f" ({fmt_num(e['evictions'])} evictions)"
                                             if e.get("evictions") else ""))
                if e and "peak_host_vmas" in e else "—" for e in es])
    lines += ["", "Peak host VMAs of the guest's host child (sampled every 250 ms and at "
                  "exit), and evictions (every mirror dropped on host ENOMEM at "
                  "vm.max_map_count; median over reps):", ""]
    lines += md_table(["configuration"] + [str(n) for n in pages], rows)
    return lines


def rss_table(res: dict) -> list[str]:
    rss = res.get("rss")
    if not rss:
        return []
    rows = []
    for s in res["gk_systems"]:
        row = [s]
        for n in rss["procs"]:
            e = rss["summary"].get(f"{s}/{n}")
            row.append(f"{e['vmrss_kib'] / 1024:.1f}" if e and e["ok"] else
                       ("error" if e else "—"))
        rows.append(row)
    return (["", f"### Guest kernel RSS against sleeping guest processes ({rss['placement']}, "
                 f"--mem={rss['mem']})", "",
             "VmRSS of the guestkernel process itself in MiB (its host children not "
             "included), read from the host while the guest's processes sleep:", ""]
            + md_table(["configuration"] + [f"{n} process{'es' if n > 1 else ''}"
                                            for n in rss["procs"]], rows))


def wallclock_tables(res: dict) -> list[str]:
    wc = res.get("wallclock")
    if not wc:
        return []
    systems = ["native"] + res["gk_systems"] + (["uml"] if res["uml"].get("available") else [])
    lines = []
    for pl in PLACEMENTS:
        uml_boots = [b["boot_s"] for b in res["uml_boots"] if b.get("placement") == pl and "boot_s" in b]
        rows = []
        for row in wc["rows"]:
            cells, gk_vals = [row], []
            for s in systems:
                e = wc["summary"].get(f"{row}|{s}/{pl}")
                if s == "uml" and row == "boot to init" and uml_boots:
                    cells.append(f"{statistics.median(uml_boots):.3f}")
                elif e is None:
                    cells.append("—")
                elif not e["ok"]:
                    cells.append("error")
                else:
                    cells.append(f"{e['median_s']:.3f}")
                    if s.startswith("gk-"):
                        gk_vals.append(e["median_s"])
            rows.append(cells)
        lines += ["", f"### Whole programs, {PLACEMENT_TITLE[pl]}", "",
                  "Wall seconds, median over reps: boot to init (launch until init's first line, the "
                  "same busybox root and /init under guestkernel and UML), boot to the console "
                  "shell's prompt (natively: busybox `sh -i` starting on a pty), gcc -O2 -c of a "
                  "500-line file and a python3 case, both under `--rootfs-ro /`:", ""]
        lines += md_table(["row"] + systems, rows)
    return lines


def make_table(res: dict) -> str:
    lines = header(res) + micro_tables(res) + target_table(res) + ratio_table(res)
    lines += hostcost_tables(res) + scaling_tables(res) + rss_table(res) + wallclock_tables(res)
    return "\n".join(lines) + "\n"
