"""The media benchmark: our forwarder against aiortc's MediaRelay and Janus, side by side.

    python -m bench.sfu [--quick] [--json PATH] [--systems ours,janus,mediarelay]
                        [--only fanout,consults,recording] [--points n1,n8,k16]
                        [--pin 0:1]

``--pin 0:1`` runs each server with all its threads on CPU 0 and the load on CPU 1: the
smallest machine this one can be (one core for the server).

For N = 1, 2, 4, 8, 16 subscribers of one publisher and K = 1, 4, 8, 16 concurrent 1:1
consults, each system runs the same load in turn (interleaved per point, one invocation):
pre-encoded VP8 640x480 @ 30 fps (~1.5 Mbit/s) + Opus from aiortc publishers, subscribers
that count packets and frames without decoding (bench/sfu_load.py, its own process).
The server's CPU (% of one core, user + system, all threads) and RSS are read from /proc
while the load runs. Needs root for Janus's network namespace (see bench/janus.py).

MediaRelay is skipped at N = 16 and K = 8, 16: it needs more than both cores before that
(its rows say so) and the run would only measure a machine in overload.

The recording dimension (rows with ``record``) runs, interleaved and twice each: ours
unrecorded and recorded by stream copy at N = 1 and K = 1, 4, 8; MediaRelay unrecorded
and recorded by aiortc's MediaRecorder (MP4 / H.264) at N = 1 (one more stream to
encode already takes it near a core).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.janus import run_janus
from bench.output import emit
from media import latency
from tests.support.proc import cpu_seconds, rss_mib, stop
from tests.support.server import free_port

#: (server CPUs, load CPUs) for taskset: ``--pin 0:1`` emulates a one-core server.
PIN: tuple[str, str] | None = None
FANOUT = (1, 2, 4, 8, 16)
CONSULTS = (1, 4, 8, 16)
SYSTEMS = ("ours", "janus", "mediarelay")
#: Beyond these MediaRelay needs more than the machine's two cores (decode + encode).
RELAY_LIMIT = {"fanout": 8, "consults": 4}
#: The points of the ours-vs-Janus ratios run this many times, interleaved; the ratios
#: use the medians (one 15 s window of a few % of a core varies by +-20 %).
RATIO_FANOUT = (1, 8)
RATIO_CONSULTS = (16,)
RATIO_REPEATS = 3
#: The recording dimension: (kind, n) points and the (system, record) pairs run at each.
RECORDING_POINTS = (("fanout", 1), ("consults", 1), ("consults", 4), ("consults", 8))
RECORDING_CONFIGS = {
    "ours": ("none", "copy"),
    "mediarelay": ("none", "mediarecorder"),
}
RECORDING_RELAY_POINTS = (("fanout", 1),)
RECORDING_REPEATS = 2


@contextlib.contextmanager
def server(system: str, record: str = "none") -> Iterator[tuple[int, str]]:
    """Start the system under test; yield (pid, signaling URL)."""
    if system == "janus":
        with run_janus() as janus:
            yield janus.pid, ""
        return
    port = free_port()
    command = [sys.executable, "-m", "bench.sfu_server", "--mode", system, "--port", str(port)]
    scratch = tempfile.TemporaryDirectory(prefix="sfu-record-")
    if record != "none":
        command += ["--record", record, "--record-dir", scratch.name]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "READY":
            raise RuntimeError(f"{system} server did not start")
        yield process.pid, f"http://127.0.0.1:{port}"
    finally:
        stop(process, timeout=30)
        scratch.cleanup()


def server_stats(url: str, reset: bool = False) -> dict[str, Any]:
    """The bench server's loop lag (p99 since the last reset) and the forwarding
    latency counts (media.latency, cumulative); nothing for Janus."""
    if not url:
        return {}
    with urllib.request.urlopen(url + "/stats" + ("?reset=1" if reset else ""), timeout=5) as r:  # noqa: S310
        found: dict[str, Any] = json.load(r)
        return found


def forward_latency(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The window's forwarding latency: p50 and p99 (microseconds) and its histogram."""
    if "forward_latency_counts" not in after:
        return {}
    counts = latency.since(after["forward_latency_counts"], before["forward_latency_counts"])
    p50, p99 = latency.quantile(counts, 0.5), latency.quantile(counts, 0.99)
    bounds = [f"le_{round(b * 1e6)}us" for b in latency.BUCKETS] + ["above"]
    return {
        "forward_latency_p50_us": round(p50 * 1e6, 1) if p50 is not None else None,
        "forward_latency_p99_us": round(p99 * 1e6, 1) if p99 is not None else None,
        "forward_latency_histogram": dict(zip(bounds, counts, strict=True)),
    }


def run_point(
    system: str, kind: str, n: int, seconds: float, warmup: float, record: str = "none"
) -> dict[str, Any]:
    row: dict[str, Any] = {"system": system, kind: n}
    if record != "none":
        row["record"] = record
    with server(system, record) as (pid, url):
        pinned: list[str] = []
        if PIN is not None:
            # Every thread of the server on its CPUs, the load on the others.
            command = ["taskset", "-a", "-c", "-p", PIN[0], str(pid)]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            pinned = ["taskset", "-c", PIN[1]]
        load = subprocess.Popen(
            [
                *pinned,
                sys.executable,
                "-m",
                "bench.sfu_load",
                "--system",
                system,
                "--url",
                url,
                f"--{kind}",
                str(n),
                "--seconds",
                str(seconds),
                "--warmup",
                str(warmup),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert load.stdout is not None
        cpu0 = t0 = 0.0
        started: dict[str, Any] = {}
        for line in load.stdout:
            line = line.strip()
            if line == "WINDOW START":
                started = server_stats(url, reset=True)
                cpu0, t0 = cpu_seconds(pid), time.monotonic()
            elif line == "WINDOW END":
                row["server_cpu_pct"] = round(
                    100 * (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0), 1
                )
                row["server_rss_mib"] = rss_mib(pid)
                ended = server_stats(url)
                row["loop_lag_p99_ms"] = ended.get("loop_lag_p99_ms")
                row.update(forward_latency(started, ended))
            elif line.startswith("RESULT "):
                row.update(json.loads(line[len("RESULT ") :]))
        if load.wait(timeout=60) != 0 or "server_cpu_pct" not in row:
            row["error"] = f"load generator exited with {load.returncode}"
    return row


def slope(rows: list[dict[str, Any]], system: str) -> float | None:
    """CPU % per added subscriber: least squares over the fan-out points where the system
    was neither saturated nor broken (at least 90 % of frames delivered)."""
    points = [
        (r["fanout"], r["server_cpu_pct"])
        for r in rows
        if r["system"] == system
        and "fanout" in r
        and "record" not in r
        and r.get("server_cpu_pct", 100) < 90
        and (r.get("frames_delivered") or 0) >= 0.9
    ]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den if den else None


def cpu(
    rows: list[dict[str, Any]],
    system: str,
    n: int,
    kind: str = "fanout",
    record: str | None = None,
) -> float | None:
    """Median server CPU of a system's runs at one point: of the fan-out / consult
    phases (``record`` None: their rows carry no ``record``), or of the recording phase
    with that recording (its rows all carry one, "none" included)."""
    values = [
        r["server_cpu_pct"]
        for r in rows
        if r["system"] == system
        and r.get(kind) == n
        and r.get("record") == record
        and "server_cpu_pct" in r
    ]
    return statistics.median(values) if values else None


def ratios(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    ours_slope, relay_slope, janus_slope = (slope(rows, s) for s in ("ours", "mediarelay", "janus"))
    return {
        "ours_vs_janus_cpu_n1": div(cpu(rows, "ours", 1), cpu(rows, "janus", 1)),
        "ours_vs_janus_cpu_n8": div(cpu(rows, "ours", 8), cpu(rows, "janus", 8)),
        "ours_vs_janus_cpu_k16": div(
            cpu(rows, "ours", 16, "consults"), cpu(rows, "janus", 16, "consults")
        ),
        "mediarelay_vs_ours_cpu_per_subscriber": div(relay_slope, ours_slope),
        "ours_cpu_per_forwarded_stream_pct": cpu(rows, "ours", 1),
        "ours_cpu_per_added_subscriber_pct": round(ours_slope, 2) if ours_slope else None,
        "janus_cpu_per_added_subscriber_pct": round(janus_slope, 2) if janus_slope else None,
        "mediarelay_cpu_per_added_subscriber_pct": round(relay_slope, 2) if relay_slope else None,
    }


def recording_ratios(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Per recorded stream: the CPU recording adds, divided by the publishers recorded."""
    out: dict[str, float | None] = {}
    for kind, n in RECORDING_POINTS:
        off = cpu(rows, "ours", n, kind, "none")
        on = cpu(rows, "ours", n, kind, "copy")
        streams = 1 if kind == "fanout" else 2 * n
        label = f"{'n' if kind == 'fanout' else 'k'}{n}"
        if off is not None and on is not None:
            out[f"ours_record_cpu_per_stream_pct_{label}"] = round((on - off) / streams, 2)
            out[f"ours_recorded_vs_unrecorded_{label}"] = round(on / off, 2) if off else None
    relay_off = cpu(rows, "mediarelay", 1, "fanout", "none")
    relay_on = cpu(rows, "mediarelay", 1, "fanout", "mediarecorder")
    if relay_off is not None and relay_on is not None:
        added = relay_on - relay_off
        out["mediarecorder_cpu_per_stream_pct_n1"] = round(added, 2)
        # Against ours at K = 4 (8 recorded streams: the steadiest per-stream figure;
        # one stream's cost is within a single window's noise).
        ours = out.get("ours_record_cpu_per_stream_pct_k4")
        out["mediarecorder_vs_ours_record_cost"] = (
            round(added / ours, 1) if ours and ours > 0 else None
        )
    return out


def recording_phase(seconds: float, warmup: float, systems: list[str]) -> list[dict[str, Any]]:
    rows = []
    for kind, n in RECORDING_POINTS:
        for repeat in range(RECORDING_REPEATS):
            for system, records in RECORDING_CONFIGS.items():
                if system not in systems:
                    continue
                if system == "mediarelay" and (kind, n) not in RECORDING_RELAY_POINTS:
                    continue
                for record in records:
                    row = run_point(system, kind, n, seconds, warmup, record)
                    if "error" in row:  # once in a while a load does not start: again
                        row = run_point(system, kind, n, seconds, warmup, record)
                        row["retried"] = True
                    row.update({"phase": "recording", "repeat": repeat})
                    row.setdefault("record", "none")
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short windows (~3-5 minutes in all)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument(
        "--only", default="fanout,consults,recording", help="phases to run (comma-separated)"
    )
    parser.add_argument(
        "--points", default="", help="only these points, e.g. n1,n8,k16 (default: all)"
    )
    parser.add_argument(
        "--pin", default="", help="SERVER:LOAD CPU lists for taskset, e.g. 0:1 (one core)"
    )
    args = parser.parse_args()
    global PIN
    if args.pin:
        server_cpus, load_cpus = args.pin.split(":")
        PIN = (server_cpus, load_cpus)
    points = set(args.points.split(",")) if args.points else None
    phases = args.only.split(",")
    seconds, warmup = (4.0, 1.0) if args.quick else (15.0, 3.0)
    systems = [s for s in SYSTEMS if s in args.systems.split(",")]
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    for kind, numbers in (("fanout", FANOUT), ("consults", CONSULTS)):
        if kind not in phases:
            continue
        for n in numbers:
            if points is not None and f"{'n' if kind == 'fanout' else 'k'}{n}" not in points:
                continue
            ratio_point = n in (RATIO_FANOUT if kind == "fanout" else RATIO_CONSULTS)
            repeats = RATIO_REPEATS if ratio_point else 1
            for repeat in range(repeats):
                for system in systems:
                    if system == "mediarelay" and repeat:
                        continue  # its ratio is a slope over all points: once is enough
                    if system == "mediarelay" and n > RELAY_LIMIT[kind]:
                        rows.append(
                            {"system": system, kind: n, "skipped": "saturates a core well before"}
                        )
                        continue
                    row = run_point(system, kind, n, seconds, warmup)
                    if repeats > 1:
                        row["repeat"] = repeat
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
    if "recording" in phases:
        rows += recording_phase(seconds, warmup, systems)
    report = {
        "benchmark": "sfu",
        "quick": args.quick,
        "window_seconds": seconds,
        "load": "VP8 640x480@30 ~1.5 Mbit/s + Opus, pre-encoded; subscribers do not decode",
        "pinned": {"server_cpus": PIN[0], "load_cpus": PIN[1]} if PIN else None,
        "duration_s": round(time.monotonic() - started, 1),
        "rows": rows,
        "ratios": {**ratios(rows), **recording_ratios(rows)},
    }
    emit(report, args.json)


if __name__ == "__main__":
    main()
