"""What every section of the benchmark runner shares: running one command and
reading its JSON line, medians, the machine's description, apt-get."""

from __future__ import annotations

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

REPO = Path(__file__).resolve().parent.parent.parent
PLACEMENTS = ("free", "pinned")
PIN_CPU = "0"
APT_TIMEOUT_S = 900.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


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


def pin_prefix(placement: str, taskset: str | None) -> list[str]:
    """`taskset -c 0` pins the tracer and, by inheritance, every child."""
    return [taskset or "/usr/bin/taskset", "-c", PIN_CPU] if placement == "pinned" else []


def check_output(sample: dict, obj, expect_bench: str) -> None:
    """Sets sample["error"] unless obj is the benchmark's JSON line."""
    if obj is None:
        sample["error"] = "no JSON line on stdout"
    elif obj.get("bench") != expect_bench:
        sample["error"] = f"expected bench {expect_bench!r}, got {obj.get('bench')!r}"
    elif not isinstance(obj.get("ns_per_op"), (int, float)) or obj["ns_per_op"] <= 0:
        sample["error"] = "missing or bad ns_per_op"
    else:
        sample["output"] = obj
        sample["ns_per_op"] = float(obj["ns_per_op"])


def read_stats_json(sample: dict, stats_file: Path | None) -> None:
    if stats_file is None:
        return
    try:
        sample["gk_stats"] = json.loads(stats_file.read_text())
    except FileNotFoundError:
        sample["gk_stats_error"] = "guestkernel wrote no --stats-json file"
    except (OSError, ValueError) as e:
        sample["gk_stats_error"] = f"unreadable --stats-json file: {e}"


def cannot_start(argv: list[str], timeout: float) -> str | None:
    """Why argv is not to be run: every absolute path in it must exist (the
    benchmark binary too, when it is guestkernel's argument: a clearer error
    than the guest's), and the smoke run's time budget must not be used up."""
    for a in argv:
        if a.startswith("/") and not Path(a).exists():
            return f"missing binary: {a}"
    if timeout <= 0:
        return "skipped: smoke time budget exhausted"
    return None


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the session we started the command in (guestkernel and its
    guests, or a tracer and its tracees)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_sample(argv: list[str], bench: str, timeout: float,
               stats_file: Path | None = None) -> dict:
    """Run one command; return a sample dict with either ns_per_op or error."""
    sample: dict = {"cmd": argv}
    why = cannot_start(argv, timeout)
    if why:
        sample["error"] = why
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
        kill_group(proc)
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
    check_output(sample, last_json_line(out), bench)
    if "error" in sample:
        sample["stdout_tail"], sample["stderr_tail"] = tail(out), tail(err)
        return sample
    read_stats_json(sample, stats_file)
    return sample


def median_min_max(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "median": statistics.median(values),
            "min": min(values), "max": max(values)}


def fmt_us(ns: float) -> str:
    """ns as µs with about three significant digits."""
    us = ns / 1000.0
    if us < 1:
        return f"{us:.3f}"
    if us < 10:
        return f"{us:.2f}"
    if us < 100:
        return f"{us:.1f}"
    return f"{us:.0f}"


def fmt_num(x: float) -> str:
    """A count or ratio with about three significant digits."""
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


# --------------------------------------------------------------------------
# Debian packages the runner installs when missing (UML, PRoot)


def apt_install(package: str, log_: list) -> bool:
    """apt-get install -y PACKAGE; on failure apt-get update and retry once.
    Every command, its exit status and output tail go into log_."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")

    def run(cmd: list[str]) -> bool:
        log(f"bench: running {' '.join(cmd)}")
        entry: dict = {"cmd": cmd}
        log_.append(entry)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                               stdin=subprocess.DEVNULL, timeout=APT_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as e:
            entry["error"] = str(e)
            return False
        entry["returncode"] = p.returncode
        entry["output_tail"] = tail(p.stdout + p.stderr, 800)
        return p.returncode == 0

    install = ["apt-get", "install", "-y", package]
    if run(install):
        return True
    return run(["apt-get", "update"]) and run(install)


def ensure_tool(what: str, package: str, find, smoke: bool, log_: list):
    """find() the tool, installing `package` with apt-get if it is missing
    (never with --smoke, only as root). Returns (path, None) or (None, reason)."""
    found = find()
    if found is not None:
        return found, None
    if smoke:
        return None, f"{what} is not installed (--smoke never installs packages)"
    if os.geteuid() != 0:
        return None, f"{what} is missing and the runner is not root (apt-get install {package})"
    if not any(os.access(Path(d) / "apt-get", os.X_OK)
               for d in os.environ.get("PATH", "").split(os.pathsep)):
        return None, f"{what} is missing and there is no apt-get"
    if not apt_install(package, log_):
        return None, f"{what} is missing and apt-get install -y {package} failed"
    found = find()
    if found is None:
        return None, f"apt-get installed {package} but no {what} is to be found"
    return found, None


def package_version(package: str) -> str | None:
    try:
        p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None


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
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["mem_total_kib"] = int(line.split()[1])
    except (OSError, ValueError):
        pass
    try:
        info["max_map_count"] = int(Path("/proc/sys/vm/max_map_count").read_text())
    except (OSError, ValueError):
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


def machine_line(info: dict) -> str:
    mem = f", {info['mem_total_kib'] / 1048576:.0f} GiB" if "mem_total_kib" in info else ""
    return (f"{info.get('cpu_model', '?')}, {info.get('nproc', '?')} vCPUs{mem}, "
            f"Linux {info.get('kernel', '?')}")


# --------------------------------------------------------------------------
# One run of the suite: what every section needs to know


class Run:
    """Settings of this run of the suite, shared by its sections."""

    def __init__(self, build: Path, out: Path, smoke: bool, reps: int, timeout: float,
                 backends: list[str], traps: list[str], smoke_budget_s: float):
        self.build = build
        self.out = out
        self.smoke = smoke
        self.reps = reps
        self.timeout = timeout
        self.backends = backends
        self.traps = traps
        self.gk = build / "guestkernel"
        self.guest_bin = build / "rootfs"
        self.taskset = shutil.which("taskset")
        self.started = time.monotonic()
        self.smoke_budget_s = smoke_budget_s
        self.stats_dir = Path(tempfile.mkdtemp(prefix="gk-bench-stats-"))
        self._stats_seq = 0

    def count(self, pair: tuple[int, int]) -> int:
        """(full, smoke) count for this run."""
        return pair[1] if self.smoke else pair[0]

    def run_timeout(self) -> float:
        """The per-run timeout; with --smoke no more than the budget left."""
        if not self.smoke:
            return self.timeout
        return min(self.timeout, self.smoke_budget_s - (time.monotonic() - self.started))

    def gk_systems(self) -> list[tuple[str, str, str]]:
        """(column name, backend, trap mode) of each guestkernel configuration;
        the trap mode is in the name only when there is more than one."""
        return [(f"gk-{b}" + (f"-{t}" if len(self.traps) > 1 else ""), b, t)
                for b in self.backends for t in self.traps]

    def gk_argv(self, backend: str, trap: str, flags: list[str] | tuple = ()) -> tuple[list[str], Path]:
        """guestkernel's command line up to "--", and its --stats-json file."""
        self._stats_seq += 1
        stats = self.stats_dir / f"{self._stats_seq}.json"
        argv = [str(self.gk), f"--mmu={backend}"] + (
            [f"--trap={trap}"] if len(self.traps) > 1 else []) + list(flags) + [
            f"--stats-json={stats}"]
        return argv, stats

    def close(self) -> None:
        shutil.rmtree(self.stats_dir, ignore_errors=True)


def guestkernel_trap_modes(gk: Path) -> tuple[list[str], str | None]:
    """The --trap modes guestkernel offers (from its --help, where CLI11 lists
    them as {a,b}), and whether it has --stats-json: (modes, problem)."""
    if not (gk.is_file() and os.access(gk, os.X_OK)):
        return [], f"{gk} is missing (build first: ninja -C build)"
    try:
        p = subprocess.run([str(gk), "--help"], capture_output=True, text=True,
                           timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as e:
        return [], f"{gk} --help: {e}"
    text = p.stdout + p.stderr
    if "--stats-json" not in text:
        return [], f"{gk} has no --stats-json"
    modes = ["sysemu"]
    for line in text.splitlines():
        if line.strip().startswith("--trap") and "{" in line and "}" in line:
            modes = [m.strip() for m in line[line.index("{") + 1:line.index("}")].split(",")
                     if m.strip()]
    return modes, None
