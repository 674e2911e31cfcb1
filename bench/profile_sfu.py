"""Where the forwarding path's time goes: py-spy on our media server under the SFU
benchmark's loads, the samples sorted into the steps a packet takes.

    python -m bench.profile_sfu [--fanout 8] [--consults 16] [--seconds 20]
                                [--rate 200] [--out DIR] [--json PATH]

For each load (``--fanout N``: one publisher, N subscribers; ``--consults K``: K 1:1
consults), the benchmark's own server (``bench.sfu_server --mode ours``, the product's
MediaHub on uvloop) and load generator (``bench.sfu_load``) run as in ``bench.sfu``; over
the load's measuring window ``py-spy record`` samples the server (``--rate`` per second,
every thread, idle waits left out), writing its collapsed stacks to ``--out`` (they
open in speedscope or inferno as a flame graph). Each sample is put in the first step
(see ``STEPS``) whose pattern one of its frames matches, innermost frame first; the
table gives each step's share of the busy samples and its CPU in microseconds per
forwarded packet (the server's CPU over the window, divided by the RTP packets the
subscribers received). ``--native`` also samples C frames (uvloop's, the kernel calls'
wrappers): without it, time in uvloop's own C code shows as the loop's Python caller.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.output import emit
from bench.sfu import forward_latency, server, server_stats
from tests.support.proc import cpu_seconds

#: (step, patterns): a frame "function (file:line)" matching any pattern, innermost first.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SRTP decrypt", ("unprotect", "_srtp_unprotect")),
    ("SRTP encrypt", ("protect (", "_srtp_protect")),
    ("socket send", ("sendto", "send_data (aioice", "_send_rtp", "transport.py")),
    ("socket receive", ("datagram_received", "_read_ready", "recvfrom")),
    ("RTCP", ("rtcp", "_send_rtcp", "_handle_rtcp", "RtcpPacket", "remb", "_run_rtcp")),
    ("RTP parse", ("RtpPacket.parse", "parse (aiortc/rtp", "unpack_header_extensions")),
    ("frame assembly", ("jitterbuffer", "assembler", "_handle_rtp_packet", "tap_receiver")),
    ("packetization", ("pack (", "packetize", "serialize", "_run_rtp", "encoder", "vpx")),
    ("fan-out (ours)", ("forwarding.py",)),
    ("ICE / STUN / DTLS", ("aioice", "stun", "rtcdtlstransport", "OpenSSL", "dtls")),
    # uvloop's own C work (epoll, timers, callbacks) shows as the loop's Python caller.
    ("event loop", ("uvloop", "asyncio", "run_once", "_run", "events.py")),
)


def step_of(stack: list[str]) -> str:
    for frame in reversed(stack):
        for step, patterns in STEPS:
            if any(p in frame for p in patterns):
                return step
    return "other"


def read_raw(path: Path) -> tuple[Counter[str], Counter[str], int]:
    """Samples per step, per leaf frame, and in all, from py-spy's raw output."""
    steps: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        stack = stack_text.split(";")
        steps[step_of(stack)] += count
        leaves[stack[-1]] += count
        total += count
    return steps, leaves, total


def profile_point(
    kind: str, n: int, seconds: float, rate: int, out: Path, native: bool = False
) -> dict[str, Any]:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    name = f"{kind}-{n}"
    raw = out / f"{name}.txt"
    with server("ours") as (pid, url):
        load = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.sfu_load",
                "--system",
                "ours",
                "--url",
                url,
                f"--{kind}",
                str(n),
                "--seconds",
                str(seconds),
                "--warmup",
                "5",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert load.stdout is not None
        spies: list[subprocess.Popen[bytes]] = []
        cpu0 = t0 = 0.0
        row: dict[str, Any] = {kind: n}
        started: dict[str, Any] = {}
        for line in load.stdout:
            line = line.strip()
            if line == "WINDOW START":
                started = server_stats(url, reset=True)
                cpu0, t0 = cpu_seconds(pid), time.monotonic()
                spies.append(
                    subprocess.Popen(
                        [
                            py_spy,
                            "record",
                            "--pid",
                            str(pid),
                            "--rate",
                            str(rate),
                            "--duration",
                            str(int(seconds)),
                            "--format",
                            "raw",
                            "--output",
                            str(raw),
                            "--threads",
                            # Native stacks need the process paused at each sample.
                            *(["--native"] if native else ["--nonblocking"]),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            elif line == "WINDOW END":
                elapsed = time.monotonic() - t0
                row["server_cpu_pct"] = round(100 * (cpu_seconds(pid) - cpu0) / elapsed, 1)
                ended = server_stats(url)
                row["loop_lag_p99_ms"] = ended.get("loop_lag_p99_ms")
                row.update(forward_latency(started, ended))
                row["window_s"] = round(elapsed, 1)
            elif line.startswith("RESULT "):
                row.update(json.loads(line[len("RESULT ") :]))
        load.wait(timeout=60)
        for spy in spies:
            spy.wait(timeout=60)
    steps, leaves, total = read_raw(raw)
    packets = row.get("forwarded_pps", 0) * row["window_s"]
    cpu_us = row["server_cpu_pct"] / 100 * row["window_s"] * 1e6
    row["busy_samples"] = total
    row["steps"] = {
        step: {
            "share": round(count / total, 3),
            "us_per_packet": round(cpu_us * count / total / packets, 2) if packets else None,
        }
        for step, count in steps.most_common()
    }
    row["top_leaves"] = [[frame, count] for frame, count in leaves.most_common(15)]
    row["stacks"] = str(raw)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fanout", type=int, default=8)
    parser.add_argument("--consults", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("profile-sfu"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--native", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for kind, n in (("fanout", args.fanout), ("consults", args.consults)):
        if n:
            row = profile_point(kind, n, args.seconds, args.rate, args.out, args.native)
            print(json.dumps(row), flush=True)
            rows.append(row)
    emit(rows, args.json)


if __name__ == "__main__":
    main()
