"""Processes held to a share of one core by the kernel's CPU controller (cgroups), so a
2-core machine can stand in for server processes that each own a small core of their
own, with the load generator beside them: how `bench.processes --quota` measures
capacity.

Needs root and the cpu controller (cgroup v1 at /sys/fs/cgroup/cpu, or v2 where the
controller is enabled). Each process gets a group of its own, removed on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

#: A short period, so a process over its share waits milliseconds, not a tenth of a
#: second (the loop lag then shows overload, not the controller's rhythm).
PERIOD_US = 10_000

_V1 = Path("/sys/fs/cgroup/cpu")
_V2 = Path("/sys/fs/cgroup")


def _group_root() -> tuple[Path, bool]:
    if (_V1 / "cpu.cfs_quota_us").exists():
        return _V1, True
    if "cpu" in (_V2 / "cgroup.subtree_control").read_text(errors="replace").split():
        return _V2, False
    raise RuntimeError("no CPU controller to hold a process to a share (cgroups, as root)")


@contextlib.contextmanager
def held_to(pids: list[int], percent: float, name: str = "consult-bench") -> Iterator[None]:
    """Each of ``pids`` (with all its threads) held to ``percent`` % of one core."""
    root, v1 = _group_root()
    groups: list[Path] = []
    try:
        for pid in pids:
            group = root / f"{name}-{pid}"
            group.mkdir(exist_ok=True)
            groups.append(group)
            quota = int(PERIOD_US * percent / 100)
            if v1:
                (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            (group / "cgroup.procs").write_text(str(pid))
        yield
    finally:
        for group in groups:
            for member in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):  # gone already
                    (root / "cgroup.procs").write_text(member)
            with contextlib.suppress(OSError):
                group.rmdir()
