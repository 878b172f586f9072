"""Whole programs, wall clock: how long a boot and real programs take.

Rows, each in every configuration that can run it, free and pinned:
  boot to init     launch until init prints its first line: guestkernel per
                   backend booting the root UML boots (uml.build_root, the
                   same busybox and /init, whose first line is its marker)
                   with --init /init; UML's own figure is its boot_s from
                   the micro-benchmark boots (report.py puts them side by side)
  boot to prompt   guestkernel boot mode on the default rootfs, on a pty,
                   until the console shell prints its prompt (then
                   `poweroff -f`); natively busybox `sh -i` on a pty until its
                   prompt (the floor: the shell's own start-up)
  gcc compile      gcc -O2 -c of a 500-line C file (rootfs/programs/fsat.c),
                   the host's gcc, natively and under `--rootfs-ro /`
  python3          python3 importing json, hashlib and subprocess, hashing
                   and running a child python
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from . import common, uml
from .common import PLACEMENTS, REPO, Run, log

ROWS = ("boot to init", "boot to prompt", "gcc compile", "python3")
PROMPT = b"guestkernel:/# "  # /etc/profile's PS1 on the default rootfs
PYTHON_CASE = (
    "import json, hashlib, subprocess, sys\n"
    "d = {'primes': [n for n in range(2, 3000) if all(n % k for k in range(2, int(n ** 0.5) + 1))]}\n"
    "h = hashlib.sha256(json.dumps(d).encode() * 200).hexdigest()\n"
    "r = subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True)\n"
    "print(len(d['primes']), h[:12], r.stdout.strip())\n")


def _end(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def until_on_pty(argv: list[str], marker: bytes, then: bytes, timeout: float) -> float:
    """Starts argv on a new pty; the seconds until `marker` shows on it. Then
    types `then` and waits (up to the timeout) for the program to end."""
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    seen, found_at = b"", None
    try:
        while time.monotonic() - t0 < timeout:
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    chunk = b""  # EIO: the program is gone
                if not chunk:
                    break
                seen += chunk
                if found_at is None and marker in seen:
                    found_at = time.monotonic() - t0
                    os.write(fd, then)
            if os.waitpid(pid, os.WNOHANG)[0]:
                pid = 0
                break
        if found_at is None:
            raise RuntimeError(f"no {marker!r} within {timeout:.0f} s; output: {common.tail(repr(seen), 400)}")
        return found_at
    finally:
        if pid:
            _end(pid)
        os.close(fd)


def until_line(argv: list[str], marker: str, timeout: float) -> float:
    """Starts argv with stdout on a pipe; the seconds until a line starting
    with `marker`. Then SIGTERM (the kernel's guest shutdown)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        for raw in p.stdout:
            if raw.decode(errors="replace").startswith(marker):
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                break
        raise RuntimeError(f"no line {marker!r} (exit status {p.poll()})")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wall(argv: list[str], timeout: float) -> float:
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    took = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"exit status {p.returncode}: {common.tail(p.stderr.decode(errors='replace'), 400)}")
    return took


def jobs(run: Run, tmp: Path, init_root: Path | None) -> list[tuple[str, str, object]]:
    """(row, system, thunk(pin prefix, timeout) -> seconds)."""
    src = str(REPO / "rootfs" / "programs" / "fsat.c")
    gcc = ["/usr/bin/gcc", "-O2", "-c", src, "-o", str(tmp / "fsat.o")]
    py = ["/usr/bin/python3", "-c", PYTHON_CASE]
    busybox = shutil.which("busybox") or "/bin/busybox"
    out = [("boot to prompt", "native", lambda pin, t: until_on_pty(
        pin + ["env", "-i", "PS1=" + PROMPT.decode(), busybox, "sh", "-i"], PROMPT, b"exit\r", t))]
    for name, backend, trap in run.gk_systems():
        gk = [str(run.gk), f"--mmu={backend}"] + ([f"--trap={trap}"] if len(run.traps) > 1 else [])
        if init_root:
            out.append(("boot to init", name, lambda pin, t, gk=gk: until_line(
                pin + gk + ["--quiet", "--rootfs-ro", str(init_root), "--init", "/init"], uml.UML_MARK + " init", t)))
        out.append(("boot to prompt", name, lambda pin, t, gk=gk: until_on_pty(
            pin + gk + ["--quiet"], PROMPT, b"poweroff -f\r", t)))
        out.append(("gcc compile", name, lambda pin, t, gk=gk: wall(pin + gk + ["--rootfs-ro", "/", "--"] + gcc, t)))
        out.append(("python3", name, lambda pin, t, gk=gk: wall(pin + gk + ["--rootfs-ro", "/", "--"] + py, t)))
    out.append(("gcc compile", "native", lambda pin, t: wall(pin + gcc, t)))
    out.append(("python3", "native", lambda pin, t: wall(pin + py, t)))
    return out


def run_wallclock(run: Run, reps: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="gk-wallclock-"))
    # The root UML boots (built by uml.prepare when UML is there, else here).
    init_root = run.out / "uml-root"
    busybox = uml.find_static_busybox()
    if not (init_root / "init").exists() and busybox:
        init_root, _ = uml.build_root(tmp, run.guest_bin, busybox, [], [])
    if not (init_root / "init").exists():
        init_root = None
    samples: list[dict] = []
    try:
        work = jobs(run, tmp, init_root)
        for rep in range(reps):  # rep-major: drift hits every configuration alike
            for row, system, thunk in work:
                for placement in PLACEMENTS:
                    s = {"row": row, "system": system, "placement": placement, "rep": rep}
                    try:
                        s["s"] = round(thunk(common.pin_prefix(placement, run.taskset),
                                             max(5.0, run.run_timeout())), 4)
                    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                        s["error"] = str(e)
                    samples.append(s)
                    log(f"[wallclock] rep {rep} {system}/{placement:<6} {row:<15} "
                        + (f"{s['s']:.3f} s" if "s" in s else f"ERROR: {s['error']}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary: dict = {}
    for s in samples:
        e = summary.setdefault(f"{s['row']}|{s['system']}/{s['placement']}", {"s": [], "errors": []})
        if "error" in s:
            e["errors"].append(f"rep {s['rep']}: {s['error']}")
        else:
            e["s"].append(s["s"])
    for e in summary.values():
        st = common.median_min_max(e.pop("s"))
        e["ok"] = not e["errors"] and st["n"] > 0
        if st["n"]:
            e.update(n=st["n"], median_s=st["median"], min_s=st["min"], max_s=st["max"])
    return {"rows": list(ROWS), "samples": samples, "summary": summary}
