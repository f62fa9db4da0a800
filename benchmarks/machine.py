"""What every benchmark prints about the machine, and how it measures peak memory."""

from __future__ import annotations

import importlib
import os
import platform
import resource
from datetime import datetime
from pathlib import Path

import duckdb

MiB = 1024 * 1024


def peak_rss_kib() -> int:
    """This process's peak resident memory in KiB.

    VmHWM rather than ru_maxrss: on Linux ru_maxrss survives exec, so a child started from a
    big parent would report the parent's size; VmHWM belongs to the new process image only.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def machine(*modules: str) -> str:
    """Date, cores, memory, load, Python and DuckDB settings, plus the versions of `modules`."""
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    con = duckdb.connect()
    threads, limit = con.execute(
        "SELECT current_setting('threads'), current_setting('memory_limit')").fetchall()[0]
    con.close()
    extra = "".join(f"; {m} {importlib.import_module(m).__version__}" for m in modules)
    return (f"date {datetime.now():%Y-%m-%d %H:%M}; nproc {os.cpu_count()} ({cpu}); "
            f"RAM {mem_kib / MiB:.1f} GiB; load average {os.getloadavg()[0]:.2f}; "
            f"Python {platform.python_version()}; DuckDB {duckdb.__version__} "
            f"(threads {threads}, memory_limit {limit}){extra}")
