"""Command line entry point (placeholder until the commands land)."""

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the version."""
    from tambour import __version__

    typer.echo(__version__)


def main() -> None:
    app()
