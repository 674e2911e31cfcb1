"""Render a bench.sfu JSON report as the Markdown table kept in docs/performance.md.

python -m bench.report REPORT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _cell(value: Any, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}{suffix}"
    return f"{value}{suffix}"


def _latency(row: dict[str, Any]) -> str:
    p50, p99 = row.get("forward_latency_p50_us"), row.get("forward_latency_p99_us")
    return "–" if p50 is None or p99 is None else f"{p50:.0f} / {p99:.0f}"


def table(report: dict[str, Any]) -> str:
    lines = [
        "| load | system | server CPU (% of a core) | RSS MiB | forwarded pkt/s |"
        " frames delivered | loop lag p99 ms | forwarding p50 / p99 µs |"
        " late joiner first frame s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        if row.get("phase") == "recording":
            continue
        load = f"N={row['fanout']}" if "fanout" in row else f"K={row['consults']}"
        if "repeat" in row:
            load += f" (run {row['repeat'] + 1})"
        if "skipped" in row or "error" in row:
            lines.append(
                f"| {load} | {row['system']} | {row.get('skipped') or row.get('error')} ||||||| "
            )
            continue
        delivered = row.get("frames_delivered")
        lines.append(
            f"| {load} | {row['system']} | {_cell(row.get('server_cpu_pct'))} |"
            f" {_cell(row.get('server_rss_mib'))} | {_cell(row.get('forwarded_pps'))} |"
            f" {_cell(round(100 * delivered, 1) if delivered is not None else None, ' %')} |"
            f" {_cell(round(row['loop_lag_p99_ms'], 1) if row.get('loop_lag_p99_ms') else None)} |"
            f" {_latency(row)} |"
            f" {_cell(row.get('late_joiner_first_frame_s'))} |"
        )
    recording = [r for r in report["rows"] if r.get("phase") == "recording"]
    if recording:
        lines += [
            "",
            "| load | system | recorded by | server CPU (% of a core), each run |"
            " frames delivered | loop lag p99 ms |",
            "|---|---|---|---:|---:|---:|",
        ]
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for row in recording:
            load = f"N={row['fanout']}" if "fanout" in row else f"K={row['consults']}"
            groups.setdefault((load, row["system"], row["record"]), []).append(row)
        for (load, system, record), runs in groups.items():
            cpu = ", ".join(_cell(r.get("server_cpu_pct")) for r in runs)
            good = [r for r in runs if "error" not in r] or runs
            delivered = min((r.get("frames_delivered") or 0) for r in good)
            lag = max((r.get("loop_lag_p99_ms") or 0) for r in good)
            lines.append(
                f"| {load} | {system} | {record} | {cpu} |"
                f" {_cell(round(100 * delivered, 1), ' %')} | {_cell(round(lag, 1))} |"
            )
    lines.append("")
    lines.append("| ratio | value |")
    lines.append("|---|---:|")
    for key, value in report["ratios"].items():
        lines.append(f"| `{key}` | {_cell(value)} |")
    return "\n".join(lines)


def main() -> None:
    print(table(json.loads(Path(sys.argv[1]).read_text())))


if __name__ == "__main__":
    main()
