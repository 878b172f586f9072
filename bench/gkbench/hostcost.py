"""Where guestkernel's host time goes, from its own counters (--stats-json,
stored with every guestkernel sample): ptrace stops and stub runs per
operation, per syscall and per fault; host mapping calls per kind with their
count and the time measured around each call inside the stub; host VMAs and
host minor faults; evictions on vm.max_map_count."""

from __future__ import annotations

from . import common
from .micro import BENCHES

PLACEMENT = "pinned"  # the counters barely depend on placement; pinned is quieter


def _sum(d) -> float:
    return sum(v for v in d.values() if isinstance(v, (int, float))) if isinstance(d, dict) else 0


def per_op(sample: dict) -> dict | None:
    """One run's counters divided by its iterations (the whole run: start-up
    and warm-up included)."""
    st, out = sample.get("gk_stats"), sample.get("output", {})
    iters = out.get("iters")
    if not isinstance(st, dict) or not isinstance(iters, (int, float)) or iters <= 0:
        return None
    host_ops = st.get("host_ops", {})
    return {
        "ptrace_stops": _sum(st.get("ptrace_stops")) / iters,
        "stub_runs": st.get("stub_runs", 0) / iters,
        "host_calls": sum(h.get("count", 0) for h in host_ops.values()) / iters,
        "stub_us": sum(h.get("total_ms", 0) for h in host_ops.values()) * 1000 / iters,
        "guest_faults": st.get("faults", {}).get("host_fault_stops", 0) / iters,
        "host_minor_faults": st.get("child", {}).get("host_minor_faults", 0) / iters,
    }


def breakdown(samples: list[dict], gk_systems: list[str]) -> dict:
    """{"per_op": {system: {bench: {figure: median}}}, "per_event": {system:
    {syscall|fault: {count, ptrace_stops, stub_runs}}}, "host_calls": {system:
    {kind: {count, total_ms, us_per_call}}}, "fault_single": {system: {...}}}."""
    mine = [s for s in samples if s.get("placement") == PLACEMENT and s.get("system") in gk_systems
            and "gk_stats" in s]
    res: dict = {"placement": PLACEMENT, "per_op": {}, "per_event": {}, "host_calls": {},
                 "fault_single": {}}
    for sysname in gk_systems:
        ss = [s for s in mine if s["system"] == sysname]
        ops: dict = {}
        for b in BENCHES:
            figs = [f for f in (per_op(s) for s in ss if s["bench"] == b.name) if f]
            if figs:
                ops[b.name] = {k: common.median_min_max([f[k] for f in figs])["median"]
                               for k in figs[0]}
        res["per_op"][sysname] = ops
        # Summed over every run of this system: per syscall and per fault.
        ev = {"syscall": [0, 0], "fault": [0, 0]}
        calls: dict = {}
        for s in ss:
            st = s["gk_stats"]
            cause = st.get("stub_runs_by_cause", {})
            ev["syscall"][0] += st.get("ptrace_stops", {}).get("syscall", 0)
            ev["syscall"][1] += cause.get("syscall", 0)
            ev["fault"][0] += st.get("faults", {}).get("host_fault_stops", 0)
            ev["fault"][1] += cause.get("fault", 0)
            for kind, h in st.get("host_ops", {}).items():
                c = calls.setdefault(kind, {"count": 0, "total_ms": 0.0})
                c["count"] += h.get("count", 0)
                c["total_ms"] += h.get("total_ms", 0.0)
        res["per_event"][sysname] = {
            k: {"count": n, "ptrace_stops": 1 + runs / n if n else None,
                "stub_runs": runs / n if n else None} for k, (n, runs) in ev.items()}
        for c in calls.values():
            c["us_per_call"] = c["total_ms"] * 1000 / c["count"] if c["count"] else None
        res["host_calls"][sysname] = calls
        # One page per fault: what one fault costs the host, per kind of call.
        single = [s for s in ss if s["bench"] == "fault_single"]
        if single:
            s = single[len(single) // 2]
            st = s["gk_stats"]
            faults = st.get("faults", {}).get("host_fault_stops", 0) or 1
            res["fault_single"][sysname] = {
                "faults": faults,
                "calls_per_fault": {k: h.get("count", 0) / faults
                                    for k, h in st.get("host_ops", {}).items()},
                "stub_us_per_fault": sum(h.get("total_ms", 0) for h in
                                         st.get("host_ops", {}).values()) * 1000 / faults,
                "peak_host_vmas": st.get("child", {}).get("peak_host_vmas"),
                "evictions": st.get("mmu", {}).get("evictions"),
                "host_minor_faults_per_fault":
                    st.get("child", {}).get("host_minor_faults", 0) / faults,
            }
    return res
