"""The batch command: many requests from a file, every entry checked before any is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.media import MediaType
from mediagen.entrypoints.cli.common import EXIT_FAILED, Common, _fail, _run
from mediagen.entrypoints.cli.options import BackendOpt, DebugOpt, JsonOpt, OutOpt, SandboxOpt, StrictOpt

if TYPE_CHECKING:
    from mediagen.application.service import MediaService
    from mediagen.domain.request import MediaRequest


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
        # No listener when nothing is shown: on Ray that spares relaying every item's events to this process.
        listener = display if display.enabled else None
        return await service.generate_batch(requests, max_concurrent=max_concurrent, progress=listener, engine=engine)


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
