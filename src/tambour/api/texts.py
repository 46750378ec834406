"""What the API says to people, in French (the default) and English, chosen by the request's
`Accept-Language`. All of it is here, for the gettext catalogs of the web UI to take over.

A use case's refusal (services/context.py `ServiceError`) carries its own words, in English
for now: they are given as they are unless a French text for its `code` is here.
"""

from collections.abc import Callable
from typing import Final, Literal, TypeVar

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
    # contacts (and the opt-out check)
    "invalid_phone": (
        "Ce n'est pas un numéro de téléphone valide.",
        "This is not a valid phone number.",
    ),
    "contact_not_found": ("Aucun contact de ce numéro.", "No contact with this id."),
    "consent_not_dated": (
        "Un consentement donné dit quand il a été donné (sa date).",
        "A consent given says when it was given (its date).",
    ),
    "consent_unproven": (
        "Un consentement donné dit comment le montrer : sa méthode (web_form, paper_form…) "
        "ou le texte que la personne a accepté.",
        "A consent given says how it can be shown: its method (web_form, paper_form...) or "
        "the wording the person accepted.",
    ),
    "list_separator": (
        "Un élément de liste ne contient pas de « ; » : il sépare les éléments.",
        "A list member holds no ';': it separates the members.",
    ),
    "reserved_field": (
        "Ce nom est une colonne du contact lui-même, pas un champ de personnalisation.",
        "This name is a column of the contact itself, not a personalization field.",
    ),
    "duplicate_field": (
        "Deux champs de personnalisation ne diffèrent que par la casse ou les accents.",
        "Two personalization fields differ only by case or accents.",
    ),
    "upload_too_large": (
        "Le fichier dépasse la taille permise ({most} octets) : rien n'a été gardé.",
        "The file is larger than allowed ({most} bytes): nothing was kept.",
    ),
    "unsupported_upload": (
        "Envoyez le fichier CSV lui-même comme corps de la requête (Content-Type: text/csv).",
        "Send the CSV file itself as the request body (Content-Type: text/csv).",
    ),
    "empty_upload": ("Le fichier envoyé est vide.", "The file sent is empty."),
    "job_file_not_found": (
        "Cette tâche n'a pas (encore) de fichier à télécharger.",
        "This job has no file to download (yet).",
    ),
    # 33700 complaints
    "no_report": (
        "Le fichier ne contient aucun signalement.",
        "The file holds no report.",
    ),
    "no_number_column": (
        "Le fichier n'a pas de colonne des numéros signalés (Numéro, Numéro signalé, Number...).",
        "The file has no column of reported numbers (Numéro, Numéro signalé, Number...).",
    ),
    "no_sender_column": (
        "Le fichier n'a pas de colonne des émetteurs (Émetteur, Expéditeur, Sender...).",
        "The file has no column of senders (Émetteur, Expéditeur, Sender...).",
    ),
    "no_date_column": (
        "Le fichier n'a pas de colonne des dates (Date, Date du signalement, Reported at...).",
        "The file has no column of dates (Date, Date du signalement, Reported at...).",
    ),
    "not_paused": (
        "Cette campagne n'est pas suspendue.",
        "This campaign is not paused.",
    ),
    "invalid_threshold": (
        "Un taux pour 1 000 messages, au-dessus de 0 et jusqu'à 1 000.",
        "A rate per 1,000 messages, above 0 and up to 1,000.",
    ),
    # data requests
    "request_not_found": (
        "Aucune demande de droits de ce numéro.",
        "No data request with this id.",
    ),
    "not_open": (
        "Cette demande est déjà traitée ou refusée.",
        "This request is answered or refused already.",
    ),
    "already_extended": (
        "Le délai de cette demande a déjà été prolongé (une fois, de deux mois au plus).",
        "This request's deadline was extended already (once, by two months at most).",
    ),
    "extension_too_late": (
        "Le délai d'un mois est passé : une prolongation s'annonce à la personne avant.",
        "The one-month deadline has passed: an extension is told to the person before it.",
    ),
    "received_in_future": (
        "Une demande ne peut pas avoir été reçue après aujourd'hui.",
        "A request cannot have been received after today.",
    ),
    "empty_requester": (
        "Dites qui a fait la demande (la personne, ou qui agit pour elle).",
        "Say who asked (the person, or who acts for them).",
    ),
    "empty_reason": (
        "Donnez la raison (elle est dite à la personne).",
        "Give the reason (it is told to the person).",
    ),
    "wrong_kind": (
        "Cette réponse ne convient pas au type de la demande.",
        "This answer does not fit the request's kind.",
    ),
    "no_contact": (
        "Le numéro n'est pas un contact de l'annonceur : il n'y a rien à rectifier.",
        "The number is not a contact of the advertiser: there is nothing to rectify.",
    ),
    "not_rectifiable": (
        "Ce champ ne se rectifie pas ici : un consentement ou une opposition est un fait daté ; "
        "enregistrez-en un nouveau.",
        "This field cannot be rectified here: a consent or an opposition is a dated fact; "
        "record a new one.",
    ),
    "no_corrections": (
        "Donnez au moins un champ à corriger.",
        "Give at least one field to correct.",
    ),
    "bad_postal_code": (
        "Ce n'est pas un code postal français (5 chiffres).",
        "This is not a French postal code (5 digits).",
    ),
    # campaigns
    "campaign_not_found": ("Aucune campagne de ce numéro.", "No campaign with this id."),
    "campaign_exists": (
        "L'annonceur a déjà une campagne de ce nom.",
        "The advertiser has a campaign of this name already.",
    ),
    "unknown_sender": (
        "Ce n'est ni un émetteur (sender ID) de l'annonceur, ni son numéro court.",
        "This is neither a sender ID of the advertiser nor its short number.",
    ),
    "campaign_launched": (
        "Cette campagne est lancée : elle ne peut plus changer ; annulez-la et créez-en une autre.",
        "This campaign is launched: it cannot change; cancel it and create another.",
    ),
    "campaign_cancelled": (
        "Cette campagne est annulée : créez-en une nouvelle.",
        "This campaign is cancelled: create a new one.",
    ),
    "campaign_finished": (
        "Cette campagne est terminée : chaque message a connu son sort, rien n'est à annuler.",
        "This campaign is finished: every message reached its fate, nothing is left to cancel.",
    ),
    "unknown_link": (
        "Ce lien est inconnu ou n'est plus valide.",
        "This link is unknown or no longer valid.",
    ),
    "campaign_frozen": (
        "Cette campagne est lancée ou annulée : son plan ne peut plus changer.",
        "This campaign is launched or cancelled: its plan can no longer change.",
    ),
    "campaign_not_launched": (
        "Cette campagne n'est pas lancée : seul le plan figé d'une campagne lancée fait preuve.",
        "This campaign is not launched: only a launched campaign's frozen plan is proof.",
    ),
    "plan_missing": (
        "Cette campagne n'a pas encore de plan : planifiez-la et lisez son rapport d'abord.",
        "This campaign has no plan yet: plan it and read its report first.",
    ),
    "plan_stale": (
        "Le plan a plus de 24 heures : planifiez à nouveau, relisez le rapport, puis lancez.",
        "The plan is over 24 hours old: plan again, read the report, then launch.",
    ),
    "plan_discarded": (
        "La campagne a changé pendant la planification : ce plan est écarté, planifiez à nouveau.",
        "The campaign changed while it was planned: this plan is discarded, plan again.",
    ),
    "campaign_blocked": (
        "La campagne est bloquée : rien ne peut partir tant que cela ne change pas "
        "(voyez « blocks » dans le rapport du plan).",
        "The campaign is blocked: nothing can be sent until this changes "
        "(see 'blocks' in the plan's report).",
    ),
    "send_by_past": (
        "La date limite d'envoi est déjà passée.",
        "The deadline is already past.",
    ),
    "send_by_before_start": (
        "La date limite d'envoi n'est pas après le début.",
        "The deadline is not after the start.",
    ),
    "too_many_variants": (
        "Un test A/B a au plus 4 variantes : le texte de la campagne (A) et jusqu'à 3 autres.",
        "An A/B test has at most 4 variants: the campaign's text (A) and up to 3 more.",
    ),
    "variant_empty": (
        "Cette variante est vide.",
        "This variant is empty.",
    ),
    "variant_same_text": (
        "Cette variante reprend le texte d'une autre : elle ne testerait rien.",
        "This variant repeats another's text: it would test nothing.",
    ),
    "variant_links_differ": (
        "Chaque variante doit porter les mêmes liens que la variante A ({{link:...}} et "
        "{{stop_link}}, dans le même ordre), pour que leurs clics se comparent.",
        "Every variant must carry the same links as variant A ({{link:...}} and {{stop_link}}, in "
        "the "
        "same order), so that their clicks compare.",
    ),
    "test_share_range": (
        "La part testée est un pourcentage de 1 à 100.",
        "The share tested is a percentage from 1 to 100.",
    ),
    "test_duration_range": (
        "Le test dure de 1 minute à 14 jours.",
        "The test lasts from 1 minute to 14 days.",
    ),
    "winner_by_clicks_without_link": (
        "Un gagnant choisi aux clics demande un lien court ({{link:https://...}}) dans chaque "
        "variante : ajoutez-en un, ou choisissez aux désinscriptions.",
        "A winner chosen by clicks needs a short link ({{link:https://...}}) in every variant: add "
        "one, or choose by opt-outs.",
    ),
    "ab_settings_without_variants": (
        "Les réglages d'un test A/B demandent des variantes : donnez les textes des variantes B, "
        "C, D.",
        "An A/B test's settings need variants: give the texts of variants B, C, D.",
    ),
    "winner_by_unknown": (
        "Le gagnant se choisit aux clics (clicks) ou aux désinscriptions (optouts).",
        "The winner is chosen by clicks or by optouts.",
    ),
    "no_ab_test": (
        "Cette campagne n'a pas de test A/B.",
        "This campaign has no A/B test.",
    ),
    "not_launched": (
        "Cette campagne n'est pas lancée : son test n'a pas commencé.",
        "This campaign is not launched: its test has not begun.",
    ),
    "winner_chosen": (
        "Le gagnant de ce test est déjà choisi.",
        "This test's winner is chosen already.",
    ),
    "test_running": (
        "Le test est en cours : nommez la variante à envoyer au reste de l'audience pour le "
        "terminer plus tôt.",
        "The test is running: name the variant to send to the rest of the audience to end it "
        "sooner.",
    ),
    "unknown_variant": (
        "Cette campagne n'a pas cette variante.",
        "This campaign has no such variant.",
    ),
    "recipients_changed": (
        "Des destinataires ont changé dans le registre depuis le plan : planifiez à nouveau, "
        "relisez le rapport, puis lancez.",
        "Recipients changed in the ledger since the plan: plan again, read it, then launch.",
    ),
    "window_unusable": (
        "La plage d'envoi enregistrée pour l'annonceur est inutilisable.",
        "The advertiser's stored sending window is unusable.",
    ),
    "window_too_wide": (
        "La plage d'envoi enregistrée pour l'annonceur est plus large que la loi.",
        "The advertiser's stored sending window is wider than the law.",
    ),
    "nothing_changed": (
        "La campagne a déjà cette définition : rien n'a changé.",
        "The campaign has this definition already: nothing changed.",
    ),
    "name_required": ("Une campagne a besoin d'un nom.", "A campaign needs a name."),
    "name_too_long": ("200 caractères au plus.", "At most 200 characters."),
    "phone_in_text": (
        "Contient un numéro de téléphone (le journal d'audit n'en garde aucun).",
        "Holds a phone number (the audit log keeps none).",
    ),
    "control_character": (
        "Contient un caractère de contrôle (invisible).",
        "Holds a control character (invisible).",
    ),
    "channel_not_supported": (
        "Seules les campagnes SMS sont possibles pour l'instant.",
        "Only SMS campaigns are supported for now.",
    ),
    "text_empty": ("Le message est vide.", "The message is empty."),
    "transaction_not_transactional": (
        "Seule une campagne transactionnelle nomme une transaction.",
        "Only a transactional campaign names a transaction.",
    ),
    "transaction_required": (
        "Un message transactionnel répond à une transaction de son destinataire : nommez le "
        "champ du contact qui la porte (commande, rendez-vous, livraison).",
        "A transactional message answers one transaction of its recipient: name the contact "
        "field that carries it (order, appointment, delivery).",
    ),
    "value_required": (
        "Ce champ ne peut pas être null : omettez-le pour garder sa valeur.",
        "This member cannot be null: leave it out to keep its value.",
    ),
    # messages
    "message_not_found": ("Aucun message de ce numéro.", "No message with this id."),
    # callbacks
    "callback_carrier_not_found": (
        "Aucun transporteur HTTP ne reçoit ses accusés à cette adresse.",
        "No HTTP carrier receives its callbacks at this address.",
    ),
    "invalid_callback_token": (
        "Jeton de rappel absent ou faux : envoyez « Authorization: Bearer <callback_token> ».",
        "Missing or wrong callback token: send 'Authorization: Bearer <callback_token>'.",
    ),
    "callback_too_large": (
        "Rappel trop grand : {limit} octets au plus.",
        "Callback too large: {limit} bytes at most.",
    ),
    "callback_too_slow": (
        "Le corps du rappel n'est pas arrivé en entier dans les {seconds} s.",
        "The callback's body did not arrive whole within {seconds} s.",
    ),
    "callback_too_deep": (
        "Rappel trop imbriqué : un objet JSON à plat est attendu.",
        "Callback nested too deep: a flat JSON object is expected.",
    ),
    "callback_not_recordable": (
        "Cet accusé ne peut pas être enregistré : inutile de le renvoyer.",
        "This receipt cannot be recorded: do not send it again.",
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
    found: Language | None = preferred(accept_language, _language_of)
    return DEFAULT_LANGUAGE if found is None else found


_LANGUAGES: Final[dict[str, Language]] = {"fr": "fr", "en": "en", "*": "fr"}
T = TypeVar("T")


def _language_of(tag: str) -> Language | None:
    return _LANGUAGES.get(tag.split("-", maxsplit=1)[0])


def preferred(header: str | None, choose: Callable[[str], T | None]) -> T | None:
    """What an `Accept`-like header prefers (`Accept`, `Accept-Language`): of its items (20 at
    most), those `choose` knows (it is given each item's token, lower case, and says what it
    stands for, or None), the one of the highest q-value, then the first; None when there is
    none. An item of q=0 (or of a q that is no number) is refused, as RFC 9110 says."""
    best: tuple[float, int, T] | None = None
    for position, item in enumerate((header or "").split(",")[:20]):
        token, _, params = item.strip().partition(";")
        found = choose(token.strip().lower())
        if found is None:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if 0 < quality <= 1 and (best is None or (quality, -position) > (best[0], -best[1])):
            best = (quality, position, found)
    return None if best is None else best[2]


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
