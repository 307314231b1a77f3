"""`python -m mediagen.entrypoints.cli`: the `mediagen` command."""

from mediagen.entrypoints.cli import main

main()
