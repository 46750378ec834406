"""The record of processing (services/processing_record.py) as people read it: one document,
French first (gettext), laid out once as sections of paragraphs, lists, facts and tables
(`document`), then written as Markdown (`as_markdown`) or as printable HTML (`as_html`: a page
of its own with a print stylesheet, no script, nothing from elsewhere). The web app shows the
same sections inside its pages (templates/documents/_record.html).

Every value from the database or the configuration (names, addresses, hosts, field names) is
escaped by each writer: a field named `*x*` or `<b>` is shown as written.
"""

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar, Final

from jinja2 import Environment

from tambour import i18n
from tambour.i18n import N_
from tambour.services.processing_record import (
    IN_FORCE,
    NOT_IN_FORCE,
    ControllerRecord,
    Counted,
    Measure,
    ProcessorRecord,
    Purpose,
    Retention,
    Transfer,
)
from tambour.services.processing_setup import CONFIGURED, UNREADABLE, Carrier, Party, Transport
from tambour.web.pages.contacts import EVIDENCE
from tambour.web.templating import environment

NATURES: Final[Mapping[str, str]] = {
    "commercial": N_("Commercial prospection"),
    "non_commercial": N_("Non-commercial prospection (association, foundation, public body)"),
    "political": N_("Political communication"),
    "transactional": N_("Transactional messages (an order, an appointment, a code)"),
}
CHANNELS: Final[Mapping[str, str]] = {"sms": "SMS", "mms": "MMS", "fax": N_("fax")}
OTHER_PURPOSES: Final[Mapping[str, str]] = {
    "consent_forms": N_("Collecting consent through hosted forms"),
    "short_links": N_("Short links in messages, and counting the clicks on them"),
    "opposition": N_(
        "Honouring oppositions: STOP replies, the opt-out link, complaints to the 33700, the "
        "suppression list"
    ),
    "proof": N_(
        "Keeping the proof of each consent, decision and message (the CNIL may ask for it)"
    ),
    "data_requests": N_("Answering people's requests about their data (GDPR Art. 15 to 21)"),
}
PEOPLE: Final[Mapping[str, str]] = {
    "person": N_("Persons (consumers)"),
    "professional": N_("Professionals"),
    "prospect": N_("Prospects (no purchase and no membership recorded)"),
    "customer": N_("Customers (a purchase recorded)"),
    "member": N_("Members, or people in regular contact"),
    "form_only": N_("People who filled in a consent form not confirmed yet"),
    "erased": N_("People whose data was erased (what is left is pseudonymised)"),
}
PROFILE: Final[Mapping[str, str]] = {
    "external_id": N_("Customer reference"),
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "company": N_("Company"),
    "postal_code": N_("Postal code"),
    "profession_tags": N_("Professions"),
    "tags": N_("Segmentation tags"),
}
DATA: Final[Mapping[str, str]] = {
    "phone_numbers": N_("Mobile phone numbers"),
    "plan_rows": N_("Campaign decisions (legal basis or reason for exclusion, send time)"),
    "messages": N_("Messages sent, with their texts and delivery outcomes"),
    "replies": N_("Replies received, with their texts"),
    "clicks": N_("Clicks on short links (time, truncated IP address, browser)"),
    "form_submissions": N_(
        "Consent form submissions (time, truncated IP address, browser, what was ticked)"
    ),
    "suppressions": N_("Suppression list (keyed hashes of numbers, never the numbers)"),
    "data_requests": N_("Register of data requests (who asked, when, the answer)"),
}
RETENTION: Final[Mapping[str, str]] = {
    "prospects": N_("Prospects' data"),
    "customers": N_("Customers' data"),
    "message_texts": N_("Texts of messages sent"),
    "reply_texts": N_("Texts of replies"),
    "clicks": N_("Clicks on short links"),
    "evidence": N_("Evidence of consent and opposition, campaign decisions"),
    "suppressions": N_("Suppression list"),
    "data_requests": N_("Register of data requests"),
    "audit_log": N_("Audit log"),
}
PERIODS: Final[Mapping[str, str]] = {
    "prospects": N_("%(years)s years from the collection or the person's last action, then erased"),
    "customers": N_("%(years)s years after the last purchase, then erased"),
    "evidence": N_(
        "As long as the proof may be asked for; after an erasure, without the number nor the "
        "texts (pseudonymised)"
    ),
    "suppressions": N_(
        "For good, as keyed hashes: a number opted out or erased is never messaged again"
    ),
    "data_requests": N_(
        "The number while the request is open, then only its keyed hash; the register is kept"
    ),
    "audit_log": N_("For good; it holds no phone number and no message text"),
}
MEASURES: Final[Mapping[str, str]] = {
    "argon2id_passwords": N_("Passwords hashed with Argon2id, 12 characters at least"),
    "login_throttling": N_("Failed logins slow down the next tries"),
    "server_sessions": N_(
        "Sessions kept on the server, ended after an idle time and a maximum duration"
    ),
    "csrf": N_("Every form carries an anti-forgery token (CSRF); posts from other sites refused"),
    "roles": N_(
        "Roles (viewer, marketer, administrator): each account does what its role allows; the "
        "platform's operator reads no contact"
    ),
    "api_keys_hashed": N_("API keys stored as hashes only, with scopes"),
    "tenant_isolation": N_(
        "Each advertiser's data isolated: another advertiser's is not found (tested on every "
        "page and route)"
    ),
    "keys_outside_database": N_(
        "The secret key is kept outside the database; the keys of the suppression lists, "
        "webhooks and second factors are stored wrapped under it"
    ),
    "keyed_suppression": N_(
        "Suppression lists keyed (HMAC-SHA256): a copy of the database "
        "alone cannot test a number against them"
    ),
    "seals_and_audit_chain": N_(
        "Evidence, suppression and plan rows sealed with a keyed digest, and an audit log "
        "chained by hash: a change made outside Tambour is detected"
    ),
    "truncated_addresses": N_("IP addresses of clicks and form submissions truncated (/24, /48)"),
    "owner_only_files": N_("Exports, uploads and answers written readable by their owner only"),
    "logs_without_numbers": N_("Logs without phone numbers nor message texts (masked if any)"),
    "signed_webhooks": N_("Webhooks signed (Standard Webhooks), their secrets wrapped"),
    "carrier_encryption": N_("Encrypted connections to the carriers (TLS)"),
    "webhook_encryption": N_("Webhooks delivered over HTTPS"),
    "second_factor": N_("Second factor (TOTP) at login"),
    "owner_only_database": N_("SQLite database files readable by their owner only"),
}
MISSING: Final[Mapping[str, str]] = {
    "name": N_("name"),
    "address": N_("postal address"),
    "email": N_("e-mail address"),
    "dpo": N_("data-protection officer"),
}
KINDS: Final[Mapping[str, str]] = {
    "smpp": N_("SMPP (carrier or SMSC)"),
    "http": N_("HTTP (aggregator)"),
    "record-only": N_("record-only (sends nothing)"),
}


@dataclass(frozen=True, slots=True)
class Facts:
    """Label: value pairs."""

    kind: ClassVar[str] = "facts"  # what the HTML template tells blocks apart by
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Grid:
    """A table: its header row and its rows."""

    kind: ClassVar[str] = "grid"  # what the HTML template tells blocks apart by
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Items:
    kind: ClassVar[str] = "items"  # what the HTML template tells blocks apart by
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Text:
    kind: ClassVar[str] = "text"  # what the HTML template tells blocks apart by
    text: str
    missing: bool = False  # says what is missing: shown as such


Block = Facts | Grid | Items | Text


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # an anchor (the HTML's ids)
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Document:
    lang: str
    title: str
    intro: tuple[str, ...]
    sections: tuple[Section, ...] = field(default_factory=tuple)


class _Words:
    """gettext, numbers and dates in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = i18n.resolve(lang)
        self.gettext: Callable[[str], str] = i18n.translator(self.lang).gettext
        self._plural = i18n.translator(self.lang).ngettext

    def __call__(self, message: str, **values: object) -> str:
        said = self.gettext(message)
        return said % values if values else said

    def number(self, value: int) -> str:
        return i18n.format_decimal(value, self.lang)

    def ngettext(self, singular: str, plural: str, value: int) -> str:
        """The plural form for `value`, its `%(count)s` filled in (named so that pybabel
        extracts the calls)."""
        return self._plural(singular, plural, value) % {"count": self.number(value)}


# --- the documents ------------------------------------------------------------------------------


def controller_document(record: ControllerRecord, lang: str = "fr") -> Document:
    """An advertiser's record (Art. 30(1)) as a document in `lang`."""
    _ = _Words(lang)
    name = record.controller.name or record.slug
    sections = (
        Section("controller", _("Controller"), _party(_, record.controller, controller=True)),
        Section("processor", _("Processor"), _party(_, record.processor, controller=False)),
        Section("purposes", _("Purposes of the processing"), (_purposes(_, record.purposes),)),
        Section("people", _("Categories of people"), _people(_, record.people)),
        Section("data", _("Categories of personal data"), _data(_, record)),
        Section("recipients", _("Recipients"), _recipients(_, record)),
        Section(
            "transfers",
            _("Transfers outside the European Union"),
            _transfers(_, record.transfers, _hosts(record.transport, record)),
        ),
        Section("retention", _("Retention periods"), (_retention(_, record.retention),)),
        Section("security", _("Security measures"), (_security(_, record.security),)),
    )
    return Document(
        lang=_.lang,
        title=_("Record of processing activities: %(name)s", name=name),
        intro=(
            _(
                "The record of %(name)s as controller (GDPR Art. 30(1)) for its prospection and "
                "messages by SMS and MMS through Tambour.",
                name=name,
            ),
            _made(_, record),
        ),
        sections=sections,
    )


def processor_document(record: ProcessorRecord, lang: str = "fr") -> Document:
    """The operator's record as processor (Art. 30(2)) as a document in `lang`."""
    _ = _Words(lang)
    name = record.processor.name or _("the operator of this Tambour installation")
    sections = (
        Section("processor", _("Processor"), _party(_, record.processor, controller=False)),
        Section("controllers", _("Controllers it processes for"), _controllers(_, record)),
        Section("processing", _("Categories of processing"), _processing(_, record.processing)),
        Section(
            "recipients",
            _("Sub-processors: carriers and aggregators"),
            _carriers(_, record.transport, None),
        ),
        Section(
            "transfers",
            _("Transfers outside the European Union"),
            _transfers(_, record.transfers, _hosts(record.transport, None)),
        ),
        Section("retention", _("Retention periods"), (_retention(_, record.retention),)),
        Section("security", _("Security measures"), (_security(_, record.security),)),
    )
    return Document(
        lang=_.lang,
        title=_("Record of processing activities of the processor: %(name)s", name=name),
        intro=(
            _(
                "The record of %(name)s as processor (GDPR Art. 30(2)) for the advertisers whose "
                "SMS and MMS it sends through Tambour.",
                name=name,
            ),
            _made(_, record),
        ),
        sections=sections,
    )


def _made(_: _Words, record: ControllerRecord | ProcessorRecord) -> str:
    """When and by what the record was made."""
    return _(
        "Made on %(when)s by Tambour %(version)s from its configuration and the data it holds "
        "then: it changes with them. What is not known is said, not invented.",
        when=i18n.format_datetime(record.made_at, "Europe/Paris", _.lang),
        version=record.version,
    )


def _party(_: _Words, who: Party, *, controller: bool) -> tuple[Block, ...]:
    none = _("not given")
    pairs = [
        (_("Name"), who.name or none),
        (_("Postal address"), " ".join((who.address or none).split())),
        (_("E-mail address for personal data"), who.email or none),
        (
            _("Data-protection officer"),
            ", ".join(part for part in (who.dpo_name, who.dpo_email) if part) or none,
        ),
    ]
    blocks: list[Block] = [Facts(tuple(pairs))]
    if who.missing:
        missing = ", ".join(_(MISSING[what]) for what in who.missing)
        if controller:
            said = _(
                "Missing: %(what)s. The platform's operator records them on the advertiser's page.",
                what=missing,
            )
        else:
            said = _(
                "Missing: %(what)s. The operator sets them in the environment "
                "(TAMBOUR_PROCESSOR_NAME, _ADDRESS, _EMAIL, _DPO_NAME, _DPO_EMAIL).",
                what=missing,
            )
        blocks.append(Text(said, missing=True))
    return tuple(blocks)


def _nature(_: _Words, purpose: Purpose) -> str:
    channels = ", ".join(
        _(CHANNELS[c]) if c == "fax" else CHANNELS.get(c, c) for c in purpose.channels
    )
    counts = _.ngettext("%(count)s campaign", "%(count)s campaigns", purpose.campaigns)
    sent = _.ngettext(
        "%(count)s message handed over", "%(count)s messages handed over", purpose.messages
    )
    return _(
        "%(nature)s (%(channels)s): %(campaigns)s, %(messages)s",
        nature=_(NATURES.get(purpose.code, purpose.code)),
        channels=channels,
        campaigns=counts,
        messages=sent,
    )


def _purposes(_: _Words, purposes: Sequence[Purpose]) -> Items:
    items = []
    for purpose in purposes:
        if purpose.code in NATURES:
            items.append(_nature(_, purpose))
        elif purpose.code == "consent_forms":
            forms = _.ngettext("%(count)s form", "%(count)s forms", purpose.campaigns)
            items.append(
                _("%(purpose)s: %(count)s", purpose=_(OTHER_PURPOSES[purpose.code]), count=forms)
            )
        elif purpose.code == "short_links":
            links = _.ngettext("%(count)s link", "%(count)s links", purpose.messages)
            items.append(
                _("%(purpose)s: %(count)s", purpose=_(OTHER_PURPOSES[purpose.code]), count=links)
            )
        else:
            items.append(_(OTHER_PURPOSES[purpose.code]))
    if not any(p.code in NATURES for p in purposes):
        items.insert(0, _("No campaign nor message yet: no prospection purpose in use."))
    return Items(tuple(items))


def _counted_grid(
    _: _Words, header: str, found: Sequence[Counted], labels: Callable[[str], str]
) -> Grid:
    return Grid((header, _("Count")), tuple((labels(c.code), _.number(c.count)) for c in found))


def _people(_: _Words, people: Sequence[Counted]) -> tuple[Block, ...]:
    if not people:
        return (Text(_("No contact held yet.")),)
    return (
        _counted_grid(_, _("Category"), people, lambda code: _(PEOPLE[code])),
        Text(
            _(
                "Persons and professionals are counted among the contacts held; each of them is "
                "also a prospect, a customer or a member (a customer may be a member too)."
            )
        ),
    )


def _data(_: _Words, record: ControllerRecord) -> tuple[Block, ...]:
    blocks: list[Block] = []
    held = [c for c in record.data if not c.code.startswith("evidence.")]
    if held:
        blocks.append(_counted_grid(_, _("Data"), held, lambda code: _(DATA[code])))
    if record.profile_fields:
        blocks.append(Text(_("Fields of the contacts' profiles (contacts having each):")))
        blocks.append(
            _counted_grid(_, _("Field"), record.profile_fields, lambda code: _(PROFILE[code]))
        )
    if record.custom_fields or record.unnamed_fields:
        blocks.append(
            Text(
                _(
                    "Personalization fields imported with the contacts, by name "
                    "(contacts having each; their values are not shown here):"
                )
            )
        )
        blocks.append(_counted_grid(_, _("Field"), record.custom_fields, str))
        if record.unnamed_fields:
            blocks.append(
                Text(
                    _.ngettext(
                        "%(count)s more field is named like a phone number: not shown.",
                        "%(count)s more fields are named like a phone number: not shown.",
                        record.unnamed_fields,
                    )
                )
            )
    evidence = [c for c in record.data if c.code.startswith("evidence.")]
    if evidence:
        blocks.append(Text(_("Evidence (dated facts about each contact):")))
        blocks.append(
            _counted_grid(_, _("Fact"), evidence, lambda code: _(EVIDENCE.get(code[9:], code[9:])))
        )
    if not blocks:
        blocks.append(Text(_("No personal data held yet.")))
    return tuple(blocks)


def _recipients(_: _Words, record: ControllerRecord) -> tuple[Block, ...]:
    blocks = list(_carriers(_, record.transport, record.carriers_used))
    if record.endpoints:
        blocks.append(
            Text(
                _(
                    "The advertiser's webhook endpoints, which receive events about "
                    "messages, opt-outs, replies and clicks (hosts only):"
                )
            )
        )
        blocks.append(
            Grid(
                (_("Host"), _("Encrypted (HTTPS)"), _("State")),
                tuple(
                    (e.host, _yes(_, e.encrypted), _("enabled") if e.enabled else _("disabled"))
                    for e in record.endpoints
                ),
            )
        )
    else:
        blocks.append(
            Text(_("No webhook endpoint: no event is sent to the advertiser's own systems."))
        )
    operator = record.processor.name or _("the operator of this Tambour installation")
    blocks.append(
        Text(_("The processor, %(name)s, which hosts Tambour and the data.", name=operator))
    )
    return tuple(blocks)


def _carriers(_: _Words, transport: Transport, used: Sequence[Counted] | None) -> tuple[Block, ...]:
    """The carriers configured, and (`used`, an advertiser's record) the messages each took
    for the advertiser."""
    taken = {c.code: c.count for c in used or ()}
    blocks: list[Block] = []
    if transport.state == CONFIGURED:
        blocks.append(
            Text(
                _(
                    "The carriers and aggregators of the transport configuration, to "
                    "which messages are handed (numbers and texts):"
                )
            )
        )
        header: tuple[str, ...] = (_("Carrier"), _("Kind"), _("Host"), _("Encrypted"))
        if used is not None:
            header += (_("Messages taken"),)
        rows = []
        for carrier in transport.carriers:
            row: tuple[str, ...] = (
                _carrier_name(_, carrier),
                _(KINDS[carrier.kind]),
                carrier.host or "—",
                _yes(_, carrier.encrypted) if carrier.host else "—",
            )
            if used is not None:
                row += (_.number(taken.pop(carrier.name, 0)),)
            rows.append(row)
        blocks.append(Grid(header, tuple(rows)))
    elif transport.state == UNREADABLE:
        blocks.append(
            Text(
                _(
                    "The transport configuration could not be read: %(problem)s",
                    problem=transport.problem or "",
                ),
                missing=True,
            )
        )
    else:
        blocks.append(
            Text(
                _(
                    "No transport is configured (TAMBOUR_CONFIG): no message can "
                    "leave, and no carrier receives any."
                ),
                missing=True,
            )
        )
    if taken:
        blocks.append(Text(_("Carriers that took messages and are no longer configured:")))
        blocks.append(
            Grid(
                (_("Carrier"), _("Messages taken")),
                tuple(
                    (name or _("the one transport"), _.number(count))
                    for name, count in taken.items()
                ),
            )
        )
    return tuple(blocks)


def _carrier_name(_: _Words, carrier: Carrier) -> str:
    return carrier.name or _("the one transport")


def _yes(_: _Words, value: bool) -> str:
    return _("yes") if value else _("no")


def _hosts(transport: Transport, record: ControllerRecord | None) -> tuple[str, ...]:
    hosts = [c.host for c in transport.carriers if c.host]
    if record is not None:
        hosts += [e.host for e in record.endpoints]
    return tuple(dict.fromkeys(hosts))


def _transfers(_: _Words, transfers: Sequence[Transfer], hosts: Sequence[str]) -> tuple[Block, ...]:
    if transfers:
        items = tuple(
            _(
                "%(host)s: its domain is of a country outside the European Economic Area "
                "(%(country)s)",
                host=t.host,
                country=t.country.upper(),
            )
            for t in transfers
        )
        return (
            Items(items),
            Text(
                _(
                    "Check the guarantees of each (adequacy decision, standard "
                    "contractual clauses)."
                ),
                missing=True,
            ),
        )
    blocks: list[Block] = [Text(_("None known."))]
    if hosts:
        blocks.append(
            Text(
                _(
                    "Tambour cannot tell where these hosts keep the data: %(hosts)s. "
                    "Check it with each provider.",
                    hosts=", ".join(hosts),
                )
            )
        )
    return tuple(blocks)


def _retention(_: _Words, retention: Sequence[Retention]) -> Grid:
    rows = []
    for period in retention:
        if period.years is not None:
            said = _(PERIODS[period.code], years=_.number(period.years))
        elif period.days is not None:
            said = _.ngettext(
                "%(count)s day, then removed", "%(count)s days, then removed", period.days
            )
        else:
            said = _(PERIODS[period.code])
        rows.append((_(RETENTION[period.code]), said))
    return Grid((_("Data"), _("Kept")), tuple(rows))


def _security(_: _Words, measures: Sequence[Measure]) -> Items:
    return Items(tuple(_measure(_, m) for m in measures))


def _measure(_: _Words, measure: Measure) -> str:
    said = _(MEASURES[measure.code])
    if measure.count is not None and measure.total is not None:
        return _(
            "%(measure)s: %(count)s of %(total)s accounts",
            measure=said,
            count=_.number(measure.count),
            total=_.number(measure.total),
        )
    if measure.state == IN_FORCE:
        return said
    names = ", ".join(measure.subjects)
    if measure.state == NOT_IN_FORCE:
        return _("%(measure)s: not in force (%(names)s)", measure=said, names=names)
    return _("%(measure)s: in force, except for %(names)s", measure=said, names=names)


def _controllers(_: _Words, record: ProcessorRecord) -> tuple[Block, ...]:
    if not record.controllers:
        return (Text(_("No advertiser yet.")),)
    none = _("not given")
    rows = tuple(
        (
            c.party.name or c.slug,
            c.slug,
            ", ".join(
                p
                for p in (c.party.email, c.party.address and " ".join(c.party.address.split()))
                if p
            )
            or none,
            ", ".join(p for p in (c.party.dpo_name, c.party.dpo_email) if p) or none,
        )
        for c in record.controllers
    )
    blocks: list[Block] = [
        Grid(
            (_("Controller"), _("Identifier"), _("Contact details"), _("Data-protection officer")),
            rows,
        )
    ]
    lacking = [c.party.name or c.slug for c in record.controllers if c.party.missing]
    if lacking:
        blocks.append(
            Text(
                _("Contact details incomplete for: %(names)s.", names=", ".join(lacking)),
                missing=True,
            )
        )
    return tuple(blocks)


def _processing(_: _Words, natures: Sequence[Purpose]) -> tuple[Block, ...]:
    items = [
        _("Hosting each advertiser's contacts and the evidence of their consent and opposition"),
        _("Deciding, for each campaign and contact, whether the rules allow the message"),
        _("Sending the messages through the carriers, and receiving their delivery receipts"),
        _("Receiving replies (STOP recorded as opt-outs) and complaints to the 33700"),
        _("Hosting consent forms and short links, counting clicks"),
        _("Helping the advertisers answer people's requests about their data"),
    ]
    items.extend(_nature(_, purpose) for purpose in natures)
    return (Items(tuple(items)),)


# --- the writers -------------------------------------------------------------------------------

# What makes markup anywhere in a line, and what makes it at the start of one (a heading, a
# list, a quote: `1. ` needs its dot escaped).
_MARKDOWN_INLINE: Final = re.compile(r"([\\`*_\[\]<>|~&])")
_MARKDOWN_START: Final = re.compile(r"^([#+\-=>]|\d+(?=[.)]))")


def _md(value: str) -> str:
    """`value` as Markdown text, on one line: what would be markup is escaped."""
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", " ".join(value.split()))
    return _MARKDOWN_START.sub(
        lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), escaped
    )


def as_markdown(document: Document) -> str:
    lines = [f"# {_md(document.title)}", ""]
    for paragraph in document.intro:
        lines += [_md(paragraph), ""]
    for number, section in enumerate(document.sections, 1):
        lines += [f"## {number}. {_md(section.title)}", ""]
        for block in section.blocks:
            lines += _markdown_block(block)
    return "\n".join(lines).rstrip("\n") + "\n"


def _markdown_block(block: Block) -> list[str]:
    match block:
        case Text(text=said, missing=missing):
            return [f"**{_md(said)}**" if missing else _md(said), ""]
        case Items(items=items):
            return [*(f"- {_md(item)}" for item in items), ""]
        case Facts(pairs=pairs):
            return [*(f"- **{_md(label)}**: {_md(value)}" for label, value in pairs), ""]
        case Grid(header=header, rows=rows):
            return [
                "| " + " | ".join(_md(cell) for cell in header) + " |",
                "|" + "|".join(" --- " for _cell in header) + "|",
                *("| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows),
                "",
            ]
    raise TypeError(block)


@cache
def _environment() -> Environment:
    return environment().overlay()


def as_html(document: Document) -> str:
    """The document as a page of its own, printable (its stylesheet inline, no script)."""
    template = _environment().get_template("documents/processing_record.html")
    return template.render(document=document, lang=document.lang)


# --- one entry for every entry point ------------------------------------------------------------

FORMATS: Final[Mapping[str, str]] = {
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}


def rendered(record: ControllerRecord | ProcessorRecord, format: str, lang: str = "fr") -> str:
    """`record` as `format` (one of FORMATS): the document in `lang`, or its data as JSON."""
    if format == "json":
        return json.dumps(record.as_dict(), ensure_ascii=False, indent=2) + "\n"
    if isinstance(record, ControllerRecord):
        document = controller_document(record, lang)
    else:
        document = processor_document(record, lang)
    return as_html(document) if format == "html" else as_markdown(document)
