"""The `mediagen` typer app and its `jobs` group, with the root's --version and the help's look."""

from __future__ import annotations

from typing import Annotated, Any

import typer

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
