"""The micro-benchmarks: static guest programs (build/rootfs/NAME-musl), each
run for a fixed count, in every configuration (native, guestkernel per
backend and trap mode, PRoot, User-Mode Linux) and both placements,
interleaved rep by rep; plus the raw ptrace round trip (bench/ptrace_rtt)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import common, uml
from .common import PLACEMENTS, Run, log


@dataclass(frozen=True)
class Bench:
    name: str                  # row key, and the "bench" the program prints
    label: str
    program: str               # guest program, without the -musl suffix
    args: tuple                # "{n}": the count; "{true}": true_static's path; "{tmp}": /tmp
    counts: tuple[int, int]    # (full, --smoke)
    gk_flags: tuple = ()       # extra guestkernel flags
    prints: str | None = None  # the "bench" the program prints, if not name
    gk_only: bool = False      # a guestkernel setting: UML and PRoot show "—"
    kind: str = "other"        # "syscall" or "fault": a ratio to the round trip
    group: str = ""            # the plot's section


BENCHES = (
    Bench("null_syscall", "null syscall (getppid)", "bench_syscall", ("{n}", "getppid"),
          (20000, 200), kind="syscall", group="syscalls"),
    Bench("read_devzero", "read 1 byte from /dev/zero", "bench_syscall", ("{n}", "readzero"),
          (20000, 200), group="syscalls"),
    Bench("write_devnull", "write 1 byte to /dev/null", "bench_syscall", ("{n}", "writenull"),
          (20000, 200), group="syscalls"),
    Bench("sched_yield", "sched_yield", "bench_syscall", ("{n}", "yield"), (20000, 200),
          group="syscalls"),
    Bench("file_open", "open + close (/tmp)", "bench_file", ("open", "{n}", "{tmp}"),
          (20000, 200), group="files"),
    Bench("file_stat", "stat (/tmp)", "bench_file", ("stat", "{n}", "{tmp}"), (20000, 200),
          group="files"),
    Bench("file_read", "pread 4 KiB (/tmp)", "bench_file", ("read", "{n}", "{tmp}"),
          (20000, 200), group="files"),
    Bench("file_write", "pwrite 4 KiB (/tmp)", "bench_file", ("write", "{n}", "{tmp}"),
          (20000, 200), group="files"),
    Bench("file_pipe", "pipe ping-pong between two processes, one round trip", "bench_file",
          ("pipe", "{n}", "{tmp}"), (5000, 50), group="files"),
    Bench("file_tput", "pipe throughput, per 64 KiB", "bench_file", ("tput", "{n}", "{tmp}"),
          (2000, 20), group="files"),
    Bench("signal_deliver", "signal delivery and return (kill self, handler)", "bench_syscall",
          ("{n}", "signal"), (5000, 100), group="syscalls"),
    Bench("fork_exit_wait", "fork + _exit + waitpid", "bench_fork", ("{n}",), (200, 5),
          group="processes"),
    Bench("fork_exec_wait", "fork + execve(true_static) + waitpid", "bench_forkexec",
          ("{true}", "{n}"), (100, 5), group="processes"),
    Bench("vfork_exec_wait", "vfork + execve(true_static) + waitpid", "bench_forkexec",
          ("{true}", "{n}", "vfork"), (100, 5), group="processes"),
    Bench("thread_create_join", "thread create + join", "bench_thread", ("create", "{n}"),
          (500, 10), group="processes"),
    Bench("futex_pingpong", "futex ping-pong between two threads, one round trip",
          "bench_thread", ("futex", "{n}"), (5000, 50), group="processes"),
    Bench("mmap_touch_munmap", "mmap + touch + munmap of 4 MiB", "bench_mm", ("mmap", "{n}"),
          (10, 2), group="memory"),
    Bench("fault_seq", "first-touch fault, sequential", "bench_fault", ("{n}", "seq"),
          (16384, 64), kind="fault", group="memory"),
    Bench("fault_scatter", "first-touch fault, random order", "bench_fault",
          ("{n}", "scatter"), (16384, 64), kind="fault", group="memory"),
    Bench("fault_single", "first-touch fault, random order, one page per fault",
          "bench_fault", ("{n}", "scatter"), (16384, 64), gk_flags=("--fault-around=1",),
          prints="fault_scatter", gk_only=True, kind="fault", group="memory"),
    Bench("cow_fault", "copy-on-write fault after fork", "bench_cow", ("{n}",), (2048, 16),
          kind="fault", group="memory"),
    Bench("file_fault", "file-backed read fault (/tmp, in the page cache)", "bench_mm",
          ("filefault", "{n}", "{tmp}"), (4096, 64), kind="fault", group="memory"),
)
BY_NAME = {b.name: b for b in BENCHES}
# The raw host round trip: ptrace_rtt's own row, for the ratios.
RTT = "ptrace_rtt"
RTT_COUNTS = (20000, 200)
GUEST_PROGRAMS = sorted({b.program for b in BENCHES} | {"true_static"})


def guest_argv(b: Bench, bindir: str, tmp: str, smoke: bool) -> list[str]:
    """The benchmark's command line with programs from folder bindir (a host
    path, or the path inside UML's root)."""
    n = str(b.counts[1] if smoke else b.counts[0])
    subst = {"{n}": n, "{true}": f"{bindir}/true_static-musl", "{tmp}": tmp}
    return [f"{bindir}/{b.program}-musl"] + [subst.get(a, a) for a in b.args]


@dataclass
class System:
    """One column: how to turn a benchmark into a command line."""
    name: str
    kind: str                   # native, gk, proot, ptrace
    backend: str = ""
    trap: str = ""
    prefix: list = field(default_factory=list)


def systems(run: Run, proot_info: dict | None) -> list[System]:
    out = [System("native", "native")]
    out += [System(name, "gk", b, t) for name, b, t in run.gk_systems()]
    if proot_info is not None and proot_info.get("available"):
        out.append(System("proot", "proot", prefix=[proot_info["path"]]))
    out.append(System("ptrace", "ptrace"))
    return out


def jobs(sys_: System, benches: list[Bench]) -> list[Bench | str]:
    if sys_.kind == "ptrace":
        return [RTT]
    return [b for b in benches if sys_.kind == "gk" or not b.gk_only or sys_.kind == "native"]


def run_one(run: Run, sys_: System, job: Bench | str, placement: str) -> dict:
    pin = common.pin_prefix(placement, run.taskset)
    if job == RTT:
        argv = pin + [str(run.build / "bench" / "ptrace_rtt"), "--iters",
                      str(run.count(RTT_COUNTS))]
        return common.run_sample(argv, RTT, run.run_timeout())
    guest = guest_argv(job, str(run.guest_bin), "/tmp", run.smoke)
    stats = None
    if sys_.kind == "gk":
        prefix, stats = run.gk_argv(sys_.backend, sys_.trap, job.gk_flags)
        argv = pin + prefix + ["--"] + guest
    else:
        argv = pin + sys_.prefix + guest
    return common.run_sample(argv, job.prints or job.name, run.run_timeout(), stats)


def run_micro(run: Run, benches: list[Bench], uml_info: dict | None, proot_info: dict | None):
    """Every configuration, rep-major and within a rep benchmark-major (slow
    drift of the machine hits all configurations alike); UML boots come last
    in each rep. Returns (system names, samples, uml boot records)."""
    syss = systems(run, proot_info)
    names = [s.name for s in syss]
    with_uml = uml_info is not None and uml_info.get("available")
    if uml_info is not None:
        names.insert(1 + len(run.gk_systems()), "uml")
    per_sys = {s.name: jobs(s, benches) for s in syss}
    total = run.reps * (sum(len(j) for j in per_sys.values()) + (1 if with_uml else 0)) * 2
    samples: list[dict] = []
    boots: list[dict] = []
    done = 0
    for rep in range(run.reps):
        for idx in range(max(len(j) for j in per_sys.values())):
            for s in syss:
                if idx >= len(per_sys[s.name]):
                    continue
                job = per_sys[s.name][idx]
                bench = job if isinstance(job, str) else job.name
                for placement in PLACEMENTS:
                    smp = run_one(run, s, job, placement)
                    smp.update(config=f"{s.name}/{placement}", system=s.name,
                               placement=placement, bench=bench, rep=rep)
                    samples.append(smp)
                    done += 1
                    status = (f"{smp['ns_per_op'] / 1000:.3f} µs" if "error" not in smp
                              else f"ERROR: {smp['error']}")
                    log(f"[{done}/{total}] rep {rep} {s.name + '/' + placement:<18} "
                        f"{bench:<18} {status}")
        for placement in PLACEMENTS if with_uml else ():
            boot, uml_samples = uml.run_boot(uml_info, placement, run)
            cfg = f"uml/{placement}"
            boot.update(config=cfg, placement=placement, rep=rep)
            boots.append(boot)
            for smp in uml_samples:
                smp.update(config=cfg, system="uml", placement=placement, rep=rep)
                samples.append(smp)
            done += 1
            bad = [s["bench"] for s in uml_samples if "error" in s]
            log(f"[{done}/{total}] rep {rep} {cfg:<18} "
                + (f"boot {boot['boot_s']:.2f} s" if "boot_s" in boot else "no boot")
                + f"; {len(uml_samples) - len(bad)} benchmarks"
                + (f"; errors: {', '.join(bad)}" if bad else "")
                + (f"; BOOT ERROR: {boot['error']}" if "error" in boot else ""))
    return names, samples, boots


def aggregate(samples: list[dict]) -> dict:
    """{config: {bench: {median_ns, min_ns, max_ns, n, errors, ok}}}"""
    agg: dict = {}
    for s in samples:
        e = agg.setdefault(s["config"], {}).setdefault(s["bench"], {"ns": [], "errors": []})
        if "error" in s:
            e["errors"].append(f"rep {s['rep']}: {s['error']}")
        else:
            e["ns"].append(s["ns_per_op"])
    for cfg in agg.values():
        for e in cfg.values():
            st = common.median_min_max(e.pop("ns"))
            e["n"] = st["n"]
            if st["n"]:
                e.update(median_ns=st["median"], min_ns=st["min"], max_ns=st["max"])
            e["ok"] = not e["errors"] and st["n"] > 0
    return agg


def not_run(system: str, b: Bench | None) -> bool:
    """Cells that are not measured by design (shown as "—")."""
    if b is None:
        return system != "ptrace"
    return system == "ptrace" or (b.gk_only and system in ("uml", "proot"))

