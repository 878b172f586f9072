"""How costs grow: first-touch fault cost and host VMAs as the number of
touched pages grows (per backend, up to and past vm.max_map_count), and the
guest kernel's own RSS as the number of sleeping guest processes grows."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from pathlib import Path

from . import common
from .common import Run, log, tail

PAGES = ((1024, 4096, 16384, 65536, 262144), (64,))  # (full, --smoke)
# (series, label, bench_fault order, guestkernel flags); native runs the
# first two only (it has no fault-around setting).
SERIES = (
    ("seq", "sequential", "seq", ()),
    ("scatter", "random order", "scatter", ()),
    ("scatter1", "random order, one page per fault (--fault-around=1)", "scatter",
     ("--fault-around=1",)),
)
SCALING_MEM = "2G"        # 256K pages = 1 GiB touched, plus page tables
SCALING_PLACEMENT = "pinned"
PROCS = ((1, 10, 100), (1, 3))
RSS_MEM = "256M"
RSS_SETTLE_S = 0.5        # after the last fork, before reading RSS
STATUS_FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem")


def _stat(sample: dict, *path, default=None):
    v = sample.get("gk_stats")
    for k in path:
        if not isinstance(v, dict) or k not in v:
            return default
        v = v[k]
    return v


def run_scaling(run: Run, reps: int) -> dict:
    pages = run.count(PAGES)
    systems = [("native", None, None)] + [(n, b, t) for n, b, t in run.gk_systems()]
    total = reps * len(pages) * (2 + 3 * (len(systems) - 1))
    samples: list[dict] = []
    pin = common.pin_prefix(SCALING_PLACEMENT, run.taskset)
    done = 0
    for rep in range(reps):
        for n in pages:
            for series, _, order, flags in SERIES:
                for name, backend, trap in systems:
                    if backend is None and flags:
                        continue
                    guest = [str(run.guest_bin / "bench_fault-musl"), str(n), order]
                    stats = None
                    argv = pin + guest
                    if backend is not None:
                        prefix, stats = run.gk_argv(backend, trap, [f"--mem={SCALING_MEM}", *flags])
                        argv = pin + prefix + ["--"] + guest
                    s = common.run_sample(argv, f"fault_{order}", run.run_timeout(), stats)
                    s.update(system=name, series=series, pages=n, rep=rep)
                    samples.append(s)
                    done += 1
                    status = (f"{s['ns_per_op'] / 1000:.3f} µs/page" if "error" not in s
                              else f"ERROR: {s['error']}")
                    if backend is not None and "error" not in s:
                        status += (f", peak {_stat(s, 'child', 'peak_host_vmas')} host VMAs, "
                                   f"{_stat(s, 'mmu', 'evictions')} evictions")
                    log(f"[scaling {done}/{total}] rep {rep} {name:<10} {series:<8} {n:>7} pages: "
                        f"{status}")
    return {"placement": SCALING_PLACEMENT, "pages": list(pages), "mem": SCALING_MEM,
            "series": {s: label for s, label, _, _ in SERIES},
            "samples": samples, "summary": summarize_scaling(samples)}


def summarize_scaling(samples: list[dict]) -> dict:
    """{"SYSTEM/SERIES/PAGES": {median_ns, min_ns, max_ns, n, ok, errors, and
    for guestkernel the --stats-json figures (median over reps; peak VMAs:
    the largest)}}."""
    groups: dict = {}
    for s in samples:
        groups.setdefault(f"{s['system']}/{s['series']}/{s['pages']}", []).append(s)
    out = {}
    for key, group in groups.items():
        good = [s for s in group if "error" not in s]
        st = common.median_min_max([s["ns_per_op"] for s in good])
        e: dict = {"n": st["n"], "ok": len(good) == len(group) and bool(good),
                   "errors": [f"rep {s['rep']}: {s['error']}" for s in group if "error" in s]}
        if good:
            e.update(median_ns=st["median"], min_ns=st["min"], max_ns=st["max"])
        with_stats = [s for s in good if "gk_stats" in s]
        if with_stats:
            def med(*path):
                return common.median_min_max([_stat(s, *path, default=0) for s in with_stats])["median"]
            e.update(peak_host_vmas=max(_stat(s, "child", "peak_host_vmas", default=0)
                                        for s in with_stats),
                     exit_host_vmas=med("child", "exit_host_vmas"),
                     evictions=med("mmu", "evictions"),
                     host_fault_stops=med("faults", "host_fault_stops"),
                     stub_runs=med("stub_runs"),
                     host_minor_faults=med("child", "host_minor_faults"))
        out[key] = e
    return out


# --------------------------------------------------------------------------
# Guest kernel RSS against sleeping guest processes


def proc_status(pid: int) -> dict:
    """The RSS fields of /proc/PID/status, in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in STATUS_FIELDS:
            out[key] = int(rest.split()[0])
    return out


def host_children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except (OSError, ValueError):
            pass
    return kids


def measure_rss(argv: list[str], procs: int, timeout: float) -> dict:
    """Start guestkernel running `bench_fork PROCS sleep`; once the guest says
    its processes are up, read the kernel's own /proc/PID/status (and its host
    children's VmRSS), then close the guest's stdin so that it cleans up."""
    sample: dict = {"cmd": argv}
    why = common.cannot_start(argv, timeout)
    if why:
        sample["error"] = why
        return sample
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    except OSError as e:
        sample["error"] = f"cannot run: {e}"
        return sample
    lines: queue.Queue = queue.Queue()
    out_text: list[str] = []

    def reader():
        for line in proc.stdout:
            out_text.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + timeout
    obj = None
    try:
        while obj is None:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line is None:
                break
            obj = common.last_json_line(line)
        if obj is not None:
            time.sleep(RSS_SETTLE_S)
            sample["kernel"] = proc_status(proc.pid)
            kids = host_children(proc.pid)
            sample["host_children"] = len(kids)
            sample["host_children_rss_kib"] = sum(proc_status(k).get("VmRSS", 0) for k in kids)
        proc.stdin.close()
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except (queue.Empty, subprocess.TimeoutExpired):
        common.kill_group(proc)
        proc.wait()
        sample["error"] = f"timeout after {timeout:.0f} s"
    except OSError as e:
        common.kill_group(proc)
        proc.wait()
        sample["error"] = f"reading /proc: {e}"
    err = proc.stderr.read()
    sample["returncode"] = proc.returncode
    if "error" not in sample:
        if proc.returncode != 0:
            sample["error"] = f"exit status {proc.returncode}"
        else:
            common.check_output(sample, obj, "procs_sleeping")
            if "error" not in sample and obj.get("iters") != procs:
                sample["error"] = f"the guest started {obj.get('iters')} processes, not {procs}"
    if "error" in sample:
        sample["stdout_tail"], sample["stderr_tail"] = tail("".join(out_text)), tail(err)
    return sample


def run_rss(run: Run, reps: int) -> dict:
    counts = run.count(PROCS)
    samples: list[dict] = []
    for rep in range(reps):
        for n in counts:
            for name, backend, trap in run.gk_systems():
                prefix, stats = run.gk_argv(backend, trap, [f"--mem={RSS_MEM}"])
                argv = prefix + ["--", str(run.guest_bin / "bench_fork-musl"), str(n), "sleep"]
                s = measure_rss(argv, n, run.run_timeout())
                common.read_stats_json(s, stats if "error" not in s else None)
                s.update(system=name, procs=n, rep=rep)
                samples.append(s)
                status = (f"kernel VmRSS {s['kernel'].get('VmRSS', 0) / 1024:.1f} MiB, "
                          f"{s['host_children']} host children" if "error" not in s
                          else f"ERROR: {s['error']}")
                log(f"[rss] rep {rep} {name:<10} {n:>4} processes: {status}")
    summary: dict = {}
    for s in samples:
        e = summary.setdefault(f"{s['system']}/{s['procs']}", {"kib": [], "children": [],
                                                               "errors": []})
        if "error" in s:
            e["errors"].append(f"rep {s['rep']}: {s['error']}")
        else:
            e["kib"].append(s["kernel"].get("VmRSS", 0))
            e["children"].append(s["host_children"])
    for e in summary.values():
        st = common.median_min_max(e.pop("kib"))
        kids = e.pop("children")
        e["ok"] = not e["errors"] and st["n"] > 0
        if st["n"]:
            e.update(vmrss_kib=st["median"], vmrss_min_kib=st["min"], vmrss_max_kib=st["max"],
                     host_children=max(kids))
    return {"placement": "free", "mem": RSS_MEM, "procs": list(counts), "samples": samples,
            "summary": summary}
