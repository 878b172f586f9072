"""User-Mode Linux (Debian's linux.uml) as a configuration: one boot per rep
and placement, on a throw-away hostfs root under the output folder, runs
every guest benchmark between marker lines on its console (bench/README.md,
"User-Mode Linux")."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from . import common
from .common import Run, tail

UML_PACKAGE = "user-mode-linux"
BUSYBOX_PACKAGE = "busybox-static"
UML_MARK = "@@gk-bench"       # prefix of the /init script's marker lines
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


def prepare(run: Run, jobs: list[tuple[str, list[str]]], programs: list[str]) -> dict:
    """Find (or install) linux.uml and a static busybox, ask uml_fpfix whether
    this host needs it, and build the root that runs `jobs` (benchmark name,
    argv inside UML) with `programs` in /bench. Returns {"available": bool,
    "reason" (when not), "linux_uml", "busybox", "fpfix", "install_log", ...}."""
    info: dict = {"available": False}
    install_log: list = []
    found = {}
    for what, pkg, find in (("linux.uml", UML_PACKAGE, find_linux_uml),
                            ("static busybox", BUSYBOX_PACKAGE, find_static_busybox)):
        found[what], reason = common.ensure_tool(what, pkg, find, run.smoke, install_log)
        if reason:
            info["reason"] = reason
            break
    if install_log:
        info["install_log"] = install_log
    if "reason" in info:
        return info
    info.update(available=True, linux_uml=str(found["linux.uml"]),
                busybox=str(found["static busybox"]), fpfix=None)
    fpfix = run.build / "bench" / "uml_fpfix"
    try:
        p = subprocess.run([str(fpfix), "--probe"], capture_output=True, text=True, timeout=10)
        info["fpfix"] = dict(json.loads(p.stdout), path=str(fpfix))
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        info["fpfix_error"] = f"{fpfix} --probe: {e}"
    version = common.package_version(UML_PACKAGE)
    if version:
        info["package_version"] = version
    root, missing = build_root(run.out, run.guest_bin, Path(info["busybox"]), jobs, programs)
    info.update(root=str(root), jobs=jobs)
    if missing:
        info["missing_programs"] = missing
    return info


def build_root(out: Path, guest_bin: Path, busybox: Path, jobs: list[tuple[str, list[str]]],
               programs: list[str]) -> tuple[Path, list[str]]:
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
    for name in programs:
        src = guest_bin / f"{name}-musl"
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
    for bench, argv in jobs:
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


def run_boot(uml: dict, placement: str, run: Run) -> tuple[dict, list[dict]]:
    """Boot UML once on its root; returns (boot record, samples per benchmark)."""
    root, timeout = Path(uml["root"]), run.run_timeout()
    guest_cmd = dict(uml["jobs"])
    benches = list(guest_cmd)
    argv = [uml["linux_uml"], "mem=256M", "rootfstype=hostfs", f"hostfs={root}", "rw",
            "init=/init", "con=null", "con0=fd:0,fd:1", "quiet",
            f"uml_dir={root.parent / 'uml-dir'}"]
    fpfix = uml.get("fpfix")
    if fpfix and fpfix.get("filter"):
        argv = [fpfix["path"]] + argv + [UML_FPFIX_ENV]
    (root.parent / "uml-dir").mkdir(exist_ok=True)
    argv = common.pin_prefix(placement, run.taskset) + argv
    boot: dict = {"cmd": argv}

    def fail_all(msg: str) -> tuple[dict, list[dict]]:
        boot["error"] = msg
        return boot, [{"cmd": argv, "bench": b, "error": msg,
                       "guest_cmd": guest_cmd[b]}
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
                   "guest_cmd": guest_cmd[bench]}
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
