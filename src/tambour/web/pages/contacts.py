"""Contacts: search by number with the timeline and the standing, imports by upload with the column
mapping, opt-outs.

- /a/{slug}/contacts: counts, the search form (POST, then the contact's page by its id: a
  number is never in a URL), the latest imports;
- /a/{slug}/contacts/{id}: the contact, its standing explained, its timeline (evidence,
  messages, replies) in its own time zone;
- /a/{slug}/contacts/import: upload, then the mapping page of the upload (its first rows, each
  column's meaning), then the import as a job with its progress and result, its rejects file;
- /a/{slug}/contacts/mapping: the advertiser's saved mapping;
- /a/{slug}/optouts: one number, a list (typed or a file), a check.

Handlers read the form, call a use case (services/contact_search.py, import_mapping.py,
optouts.py) and render; the texts here are the French words of what the services say in codes.
"""

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import Annotated, Any, Final

from fastapi import Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from tambour import i18n
from tambour.api.routes.tenancy import Id
from tambour.contacts.row import CANONICAL_COLUMNS
from tambour.jobs import on_demand
from tambour.rules.codes import OptOutSource
from tambour.services import contact_search, import_mapping, optouts
from tambour.services.context import Problem, ServiceError
from tambour.services.import_mapping import FIELD, IGNORE, ImportPreview
from tambour.services.jobs import Job, JobState
from tambour.services.roles import Action
from tambour.web import refusals
from tambour.web.responses import redirect
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Desk, Page, runtime

router = WebRouter()
N_ = i18n.N_

Number = Annotated[str, Form(max_length=64)]
POLL_SECONDS: Final = 1

# --- words ------------------------------------------------------------------------------------

# The canonical columns (rules.md section 2) and the two other meanings, as the mapping shows them.
COLUMNS: Final[Mapping[str, str]] = {
    "phone": N_("Phone number"),
    "external_id": N_("Customer ID"),
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "company": N_("Company"),
    "kind": N_("Contact type (person or professional)"),
    "profession_tags": N_("Professions (B2B)"),
    "postal_code": N_("Postal code"),
    "tags": N_("Tags"),
    "consent": N_("SMS consent (yes/no)"),
    "consent_at": N_("Consent date"),
    "consent_channels": N_("Consent channels"),
    "consent_method": N_("Consent method"),
    "consent_checkbox_prechecked": N_("Consent box pre-checked"),
    "consent_bundled_with_terms": N_("Consent bundled with the terms of sale"),
    "consent_advertiser": N_("Advertiser the consent was given to"),
    "consent_wording": N_("Consent wording"),
    "consent_source": N_("Consent source (form address...)"),
    "consent_proof": N_("Consent proof"),
    "collected_at": N_("Collection date"),
    "collected_by": N_("Collected by"),
    "informed_at_collection": N_("Informed at collection"),
    "objection_offered_at_collection": N_("Objection offered at collection"),
    "third_party_information_proof": N_("Proof the third party informed the person"),
    "account_created_at": N_("Account creation date"),
    "last_purchase_at": N_("Last purchase date"),
    "purchased_categories": N_("Purchased categories"),
    "opted_out": N_("Opted out (yes/no)"),
    "opted_out_at": N_("Opt-out date"),
    "opt_out_source": N_("Opt-out source"),
    "last_activity_at": N_("Last activity date"),
    "member_since": N_("Member since"),
    FIELD: N_("Personalization field"),
    IGNORE: N_("Ignore (not imported)"),
}
assert set(COLUMNS) == {*CANONICAL_COLUMNS, FIELD, IGNORE}

SOURCES: Final[Mapping[str, str]] = {
    OptOutSource.MANUAL.value: N_("Entered by hand (shop, phone, mail)"),
    OptOutSource.SMS_STOP.value: N_("STOP reply by SMS"),
    OptOutSource.LINK.value: N_("Unsubscribe link"),
    OptOutSource.DATA_REQUEST.value: N_("Request from the person (GDPR)"),
    OptOutSource.COMPLAINT_33700.value: N_("Spam report to 33700"),
}

# A contact's page: its kind, the two natures of campaign its standing is told for, its
# evidence, messages and replies.
KINDS: Final[Mapping[str, str]] = {
    "person": N_("a person (B2C)"),
    "professional": N_("a professional (B2B)"),
}
NATURES: Final[Mapping[str, str]] = {
    "commercial": N_("A promotional SMS (commercial prospection)"),
    "non_commercial": N_("A non-commercial SMS (association, public body, political)"),
}
EVIDENCE: Final[Mapping[str, str]] = {
    "consent_given": N_("Consent given"),
    "consent_withdrawn": N_("Consent withdrawn"),
    "collected": N_("Number collected"),
    "account_created": N_("Customer account created"),
    "purchase": N_("Purchase"),
    "activity": N_("Activity of the person"),
    "opt_out": N_("Opt-out"),
    "complaint": N_("Spam report to 33700"),
    "erasure": N_("Data erased"),
    "membership": N_("Member, or in regular contact"),
}
METHODS: Final[Mapping[str, str]] = {
    "web_form": N_("web form"),
    "paper_form": N_("paper form"),
    "sms_keyword": N_("SMS keyword"),
    "recorded_call": N_("recorded call"),
}
MESSAGE_STATES: Final[Mapping[str, str]] = {
    "queued": N_("waiting to be sent"),
    "submitting": N_("being sent"),
    "submitted": N_("sent, waiting for the delivery receipt"),
    "recorded": N_("sent (recorded by the test carrier)"),
    "delivered": N_("delivered"),
    "failed": N_("not delivered"),
    "expired": N_("not sent in time (expired)"),
    "cancelled": N_("cancelled before sending"),
    "unknown": N_("outcome unknown"),
    "paused": N_("held: its campaign is paused"),
    "held": N_("held until its A/B test's winner is chosen"),
}
REPLIES: Final[Mapping[str, str]] = {
    "stop": N_("STOP reply: opted out"),
    "start": N_("START reply: opted in again"),
    "other": N_("Reply"),
}

# Why a row was rejected (contacts/reader.py's categories: "<column>: <why>").
WHY: Final[Mapping[str, str]] = {
    "invalid number": N_("not a valid phone number"),
    "missing": N_("missing"),
    "control character": N_("holds an invisible control character"),
    "holds more than one number": N_("holds more than one number (one number a row)"),
    "not a date": N_("not a date (write 15/03/2024 or 2024-03-15)"),
    "out of the range of dates": N_("a date out of range"),
    "not a yes/no value": N_("not yes or no (oui, non, 1, 0...)"),
    "not a kind": N_("neither a person nor a professional"),
    "unknown channel": N_("an unknown channel (sms, mms, fax, email)"),
    "not an opt-out source": N_("an unknown opt-out source"),
    "not a French postal code": N_("not a French postal code (5 digits)"),
    "column count": N_("not as many cells as the header has columns"),
    "unterminated quote": N_("a quote that never closes"),
    "cell too long": N_("a cell far too long (a quote that never closes?)"),
    "text after a closing quote": N_('text after a closing quote (write "" for a quote)'),
    "unreadable record": N_("a line that cannot be read"),
}
ROW: Final = N_("the whole row")

# An import's warnings (services/importer.import_warnings), with what to do.
WARNINGS: Final[Mapping[str, str]] = {
    "no_legal_basis_fact": N_(
        "No row states a fact a legal basis rests on (a consent given, a purchase, a "
        "collection, a membership, a professional): the contacts created cannot receive a "
        "marketing SMS. If a column holds the consent, its date or a purchase, map it again."
    ),
    "consent_not_dated": N_(
        "Some consents have no date, and an undated consent is no legal basis: fill in the "
        "consent date on these rows (15/03/2024), or map the column that holds it."
    ),
    "consent_unproven": N_(
        "Some consents have neither a method nor a wording, and a consent with nothing to show "
        "is no legal basis: import the consent method (web form, paper form...) or the wording "
        "the person accepted."
    ),
    "column_without_effect": N_(
        "Consent details (its date...) were imported without a consent column saying yes or "
        "no: nothing of them was recorded. Map the column that holds the consent itself."
    ),
}

OUTCOMES: Final = (
    ("created", N_("created")),
    ("updated", N_("updated")),
    ("unchanged", N_("unchanged")),
    ("duplicates", N_("duplicates of an earlier row (merged)")),
    ("rejected", N_("rejected")),
)

JOB_STATES: Final[Mapping[str, str]] = {
    JobState.QUEUED.value: N_("Waiting to start"),
    JobState.RUNNING.value: N_("Importing"),
    JobState.SUCCEEDED.value: N_("Import finished"),
    JobState.FAILED.value: N_("Import failed"),
    JobState.CANCELLED.value: N_("Import cancelled"),
}

# What the mapping page says beside a column whose meaning is refused, by its code (the file's
# own refusals are web/refusals.py's).
MAPPING_TEXTS: Final[Mapping[str, str]] = {
    "no_phone_column": N_("No column is the phone number: choose the one that holds it."),
    "column_taken": N_("Another column has this meaning already: keep one of them."),
    "field_not_possible": N_(
        "Tambour reads this header as this column whatever you choose: to keep it as a "
        "personalization field, give that meaning to another column, or ignore this one."
    ),
    "invalid_meaning": N_("Choose one of the meanings of the list."),
    "wrong_column_count": N_("The file changed since it was shown: upload it again."),
}

# An opposition list's line problems (services/optouts.py), by column.
LINE_TEXTS: Final[Mapping[str, str]] = {
    "phone": N_("not a valid phone number"),
    "phone-scientific": N_(
        "a spreadsheet wrote this number in scientific notation: format the column as text "
        "and export again"
    ),
    "control": N_("holds an invisible control character: remove it"),
    "opted_out_at": N_("the date cannot be read: the opt-out takes effect today"),
    "opt_out_source": N_("unknown source: the list's source is recorded instead"),
}

NOT_FOUND: Final = N_("No contact has this number.")
NOT_CONTACT_OPPOSED: Final = N_(
    "This number is not a contact, but it is on the opposition list: no message will be sent to it."
)
NO_LIST: Final = N_("Type the numbers, one a line, or choose a file.")

_SCIENTIFIC = re.compile(r"scientific|spreadsheet")


def _t(state: Any, message: str) -> str:
    return i18n.translator(state.lang).gettext(message)


def reject_reason(category: str, lang: str) -> str:
    """A rejects category of the importer ("phone: invalid number") in the page's words."""
    translate = i18n.translator(lang).gettext
    column, _, why = category.partition(": ")
    where = translate(ROW) if column == "row" else translate(COLUMNS.get(column, column))
    said = WHY.get(why)
    return translate(N_("{where}: {why}")).format(where=where, why=translate(said) if said else why)


def line_problem(field: str, reason: str, lang: str) -> str:
    translate = i18n.translator(lang).gettext
    if "control character" in reason:
        return translate(LINE_TEXTS["control"])
    if field == "phone" and _SCIENTIFIC.search(reason):
        return translate(LINE_TEXTS["phone-scientific"])
    return translate(LINE_TEXTS.get(field, LINE_TEXTS["phone"]))


def _refusal(error: ServiceError, lang: str, texts: Mapping[str, str]) -> dict[str, str]:
    """A refusal by field, in the page's words (ours first, then the shared ones)."""
    translate = i18n.translator(lang).gettext
    found: dict[str, str] = {}
    for problem in error.problems:
        key = problem.field or ""
        if problem.code in texts:
            text = translate(texts[problem.code])
        else:
            text = refusals.problem_text(problem, lang)
        found[key] = f"{found[key]} {text}" if key in found else text
    return found


def _files_dir(request: Request) -> str:
    return str(runtime(request).settings.base.files_dir)


# --- the entry page and the search -------------------------------------------------------------


def _entry(
    request: Request, desk: Desk, *, status: int = 200, number: str = "",
    error: str | None = None, notice: str | None = None,
) -> Response:  # fmt: skip
    values = {
        "desk": desk,
        "counts": contact_search.counts(desk.ctx, slug=desk.slug),
        "imports": import_mapping.recent_imports(desk.ctx, slug=desk.slug),
        "number": number,
        "error": error,
        "notice": notice,
        "states": JOB_STATES,
        "may_write": desk.can(Action.WRITE_CONTACTS),
    }
    return render(request, "contacts/index.html", values, status=status)


@router.get("/a/{slug}/contacts")
def contacts_page(request: Request, desk: AtAdvertiser) -> Response:
    return _entry(request, desk)


@router.post("/a/{slug}/contacts/search")
def search(request: Request, state: Page, desk: AtAdvertiser, number: Number) -> Response:
    desk.require(Action.READ)
    try:
        found = contact_search.find(desk.ctx, slug=desk.slug, number=number)
    except ServiceError as error:
        text = refusals.said(error, state.lang)
        return _entry(request, desk, status=error.status, number=number, error=text)
    if found.contact_id is not None:
        return redirect(request, f"/a/{desk.slug}/contacts/{found.contact_id}")
    status = found.optout
    if status is not None and status.opted_out:
        text = _t(state, NOT_CONTACT_OPPOSED)
    else:
        text = _t(state, NOT_FOUND)
    return _entry(request, desk, status=404, number=number, error=text)


# --- the advertiser's mapping (before /contacts/{id}: its paths are words) ----------------------


@router.get("/a/{slug}/contacts/mapping")
def mapping_page(request: Request, desk: AtAdvertiser, saved: str | None = None) -> Response:
    values = {
        "desk": desk,
        "entries": import_mapping.saved_mapping(desk.ctx, slug=desk.slug),
        "columns": COLUMNS,
        "forgotten": saved == "forgotten",
        "may_write": desk.can(Action.WRITE_CONTACTS),
    }
    return render(request, "contacts/mapping.html", values)


@router.post("/a/{slug}/contacts/mapping/forget")
def forget_meaning(
    request: Request, desk: AtAdvertiser, key: Annotated[str, Form(max_length=200)]
) -> Response:
    desk.require(Action.WRITE_CONTACTS)
    import_mapping.forget(desk.ctx, slug=desk.slug, key=key)
    return redirect(request, f"/a/{desk.slug}/contacts/mapping?saved=forgotten")


# --- imports --------------------------------------------------------------------------------


@router.get("/a/{slug}/contacts/import")
def import_page(request: Request, desk: AtAdvertiser) -> Response:
    values = {"desk": desk, "errors": {}, "may_write": desk.can(Action.WRITE_CONTACTS)}
    return render(request, "contacts/import.html", values)


@router.post("/a/{slug}/contacts/import")
def upload(
    request: Request, state: Page, desk: AtAdvertiser, file: Annotated[UploadFile, File()]
) -> Response:
    desk.require(Action.WRITE_CONTACTS)
    shared = runtime(request).settings
    try:
        reference = import_mapping.save_upload(
            desk.ctx, slug=desk.slug, files_dir=_files_dir(request), source=file.file,
            most=shared.max_upload_bytes,
        )  # fmt: skip
    except ServiceError as error:
        errors = _refusal(error, state.lang, MAPPING_TEXTS)
        values = {"desk": desk, "errors": errors, "may_write": True}
        status = 413 if error.code == "upload_too_large" else error.status
        return render(request, "contacts/import.html", values, status=status)
    finally:
        file.file.close()
    return redirect(request, f"/a/{desk.slug}/contacts/import/{reference}")


def _mapping_values(
    desk: Desk, found: ImportPreview, chosen: Sequence[str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    meanings = list(chosen) if chosen else [column.meaning for column in found.columns]
    return {
        "desk": desk,
        "preview": found,
        "meanings": meanings,
        "columns": COLUMNS,
        "canonical": CANONICAL_COLUMNS,
        "errors": errors or {},
        "may_write": desk.can(Action.WRITE_CONTACTS),
        "delimiters": {";": N_("semicolon"), ",": N_("comma"), "\t": N_("tab")},
        "encodings": {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "cp1252": "Windows-1252 (Excel)"},
    }


@router.get("/a/{slug}/contacts/import/{upload_ref}")
def mapping(request: Request, state: Page, desk: AtAdvertiser, upload_ref: str) -> Response:
    desk.require(Action.WRITE_CONTACTS)
    try:
        found = import_mapping.preview(
            desk.ctx, slug=desk.slug, files_dir=_files_dir(request), upload=upload_ref
        )
    except ServiceError as error:
        if error.status == 404:
            raise
        errors = _refusal(error, state.lang, MAPPING_TEXTS)
        values = {"desk": desk, "errors": errors, "may_write": True}
        return render(request, "contacts/import.html", values, status=error.status)
    return render(request, "contacts/mapping_choose.html", _mapping_values(desk, found))


async def _form(request: Request) -> FormData:
    """The request's form, parsed once (the CSRF check parsed it already)."""
    return await request.form()


@router.post("/a/{slug}/contacts/import/{upload_ref}")
def confirm_mapping(
    request: Request,
    state: Page,
    desk: AtAdvertiser,
    upload_ref: str,
    form: Annotated[FormData, Depends(_form)],
) -> Response:
    """The meanings chosen (`column-0`, `column-1`... in the file's order): the import is
    queued, or the page shown again with what is refused beside each column."""
    desk.require(Action.WRITE_CONTACTS)
    chosen = [str(form.get(f"column-{i}") or "") for i in range(_count(form))]
    files_dir = _files_dir(request)
    try:
        job = import_mapping.start_import(
            desk.ctx, slug=desk.slug, files_dir=files_dir, upload=upload_ref, meanings=chosen
        )
    except ServiceError as error:
        if error.status == 404:
            raise
        found = import_mapping.preview(
            desk.ctx, slug=desk.slug, files_dir=files_dir, upload=upload_ref
        )
        errors = _refusal(error, state.lang, MAPPING_TEXTS)
        keep = chosen if len(chosen) == len(found.columns) else None
        values = _mapping_values(desk, found, keep, errors)
        return render(request, "contacts/mapping_choose.html", values, status=error.status)
    on_demand.kick()
    return redirect(request, f"/a/{desk.slug}/contacts/imports/{job.id}")


def _count(form: FormData) -> int:
    """The number of columns the form says (`column-0`, `column-1`...), at most 1000."""
    found = 0
    while found < 1000 and f"column-{found}" in form:
        found += 1
    return found


def _job_values(request: Request, desk: Desk, job: Job, lang: str) -> dict[str, Any]:
    result = dict(job.result or {})
    reasons = [
        (reject_reason(category, lang), count)
        for category, count in (result.get("rejected_by_reason") or {}).items()
    ]
    progress = job.progress
    percent = None
    if progress.total:
        percent = min(100, round(100 * progress.done / progress.total))
    return {
        "desk": desk,
        "job": job,
        "result": result,
        "outcomes": OUTCOMES,
        "reasons": reasons,
        "warnings": [w for w in result.get("warnings") or () if isinstance(w, dict)],
        "warning_texts": WARNINGS,
        "columns": COLUMNS,
        "states": JOB_STATES,
        "percent": percent,
        "polling": not job.finished,
        "poll_seconds": POLL_SECONDS,
        "error_text": _error_text(job, lang),
        "upload": import_mapping.upload_of(
            desk.ctx, slug=desk.slug, files_dir=_files_dir(request), job=job
        ),
        "runs_jobs": on_demand.enabled(),
        "may_write": desk.can(Action.WRITE_CONTACTS),
    }


def _error_text(job: Job, lang: str) -> str | None:
    """Why a job failed, in the page's words."""
    if job.error_code is None:
        return None
    return refusals.problem_text(Problem(None, job.error_code, job.error_message or ""), lang)


@router.get("/a/{slug}/contacts/imports/{job_id}")
def import_job_page(request: Request, state: Page, desk: AtAdvertiser, job_id: Id) -> Response:
    job = import_mapping.import_job(desk.ctx, slug=desk.slug, job_id=job_id)
    return render(request, "contacts/import_job.html", _job_values(request, desk, job, state.lang))


@router.get("/a/{slug}/contacts/imports/{job_id}/status")
def import_job_status(request: Request, state: Page, desk: AtAdvertiser, job_id: Id) -> Response:
    """The job's progress and result, for htmx to swap in every second; 286 once it is over
    (htmx stops polling)."""
    job = import_mapping.import_job(desk.ctx, slug=desk.slug, job_id=job_id)
    values = _job_values(request, desk, job, state.lang)
    return render(
        request, "contacts/_import_status.html", values, status=286 if job.finished else 200
    )


@router.get("/a/{slug}/contacts/imports/{job_id}/rejects")
def import_rejects(request: Request, desk: AtAdvertiser, job_id: Id) -> Response:
    path = import_mapping.rejects_file(
        desk.ctx, slug=desk.slug, files_dir=_files_dir(request), job_id=job_id
    )
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename=f"rejets-import-{job_id}.csv",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


# --- one contact ------------------------------------------------------------------------------

_SAVED: Final = {"optout": N_("The number is opted out: no message will be sent to it.")}


@router.get("/a/{slug}/contacts/{contact_id}")
def contact_page(
    request: Request, state: Page, desk: AtAdvertiser, contact_id: Id, saved: str | None = None
) -> Response:
    found = contact_search.page(desk.ctx, slug=desk.slug, contact_id=contact_id)
    notice = _SAVED.get(saved or "")
    values = {
        "desk": desk,
        "found": found,
        "contact": found.record.contact,
        "timeline": _timeline(found),
        "sources": SOURCES,
        "kinds": KINDS,
        "natures": NATURES,
        "evidence_kinds": EVIDENCE,
        "methods": METHODS,
        "channels": {"sms": "SMS", "mms": "MMS", "fax": "fax", "email": "e-mail"},
        "message_states": MESSAGE_STATES,
        "replies": REPLIES,
        "columns": COLUMNS,
        "notice": _t(state, notice) if notice else None,
        "may_write": desk.can(Action.WRITE_CONTACTS),
    }
    return render(request, "contacts/contact.html", values)


@router.post("/a/{slug}/contacts/{contact_id}/optout")
def contact_optout(
    request: Request,
    state: Page,
    desk: AtAdvertiser,
    contact_id: Id,
    source: Annotated[str, Form(max_length=40)] = OptOutSource.MANUAL.value,
) -> Response:
    desk.require(Action.WRITE_CONTACTS)
    found = contact_search.page(desk.ctx, slug=desk.slug, contact_id=contact_id)
    origin = optouts.parse_source(source)
    optouts.add(desk.ctx, slug=desk.slug, number=found.record.contact.e164, source=origin)
    return redirect(request, f"/a/{desk.slug}/contacts/{contact_id}?saved=optout")


def _timeline(found: contact_search.ContactPage) -> list[dict[str, Any]]:
    """Evidence, messages and replies in one list, oldest first (an undated fact where it was
    recorded)."""
    items: list[tuple[Any, int, dict[str, Any]]] = []
    for order, event in enumerate(found.record.evidence):
        items.append((event.at or event.recorded_at, order, {"type": "evidence", "event": event,
                      "at": event.at, "dated": event.at is not None}))  # fmt: skip
    for order, message in enumerate(found.messages):
        at = message.submitted_at or message.send_at
        items.append((at, order, {"type": "message", "message": message, "at": at,
                      "dated": True}))  # fmt: skip
    for order, reply in enumerate(found.replies):
        items.append((reply.received_at, order, {"type": "reply", "reply": reply,
                      "at": reply.received_at, "dated": True}))  # fmt: skip
    items.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in items]


# --- opt-outs ---------------------------------------------------------------------------------

_OPTOUT_SAVED: Final = {
    "known": N_("The number is opted out; it is a contact, whose evidence records it."),
    "unknown": N_(
        "The number is opted out. It is not a contact: it is on the opposition list all the "
        "same, and will never receive a message."
    ),
}


def _optouts(request: Request, desk: Desk, *, status: int = 200, **values: Any) -> Response:
    shown = {
        "desk": desk,
        "sources": SOURCES,
        "counts": contact_search.counts(desk.ctx, slug=desk.slug),
        "may_write": desk.can(Action.WRITE_CONTACTS),
        "errors": {},
        "number": "",
        "numbers": "",
        "source": OptOutSource.MANUAL.value,
        "notice": None,
        "checked": None,
        "check_number": "",
        "result": None,
        "line_problem": line_problem,
        **values,
    }
    return render(request, "contacts/optouts.html", shown, status=status)


@router.get("/a/{slug}/optouts")
def optouts_page(
    request: Request, state: Page, desk: AtAdvertiser, added: str | None = None
) -> Response:
    notice = _OPTOUT_SAVED.get(added or "")
    return _optouts(request, desk, notice=_t(state, notice) if notice else None)


@router.post("/a/{slug}/optouts/add")
def optout_add(
    request: Request,
    state: Page,
    desk: AtAdvertiser,
    number: Annotated[str, Form(alias="one-number", max_length=64)],
    source: Annotated[str, Form(max_length=40)] = OptOutSource.MANUAL.value,
) -> Response:
    desk.require(Action.WRITE_CONTACTS)
    try:
        origin = optouts.parse_source(source)
        done = optouts.add(desk.ctx, slug=desk.slug, number=number, source=origin)
    except ServiceError as error:
        errors = {f"one-{k}": v for k, v in refusals.by_field(error, state.lang).items()}
        return _optouts(
            request, desk, status=error.status, errors=errors, number=number, source=source
        )
    return redirect(
        request, f"/a/{desk.slug}/optouts?added={'known' if done.known_contact else 'unknown'}"
    )


@router.post("/a/{slug}/optouts/list")
def optout_list(
    request: Request,
    state: Page,
    desk: AtAdvertiser,
    numbers: Annotated[str, Form(max_length=1_000_000)] = "",
    file: Annotated[UploadFile | None, File()] = None,
    source: Annotated[str, Form(max_length=40)] = OptOutSource.MANUAL.value,
) -> Response:
    """A list typed (one number a line) or a file, as `tambour optout import` reads one. Its
    result is shown at once: recording a list again changes nothing."""
    desk.require(Action.WRITE_CONTACTS)
    given = file if file is not None and file.filename else None
    translate = i18n.translator(state.lang).gettext
    if given is None and not numbers.strip():
        errors = {"list-numbers": translate(NO_LIST)}
        return _optouts(request, desk, status=422, errors=errors, source=source)
    try:
        origin = optouts.parse_source(source)
        result = _import_list(request, desk, given, numbers, origin)
    except ServiceError as error:
        errors = {"list-numbers": refusals.said(error, state.lang)}
        return _optouts(
            request, desk, status=error.status, errors=errors, numbers=numbers, source=source
        )
    finally:
        if given is not None:
            given.file.close()
    return _optouts(request, desk, result=result, source=source)


def _import_list(
    request: Request, desk: Desk, given: UploadFile | None, numbers: str, origin: OptOutSource
) -> optouts.OptOutImport:
    """The list written to a private file of the advertiser's uploads folder, imported, then
    removed."""
    shared = runtime(request).settings
    with SpooledTemporaryFile(max_size=1 << 20) as typed:
        if given is None:
            typed.write(numbers.encode("utf-8"))
            typed.seek(0)
        reference = import_mapping.save_upload(
            desk.ctx, slug=desk.slug, files_dir=_files_dir(request),
            source=typed if given is None else given.file,  # type: ignore[arg-type]
            most=shared.max_upload_bytes,
        )  # fmt: skip
    path = import_mapping.upload_path(
        desk.ctx, slug=desk.slug, files_dir=_files_dir(request), upload=reference
    )
    try:
        return optouts.import_file(desk.ctx, slug=desk.slug, path=path, source=origin)
    finally:
        Path(path).unlink(missing_ok=True)


@router.post("/a/{slug}/optouts/check")
def optout_check(
    request: Request,
    state: Page,
    desk: AtAdvertiser,
    number: Annotated[str, Form(alias="check-number", max_length=64)],
) -> Response:
    desk.require(Action.READ)
    try:
        checked = optouts.check(desk.ctx, slug=desk.slug, number=number)
    except ServiceError as error:
        errors = {f"check-{k}": v for k, v in refusals.by_field(error, state.lang).items()}
        return _optouts(request, desk, status=error.status, errors=errors, check_number=number)
    return _optouts(request, desk, checked=checked, check_number=number)
