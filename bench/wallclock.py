#!/usr/bin/env python3
"""Whole-program wall times: how long a boot and real programs take.

    python3 bench/wallclock.py --build build [--reps N] [--smoke] [--out DIR]

Rows (each in every configuration that can run it, free and pinned to one CPU):
  boot to prompt   guestkernel boot mode on the default rootfs, on a pty, from
                   launch until the console shell prints its prompt (then
                   `poweroff -f`); natively, busybox `sh -i` on a pty until its
                   prompt (the floor: the shell's own start-up); under User-Mode
                   Linux, the same rootfs booted by UML's kernel to the same
                   prompt, when bench/run.py found UML (uml_boot_to_prompt)
  gcc compile      gcc -O2 of a 500-line C file (rootfs/programs/fsat.c), the
                   host's gcc, natively and under `--rootfs-ro /`
  python3          python3 importing json, hashlib and subprocess, hashing a
                   file and running a child process

Writes wallclock.json and wallclock.md to --out; bench/run.py runs it as part
of the whole suite. Times are medians of --reps runs, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROMPT = b"guestkernel:/# "  # /etc/profile's PS1 on the default rootfs
PIN = ["taskset", "-c", "0"]
PYTHON_CASE = (
    "import json, hashlib, subprocess, sys\n"
    "d = {'primes': [n for n in range(2, 3000) if all(n % k for k in range(2, int(n ** 0.5) + 1))]}\n"
    "h = hashlib.sha256(json.dumps(d).encode() * 200).hexdigest()\n"
    "r = subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True)\n"
    "print(len(d['primes']), h[:12], r.stdout.strip())\n")


def on_pty_until(argv: list[str], marker: bytes, then: bytes, timeout: float) -> float:
    """Starts argv on a new pty; returns the seconds until `marker` appears
    on it, then types `then` and waits for the program to end."""
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
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break  # EIO: the program is gone
                if not chunk:
                    break
                seen += chunk
                if found_at is None and marker in seen:
                    found_at = time.monotonic() - t0
                    os.write(fd, then)
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                pid = 0
                break
        if found_at is None:
            raise RuntimeError(f"no {marker!r} within {timeout:.0f} s; output: {seen[-400:]!r}")
        return found_at
    finally:
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        os.close(fd)


def wall(argv: list[str], timeout: float, cwd: str | None = None) -> float:
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, timeout=timeout, cwd=cwd)
    took = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"exit status {p.returncode}: {p.stderr.decode(errors='replace')[-400:]}")
    return took


def jobs(build: Path, backends: list[str], tmp: str, uml: dict | None) -> list[tuple[str, str, object]]:
    """(row, system, thunk(pinned) -> seconds)."""
    gk = str(build / "guestkernel")
    src = str(REPO / "rootfs" / "programs" / "fsat.c")
    out = []
    pin = lambda pinned, argv: (PIN + argv) if pinned else argv

    def gcc(prefix):
        return lambda pinned: wall(pin(pinned, prefix + ["/usr/bin/gcc", "-O2", "-c", src, "-o",
                                                         f"{tmp}/fsat.o"]), 300)

    def py(prefix):
        return lambda pinned: wall(pin(pinned, prefix + ["/usr/bin/python3", "-c", PYTHON_CASE]), 300)

    busybox = shutil.which("busybox") or "/bin/busybox"
    out.append(("boot to prompt", "native", lambda pinned: on_pty_until(
        pin(pinned, ["env", "-i", "PS1=guestkernel:/# ", busybox, "sh", "-i"]), PROMPT, b"exit\r", 60)))
    for b in backends:
        out.append(("boot to prompt", f"gk-{b}", lambda pinned, b=b: on_pty_until(
            pin(pinned, [gk, f"--mmu={b}", "--quiet"]), PROMPT, b"poweroff -f\r", 60)))
    if uml and uml.get("boot_to_prompt"):
        out.append(("boot to prompt", "uml", lambda pinned: on_pty_until(
            pin(pinned, uml["boot_to_prompt"]), PROMPT, b"poweroff -f\r", 120)))
    out.append(("gcc compile", "native", gcc([])))
    out.append(("python3", "native", py([])))
    for b in backends:
        prefix = [gk, f"--mmu={b}", "--rootfs-ro", "/", "--"]
        out.append(("gcc compile", f"gk-{b}", gcc(prefix)))
        out.append(("python3", f"gk-{b}", py(prefix)))
    return out


def run(build: Path, backends: list[str], reps: int, uml: dict | None = None, log=sys.stderr) -> dict:
    tmp = tempfile.mkdtemp(prefix="gk-wallclock-")
    samples = []
    try:
        work = jobs(build, backends, tmp, uml)
        for rep in range(reps):  # rep-major: drift hits every configuration alike
            for row, system, thunk in work:
                for placement in ("free", "pinned"):
                    s = {"row": row, "system": system, "placement": placement, "rep": rep}
                    try:
                        s["s"] = round(thunk(placement == "pinned"), 4)
                    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                        s["error"] = str(e)
                    samples.append(s)
                    print(f"wallclock rep {rep} {system}/{placement:<6} {row:<15} "
                          + (f"{s['s']:.3f} s" if "s" in s else f"ERROR {s['error']}"), file=log, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary: dict = {}
    for s in samples:
        e = summary.setdefault(s["row"], {}).setdefault(f"{s['system']}/{s['placement']}", {"s": [], "errors": []})
        (e["s"].append(s["s"]) if "s" in s else e["errors"].append(s["error"]))
    for row in summary.values():
        for e in row.values():
            vals = e.pop("s")
            e.update(n=len(vals), ok=bool(vals) and not e["errors"])
            if vals:
                e.update(median_s=statistics.median(vals), min_s=min(vals), max_s=max(vals))
    return {"samples": samples, "summary": summary}


def table(res: dict, systems: list[str]) -> str:
    lines = []
    for placement in ("free", "pinned"):
        lines += [f"### whole programs, {placement} ({'taskset -c 0' if placement == 'pinned' else 'no pinning'}),"
                  " median seconds", "",
                  "| | " + " | ".join(systems) + " | best gk / native |",
                  "|---|" + "---:|" * (len(systems) + 1)]
        for row, cfgs in res["summary"].items():
            cells, gk_best, native = [], None, None
            for sysname in systems:
                e = cfgs.get(f"{sysname}/{placement}")
                if e is None:
                    cells.append("—")
                elif not e["ok"]:
                    cells.append("error")
                else:
                    cells.append(f"{e['median_s']:.3f}")
                    if sysname.startswith("gk-"):
                        gk_best = e["median_s"] if gk_best is None else min(gk_best, e["median_s"])
                    if sysname == "native":
                        native = e["median_s"]
            ratio = f"{gk_best / native:.1f}" if gk_best and native else "—"
            lines.append(f"| {row} | " + " | ".join(cells) + f" | {ratio} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--backends", default="rfp,mremap,mmap")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="1 rep")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    res = run(Path(args.build).resolve(), backends, 1 if args.smoke else args.reps)
    systems = ["native"] + [f"gk-{b}" for b in backends]
    text = table(res, systems)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "wallclock.json").write_text(json.dumps(res, indent=1) + "\n")
        (out / "wallclock.md").write_text(text)
    print(text)
    return 0 if all(e["ok"] for row in res["summary"].values() for e in row.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
