"""`tambour requests`: the register of data requests (access, portability, rectification,
erasure, objection), each answered within its deadline."""

import json
from pathlib import Path
from typing import Annotated

import typer

from tambour.cli.context import open_context, refusals
from tambour.cli.output import create_file, fail, print_json
from tambour.services import data_requests, request_answers
from tambour.services.data_requests import DataRequest, RequestKind
from tambour.web.documents import subject_access_html

app = typer.Typer(no_args_is_help=True, help="Data requests: who asked what, and by when.")

Advertiser = Annotated[str, typer.Option("--advertiser", help="The advertiser's slug.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OPTIONS = {
    "slug": "--advertiser", "kind": "--kind", "means": "--means", "requester": "--requester",
    "received_on": "--received", "note": "--note", "reason": "--reason", "request": "ID",
    "corrections": "--set", "confirm": "--confirm-erasure",
}  # fmt: skip


def _line(request: DataRequest) -> str:
    if request.status == "open":
        left = request.days_left or 0
        when = f"OVERDUE by {-left} day(s)" if left < 0 else f"due {request.due_by} ({left} d)"
    else:
        when = f"{request.status} {request.answered_at:%Y-%m-%d}" if request.answered_at else ""
    return (
        f"{request.id:>5}  {request.kind:<13} {when:<28} received {request.received_on} by "
        f"{request.means}, {request.requester or '(erased)'}"
    )


@app.command("add")
def add(
    number: Annotated[str, typer.Argument(help="The number the request is about.")],
    advertiser: Advertiser,
    kind: Annotated[
        str, typer.Option("--kind", help="access, portability, rectification, erasure, objection.")
    ],
    requester: Annotated[str, typer.Option("--requester", help="Who asked.")],
    means: Annotated[
        str, typer.Option("--means", help="email, letter, phone, sms, web, in_person, other.")
    ] = "email",
    received: Annotated[
        str | None, typer.Option("--received", help="Received on (YYYY-MM-DD); today if not given.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    as_json: AsJson = False,
) -> None:
    """Register a request; it is due one month after it was received."""
    ctx = open_context()
    with refusals(OPTIONS):
        received_on = data_requests.parse_day(received or "")
        request = data_requests.add(
            ctx, slug=advertiser, kind=data_requests.parse_kind(kind),
            number=number, requester=requester, means=data_requests.parse_means(means),
            received_on=received_on, note=note,
        )  # fmt: skip
    if as_json:
        print_json(request.as_dict())
    else:
        typer.echo(f"request {request.id} registered: {request.kind}, due {request.due_by}")


@app.command("list")
def list_cmd(
    advertiser: Advertiser,
    status: Annotated[
        str | None, typer.Option("--status", help="open, answered or refused.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The register: open requests first, by deadline."""
    if status is not None and status not in ("open", "answered", "refused"):
        fail(f"--status: {status!r} is not one of open, answered, refused")
    ctx = open_context()
    with refusals(OPTIONS):
        found = data_requests.list_requests(ctx, slug=advertiser, status=status)
    if as_json:
        print_json([request.as_dict() for request in found])
        return
    if not found:
        typer.echo("no data request")
    for request in found:
        typer.echo(_line(request))


@app.command("show")
def show(
    request_id: Annotated[int, typer.Argument(metavar="ID")], advertiser: Advertiser,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """One request of the register."""
    ctx = open_context()
    with refusals(OPTIONS):
        request = data_requests.get(ctx, slug=advertiser, request_id=request_id)
    if as_json:
        print_json(request.as_dict())
        return
    typer.echo(_line(request))
    for label, value in (
        ("extended", request.extension_reason), ("note", request.note),
        ("answered by", request.answered_by),
        ("outcome", json.dumps(request.outcome, ensure_ascii=False) if request.outcome else None),
    ):  # fmt: skip
        if value:
            typer.echo(f"  {label}: {value}")


@app.command("extend")
def extend(
    request_id: Annotated[int, typer.Argument(metavar="ID")],
    advertiser: Advertiser,
    reason: Annotated[str, typer.Option("--reason", help="Told to the person.")],
) -> None:
    """Extend the deadline by two months (once, before it has passed)."""
    ctx = open_context()
    with refusals(OPTIONS):
        request = data_requests.extend(ctx, slug=advertiser, request_id=request_id, reason=reason)
    typer.echo(f"request {request.id} now due {request.due_by}")


@app.command("refuse")
def refuse(
    request_id: Annotated[int, typer.Argument(metavar="ID")],
    advertiser: Advertiser,
    reason: Annotated[str, typer.Option("--reason", help="Told to the person.")],
) -> None:
    """Refuse a request, with the reason (unfounded, excessive, identity not checked)."""
    ctx = open_context()
    with refusals(OPTIONS):
        data_requests.refuse(ctx, slug=advertiser, request_id=request_id, reason=reason)
    typer.echo(f"request {request_id} refused")


@app.command("answer")
def answer(
    request_id: Annotated[int, typer.Argument(metavar="ID")],
    advertiser: Advertiser,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Access, portability: the folder to write the data in."),
    ] = None,
    corrections: Annotated[
        list[str] | None,
        typer.Option("--set", help="Rectification: FIELD=VALUE (empty removes), repeatable."),
    ] = None,
    confirm_erasure: Annotated[
        bool, typer.Option("--confirm-erasure", help="Erasure: it cannot be undone.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Answer a request by its kind: the data (access, portability), the erasure, the
    opt-out (objection) or the corrections (rectification)."""
    ctx = open_context()
    with refusals(OPTIONS):
        kind = data_requests.get(ctx, slug=advertiser, request_id=request_id).kind
        if kind in (RequestKind.ACCESS, RequestKind.PORTABILITY):
            if out is None:
                fail("--out: name the folder where the person's data is written")
            if not out.is_dir():
                fail(f"--out: the folder {out} does not exist")
            copy = request_answers.answer_access(ctx, slug=advertiser, request_id=request_id)
            _write_copy(out, request_id, copy.data)
            result: object = copy.request.as_dict()
            said = f"request {request_id} answered: {out}/request-{request_id}.json and .html"
        elif kind == RequestKind.ERASURE:
            erased = request_answers.answer_erasure(
                ctx, slug=advertiser, request_id=request_id, confirmed=confirm_erasure
            )
            result = erased.as_dict()
            e = erased.erased
            said = (
                f"request {request_id} answered: erased ({e.evidence} fact(s) blanked, "
                f"{e.messages} message(s), {e.replies} reply(ies), {e.cancelled} queued "
                "cancelled); the number stays on the suppression list"
            )
        elif kind == RequestKind.OBJECTION:
            request = request_answers.answer_objection(ctx, slug=advertiser, request_id=request_id)
            result, said = request.as_dict(), f"request {request_id} answered: opted out"
        else:
            request = request_answers.answer_rectification(
                ctx, slug=advertiser, request_id=request_id,
                corrections=_corrections(corrections or []),
            )  # fmt: skip
            result, said = request.as_dict(), f"request {request_id} answered: corrected"
    if as_json:
        print_json(result)
    else:
        typer.echo(said)


def _corrections(values: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for value in values:
        name, sep, given = value.partition("=")
        if not sep or not name.strip():
            fail(f"--set: {value!r} is not FIELD=VALUE")
        found[name.strip()] = given or None
    return found


def _write_copy(folder: Path, request_id: int, data: dict[str, object]) -> None:
    """The person's data as JSON (portable) and as a French document, owner-only files."""
    with create_file(folder / f"request-{request_id}.json", "--out", "utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
    with create_file(folder / f"request-{request_id}.html", "--out", "utf-8") as handle:
        handle.write(subject_access_html(data, "fr"))


@app.command("remind")
def remind(
    advertiser: Annotated[
        str | None, typer.Option("--advertiser", help="One advertiser; all if not given.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Requests due within a week or overdue; each is told once a day by webhook."""
    ctx = open_context()
    with refusals(OPTIONS):
        found = data_requests.remind(ctx, slug=advertiser)
    if as_json:
        print_json(found.as_dict())
        return
    for request in found.due:
        typer.echo(_line(request))
    typer.echo(f"{len(found.due)} request(s) due soon or overdue; {found.told} told by webhook")
