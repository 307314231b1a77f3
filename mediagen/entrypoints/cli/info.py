"""The commands that show what is there: backends (and their models) and config."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.media import MediaType
from mediagen.entrypoints.cli.common import Common, _fail, _run
from mediagen.entrypoints.cli.options import DebugOpt, JsonOpt, SandboxOpt

if TYPE_CHECKING:
    from mediagen.application.service import MediaService


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
