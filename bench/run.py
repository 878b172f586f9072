#!/usr/bin/env python3
"""Benchmark runner for guestkernel (see bench/README.md).

Runs the micro-benchmarks in every configuration (native, guestkernel per MMU
backend and trap mode, User-Mode Linux, PRoot; the raw ptrace round trip),
unpinned and pinned to one CPU, interleaved rep by rep; then the extra
sections (scaling of faults and host VMAs with touched pages, guest kernel
RSS with sleeping processes); then derives the host-side cost breakdown from
guestkernel's --stats-json counters and checks the performance targets.
Writes results.json, table.md and the plots (PNG and SVG) to the output
folder. Exit status: 0 if every run succeeded, 1 if any errored (the tables
show "error"), 2 for a bad command line or a missing build.

To add a section: write a function (run: Run, reps: int) -> dict whose
"summary" maps keys to entries with "ok" and "errors", add it to SECTIONS,
and a table for it in gkbench/report.py (and a plot in gkbench/plots.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gkbench import common, hostcost, micro, plots, proot, report, scaling, uml, wallclock  # noqa: E402
from gkbench.common import REPO, Run, log  # noqa: E402

ALL_BACKENDS = ("rfp", "mremap", "mmap")
SMOKE_BUDGET_S = 240.0     # the smoke run fails clearly before the test's 300 s timeout
DEFAULT_TIMEOUT_S = 300.0  # per run, full mode
SMOKE_TIMEOUT_S = 20.0     # per run, smoke mode
DEFAULT_SECTION_REPS = 3


@dataclass(frozen=True)
class Section:
    key: str
    what: str
    run: Callable[[Run, int], dict]


SECTIONS = (
    Section("scaling", "first-touch fault cost and host VMAs against touched pages",
            scaling.run_scaling),
    Section("rss", "guest kernel RSS against sleeping guest processes", scaling.run_rss),
    Section("wallclock", "whole programs: boot to init and to a shell prompt, gcc, python3",
            wallclock.run_wallclock),
)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Run guestkernel's benchmark suite: native, guestkernel per MMU backend, "
                    "User-Mode Linux, PRoot and the raw ptrace round trip, unpinned and pinned "
                    "to one CPU; scaling; RSS; the host-side cost breakdown.")
    ap.add_argument("--build", default=str(REPO / "build"), metavar="DIR",
                    help="meson build directory (default: build)")
    ap.add_argument("--out", metavar="DIR",
                    help="output directory (default: bench/results/<timestamp>)")
    ap.add_argument("--reps", type=int, metavar="N",
                    help="repetitions of every micro-benchmark configuration (default 5; 1 with --smoke)")
    ap.add_argument("--section-reps", type=int, metavar="N",
                    help=f"repetitions of the scaling and RSS runs (default "
                         f"{DEFAULT_SECTION_REPS}; 1 with --smoke)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny counts, 1 rep, installs nothing (for the test suite)")
    ap.add_argument("--backends", default=",".join(ALL_BACKENDS), metavar="LIST",
                    help="comma-separated guestkernel MMU backends (default rfp,mremap,mmap)")
    ap.add_argument("--timeout", type=float, metavar="S",
                    help=f"per-run timeout in seconds (default {DEFAULT_TIMEOUT_S:.0f}, "
                         f"{SMOKE_TIMEOUT_S:.0f} with --smoke)")
    ap.add_argument("--no-uml", action="store_true",
                    help="leave out the User-Mode Linux configuration")
    ap.add_argument("--no-proot", action="store_true", help="leave out the PRoot configuration")
    ap.add_argument("--only", default="", metavar="LIST",
                    help="comma-separated micro-benchmarks to run (default: all): "
                         + ",".join(b.name for b in micro.BENCHES))
    ap.add_argument("--skip", default="", metavar="LIST",
                    help="comma-separated sections to leave out: "
                         + ", ".join(f"{s.key} ({s.what})" for s in SECTIONS))
    ap.add_argument("--report-only", metavar="DIR",
                    help="only redraw table.md and the plots from DIR/results.json")
    args = ap.parse_args(argv)
    if args.report_only:
        return args
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    bad = [b for b in backends if b not in ALL_BACKENDS]
    if bad or not backends:
        ap.error(f"unknown backend(s) {', '.join(bad)}; choose from {','.join(ALL_BACKENDS)}")
    args.backends = list(dict.fromkeys(backends))
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [b for b in args.only if b not in micro.BY_NAME]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}")
    args.skip = [s.strip() for s in args.skip.split(",") if s.strip()]
    unknown = [s for s in args.skip if s not in {x.key for x in SECTIONS}]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; "
                 f"choose from {','.join(s.key for s in SECTIONS)}")
    if args.reps is None:
        args.reps = 1 if args.smoke else 5
    if args.section_reps is None:
        args.section_reps = 1 if args.smoke else DEFAULT_SECTION_REPS
    if args.reps < 1 or args.section_reps < 1:
        ap.error("--reps and --section-reps must be at least 1")
    if args.timeout is None:
        args.timeout = SMOKE_TIMEOUT_S if args.smoke else DEFAULT_TIMEOUT_S
    return args


def errors_of(res: dict) -> list[str]:
    na = {"uml"} if not res["uml"].get("available") else set()
    out = sorted(f"{cfg} {bench}: {'; '.join(e['errors']) or 'no result'}"
                 for cfg, benches in res["summary"].items() if cfg.split("/")[0] not in na
                 for bench, e in benches.items() if not e["ok"])
    # UML boot trouble that its benchmark samples do not show.
    out += sorted(f"{b['config']} rep {b['rep']} boot: {b['error']}" for b in res["uml_boots"]
                  if "error" in b and ("leftover_processes" in b
                                       or "did not power off" in b["error"]))
    for s in SECTIONS:
        for key, e in res.get(s.key, {}).get("summary", {}).items():
            if not e["ok"]:
                out.append(f"{s.key} {key}: {'; '.join(e['errors']) or 'no result'}")
    return out


def write_outputs(res: dict, out: Path) -> None:
    """table.md, the plots and results.json. If this interpreter lacks
    matplotlib (e.g. a pyenv python), Debian's /usr/bin/python3 draws them."""
    (out / "table.md").write_text(report.make_table(res))
    written, reason = plots.plot_all(res, out)
    (out / "results.json").write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    sys_py = Path("/usr/bin/python3")
    if (reason and reason.startswith("matplotlib unavailable") and sys_py.exists()
            and Path(sys.executable).resolve() != sys_py.resolve()):
        try:
            p = subprocess.run([str(sys_py), str(Path(__file__).resolve()), "--report-only",
                                str(out)], capture_output=True, text=True, timeout=300)
            if p.returncode == 0:
                return
            reason += f"; {sys_py}: {common.tail(p.stderr.strip(), 300) or 'failed'}"
        except (OSError, subprocess.SubprocessError) as e:
            reason += f"; {sys_py}: {e}"
    res["plots"], res["plots_skipped"] = written, reason
    if reason:
        log(f"note: no plots ({reason})")
    (out / "results.json").write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report_only:
        out = Path(args.report_only)
        res = json.loads((out / "results.json").read_text())
        write_outputs(res, out)
        return 0 if res.get("plots") or not res.get("plots_skipped") else 1

    build = Path(args.build).resolve()
    stamp = dt.datetime.now()
    out = Path(args.out) if args.out else REPO / "bench" / "results" / stamp.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    traps, problem = common.guestkernel_trap_modes(build / "guestkernel")
    if problem:
        log(f"bench: {problem}")
        return 2
    run = Run(build, out, args.smoke, args.reps, args.timeout, args.backends, traps,
              SMOKE_BUDGET_S)
    benches = [b for b in micro.BENCHES if not args.only or b.name in args.only]
    info = common.machine_info()
    if "runner_affinity" in info and len(info["runner_affinity"]) != info.get("nproc"):
        log(f"warning: runner is restricted to CPUs {info['runner_affinity']}; "
            f"'free' runs inherit that")
    try:
        proot_info = None if args.no_proot else proot.prepare(run)
        if proot_info is not None:
            log(f"proot: {proot_info.get('path') or 'n/a (' + proot_info['reason'] + ')'}")
        uml_info = None
        if not args.no_uml:
            jobs = [(b.name, micro.guest_argv(b, "/bench", "/tmp", args.smoke))
                    for b in benches if not b.gk_only]
            uml_info = uml.prepare(run, jobs, micro.GUEST_PROGRAMS)
            log(f"uml: {uml_info.get('linux_uml', '')} root {uml_info['root']}"
                if uml_info["available"] else f"uml: n/a ({uml_info['reason']})")
        systems, samples, boots = micro.run_micro(run, benches, uml_info, proot_info)
        gk_names = [n for n, _, _ in run.gk_systems()]
        summary = micro.aggregate(samples)
        res = {
            "schema": 2,
            "started": stamp.strftime("%Y%m%d-%H%M%S"),
            "date": stamp.strftime("%Y-%m-%d"),
            "command": "python3 bench/run.py " + shlex.join(sys.argv[1:] if argv is None else argv),
            "smoke": args.smoke,
            "reps": args.reps,
            "section_reps": args.section_reps,
            "backends": args.backends,
            "trap_modes": traps,
            "pin_cpu": int(common.PIN_CPU),
            "build": str(build),
            "counts": {b.name: run.count(b.counts) for b in benches},
            "machine": info,
            "systems": systems,
            "gk_systems": gk_names,
            "uml": uml_info if uml_info is not None else {"available": False, "reason": "--no-uml"},
            "proot": (proot_info if proot_info is not None
                      else {"available": False, "reason": "--no-proot"}),
            "proot_requested": proot_info is not None,
            "uml_boots": boots,
            "samples": samples,
            "summary": summary,
        }
        for s in SECTIONS:
            if s.key not in args.skip:
                log(f"bench: section {s.key}: {s.what}")
                res[s.key] = s.run(run, args.section_reps)
    finally:
        run.close()
    res["breakdown"] = hostcost.breakdown(samples, gk_names)
    res["targets"] = report.targets(summary, gk_names, bool(res["uml"].get("available")))
    try:
        info["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    res["duration_s"] = round(time.monotonic() - run.started, 2)
    res["errors"] = errors_of(res)
    write_outputs(res, out)
    print((out / "table.md").read_text(), end="")
    log(f"\nresults in {out} ({res['duration_s']:.0f} s)")
    if res["errors"]:
        log(f"{len(res['errors'])} error(s):\n  " + "\n  ".join(res["errors"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
