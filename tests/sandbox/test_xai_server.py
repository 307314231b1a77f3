"""The xAI fake inside the sandbox framework: every way of running a sandbox serves it, and its printed lines point
xai_sdk and mediagen at it; `import mediagen.sandbox` stays free of grpc."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import xai_sdk

from mediagen.sandbox import Sandbox, SandboxThread, available_vendors, describe
from mediagen.sandbox.xai import SANDBOX_KEY

IMAGE = "grok-imagine-image"


async def test_base_url_is_the_grpc_host_and_port_and_env_points_mediagen_at_it() -> None:
    async with Sandbox(vendors=("xai",)) as sb:
        address = sb.base_url("xai")
        host, _, port = address.rpartition(":")
        assert host == "127.0.0.1"
        assert port.isdigit()
        assert sb.origin("xai") != f"http://{address}"  # downloads come from the HTTP side, a port of its own
        assert sb.env() == {"MEDIAGEN_BACKENDS__XAI__BASE_URL": address, "XAI_API_KEY": SANDBOX_KEY}
        lines = describe(sb)
        assert f"MEDIAGEN_BACKENDS__XAI__BASE_URL={address}" in lines
        assert f"XAI_API_KEY={SANDBOX_KEY}" in lines


async def test_with_a_fixed_port_the_grpc_server_takes_the_xai_slot() -> None:
    """`mediagen sandbox --port P`: vendors take P, P+1, ... in order; xAI's slot is the gRPC server users point at."""
    first = _two_free_ports()
    async with Sandbox(vendors=("openai", "xai"), port=first) as sb:
        assert sb.base_url("xai") == f"127.0.0.1:{first + 1}"
        assert sb.origin("openai") == f"http://127.0.0.1:{first}"
        client = xai_sdk.AsyncClient(api_key="k", api_host=sb.base_url("xai"), use_insecure_channel=True)
        assert (await client.image.sample("p", IMAGE, image_format="base64")).respect_moderation
        await client.close()


def _two_free_ports() -> int:
    """A port P such that P and P + 1 were both free just now (the sandbox takes them in order)."""
    for _ in range(100):
        with socket.socket() as first, socket.socket() as second:
            first.bind(("127.0.0.1", 0))
            port: int = first.getsockname()[1]
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise RuntimeError("no two free ports in a row on 127.0.0.1")


def test_every_vendor_sandbox_includes_xai() -> None:
    assert "xai" in available_vendors()
    with SandboxThread() as sb:
        client = xai_sdk.Client(api_key="k", api_host=sb.base_url("xai"), use_insecure_channel=True)
        assert client.image.sample("p", IMAGE, image_format="base64").respect_moderation
        client.close()


async def test_the_pytest_plugin_serves_xai(mediagen_sandbox: Sandbox) -> None:
    client = xai_sdk.AsyncClient(api_key="k", api_host=mediagen_sandbox.base_url("xai"), use_insecure_channel=True)
    assert (await client.image.sample("p", IMAGE, image_format="base64")).respect_moderation
    await client.close()


def test_importing_mediagen_and_its_sandbox_loads_no_grpc() -> None:
    script = (
        "import sys, mediagen, mediagen.sandbox\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'xai_sdk')))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_mediagen_sandbox_prints_the_lines_that_reach_the_fake() -> None:
    """`mediagen sandbox --vendor xai` as a user runs it: the printed env lines work with xai_sdk as printed."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XAI_", "MEDIAGEN_"))}
    command = [sys.executable, "-m", "mediagen.entrypoints.cli", "sandbox", "--vendor", "xai"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        printed: dict[str, str] = {}
        for line in process.stdout:
            key, sep, value = line.strip().partition("=")
            if sep and key.isupper():
                printed[key] = value
            if line.startswith("Press Ctrl-C"):
                break
        try:
            assert printed["XAI_API_KEY"] == SANDBOX_KEY
            address = printed["MEDIAGEN_BACKENDS__XAI__BASE_URL"]
            client = xai_sdk.Client(api_key=printed["XAI_API_KEY"], api_host=address, use_insecure_channel=True)
            assert client.image.sample("p", IMAGE, image_format="base64").respect_moderation
            client.close()
        finally:
            process.send_signal(signal.SIGINT)
            rest = process.communicate(timeout=30)[0]
    assert process.returncode == 0
    assert "stopped" in rest


def test_the_xai_example_in_the_docs_runs_as_written(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "sandbox.md").read_text()
    examples = [body for lang, body in _BLOCK.findall(docs) if lang == "python" and "xai_sdk.Client(" in body]
    assert len(examples) == 1
    script = tmp_path / "example.py"
    script.write_text(examples[0])
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XAI_", "MEDIAGEN_"))}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.endswith("bytes of JPEG")
    url, seconds = second.split()
    assert url.startswith("http://127.0.0.1:") and url.endswith(".mp4")
    assert seconds == "2"


_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
