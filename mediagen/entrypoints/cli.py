"""The `mediagen` command. Every command has --json printing the agent-tool result shape on stdout.

Exit codes: 0 success; 1 generation failed (or any batch item failed); 2 invalid usage, request or setup.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar, cast

import typer

from mediagen.domain.errors import (
    ConfigurationError,
    ContinuationNotFound,
    InvalidRequest,
    JobNotFound,
    MediaGenError,
    MissingCredentials,
    NoBackendAvailable,
    PathNotAllowed,
)
from mediagen.domain.media import MediaType

if TYPE_CHECKING:
    from mediagen.application.service import MediaService
    from mediagen.domain.request import MediaRequest

T = TypeVar("T")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: Errors the user must fix before trying again: exit code 2 rather than 1.
USAGE_ERRORS = (
    InvalidRequest, ConfigurationError, PathNotAllowed, MissingCredentials, NoBackendAvailable,
    ContinuationNotFound, JobNotFound,
)  # fmt: skip

#: `-h` as well as `--help`, on every command (sub-commands inherit the root's context settings).
HELP = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="mediagen",
    help="Generate images, video and audio with the best available backend.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings=HELP,
)
jobs_app = typer.Typer(
    help="Long-running vendor jobs (video, dubbing) that can be resumed.", no_args_is_help=True, context_settings=HELP
)
app.add_typer(jobs_app, name="jobs")


def _flags_show_no_type() -> None:
    """typer 0.29's help prints `<bool>` beside every on/off flag (--json, --help); a flag takes no value, so its
    type column stays empty."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag and self.metavar is None else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()


def _print_version(wanted: bool) -> None:
    if wanted:
        from mediagen import __version__

        typer.echo(f"mediagen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Generate images, video and audio with the best available backend."""


# -- shared options ---------------------------------------------------------------------------------------
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the agent-tool JSON result on stdout, nothing else.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks (never secrets).")]
SandboxOpt = Annotated[
    bool, typer.Option("--sandbox", envvar="MEDIAGEN_SANDBOX", help="Use the built-in fake vendors; no keys needed.")
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail instead of ignoring an unsupported parameter.")]
OutOpt = Annotated[
    Path | None,
    typer.Option("--output-dir", "-o", metavar="DIR", help="Directory (or s3://bucket/prefix) for the file."),
]
BackendOpt = Annotated[
    str | None, typer.Option("--backend", "-b", metavar="NAME", help="Force a backend (see mediagen backends).")
]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", metavar="MODEL", help="Force a model.")]
ContinueOpt = Annotated[
    str | None, typer.Option("--continue-from", metavar="ID", help="Build on an earlier result's continuation id.")
]
InputOpt = Annotated[
    list[Path] | None, typer.Option("--input-image", "-i", metavar="PATH", help="Input image (repeatable).")
]
FilenameOpt = Annotated[
    str | None,
    typer.Option(
        "--filename",
        metavar="NAME",
        help="File name; the extension is set for you. A taken name (any extension of the media type) fails "
        "before anything is generated.",
    ),
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace the file --filename names if it exists.")]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", metavar="SECONDS", help="Overall seconds before giving up.")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", metavar="INT", help="Seed, where the model takes one.")]
NegOpt = Annotated[str | None, typer.Option("--negative-prompt", metavar="TEXT", help="What to keep out.")]
ExtraOpt = Annotated[
    list[str] | None,
    typer.Option("--extra", "-x", metavar="KEY=VALUE", help="Vendor parameter (JSON values allowed; repeatable)."),
]


class Common:
    """Options every generating command shares."""

    def __init__(self, *, json_out: bool, debug: bool, sandbox: bool, strict: bool, output_dir: Path | None) -> None:
        self.json_out = json_out
        self.debug = debug
        self.sandbox = sandbox
        self.strict = strict
        self.output_dir = output_dir

    def overrides(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.strict:
            values["strict"] = True
        if self.sandbox:
            values["sandbox"] = True
        if self.output_dir is not None:
            values["output_dir"] = str(self.output_dir)
        return values


def _fail(common: Common, error: MediaGenError, request: MediaRequest | None = None) -> NoReturn:
    from mediagen.entrypoints.tool import error_to_json

    if common.json_out:
        typer.echo(json.dumps(error_to_json(error, request), indent=2))
    else:
        from mediagen.entrypoints.display import print_error

        print_error(_with_flag(error), error.code)
    if common.debug:
        import traceback

        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    raise typer.Exit(EXIT_USAGE if isinstance(error, USAGE_ERRORS) else EXIT_FAILED)


#: Request fields that errors name, and the option that sets each on the command line.
_FLAGS = {
    "input_images": "--input-image",
    "output_format": "--format",
    "audio_format": "--format",
    "aspect_ratio": "--aspect-ratio",
    "negative_prompt": "--negative-prompt",
    "continue_from": "--continue-from",
    "audio_kind": "--kind",
    "extra.stability": "--stability",
    "extra.similarity": "--similarity",
    "extra.style": "--style",
    "extra.instrumental": "--instrumental",
    "extra.loop": "--loop",
    "extra.prompt_influence": "--prompt-influence",
    "extra.keep_voice": "--keep-voice",
    "extra.save_voice": "--save-voice",
    "extra.voice_name": "--voice-name",
    "output_dir": "--output-dir",
    "max_concurrent": "--max-concurrent",
    "n": "--count",
}


def _with_flag(error: MediaGenError) -> str:
    """The message, its field followed by the option that sets it ("input_images (--input-image): ...")."""
    field = getattr(error, "field", None)
    if not isinstance(field, str) or not error.message.startswith(f"{field}: "):
        return error.message
    flag = _FLAGS.get(field) or f"--{field.replace('_', '-')}"
    if flag not in _cli_options():
        return error.message
    return f"{field} ({flag}){error.message[len(field) :]}"


def _cli_options() -> set[str]:
    """Every option name of every command, so an error only ever points at an option that exists."""
    from typer.main import get_command

    names: set[str] = set()
    pending = [get_command(app)]
    while pending:
        command = pending.pop()
        names.update(opt for param in command.params for opt in getattr(param, "opts", ()) if opt.startswith("--"))
        pending.extend(getattr(command, "commands", {}).values())
    return names


def _run(common: Common, work: Callable[[MediaService], Awaitable[T]], request: MediaRequest | None = None) -> T:
    """Build the service (sandbox included when asked), run `work`, close everything, map errors to exits."""
    import asyncio  # here, not at the top: `mediagen --help` never needs it

    from mediagen.entrypoints.runtime import open_service

    async def main() -> T:
        async with open_service(common.overrides()) as service:
            return await work(service)

    try:
        return asyncio.run(main())
    except MediaGenError as error:
        _fail(common, error, request)
    except KeyboardInterrupt:
        from mediagen.entrypoints.display import print_error

        print_error(
            "interrupted; no partial file was left behind (a video job the vendor had started is listed by "
            "`mediagen jobs list` and can be collected with `mediagen jobs resume ID`)"
        )
        raise typer.Exit(130) from None
    except Exception as error:  # a bug, not a user error: one line, the traceback only with --debug
        if common.debug:
            raise
        from mediagen.domain.errors import InternalError

        _fail(common, InternalError(f"unexpected {type(error).__name__}; run again with --debug for the traceback"))


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


# -- commands ----------------------------------------------------------------------------------------------


@app.command()
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


@app.command()
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


@app.command()
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


@app.command()
def batch(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="UTF-8 text: a JSON list of request objects; or one entry a line, each a JSON object ({...}) or a "
            "plain prompt, blank lines and lines starting with # skipped. Every entry is checked before any is sent.",
        ),
    ],
    media_type: Annotated[
        MediaType | None,
        typer.Option(
            "--type", "-t", help="Media type for entries that don't say (needed only when some entry doesn't)."
        ),
    ] = None,
    max_concurrent: Annotated[int | None, typer.Option("--max-concurrent", "-c", help="Parallel requests.")] = None,
    backend: BackendOpt = None,
    output_dir: OutOpt = None,
    json_out: JsonOpt = False,
    sandbox: SandboxOpt = False,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", metavar="local|ray", help="Where items run: this process, or Ray tasks (the ray extra)."
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option("--address", metavar="ADDR", help="With --engine ray: ray://host:port or auto (default: local)."),
    ] = None,
) -> None:
    """Run many requests with bounded concurrency; results keep the file's order. Every entry is checked first
    (its fields, files, backend, model, key, output dir and file name): one bad entry and nothing is sent."""
    from mediagen.entrypoints.batchfile import read_batch_entries

    common = Common(json_out=json_out, debug=debug, sandbox=sandbox, strict=strict, output_dir=output_dir)
    defaults: dict[str, Any] = {} if media_type is None else {"media_type": media_type.value}
    if backend is not None:
        defaults["backend"] = backend
    try:
        if engine not in ("local", "ray"):
            raise InvalidRequest(f"{engine!r} is not an engine; use local or ray", field="engine")
        if address is not None and engine != "ray":
            raise InvalidRequest("--address only goes with --engine ray", field="address")
        entries = read_batch_entries(file, defaults)
    except MediaGenError as error:
        _fail(common, error)
    requests = [request for _, request in entries]

    async def work(service: MediaService) -> Any:
        from mediagen.entrypoints.runtime import backends_for, warm_up_quietly

        problems = await service.check_batch(requests)
        if problems:
            index, problem = next(iter(problems.items()))
            more = len(problems) - 1
            problem.message = f"{file.name} {entries[index][0]}: {problem.message}" + (
                f" (and {more} more {'entry' if more == 1 else 'entries'} to fix)" if more else ""
            )
            problem.args = (problem.message,)
            raise problem

        if engine == "local":  # every SDK the batch needs, loaded at once (Ray workers load their own)
            await warm_up_quietly(service, backends_for(service, requests))
        runner = None
        if engine == "ray":
            from mediagen.entrypoints.ray_engine import RayEngine

            runner = RayEngine(address=address)
        try:
            return await _batch(service, requests, max_concurrent, engine=runner)
        finally:
            if runner is not None:
                await runner.aclose()

    _print_batch(common, _run(common, work), requests)


async def _batch(
    service: MediaService, requests: list[MediaRequest], max_concurrent: int | None, *, engine: Any = None
) -> Any:
    from mediagen.entrypoints.display import ProgressDisplay

    labels = [single.prompt[:30] for request in requests for single in request.singles()]
    with ProgressDisplay(labels=labels) as display:
        return await service.generate_batch(requests, max_concurrent=max_concurrent, progress=display, engine=engine)


def _print_batch(common: Common, result: Any, requests: list[MediaRequest]) -> None:
    if common.json_out:
        from mediagen.entrypoints.tool import batch_to_json

        typer.echo(json.dumps(batch_to_json(result, requests), indent=2))
    else:
        from mediagen.entrypoints.display import print_error, print_result

        for item in result.items:
            if item.result is not None:
                print_result(item.result)
            elif item.error is not None:
                print_error(f"[{item.index + 1}] {item.error.message}", item.error.code)
        typer.echo(f"{result.succeeded} of {result.total} succeeded, {result.failed} failed")
    if result.failed:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def backends(
    name: Annotated[
        str | None,
        typer.Argument(metavar="[BACKEND]", help="Show this backend's models: what each can do and accepts."),
    ] = None,
    explain: Annotated[
        MediaType | None, typer.Option("--explain", "-e", help="Say why each backend would or would not serve.")
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="With BACKEND: ask the vendor (with its key) which models it serves now."),
    ] = False,
    json_out: JsonOpt = False,
    sandbox: SandboxOpt = False,
    debug: DebugOpt = False,
) -> None:
    """List the installed backends and their keys; show one backend's models; or explain the choice for a media
    type."""
    from mediagen.entrypoints.runtime import describe_backends, describe_models, explain_choice

    common = Common(json_out=json_out, debug=debug, sandbox=sandbox, strict=False, output_dir=None)

    async def work(service: MediaService) -> list[dict[str, Any]]:
        if explain is not None:
            return explain_choice(service, explain)
        if refresh:
            if name is None:
                raise InvalidRequest("needs a backend: mediagen backends NAME --refresh", field="refresh")
            return describe_models(service, name, await service.list_models(name))
        return describe_models(service, name) if name is not None else describe_backends(service)

    if json_out:
        from mediagen.entrypoints import listing

        async def as_json(service: MediaService) -> dict[str, Any]:
            if explain is not None:
                return listing.explain_json(explain, explain_choice(service, explain))
            if name is None:
                return listing.backends_json(service)
            describe_models(service, name)  # an unknown name is refused, naming the installed ones
            listed = await service.list_models(name) if refresh else service.selector.specs[name].models
            return listing.models_json(service, name, listed)

        if refresh and name is None:
            _fail(common, InvalidRequest("needs a backend: mediagen backends NAME --refresh", field="refresh"))
        typer.echo(json.dumps(_run(common, as_json), indent=2))
        return
    rows = _run(common, work)
    from mediagen.entrypoints.display import stdout, table

    if name is not None and explain is None:
        shown = [{**row, "default": "yes" if row["default"] else ""} for row in rows]
        table(shown, ["model", "media", "default", "capabilities", "accepts", "about"])
    elif explain is None:
        table(rows, ["backend", "media", "default models", "key", "env vars"])
    else:
        table(rows, ["order", "backend", "chosen", "model", "reason"])
        if not any(row["usable"] for row in rows):
            stdout.print(f"No backend can generate {explain.value} now: set one of the env vars above.")


@jobs_app.command("list")
def jobs_list(json_out: JsonOpt = False, sandbox: SandboxOpt = False, debug: DebugOpt = False) -> None:
    """Jobs submitted to a vendor whose result was not collected yet."""
    import attrs

    common = Common(json_out=json_out, debug=debug, sandbox=sandbox, strict=False, output_dir=None)

    async def work(service: MediaService) -> tuple[list[dict[str, Any]], Any]:
        return [attrs.asdict(job) for job in await service.jobs()], await service.reclaim()

    if json_out:
        from mediagen.entrypoints.listing import jobs_json

        async def as_json(service: MediaService) -> dict[str, Any]:
            return {**jobs_json(await service.jobs()), "reclaimed": attrs.asdict(await service.reclaim())}

        typer.echo(json.dumps(_run(common, as_json), indent=2))
        return
    rows, freed = _run(common, work)
    if not rows:
        typer.echo("no pending jobs")
    else:
        from mediagen.entrypoints.display import age, local_time, table

        shown = [{**row, "started": f"{local_time(row['created_at'])} ({age(row['created_at'])})"} for row in rows]
        table(shown, ["id", "backend", "started", "vendor_job_id", "model", "prompt"])
    if freed.files:
        typer.echo(
            f"reclaimed {_size(freed.bytes)} from {freed.files} partial download{'s' if freed.files != 1 else ''} "
            "left by interrupted runs"
        )


def _size(count: int) -> str:
    """A byte count for people: 1.5 MB, 900 B."""
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


JobIdArg = Annotated[str, typer.Argument(metavar="JOB_ID", help="The id `mediagen jobs list` shows.")]


@jobs_app.command("status")
def jobs_status(
    job_id: JobIdArg, json_out: JsonOpt = False, sandbox: SandboxOpt = False, debug: DebugOpt = False
) -> None:
    """What is recorded about one job."""
    import attrs

    common = Common(json_out=json_out, debug=debug, sandbox=sandbox, strict=False, output_dir=None)

    async def work(service: MediaService) -> dict[str, Any]:
        job = await service.job(job_id)
        if json_out:
            from mediagen.entrypoints.listing import job_status_json

            return job_status_json(job)
        return attrs.asdict(job)

    row = _run(common, work)
    if json_out:
        typer.echo(json.dumps(row, indent=2))
    else:
        from mediagen.entrypoints.display import local_time

        typer.echo(_kv({**row, "created_at": local_time(row["created_at"])}))


@jobs_app.command("forget")
def jobs_forget(
    job_id: JobIdArg,
    json_out: JsonOpt = False,
    sandbox: SandboxOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Drop a job's record without asking the vendor anything (a running job runs on, and may be billed)."""
    import attrs

    common = Common(json_out=json_out, debug=debug, sandbox=sandbox, strict=False, output_dir=None)

    async def work(service: MediaService) -> dict[str, Any]:
        job = await service.forget(job_id)
        if json_out:
            from mediagen.entrypoints.listing import envelope, job_json

            return envelope("jobs_forget", job=job_json(job))
        return attrs.asdict(job)

    row = _run(common, work)
    if json_out:
        typer.echo(json.dumps(row, indent=2))
    else:
        typer.echo(f"forgot job {job_id} ({row['backend']} job {row['vendor_job_id']})")


@jobs_app.command("cancel")
def jobs_cancel(
    job_id: JobIdArg,
    json_out: JsonOpt = False,
    sandbox: SandboxOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Ask the vendor to cancel a job, then drop its record. OpenAI (Sora) deletes the video; Google (Veo) offers
    no cancel, which is said, and the job is left as it is (`jobs forget` drops the record)."""
    import attrs

    common = Common(json_out=json_out, debug=debug, sandbox=sandbox, strict=False, output_dir=None)

    async def work(service: MediaService) -> dict[str, Any]:
        job = await service.cancel(job_id)
        if json_out:
            from mediagen.entrypoints.listing import envelope, job_json

            return envelope("jobs_cancel", job=job_json(job))
        return attrs.asdict(job)

    row = _run(common, work)
    if json_out:
        typer.echo(json.dumps(row, indent=2))
    else:
        typer.echo(f"cancelled job {job_id} ({row['backend']} job {row['vendor_job_id']})")


@jobs_app.command("resume")
def jobs_resume(
    job_id: JobIdArg,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", metavar="SECONDS", help="How long to wait this time (default: the media type's setting)."
        ),
    ] = None,
    output_dir: OutOpt = None,
    json_out: JsonOpt = False,
    sandbox: SandboxOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Wait for a recorded job again and write its result, without paying for it twice."""
    common = Common(json_out=json_out, debug=debug, sandbox=sandbox, strict=False, output_dir=output_dir)

    async def work(service: MediaService) -> Any:
        from mediagen.entrypoints.display import ProgressDisplay

        with ProgressDisplay() as display:
            return await service.resume(job_id, progress=display, timeout=timeout, output_dir=output_dir)

    result = _run(common, work)
    if json_out:
        from mediagen.domain.request import MediaRequest
        from mediagen.entrypoints.tool import result_to_json

        typer.echo(json.dumps(result_to_json(result, MediaRequest(media_type=result.media_type, prompt="-")), indent=2))
    else:
        from mediagen.entrypoints.display import print_result

        print_result(result)


@app.command("sandbox")
def sandbox_command(
    vendor: Annotated[
        list[str] | None, typer.Option("--vendor", help="Serve only this vendor's fake (repeatable); default: all.")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Interface to bind; keep it on loopback.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="First port (vendors take port, port+1, ...); 0: any free.")] = 0,
    latency: Annotated[float, typer.Option("--latency", help="Seconds every answer is held back.")] = 0.0,
    fault: Annotated[
        list[str] | None,
        typer.Option("--fault", help="Standing fault, e.g. openai:rate_limit;retry_after=1;times=2 (repeatable)."),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="Keep vendor-side state (responses, video jobs, Veo operations) here, so sandboxes sharing the "
            "directory continue each other's jobs; default: memory only.",
        ),
    ] = None,
    state_ttl: Annotated[
        str | None,
        typer.Option(
            "--state-ttl",
            metavar="SECONDS",
            help="Remove records in --state-dir last written longer ago than this when starting "
            "(default 604800, 7 days; 'none': keep them).",
        ),
    ] = None,
) -> None:
    """Serve the fake vendor APIs on loopback, print their base URLs and env lines, stop on Ctrl-C."""
    import attrs

    from mediagen.sandbox import SandboxSettings, available_vendors, serve_forever

    known = available_vendors()
    unknown = sorted(set(vendor or ()) - set(known))
    if unknown:
        from mediagen.entrypoints.display import print_error

        print_error(f"no sandbox fake for {', '.join(unknown)}; known vendors: {', '.join(known)}", "invalid_request")
        raise typer.Exit(EXIT_USAGE)
    try:
        ttl = {} if state_ttl is None else {"state_ttl_seconds": state_ttl}
        settings = attrs.evolve(
            SandboxSettings.from_strings(ttl, source="--state-ttl"),
            latency=latency,
            faults=cast("Any", tuple(fault or ())),
            state_dir=state_dir,
        )
    except ValueError as error:
        from mediagen.entrypoints.display import print_error

        print_error(str(error), "invalid_request")
        raise typer.Exit(EXIT_USAGE) from None
    serve_forever(vendor or None, host, port, settings=settings)


@app.command("mcp")
def mcp_command(
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            "-o",
            metavar="DIR",
            help="Where every file goes (the output root); default: mediagen's user data dir, never the client's cwd.",
        ),
    ] = None,
    input_root: Annotated[
        list[Path] | None,
        typer.Option("--input-root", metavar="DIR", help="A directory calls may read input files from (repeatable)."),
    ] = None,
    embed_limit: Annotated[
        int, typer.Option("--embed-limit", metavar="BYTES", help="Embed images and audio up to this size in results.")
    ] = 1_000_000,
    transport: Annotated[
        str, typer.Option("--transport", help="stdio, or http (streamable HTTP at http://HOST:PORT/mcp).")
    ] = "stdio",
    host: Annotated[
        str, typer.Option("--host", help="HTTP: interface to bind; other than loopback needs MCP_BEARER_TOKEN.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="HTTP: port to listen on.")] = 8765,
    sandbox: SandboxOpt = False,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Serve the agent tools (generate_image, generate_video, generate_audio, generate_batch, list_backends,
    job_status, job_resume) over MCP, on stdin/stdout or streamable HTTP."""
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        from mediagen.entrypoints.display import print_error

        print_error("the MCP server needs the mcp extra: pip install 'mediagen[mcp]'", "configuration_error")
        raise typer.Exit(EXIT_USAGE)
    from mediagen.entrypoints import mcp

    options = mcp.McpOptions(output_dir or mcp.default_output_root(), tuple(input_root or ()), embed_limit)
    common = Common(json_out=False, debug=debug, sandbox=sandbox, strict=strict, output_dir=options.output_root)
    if transport == "stdio":
        _run(common, lambda service: mcp.serve_mcp(service, options))
        return
    if transport != "http":
        _fail(common, InvalidRequest(f"{transport!r} is not stdio or http", field="transport"))
    import os

    token = os.environ.get(mcp.TOKEN_ENV) or None
    try:
        mcp.check_bind(host, token)  # before anything starts
    except MediaGenError as error:
        _fail(common, error)
    _run(common, lambda service: mcp.serve_mcp_http(service, options, host=host, port=port, token=token))


@app.command()
def config(json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """Show the effective settings and where each comes from (a file, an env var, or the defaults)."""
    from mediagen.application.settings import load_settings_with_sources, settings_to_dict

    common = Common(json_out=json_out, debug=debug, sandbox=False, strict=False, output_dir=None)
    try:
        loaded = load_settings_with_sources()
    except MediaGenError as error:
        _fail(common, error)
    data = settings_to_dict(loaded.settings)
    if json_out:
        from mediagen.entrypoints.listing import config_json

        typer.echo(json.dumps(config_json(loaded), indent=2, default=str))
        return
    for key, value in _flatten(data):
        typer.echo(f"{key} = {json.dumps(value, default=str)}  ({loaded.sources.get(key, 'defaults')})")


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted keys and leaf values, in the settings' order (an empty table is a leaf)."""
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            rows += _flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def _kv(row: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in row.items())


def main() -> None:
    import logging

    # Retries already show as progress events; library log lines would only repeat them on stderr.
    if "--debug" not in sys.argv:
        quiet = logging.getLogger("stamina")
        quiet.addHandler(logging.NullHandler())
        quiet.propagate = False
    if "--json" not in sys.argv[1:]:
        app()
        return
    sys.exit(_run_for_json())


def _run_for_json() -> int:
    """The CLI with --json: a usage error (unknown option, bad value) is the tool's error JSON on stdout too."""
    try:
        code = app(standalone_mode=False)
    except _usage_errors() as error:
        from mediagen.entrypoints.tool import error_to_json

        parameter = getattr(error, "param", None)
        name = getattr(parameter, "name", None) if parameter is not None else None
        failure = InvalidRequest(error.format_message(), field=name)
        typer.echo(json.dumps(error_to_json(failure), indent=2))
        return EXIT_USAGE
    except typer.Abort:
        return 130
    return code if isinstance(code, int) else EXIT_OK


def _usage_errors() -> tuple[type[Any], ...]:
    """Click's UsageError: typer >= 0.26 carries its own copy of click, earlier ones use click itself."""
    found: list[type[Any]] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(module).UsageError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


if __name__ == "__main__":
    main()
