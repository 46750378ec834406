"""What the API says to people, in French (the default) and English, chosen by the request's
`Accept-Language`. All of it is here, for the gettext catalogs of the web UI to take over.

A use case's refusal (services/context.py `ServiceError`) carries its own words, in English
for now: they are given as they are unless a French text for its `code` is here.
"""

from typing import Final, Literal

Language = Literal["fr", "en"]
DEFAULT_LANGUAGE: Final[Language] = "fr"

TITLES: Final[dict[int, tuple[str, str]]] = {
    400: ("Requête invalide", "Bad request"),
    401: ("Authentification requise", "Authentication required"),
    403: ("Accès refusé", "Forbidden"),
    404: ("Introuvable", "Not found"),
    405: ("Méthode non permise", "Method not allowed"),
    409: ("Conflit", "Conflict"),
    413: ("Requête trop grande", "Request too large"),
    422: ("Requête refusée", "Unprocessable request"),
    429: ("Trop de requêtes", "Too many requests"),
    500: ("Erreur interne", "Internal error"),
    503: ("Service indisponible", "Service unavailable"),
}

# code: (French, English); {names} are filled in by the caller.
DETAILS: Final[dict[str, tuple[str, str]]] = {
    "missing_api_key": (
        "Aucune clé d'API : envoyez l'en-tête « Authorization: Bearer <clé> ».",
        "No API key: send the header 'Authorization: Bearer <key>'.",
    ),
    "malformed_api_key": (
        "Ce n'est pas une clé d'API (tbr_live_…).",
        "This is not an API key (tbr_live_...).",
    ),
    "invalid_api_key": ("Clé d'API inconnue.", "Unknown API key."),
    "revoked_api_key": ("Cette clé d'API a été révoquée.", "This API key was revoked."),
    "missing_scope": (
        "Cette clé n'a pas la portée « {scope} » qu'il faut ici.",
        "This key lacks the scope '{scope}' this needs.",
    ),
    "not_found": ("Rien à cette adresse.", "Nothing at this address."),
    "advertiser_not_found": ("Aucun annonceur « {slug} ».", "No advertiser '{slug}'."),
    "method_not_allowed": (
        "La méthode {method} n'est pas permise ici.",
        "The method {method} is not allowed here.",
    ),
    "rate_limited": (
        "Trop de requêtes pour cette clé : réessayez dans {seconds} s.",
        "Too many requests for this key: retry in {seconds} s.",
    ),
    "malformed_body": (
        "Le corps de la requête est illisible : du JSON en UTF-8 est attendu.",
        "The request body cannot be read: JSON in UTF-8 is expected.",
    ),
    "validation_failed": (
        "La requête a des valeurs invalides : voyez « errors ».",
        "The request has invalid values: see 'errors'.",
    ),
    "idempotency_key_reused": (
        "Cette Idempotency-Key a déjà servi pour une autre requête : prenez-en une nouvelle.",
        "This Idempotency-Key was used for another request: use a new one.",
    ),
    "idempotency_in_progress": (
        "Une requête avec cette Idempotency-Key est encore en cours : réessayez dans un moment.",
        "A request with this Idempotency-Key is still running: retry in a moment.",
    ),
    "invalid_cursor": (
        "Ce curseur n'en est pas un : reprenez le lien « next » d'une page.",
        "This is not a cursor: follow the 'next' link of a page.",
    ),
    "internal_error": (
        "Une erreur interne est survenue ; elle est consignée dans le journal du serveur.",
        "An internal error occurred; it is in the server's log.",
    ),
    "schema_not_current": (
        "Le schéma de la base de données n'est pas celui de ce Tambour : "
        "lancez « tambour db upgrade ».",
        "The database schema is not this Tambour's: run 'tambour db upgrade'.",
    ),
    "secret_key_mismatch": (
        "La base de données est celle d'une autre clé secrète que celle de ce serveur.",
        "The database belongs to another secret key than this server's.",
    ),
    "database_unavailable": (
        "La base de données ne répond pas.",
        "The database does not answer.",
    ),
    "nothing_to_change": (
        "Rien à modifier : donnez au moins un champ.",
        "Nothing to change: give at least one member.",
    ),
    "advertiser_required": (
        "Une clé d'opérateur nomme l'annonceur : ajoutez « ?advertiser=<slug> ».",
        "An operator key names the advertiser: add '?advertiser=<slug>'.",
    ),
    # Use cases' refusals (services/): in English, the use case's own words are given.
    "endpoint_not_found": (
        "Aucun point de réception de webhooks de ce numéro.",
        "No webhook endpoint with this id.",
    ),
    "delivery_not_found": (
        "Aucune livraison de webhook de ce numéro.",
        "No webhook delivery with this id.",
    ),
    "endpoint_disabled": (
        "Ce point de réception est désactivé : réactivez-le d'abord.",
        "This webhook endpoint is disabled: enable it first.",
    ),
    "job_not_found": ("Aucune tâche de ce numéro.", "No job with this id."),
    "job_finished": (
        "Cette tâche est terminée : il n'y a plus rien à annuler.",
        "This job is over: there is nothing left to cancel.",
    ),
    "reply_not_found": ("Aucune réponse de ce numéro.", "No reply with this id."),
    "reply_not_from_number": (
        "Cette réponse ne vient pas d'un numéro de téléphone : aucun numéro à opposer.",
        "This reply did not come from a phone number: there is no number to opt out.",
    ),
}

# Pydantic's error types (request validation), in French; English keeps pydantic's words.
VALIDATION_FR: Final[dict[str, str]] = {
    "missing": "champ obligatoire",
    "string_type": "une chaîne de caractères est attendue",
    "string_too_short": "trop court",
    "string_too_long": "trop long",
    "string_pattern_mismatch": "forme non reconnue",
    "int_type": "un nombre entier est attendu",
    "int_parsing": "un nombre entier est attendu",
    "int_from_float": "un nombre entier est attendu",
    "greater_than_equal": "trop petit",
    "less_than_equal": "trop grand",
    "list_type": "une liste est attendue",
    "bool_type": "vrai ou faux est attendu",
    "bool_parsing": "vrai ou faux est attendu",
    "dict_type": "un objet JSON est attendu",
    "model_attributes_type": "un objet JSON est attendu",
    "json_invalid": "JSON invalide",
    "json_type": "JSON attendu",
    "extra_forbidden": "champ inconnu",
    "too_short": "trop peu d'éléments",
    "too_long": "trop d'éléments",
    "enum": "valeur inconnue",
    "literal_error": "valeur inconnue",
    "value_error": "valeur invalide",
}


def negotiate(accept_language: str | None) -> Language:
    """The language of `Accept-Language` to answer in: the preferred of French and English
    (by q-value, then order), French when it names neither."""
    best: tuple[float, int, Language] | None = None
    for position, item in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("fr", "en", "*"):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if not 0 < quality <= 1:
            continue
        language: Language = "en" if primary == "en" else "fr"
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, language)
    return DEFAULT_LANGUAGE if best is None else best[2]


def title(status: int, language: Language) -> str:
    french, english = TITLES.get(status, TITLES[500] if status >= 500 else TITLES[400])
    return french if language == "fr" else english


def detail(code: str, language: Language, **values: object) -> str | None:
    """The text of `code` in `language`, filled in; None when there is none for the code."""
    texts = DETAILS.get(code)
    if texts is None:
        return None
    try:
        return (texts[0] if language == "fr" else texts[1]).format(**values)
    except KeyError:  # a value the caller does not have (a use case's refusal carries none)
        return None


def validation(kind: str, english: str, language: Language) -> str:
    return VALIDATION_FR.get(kind, english) if language == "fr" else english
