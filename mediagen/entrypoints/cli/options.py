"""The options several commands share, as annotated types."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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

JobIdArg = Annotated[str, typer.Argument(metavar="JOB_ID", help="The id `mediagen jobs list` shows.")]
