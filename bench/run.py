#!/usr/bin/env python3
"""Benchmark runner for guestkernel (see bench/README.md).

Runs every benchmark in every configuration, interleaved rep by rep, and
writes results.json, table.md and (if matplotlib is available) bench.png to
the output directory. Exit status: 0 if every run succeeded, 1 if any
configuration errored (the table shows "error"), 2 for a bad command line.

Configurations (each in two placements: "free" = no pinning, "pinned" =
`taskset -c 0`, which pins the tracer and, by inheritance, its children):
  native      the guest benchmark binary run directly on the host
  gk-<mmu>    build/guestkernel --mmu=<mmu> -- <benchmark binary> ...
  ptrace      build/bench/ptrace_rtt: the raw host PTRACE_SYSEMU round trip
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ALL_BACKENDS = ("rfp", "mremap", "mmap")
PLACEMENTS = ("free", "pinned")
PIN_CPU = "0"

# Benchmark counts: (full, smoke).
COUNTS = {
    "null_syscall": (20000, 200),
    "fault_pages": (4096, 64),
    "ptrace_iters": (20000, 200),
}
SMOKE_BUDGET_S = 25.0      # the whole smoke run stays under 30 s
DEFAULT_TIMEOUT_S = 300.0  # per run, full mode
SMOKE_TIMEOUT_S = 10.0     # per run, smoke mode

BENCH_ORDER = ("null_syscall", "fault_seq", "fault_scatter", "fault_single", "ptrace_rtt")
BENCH_LABEL = {
    "null_syscall": "null syscall (getppid)",
    "fault_seq": "page fault, sequential",
    "fault_scatter": "page fault, scattered",
    "fault_single": "page fault, scattered, one page per fault",
    "ptrace_rtt": "raw ptrace round trip",
}


# --------------------------------------------------------------------------
# Configurations and jobs


def system_names(backends: list[str]) -> list[str]:
    return ["native"] + [f"gk-{b}" for b in backends] + ["ptrace"]


def config_id(system: str, placement: str) -> str:
    return f"{system}/{placement}"


def jobs_for(system: str, build: Path, smoke: bool) -> list[tuple[str, list[str]]]:
    """(benchmark name, argv without placement/guestkernel prefix)."""
    i = 1 if smoke else 0
    if system == "ptrace":
        return [("ptrace_rtt", [str(build / "bench" / "ptrace_rtt"),
                                "--iters", str(COUNTS["ptrace_iters"][i])])]
    syscall_bin = str(build / "rootfs" / "bench_syscall-musl")
    fault_bin = str(build / "rootfs" / "bench_fault-musl")
    pages = str(COUNTS["fault_pages"][i])
    return [
        ("null_syscall", [syscall_bin, str(COUNTS["null_syscall"][i])]),
        ("fault_seq", [fault_bin, pages, "seq"]),
        ("fault_scatter", [fault_bin, pages, "scatter"]),
        # The latency of one fault: guestkernel maps only the faulting page.
        ("fault_single", [fault_bin, pages, "scatter"]),
    ]


# Extra guestkernel flags per benchmark, and the name the program reports.
GK_FLAGS = {"fault_single": ["--fault-around=1"]}
PROGRAM_BENCH = {"fault_single": "fault_scatter"}


def guestkernel_supports_stats_json(gk: Path) -> bool:
    if not (gk.is_file() and os.access(gk, os.X_OK)):
        return False
    try:
        p = subprocess.run([str(gk), "--help"], capture_output=True, text=True,
                           timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--stats-json" in (p.stdout + p.stderr)


# --------------------------------------------------------------------------
# Running one sample


def tail(s: str, n: int = 1500) -> str:
    return s if len(s) <= n else "..." + s[-n:]


def last_json_line(stdout: str):
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def run_sample(argv: list[str], bench: str, timeout: float,
               stats_file: Path | None) -> dict:
    """Run one command; return a sample dict with either ns_per_op or error."""
    sample: dict = {"cmd": argv}
    # Every executable named in argv must exist (the benchmark binary too,
    # when it is guestkernel's argument: a clearer error than the guest's).
    for a in argv:
        if a.startswith("/") and not Path(a).exists():
            sample["error"] = f"missing binary: {a}"
            return sample
    if timeout <= 0:
        sample["error"] = "skipped: smoke time budget exhausted"
        return sample
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True,
                                start_new_session=True)
    except OSError as e:
        sample["error"] = f"cannot run: {e}"
        return sample
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # Kill the whole session we started (guestkernel and its guests).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        sample["error"] = f"timeout after {timeout:.0f} s"
        sample["stdout_tail"], sample["stderr_tail"] = tail(out), tail(err)
        return sample
    sample["wall_s"] = round(time.monotonic() - t0, 4)
    sample["returncode"] = proc.returncode
    if proc.returncode != 0:
        sig = f" (signal {-proc.returncode})" if proc.returncode < 0 else ""
        sample["error"] = f"exit status {proc.returncode}{sig}"
        sample["stdout_tail"], sample["stderr_tail"] = tail(out), tail(err)
        return sample
    obj = last_json_line(out)
    if obj is None:
        sample["error"] = "no JSON line on stdout"
    elif obj.get("bench") != PROGRAM_BENCH.get(bench, bench):
        sample["error"] = f"expected bench {bench!r}, got {obj.get('bench')!r}"
    elif not isinstance(obj.get("ns_per_op"), (int, float)) or obj["ns_per_op"] <= 0:
        sample["error"] = "missing or bad ns_per_op"
    if "error" in sample:
        sample["stdout_tail"], sample["stderr_tail"] = tail(out), tail(err)
        return sample
    sample["output"] = obj
    sample["ns_per_op"] = float(obj["ns_per_op"])
    if stats_file is not None:
        try:
            sample["gk_stats"] = json.loads(stats_file.read_text())
        except FileNotFoundError:
            sample["gk_stats_error"] = "guestkernel wrote no --stats-json file"
        except (OSError, ValueError) as e:
            sample["gk_stats_error"] = f"unreadable --stats-json file: {e}"
    return sample


# --------------------------------------------------------------------------
# Machine information


def machine_info() -> dict:
    info: dict = {
        "kernel": platform.release(),
        "kernel_version": platform.version(),
        "machine": platform.machine(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        info["runner_affinity"] = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        info["loadavg_start"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"],
                               capture_output=True, text=True, timeout=10)
        if rev.returncode == 0:
            info["git_commit"] = rev.stdout.strip()
            info["git_dirty"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


# --------------------------------------------------------------------------
# Aggregation, table, plot


def aggregate(samples: list[dict]) -> dict:
    """{config: {bench: {median_ns, min_ns, max_ns, n, errors}}}"""
    agg: dict = {}
    for s in samples:
        entry = agg.setdefault(s["config"], {}).setdefault(
            s["bench"], {"ns": [], "errors": []})
        if "error" in s:
            entry["errors"].append(f"rep {s['rep']}: {s['error']}")
        else:
            entry["ns"].append(s["ns_per_op"])
    for cfg in agg.values():
        for bench, e in cfg.items():
            ns = e.pop("ns")
            e["n"] = len(ns)
            if ns:
                e["median_ns"] = statistics.median(ns)
                e["min_ns"] = min(ns)
                e["max_ns"] = max(ns)
            e["ok"] = not e["errors"] and bool(ns)
    return agg


def fmt_us(ns: float) -> str:
    us = ns / 1000.0
    if us < 1:
        return f"{us:.3f}"
    if us < 10:
        return f"{us:.2f}"
    if us < 100:
        return f"{us:.1f}"
    return f"{us:.0f}"


def cell(agg: dict, cfg: str, bench: str):
    """(text, median_ns or None)."""
    e = agg.get(cfg, {}).get(bench)
    if e is None:
        return "—", None
    if not e["ok"]:
        return "error", None
    return fmt_us(e["median_ns"]), e["median_ns"]


def make_table(agg: dict, systems: list[str], info: dict, reps: int,
               smoke: bool) -> str:
    backends = [s for s in systems if s.startswith("gk-")]
    lines = ["# guestkernel benchmarks", ""]
    lines.append(f"{info.get('cpu_model', '?')}, {info.get('nproc', '?')} CPUs, "
                 f"Linux {info.get('kernel', '?')}; {reps} rep(s){', SMOKE counts' if smoke else ''}; "
                 f"medians in µs per operation.")
    lines.append("Ratios: guest null syscall / raw ptrace round trip; "
                 "guest page fault / (2 × raw ptrace round trip), same placement.")
    for placement in PLACEMENTS:
        title = ("free placement (no pinning)" if placement == "free"
                 else f"pinned to one CPU (taskset -c {PIN_CPU})")
        lines += ["", f"## {title}", ""]
        header = ["benchmark"] + systems + [f"{b} / rtt" for b in backends]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        rtt_text, rtt = cell(agg, config_id("ptrace", placement), "ptrace_rtt")
        for bench in BENCH_ORDER:
            row = [BENCH_LABEL[bench]]
            values = {}
            for sysname in systems:
                text, v = cell(agg, config_id(sysname, placement), bench)
                row.append(text)
                values[sysname] = (text, v)
            for b in backends:
                text, v = values[b]
                if bench == "ptrace_rtt" or text == "—":
                    row.append("—")
                elif v is None or rtt is None:
                    row.append("error")
                else:
                    denom = rtt if bench == "null_syscall" else 2 * rtt
                    row.append(f"{v / denom:.2f}")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot(results: dict, png: Path) -> str | None:
    """Draw bench.png; returns None on success or a reason it was not drawn."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # noqa: BLE001 - any import failure means no plot
        return f"matplotlib unavailable: {e}"
    agg = results["summary"]
    configs = [c for c in results["configs"] if c in agg]
    benches = [b for b in BENCH_ORDER if any(b in agg[c] for c in configs)]
    if not configs or not benches:
        return "nothing to plot"
    fig, ax = plt.subplots(figsize=(max(8, 2.6 * len(benches)), 5.5))
    width = 0.8 / len(configs)
    cmap = plt.get_cmap("tab20")
    for i, cfg in enumerate(configs):
        xs, ys, lo, hi = [], [], [], []
        for j, bench in enumerate(benches):
            e = agg[cfg].get(bench)
            if not e or "median_ns" not in e:
                continue
            xs.append(j - 0.4 + width * (i + 0.5))
            med = e["median_ns"] / 1000
            ys.append(med)
            lo.append(med - e["min_ns"] / 1000)
            hi.append(e["max_ns"] / 1000 - med)
        if xs:
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=cfg,
                   color=cmap(i % 20), hatch="//" if cfg.endswith("/pinned") else None,
                   edgecolor="black", linewidth=0.3)
    ax.set_yscale("log")
    ax.set_xticks(range(len(benches)))
    ax.set_xticklabels([BENCH_LABEL[b] for b in benches])
    ax.set_ylabel("µs per operation (median; bars: min–max)")
    m = results["machine"]
    ax.set_title(f"guestkernel benchmarks — {m.get('cpu_model', '?')}, "
                 f"{m.get('nproc', '?')} CPUs, Linux {m.get('kernel', '?')}", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return None


def plot_anywhere(results: dict, out: Path) -> str | None:
    """Plot here, or, if this interpreter lacks matplotlib (e.g. a pyenv
    python), with the system python3 where Debian's python3-matplotlib lives."""
    reason = plot(results, out / "bench.png")
    if reason is None or not reason.startswith("matplotlib unavailable"):
        return reason
    sys_py = Path("/usr/bin/python3")
    if sys_py.exists() and Path(sys.executable).resolve() != sys_py.resolve():
        try:
            p = subprocess.run([str(sys_py), str(Path(__file__).resolve()),
                                "--plot-only", str(out)],
                               capture_output=True, text=True, timeout=120)
            if p.returncode == 0 and (out / "bench.png").exists():
                return None
            reason += f"; {sys_py}: {tail(p.stderr.strip(), 300) or 'failed'}"
        except (OSError, subprocess.SubprocessError) as e:
            reason += f"; {sys_py}: {e}"
    return reason


# --------------------------------------------------------------------------


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Run guestkernel's benchmarks: native, guestkernel per MMU "
                    "backend, and the raw ptrace round trip, each unpinned and "
                    "pinned to one CPU.")
    ap.add_argument("--build", default=str(REPO / "build"), metavar="DIR",
                    help="meson build directory (default: build)")
    ap.add_argument("--out", metavar="DIR",
                    help="output directory (default: bench/results/<timestamp>)")
    ap.add_argument("--reps", type=int, metavar="N",
                    help="repetitions of every configuration (default 5; 1 with --smoke)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny counts and 1 rep, finishes in under 30 s (for the test suite)")
    ap.add_argument("--backends", default=",".join(ALL_BACKENDS), metavar="LIST",
                    help="comma-separated guestkernel MMU backends (default rfp,mremap,mmap)")
    ap.add_argument("--timeout", type=float, metavar="S",
                    help=f"per-run timeout in seconds (default {DEFAULT_TIMEOUT_S:.0f}, "
                         f"{SMOKE_TIMEOUT_S:.0f} with --smoke)")
    ap.add_argument("--plot-only", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.plot_only:
        return args
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    bad = [b for b in backends if b not in ALL_BACKENDS]
    if bad:
        ap.error(f"unknown backend(s) {', '.join(bad)}; choose from {','.join(ALL_BACKENDS)}")
    args.backends = list(dict.fromkeys(backends))
    if args.reps is None:
        args.reps = 1 if args.smoke else 5
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    if args.timeout is None:
        args.timeout = SMOKE_TIMEOUT_S if args.smoke else DEFAULT_TIMEOUT_S
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.plot_only:
        out = Path(args.plot_only)
        reason = plot(json.loads((out / "results.json").read_text()), out / "bench.png")
        if reason:
            print(reason, file=sys.stderr)
            return 1
        return 0

    started = time.monotonic()
    build = Path(args.build).resolve()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else REPO / "bench" / "results" / stamp
    out.mkdir(parents=True, exist_ok=True)

    gk = build / "guestkernel"
    stats_json = guestkernel_supports_stats_json(gk)
    taskset = shutil.which("taskset")
    systems = system_names(args.backends)
    configs = [config_id(s, p) for s in systems for p in PLACEMENTS]
    info = machine_info()
    if "runner_affinity" in info and len(info["runner_affinity"]) != info.get("nproc"):
        print(f"warning: runner is restricted to CPUs {info['runner_affinity']}; "
              f"'free' runs inherit that", file=sys.stderr)

    samples: list[dict] = []
    stats_dir = Path(tempfile.mkdtemp(prefix="gk-bench-stats-"))
    total_runs = args.reps * sum(len(jobs_for(s, build, args.smoke)) for s in systems) * 2
    done = 0
    try:
        for rep in range(args.reps):
            # Rep-major, and within a rep benchmark-major, so that slow drift
            # (thermal, other load) hits every configuration alike.
            for bench_idx in range(max(len(jobs_for(s, build, args.smoke)) for s in systems)):
                for sysname in systems:
                    jobs = jobs_for(sysname, build, args.smoke)
                    if bench_idx >= len(jobs):
                        continue
                    bench, cmd = jobs[bench_idx]
                    for placement in PLACEMENTS:
                        cfg = config_id(sysname, placement)
                        argv_ = list(cmd)
                        stats_file = None
                        if sysname.startswith("gk-"):
                            prefix = [str(gk), f"--mmu={sysname[3:]}"] + GK_FLAGS.get(bench, [])
                            if stats_json:
                                stats_file = stats_dir / f"{sysname}-{placement}-{bench}-{rep}.json"
                                prefix.append(f"--stats-json={stats_file}")
                            argv_ = prefix + ["--"] + argv_
                        if placement == "pinned":
                            argv_ = [taskset or "/usr/bin/taskset", "-c", PIN_CPU] + argv_
                        timeout = args.timeout
                        if args.smoke:
                            timeout = min(timeout, SMOKE_BUDGET_S - (time.monotonic() - started))
                        s = run_sample(argv_, bench, timeout, stats_file)
                        s.update(config=cfg, system=sysname, placement=placement,
                                 bench=bench, rep=rep)
                        samples.append(s)
                        done += 1
                        status = (f"{s['ns_per_op'] / 1000:.3f} µs" if "error" not in s
                                  else f"ERROR: {s['error']}")
                        print(f"[{done}/{total_runs}] rep {rep} {cfg:<18} {bench:<14} {status}",
                              file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(stats_dir, ignore_errors=True)

    try:
        info["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    summary = aggregate(samples)
    errored = sorted(f"{cfg} {bench}" for cfg, benches in summary.items()
                     for bench, e in benches.items() if not e["ok"])
    results = {
        "schema": 1,
        "started": stamp,
        "duration_s": round(time.monotonic() - started, 2),
        "smoke": args.smoke,
        "reps": args.reps,
        "backends": args.backends,
        "pin_cpu": int(PIN_CPU),
        "build": str(build),
        "guestkernel_stats_json": stats_json,
        "counts": {k: v[1 if args.smoke else 0] for k, v in COUNTS.items()},
        "machine": info,
        "configs": configs,
        "samples": samples,
        "summary": summary,
        "errors": errored,
    }
    table = make_table(summary, systems, info, args.reps, args.smoke)
    (out / "table.md").write_text(table)
    results_file = out / "results.json"
    results_file.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    reason = plot_anywhere(results, out)
    results["plot"] = "bench.png" if reason is None else None
    if reason:
        results["plot_skipped"] = reason
        print(f"note: no bench.png ({reason})", file=sys.stderr)
    results_file.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")

    print(table, end="")
    print(f"\nresults in {out}", file=sys.stderr)
    if errored:
        print(f"{len(errored)} configuration(s) errored: {', '.join(errored)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
