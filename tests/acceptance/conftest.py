"""Acceptance runs of the installed `mediagen` command: isolated workspaces, subprocesses, and a pool that runs
every selected test's scenario concurrently up front, so a suite of ~60 processes fits in a minute on 2 cores.

A test names its scenario with `@scenario(fn)`; `fn(ws, **params)` runs the commands (params are the test's
parametrize values that `fn` takes) and returns what the test asserts on, which the `outcome` fixture gives.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest

MEDIAGEN = shutil.which("mediagen", path=str(Path(sys.executable).parent))
#: Settings every run gets so retries, Veo/Sora jobs and sandbox jobs finish fast.
FAST = {
    "MEDIAGEN_SANDBOX_OPTIONS__JOB_POLLS": "1",
    "MEDIAGEN_RETRY__WAIT_INITIAL": "0.05",
    "MEDIAGEN_RETRY__WAIT_MAX": "2",
    "MEDIAGEN_RETRY__WAIT_JITTER": "0",
}
#: Seconds any one command may take before the run is called hung.
COMMAND_TIMEOUT = 90.0
_WORKERS = max(4, 2 * (os.cpu_count() or 1))
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")

T = TypeVar("T")


def _clean_environ() -> dict[str, str]:
    """The test process's environment without any key, vendor URL, mediagen setting or terminal size."""
    dropped_prefixes = ("MEDIAGEN_", "GOOGLE_", "GEMINI_", "OPENAI_", "XDG_")
    return {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_API_KEY", "_BASE_URL"))
        and not key.startswith(dropped_prefixes)
        and key not in ("HOME", "TMPDIR", "COLUMNS", "LINES")
    }


@attrs.frozen
class Run:
    """One finished `mediagen` command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    ws: Workspace

    def json(self) -> dict[str, Any]:
        """stdout parsed as the one JSON document `--json` promises (a failure shows what was printed)."""
        try:
            data = json.loads(self.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"stdout of {self.args} is not one JSON document:\n{self}") from None
        assert isinstance(data, dict), data
        return data

    def __str__(self) -> str:
        command = " ".join(self.args)
        return f"mediagen {command} -> {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


@attrs.define
class Workspace:
    """A private directory tree for one scenario: `work` is the cwd (outputs land there), `home` holds
    HOME and the XDG dirs (the SQLite store, sandbox state), `inputs` holds images the test made."""

    root: Path
    env: dict[str, str] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        for sub in (self.work, self.home, self.inputs, self.root / "tmp"):
            sub.mkdir(parents=True, exist_ok=True)

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        home = self.home
        return {
            **_clean_environ(),
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_STATE_HOME": str(home / "state"),
            "TMPDIR": str(self.root / "tmp"),
            **FAST,
            **self.env,
            **(extra or {}),
        }

    def mediagen(self, *args: str, env: Mapping[str, str] | None = None, tty_stderr: bool = False) -> Run:
        """Run the installed console script in `work`; with `tty_stderr`, stderr is a terminal (progress shows)."""
        assert MEDIAGEN is not None, f"no mediagen console script next to {sys.executable}"
        started = time.monotonic()
        runner = _run_with_tty_stderr if tty_stderr else _run_piped
        code, out, err = runner([MEDIAGEN, *args], self.work, self.environ(env))
        return Run(tuple(args), code, out, err, round(time.monotonic() - started, 3), self)

    def outputs(self) -> list[Path]:
        """Every file under the working directory, hidden ones included (temp files would show here)."""
        return sorted(p for p in self.work.rglob("*") if not p.is_dir())

    def all_files(self) -> list[Path]:
        """Every file the scenario's commands could have written: outputs, store, sandbox state, temp."""
        return sorted(p for p in self.root.rglob("*") if p.is_file() and p.parent != self.inputs)


def _run_piped(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    return proc.returncode, proc.stdout, proc.stderr


def _run_with_tty_stderr(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """stderr on a pseudo-terminal 200 columns wide, stdout on a pipe; ANSI sequences stripped from stderr."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal closed it
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    finally:
        os.close(slave)
    reader.start()
    try:
        out, _ = proc.communicate(timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    finally:
        reader.join(10)
        os.close(master)
    err = _ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    return proc.returncode, out.decode(), err


# -- scenarios run concurrently -------------------------------------------------------------------------------

ScenarioFn = Callable[..., Any]
_SCENARIO_ATTR = "__mediagen_scenario__"


def scenario(fn: ScenarioFn, *, cost: int = 1) -> Callable[[T], T]:
    """Mark a test as asserting on what `fn(ws, **params)` returns; higher `cost` starts earlier."""

    def mark(test: T) -> T:
        setattr(test, _SCENARIO_ATTR, (fn, cost))
        return test

    return mark


def _scenario_of(item: pytest.Item) -> tuple[ScenarioFn, int, tuple[tuple[str, Any], ...]] | None:
    function = getattr(item, "function", None)
    found = getattr(function, _SCENARIO_ATTR, None)
    if found is None:
        return None
    fn, cost = found
    wanted = list(inspect.signature(fn).parameters)[1:]
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    return fn, cost, tuple((name, params[name]) for name in wanted)


class ScenarioPool:
    """Runs each distinct (scenario, params) once, in a thread pool, each in a fresh workspace."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._executor = concurrent.futures.ThreadPoolExecutor(_WORKERS, thread_name_prefix="mediagen-acceptance")
        self._futures: dict[tuple[ScenarioFn, tuple[tuple[str, Any], ...]], concurrent.futures.Future[Any]] = {}

    def submit(self, fn: ScenarioFn, params: tuple[tuple[str, Any], ...]) -> concurrent.futures.Future[Any]:
        key = (fn, params)
        if key not in self._futures:
            suffix = "-".join(re.sub(r"\W+", "_", str(value)) for _, value in params)
            ws = Workspace(self._factory.mktemp(f"{fn.__name__}-{suffix}"[:60], numbered=True))
            self._futures[key] = self._executor.submit(fn, ws, **dict(params))
        return self._futures[key]

    def result(self, fn: ScenarioFn, params: tuple[tuple[str, Any], ...]) -> Any:
        return self.submit(fn, params).result(timeout=4 * COMMAND_TIMEOUT)

    def shutdown(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._executor.shutdown(wait=True)


@pytest.fixture(scope="session")
def scenario_pool(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioPool]:
    """Starts every selected test's scenario at once (costliest first), so they overlap."""
    pool = ScenarioPool(tmp_path_factory)
    found = [s for s in (_scenario_of(item) for item in request.session.items) if s is not None]
    for fn, _, params in sorted(found, key=lambda s: -s[1]):
        pool.submit(fn, params)
    yield pool
    pool.shutdown()


@pytest.fixture
def outcome(request: pytest.FixtureRequest, scenario_pool: ScenarioPool) -> Any:
    """What this test's scenario returned (its exception, if it raised)."""
    found = _scenario_of(request.node)
    assert found is not None, f"{request.node.name} uses `outcome` without @scenario(...)"
    fn, _, params = found
    return scenario_pool.result(fn, params)
