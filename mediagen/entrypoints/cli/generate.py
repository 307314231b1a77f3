"""The generating commands: image, video and audio."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.media import MediaType
from mediagen.entrypoints.cli.batch import _batch, _print_batch
from mediagen.entrypoints.cli.common import Common, _fail, _run
from mediagen.entrypoints.cli.options import (
    BackendOpt,
    ContinueOpt,
    DebugOpt,
    ExtraOpt,
    FilenameOpt,
    InputOpt,
    JsonOpt,
    ModelOpt,
    NegOpt,
    OutOpt,
    OverwriteOpt,
    SandboxOpt,
    SeedOpt,
    StrictOpt,
    TimeoutOpt,
)

if TYPE_CHECKING:
    from mediagen.application.service import MediaService


def _parse_extra(pairs: list[str] | None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidRequest(f"{pair!r} is not KEY=VALUE", field="extra")
        try:
            extra[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            extra[key.strip()] = raw
    return extra


def _generate(common: Common, fields: dict[str, Any]) -> None:
    from mediagen.domain.request import MediaRequest

    if fields.get("prompt") == "-":  # the prompt from standard input, as `echo "a fox" | mediagen image -`
        fields["prompt"] = sys.stdin.read().strip()
    try:
        fields["extra"] = _parse_extra(fields.get("extra"))
        request = MediaRequest(**{k: v for k, v in fields.items() if v is not None and v != []})
    except MediaGenError as error:
        _fail(common, error)

    if request.n > 1:  # several images: each its own file and result, printed as a batch
        _print_batch(common, _run(common, lambda service: _batch(service, [request], request.n), request), [request])
        return

    async def work(service: MediaService) -> Any:
        from mediagen.entrypoints.display import ProgressDisplay

        with ProgressDisplay() as display:
            return await service.generate(request, progress=display)

    result = _run(common, work, request)
    if common.json_out:
        from mediagen.entrypoints.tool import result_to_json

        typer.echo(json.dumps(result_to_json(result, request), indent=2))
    else:
        from mediagen.entrypoints.display import print_result

        print_result(result)


def image(
    prompt: Annotated[
        str, typer.Argument(metavar="PROMPT", help="What to draw, or the edit to make ('-' reads it from stdin).")
    ],
    backend: BackendOpt = None,
    model: ModelOpt = None,
    size: Annotated[str | None, typer.Option("--size", metavar="WxH", help="e.g. 1024x1024.")] = None,
    aspect_ratio: Annotated[str | None, typer.Option("--aspect-ratio", "-a", metavar="W:H", help="e.g. 16:9.")] = None,
    quality: Annotated[
        str | None,
        typer.Option(
            "--quality",
            metavar="LEVEL",
            help="OpenAI: low, medium, high or auto (standard/hd map to them); Google: the size tier 1K, 2K or 4K; "
            "xAI: 1k or 2k (grok-imagine-image-2.0 also low or medium).",
        ),
    ] = None,
    background: Annotated[
        str | None, typer.Option("--background", metavar="KIND", help="transparent, opaque or auto.")
    ] = None,
    output_format: Annotated[str | None, typer.Option("--format", metavar="FORMAT", help="png, jpeg or webp.")] = None,
    input_image: InputOpt = None,
    mask: Annotated[
        Path | None,
        typer.Option(
            "--mask",
            metavar="PATH",
            help="Mask for the first input image: transparent (or, with no transparency, white) where it may change.",
        ),
    ] = None,
    seed: SeedOpt = None,
    negative_prompt: NegOpt = None,
    instructions: Annotated[
        str | None,
        typer.Option("--instructions", metavar="TEXT", help="Guidance beside the prompt (OpenAI Responses models)."),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", "-n", metavar="N", help="How many images (1-10), each its own file.")
    ] = None,
    continue_from: ContinueOpt = None,
    filename: FilenameOpt = None,
    overwrite: OverwriteOpt = False,
    timeout: TimeoutOpt = None,
    extra: ExtraOpt = None,
    output_dir: OutOpt = None,
    json_out: JsonOpt = False,
    sandbox: SandboxOpt = False,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Generate or edit an image."""
    common = Common(json_out=json_out, debug=debug, sandbox=sandbox, strict=strict, output_dir=output_dir)
    fields = dict(
            media_type=MediaType.IMAGE, prompt=prompt, backend=backend, model=model, size=size,
            aspect_ratio=aspect_ratio, quality=quality, background=background, output_format=output_format,
            input_images=input_image, mask=mask, seed=seed, negative_prompt=negative_prompt,
            instructions=instructions, continue_from=continue_from, filename=filename, overwrite=overwrite,
            timeout=timeout, extra=extra, n=count,
    )  # fmt: skip
    _generate(common, fields)


def video(
    prompt: Annotated[
        str, typer.Argument(metavar="PROMPT", help="What happens in the video, or the change when remixing.")
    ],
    backend: BackendOpt = None,
    model: ModelOpt = None,
    duration: Annotated[
        float | None, typer.Option("--duration", "-d", metavar="SECONDS", help="Length of the clip.")
    ] = None,
    size: Annotated[str | None, typer.Option("--size", metavar="WxH", help="e.g. 1280x720.")] = None,
    aspect_ratio: Annotated[str | None, typer.Option("--aspect-ratio", "-a", metavar="W:H", help="e.g. 16:9.")] = None,
    quality: Annotated[
        str | None,
        typer.Option(
            "--quality", metavar="LEVEL", help="The resolution: Google Veo 720p or 1080p; xAI 480p, 720p or 1080p."
        ),
    ] = None,
    input_image: InputOpt = None,
    seed: SeedOpt = None,
    negative_prompt: NegOpt = None,
    continue_from: ContinueOpt = None,
    filename: FilenameOpt = None,
    overwrite: OverwriteOpt = False,
    timeout: TimeoutOpt = None,
    extra: ExtraOpt = None,
    output_dir: OutOpt = None,
    json_out: JsonOpt = False,
    sandbox: SandboxOpt = False,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Generate a video from text or from an image, or remix an earlier one."""
    common = Common(json_out=json_out, debug=debug, sandbox=sandbox, strict=strict, output_dir=output_dir)
    fields = dict(
            media_type=MediaType.VIDEO, prompt=prompt, backend=backend, model=model, duration=duration, size=size,
            aspect_ratio=aspect_ratio, quality=quality, input_images=input_image, seed=seed,
            negative_prompt=negative_prompt,
            continue_from=continue_from, filename=filename, overwrite=overwrite, timeout=timeout, extra=extra,
    )  # fmt: skip
    _generate(common, fields)


def audio(
    text: Annotated[
        str,
        typer.Argument(
            metavar="TEXT", help="Text to speak; a description of the music, sound or voice to design; a dub's name."
        ),
    ] = "",
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            "-k",
            help="speech (default), music, sound-effect, voice-conversion (--input-audio, --voice), audio-isolation "
            "(--input-audio, no text), voice-design (TEXT describes the voice), voice-clone (--input-audio samples, "
            "TEXT spoken in the new voice), dubbing (--input-audio file, --language target).",
        ),
    ] = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
    voice: Annotated[
        str | None,
        typer.Option(
            "--voice",
            "-v",
            metavar="VOICE",
            help="A voice the backend offers (ElevenLabs: a voice id, or a name from the account, found by name "
            "only with --backend elevenlabs unless it is a premade voice); an unknown one is an error listing the "
            "valid or close ones.",
        ),
    ] = None,
    audio_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="mp3, wav, opus, aac, flac or pcm; ElevenLabs also ulaw, alaw and its full names such as "
            "mp3_22050_32 or pcm_16000.",
        ),
    ] = None,
    instructions: Annotated[str | None, typer.Option("--instructions", metavar="TEXT", help="How to speak.")] = None,
    speed: Annotated[
        float | None, typer.Option("--speed", metavar="FACTOR", help="Speaking speed, 1.0 normal.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", "-d", metavar="SECONDS", help="Length (music, effects).")
    ] = None,
    language: Annotated[str | None, typer.Option("--language", metavar="CODE", help="Language, e.g. en or de.")] = None,
    input_audio: Annotated[
        list[Path] | None,
        typer.Option(
            "--input-audio",
            metavar="PATH",
            help="Audio to convert, isolate or dub (dubbing takes video too); repeat for a voice clone's samples.",
        ),
    ] = None,
    stability: Annotated[
        float | None,
        typer.Option("--stability", metavar="0..1", help="ElevenLabs voice setting: steadier when higher."),
    ] = None,
    similarity: Annotated[
        float | None,
        typer.Option("--similarity", metavar="0..1", help="ElevenLabs voice setting: closeness to the original voice."),
    ] = None,
    style: Annotated[
        float | None, typer.Option("--style", metavar="0..1", help="ElevenLabs voice setting: style exaggeration.")
    ] = None,
    instrumental: Annotated[
        bool | None, typer.Option("--instrumental/--vocals", help="Music: force an instrumental (or allow vocals).")
    ] = None,
    loop: Annotated[bool | None, typer.Option("--loop", help="Sound effect: make it loop smoothly.")] = None,
    prompt_influence: Annotated[
        float | None,
        typer.Option("--prompt-influence", metavar="0..1", help="Sound effect: how closely to follow the text."),
    ] = None,
    keep_voice: Annotated[
        bool | None,
        typer.Option("--keep-voice", help="Voice clone: keep the new voice (deleted afterwards otherwise)."),
    ] = None,
    voice_name: Annotated[
        str | None,
        typer.Option("--voice-name", metavar="NAME", help="Voice clone, voice design: the new voice's name."),
    ] = None,
    save_voice: Annotated[
        bool | None,
        typer.Option("--save-voice", help="Voice design: save the first preview as a voice (--voice-name names it)."),
    ] = None,
    seed: SeedOpt = None,
    filename: FilenameOpt = None,
    overwrite: OverwriteOpt = False,
    timeout: TimeoutOpt = None,
    extra: ExtraOpt = None,
    output_dir: OutOpt = None,
    json_out: JsonOpt = False,
    sandbox: SandboxOpt = False,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Generate speech, music or sound effects, design or clone a voice, or transform audio (convert a voice,
    isolate it, dub it)."""
    common = Common(json_out=json_out, debug=debug, sandbox=sandbox, strict=strict, output_dir=output_dir)
    options = {
        "stability": stability, "similarity": similarity, "style": style, "instrumental": instrumental,
        "loop": loop, "prompt_influence": prompt_influence, "keep_voice": keep_voice, "save_voice": save_voice,
        "voice_name": voice_name,
    }  # fmt: skip
    pairs = [f"{name}={json.dumps(value)}" for name, value in options.items() if value is not None]
    fields = dict(
            media_type=MediaType.AUDIO, prompt=text, audio_kind=kind, backend=backend, model=model, voice=voice,
            audio_format=audio_format, instructions=instructions, speed=speed, duration=duration, language=language,
            input_audio=input_audio, seed=seed, filename=filename, overwrite=overwrite, timeout=timeout,
            extra=[*(extra or []), *pairs],
    )  # fmt: skip
    _generate(common, fields)
