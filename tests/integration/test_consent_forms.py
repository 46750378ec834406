"""Hosted consent forms (issue 17): versions hashed and immutable, submissions that make the
facts an import would (read back by the planner as the `consent` basis), double opt-in, tenants
kept apart. On SQLite and PostgreSQL."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import DBAPIError

from tambour.contacts.form_wording import FormKind, default_wording
from tambour.rules.codes import Basis
from tambour.services import advertisers, consent_forms, contacts, form_submissions
from tambour.services.context import (
    ConflictError,
    Context,
    InvalidInputError,
    NotFoundError,
)
from tambour.services.form_submissions import GoneError, TooManyError
from tambour.store.tables import (
    audit_log,
    consent_form_versions,
    evidence,
)
from tambour.store.tables import (
    form_submissions as rows,
)
from tests.dispatch_setup import ensure_advertiser
from tests.integration.cli import Cli

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # a Tuesday
SLUG = "maison-lumiere"
NUMBER = "06 12 34 56 78"
E164 = "+33612345678"


def ctx(engine: Engine, at: datetime = NOW) -> Context:
    return Context(engine=engine, actor="test:forms", clock=lambda: at)


@pytest.fixture
def owner(engine: Engine) -> str:
    ensure_advertiser(engine, NOW)
    advertisers.create(
        ctx(engine), slug="copie", name="Copie SARL", senders=["COPIE"], stop_number="36222",
        categories=["luminaires"],
    )  # fmt: skip
    return SLUG


def test_a_changed_wording_is_a_new_version_and_a_published_one_is_never_updated(
    engine: Engine, owner: str
) -> None:
    made = consent_forms.create(ctx(engine), slug=owner, form="newsletter")
    assert made.current.version == 1 and made.kind is FormKind.CONSENT
    assert made.current.wording_hash == default_wording(FormKind.CONSENT, "Maison Lumière SAS").hash
    same = consent_forms.publish(
        ctx(engine), slug=owner, form="newsletter", wording=made.current.wording.as_data()
    )
    assert not same.created and same.form.current.version == 1
    data = made.current.wording.as_data()
    data["title"]["fr"] = "Nos offres"
    changed = consent_forms.publish(ctx(engine), slug=owner, form="newsletter", wording=data)
    assert changed.created and changed.form.current.version == 2
    assert changed.form.current.wording_hash != made.current.wording_hash
    _, versions = consent_forms.show(ctx(engine), slug=owner, form="newsletter")
    assert [v.version for v in versions] == [2, 1]
    assert versions[1].wording_hash == made.current.wording_hash  # the first is unchanged
    # The database itself refuses to edit a published version.
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(update(consent_form_versions).values(wording="{}"))
    found = consent_forms.by_hash(ctx(engine), slug=owner, wording_hash=made.current.wording_hash)
    assert found[0].version.wording.title["fr"].startswith("Recevoir les offres")
    with pytest.raises(NotFoundError):  # another advertiser does not find it
        consent_forms.by_hash(ctx(engine), slug="copie", wording_hash=made.current.wording_hash)
    with pytest.raises(ConflictError):
        consent_forms.create(ctx(engine), slug=owner, form="newsletter")
    with pytest.raises(InvalidInputError) as refused:
        consent_forms.publish(
            ctx(engine), slug=owner, form="newsletter", wording={**data, "title": {"en": "x"}}
        )
    assert refused.value.field == "wording.title.fr"
    with pytest.raises(InvalidInputError) as refused:
        consent_forms.create(ctx(engine), slug=owner, form="x", origins=["javascript:alert(1)"])
    assert refused.value.field == "origins[0]"
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert actions.count("forms.published") == 1 and "forms.created" in actions


def test_no_ticked_box_records_nothing_and_a_ticked_one_gives_the_consent_basis(
    engine: Engine, owner: str
) -> None:
    consent_forms.create(ctx(engine), slug=owner, form="newsletter")
    with pytest.raises(InvalidInputError) as refused:
        form_submissions.submit(ctx(engine), slug=owner, form="newsletter", number=NUMBER)
    assert refused.value.code == "nothing_ticked"
    with engine.connect() as conn:
        assert conn.execute(select(evidence)).first() is None
        assert conn.execute(select(rows)).first() is None
    with pytest.raises(InvalidInputError) as refused:
        form_submissions.submit(
            ctx(engine), slug=owner, form="newsletter", number="01 23 45 67 89", ticked=["sms"]
        )
    assert (refused.value.field, refused.value.code) == ("number", "not_mobile")
    done = form_submissions.submit(
        ctx(engine), slug=owner, form="newsletter", number=NUMBER, ticked=["sms"],
        ip="203.0.113.77", user_agent="Mozilla/5.0 test",
    )  # fmt: skip
    assert not done.pending and done.contact_id is not None
    record = contacts.show(ctx(engine), slug=owner, number=NUMBER)
    consent = next(e for e in record.evidence if e.kind == "consent_given")
    assert consent.data["method"] == "web_form"
    assert consent.data["proof"] == f"sha256:{done.wording_hash}"
    assert consent.data["source"] == "form:newsletter:v1"
    assert "prospection commerciale par SMS" in consent.data["wording"]
    assert consent.at == NOW
    # The planner's core reads it as the consent basis for a commercial campaign.
    commercial = record.standing["commercial"]
    assert (commercial.decision, commercial.basis) == ("send", Basis.CONSENT.value)
    facts = record.contact.facts()
    assert facts.consents and facts.consents[0].channels == frozenset({"sms"})
    with engine.connect() as conn:
        stored = conn.execute(select(rows)).one()
    assert stored.ip_prefix == "203.0.113.0/24" and stored.confirmed_at is not None
    assert stored.user_agent == "Mozilla/5.0 test" and stored.e164 == E164
    with pytest.raises(NotFoundError):  # another advertiser has no such form
        form_submissions.submit(
            ctx(engine), slug="copie", form="newsletter", number=NUMBER, ticked=["sms"]
        )


def test_b2b_objection_is_an_opt_out_and_information_is_recorded(
    engine: Engine, owner: str
) -> None:
    consent_forms.create(ctx(engine), slug=owner, form="pro", kind="b2b")
    form_submissions.submit(ctx(engine), slug=owner, form="pro", number=NUMBER, objection=True)
    facts = contacts.show(ctx(engine), slug=owner, number=NUMBER).contact.facts()
    assert facts.kind.value == "professional"
    assert facts.collection.informed and facts.collection.objection_offered
    assert facts.opt_outs and facts.opt_outs[0].source.value == "data_request"
    # A number may send an advertiser's forms a few times an hour, counted in the database.
    for _ in range(form_submissions.PER_NUMBER_HOUR - 1):
        form_submissions.submit(ctx(engine), slug=owner, form="pro", number=NUMBER)
    with pytest.raises(TooManyError) as refused:
        form_submissions.submit(ctx(engine), slug=owner, form="pro", number=NUMBER)
    assert refused.value.status == 429
    later = ctx(engine, NOW + timedelta(hours=1, minutes=1))
    form_submissions.submit(later, slug=owner, form="pro", number=NUMBER)


def test_double_opt_in_counts_only_once_confirmed_with_the_right_code(
    engine: Engine, owner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    consent_forms.create(ctx(engine), slug=owner, form="club", double_opt_in=True)
    sent: list[str] = []
    original = form_submissions.messages.send

    def spy(c, *, slug, request):  # type: ignore[no-untyped-def]
        sent.append(request.text)
        return original(c, slug=slug, request=request)

    monkeypatch.setattr(form_submissions.messages, "send", spy)
    done = form_submissions.submit(
        ctx(engine), slug=owner, form="club", number=NUMBER, ticked=["sms", "mms"]
    )
    assert done.pending and len(sent) == 1 and "Maison Lumière SAS" in sent[0]
    code = next(
        word for word in sent[0].replace(".", " ").split() if word.isdigit() and len(word) == 6
    )
    with engine.connect() as conn:
        assert (
            conn.execute(select(evidence).where(evidence.c.kind == "consent_given")).first() is None
        )
        assert code.encode() not in bytes(conn.execute(select(rows.c.code_hash)).scalar_one())
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(InvalidInputError) as refused:
        form_submissions.confirm(ctx(engine), slug=owner, form="club", token=done.token, code=wrong)
    assert refused.value.code == "wrong_code"
    with pytest.raises(NotFoundError):
        form_submissions.confirm(
            ctx(engine), slug="copie", form="club", token=done.token, code=code
        )
    later = NOW + timedelta(minutes=3)
    confirmed = form_submissions.confirm(
        ctx(engine, later), slug=owner, form="club", token=done.token, code=code
    )
    assert not confirmed.pending and confirmed.evidence_added >= 1
    record = contacts.show(ctx(engine, later), slug=owner, number=NUMBER)
    consent = next(e for e in record.evidence if e.kind == "consent_given")
    assert consent.at == NOW and sorted(consent.data["channels"]) == ["mms", "sms"]
    with engine.connect() as conn:
        assert conn.execute(select(rows.c.confirmed_at)).scalar_one() == later
        assert conn.execute(select(rows.c.attempts)).scalar_one() == 1
    with pytest.raises(GoneError):
        form_submissions.confirm(
            ctx(engine, later), slug=owner, form="club", token=done.token, code=code
        )
    # an expired code
    again = form_submissions.submit(
        ctx(engine), slug=owner, form="club", number="0612345679", ticked=["sms"]
    )
    with pytest.raises(GoneError) as gone:
        form_submissions.confirm(
            ctx(engine, NOW + timedelta(hours=1)),
            slug=owner,
            form="club",
            token=again.token,
            code=code,
        )
    assert gone.value.code == "code_expired"


def test_the_command_line_words_refusals_by_option_and_shows_versions(
    db_url: str, tmp_path: Path
) -> None:
    cli = Cli(db_url)
    cli.advertiser(SLUG)
    bad = cli("form", "create", "club", "--advertiser", SLUG, "--origin", "ftp://x", ok=False)
    assert bad.code == 2 and "--origin" in bad.err and "Traceback" not in bad.err
    cli("form", "create", "club", "--advertiser", SLUG)
    shown = cli("form", "show", "club", "--advertiser", SLUG, "--json").json()
    wording = shown["current"]["wording"]
    wording["information"]["fr"] += " Rendez-vous en boutique."
    path = tmp_path / "wording.json"
    path.write_text(json.dumps(wording), encoding="utf-8")
    published = cli("form", "publish", "club", "--advertiser", SLUG, "--wording", str(path))
    assert "published as version 2" in published.out
    again = cli("form", "publish", "club", "--advertiser", SLUG, "--wording", str(path))
    assert "unchanged: still version 2" in again.out
    listed = cli("form", "list", "--advertiser", SLUG).out
    assert "club  consent  version 2  /f/maison-lumiere/club" in listed
    wording["title"] = {"en": "English only"}
    path.write_text(json.dumps(wording), encoding="utf-8")
    refused = cli("form", "publish", "club", "--advertiser", SLUG, "--wording", str(path), ok=False)
    assert refused.code == 2 and "French" in refused.err
    missing = cli("form", "show", "nope", "--advertiser", SLUG, ok=False)
    assert missing.code == 2 and "no form nope" in missing.err
