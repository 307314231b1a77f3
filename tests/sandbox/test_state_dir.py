"""Sandboxes sharing a state_dir continue each other's responses, Sora videos and Veo operations, as a CLI run in
a new process continues what the last run made; ids that are not plain file names never reach the disk."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from google import genai
from google.genai import errors, types
from hypothesis import given
from hypothesis import strategies as st
from openai import AsyncOpenAI
from openai.types.responses import Response

from mediagen.sandbox import Sandbox, SandboxSettings
from mediagen.sandbox.google import GoogleState
from mediagen.sandbox.records import RecordStore, is_safe_id

TOOL = [{"type": "image_generation", "size": "1024x1024", "quality": "low"}]
VEO = "veo-3.1-generate-preview"


def settings(state_dir: Path | None) -> SandboxSettings:
    return SandboxSettings(state_dir=state_dir, poll_after_ms=1, job_polls=2, video_fps=4, hang_seconds=5)


async def openai_client(sandbox: Sandbox) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=sandbox.base_url("openai"), api_key="k", max_retries=0)


@contextlib.asynccontextmanager
async def openai_sandbox(state_dir: Path | None) -> AsyncIterator[tuple[Sandbox, AsyncOpenAI]]:
    """An OpenAI sandbox on `state_dir` and a real AsyncOpenAI client on it."""
    async with (
        Sandbox(vendors=("openai",), settings=settings(state_dir)) as sandbox,
        await openai_client(sandbox) as client,
    ):
        yield sandbox, client


def google_clients(sandbox: Sandbox) -> tuple[Any, Any]:
    """`aio` of google-genai in Vertex mode (Veo submit and poll) and Gemini mode (file downloads), as mediagen."""
    options = types.HttpOptions(base_url=sandbox.base_url("google"))
    vertex = genai.Client(vertexai=True, api_key="k", http_options=options).aio
    gemini = genai.Client(api_key="k", http_options=options).aio
    return vertex, gemini


def google_state(sandbox: Sandbox) -> GoogleState:
    found = sandbox.state("google")
    assert isinstance(found, GoogleState)
    return found


def image_of(response: Response) -> bytes:
    results = [item.result for item in response.output if item.type == "image_generation_call"]
    assert len(results) == 1 and results[0] is not None
    return base64.b64decode(results[0])


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
async def first(state_dir: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("openai",), settings=settings(state_dir)) as sandbox:
        yield sandbox


# --- OpenAI Responses -------------------------------------------------------------------------------------------


async def test_a_chain_made_on_one_sandbox_is_continued_on_the_next_from_its_last_image(state_dir: Path) -> None:
    async with openai_sandbox(state_dir) as (_, client):
        turn1 = await client.responses.create(model="gpt-5", input="a red fox in snow", tools=TOOL)
        turn2 = await client.responses.create(model="gpt-5", input="what breed?", previous_response_id=turn1.id)
    fox = image_of(turn1)
    assert not [item for item in turn2.output if item.type == "image_generation_call"]  # a words-only turn

    async with openai_sandbox(state_dir) as (two, client):
        turn3 = await client.responses.create(
            model="gpt-5", input="make it night", tools=TOOL, previous_response_id=turn2.id
        )
        retrieved = await client.responses.retrieve(turn1.id)
        state = two.state("openai")
        # turn3 follows the chain back through turn2 (no image) to turn1's image, all read from the state_dir.
        assert set(state.responses) == {turn1.id, turn2.id, turn3.id}
        assert state.responses[turn1.id].image is not None and state.responses[turn1.id].image.data == fox
        assert state.responses[turn2.id].previous_response_id == turn1.id
        stored = state.responses[turn3.id]
        assert stored.previous_response_id == turn2.id
        assert stored.image is not None and stored.image.sources == (hashlib.sha256(fox).hexdigest(),)
    assert turn3.previous_response_id == turn2.id
    assert [item.action for item in turn3.output if item.type == "image_generation_call"] == ["edit"]
    assert image_of(retrieved) == fox
    assert retrieved.model_dump() == turn1.model_dump()


async def test_records_are_one_json_file_each_with_the_image_beside_it_and_no_temporary_files(state_dir: Path) -> None:
    async with openai_sandbox(state_dir) as (_, client):
        made = await client.responses.create(model="gpt-5", input="a kite", tools=TOOL)
    responses = state_dir / "openai" / "responses"
    assert sorted(p.name for p in responses.iterdir()) == [f"{made.id}.bin", f"{made.id}.json"]
    assert (responses / f"{made.id}.bin").read_bytes() == image_of(made)
    record = json.loads((responses / f"{made.id}.json").read_text())
    assert record["data"]["body"]["output"][0]["result"] is None  # the image is kept once, in the .bin
    call_id = made.output[0].id
    assert json.loads((state_dir / "openai" / "image_calls" / f"{call_id}.json").read_text())["data"] == {
        "response_id": made.id
    }


async def test_two_running_sandboxes_see_each_others_responses_and_an_image_call_by_reference(
    state_dir: Path, first: Sandbox
) -> None:
    async with Sandbox(vendors=("openai",), settings=settings(state_dir)) as second:
        async with await openai_client(first) as one, await openai_client(second) as two:
            made = await one.responses.create(model="gpt-5", input="a lighthouse", tools=TOOL)
            call_id = made.output[0].id
            edit = await two.responses.create(
                model="gpt-5",
                input=[
                    {"role": "user", "content": "add fog"},
                    {"type": "item_reference", "id": call_id},  # type: ignore[list-item]
                ],
                tools=TOOL,
            )
        stored = second.state("openai").responses[edit.id]
        assert stored.image is not None and stored.image.sources == (hashlib.sha256(image_of(made)).hexdigest(),)


async def test_a_response_deleted_on_one_sandbox_is_gone_for_the_next(state_dir: Path) -> None:
    async with openai_sandbox(state_dir) as (_, client):
        made = await client.responses.create(model="gpt-5", input="a boat", tools=TOOL)
    async with openai_sandbox(state_dir) as (_, client):
        await client.responses.delete(made.id)
    assert list((state_dir / "openai" / "responses").iterdir()) == []
    assert list((state_dir / "openai" / "image_calls").iterdir()) == []
    async with openai_sandbox(state_dir) as (_, client):
        with pytest.raises(openai.BadRequestError, match="not found"):
            await client.responses.create(model="gpt-5", input="x", previous_response_id=made.id)


async def test_without_a_state_dir_nothing_outlives_the_sandbox(tmp_path: Path) -> None:
    async with openai_sandbox(None) as (_, client):
        made = await client.responses.create(model="gpt-5", input="a bell", tools=TOOL)
    async with Sandbox(vendors=("openai",), settings=settings(None)) as two:
        assert two.state("openai").records is None
        async with await openai_client(two) as client:
            with pytest.raises(openai.BadRequestError) as info:
                await client.responses.create(model="gpt-5", input="x", previous_response_id=made.id)
    assert info.value.code == "previous_response_not_found"


def test_a_response_made_in_another_process_is_continued_here(state_dir: Path) -> None:
    script = """
import sys
from openai import OpenAI
from mediagen.sandbox import SandboxSettings, SandboxThread
with SandboxThread(("openai",), settings=SandboxSettings(state_dir=sys.argv[1])) as sandbox:
    client = OpenAI(base_url=sandbox.base_url("openai"), api_key="k", max_retries=0)
    tool = [{"type": "image_generation", "size": "1024x1024", "quality": "low"}]
    print(client.responses.create(model="gpt-5", input="a fox", tools=tool).id)
"""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "MEDIAGEN_"))}
    made = subprocess.run(
        [sys.executable, "-c", script, str(state_dir)], capture_output=True, text=True, timeout=60, env=env, check=True
    )
    response_id = made.stdout.strip()
    from mediagen.sandbox import SandboxThread

    with SandboxThread(("openai",), settings=settings(state_dir)) as here:
        client = openai.OpenAI(base_url=here.base_url("openai"), api_key="k", max_retries=0)
        night = client.responses.create(model="gpt-5", input="at night", tools=TOOL, previous_response_id=response_id)
        client.close()
        assert here.state("openai").responses[night.id].previous_response_id == response_id
        assert here.state("openai").responses[response_id].prompt == "a fox"


# --- OpenAI videos (Sora) ---------------------------------------------------------------------------------------


async def test_a_completed_video_is_retrieved_downloaded_and_remixed_on_the_next_sandbox(state_dir: Path) -> None:
    async with openai_sandbox(state_dir) as (_, client):
        done = await client.videos.create_and_poll(prompt="a fox", size="1280x720", seconds="4")
        original = (await client.videos.download_content(done.id)).content
    assert done.status == "completed"

    async with openai_sandbox(state_dir) as (two, client):
        again = await client.videos.retrieve(done.id)
        downloaded = (await client.videos.download_content(done.id)).content
        remix = await client.videos.remix(done.id, prompt="now at night")
        remixed = await client.videos.poll(remix.id)
        remix_bytes = (await client.videos.download_content(remixed.id)).content
        assert two.state("openai").videos[remix.id].content_prompt == "a fox\nnow at night"
    assert again.model_dump() == done.model_dump()
    assert downloaded == original and downloaded[4:8] == b"ftyp"
    assert (remixed.status, remixed.remixed_from_video_id, remixed.size) == ("completed", done.id, "1280x720")
    assert remix_bytes[4:8] == b"ftyp" and remix_bytes != original


async def test_a_job_started_on_one_sandbox_finishes_polling_on_the_next(state_dir: Path) -> None:
    async with openai_sandbox(state_dir) as (_, client):
        created = await client.videos.create(prompt="waves", seconds="4")
        halfway = await client.videos.retrieve(created.id)
    assert (halfway.status, halfway.progress) == ("in_progress", 50)
    async with openai_sandbox(state_dir) as (_, client):
        finished = await client.videos.retrieve(created.id)
        await client.videos.delete(created.id)
    assert (finished.status, finished.progress) == ("completed", 100)
    assert list((state_dir / "openai" / "videos").iterdir()) == []


# --- Google Veo -------------------------------------------------------------------------------------------------


async def poll(vertex: Any, operation: types.GenerateVideosOperation) -> types.GenerateVideosOperation:
    for _ in range(10):
        operation = await vertex.operations.get(operation)
        if operation.done:
            return operation
    raise AssertionError(f"operation {operation.name} did not finish in 10 polls")


async def test_a_veo_video_written_to_storage_by_one_sandbox_is_extended_by_its_uri_on_the_next(
    state_dir: Path,
) -> None:
    async with Sandbox(vendors=("google",), settings=settings(state_dir)) as one:
        vertex, gemini = google_clients(one)
        submitted = await vertex.models.generate_videos(
            model=VEO,
            source=types.GenerateVideosSource(prompt="a river"),
            config=types.GenerateVideosConfig(output_gcs_uri="gs://bucket/out"),
        )
        done = await poll(vertex, submitted)
        video = done.response.generated_videos[0].video
        await vertex.aclose()
        await gemini.aclose()
    assert video.uri.startswith("gs://bucket/out/")

    async with Sandbox(vendors=("google",), settings=settings(state_dir)) as two:
        vertex, gemini = google_clients(two)
        extension = await vertex.models.generate_videos(
            model=VEO,
            source=types.GenerateVideosSource(
                prompt="keep going", video=types.Video(uri=video.uri, mime_type="video/mp4")
            ),
            config=types.GenerateVideosConfig(
                number_of_videos=1, resolution="720p", duration_seconds=8, generate_audio=True
            ),
        )
        extended = await poll(vertex, extension)
        await vertex.aclose()
        await gemini.aclose()
        operation = google_state(two).operations[extension.name]
    assert operation.source == video.uri
    assert extended.response.generated_videos[0].video.video_bytes[4:8] == b"ftyp"


async def test_a_veo_operation_submitted_on_one_sandbox_is_polled_to_its_video_on_the_next(state_dir: Path) -> None:
    async with Sandbox(vendors=("google",), settings=settings(state_dir)) as one:
        vertex, _ = google_clients(one)
        submitted = await vertex.models.generate_videos(
            model=VEO, source=types.GenerateVideosSource(prompt="a glacier")
        )
        await vertex.aclose()
    async with Sandbox(vendors=("google",), settings=settings(state_dir)) as two:
        vertex, _ = google_clients(two)
        progress = await vertex.operations.get(submitted)
        done = await poll(vertex, progress)
        await vertex.aclose()
    assert not progress.done
    assert google_state(two).operations[submitted.name].polls >= 2  # the poll count went on where one left it
    assert done.response.generated_videos[0].video.video_bytes[4:8] == b"ftyp"


# --- ids that are not file names --------------------------------------------------------------------------------

UNSAFE = ["../responses/resp_x", "..", "resp_x.json", "resp_x/..", ".hidden", "resp_\u00fc", "a" * 200]


def plant(state_dir: Path, kind: str, record_id: str) -> None:
    """A valid record moved to state_dir/openai/planted.*, renamed `../planted`: only a path walk could find it."""
    directory = state_dir / "openai" / kind
    document = json.loads((directory / f"{record_id}.json").read_text())
    document["id"] = document["data"]["id"] = "../planted"
    (state_dir / "openai" / "planted.json").write_text(json.dumps(document))
    if (directory / f"{record_id}.bin").exists():
        (directory / f"{record_id}.bin").rename(state_dir / "openai" / "planted.bin")
    (directory / f"{record_id}.json").unlink()


async def test_unsafe_ids_are_the_openai_not_found_errors_and_read_no_file(state_dir: Path) -> None:
    async with openai_sandbox(state_dir) as (_, client):
        made = await client.responses.create(model="gpt-5", input="a fox", tools=TOOL)
    plant(state_dir, "responses", made.id)
    async with openai_sandbox(state_dir) as (sandbox, client):
        for unsafe in [*UNSAFE, "../planted"]:
            with pytest.raises(openai.BadRequestError) as bad:
                await client.responses.create(model="gpt-5", input="x", previous_response_id=unsafe)
            assert bad.value.code == "previous_response_not_found"
            assert bad.value.body == {
                "message": f"Previous response with id '{unsafe}' not found.",
                "type": "invalid_request_error",
                "param": "previous_response_id",
                "code": "previous_response_not_found",
            }
        async with httpx.AsyncClient(base_url=sandbox.origin("openai"), headers={"Authorization": "Bearer k"}) as raw:
            for path, param, shown in [
                ("/v1/responses/..%2Fplanted", "response_id", "Response with id '../planted'"),
                ("/v1/videos/..%2F..%2Fopenai%2Fplanted", "video_id", "Video with id '../../openai/planted'"),
                ("/v1/videos/video_1.json", "video_id", "Video with id 'video_1.json'"),
            ]:
                answer = await raw.get(path)  # the id reaches the fake decoded, slashes and all
                assert answer.status_code == 404, path
                assert answer.json() == {
                    "error": {
                        "message": f"{shown} not found.",
                        "type": "invalid_request_error",
                        "param": param,
                        "code": None,
                    }
                }
        assert sandbox.state("openai").responses == {} and sandbox.state("openai").videos == {}


async def test_unsafe_operation_names_and_file_uris_are_googles_404_and_400(state_dir: Path) -> None:
    async with Sandbox(vendors=("google",), settings=settings(state_dir)) as sandbox:
        vertex, gemini = google_clients(sandbox)
        for tail in ["../../../planted", "..", "x.json", "\u00fc"]:
            ghost = types.GenerateVideosOperation.model_validate(
                {"name": f"publishers/google/models/{VEO}/operations/{tail}"}
            )
            with pytest.raises(errors.ClientError) as missing:
                await vertex.operations.get(ghost)
            assert (missing.value.code, missing.value.status) == (404, "NOT_FOUND")
        with pytest.raises(errors.ClientError) as refused:
            await vertex.models.generate_videos(
                model=VEO,
                source=types.GenerateVideosSource(
                    prompt="x",
                    video=types.Video(uri="gs://bucket/../x", mime_type="video/mp4"),
                ),
            )
        assert (refused.value.code, refused.value.status) == (400, "INVALID_ARGUMENT")
        await vertex.aclose()
        await gemini.aclose()
    assert not (state_dir / "google").exists() or list((state_dir / "google").rglob("*.json")) == []


# --- the record store -------------------------------------------------------------------------------------------


@given(st.text(alphabet="ab09_-./\\:\x00\u00fc ", max_size=12) | st.text(max_size=200))
def test_a_safe_id_names_a_file_inside_its_kind_and_any_other_id_is_refused(record_id: str) -> None:
    root = Path("/nonexistent/state/openai")
    if is_safe_id(record_id):
        path = root / "responses" / f"{record_id}.json"
        assert Path(os.path.normpath(path)).parent == root / "responses"
        assert Path(record_id).name == record_id and "." not in record_id
    else:
        with pytest.raises(ValueError, match="not a safe file name"):
            RecordStore(root).save("responses", record_id, {})  # refused before anything touches the disk
        assert RecordStore(root).load("responses", record_id) is None


@pytest.mark.parametrize("unsafe", UNSAFE)
def test_saving_under_an_unsafe_id_is_refused(tmp_path: Path, unsafe: str) -> None:
    with pytest.raises(ValueError, match="not a safe file name"):
        RecordStore(tmp_path).save("responses", unsafe, {"x": 1})
    assert list(tmp_path.rglob("*")) in ([], [tmp_path / "responses"])


def test_a_record_whose_attachment_does_not_match_is_ignored(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.save("responses", "resp_1", {"id": "resp_1"}, blob=b"image bytes")
    assert store.load("responses", "resp_1") is not None
    (tmp_path / "responses" / "resp_1.bin").write_bytes(b"other bytes")
    assert store.load("responses", "resp_1") is None
    (tmp_path / "responses" / "resp_2.json").write_text("{not json")
    assert store.load("responses", "resp_2") is None


def test_state_dir_is_read_from_text_settings(tmp_path: Path) -> None:
    read = SandboxSettings.from_strings({"state_dir": str(tmp_path), "job_polls": "2"})
    assert read.state_dir == tmp_path and isinstance(read.state_dir, Path)
    assert SandboxSettings().state_dir is None
