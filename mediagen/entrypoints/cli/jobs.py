"""The `jobs` commands: list, status, forget, cancel and resume the vendor jobs recorded."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mediagen.entrypoints.cli.common import Common, _run
from mediagen.entrypoints.cli.options import DebugOpt, JobIdArg, JsonOpt, OutOpt, SandboxOpt
from mediagen.entrypoints.cli.root import jobs_app

if TYPE_CHECKING:
    from mediagen.application.service import MediaService


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


def _kv(row: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in row.items())
