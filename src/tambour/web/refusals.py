"""A use case's refusal (services/context.py `ServiceError`) in the words of a page, in the
visitor's language: the French (or English) text of each problem's stable `code`, from the
gettext catalogs. A code without a text here falls back on the API's text for it, then on the
service's own message (English): a test lists the codes still missing one.
"""

from typing import Final

from tambour import i18n
from tambour.api import texts
from tambour.services.context import Problem, ServiceError

N_ = i18n.N_

# code -> the English msgid of its text (the catalogs translate it); {field} may be named.
REFUSALS: Final[dict[str, str]] = {
    "invalid_credentials": N_("Wrong e-mail address or password."),
    "too_many_attempts": N_("Too many failed attempts: wait a moment before trying again."),
    "totp_required": N_("Enter the code shown by your authenticator app."),
    "invalid_totp_code": N_("This code is wrong or was already used."),
    "user_disabled": N_("This account is disabled."),
    "invitation_not_found": N_("This invitation link is unknown."),
    "invitation_expired": N_("This invitation has expired: ask for a new one."),
    "invitation_used": N_("This invitation was used already: log in."),
    "email_taken": N_("An account has this e-mail address already."),
    "password_too_short": N_("A password has at least 12 characters."),
    "password_too_long": N_("A password has at most 1024 characters."),
    "password_control_character": N_("A password holds no control character."),
    "password_too_common": N_("This password is among the first ones tried: choose another."),
    "password_is_email": N_("A password is not the account's e-mail address."),
}


def problem_text(problem: Problem, language: str) -> str:
    known = REFUSALS.get(problem.code)
    if known is not None:
        return i18n.translator(language).gettext(known)
    lang: texts.Language = "en" if language == "en" else "fr"
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
