"""The typed front door (issue 15 point 1): every use case refuses with an error an API can
answer with, a class (InvalidInputError 422, NotFoundError 404, ConflictError 409), a stable
`code` and the `field` at fault (the use case's own parameter name), whatever its wording.
And no refusal names a command-line option: each entry point words its own."""

import ast
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tambour.rules.codes import Channel, Nature, OptOutSource
from tambour.services import (
    advertisers,
    audit_reads,
    campaign_edit,
    campaign_export,
    campaigns,
    contacts,
    importer,
    keyring,
    optouts,
    planner,
    proof,
    reply_inbox,
)
from tambour.services.context import (
    ConflictError,
    Context,
    InvalidInputError,
    NotFoundError,
    Problem,
    ServiceError,
)
from tests.dispatch_setup import mobile, write_contacts

NOW = datetime(2027, 3, 23, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Paris
SLUG = "maison-lumiere"
SERVICES = Path(__file__).resolve().parents[2] / "src" / "tambour" / "services"


def context(engine: Engine) -> Context:
    return Context(engine=engine, actor="test:errors", clock=lambda: NOW)


def refusal(call: Callable[[], Any]) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        call()
    return raised.value


def said(error: ServiceError) -> list[tuple[type[ServiceError], str, str | None]]:
    return [(type(error), problem.code, problem.field) for problem in error.problems]


def advertiser(ctx: Context, slug: str = SLUG, sender: str = "MLUMIERE") -> None:
    advertisers.create(
        ctx, slug=slug, name="Maison Lumière SAS", senders=[sender], stop_number="36111",
        categories=["luminaires"],
    )  # fmt: skip


# --- the error types ------------------------------------------------------------------------


def test_several_problems_make_one_refusal_that_keeps_each() -> None:
    one = Problem("name", "name_required", "the legal name is required")
    two = Problem("senders[1]", "invalid_sender", "too long")
    both = InvalidInputError.many([one, two])
    assert (both.code, both.field, both.status) == ("invalid_input", None, 422)
    assert both.problems == (one, two)
    assert str(both) == "name: the legal name is required; senders[1]: too long"
    alone = InvalidInputError.many([two])
    assert (alone.code, alone.field, alone.problems) == ("invalid_sender", "senders[1]", (two,))
    assert NotFoundError("x", code="advertiser_not_found").problems[0].code == (
        "advertiser_not_found"
    )
    assert (NotFoundError("x").status, ConflictError("x").status) == (404, 409)


# --- advertisers ----------------------------------------------------------------------------


def test_advertiser_refusals(engine: Engine) -> None:
    ctx = context(engine)
    made = refusal(
        lambda: advertisers.create(
            ctx,
            slug="Bad Slug",
            name=" ",
            senders=["LUMIERE", "X" * 12],
            stop_number="12",
            categories=["a", "appelez le 06 12 34 56 78"],
            non_commercial_id="W1",
        )
    )
    assert said(made) == [
        (InvalidInputError, "invalid_slug", "slug"),
        (InvalidInputError, "name_required", "name"),
        (InvalidInputError, "invalid_stop_number", "stop_number"),
        (InvalidInputError, "invalid_sender", "senders[1]"),
        (InvalidInputError, "phone_in_text", "categories[1]"),
        (InvalidInputError, "invalid_non_commercial_id", "non_commercial_id"),
    ]
    none = refusal(
        lambda: advertisers.create(
            ctx, slug=SLUG, name="M", senders=[], stop_number="36111", categories=[]
        )
    )
    assert said(none) == [(InvalidInputError, "sender_required", "senders")]
    advertiser(ctx)
    again = refusal(lambda: advertiser(ctx, sender="AUTRE"))
    assert said(again) == [(ConflictError, "advertiser_exists", "slug")]
    taken = refusal(lambda: advertiser(ctx, slug="copie", sender="mlumiere"))
    assert said(taken) == [(ConflictError, "sender_taken", "senders")]
    assert said(refusal(lambda: advertisers.update(ctx, SLUG))) == [
        (InvalidInputError, "nothing_to_change", None)
    ]
    both = refusal(
        lambda: advertisers.update(
            ctx, SLUG, non_commercial_id="W751234567", clear_non_commercial=True
        )
    )
    assert said(both) == [(InvalidInputError, "conflicting_arguments", "clear_non_commercial")]
    advertiser(ctx, slug="lampadaire", sender="LAMPADAIRE")
    stolen = refusal(lambda: advertisers.update(ctx, SLUG, add_senders=["Lampadaire"]))
    assert said(stolen) == [(ConflictError, "sender_taken", "add_senders")]
    unknown = refusal(lambda: advertisers.show(ctx, "inconnu"))
    assert said(unknown) == [(NotFoundError, "advertiser_not_found", "slug")]


# --- campaigns ------------------------------------------------------------------------------


def create_campaign(ctx: Context, name: str = "Printemps", slug: str = SLUG, **given: Any) -> None:
    defined: dict[str, Any] = {
        "nature": Nature.COMMERCIAL, "sender": "MLUMIERE", "text": "Maison Lumière -20%",
        **given,
    }  # fmt: skip
    campaigns.create(ctx, slug=slug, name=name, **defined)


def test_campaign_definition_refusals(engine: Engine) -> None:
    ctx = context(engine)
    advertiser(ctx)
    bad = refusal(
        lambda: create_campaign(
            ctx, name=" ", channel=Channel.MMS, text=" ", send_by=NOW - timedelta(days=1)
        )
    )
    assert said(bad) == [
        (InvalidInputError, "name_required", "name"),
        (InvalidInputError, "channel_not_supported", "channel"),
        (InvalidInputError, "text_empty", "text"),
        (InvalidInputError, "send_by_past", "send_by"),
    ]
    late = refusal(
        lambda: create_campaign(ctx, start=NOW + timedelta(days=2), send_by=NOW + timedelta(days=1))
    )
    assert said(late) == [(InvalidInputError, "send_by_before_start", "send_by")]
    deal = refusal(lambda: create_campaign(ctx, nature=Nature.TRANSACTIONAL))
    assert said(deal) == [(InvalidInputError, "transaction_required", "transaction_field")]
    stranger = refusal(lambda: create_campaign(ctx, sender="AUTRE"))
    assert said(stranger) == [(InvalidInputError, "unknown_sender", "sender")]
    nobody = refusal(lambda: create_campaign(ctx, slug="inconnu"))
    assert said(nobody) == [(NotFoundError, "advertiser_not_found", "slug")]
    create_campaign(ctx)
    twice = refusal(lambda: create_campaign(ctx))
    assert said(twice) == [(ConflictError, "campaign_exists", "name")]
    missing = refusal(lambda: campaigns.status(ctx, name="Automne"))
    assert said(missing) == [(NotFoundError, "campaign_not_found", "name")]
    advertiser(ctx, slug="lampadaire", sender="LAMPADAIRE")
    create_campaign(ctx, slug="lampadaire", sender="LAMPADAIRE")
    which = refusal(lambda: campaigns.status(ctx, name="Printemps"))
    assert said(which) == [(InvalidInputError, "campaign_ambiguous", "slug")]


def test_campaign_life_refusals(engine: Engine, tmp_path: Path) -> None:
    ctx = context(engine)
    advertiser(ctx)
    create_campaign(ctx)
    edit = campaign_edit.edit
    unplanned = refusal(lambda: campaigns.launch(ctx, name="Printemps"))
    assert said(unplanned) == [(ConflictError, "plan_missing", None)]
    nothing = refusal(lambda: edit(ctx, name="Printemps", changes=campaign_edit.Changes()))
    assert said(nothing) == [(InvalidInputError, "nothing_to_change", None)]
    same = campaign_edit.Changes(text="Maison Lumière -20%")
    assert said(refusal(lambda: edit(ctx, name="Printemps", changes=same))) == [
        (InvalidInputError, "nothing_changed", None)
    ]
    empty = campaign_edit.Changes(text="", tags=["ok", "bad\x07"])
    assert said(refusal(lambda: edit(ctx, name="Printemps", changes=empty))) == [
        (InvalidInputError, "text_empty", "text"),
        (InvalidInputError, "control_character", "tags[1]"),
    ]
    planner.plan(ctx, name="Printemps", workers=0)  # nobody to send to: a plan all the same
    empty_plan = refusal(lambda: campaigns.launch(ctx, name="Printemps"))
    assert said(empty_plan) == [(ConflictError, "campaign_blocked", None)]
    contacts = write_contacts(tmp_path / "contacts.csv", [mobile(1)])
    importer.import_contacts(ctx, slug=SLUG, path=contacts, workers=0)
    planner.plan(ctx, name="Printemps", workers=0)
    campaigns.launch(ctx, name="Printemps")
    again = refusal(lambda: campaigns.launch(ctx, name="Printemps"))
    assert said(again) == [(ConflictError, "campaign_launched", None)]
    frozen = refusal(lambda: campaign_edit.delete_campaign(ctx, name="Printemps"))
    assert said(frozen) == [(ConflictError, "campaign_launched", None)]
    replanned = refusal(lambda: planner.plan(ctx, name="Printemps", workers=0))
    assert said(replanned) == [(ConflictError, "campaign_launched", None)]
    campaigns.cancel(ctx, name="Printemps")
    over = refusal(lambda: campaigns.cancel(ctx, name="Printemps"))
    assert said(over) == [(ConflictError, "campaign_cancelled", None)]
    text = campaign_edit.Changes(text="Autre chose")
    cancelled = refusal(lambda: edit(ctx, name="Printemps", changes=text))
    assert said(cancelled) == [(ConflictError, "campaign_cancelled", None)]
    over = refusal(lambda: planner.plan(ctx, name="Printemps", workers=0))
    assert said(over) == [(ConflictError, "campaign_cancelled", None)]


# --- contact imports ------------------------------------------------------------------------


def test_import_refusals(engine: Engine, tmp_path: Path) -> None:
    ctx = context(engine)
    advertiser(ctx)
    people = write_contacts(tmp_path / "contacts.csv", [mobile(1)])

    def imported(path: Path = people, **given: Any) -> None:
        importer.import_contacts(ctx, slug=given.pop("slug", SLUG), path=path, workers=0, **given)

    itself = refusal(lambda: imported(rejects_path=people))
    assert said(itself) == [(InvalidInputError, "rejects_is_input", "rejects_path")]
    nowhere = refusal(lambda: imported(rejects_path=tmp_path / "absent" / "rejets.csv"))
    assert said(nowhere) == [(InvalidInputError, "folder_not_found", "rejects_path")]
    taken = tmp_path / "rejets.csv"
    taken.write_text("", encoding="utf-8")
    assert said(refusal(lambda: imported(rejects_path=taken))) == [
        (InvalidInputError, "file_exists", "rejects_path")
    ]
    mapping = tmp_path / "map.toml"
    mapping.write_text("[columns\n", encoding="utf-8")
    assert said(refusal(lambda: imported(mapping_path=mapping))) == [
        (InvalidInputError, "unreadable_mapping", "mapping_path")
    ]
    empty = tmp_path / "vide.csv"
    empty.write_text("", encoding="utf-8")
    assert said(refusal(lambda: imported(empty))) == [
        (InvalidInputError, "unreadable_file", "path")
    ]
    nobody = refusal(lambda: imported(slug="inconnu"))
    assert said(nobody) == [(NotFoundError, "advertiser_not_found", "slug")]


# --- contacts, opt-outs, replies ------------------------------------------------------------


def test_contact_optout_and_reply_refusals(engine: Engine, tmp_path: Path) -> None:
    ctx = context(engine)
    advertiser(ctx)
    bad = refusal(lambda: contacts.show(ctx, slug=SLUG, number="06 12"))
    assert said(bad) == [(InvalidInputError, "invalid_phone", "number")]
    unknown = refusal(lambda: contacts.show(ctx, slug=SLUG, number=mobile(1)))
    assert said(unknown) == [(NotFoundError, "contact_not_found", "number")]
    nobody = refusal(lambda: contacts.show(ctx, slug="inconnu", number=mobile(1)))
    assert said(nobody) == [(NotFoundError, "advertiser_not_found", "slug")]

    stop = OptOutSource.MANUAL
    not_a_number = refusal(lambda: optouts.add(ctx, slug=SLUG, number="0612", source=stop))
    assert said(not_a_number) == [(InvalidInputError, "invalid_phone", "number")]
    assert said(refusal(lambda: optouts.parse_source("pigeon"))) == [
        (InvalidInputError, "invalid_source", "source")
    ]
    blank = tmp_path / "vide.csv"
    blank.write_text("\n\n", encoding="utf-8")
    empty = refusal(lambda: optouts.import_file(ctx, slug=SLUG, path=blank, source=stop))
    assert said(empty) == [(InvalidInputError, "no_phone_number", "path")]
    folder = refusal(lambda: optouts.import_file(ctx, slug=SLUG, path=tmp_path, source=stop))
    assert said(folder) == [(InvalidInputError, "unreadable_file", "path")]
    twice = tmp_path / "deux.csv"
    twice.write_text("Téléphone;Mobile\n0612345678;0612345679\n", encoding="utf-8")
    both = refusal(lambda: optouts.import_file(ctx, slug=SLUG, path=twice, source=stop))
    assert said(both) == [(InvalidInputError, "duplicate_column", "path")]

    assert said(refusal(lambda: reply_inbox.list_replies(ctx, slug=SLUG, limit=0))) == [
        (InvalidInputError, "out_of_range", "limit")
    ]
    missing = refusal(lambda: reply_inbox.mark_read(ctx, slug=SLUG, reply_id=999))
    assert said(missing) == [(NotFoundError, "reply_not_found", "reply_id")]
    missing = refusal(lambda: reply_inbox.mark_opted_out(ctx, slug=SLUG, reply_id=999))
    assert said(missing) == [(NotFoundError, "reply_not_found", "reply_id")]


# --- proof, export, audit, keys -------------------------------------------------------------


def test_proof_export_audit_and_key_refusals(engine: Engine) -> None:
    ctx = context(engine)
    advertiser(ctx)
    create_campaign(ctx)
    bad = refusal(lambda: proof.proof(ctx, slug=SLUG, number="06 12"))
    assert said(bad) == [(InvalidInputError, "invalid_phone", "number")]
    never = refusal(lambda: proof.proof(ctx, slug=SLUG, number=mobile(1)))
    assert said(never) == [(NotFoundError, "number_not_found", "number")]
    elsewhere = refusal(lambda: proof.proof(ctx, slug=SLUG, number=mobile(1), campaign="Hiver"))
    assert said(elsewhere) == [(NotFoundError, "campaign_not_found", "campaign")]

    def export() -> None:
        campaign_export.export(
            ctx, name="Printemps", write=lambda rows, out: 0, out=io.StringIO(), form="csv"
        )

    assert said(refusal(export)) == [(ConflictError, "campaign_not_launched", None)]
    negative = refusal(lambda: audit_reads.latest(ctx, limit=-1))
    assert said(negative) == [(InvalidInputError, "out_of_range", "limit")]
    behind = refusal(lambda: audit_reads.verify(ctx, expect_count=-1))
    assert said(behind) == [(InvalidInputError, "out_of_range", "expect_count")]
    same = refusal(lambda: keyring.rotate(ctx, ctx.keys))
    assert said(same) == [(InvalidInputError, "same_key", "new")]


# --- no refusal names a command-line option -------------------------------------------------

_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
_COMMAND = re.compile(r"`tambour [a-z]")


def _literals(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module (f-strings by their constant parts), docstrings left
    out: those are read by developers, not users."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_service_text_names_a_command_line_option() -> None:
    found = [
        f"{path.name}:{line}: {text!r}"
        for path in sorted(SERVICES.glob("*.py"))
        for line, text in _literals(path)
        if _OPTION.search(text) or _COMMAND.search(text)
    ]
    assert found == []
