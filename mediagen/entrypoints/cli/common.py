"""What every command shares: the exit codes, its common options, running the service, failing clearly."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

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
from mediagen.entrypoints.cli.root import app

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
