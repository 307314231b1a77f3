"""Fixtures shared by several test packages."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_server_url() -> Iterator[str]:
    """A throwaway redis-server per test module, on a loopback port, without persistence; skipped if not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not on PATH")
    port = _free_loopback_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # the server says when it accepts connections
            seen.append(line)
            if "Ready to accept connections" in line:
                break
        else:
            pytest.fail("redis-server exited before it was ready:\n" + "".join(seen))
        # Keep draining its log so a full pipe never blocks the server.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def moto_server_url() -> Iterator[str]:
    """moto's S3 API in server mode on a loopback ephemeral port (one per test module), stopped after the module."""
    pytest.importorskip("moto.server")
    port = _free_loopback_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # werkzeug says when it listens
            seen.append(line)
            if "Running on" in line:
                break
        else:
            pytest.fail("moto's server exited before it was ready:\n" + "".join(seen))
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws_environ(moto_server_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The standard AWS variables pointing at moto's server, with test-only credentials."""
    environ = {
        "AWS_ACCESS_KEY_ID": "testing-access-key",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-key-never-printed",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_server_url,
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return environ
