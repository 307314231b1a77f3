"""What the vendor benchmarks share: a sandbox fake in a child process, per-call timings, the careful baseline
write, Linux memory figures and the report lines. Imported by openai.py and elevenlabs.py (this folder is last on
their sys.path, so their own names never shadow the vendor SDKs)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def serve_sandbox(vendor: str, options: dict[str, Any]) -> None:
    """Child process: serve one vendor's fake with these SandboxSettings until SIGTERM."""
    from mediagen.sandbox import SandboxSettings, serve_forever

    serve_forever((vendor,), settings=SandboxSettings(**options))


class SandboxProcess:
    """A fake's base URL and the child process serving it."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid

    def cpu_seconds(self) -> float | None:
        """CPU time the sandbox process has used so far (Linux /proc; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@contextlib.contextmanager
def sandbox_process(script: str, vendor: str, url_variable: str, **options: Any) -> Iterator[SandboxProcess]:
    """Start `vendor`'s fake in a child process (`script --serve-sandbox VENDOR OPTIONS`); yields the URL it
    prints as `url_variable=...` and its pid, stops it on exit."""
    proc = subprocess.Popen(
        [sys.executable, script, "--serve-sandbox", vendor, json.dumps(options)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        base_url = None
        for line in proc.stdout:
            if line.startswith(f"{url_variable}="):
                base_url = line.strip().partition("=")[2]
                break
        if base_url is None:
            raise RuntimeError(f"the sandbox process exited ({proc.wait()}) without printing {url_variable}")
        yield SandboxProcess(base_url, proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def write_atomic(directory: Path, name: str, data: bytes | Sequence[bytes]) -> Path:
    """What a careful app does with the bytes: temp file beside the target, fsync, rename, fsync the directory."""
    temp = directory / f".{name}.part-{secrets.token_hex(8)}"
    with open(temp, "xb") as out:
        for chunk in [data] if isinstance(data, bytes) else data:
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    final = directory / name
    os.rename(temp, final)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return final


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Timings:
    """Per-call wall seconds, and the CPU seconds the event loop's thread spent on each call."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    async def run(self, call: Callable[[], Awaitable[Any]], count: int) -> None:
        for _ in range(count):
            cpu, start = time.thread_time(), time.perf_counter()
            await call()
            self.wall.append(time.perf_counter() - start)
            self.cpu.append(time.thread_time() - cpu)


def status(field: str) -> int:
    """A /proc/self/status memory figure, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs); False where that is refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def verdict(met: bool) -> str:
    return "goal met" if met else "goal MISSED"


def row(name: str, timings: Timings) -> str:
    samples = timings.wall
    mean, p50, p95 = statistics.fmean(samples), percentile(samples, 0.5), percentile(samples, 0.95)
    cpu = statistics.fmean(timings.cpu)
    return f"   {name:<44} {mean * 1e3:7.2f}ms {p50 * 1e3:7.2f}ms {p95 * 1e3:7.2f}ms {cpu * 1e3:7.2f}ms"


def default_dir() -> Path | None:
    """A tmpfs when there is one: fsync is then nearly free, so the figures show CPU overhead, not disk noise."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None
