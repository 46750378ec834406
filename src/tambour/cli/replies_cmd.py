"""`tambour replies`: the replies people sent, for the advertiser to read and act on."""

from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import parse_choice, print_json
from tambour.services import reply_inbox
from tambour.services.replies import ReplyStatus
from tambour.services.reply_inbox import PARIS, KeptReply

app = typer.Typer(
    no_args_is_help=True,
    help="Replies people sent: read them, mark them read, or mark one as an opt-out.",
)

Advertiser = Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")]
ReplyId = Annotated[int, typer.Argument(help="The reply's id, as `replies list` shows it.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OPTIONS = {"slug": "--advertiser", "limit": "--limit"}  # the use cases' parameters


def _hints(slug: str) -> dict[str, str]:
    return {"reply_not_found": f" (see `tambour replies list --advertiser {slug}`)"}


def _line(reply: KeptReply) -> str:
    at = reply.received_at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M")
    read_as = "" if reply.meaning == "other" else f"  (read as {reply.meaning.upper()})"
    return f"#{reply.id}  {at}  {reply.number} -> {reply.to}  {reply.status}{read_as}"


@app.command("list")
def list_cmd(
    advertiser: Advertiser,
    status: Annotated[
        str | None, typer.Option("--status", help="new, read or opted_out (default: all).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many, newest first.")
    ] = reply_inbox.DEFAULT_LIMIT,
    as_json: AsJson = False,
) -> None:
    """The advertiser's replies, newest first, times in Paris time."""
    wanted = parse_choice(status, ReplyStatus, "--status") if status is not None else None
    ctx = open_context()
    with refusals(OPTIONS):
        found = reply_inbox.list_replies(ctx, slug=advertiser, status=wanted, limit=limit).replies
    if as_json:
        print_json([reply.as_dict() for reply in found])
        return
    if not found:
        typer.echo("no replies" + (f" {status}" if status else ""))
        return
    count = "1 reply" if len(found) == 1 else f"{len(found)} replies"
    typer.echo(f"{count}, newest first (Paris time):")
    for reply in found:
        typer.echo(_line(reply))
        for text_line in reply.text.splitlines() or [""]:
            typer.echo(f"    {text_line}")


@app.command("read")
def read(reply_id: ReplyId, advertiser: Advertiser, as_json: AsJson = False) -> None:
    """Mark a reply read."""
    ctx = open_context()
    with refusals(OPTIONS, hints=_hints(advertiser)):
        result = reply_inbox.mark_read(ctx, slug=advertiser, reply_id=reply_id)
    if as_json:
        print_json(result.as_dict())
    elif result.changed:
        typer.echo(f"reply #{reply_id} marked read")
    else:
        typer.echo(f"reply #{reply_id} is {result.status} already: unchanged")


@app.command("optout")
def optout(reply_id: ReplyId, advertiser: Advertiser, as_json: AsJson = False) -> None:
    """Mark a reply as the person's opt-out: the number is suppressed at once."""
    ctx = open_context()
    with refusals(OPTIONS, hints=_hints(advertiser)):
        result = reply_inbox.mark_opted_out(ctx, slug=advertiser, reply_id=reply_id)
    if as_json:
        print_json(result.as_dict())
    elif result.changed:
        known = "known contact" if result.known_contact else "not a contact: suppressed anyway"
        typer.echo(f"reply #{reply_id}: number opted out ({result.source}, {known})")
    else:
        typer.echo(f"reply #{reply_id} is opted out already: unchanged")
