"""A campaign's proof: per recipient, the page version of `tambour proof` (printable), and
per campaign, the export of every recipient's proof as a job with its file to download.

The number is typed in a form (POST), never put in an address: the proof is then shown at
/a/{slug}/campaigns/{id}/proof?contact=ID (services/recipient_proof.py). The proof's trail and
audit entries are written by services/proof.py in English words; they are put in the page's
language here (`step_words`, `cover_words`), each pattern of proof.py's, anything else as is.
"""

import ast
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import Form, Query, Request
from fastapi.responses import FileResponse
from starlette.responses import Response

from tambour import i18n
from tambour.jobs import files, on_demand
from tambour.jobs.kinds import campaign_export
from tambour.rules.labels import label
from tambour.services import campaign_jobs, campaigns, recipient_proof
from tambour.services.context import Problem, ServiceError
from tambour.services.proof_records import Message, Proof, Step
from tambour.services.roles import Action
from tambour.web import refusals
from tambour.web.pages.campaign_views import (
    FACT_KINDS,
    MESSAGE_STATES,
    REPLY_MEANINGS,
    TERRITORIES,
    CampaignId,
    campaign_header,
    campaign_of,
    said,
)
from tambour.web.responses import redirect, with_cookies
from tambour.web.routing import WebRouter
from tambour.web.templating import render
from tambour.web.visitors import AtAdvertiser, Desk, Page, web_settings

router = WebRouter()
CAMPAIGN: Final = "/a/{slug}/campaigns/{campaign_id}"
N_ = i18n.N_
STOP_POLLING: Final = 286
ContactId = Annotated[int | None, Query(ge=1, le=2**62)]

# --- the proof's words in the page's language --------------------------------------------------

STEPS: Final = {
    "queued": N_("queued at launch"),
    "batch": N_("worker batch: %(state)s"),
    "taken": N_("taken by the carrier, %(parts)s part(s)"),
    "taken_until": N_("taken by the carrier, %(parts)s part(s), valid until %(until)s"),
    "receipt": N_("receipt: part %(part)s %(outcome)s (carrier id %(id)s)"),
    "receipt_error": N_("receipt: part %(part)s %(outcome)s (carrier id %(id)s), error %(code)s"),
    "held": N_("held until %(until)s (%(reason)s)"),
    "final": N_("final state: %(state)s"),
    "final_why": N_("final state: %(state)s (%(reason)s)"),
}
COVERS: Final = {
    "evidence": N_("fact #%(id)s"),
    "suppression": N_("suppression list entry #%(id)s"),
    "plan": N_("plan of “%(name)s” (generation %(generation)s, %(rows)s rows)"),
    "message": N_("message #%(id)s %(state)s"),
    "reply": N_("reply #%(id)s"),
    "launch": N_("launch of “%(name)s”"),
    "cancellation": N_("cancellation of “%(name)s”"),
}
_BATCH = re.compile(r"worker batch: (\w+)$")
_TAKEN = re.compile(r"taken by the carrier, (\d+) part\(s\)(, valid until .+)?$")
_RECEIPT = re.compile(r"receipt: part (\d+) (\w+) \(id (.*)\)(, error (-?\d+))?$")
_HELD = re.compile(r"held until .+ \((\w+)\)$")
_FINAL = re.compile(r"final state: (\w+)( \((\w+)\))?$")
_EVIDENCE = re.compile(r"evidence #(\d+)$")
_SUPPRESSION = re.compile(r"suppression entry #(\d+)$")
_PLAN = re.compile(r"plan of (.+) \(generation (\d+), (\d+) rows\)$")
_MESSAGE = re.compile(r"message #(\d+) (\w+)$")
_REPLY = re.compile(r"reply #(\d+)$")
_CAMPAIGN = re.compile(r"(launch|cancellation) of (.+)$")


def _unquoted(text: str) -> str:
    """A name proof.py wrote with repr()."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def _formats(lang: str) -> tuple[Callable[[str], str], Callable[[int], str], Callable[..., str]]:
    gettext = i18n.translator(lang).gettext

    def number(value: int) -> str:
        return i18n.format_decimal(value, lang)

    def when(instant: Any) -> str:
        return "—" if instant is None else i18n.format_datetime(instant, "Europe/Paris", lang)

    return gettext, number, when


def step_words(step: Step, message: Message, lang: str) -> str:
    """A step of a message's trail (proof.py's `_trail`) in the page's language."""
    gettext, _number, when = _formats(lang)
    what = step.what
    if what == "queued at launch":
        return gettext(STEPS["queued"])
    if found := _BATCH.match(what):
        return gettext(STEPS["batch"]) % {"state": said(MESSAGE_STATES, found[1], lang)}
    if found := _TAKEN.match(what):
        if message.valid_until is not None:
            return gettext(STEPS["taken_until"]) % {
                "parts": found[1], "until": when(message.valid_until),
            }  # fmt: skip
        return gettext(STEPS["taken"]) % {"parts": found[1]}
    if found := _RECEIPT.match(what):
        values = {"part": found[1], "outcome": said(MESSAGE_STATES, found[2], lang), "id": found[3]}
        if found[5] is not None:
            return gettext(STEPS["receipt_error"]) % {**values, "code": found[5]}
        return gettext(STEPS["receipt"]) % values
    if found := _HELD.match(what):
        reason = label(found[1], lang) or found[1]
        return gettext(STEPS["held"]) % {"until": when(message.send_at), "reason": reason}
    if found := _FINAL.match(what):
        state = said(MESSAGE_STATES, found[1], lang)
        if found[3]:
            return gettext(STEPS["final_why"]) % {
                "state": state, "reason": label(found[3], lang) or found[3],
            }  # fmt: skip
        return gettext(STEPS["final"]) % {"state": state}
    return what


def cover_words(cover: str, lang: str) -> str:
    """What an audit entry names of the proof (proof.py's `covers`) in the page's language."""
    gettext, number, _when = _formats(lang)
    if found := _EVIDENCE.match(cover):
        return gettext(COVERS["evidence"]) % {"id": found[1]}
    if found := _SUPPRESSION.match(cover):
        return gettext(COVERS["suppression"]) % {"id": found[1]}
    if found := _PLAN.match(cover):
        return gettext(COVERS["plan"]) % {
            "name": _unquoted(found[1]), "generation": found[2], "rows": number(int(found[3])),
        }  # fmt: skip
    if found := _MESSAGE.match(cover):
        return gettext(COVERS["message"]) % {
            "id": found[1], "state": said(MESSAGE_STATES, found[2], lang),
        }  # fmt: skip
    if found := _REPLY.match(cover):
        return gettext(COVERS["reply"]) % {"id": found[1]}
    if found := _CAMPAIGN.match(cover):
        return gettext(COVERS[found[1]]) % {"name": _unquoted(found[2])}
    return cover


CONTACT_KINDS: Final = {"person": N_("private person"), "professional": N_("professional contact")}


def _pairs(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, value) pairs as the contact file writes them: lists as `a;b`, empty values left
    out."""

    def shown(value: Any) -> str:
        return ";".join(str(v) for v in value) if isinstance(value, list) else str(value)

    return [(k, shown(v)) for k, v in data.items() if v not in (None, "", [])]


def _profile(contact: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The contact's profile, imported custom columns beside the others."""
    if contact is None:
        return []
    profile = dict(contact.get("profile") or {})
    profile.update(profile.pop("fields", None) or {})
    return _pairs(profile)


def _instant(iso: Any) -> datetime | None:
    return datetime.fromisoformat(iso) if isinstance(iso, str) else None


def _proof_values(proof: Proof, lang: str) -> dict[str, Any]:
    plans = []
    for planned in proof.plans:
        message = planned.message
        plans.append(
            {
                "planned": planned,
                "territory": said(TERRITORIES, planned.territory, lang)
                if planned.territory
                else None,
                "trail": [(step, step_words(step, message, lang)) for step in message.trail]
                if message
                else [],
                "state": said(MESSAGE_STATES, message.state, lang) if message else None,
                "entries": [e for e in proof.audit if e.seq in planned.audit],
            }
        )
    contact = proof.contact or {}
    facts = {f.id: f for f in proof.evidence}
    for planned in proof.plans:
        facts.update({f.id: f for f in (*planned.evidence, *planned.evidence_since)})
    return {
        "proof": proof,
        "plans": plans,
        "profile": _profile(proof.contact),
        "contact_kind": said(CONTACT_KINDS, contact.get("kind"), lang),
        "contact_since": _instant(contact.get("created_at")),
        "contact_updated": _instant(contact.get("updated_at")),
        "fact_data": {fact_id: _pairs(fact.data) for fact_id, fact in facts.items()},
        "fact_kinds": {k: said(FACT_KINDS, k, lang) for k in FACT_KINDS},
        "meanings": {m: said(REPLY_MEANINGS, m, lang) for m in REPLY_MEANINGS},
        "covers": {
            entry.seq: [cover_words(c, lang) for c in entry.covers] for entry in proof.audit
        },
    }


def _proof_page(
    request: Request,
    desk: Desk,
    lang: str,
    campaign_id: int,
    *,
    proof: Proof | None = None,
    status: int = 200,
    **more: Any,
) -> Response:
    campaign = campaign_of(desk, campaign_id)
    values = {
        **campaign_header(desk, campaign, campaigns.shown_status(campaign), lang),
        "number": "",
        "errors": {},
        **(_proof_values(proof, lang) if proof is not None else {"proof": None}),
        **more,
    }
    return render(request, "campaign_plan/proof.html", values, status=status)


@router.get(CAMPAIGN + "/proof")
def proof_page(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    campaign_id: CampaignId,
    contact: ContactId = None,
) -> Response:
    """The form for a number; with `contact`, that recipient's proof below it."""
    found = None
    if contact is not None:
        found = recipient_proof.recipient_proof(
            desk.ctx, slug=desk.slug, campaign_id=campaign_id, contact_id=contact
        )
    return _proof_page(request, desk, state.lang, campaign_id, proof=found)


@router.post(CAMPAIGN + "/proof")
def find_proof(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    campaign_id: CampaignId,
    number: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Reading only, as a search: READ is enough. The number never goes into the address."""
    desk.require(Action.READ)
    try:
        contact_id = recipient_proof.find_recipient(
            desk.ctx, slug=desk.slug, campaign_id=campaign_id, number=number
        )
    except ServiceError as error:
        if error.field != "number":
            raise
        return _proof_page(
            request, desk, state.lang, campaign_id, status=error.status, number=number,
            errors=refusals.by_field(error, state.lang),
        )  # fmt: skip
    return redirect(request, f"/a/{desk.slug}/campaigns/{campaign_id}/proof?contact={contact_id}")


# --- the campaign's export --------------------------------------------------------------------

FORMS: Final = {
    campaign_export.ExportForm.CSV.value: N_("CSV (comma-separated, UTF-8)"),
    campaign_export.ExportForm.EXCEL.value: N_("CSV for French Excel (semicolons)"),
    campaign_export.ExportForm.JSON.value: N_("JSON lines"),
}
JOB_STATES: Final = {
    "queued": N_("waiting for a job runner"),
    "running": N_("being written"),
    "succeeded": N_("ready to download"),
    "failed": N_("export failed"),
    "cancelled": N_("export cancelled"),
}


def _exports_values(desk: Desk, campaign_id: int, lang: str) -> dict[str, Any]:
    found = campaign_jobs.exports(
        desk.ctx, advertiser_id=desk.advertiser.id, campaign_id=campaign_id
    )
    rows = []
    for job in found:
        error = None
        if job.state.value == "failed":
            problem = Problem(None, job.error_code or "internal_error", job.error_message or "")
            error = refusals.problem_text(problem, lang)
        rows.append(
            {
                "job": job,
                "state": said(JOB_STATES, job.state.value, lang),
                "form": said(FORMS, str(job.arguments.get("form")), lang),
                "error": error,
            }
        )
    return {
        "exports": rows,
        "active": any(job.state in campaign_jobs.ACTIVE for job in found),
        "base": f"/a/{desk.slug}/campaigns/{campaign_id}",
    }


def _export_page(
    request: Request, desk: Desk, lang: str, campaign_id: int, *, status: int = 200, **more: Any
) -> Response:
    campaign = campaign_of(desk, campaign_id)
    values = {
        **campaign_header(desk, campaign, campaigns.shown_status(campaign), lang),
        "may_write": desk.can(Action.WRITE_CAMPAIGNS),
        "forms": {code: said(FORMS, code, lang) for code in FORMS},
        "chosen": "csv",
        "error": None,
        **_exports_values(desk, campaign_id, lang),
        **more,
    }
    return render(request, "campaign_plan/export.html", values, status=status)


@router.get(CAMPAIGN + "/export")
def export_page(
    request: Request, desk: AtAdvertiser, state: Page, campaign_id: CampaignId
) -> Response:
    return _export_page(request, desk, state.lang, campaign_id)


@router.post(CAMPAIGN + "/export")
def export_campaign(
    request: Request,
    desk: AtAdvertiser,
    state: Page,
    campaign_id: CampaignId,
    form: Annotated[str, Form(max_length=16)] = "csv",
) -> Response:
    """Export every recipient's proof as a job; its file is offered once written."""
    desk.require(Action.WRITE_CAMPAIGNS)
    files_dir = web_settings(request).base.files_dir
    try:
        campaign_jobs.submit_export(
            desk.ctx, slug=desk.slug, campaign_id=campaign_id, form=form, files_dir=files_dir
        )
    except ServiceError as error:
        return _export_page(
            request, desk, state.lang, campaign_id, status=error.status, chosen=form,
            error=refusals.said(error, state.lang),
        )  # fmt: skip
    on_demand.kick()
    return redirect(request, f"/a/{desk.slug}/campaigns/{campaign_id}/export")


@router.get(CAMPAIGN + "/export/progress")
def export_progress(
    request: Request, desk: AtAdvertiser, state: Page, campaign_id: CampaignId
) -> Response:
    """The exports' table (htmx polls it while one is under way; 286 once none is)."""
    values = {"desk": desk, **_exports_values(desk, campaign_id, state.lang)}
    status = 200 if values["active"] else STOP_POLLING
    return render(request, "campaign_plan/_exports.html", values, status=status)


@router.get(CAMPAIGN + "/export/{job_id}/file")
def export_file(
    request: Request,
    desk: AtAdvertiser,
    campaign_id: CampaignId,
    job_id: CampaignId,
) -> Response:
    """The file an export of this campaign wrote (another advertiser's: 404)."""
    path = campaign_jobs.export_file(
        desk.ctx, advertiser_id=desk.advertiser.id, campaign_id=campaign_id, job_id=job_id,
        files_dir=web_settings(request).base.files_dir,
    )  # fmt: skip
    answer = FileResponse(path, media_type=files.media_type(path), filename=path.name)
    answer.headers["Cache-Control"] = "no-store"
    return with_cookies(request, answer)
