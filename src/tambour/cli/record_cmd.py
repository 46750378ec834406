"""`tambour record`: the record of processing activities (GDPR Art. 30), an advertiser's as
controller or the operator's as processor, made from the configuration and the database."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import create_file, fail
from tambour.services import processing_record
from tambour.services.processing_setup import read_setup
from tambour.settings import Settings
from tambour.web.record_documents import rendered


class Format(StrEnum):
    MARKDOWN = "markdown"
    HTML = "html"
    JSON = "json"


class Language(StrEnum):
    FR = "fr"
    EN = "en"


def record(
    advertiser: Annotated[
        str | None, typer.Option("--advertiser", help="The advertiser's record, as controller.")
    ] = None,
    processor: Annotated[
        bool, typer.Option("--processor", help="The operator's record, as processor.")
    ] = False,
    format: Annotated[
        Format, typer.Option("--format", help="markdown (default), html (printable) or json.")
    ] = Format.MARKDOWN,
    language: Annotated[
        Language, typer.Option("--language", help="fr (default) or en.")
    ] = Language.FR,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write it to this new file (owner-only) instead of printing."),
    ] = None,
) -> None:
    """The record of processing activities (GDPR Art. 30): --advertiser SLUG for the
    advertiser's as controller (purposes, people and data counted, recipients, transfers,
    retention, security measures), --processor for the operator's as processor. Made now from
    the database, the settings (TAMBOUR_PROCESSOR_*, the retention periods) and the transport
    configuration (TAMBOUR_CONFIG); it names no phone number and no value of a contact."""
    if (advertiser is None) == (not processor):
        fail("--advertiser SLUG or --processor: one of them")
    ctx = open_context()
    setup = read_setup(Settings.from_env())
    with refusals({"slug": "--advertiser"}):
        if advertiser is not None:
            made: processing_record.ControllerRecord | processing_record.ProcessorRecord = (
                processing_record.for_advertiser(ctx, advertiser, setup)
            )
        else:
            made = processing_record.for_processor(ctx, setup)
    text = rendered(made, format.value, language.value)
    if out is None:
        typer.echo(text, nl=False)
        return
    with create_file(out, "--out", "utf-8") as handle:
        handle.write(text)
    typer.echo(f"{out}: the record of processing ({format.value})")
