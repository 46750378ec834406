"""A use case's refusal (services/context.py `ServiceError`) in the words of a page, in the
visitor's language: the French (or English) text of each problem's stable `code`, from the
gettext catalogs.

A problem is worded, by the first that applies:
1. a decision of the legal core about a message's recipient (field `to`), or a block of its
   text, carries a code of tambour.rules.codes: its label and its explanation (rules/labels.py);
2. DETAILED: a text naming the values the service's English message gives (a limit, a line, a
   column), when one of the code's patterns finds them in it (read conservatively: a message
   worded otherwise gets the general text);
3. REFUSALS: the general text of the code (every code a service raises has one: a test reads
   the source for them, tests/unit/test_web_refusals.py);
4. the API's text of the code (api/texts.py), then the service's own message (English).

Texts are sentences that say what is wrong and what to do. Their msgids are English; the
catalogs hold the French (src/tambour/locale).
"""

import math
import re
from dataclasses import dataclass
from typing import Final

from tambour import i18n
from tambour.api import texts
from tambour.rules import labels
from tambour.services.context import Problem, ServiceError

N_ = i18n.N_

# code -> the English msgid of its general text (no placeholder: it must read right whatever
# the message says). Grouped by the services that raise them.
REFUSALS: Final[dict[str, str]] = {
    # -- any use case: the defaults of services/context.py --------------------------------------
    "invalid": N_("This request is refused: check what you entered."),
    "invalid_input": N_("Several values are refused: see the message beside each field."),
    "not_found": N_("What you asked for does not exist, or no longer does."),
    "conflict": N_("This contradicts the current state: reload the page and try again."),
    # -- logging in, sessions (services/users.py, sessions.py) ----------------------------------
    "invalid_credentials": N_("Wrong e-mail address or password."),
    "too_many_attempts": N_("Too many failed attempts: wait a moment before trying again."),
    "totp_required": N_("Enter the code shown by your authenticator app."),
    "invalid_totp_code": N_("This code is wrong or was already used."),
    "user_disabled": N_("This account is disabled."),
    "invalid_session": N_("Your session has ended: log in again."),
    "session_expired": N_("Your session has expired: log in again."),
    "session_not_found": N_("This session is closed already."),
    # -- accounts, invitations, roles, second factor (services/users.py) ------------------------
    "user_not_found": N_("This account does not exist: check the e-mail address."),
    "invalid_email": N_("This is not an e-mail address: write it as name@domain.fr."),
    "email_taken": N_("An account has this e-mail address already."),
    "wrong_password": N_("The password is wrong: give this account's current password."),
    "invitation_not_found": N_("This invitation link is unknown."),
    "invitation_expired": N_("This invitation has expired: ask for a new one."),
    "invitation_used": N_("This invitation was used already: log in."),
    "invalid_validity": N_("An invitation cannot be valid for this long, or this short."),
    "role_held": N_("This account has this role already."),
    "advertiser_required": N_("This role is held at an advertiser: choose which one."),
    "operator_without_advertiser": N_(
        "An operator belongs to no advertiser: leave the advertiser empty."
    ),
    "totp_not_offered": N_("A second factor is for operators and administrators."),
    "totp_enrolled": N_("This account has a second factor already."),
    "totp_not_pending": N_("No second factor is waiting for confirmation: set one up first."),
    "user_shared": N_(
        "This account also works for another advertiser or for the platform: only the "
        "platform operator can disable or enable it."
    ),
    "own_account": N_("An account cannot disable itself."),
    "own_role": N_("You cannot change your own role: ask another administrator."),
    "last_admin": N_(
        "The advertiser would be left without an enabled administrator: make another account "
        "administrator first."
    ),
    "invalid_role": N_("At an advertiser, the role is administrator, marketer or viewer."),
    # -- passwords (services/passwords.py) ------------------------------------------------------
    "password_too_short": N_("This password is too short."),
    "password_too_long": N_("This password is too long."),
    "password_control_character": N_("A password holds no control character."),
    "password_too_common": N_("This password is among the first ones tried: choose another."),
    "password_is_email": N_("A password is not the account's e-mail address."),
    # -- advertisers (services/advertisers.py) --------------------------------------------------
    "advertiser_not_found": N_("This advertiser does not exist."),
    "advertiser_exists": N_("An advertiser has this short name already: choose another."),
    "invalid_slug": N_(
        "A short name (slug) holds only lower-case letters without accents, digits and dashes."
    ),
    "name_required": N_("A name is required: this one is empty."),
    "sender_required": N_("Give at least one sender ID (the name shown as the sender)."),
    "invalid_sender": N_(
        "This sender ID cannot be used: it has 3 to 11 Latin letters or digits and names the brand."
    ),
    "sender_taken": N_(
        "This sender ID belongs to another advertiser already: on the platform, a sender ID "
        "belongs to one advertiser only."
    ),
    "invalid_stop_number": N_(
        "This is not a French SMS short number (5 digits, the first from 3 to 8)."
    ),
    "invalid_non_commercial_id": N_(
        "This is neither an RNA number (W followed by 9 digits) nor a SIREN (9 digits)."
    ),
    "conflicting_arguments": N_("Give a new non-commercial ID or remove it, not both."),
    "nothing_to_change": N_("Nothing to change: change at least one value."),
    "phone_in_text": N_("A phone number has no place here (the audit log keeps none): remove it."),
    "window_unusable": N_(
        "The advertiser's stored sending window is unusable: ask the platform operator to "
        "correct it."
    ),
    "window_too_wide": N_(
        "The advertiser's stored sending window is wider than the law allows: ask the "
        "platform operator to correct it."
    ),
    # -- campaigns: the definition (services/campaign_definition.py, campaigns.py) --------------
    "campaign_not_found": N_("This campaign does not exist, or no longer does."),
    "campaign_exists": N_(
        "The advertiser has a campaign of this name already: choose another name."
    ),
    "campaign_ambiguous": N_(
        "Several advertisers have a campaign of this name: say which advertiser."
    ),
    "name_too_long": N_("This name is too long."),
    "name_reserved": N_(
        "Names like 'message 12' are kept for the messages sent one by one: choose another."
    ),
    "control_character": N_("This holds a control character (invisible): remove it."),
    "channel_not_supported": N_("Only SMS campaigns are possible for now."),
    "text_empty": N_("The message is empty: write its text."),
    "unknown_sender": N_(
        "This is neither a sender ID of the advertiser nor its short number: choose one of them."
    ),
    "transaction_required": N_(
        "A transactional message answers one transaction of its recipient (an order, an "
        "appointment, a delivery): say which."
    ),
    "transaction_not_transactional": N_(
        "Only a transactional message names a transaction: leave this empty, or make the "
        "message transactional."
    ),
    "send_by_past": N_("The deadline is already past: choose a later one, or none."),
    "send_by_before_start": N_(
        "The deadline is not after the start: choose a later deadline or an earlier start."
    ),
    # -- campaigns: A/B tests (services/campaign_definition.py, ab_tests.py) ------------------
    "too_many_variants": N_(
        "An A/B test has at most four variants: the campaign's text (A) and up to three more."
    ),
    "variant_empty": N_("This variant is empty: write its text or remove it."),
    "variant_same_text": N_("This variant repeats another's text: it would test nothing."),
    "variant_links_differ": N_(
        "Every variant must carry the same short links and opt-out link as variant A, in the "
        "same order, so that their clicks compare."
    ),
    "test_share_range": N_("The share tested is a percentage from 1 to 100."),
    "test_duration_range": N_("The test lasts from 1 minute to 14 days."),
    "winner_by_clicks_without_link": N_(
        "A winner chosen by clicks needs a short link in every variant: add one, or choose by "
        "opt-outs."
    ),
    "ab_settings_without_variants": N_(
        "An A/B test's settings need variants: write the text of variant B at least."
    ),
    "winner_by_unknown": N_("The winner is chosen by clicks or by opt-outs."),
    "no_ab_test": N_("This campaign has no A/B test."),
    "not_launched": N_("This campaign is not launched: its test has not begun."),
    "winner_chosen": N_("This test's winner is chosen already."),
    "test_running": N_("The test is running: choose a variant to end it sooner."),
    "unknown_variant": N_("This campaign has no such variant."),
    "unknown_status": N_(
        "This is not a campaign status (draft, planned, launched, finished, cancelled)."
    ),
    "nothing_changed": N_("The campaign has this definition already: nothing changed."),
    # -- campaigns: the editor's form (services/campaign_drafts.py) -----------------------------
    "invalid_instant": N_(
        "This is not a date and time: write it as 09/12/2026 10:00 (Paris time)."
    ),
    "text_too_long": N_("This text takes too many parts: shorten it."),
    "invalid_hours": N_("This is not a number of hours: write 4, or 1,5 for an hour and a half."),
    # -- campaigns: plan, launch, cancellation (services/planner.py, campaigns.py, ...) ---------
    "campaign_launched": N_(
        "This campaign is launched: it can no longer change; cancel it and create another if "
        "needed."
    ),
    "campaign_cancelled": N_("This campaign is cancelled: create a new one."),
    "campaign_finished": N_(
        "This campaign is finished: every message has reached its fate, nothing is left to cancel."
    ),
    "campaign_frozen": N_("This campaign is launched or cancelled: its plan can no longer change."),
    "unknown_link": N_("This link is unknown or no longer valid."),
    "campaign_not_launched": N_(
        "This campaign is not launched: this is only possible for a launched campaign."
    ),
    "plan_missing": N_("This campaign has no plan yet: plan it and read its report first."),
    "plan_stale": N_("The plan is too old: plan again, read the report, then launch."),
    "plan_discarded": N_(
        "The campaign changed while it was planned: this plan is discarded, plan again."
    ),
    "campaign_blocked": N_(
        "The campaign is blocked: nothing can be sent until this changes (see the blocks in "
        "the plan's report)."
    ),
    "recipients_changed": N_(
        "Recipients changed in the ledger since the plan: plan again, read the report, then launch."
    ),
    "unknown_decision": N_("This is not a decision of a plan (send, exclude)."),
    "plan_failed": N_(
        "Planning stopped on an unexpected error: try again; if it happens again, tell the "
        "platform operator."
    ),
    "invalid_form": N_("This is not a form of export (CSV, Excel, JSON)."),
    "job_file_not_found": N_("This export has no file to download (yet)."),
    "export_failed": N_(
        "The export stopped on an unexpected error: try again; if it happens again, tell the "
        "platform operator."
    ),
    # -- messages sent one by one (services/messages.py) ----------------------------------------
    "message_not_found": N_("This message does not exist."),
    "send_at_past": N_("This sending time is past: choose one to come."),
    "send_at_too_far": N_("This sending time is too far ahead: send the message later."),
    "label_too_long": N_("This label is too long."),
    "reference_too_long": N_("This reference is too long."),
    # -- 33700 complaints (services/complaints.py) ------------------------------------------------
    "no_report": N_("The file holds no report."),
    "no_number_column": N_(
        "The file has no column of reported numbers (Numéro, Numéro signalé, Number...)."
    ),
    "no_sender_column": N_("The file has no column of senders (Émetteur, Expéditeur, Sender...)."),
    "no_date_column": N_(
        "The file has no column of dates (Date, Date du signalement, Reported at...)."
    ),
    "not_paused": N_("This campaign is not paused."),
    "invalid_threshold": N_("Give a rate per 1,000 messages, above 0 and up to 1,000."),
    # -- data requests (services/data_requests.py, request_answers.py) ----------------------------
    "invalid_request_kind": N_(
        "This is not a kind of request (access, portability, rectification, erasure, objection)."
    ),
    "invalid_means": N_(
        "This is not a means of asking (email, letter, phone, SMS, web, in person, other)."
    ),
    "empty_requester": N_("Say who asked (the person, or who acts for them)."),
    "value_too_long": N_("This text is too long."),
    "received_in_future": N_("A request cannot have been received after today."),
    "request_not_found": N_("This data request does not exist."),
    "not_open": N_("This request is answered or refused already."),
    "already_extended": N_(
        "This request's deadline was extended already (once, by two months at most)."
    ),
    "extension_too_late": N_(
        "The one-month deadline has passed: an extension is told to the person before it."
    ),
    "empty_reason": N_("Give the reason (it is told to the person)."),
    "wrong_kind": N_("This answer does not fit the request's kind."),
    "no_contact": N_("The number is not a contact of the advertiser: there is nothing to rectify."),
    "not_rectifiable": N_(
        "This field cannot be rectified here: a consent or an opposition is a dated fact; record "
        "a new one."
    ),
    "no_corrections": N_("Give at least one field to correct."),
    "bad_value": N_("This value holds a control character or is too long."),
    "bad_postal_code": N_("This is not a French postal code (5 digits)."),
    "invalid_date": N_("This is not a date: write it as 2026-12-01, or pick it."),
    "erasure_unconfirmed": N_(
        "Tick the box to confirm: an erasure cannot be undone (the number stays on the "
        "opposition list)."
    ),
    # -- contacts (services/contacts.py, contact_reads.py, contact_writes.py, proof.py) ---------
    "contact_not_found": N_("This contact is not in the ledger."),
    "number_not_found": N_("The ledger has no contact, opt-out or reply from this number."),
    "invalid_phone": N_(
        "This is not a valid phone number: check it (for instance 06 12 34 56 78 or "
        "+33 6 12 34 56 78)."
    ),
    "invalid_value": N_("This value cannot be read: check its format."),
    "consent_not_dated": N_("A consent given says when it was given: give its date."),
    "consent_unproven": N_(
        "A consent given says how it can be shown: give its method (web form, paper form...) "
        "or the wording the person accepted."
    ),
    "list_separator": N_("A member of a list holds no ';': it separates the members."),
    "reserved_field": N_(
        "This name is a column of the contact itself, not a personalization field: choose "
        "another name."
    ),
    "duplicate_field": N_(
        "Two personalization fields differ only by case or accents: keep one of them."
    ),
    "too_many_fields": N_("This contact has too many personalization fields."),
    # -- files: contact imports, opt-out lists, exports (services/importer.py, optouts.py) ------
    "unreadable_file": N_(
        "This file cannot be read: save it from your spreadsheet as 'CSV UTF-8' and send it again."
    ),
    "unreadable_mapping": N_("This column mapping cannot be read: check it and try again."),
    "unreadable_line": N_(
        "A line of this file cannot be read: correct it and send the file again."
    ),
    "duplicate_column": N_("Two columns of this file have the same meaning: keep one of them."),
    "no_phone_number": N_(
        "No phone number was found in this file: it lists numbers, one a line or in a phone column."
    ),
    "invalid_source": N_(
        "This is not an origin of opt-out (sms_stop, link, complaint_33700, manual, data_request)."
    ),
    "import_failed": N_(
        "The import stopped on an unexpected error (the rows read before it are kept): try "
        "again; if it happens again, tell the platform operator."
    ),
    "file_not_found": N_("This file cannot be found or read."),
    # -- a contact file sent from a page, and the meaning of its columns (import_mapping.py) ----
    "empty_upload": N_("The file sent is empty."),
    "upload_too_large": N_("This file is too large: split it into smaller files."),
    "upload_not_found": N_("This file sent is no longer here: send it again."),
    "header_is_contact": N_(
        "The first line holds a phone number: it must name the columns (Téléphone;Prénom;...); "
        "add a header line."
    ),
    "invalid_meaning": N_("This is not a column Tambour knows: choose one in the list."),
    "wrong_column_count": N_(
        "The meanings given do not match the file's columns: choose one for each column."
    ),
    "no_phone_column": N_("No column is the phone number: say which one is."),
    "column_taken": N_("This meaning is given to two columns: keep it for one of them."),
    "field_not_possible": N_(
        "This column is read as a column of the contact whatever the mapping says: give that "
        "meaning to another column, or ignore this one."
    ),
    "invalid_mapping": N_("These meanings do not fit the file: check the meaning of each column."),
    "mapping_not_found": N_("No meaning is saved for this header."),
    "rejects_not_found": N_(
        "This import has no file of rejected rows (it rejected none, or it is not an import)."
    ),
    "folder_not_found": N_("This folder does not exist."),
    "file_exists": N_("A file of this name exists already: name a new one."),
    "rejects_is_input": N_(
        "The file of rejected rows cannot be the file imported: name another one."
    ),
    "cannot_create": N_("This file cannot be created: check its folder and its rights."),
    # -- replies (services/reply_inbox.py) ------------------------------------------------------
    "reply_not_found": N_("This reply does not exist."),
    "reply_not_from_number": N_(
        "This reply did not come from a phone number: there is no number to opt out."
    ),
    # -- jobs: imports, plans and exports run by the job runner (services/jobs.py, jobs/) -------
    "job_not_found": N_("This job does not exist."),
    "job_finished": N_("This job is over: there is nothing left to cancel."),
    "invalid_kind": N_("This is not a kind of job."),
    "invalid_argument": N_("This job lacks an argument, or one of them is wrong."),
    "advertiser_needed": N_("This job is for an advertiser: say which one."),
    "not_json": N_("A job's arguments are JSON values (text, numbers, lists, objects)."),
    "naive_time": N_("Give a time with its offset (UTC or another), not a local time alone."),
    "out_of_range": N_("This value is out of the allowed range."),
    "unknown_kind": N_("This kind of job is unknown to the runner (a newer version may know it)."),
    "database_error": N_(
        "The database failed during the job: submit it again once the database is back."
    ),
    "file_error": N_(
        "A file the job reads or writes could not be used: check it, then submit the job again."
    ),
    "internal_error": N_(
        "The job stopped on an unexpected error (the details are in the server's log): submit "
        "it again."
    ),
    "worker_lost": N_(
        "The runner working on this job stopped at each of its attempts: it is not tried "
        "again; submit it again."
    ),
    # -- API keys (services/api_keys.py) --------------------------------------------------------
    "api_key_not_found": N_("This API key does not exist."),
    "api_key_revoked": N_("This API key was revoked already."),
    "invalid_api_key": N_("Unknown API key."),
    "malformed_api_key": N_("This is not an API key (tbr_live_...)."),
    "revoked_api_key": N_("This API key was revoked."),
    "scopes_missing": N_("Choose at least one scope."),
    "operator_scopes": N_(
        "A key without an advertiser is the operator's: its only scope is operator."
    ),
    "advertiser_scopes": N_("An advertiser's key takes the scopes read, write and send only."),
    "invalid_name": N_("This name is too long or holds a control character (invisible)."),
    "phone_in_name": N_("A key's name holds no phone number."),
    # -- webhooks (services/webhooks.py, webhooks/targets.py) -----------------------------------
    "endpoint_not_found": N_("This webhook endpoint does not exist."),
    "delivery_not_found": N_("This webhook delivery does not exist."),
    "endpoint_disabled": N_("This webhook endpoint is disabled: enable it first."),
    "too_many_endpoints": N_(
        "The advertiser has as many webhook endpoints as allowed: remove one first."
    ),
    "invalid_description": N_(
        "This description is too long or holds a control character (invisible)."
    ),
    "unknown_event_type": N_("This is not a type of event."),
    "invalid_overlap": N_("This overlap of the old and new secrets is not allowed."),
    "invalid_limit": N_("This number is out of the allowed range."),
    "url_too_long": N_("This URL is too long."),
    "invalid_url": N_(
        "This is not a usable URL: write it as https://example.fr/path, without spaces or "
        "#fragment."
    ),
    "insecure_url": N_("A webhook URL starts with https://."),
    "credentials_in_url": N_(
        "A webhook URL holds no user or password (they would be stored with it)."
    ),
    "private_target": N_("This address is not public: webhooks are sent to public hosts only."),
    "unresolvable_host": N_("This host name cannot be found: check it."),
    # -- the installation (services/installation.py, database.py, keyring.py) -------------------
    "secret_key_mismatch": N_(
        "The database belongs to another secret key than this server's: start the server "
        "with the database's own key."
    ),
    "migration_refused": N_(
        "The database schema cannot be upgraded as it is: the server's log says why."
    ),
    "same_key": N_("The new key is the current one: give another key."),
    # -- hosted consent forms (services/consent_forms.py, form_submissions.py) ------------------
    "invalid_form_slug": N_(
        "A form's name is made of lower-case letters, digits and hyphens (at most 64)."
    ),
    "invalid_form_kind": N_("A form is a consent form, a B2B form or a customer notice."),
    "invalid_origin": N_(
        "An origin is the start of a site's address only: https://shop.example, without a path."
    ),
    "too_many_origins": N_("A form may be embedded by 20 sites at most."),
    "form_exists": N_("The advertiser already has a form of this name: choose another."),
    "form_not_found": N_("The advertiser has no form of this name."),
    "version_not_found": N_("No version of the advertiser's forms has this wording hash."),
    "no_sender": N_(
        "A double opt-in sends its code by SMS: the advertiser needs a sender ID first."
    ),
    "kind_changed": N_("A form keeps its kind: this wording is of another kind."),
    "publication_conflict": N_("The form was published meanwhile: reload the page and try again."),
    "invalid_wording": N_("This wording cannot be shown as it is: check each text."),
    "wording_too_long": N_("This text is too long: 2,000 characters at most."),
    "french_required": N_("Every text of a form needs its French version."),
    "invalid_key": N_("A box's key is made of lower-case letters, digits and underscores."),
    "duplicate_key": N_("Two boxes have the same key: give each its own."),
    "invalid_channel": N_("A box consents to SMS, MMS or both."),
    "no_purpose": N_("A consent form needs at least one box to tick."),
    "no_objection": N_("This form needs the text of its objection box."),
    "not_mobile": N_("This number is not a mobile: SMS need one."),
    "nothing_ticked": N_("No box was ticked: no consent is recorded."),
    "unknown_purpose": N_("This box is not one of the form's."),
    "too_many_submissions": N_("This number was sent too many times: try again in an hour."),
    "submission_not_found": N_("No submission awaits a code here."),
    "code_expired": N_("The code has expired: fill in the form again."),
    "wrong_code": N_("This is not the code sent."),
    "already_confirmed": N_("This submission is already confirmed."),
}

# The values a text names, read from the service's English message by named groups.
_Q: Final = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""  # a value as Python's repr() quotes it
_NUMBERS: Final = frozenset(
    {"least", "most", "count", "line", "index", "hours", "days", "changed"}
)  # groups read as whole numbers, shown in the language's conventions


def _detail(pattern: str, msgid: str) -> tuple[re.Pattern[str], str]:
    return re.compile(pattern), msgid


# What contacts/reader.py says of a contact file it cannot read (a whole file: an import's, or
# the meanings of its columns chosen on a page), most precise first.
_FILE: Final = (
    _detail(
        r": no phone column",
        N_(
            "The file has no phone column: say which column holds the numbers, or name it "
            "'phone' (téléphone, mobile, portable)."
        ),
    ),
    _detail(
        r": the file is empty$",
        N_("The file is empty."),
    ),
    _detail(
        r": not a CSV file but ",
        N_("This is not a CSV file: save it from your spreadsheet as 'CSV UTF-8'."),
    ),
    _detail(
        r": line (?P<line>\d+): mixed encodings",
        N_(
            "Line {line} is not in the encoding of the lines before: save the file again "
            "as 'CSV UTF-8'."
        ),
    ),
    _detail(
        r": line (?P<line>\d+): byte 0x[0-9A-F]{2} is neither UTF-8 nor Windows-1252",
        N_(
            "Line {line} holds a character that is neither UTF-8 nor Windows-1252: save "
            "the file again as 'CSV UTF-8'."
        ),
    ),
    _detail(
        r"ends in the middle of a UTF-8 character",
        N_("The file ends in the middle of a character: it looks cut short, send it again."),
    ),
    _detail(
        rf": columns (?P<first>{_Q}) and (?P<second>{_Q}) are both (?P<column>\w+): ",
        N_(
            "The columns '{first}' and '{second}' are both read as '{column}': keep one of "
            "them, or ignore the other."
        ),
    ),
    _detail(
        r"name one column of the file but map it to",
        N_("The mapping gives one column two meanings: keep one."),
    ),
    _detail(
        r"the mapping names columns that do not exist|match(?:es)? no column of",
        N_("The column mapping does not fit this file's columns: choose it again."),
    ),
    _detail(
        rf": line (?P<line>\d+): the header's column (?P<index>\d+) \((?P<name>{_Q})\)",
        N_(
            "Column {index} of the header ('{name}') holds a control character "
            "(invisible): remove it."
        ),
    ),
    _detail(
        r"(?:the first line|: line (?P<line>\d+)) is longer than \d+ characters",
        N_("A line of the file is far too long for a CSV file: is this the right file?"),
    ),
    _detail(
        r": line (?P<line>\d+): ",
        N_("Line {line} cannot be read as CSV: correct it and send the file again."),
    ),
)

# code -> (pattern on the service's English message, msgid naming the pattern's groups) in
# order: the first that matches gives the text.
DETAILED: Final[dict[str, tuple[tuple[re.Pattern[str], str], ...]]] = {
    # accounts and passwords
    "too_many_attempts": (
        _detail(
            r"try again in (?P<wait>\d+) seconds",
            N_("Too many failed attempts: try again in {wait}."),
        ),
    ),
    "password_too_short": (
        _detail(
            r"at least (?P<least>\d+) characters",
            N_("A password has at least {least} characters."),
        ),
    ),
    "password_too_long": (
        _detail(
            r"at most (?P<most>\d+) characters", N_("A password has at most {most} characters.")
        ),
    ),
    "invalid_validity": (
        _detail(
            r"from (?P<least>\d+) minutes to (?P<most>\d+) days",
            N_("An invitation is valid from {least} minutes to {most} days."),
        ),
    ),
    # advertisers
    "invalid_slug": (
        _detail(
            r"up to (?P<most>\d+)$",
            N_(
                "A short name (slug) holds only lower-case letters without accents, digits "
                "and dashes, {most} at most."
            ),
        ),
    ),
    "invalid_sender": (
        _detail(
            r"numeric sender must be the advertiser's own short number",
            N_("A sender made of digits can only be the advertiser's own short number."),
        ),
        _detail(
            r"has (?P<count>\d+) characters, a sender ID has (?P<least>\d+) to (?P<most>\d+)",
            N_("A sender ID has {least} to {most} characters; this one has {count}."),
        ),
        _detail(
            r"only Latin letters A-Z and digits",
            N_(
                "A sender ID holds only Latin letters from A to Z and digits: no spaces, "
                "accents or signs."
            ),
        ),
        _detail(
            r"is a generic word, not a brand",
            N_("A sender ID names the brand, not a generic word such as INFO or PROMO."),
        ),
    ),
    "sender_taken": (
        _detail(
            r"^(?P<senders>[A-Z0-9, ]+) is the sender ID of another advertiser",
            N_(
                "{senders}: the sender ID of another advertiser already (on the platform, a "
                "sender ID belongs to one advertiser only)."
            ),
        ),
    ),
    "invalid_non_commercial_id": (
        _detail(
            r"not a valid SIREN \(its check digit is wrong\)",
            N_("This SIREN is not valid: its check digit is wrong."),
        ),
    ),
    # campaigns
    "name_too_long": (
        _detail(
            r"at most (?P<most>\d+) characters",
            N_("This name is too long: {most} characters at most."),
        ),
    ),
    "control_character": (
        _detail(
            rf"the header's column (?P<index>\d+) \((?P<name>{_Q})\)",
            N_(
                "Column {index} of the header ('{name}') holds a control character "
                "(invisible): remove it."
            ),
        ),
    ),
    "transaction_required": (
        _detail(
            r"name the contact field that carries it",
            N_(
                "A transactional message answers one transaction of its recipient: name the "
                "contact field that carries it (order, appointment, delivery)."
            ),
        ),
        _detail(
            r"give its reference",
            N_(
                "A transactional message answers one transaction of its recipient: give its "
                "reference (order, appointment, delivery)."
            ),
        ),
    ),
    "plan_stale": (
        _detail(
            r"more than (?P<hours>\d+) hours ago",
            N_(
                "The plan is more than {hours} hours old: plan again, read the report, then launch."
            ),
        ),
    ),
    "campaign_blocked": (
        _detail(
            r"nothing can be sent until this changes: (?P<blocks>.+)$",
            N_("The campaign is blocked, nothing can be sent until this changes: {blocks}."),
        ),
    ),
    "recipients_changed": (
        _detail(
            r"^(?P<changed>\d[\d,]*) recipient\(s\)",
            N_(
                "Recipients changed in the ledger since the plan ({changed}): plan again, read "
                "the report, then launch."
            ),
        ),
    ),
    "text_too_long": (
        _detail(
            r"takes (?P<count>\d+) parts with its STOP mention.* more than (?P<most>\d+) parts",
            N_(
                "With its STOP mention, the text takes {count} parts before any personalized "
                "value: a message of more than {most} parts is blocked; shorten it."
            ),
        ),
    ),
    # messages sent one by one
    "send_at_too_far": (
        _detail(
            r"more than (?P<days>\d+) days ahead",
            N_("A message is scheduled at most {days} days ahead: send it later."),
        ),
    ),
    "label_too_long": (
        _detail(
            r"at most (?P<most>\d+) characters",
            N_("This label is too long: {most} characters at most."),
        ),
    ),
    "reference_too_long": (
        _detail(
            r"at most (?P<most>\d+) characters",
            N_("This reference is too long: {most} characters at most."),
        ),
    ),
    # contacts
    "reserved_field": (
        _detail(
            rf"^(?P<name>{_Q}) is a column of the contact itself",
            N_(
                "'{name}' is a column of the contact itself, not a personalization field: "
                "choose another name."
            ),
        ),
    ),
    "duplicate_field": (
        _detail(
            rf"^(?P<name>{_Q}) and (?P<other>{_Q}) are one field",
            N_(
                "'{name}' and '{other}' are one field (case and accents do not matter): keep "
                "one of them."
            ),
        ),
    ),
    "too_many_fields": (
        _detail(
            r"at most (?P<most>\d+) personalization fields",
            N_("A contact has at most {most} personalization fields."),
        ),
    ),
    # files (contacts/reader.py's words, through services/importer.py; services/optouts.py)
    "unreadable_file": _FILE,
    "invalid_mapping": _FILE,
    "unreadable_line": (
        _detail(
            r": line (?P<line>\d+): ",
            N_("Line {line} of this file cannot be read: correct it and send the file again."),
        ),
    ),
    "duplicate_column": (
        _detail(
            rf": columns (?P<first>{_Q}) and (?P<second>{_Q}) are both (?P<column>\w+)",
            N_(
                "The columns '{first}' and '{second}' are both read as '{column}': keep one of "
                "them."
            ),
        ),
    ),
    "column_taken": (
        _detail(
            rf"^(?P<column>\w+) is given to the columns (?P<first>{_Q}) and (?P<second>{_Q})",
            N_("The columns '{first}' and '{second}' are both given '{column}': keep one."),
        ),
    ),
    "field_not_possible": (
        _detail(
            rf"^(?P<header>{_Q}) is read as (?P<column>\w+) whatever the mapping says",
            N_(
                "'{header}' is read as '{column}' whatever the mapping says: to keep it as a "
                "personalization field, give '{column}' to another column, or ignore it."
            ),
        ),
    ),
    "upload_too_large": (
        _detail(
            r"larger than (?P<size>\d[\d,]*) bytes",
            N_("This file is larger than {size}: split it into smaller files."),
        ),
    ),
    "invalid_source": (
        _detail(
            r" is not one of (?P<choices>[a-z0-9_, ]+)$",
            N_("This is not an origin of opt-out: choose one of {choices}."),
        ),
    ),
    # jobs, lists
    "out_of_range": (
        _detail(r"is negative", N_("This number cannot be negative.")),
        _detail(r"is not a positive number", N_("This number is 1 or more.")),
        _detail(
            r"(?P<least>\d+) to (?P<most>\d+)",
            N_("Choose a value from {least} to {most}."),
        ),
    ),
    # API keys, webhooks
    "invalid_name": (
        _detail(
            r"has up to (?P<most>\d+) characters",
            N_("A key's name has at most {most} characters."),
        ),
    ),
    "too_many_endpoints": (
        _detail(
            r"at most (?P<most>\d+) endpoints",
            N_("An advertiser has at most {most} webhook endpoints: remove one first."),
        ),
    ),
    "invalid_description": (
        _detail(
            r"at most (?P<most>\d+) printable characters",
            N_("A description has at most {most} printable characters."),
        ),
    ),
    "unknown_event_type": (
        _detail(
            r"\(there are: (?P<choices>[a-z0-9_., ]+)\)$",
            N_("This is not a type of event: choose among {choices}."),
        ),
    ),
    "invalid_overlap": (
        _detail(
            r"(?P<least>\d+) to (?P<most>\d+) days",
            N_("The old and new secrets overlap from {least} to {most} days."),
        ),
    ),
    "invalid_limit": (
        _detail(r"(?P<least>\d+) to (?P<most>\d+)", N_("Choose a number from {least} to {most}.")),
    ),
    "url_too_long": (
        _detail(
            r"at most (?P<most>\d+) characters", N_("A webhook URL has at most {most} characters.")
        ),
    ),
}

# The names of the fields refusals are about (a use case's parameter), for a list of the
# problems at the top of a form.
FIELDS: Final[dict[str, str]] = {
    "advertiser": N_("Advertiser"),
    "advertiser_id": N_("Advertiser"),
    "campaign": N_("Campaign"),
    "campaign_id": N_("Campaign"),
    "categories": N_("Categories"),
    "channel": N_("Channel"),
    "clear_non_commercial": N_("Non-commercial ID"),
    "code": N_("Verification code"),
    "consent": N_("Consent"),
    "consent.at": N_("Date of the consent"),
    "consent.method": N_("How the consent was collected"),
    "consent.wording": N_("Wording of the consent"),
    "current": N_("Current password"),
    "days": N_("Period"),
    "decision": N_("Decision"),
    "description": N_("Description"),
    "due_at": N_("Due at"),
    "email": N_("E-mail address"),
    "events": N_("Events"),
    "columns": N_("Meaning of the columns"),
    "fields": N_("Personalization fields"),
    "form": N_("Form of the export"),
    "file": N_("File"),
    "key_id": N_("API key"),
    "limit": N_("Number of rows"),
    "mapping_path": N_("Column mapping"),
    "name": N_("Name"),
    "new": N_("New password"),
    "non_commercial_id": N_("Non-commercial ID"),
    "number": N_("Phone number"),
    "overlap": N_("Overlap of the secrets"),
    "password": N_("Password"),
    "path": N_("File"),
    "professions": N_("Target professions"),
    "rejects_path": N_("File of the rejected rows"),
    "role": N_("Role"),
    "scopes": N_("Scopes"),
    "send_at": N_("Sending time"),
    "send_by": N_("Deadline"),
    "sender": N_("Sender"),
    "senders": N_("Sender IDs"),
    "slug": N_("Short name"),
    "source": N_("Origin of the opt-out"),
    "start": N_("Start"),
    "status": N_("Status"),
    "stop_number": N_("STOP number"),
    "text": N_("Text of the message"),
    "to": N_("Recipient"),
    "token": N_("Invitation link"),
    "upload": N_("File sent"),
    "transaction": N_("Transaction reference"),
    "transaction_field": N_("Transaction field"),
    "url": N_("Address (URL)"),
    "valid_for": N_("Valid for"),
}


def _bare(field: str | None) -> str:
    """A problem's field without its indexes: `senders[1]` is about `senders`."""
    return re.sub(r"\[[^\]]*\]", "", field or "")


def field_label(field: str | None, language: str) -> str | None:
    """The name of the field a problem is about (`consent.at`, `senders[1]`, `fields.Ville`),
    in `language`; None for a problem about no field, or a field without a name here."""
    bare = _bare(field)
    known = FIELDS.get(bare) or FIELDS.get(bare.split(".")[0])
    return i18n.translator(language).gettext(known) if known else None


_SIZES: Final = (
    (1_000_000, N_("{size} MB")),
    (1_000, N_("{size} kB")),
    (1, N_("{size} bytes")),
)


def _size(count: int, language: str) -> str:
    """A file's size as a reader takes it in: 50 Mo, 200 ko."""
    unit, msgid = next((u, m) for u, m in _SIZES if count >= u or u == 1)
    amount = i18n.format_decimal(round(count / unit, 1), language)
    return i18n.translator(language).gettext(msgid).format(size=amount)


def _wait(seconds: int) -> str:
    """A wait as a reader takes it in: seconds up to two minutes, then whole minutes."""
    return f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"


def _blocks(said: str, language: str) -> str | None:
    """The labels of the blocks named in a launch's refusal (`code: message; code: ...`),
    None when it names none the core knows."""
    found = re.findall(r"(?:^|; )([a-z0-9_]+): ", said)
    known = [labels.label(code, language) for code in dict.fromkeys(found) if code in labels.SOURCE]
    return (" ; " if i18n.resolve(language) == "fr" else "; ").join(known) or None


def _value(name: str, raw: str, language: str) -> str | None:
    if name in _NUMBERS:
        return i18n.format_decimal(int(raw.replace(",", "")), language)
    if name == "wait":
        return _wait(int(raw))
    if name == "size":
        return _size(int(raw.replace(",", "")), language)
    if name == "blocks":
        return _blocks(raw, language)
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw.strip()


def _detailed(problem: Problem, language: str) -> str | None:
    for pattern, msgid in DETAILED.get(problem.code, ()):
        match = pattern.search(problem.message)
        if match is None:
            continue
        values = {}
        for name, raw in match.groupdict().items():
            value = None if raw is None else _value(name, raw, language)
            if value is None and f"{{{name}}}" in msgid:
                break  # a value the text needs and the message does not give readably
            values[name] = value or ""
        else:
            return i18n.translator(language).gettext(msgid).format(**values)
    return None


def _decided(problem: Problem, language: str) -> str | None:
    """The legal core's word for a message's recipient (a reason) or its text (a block)."""
    if problem.code not in labels.SOURCE:
        return None
    if problem.field != "to" and problem.code in REFUSALS:
        return None  # the same code names a use case's own refusal (consent_unproven)
    label = labels.label(problem.code, language)
    explanation = labels.explanation(problem.code, language)
    return f"{label}. {explanation}" if explanation else f"{label}."


def problem_text(problem: Problem, language: str) -> str:
    """What a reader of `language` is told about `problem`."""
    said = _decided(problem, language) or _detailed(problem, language)
    if said is not None:
        return said
    known = REFUSALS.get(problem.code)
    if known is not None:
        return i18n.translator(language).gettext(known)
    lang: texts.Language = "en" if i18n.resolve(language) == "en" else "fr"
    return texts.detail(problem.code, lang) or problem.message


def said(error: ServiceError, language: str) -> str:
    """The whole refusal, one sentence per problem."""
    return " ".join(problem_text(problem, language) for problem in error.problems)


def by_field(error: ServiceError, language: str) -> dict[str, str]:
    """The refusal's texts by the field each is about ('' for none): for a form's messages
    beside its fields."""
    found: dict[str, str] = {}
    for problem in error.problems:
        key = (problem.field or "").split("[")[0]
        text = problem_text(problem, language)
        found[key] = f"{found[key]} {text}" if key in found else text
    return found


@dataclass(frozen=True, slots=True)
class Shown:
    """One problem of a refusal as a page lists it."""

    field: str  # the field it is about, as by_field keys it ('' for none)
    label: str | None  # that field's name in the page's language, if it has one
    text: str


def listed(error: ServiceError, language: str) -> tuple[Shown, ...]:
    """Each problem of the refusal with the name of its field: for a summary at the top of a
    form ("Nom : …"), beside the messages by_field puts at each field."""
    return tuple(
        Shown(
            (problem.field or "").split("[")[0],
            field_label(problem.field, language),
            problem_text(problem, language),
        )
        for problem in error.problems
    )
