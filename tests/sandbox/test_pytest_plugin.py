"""The shipped pytest plugin, run the way a user's suite runs it: in its own pytest process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

USER_SUITE = """
import os
import threading

import pytest
from openai import AsyncOpenAI, OpenAI


@pytest.mark.asyncio
async def test_async_sandbox(mediagen_sandbox):
    async with AsyncOpenAI(base_url=mediagen_sandbox.base_url("openai"), api_key="k", max_retries=0) as client:
        result = await client.images.generate(model="gpt-image-1", prompt="plugin")
    assert result.data


def test_env_points_default_clients_at_the_sandbox(mediagen_sandbox_env):
    assert os.environ["OPENAI_BASE_URL"] == mediagen_sandbox_env.base_url("openai")
    mediagen_sandbox_env.faults.push("openai", "rate_limit")
    with OpenAI(max_retries=0) as client:
        with pytest.raises(Exception, match="Rate limit"):
            client.audio.speech.create(model="tts-1", input="x", voice="alloy")
        assert client.audio.speech.create(model="tts-1", input="x", voice="alloy").content


def test_servers_are_gone_after_each_test():
    assert "OPENAI_BASE_URL" not in os.environ
    assert [t.name for t in threading.enumerate() if t.name == "mediagen-sandbox"] == []
"""


def test_the_plugin_fixtures_work_in_a_users_own_suite(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_SUITE))
    env_free = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",  # the plugin loads by its pytest11 entry point
         "-o", "asyncio_mode=strict", "-W", "ignore::DeprecationWarning", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env=env_free, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_importing_the_plugin_starts_nothing() -> None:
    code = (
        "import threading, mediagen.sandbox.pytest_plugin as plugin;"
        "assert threading.active_count() == 1, threading.enumerate();"
        "assert callable(plugin.mediagen_sandbox_env)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
