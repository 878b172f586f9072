"""PRoot (Debian's proot) as a configuration: the same static benchmark
programs run under plain `proot PROGRAM ARGS` (the host's / as its root, so
host paths hold), installed with apt-get if missing (never with --smoke)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import common
from .common import Run

PACKAGE = "proot"


def find_proot() -> Path | None:
    for cand in (shutil.which("proot"), "/usr/bin/proot"):
        if cand and os.access(cand, os.X_OK):
            return Path(cand)
    return None


def prepare(run: Run) -> dict:
    """{"available": bool, "reason" (when not), "path", "package_version",
    "install_log" (when apt-get ran)}."""
    install_log: list = []
    path, reason = common.ensure_tool("proot", PACKAGE, find_proot, run.smoke, install_log)
    info: dict = {"available": path is not None}
    if install_log:
        info["install_log"] = install_log
    if reason:
        info["reason"] = reason
        return info
    info["path"] = str(path)
    version = common.package_version(PACKAGE)
    if version:
        info["package_version"] = version
    return info
