"""The serving commands: the sandbox's fake vendors and the MCP server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

import typer

from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.entrypoints.cli.common import EXIT_USAGE, Common, _fail, _run
from mediagen.entrypoints.cli.options import DebugOpt, SandboxOpt, StrictOpt


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
    """Serve the agent tools (generate_image, generate_video, generate_audio, and transform_audio and clone_voice
    where a backend offers them; generate_batch, list_backends, job_status, job_resume) over MCP, on stdin/stdout
    or streamable HTTP."""
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
