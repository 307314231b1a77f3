"""Object-store output: memory of one large video streamed to an s3:// place, against moto's S3 server.

    .venv/bin/python benchmarks/s3.py [--quick]

moto's server (the dev extra's moto[server]) runs in a child process on 127.0.0.1; a second child process builds
an `S3Sink` (the one `-o s3://bucket/prefix` uses), writes a small image to load everything, resets its peak RSS
(/proc/self/clear_refs), then streams a 512 MiB sandbox MP4 (`mediagen.sandbox.media.mp4_stream`, generated in
constant memory) to the bucket and reports VmHWM - VmRSS at the reset.                       goal <= +64 MiB

--quick streams 128 MiB instead. Linux only (it reads /proc/self/status).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    """VmHWM back to the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def measure(size: int) -> None:
    """Child process: one warm-up image, then `size` bytes of MP4 to the bucket; memory figures as JSON."""
    from mediagen.adapters.sinks.s3 import S3Sink
    from mediagen.domain.media import MediaType
    from mediagen.ports.artifacts import ArtifactTarget
    from mediagen.sandbox.media import image, mp4_stream

    async def one(data: bytes) -> Any:
        yield data

    async def run() -> dict[str, Any]:
        sink = S3Sink()
        place = Path("s3://bench/videos")
        try:
            await sink.prepare(place)
            picture = ArtifactTarget(media_type=MediaType.IMAGE, backend="openai", prompt="warm", output_dir=place)
            await sink.write(one(image(64, 64, "png")), picture, mime_type="image/png")
            _reset_peak()
            idle = _status("VmRSS")
            video = ArtifactTarget(media_type=MediaType.VIDEO, backend="openai", prompt="a pan", output_dir=place)
            started = time.perf_counter()
            artifact = await sink.write(mp4_stream(1, 64, 64, min_bytes=size), video, mime_type="video/mp4")
            seconds = time.perf_counter() - started
        finally:
            await sink.aclose()
        return {"idle": idle, "peak": _status("VmHWM"), "bytes": artifact.size_bytes, "seconds": seconds}

    print(json.dumps(asyncio.run(run())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="128 MiB instead of 512 MiB")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return
    size = (128 if args.quick else 512) * MIB
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if "Running on" in line:
                break
        threading.Thread(target=server.stdout.read, daemon=True).start()
        environ = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench-secret",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        }
        make_bucket = (
            "import boto3; boto3.client('s3').create_bucket(Bucket='bench')"  # moto's own dependency, set-up only
        )
        subprocess.run([sys.executable, "-c", make_bucket], check=True, env=environ)
        done = subprocess.run(
            [sys.executable, __file__, "--measure", str(size)], check=True, capture_output=True, text=True, env=environ
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    added = (found["peak"] - found["idle"]) / MIB
    print(
        f"a {found['bytes'] / MIB:.0f} MiB MP4 streamed to s3:// in {found['seconds']:.1f} s "
        f"({found['bytes'] / MIB / found['seconds']:.0f} MiB/s), parts of 8 MiB"
    )
    print(
        f"RSS idle {found['idle'] / MIB:.1f} MiB, peak {found['peak'] / MIB:.1f} MiB: {added:+.1f} MiB while streaming"
    )
    print(f"goal {'met' if added <= 64 else 'MISSED'}: the upload adds {added:+.1f} MiB of RSS (<= +64 MiB)")


if __name__ == "__main__":
    main()
