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
  uml         User-Mode Linux (Debian's linux.uml) booted on a throw-away
              hostfs root under the output folder; one boot per rep and
              placement runs every guest benchmark (installed with apt-get
              if missing and the runner is root, except with --smoke; if it
              cannot be had, its column shows "n/a" and that is no error)
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
import threading
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
    "fork": (200, 5),
    "forkexec": (100, 5),
    "cow_pages": (1024, 16),
    "file_ops": (20000, 200),
    "pipe_rounds": (5000, 50),
    "pipe_chunks": (2000, 20),   # 64 KiB each
}
SMOKE_BUDGET_S = 25.0      # the whole smoke run stays under 30 s
DEFAULT_TIMEOUT_S = 300.0  # per run, full mode
SMOKE_TIMEOUT_S = 10.0     # per run, smoke mode

BENCH_ORDER = ("null_syscall", "fault_seq", "fault_scatter", "fault_single",
               "cow_fault", "fork_exit_wait", "fork_exec_wait", "file_open", "file_stat",
               "file_read", "file_write", "file_pipe", "file_tput", "ptrace_rtt")
BENCH_LABEL = {
    "null_syscall": "null syscall (getppid)",
    "fault_seq": "page fault, sequential",
    "fault_scatter": "page fault, scattered",
    "fault_single": "page fault, scattered, one page per fault",
    "cow_fault": "copy-on-write fault (forked child)",
    "fork_exit_wait": "fork + _exit + waitpid",
    "fork_exec_wait": "fork + execve(true_static) + waitpid",
    "file_open": "open + close (/tmp)",
    "file_stat": "stat (/tmp)",
    "file_read": "pread 4 KiB (/tmp)",
    "file_write": "pwrite 4 KiB (/tmp)",
    "file_pipe": "pipe ping-pong, one round trip",
    "file_tput": "pipe throughput, per 64 KiB",
    "ptrace_rtt": "raw ptrace round trip",
}
# Rows whose gk-*/rtt ratio column divides by 2 × rtt (a fault needs at least
# two round trips); null_syscall divides by one; other rows get no ratio.
FAULT_BENCHES = ("fault_seq", "fault_scatter", "fault_single", "cow_fault")


# --------------------------------------------------------------------------
# Configurations and jobs


def system_names(backends: list[str], uml: bool = False) -> list[str]:
    return (["native"] + [f"gk-{b}" for b in backends] + (["uml"] if uml else [])
            + ["ptrace"])


def config_id(system: str, placement: str) -> str:
    return f"{system}/{placement}"


# The static guest programs the benchmarks need (build/rootfs/NAME-musl).
GUEST_PROGRAMS = ("bench_syscall", "bench_fault", "bench_cow", "bench_fork",
                  "bench_forkexec", "true_static", "bench_file")


def guest_jobs(bindir: str, smoke: bool, single: bool = True) -> list[tuple[str, list[str]]]:
    """The guest benchmark programs, from folder bindir (a host path, or the
    path inside UML's root): (benchmark name, argv)."""
    i = 1 if smoke else 0
    prog = {name: f"{bindir}/{name}-musl" for name in GUEST_PROGRAMS}
    pages = str(COUNTS["fault_pages"][i])
    jobs = [
        ("null_syscall", [prog["bench_syscall"], str(COUNTS["null_syscall"][i])]),
        ("fault_seq", [prog["bench_fault"], pages, "seq"]),
        ("fault_scatter", [prog["bench_fault"], pages, "scatter"]),
        # The latency of one fault: guestkernel maps only the faulting page.
        ("fault_single", [prog["bench_fault"], pages, "scatter"]),
        ("cow_fault", [prog["bench_cow"], str(COUNTS["cow_pages"][i])]),
        ("fork_exit_wait", [prog["bench_fork"], str(COUNTS["fork"][i])]),
        ("fork_exec_wait", [prog["bench_forkexec"], prog["true_static"],
                            str(COUNTS["forkexec"][i])]),
    ]
    ops, rounds, chunks = (str(COUNTS[k][i]) for k in ("file_ops", "pipe_rounds", "pipe_chunks"))
    for kind, n in (("open", ops), ("stat", ops), ("read", ops), ("write", ops),
                    ("pipe", rounds), ("tput", chunks)):
        jobs.append((f"file_{kind}", [prog["bench_file"], kind, n, "/tmp"]))
    return [j for j in jobs if single or j[0] != "fault_single"]


def jobs_for(system: str, build: Path, smoke: bool) -> list[tuple[str, list[str]]]:
    """(benchmark name, argv without placement/guestkernel prefix). UML is
    not in here: one boot runs all its benchmarks (see run_uml)."""
    i = 1 if smoke else 0
    if system == "ptrace":
        return [("ptrace_rtt", [str(build / "bench" / "ptrace_rtt"),
                                "--iters", str(COUNTS["ptrace_iters"][i])])]
    if system == "uml":
        return []
    return guest_jobs(str(build / "rootfs"), smoke)


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
# User-Mode Linux


UML_PACKAGE = "user-mode-linux"
BUSYBOX_PACKAGE = "busybox-static"
UML_MARK = "@@gk-bench"       # prefix of the /init script's marker lines
APT_TIMEOUT_S = 900.0
UML_POWEROFF_WAIT_S = 10.0
# Under uml_fpfix's seccomp filter (see bench/uml_fpfix.cpp) UML keeps only
# the x87/SSE part of a guest process's FPU state, and the AVX-512 registers
# of guest code do not survive (busybox's glibc, which picks AVX-512 string
# functions, dies at once). This environment variable, passed to /init on the
# kernel command line and inherited by everything it starts, makes glibc keep
# to its SSE2 functions. The benchmark programs (musl) use no AVX at all.
UML_FPFIX_ENV = ("GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,"
                 "-AVX512DQ,-AVX512CD,-AVX2,-AVX,-AVX_Fast_Unaligned_Load")


def is_static_elf(path: Path) -> bool:
    """True for an ELF executable without a PT_INTERP program header."""
    try:
        with open(path, "rb") as f:
            hdr = f.read(64)
            if len(hdr) < 64 or hdr[:4] != b"\x7fELF" or hdr[4] != 2:  # 64-bit only
                return False
            order = "little" if hdr[5] == 1 else "big"
            phoff = int.from_bytes(hdr[32:40], order)
            phentsize = int.from_bytes(hdr[54:56], order)
            phnum = int.from_bytes(hdr[56:58], order)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return False
    for k in range(phnum):
        if int.from_bytes(table[k * phentsize:k * phentsize + 4], order) == 3:  # PT_INTERP
            return False
    return True


def find_linux_uml() -> Path | None:
    for cand in (shutil.which("linux.uml"), "/usr/bin/linux.uml"):
        if cand and os.access(cand, os.X_OK):
            return Path(cand)
    return None


def find_static_busybox() -> Path | None:
    for cand in ("/bin/busybox", "/usr/bin/busybox", shutil.which("busybox")):
        if cand and os.access(cand, os.X_OK) and is_static_elf(Path(cand)):
            return Path(cand)
    return None


def apt_install(package: str, log: list) -> bool:
    """apt-get install -y PACKAGE; on failure apt-get update and retry once.
    Every command, its exit status and output tail go into log."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")

    def run(cmd: list[str]) -> bool:
        print(f"uml: running {' '.join(cmd)}", file=sys.stderr, flush=True)
        entry: dict = {"cmd": cmd}
        log.append(entry)
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


def uml_prepare(may_install: bool, smoke: bool, build: Path) -> dict:
    """Find (or install) linux.uml and a static busybox, and ask uml_fpfix
    whether this host needs it. Returns {"available": bool, "reason": str
    (when not), "linux_uml", "busybox", "fpfix": {...} or None,
    "install_log": [...] (when apt-get ran)}."""
    info: dict = {"available": False}
    log: list = []
    uml = find_linux_uml()
    busybox = find_static_busybox()
    for what, pkg in (("linux.uml", UML_PACKAGE), ("static busybox", BUSYBOX_PACKAGE)):
        found = uml if what == "linux.uml" else busybox
        if found is not None:
            continue
        if smoke:
            info["reason"] = f"{what} is not installed (--smoke never installs packages)"
        elif not may_install:
            info["reason"] = f"{what} is missing and the runner is not root (apt-get install {pkg})"
        elif shutil.which("apt-get") is None:
            info["reason"] = f"{what} is missing and there is no apt-get"
        elif not apt_install(pkg, log):
            info["reason"] = f"{what} is missing and apt-get install -y {pkg} failed"
        else:
            uml, busybox = find_linux_uml(), find_static_busybox()
            found = uml if what == "linux.uml" else busybox
            if found is None:
                info["reason"] = f"apt-get installed {pkg} but no {what} is to be found"
        if "reason" in info:
            break
    if log:
        info["install_log"] = log
    if "reason" in info:
        return info
    info.update(available=True, linux_uml=str(uml), busybox=str(busybox), fpfix=None)
    fpfix = build / "bench" / "uml_fpfix"
    try:
        p = subprocess.run([str(fpfix), "--probe"], capture_output=True, text=True, timeout=10)
        probe = json.loads(p.stdout)
        info["fpfix"] = dict(probe, path=str(fpfix))
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        info["fpfix_error"] = f"{fpfix} --probe: {e}"
    try:
        p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", UML_PACKAGE],
                           capture_output=True, text=True, timeout=10)
        if p.returncode == 0 and p.stdout.strip():
            info["package_version"] = p.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def uml_build_root(out: Path, build: Path, busybox: Path, smoke: bool) -> tuple[Path, list[str]]:
    """The throw-away hostfs root out/uml-root: static busybox with its applet
    links in /bin, the benchmark programs in /bench, and an /init script that
    runs every benchmark (each between marker lines) and powers off.
    Returns (root, list of guest programs missing from the build)."""
    root = out / "uml-root"
    if root.exists():
        shutil.rmtree(root)
    for d in ("bin", "bench", "dev", "proc", "sys", "tmp"):
        (root / d).mkdir(parents=True)
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = {"sh", "mount", "cat", "echo", "poweroff", "halt", "reboot", "sleep", "sync"}
    try:
        p = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, timeout=10)
        applets.update(a.strip() for a in p.stdout.split() if a.strip() and "/" not in a)
    except (OSError, subprocess.SubprocessError):
        pass
    for a in sorted(applets - {"busybox"}):
        (root / "bin" / a).symlink_to("busybox")
    try:  # the initial console, should the kernel not mount devtmpfs itself
        os.mknod(root / "dev" / "console", 0o600 | 0o020000, os.makedev(5, 1))
    except OSError:
        pass
    missing = []
    for name in GUEST_PROGRAMS:
        src = build / "rootfs" / f"{name}-musl"
        if src.is_file():
            shutil.copy2(src, root / "bench" / src.name)
        else:
            missing.append(str(src))
    lines = [
        "#!/bin/sh",
        "# Generated by bench/run.py: runs guestkernel's benchmarks under UML.",
        "export PATH=/bin",
        "[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev 2>/dev/null",
        "[ -r /proc/uptime ] || mount -t proc proc /proc",
        "mount -t tmpfs tmpfs /tmp",  # as guestkernel mounts its own tmpfs on /tmp
        f'echo "{UML_MARK} init $(cat /proc/uptime)"',
    ]
    for bench, argv in guest_jobs("/bench", smoke, single=False):
        lines.append(f'echo "{UML_MARK} begin {bench}"')
        lines.append(" ".join(argv))
        lines.append(f'echo "{UML_MARK} end {bench} $?"')
    lines += [
        f'echo "{UML_MARK} done $(cat /proc/uptime)"',
        "poweroff -f",
        "halt -f",
        f'echo "{UML_MARK} poweroff failed"',
        "sleep 3600",
        "",
    ]
    init = root / "init"
    init.write_text("\n".join(lines))
    init.chmod(0o755)
    return root, missing


def session_members(sid: int) -> list[dict]:
    """Processes (not zombies) whose session id is sid, from /proc."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        rest = stat[stat.rfind(")") + 2:].split()
        # rest: state ppid pgrp session ...
        if len(rest) > 3 and int(rest[3]) == sid and rest[0] != "Z":
            found.append({"pid": int(d.name), "state": rest[0],
                          "comm": stat[stat.find("(") + 1:stat.rfind(")")]})
    return found


def kill_session(sid: int) -> list[dict]:
    """SIGKILL every process of session sid (its leader's pid, which is also
    its process group); returns what was still alive afterwards."""
    for _ in range(20):
        members = session_members(sid)
        if not members:
            return []
        for m in members:
            try:
                os.kill(m["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    return session_members(sid)


def run_uml(uml: dict, root: Path, placement: str, taskset: str | None,
            timeout: float, smoke: bool) -> tuple[dict, list[dict]]:
    """Boot UML once on root; returns (boot record, samples per benchmark)."""
    argv = [uml["linux_uml"], "mem=256M", "rootfstype=hostfs", f"hostfs={root}", "rw",
            "init=/init", "con=null", "con0=fd:0,fd:1", "quiet",
            f"uml_dir={root.parent / 'uml-dir'}"]
    fpfix = uml.get("fpfix")
    if fpfix and fpfix.get("filter"):
        argv = [fpfix["path"]] + argv + [UML_FPFIX_ENV]
    (root.parent / "uml-dir").mkdir(exist_ok=True)
    if placement == "pinned":
        argv = [taskset or "/usr/bin/taskset", "-c", PIN_CPU] + argv
    benches = [b for b, _ in guest_jobs("/bench", smoke, single=False)]
    boot: dict = {"cmd": argv}

    def fail_all(msg: str) -> tuple[dict, list[dict]]:
        boot["error"] = msg
        return boot, [{"cmd": argv, "bench": b, "error": msg,
                       "guest_cmd": dict(guest_jobs("/bench", smoke, single=False))[b]}
                      for b in benches]

    if timeout <= 0:
        return fail_all("skipped: smoke time budget exhausted")
    lines: list[tuple[float, str]] = []
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as e:
        return fail_all(f"cannot run: {e}")
    err_chunks: list[bytes] = []

    def read_out():
        for raw in proc.stdout:
            lines.append((time.monotonic() - t0, raw.decode("utf-8", "replace").rstrip("\r\n")))

    def read_err():
        err_chunks.append(proc.stderr.read())

    readers = [threading.Thread(target=read_out, daemon=True),
               threading.Thread(target=read_err, daemon=True)]
    for r in readers:
        r.start()
    # Wait for UML to power off; give up at the timeout, or 10 s after /init
    # said it was done (should poweroff -f and halt -f both have failed).
    timed_out = no_poweroff = False
    while proc.poll() is None:
        now = time.monotonic() - t0
        if now >= timeout:
            timed_out = True
            break
        done_at = next((t for t, text in list(lines)
                        if text.startswith(f"{UML_MARK} done")), None)
        if done_at is not None and now - done_at > UML_POWEROFF_WAIT_S:
            no_poweroff = True
            break
        time.sleep(0.02)
    # UML leaves helper processes (and, killed, its children) behind: kill
    # the whole session it ran in, and check that nothing of it survives.
    leftovers = kill_session(proc.pid)
    proc.wait()
    for r in readers:
        r.join(timeout=5)
    # A killed UML leaves its umid folder (pid file, mconsole socket) behind.
    for d in (root.parent / "uml-dir").iterdir():
        shutil.rmtree(d, ignore_errors=True)
    boot["wall_s"] = round(time.monotonic() - t0, 4)
    boot["returncode"] = proc.returncode
    if leftovers:
        boot["leftover_processes"] = leftovers
    console = "\n".join(text for _, text in lines)
    stderr = b"".join(err_chunks).decode("utf-8", "replace")

    # Parse the console: marker lines, and the JSON line of each benchmark.
    results: dict = {}
    current = None
    for t, text in lines:
        if text.startswith(UML_MARK + " "):
            words = text.split()
            if words[1] == "init":
                boot["boot_s"] = round(t, 4)
                if len(words) > 2:
                    boot["guest_uptime_at_init_s"] = float(words[2])
            elif words[1] == "done":
                boot["benchmarks_done_s"] = round(t, 4)
            elif words[1] == "begin" and len(words) > 2:
                current = words[2]
                results[current] = {"json": None}
            elif words[1] == "end" and len(words) > 3 and words[2] in results:
                results[words[2]]["status"] = words[3]
                current = None
            continue
        if current is not None and text.lstrip().startswith("{"):
            try:
                obj = json.loads(text.strip())
            except ValueError:
                continue
            if isinstance(obj, dict):
                results[current]["json"] = obj
    if "benchmarks_done_s" in boot:
        boot["shutdown_s"] = round(boot["wall_s"] - boot["benchmarks_done_s"], 4)

    problem = None
    if timed_out:
        problem = f"timeout after {timeout:.3g} s"
    elif no_poweroff:
        boot["error"] = (f"UML did not power off within {UML_POWEROFF_WAIT_S:.0f} s "
                         f"after /init was done; killed")
    elif "boot_s" not in boot:
        problem = f"UML exited with status {proc.returncode} before /init ran"
    if problem or leftovers:
        boot["console_tail"], boot["stderr_tail"] = tail(console, 3000), tail(stderr)
    if leftovers:
        boot["error"] = f"{len(leftovers)} UML process(es) survived SIGKILL"
    elif problem:
        boot["error"] = problem
    if no_poweroff and "console_tail" not in boot:
        boot["console_tail"], boot["stderr_tail"] = tail(console, 3000), tail(stderr)

    samples = []
    for bench in benches:
        s: dict = {"cmd": argv, "bench": bench,
                   "guest_cmd": dict(guest_jobs("/bench", smoke, single=False))[bench]}
        r = results.get(bench)
        if r is None:
            s["error"] = problem or "benchmark did not start"
        elif r.get("status") is None:
            s["error"] = problem or "benchmark did not finish"
        elif r["status"] != "0":
            s["error"] = f"exit status {r['status']}"
        elif r["json"] is None:
            s["error"] = "no JSON line on the console"
        elif r["json"].get("bench") != bench:
            s["error"] = f"expected bench {bench!r}, got {r['json'].get('bench')!r}"
        elif not isinstance(r["json"].get("ns_per_op"), (int, float)) or r["json"]["ns_per_op"] <= 0:
            s["error"] = "missing or bad ns_per_op"
        else:
            s["output"] = r["json"]
            s["ns_per_op"] = float(r["json"]["ns_per_op"])
        if "error" in s and "console_tail" not in boot:
            boot["console_tail"], boot["stderr_tail"] = tail(console, 3000), tail(stderr)
        samples.append(s)
    return boot, samples


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


def cell(agg: dict, cfg: str, bench: str, unavailable: frozenset = frozenset()):
    """(text, median_ns or None)."""
    if cfg.split("/")[0] in unavailable:
        return "n/a", None
    e = agg.get(cfg, {}).get(bench)
    if e is None:
        return "—", None
    if not e["ok"]:
        return "error", None
    return fmt_us(e["median_ns"]), e["median_ns"]


def make_table(agg: dict, systems: list[str], info: dict, reps: int,
               smoke: bool, uml: dict | None = None,
               uml_boots: list[dict] | None = None) -> str:
    backends = [s for s in systems if s.startswith("gk-")]
    uml_na = frozenset({"uml"}) if uml is not None and not uml.get("available") else frozenset()
    lines = ["# guestkernel benchmarks", ""]
    lines.append(f"{info.get('cpu_model', '?')}, {info.get('nproc', '?')} CPUs, "
                 f"Linux {info.get('kernel', '?')}; {reps} rep(s){', SMOKE counts' if smoke else ''}; "
                 f"medians in µs per operation.")
    lines.append("Ratios: guest null syscall / raw ptrace round trip; "
                 "guest page fault (first touch or copy-on-write) / (2 × raw ptrace "
                 "round trip), same placement.")
    if "uml" in systems:
        lines.append("best gk / uml: the fastest gk-* column ÷ the uml column "
                     "(below 1.00: guestkernel is faster).")
        if uml_na:
            lines.append(f"uml: n/a — {uml.get('reason', 'not available')}.")
        elif uml and uml.get("package_version"):
            lines.append(f"uml: Debian {UML_PACKAGE} {uml['package_version']}, hostfs root, "
                         f"one boot per rep and placement runs every benchmark.")
    for placement in PLACEMENTS:
        title = ("free placement (no pinning)" if placement == "free"
                 else f"pinned to one CPU (taskset -c {PIN_CPU})")
        lines += ["", f"## {title}", ""]
        header = (["benchmark"] + systems + [f"{b} / rtt" for b in backends]
                  + (["best gk / uml"] if "uml" in systems and backends else []))
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        rtt_text, rtt = cell(agg, config_id("ptrace", placement), "ptrace_rtt")
        for bench in BENCH_ORDER:
            row = [BENCH_LABEL[bench]]
            values = {}
            for sysname in systems:
                text, v = cell(agg, config_id(sysname, placement), bench, uml_na)
                if sysname == "uml" and bench in ("fault_single", "ptrace_rtt"):
                    text, v = "—", None
                row.append(text)
                values[sysname] = (text, v)
            for b in backends:
                text, v = values[b]
                if bench not in FAULT_BENCHES and bench != "null_syscall" or text == "—":
                    row.append("—")
                elif v is None or rtt is None:
                    row.append("error")
                else:
                    denom = rtt if bench == "null_syscall" else 2 * rtt
                    row.append(f"{v / denom:.2f}")
            if "uml" in systems and backends:
                utext, u = values["uml"]
                gks = [values[b][1] for b in backends]
                if utext in ("—", "n/a"):
                    row.append(utext)
                elif u is None or None in gks:
                    row.append("error")
                else:
                    row.append(f"{min(gks) / u:.2f}")
            lines.append("| " + " | ".join(row) + " |")
        boots = [b["boot_s"] for b in uml_boots or [] if b.get("placement") == placement
                 and "boot_s" in b]
        if boots:
            lines += ["", f"UML boot (launch to /init running), median of {len(boots)}: "
                          f"{statistics.median(boots):.2f} s."]
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
    ax.set_xticklabels([BENCH_LABEL[b] for b in benches], rotation=15, ha="right", fontsize=8)
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
                    "backend, User-Mode Linux, and the raw ptrace round trip, each "
                    "unpinned and pinned to one CPU.")
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
    ap.add_argument("--no-uml", action="store_true",
                    help="leave out the User-Mode Linux configuration")
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
    uml = None
    if not args.no_uml:
        uml = uml_prepare(may_install=os.geteuid() == 0, smoke=args.smoke, build=build)
        if uml["available"]:
            root, missing = uml_build_root(out, build, Path(uml["busybox"]), args.smoke)
            uml["root"] = str(root)
            if missing:
                uml["missing_programs"] = missing
            print(f"uml: {uml['linux_uml']}, hostfs root {root}", file=sys.stderr)
        else:
            print(f"uml: n/a ({uml['reason']})", file=sys.stderr)
    systems = system_names(args.backends, uml=uml is not None)
    configs = [config_id(s, p) for s in systems for p in PLACEMENTS]
    info = machine_info()
    if "runner_affinity" in info and len(info["runner_affinity"]) != info.get("nproc"):
        print(f"warning: runner is restricted to CPUs {info['runner_affinity']}; "
              f"'free' runs inherit that", file=sys.stderr)

    samples: list[dict] = []
    uml_boots: list[dict] = []
    run_uml_too = uml is not None and uml["available"]
    stats_dir = Path(tempfile.mkdtemp(prefix="gk-bench-stats-"))
    total_runs = args.reps * (sum(len(jobs_for(s, build, args.smoke)) for s in systems)
                              + (1 if run_uml_too else 0)) * 2
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
            # UML: one boot per placement runs all its benchmarks.
            for placement in PLACEMENTS if run_uml_too else ():
                cfg = config_id("uml", placement)
                timeout = args.timeout
                if args.smoke:
                    timeout = min(timeout, SMOKE_BUDGET_S - (time.monotonic() - started))
                boot, uml_samples = run_uml(uml, Path(uml["root"]), placement, taskset,
                                            timeout, args.smoke)
                boot.update(config=cfg, placement=placement, rep=rep)
                uml_boots.append(boot)
                for s in uml_samples:
                    s.update(config=cfg, system="uml", placement=placement, rep=rep)
                    samples.append(s)
                done += 1
                status = ", ".join(
                    f"{s['bench']} " + (f"{s['ns_per_op'] / 1000:.3f} µs" if "error" not in s
                                        else f"ERROR: {s['error']}") for s in uml_samples)
                boot_s = f"boot {boot['boot_s']:.2f} s" if "boot_s" in boot else "no boot"
                print(f"[{done}/{total_runs}] rep {rep} {cfg:<18} {boot_s}; {status}"
                      + (f"; BOOT ERROR: {boot['error']}" if "error" in boot else ""),
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
    # UML boot trouble that its benchmark samples do not show.
    errored += sorted(f"{b['config']} rep {b['rep']} boot: {b['error']}" for b in uml_boots
                      if "error" in b and ("leftover_processes" in b
                                           or "did not power off" in b["error"]))
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
        "uml": uml if uml is not None else {"available": False, "reason": "--no-uml"},
        "uml_boots": uml_boots,
        "samples": samples,
        "summary": summary,
        "errors": errored,
    }
    table = make_table(summary, systems, info, args.reps, args.smoke, uml, uml_boots)
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
