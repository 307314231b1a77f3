"""The OpenRouter adapter with the real AsyncOpenAI against the sandbox's OpenRouter fake, mostly through
MediaService with the real FilesystemSink: images, edits, URL answers, answers without an image, every error
status, continuations across services sharing a SQLite store, the client built once off the loop, and no OPENAI_*
setting or key leaking to OpenRouter."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mediagen.adapters.credentials.env import StaticCredentialSource
from mediagen.adapters.openrouter import PLUGIN
from mediagen.adapters.openrouter.generator import OpenRouterGenerator
from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.adapters.stores.memory import MemoryStore
from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import RetrySettings, Settings
from mediagen.domain.errors import (
    AuthenticationFailed,
    BackendError,
    ContentRejected,
    InvalidRequest,
    MediaGenError,
    RateLimited,
    TransientBackendError,
)
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.continuation import ContinuationStore
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext
from mediagen.sandbox import Fault, Sandbox, SandboxSettings, media
from mediagen.sandbox.openrouter import OpenRouterState

#: Shaped like a real OpenRouter key, so both the value and the key pattern would be caught if leaked.
KEY = "sk-or-v1-MEDIAGENrecognisable0123456789abcdefSECRET"
GEMINI = "google/gemini-3.1-flash-image-preview"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("openrouter",), settings=SandboxSettings(api_key=KEY, hang_seconds=5)) as running:
        yield running


def fake(sandbox: Sandbox) -> OpenRouterState:
    found = sandbox.state("openrouter")
    assert isinstance(found, OpenRouterState)
    return found


def options(sandbox: Sandbox, **extra: Any) -> BackendOptions:
    return BackendOptions(base_url=sandbox.base_url("openrouter"), extra=extra)


@pytest.fixture
async def generator(sandbox: Sandbox) -> AsyncIterator[OpenRouterGenerator]:
    made = PLUGIN.factory(options(sandbox))
    assert isinstance(made, OpenRouterGenerator)
    yield made
    await made.aclose()


def ctx(model: str = GEMINI, **kwargs: Any) -> GenerationContext:
    return GenerationContext(credentials=Secret(KEY), model=model, timeout=kwargs.pop("timeout", 60.0), **kwargs)


async def read(generated: GeneratedMedia) -> bytes:
    return b"".join([chunk async for chunk in generated.stream])


def service(
    sandbox: Sandbox, root: Path, store: ContinuationStore | None = None, *, key: str = KEY, **extra: Any
) -> MediaService:
    """A service as a separate process would build it: its own registry, generator, store object and sink."""
    registry = BackendRegistry([PLUGIN], {"openrouter": options(sandbox, **extra)})
    selector = BackendSelector(registry.specs, StaticCredentialSource({"openrouter": key}))
    sink = FilesystemSink(allowed_roots=[root], default_dir=root)
    settings = Settings(retry=RetrySettings(attempts=2, wait_initial=0, wait_max=0, wait_jitter=0))
    return MediaService(
        registry=registry, selector=selector, store=store or MemoryStore(), sink=sink, settings=settings
    )


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "inputs" / "shape.png"
    path.parent.mkdir()
    path.write_bytes(media.image(300, 150, "png", prompt="a shape"))
    return path


def written(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_file())


# -- images -----------------------------------------------------------------------------------------------------


async def test_an_image_is_a_png_of_the_asked_shape_with_provider_and_usage(sandbox: Sandbox, tmp_path: Path) -> None:
    async with service(sandbox, tmp_path) as svc:
        result = await svc.generate(
            MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", aspect_ratio="21:9", quality="2K")
        )
    assert result.backend == "openrouter" and result.model == GEMINI
    assert media.image_size(result.path.read_bytes()) == (2048, 878)
    assert result.metadata["provider"] == "Google AI Studio" and result.metadata["image_source"] == "data_url"
    assert set(result.metadata["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert result.parameters.applied == {"aspect_ratio": "21:9", "quality": "2K"}
    [sent] = fake(sandbox).requests_to("/api/v1/chat/completions")
    assert sent.body["image_config"] == {"aspect_ratio": "21:9", "image_size": "2K"}
    assert sent.body["modalities"] == ["image", "text"]


async def test_an_edit_sends_the_input_image_as_a_data_url_part(
    sandbox: Sandbox, tmp_path: Path, picture: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    given = await asyncio.to_thread(picture.read_bytes)
    async with service(sandbox, out) as svc:
        result = await svc.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="paint it", input_images=[picture]))
    [sent] = fake(sandbox).requests_to("/api/v1/chat/completions")
    parts = sent.body["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "paint it"}
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and base64.b64decode(url.partition(",")[2]) == given
    assert media.image_size(result.path.read_bytes()) == (1024, 512)  # the input's 2:1 shape
    assert written(out) == [result.path.name]


async def test_a_url_answer_is_fetched_at_once_without_the_key(generator: OpenRouterGenerator) -> None:
    made = await generator.generate(MediaRequest(media_type="image", prompt="a kite sandbox:image-url"), ctx())
    assert made.metadata["image_source"] == "url" and made.mime_type == "image/png"
    data = await read(made)
    assert media.open_image(data)
    assert made.continuation is not None and made.continuation.data["last_image_mime"] == "image/png"
    assert made.continuation.blob == data


async def test_an_expired_url_is_a_backend_error_and_no_file(sandbox: Sandbox, tmp_path: Path) -> None:
    async with service(sandbox, tmp_path) as svc:
        with pytest.raises(BackendError, match="expire") as caught:
            await svc.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="a kite sandbox:expired-url"))
    assert caught.value.status == 404 and written(tmp_path) == []


async def test_a_url_image_over_the_cap_is_refused_and_no_file(sandbox: Sandbox, tmp_path: Path) -> None:
    async with service(sandbox, tmp_path, max_image_bytes=1000) as svc:
        with pytest.raises(BackendError, match="max_image_bytes"):
            await svc.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="big sandbox:image-url"))
        with pytest.raises(BackendError, match="max_image_bytes"):
            await svc.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="big inline"))
    assert written(tmp_path) == []


async def test_an_answer_without_an_image_quotes_the_model_and_leaves_no_file(sandbox: Sandbox, tmp_path: Path) -> None:
    async with service(sandbox, tmp_path) as svc:
        with pytest.raises(BackendError) as caught:
            await svc.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="sandbox:no-image explain a cat"))
    assert type(caught.value) is BackendError
    assert "without an image" in str(caught.value) and "the model said: 'I cannot draw that." in str(caught.value)
    assert written(tmp_path) == []


# -- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "kind", "code"),
    [
        ("wrong-key", AuthenticationFailed, "authentication_failed"),
        ("sandbox:no-credits", BackendError, "backend_error"),
        ("content_policy", ContentRejected, "content_rejected"),
        ("rate_limit", RateLimited, "rate_limited"),
        ("server_error", TransientBackendError, "transient_backend_error"),
        ("unavailable", TransientBackendError, "transient_backend_error"),
        ("sandbox:provider-down", TransientBackendError, "transient_backend_error"),
        ("malformed", TransientBackendError, "transient_backend_error"),
        ("unknown-model", InvalidRequest, "invalid_request"),
    ],
)
async def test_every_error_is_one_typed_error_without_the_key_and_no_file(
    sandbox: Sandbox, tmp_path: Path, how: str, kind: type[MediaGenError], code: str
) -> None:
    prompt, key, model = "a cat", KEY, None
    if how.startswith("sandbox:"):
        prompt = f"{how} a cat"
    elif how == "wrong-key":
        key = "sk-or-v1-another0123456789abcdefghij"
    elif how == "unknown-model":
        model = "acme/nope"
    else:
        sandbox.faults.push("openrouter", Fault(how, {"retry_after": "0"} if how == "rate_limit" else {}), times=2)
    async with service(sandbox, tmp_path, key=key) as svc:
        with pytest.raises(MediaGenError) as caught:
            await svc.generate(
                MediaRequest(media_type=MediaType.IMAGE, prompt=prompt, backend="openrouter", model=model)
            )
    error = caught.value
    assert type(error) is kind and error.code == code, repr(error)
    assert KEY not in str(error) and "sk-or-v1-another" not in str(error)
    assert written(tmp_path) == []
    calls = [c.status for c in sandbox.calls("openrouter")]
    retried = kind is TransientBackendError or kind is RateLimited
    assert len(calls) == (2 if retried else 1), calls  # credits, moderation, keys and bad requests are not retried
    if how == "sandbox:no-credits":
        assert "insufficient credits" in str(error) and "not retried" in str(error)
    if how == "content_policy":
        assert "violence" in str(error)


async def test_a_cut_short_url_download_is_retried_and_then_written(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.faults.push("openrouter", "truncated_download", times=1)
    async with service(sandbox, tmp_path) as svc:
        result = await svc.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="a kite sandbox:image-url"))
    assert media.open_image(result.path.read_bytes()) and written(tmp_path) == [result.path.name]
    assert len(fake(sandbox).requests_to("/api/v1/chat/completions")) == 2


# -- continuation ----------------------------------------------------------------------------------------------


async def test_turns_through_fresh_services_on_one_sqlite_store_edit_the_last_image(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    continuation: str | None = None
    paths: list[Path] = []
    for prompt in ["a boat", "add a sail", "add a seagull"]:
        store = SqliteStore(tmp_path / "continuations.sqlite3")
        async with service(sandbox, tmp_path, store) as svc:
            result = await svc.generate(
                MediaRequest(media_type=MediaType.IMAGE, prompt=prompt, continue_from=continuation)
            )
        assert result.backend == "openrouter" and result.continuation_id is not None
        assert result.continuation_id.startswith("openrouter_openrouter-chat_")
        continuation = result.continuation_id
        paths.append(result.path)
    sent = fake(sandbox).requests_to("/api/v1/chat/completions")
    last = sent[-1].body["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user", "assistant", "user"]
    previous_image = last[-1]["content"][1]["image_url"]["url"]
    assert base64.b64decode(previous_image.partition(",")[2]) == paths[1].read_bytes()
    assert last[0]["content"] == [{"type": "text", "text": "a boat"}]


async def test_history_beyond_the_turn_bound_is_dropped_and_reported(sandbox: Sandbox, tmp_path: Path) -> None:
    continuation: str | None = None
    async with service(sandbox, tmp_path, max_history_turns=2) as svc:
        for prompt in ["one", "two", "three", "four"]:
            result = await svc.generate(
                MediaRequest(media_type=MediaType.IMAGE, prompt=prompt, continue_from=continuation)
            )
            continuation = result.continuation_id
    assert result.metadata["history"] == {
        "turns": 2, "bytes": result.metadata["history"]["bytes"], "dropped_turns": 1, "dropped_turns_total": 2
    }  # fmt: skip
    last = fake(sandbox).requests_to("/api/v1/chat/completions")[-1].body["messages"]
    assert [m["content"][0]["text"] for m in last if m["role"] == "user"] == ["two", "three", "four"]


async def test_continuing_another_backends_state_is_refused_before_any_call(
    sandbox: Sandbox, generator: OpenRouterGenerator
) -> None:
    from mediagen.ports.continuation import ContinuationState

    with pytest.raises(InvalidRequest) as caught:
        await generator.generate(
            MediaRequest(media_type="image", prompt="x"),
            ctx(continuation=ContinuationState(kind="gemini_chat", data={"history": []})),
        )
    assert caught.value.field == "continue_from" and fake(sandbox).requests == []


# -- the client ----------------------------------------------------------------------------------------------


async def test_concurrent_first_calls_share_one_client_built_once(generator: OpenRouterGenerator) -> None:
    made = await asyncio.gather(
        *(generator.generate(MediaRequest(media_type="image", prompt=f"cat {i}"), ctx()) for i in range(5))
    )
    assert len(made) == 5 and generator.clients.built == 1


def test_importing_the_generator_loads_no_sdk() -> None:
    code = "import sys, mediagen.adapters.openrouter.generator; print('openai' in sys.modules, 'httpx2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "False"]


async def test_openai_environment_settings_never_reach_openrouter(
    sandbox: Sandbox, generator: OpenRouterGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-leak")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-leak")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "X-Custom-Leak: 1\nAuthorization: Bearer sk-openai-real-key")
    await generator.generate(MediaRequest(media_type="image", prompt="x"), ctx())
    [sent] = fake(sandbox).requests_to("/api/v1/chat/completions")
    assert sent.headers == {"authorization": f"Bearer {KEY}"}


async def test_attribution_headers_are_sent_only_when_set(sandbox: Sandbox) -> None:
    extra = {"http_referer": "https://example.org/app", "x_title": "Example App"}
    made = PLUGIN.factory(options(sandbox, **extra))
    try:
        await made.generate(MediaRequest(media_type="image", prompt="x"), ctx())
    finally:
        await made.aclose()
    [sent] = fake(sandbox).requests_to("/api/v1/chat/completions")
    assert sent.headers["http-referer"] == "https://example.org/app" and sent.headers["x-title"] == "Example App"


async def test_the_service_lists_the_image_models_openrouter_serves(sandbox: Sandbox, tmp_path: Path) -> None:
    async with service(sandbox, tmp_path) as svc:
        models = await svc.list_models("openrouter")
    names = {m.name for m in models}
    assert GEMINI in names and "black-forest-labs/flux.2-pro" in names and "openai/gpt-4o-mini" not in names


async def test_an_unlisted_image_only_model_is_asked_again_for_images_only(
    sandbox: Sandbox, generator: OpenRouterGenerator
) -> None:
    made = await generator.generate(MediaRequest(media_type="image", prompt="x"), ctx("sourceful/riverflow-v2-fast"))
    assert media.open_image(await read(made)) and made.model == "sourceful/riverflow-v2-fast"
    sent = [r.body["modalities"] for r in fake(sandbox).requests_to("/api/v1/chat/completions")]
    assert sent == [["image", "text"], ["image"]]
    assert [c.status for c in sandbox.calls("openrouter")] == [404, 200]


async def test_a_listed_model_asked_wrongly_is_not_asked_again(
    sandbox: Sandbox, generator: OpenRouterGenerator
) -> None:
    with pytest.raises(BackendError) as caught:
        await generator.generate(MediaRequest(media_type="image", prompt="x"), ctx("openai/gpt-4o-mini"))
    assert caught.value.status == 404 and "output modalities" in str(caught.value)
    assert len(fake(sandbox).requests) == 2  # unlisted, so asked again with ["image"]: it makes no images at all


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("[1, 2]", "application/json"), ('"an image"', "application/json"), ("<html>busy</html>", "text/html")],
)
async def test_an_answer_that_is_not_a_json_object_is_a_backend_error_without_the_key(
    body: str, content_type: str
) -> None:
    """A 200 whose body is JSON but not an object, or not JSON at all (a proxy's page), from a loopback server
    speaking HTTP to the real AsyncOpenAI: one BackendError, never a crash inside the answer's reading."""
    from aiohttp import web
    from openai import AsyncOpenAI

    from mediagen.adapters.openrouter.image import _complete

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=200, text=body, content_type=content_type)

    app = web.Application()
    app.router.add_post("/api/v1/chat/completions", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = AsyncOpenAI(api_key=KEY, base_url=f"http://127.0.0.1:{port}/api/v1", max_retries=0)
    try:
        with pytest.raises(BackendError) as caught:
            await _complete(client, {"model": GEMINI, "messages": [{"role": "user", "content": "a cat"}]})
    finally:
        await client.close()
        await runner.cleanup()
    assert type(caught.value) is BackendError and "not a JSON object" in str(caught.value)
    assert KEY not in str(caught.value)
