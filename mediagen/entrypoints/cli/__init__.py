"""The `mediagen` command. Every command has --json printing the agent-tool result shape on stdout.

Exit codes: 0 success; 1 generation failed (or any batch item failed); 2 invalid usage, request or setup.

The app and its help's look are in root, the shared options in options, running and failing in common; the
commands are in generate, batch, info, jobs and serve, registered here in the order `mediagen --help` lists them.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import Any

import typer

from mediagen.domain.errors import InvalidRequest
from mediagen.entrypoints.cli.batch import batch
from mediagen.entrypoints.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, USAGE_ERRORS, Common
from mediagen.entrypoints.cli.generate import audio, image, video
from mediagen.entrypoints.cli.info import backends, config
from mediagen.entrypoints.cli.jobs import jobs_cancel, jobs_forget, jobs_list, jobs_resume, jobs_status
from mediagen.entrypoints.cli.root import HELP, app, jobs_app
from mediagen.entrypoints.cli.serve import mcp_command, sandbox_command

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "HELP",
    "USAGE_ERRORS",
    "Common",
    "app",
    "audio",
    "backends",
    "batch",
    "config",
    "image",
    "jobs_app",
    "jobs_cancel",
    "jobs_forget",
    "jobs_list",
    "jobs_resume",
    "jobs_status",
    "main",
    "mcp_command",
    "sandbox_command",
    "video",
]

app.add_typer(jobs_app, name="jobs")
app.command()(image)
app.command()(video)
app.command()(audio)
app.command()(batch)
app.command()(backends)
app.command("sandbox")(sandbox_command)
app.command("mcp")(mcp_command)
app.command()(config)


def main() -> None:
    import logging

    # Retries already show as progress events; library log lines would only repeat them on stderr.
    if "--debug" not in sys.argv:
        quiet = logging.getLogger("stamina")
        quiet.addHandler(logging.NullHandler())
        quiet.propagate = False
        # grpc's C core (xai-sdk, Ray, the sandbox's xAI fake) logs INFO lines such as fork_posix's "Other threads
        # are currently calling into gRPC" on stderr, between the progress lines; its errors still show. Read once,
        # when grpc first loads: a value the user set wins.
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
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
