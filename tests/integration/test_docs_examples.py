"""The Python examples in docs/ run as written: embedding.md's and sandbox.md's scripts (sandbox.md's pytest example
under pytest), and adding-a-backend.md's whole procedure.

Each example runs in a fresh interpreter in a temporary directory, with no key, no mediagen setting and the user
data and config directories moved into that directory, so it shows what a new user would see.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mediagen.testing.media import png

DOCS = Path(__file__).resolve().parents[2] / "docs"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
#: A block that starts with `# some/path.py` is that file of the reader's project.
_FILE_COMMENT = re.compile(r"^# ([\w./-]+\.py)\b")


def blocks(doc: str, language: str) -> list[str]:
    return [body for lang, body in _BLOCK.findall((DOCS / doc).read_text()) if lang == language]


def clean_env(home: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MEDIAGEN_", "XDG_", "PYTEST_"))
        and not name.endswith(("_API_KEY", "_BASE_URL"))
        and name != "PYTHONPATH"
    }
    env.update(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"), PYTHONPATH=str(home))
    return env


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=clean_env(cwd), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{args} failed:\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done


# -- embedding.md ---------------------------------------------------------------------------------------------------

EMBEDDING = blocks("embedding.md", "python")


def test_embedding_md_has_the_examples_this_file_runs() -> None:
    assert len(EMBEDDING) >= 2
    assert any("container.store.override" in b and "container.plugins.override" in b for b in EMBEDDING)
    assert any('"sandbox": True' in b and "shutdown_resources" in b for b in EMBEDDING)


@pytest.mark.parametrize("index", range(len(EMBEDDING)))
def test_each_embedding_example_runs_and_writes_its_files(index: int, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(EMBEDDING[index])
    done = run([sys.executable, str(script)], tmp_path)
    printed = done.stdout.split()
    assert printed, "the example prints what it made"
    made = Path(printed[0])
    assert made.is_file() and made.is_relative_to(tmp_path), f"{made} is not a file under the example's directory"
    if "container.store.override" in EMBEDDING[index]:
        assert not (tmp_path / "data" / "mediagen").exists(), "the overridden store still made the SQLite file"


# -- sandbox.md -----------------------------------------------------------------------------------------------------

SANDBOX = blocks("sandbox.md", "python")


def test_sandbox_md_has_the_examples_this_file_runs() -> None:
    assert len(SANDBOX) >= 4
    assert any("asyncio.run(" in b and "Fault(" in b for b in SANDBOX)
    assert any("SandboxThread" in b for b in SANDBOX)
    assert any("mediagen_sandbox_env" in b for b in SANDBOX)
    assert any("state_dir" in b for b in SANDBOX)


@pytest.mark.parametrize("index", range(len(SANDBOX)))
def test_each_sandbox_example_runs_as_written(index: int, tmp_path: Path) -> None:
    example = SANDBOX[index]
    named = _FILE_COMMENT.match(example)
    if named is not None and Path(named[1]).name.startswith("test_"):
        (tmp_path / named[1]).write_text(example)
        done = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", named[1]], tmp_path)
        assert re.search(r"\b1 passed\b", done.stdout), done.stdout
        return
    script = tmp_path / "example.py"
    script.write_text(example)
    done = run([sys.executable, str(script)], tmp_path)
    assert done.stdout.strip(), "the example prints what it did"
    assert "Traceback" not in done.stderr


# -- adding-a-backend.md --------------------------------------------------------------------------------------------

#: The stand-in for what the guide leaves to the reader: the vendor's SDK, an async HTTP client of Acme's API.
ACME_SDK = '''
"""A stand-in for a vendor SDK: images.create posts to the API and returns the image's bytes."""

import base64

import httpx


class AcmeError(Exception):
    def __init__(self, message, status=None, retry_after=None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class _Images:
    def __init__(self, http):
        self._http = http

    async def create(self, *, model, prompt, size="1024x1024", seed=None):
        try:
            sent = {"model": model, "prompt": prompt, "size": size, "seed": seed}
            answer = await self._http.post("images", json=sent)
            body = answer.json()
        except (httpx.TransportError, ValueError) as exc:
            raise AcmeError(f"connection error: {exc!r}") from exc
        if answer.status_code != 200:
            raise AcmeError(body["error"], status=answer.status_code)
        return base64.b64decode(body["b64"])


class AsyncAcme:
    def __init__(self, *, api_key, base_url=None):
        base = (base_url or "https://api.acme.example/v1").rstrip("/") + "/"
        self._http = httpx.AsyncClient(base_url=base, headers={"authorization": f"Bearer {api_key}"})
        self.images = _Images(self._http)

    async def close(self):
        await self._http.aclose()
'''


def test_the_guide_shows_every_function_of_the_reader_s_project_it_uses() -> None:
    files = {m[1]: body for body in blocks("adding-a-backend.md", "python") if (m := _FILE_COMMENT.match(body))}
    for body in files.values():
        for module, names in re.findall(r"^from (mybackend[\w.]*) import (.+)$", body, re.MULTILINE):
            path = module.replace(".", "/") + ("/__init__.py" if module == "mybackend" else ".py")
            assert path in files, f"the guide imports {module} but shows no {path}"
            for name in (n.strip() for n in names.split("#")[0].split(",")):
                assert re.search(rf"^(async def|def|class) {name}\b|^{name} = ", files[path], re.MULTILINE), name
    fixtures = set(re.findall(r"async def generator\(self, (\w+)\)", files["tests/test_acme_contract.py"]))
    assert fixtures and all(f"def {f}(" in files["tests/conftest.py"] for f in fixtures)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The reader's project, built from the guide's blocks (each names its file) plus the stand-ins."""
    written = []
    for body in blocks("adding-a-backend.md", "python"):
        match = _FILE_COMMENT.match(body)
        assert match is not None, f"a Python block of adding-a-backend.md does not name its file:\n{body}"
        target = tmp_path / match[1]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
        written.append(match[1])
    assert written == [
        "mybackend/__init__.py", "mybackend/mapping.py", "mybackend/generator.py", "mybackend/errors.py",
        "tests/conftest.py", "tests/test_acme_contract.py",
    ]  # fmt: skip
    (tmp_path / "acme_sdk.py").write_text(ACME_SDK)
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    [toml] = blocks("adding-a-backend.md", "toml")
    (tmp_path / "entry_points.toml").write_text(toml)
    return tmp_path


def test_the_guide_s_backend_registers_through_its_entry_point_and_serves_through_the_service(project: Path) -> None:
    (project / "out").mkdir()
    (project / "in.png").write_bytes(png(8, 8))
    script = textwrap.dedent(
        """
        import asyncio, sys
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib
        from importlib.metadata import EntryPoint

        from dependency_injector import providers
        from mediagen import Container, MediaRequest, MediaType
        from mediagen.application.settings import BackendSettings, Settings, StoreSettings
        from mediagen.ports.generator import BackendPlugin
        from mediagen.testing import StaticCredentials
        from tests.conftest import acme_api

        table = tomllib.load(open("entry_points.toml", "rb"))["project"]["entry-points"]["mediagen.backends"]
        [(name, value)] = table.items()
        plugin = EntryPoint(name, value, "mediagen.backends").load()
        assert isinstance(plugin, BackendPlugin) and plugin.spec.name == name == "acme"
        assert "acme_sdk" not in sys.modules, "the spec module must not import the SDK"

        async def main():
            async with acme_api() as url:
                acme = BackendSettings(base_url=url)
                settings = Settings(store=StoreSettings(kind="memory"), backends={"acme": acme})
                container = Container(settings=providers.Object(settings))
                container.plugins.override(providers.Object([plugin]))
                container.credentials.override(providers.Object(StaticCredentials({"acme": "acme-key"})))
                async with container.service() as service:
                    made = await service.generate(
                        MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", size="1536x1024", seed=3,
                                     negative_prompt="blur", output_dir="out")
                    )
            print(made.artifact.path, made.backend, made.model)
            print(dict(made.applied), [(i.name, i.reason) for i in made.ignored])

        asyncio.run(main())
        """
    )
    done = run([sys.executable, "-c", script], project)
    first, second = done.stdout.splitlines()
    path, backend, model = first.split()
    assert Path(path).parent == project / "out" and Path(path).suffix == ".png"
    assert (backend, model) == ("acme", "acme-img-2")
    assert second == "{'size': '1536x1024', 'seed': 3} [('negative_prompt', 'acme-img-2 has no such setting')]"


def test_the_guide_s_backend_passes_the_contract_suite_as_the_guide_runs_it(project: Path) -> None:
    done = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], project)
    summary = done.stdout.strip().splitlines()[-1]
    passed = re.search(r"\b(\d+) passed\b", summary)
    assert passed and int(passed[1]) >= 8, done.stdout
    assert "failed" not in summary and "error" not in summary, done.stdout


# -- architecture.md ------------------------------------------------------------------------------------------------


def test_architecture_md_stands_on_its_own() -> None:
    text = (DOCS / "architecture.md").read_text()
    assert "../" not in text and "shared design" not in text.lower(), "it points at a document outside the repository"
    for target in re.findall(r"\]\(([^)#]+)", text):
        if "://" not in target:
            assert (DOCS / target).resolve().is_relative_to(DOCS.parent), target
            assert (DOCS / target).exists(), f"architecture.md links to {target}, which does not exist"


# -- configuration.md -----------------------------------------------------------------------------------------------


def test_the_configuration_reference_has_a_row_for_every_setting() -> None:
    import attrs

    from mediagen.application.settings import BackendSettings, RetrySettings, Settings, StoreSettings, TimeoutSettings

    text = (DOCS / "configuration.md").read_text()
    keys = [field.name for field in attrs.fields(Settings)]
    for prefix, table in (("store", StoreSettings), ("retry", RetrySettings), ("timeouts", TimeoutSettings)):
        keys += [f"{prefix}.{field.name}" for field in attrs.fields(table)]
    keys += [f"backends.<name>.{field.name}" for field in attrs.fields(BackendSettings)]
    missing = [key for key in keys if f"| `{key}` |" not in text]
    assert not missing, f"configuration.md has no reference row for {missing}"


def test_the_sandbox_options_row_names_every_sandbox_setting() -> None:
    import attrs

    from mediagen.sandbox import SandboxSettings

    [row] = [
        line for line in (DOCS / "configuration.md").read_text().splitlines() if line.startswith("| `sandbox_options`")
    ]
    assert "`MEDIAGEN_SANDBOX_OPTIONS__<FIELD>`" in row
    missing = [field.name for field in attrs.fields(SandboxSettings) if f"`{field.name}`" not in row]
    assert not missing, f"the sandbox_options row does not name {missing}"
