"""The headers contact files really use, as data: which canonical column (rules.md section 2) each
one stands for, and what to suggest for a column the import keeps as a personalization field.

Headers compare by `header_key`: case, accents, spaces and punctuation ignored ("N° de portable"
= "n de portable" = "NDEPORTABLE"). A header is matched once per file, never per row.

The lists name a column only when the header cannot mean anything else: `Date` alone, `Source`,
`Type`, `Canal`, `Catégorie`, `Date de création` or `Téléphone fixe` stay personalization fields
(the import summary names them, and a mapping file says what they are). `Ville` has no
canonical column: it stays the `{ville}` of a message. An e-mail opt-in (`Opt-in e-mail`,
`Newsletter`) is not an SMS consent and is never read as one.
"""

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from tambour.contacts.row import CANONICAL_COLUMNS
from tambour.rules.template import field_key

__all__ = ["ALIASES", "OPPOSITION_ALIASES", "header_key", "lookup", "suggest"]

_NOT_LETTERS: Final = re.compile(r"[\W_]+")


def header_key(name: str) -> str:
    """What a header is compared by: folded (case, accents, ligatures), without spaces or
    punctuation: "Opt-in SMS" = "optin sms" = "OPTIN_SMS" -> "optinsms"."""
    return _NOT_LETTERS.sub("", field_key(name))


# Canonical column -> headers of French exports (and a few English ones), as people write them.
ALIASES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "phone": (
        "Téléphone", "Tél", "Tel.", "Mobile", "Portable", "Numéro", "GSM", "Cellulaire",
        "Téléphone portable", "Téléphone mobile", "Tél. portable", "Tél. mobile", "Tél portable",
        "Numéro de téléphone", "Numéro de tél", "Numéro de portable", "Numéro de mobile",
        "Numéro mobile", "Numéro portable", "Numéro de GSM", "N° de portable", "N° de mobile",
        "N° portable", "N° mobile", "N° de téléphone", "N° téléphone", "N° de tél", "N° tél",
        "No de portable", "No portable", "No de mobile", "No mobile", "No de téléphone",
        "Num portable", "Num mobile", "Num tél", "Portable perso", "Mobile perso",
        "Téléphone portable perso", "Numéro SMS", "Phone number", "Mobile phone",
        "Mobile number", "Cell phone", "Cellphone", "MSISDN",
    ),
    "external_id": (
        "ID client", "Identifiant client", "Numéro client", "Numéro de client", "N° client",
        "N° de client", "No client", "Code client", "Référence client", "Réf client",
        "Réf. client", "Customer ID", "Client ID", "External ID",
    ),
    "first_name": ("Prénom", "Prénom du client", "First name", "Firstname", "Given name"),
    "last_name": (
        "Nom", "Nom de famille", "Nom du client", "Last name", "Lastname", "Surname",
        "Family name",
    ),
    "company": (
        "Société", "Entreprise", "Raison sociale", "Nom de la société", "Nom société",
        "Nom de l'entreprise", "Organisation", "Company", "Company name", "Organization",
    ),
    "kind": (
        "Type de contact", "Type de client", "Type client", "Particulier ou professionnel",
        "Particulier/Professionnel", "B2B/B2C", "Contact type", "Customer type",
    ),
    "profession_tags": (
        "Profession", "Professions", "Métier", "Métiers", "Activité professionnelle",
    ),
    "postal_code": ("Code postal", "CP", "Code post.", "Postal code", "Zip", "Zip code"),
    "tags": ("Tag", "Étiquette", "Étiquettes", "Segment", "Segments", "Mots-clés"),
    "consent": (
        "Opt-in SMS", "Optin", "Opt-in", "Optin SMS", "SMS opt-in", "Opt-in marketing SMS",
        "Consentement", "Consentement SMS", "Consentement marketing", "Consentement prospection",
        "Consentement SMS marketing", "Accord SMS", "Accord marketing SMS", "Accepte SMS",
        "Accepte les SMS", "Accepte SMS marketing", "Autorisation SMS", "OK SMS", "Abonné SMS",
        "Inscrit SMS", "SMS consent",
    ),
    "consent_at": (
        "Date opt-in", "Date optin", "Date d'opt-in", "Date opt-in SMS", "Date de l'opt-in",
        "Opt-in le", "Date de consentement", "Date consentement", "Date du consentement",
        "Date de consentement SMS", "Date consentement SMS", "Consenti le", "Date de l'accord",
        "Date accord SMS", "Date d'inscription", "Date inscription", "Inscrit le",
        "Date d'abonnement", "Date abonnement SMS", "Opt-in date", "Consent date",
    ),
    "consent_channels": (
        "Canaux de consentement", "Canal de consentement", "Canaux consentis",
        "Consent channels",
    ),
    "consent_method": (
        "Méthode de consentement", "Mode de consentement", "Mode de recueil",
        "Méthode de recueil", "Moyen de recueil", "Mode de recueil du consentement",
        "Mode d'opt-in", "Consent method",
    ),
    "consent_checkbox_prechecked": (
        "Case précochée", "Case pré-cochée", "Case cochée par défaut", "Précoché",
    ),
    "consent_bundled_with_terms": (
        "Lié aux CGU", "Lié aux CGV", "Lié aux CGU/CGV", "Consentement lié aux CGU",
        "Consentement lié aux CGV", "Inclus dans les CGU", "Inclus dans les CGV",
    ),
    "consent_advertiser": (
        "Annonceur du consentement", "Consentement donné à", "Bénéficiaire du consentement",
    ),
    "consent_wording": (
        "Texte du consentement", "Libellé du consentement", "Formulation du consentement",
        "Mention de consentement", "Texte opt-in", "Libellé opt-in", "Texte de l'opt-in",
        "Consent wording",
    ),
    "consent_source": (
        "Source du consentement", "Source opt-in", "Source de l'opt-in",
        "Origine du consentement", "Origine opt-in", "URL du formulaire", "Consent source",
    ),
    "consent_proof": (
        "Preuve", "Preuve du consentement", "Preuve de consentement", "Preuve opt-in",
        "Consent proof",
    ),
    "collected_at": (
        "Date de collecte", "Date collecte", "Collecté le", "Date de recueil", "Collection date",
    ),
    "collected_by": (
        "Collecté par", "Collecteur", "Fournisseur du fichier", "Fournisseur des données",
    ),
    "informed_at_collection": (
        "Informé à la collecte", "Informé lors de la collecte", "Information à la collecte",
        "Personne informée",
    ),
    "objection_offered_at_collection": (
        "Opposition proposée", "Opposition proposée à la collecte", "Possibilité d'opposition",
        "Droit d'opposition proposé",
    ),
    "third_party_information_proof": (
        "Preuve d'information", "Preuve d'information du tiers", "Preuve information tiers",
    ),
    "account_created_at": (
        "Date de création du compte", "Date création compte", "Date de création de compte",
        "Compte créé le", "Date d'ouverture du compte", "Account created",
    ),
    "last_purchase_at": (
        "Date dernier achat", "Date du dernier achat", "Date de dernier achat", "Dernier achat",
        "Dernier achat le", "Dernière commande", "Date dernière commande",
        "Date de dernière commande", "Date de la dernière commande", "Last purchase",
        "Last purchase date", "Last order date",
    ),
    "purchased_categories": (
        "Catégories achetées", "Catégorie achetée", "Catégories d'achat", "Rayons achetés",
    ),
    "opted_out": (
        "Désinscrit", "Désinscrit SMS", "Désabonné", "Désabonné SMS", "Opposition",
        "Opposition SMS", "Opt-out", "Optout", "Opt-out SMS", "STOP", "STOP SMS", "Refus SMS",
        "Ne pas contacter", "Unsubscribed",
    ),
    "opted_out_at": (
        "Date de désinscription", "Date désinscription", "Désinscrit le",
        "Date de désabonnement", "Date désabonnement", "Date d'opposition", "Date opposition",
        "Date opt-out", "Date optout", "Date du STOP", "Date STOP", "Opt-out date",
        "Unsubscribed at",
    ),
    "opt_out_source": (
        "Source de désinscription", "Source de la désinscription", "Source de l'opposition",
        "Canal de désinscription", "Opt-out source",
    ),
    "last_activity_at": (
        "Dernière activité", "Date de dernière activité", "Date dernière activité",
        "Dernière interaction", "Date de dernière interaction", "Last activity",
    ),
    "member_since": ("Adhérent depuis", "Date d'adhésion", "Date adhésion", "Member since"),
})  # fmt: skip

# On an opposition list (`optout import`) a date is when the number was put on the list: there
# `Date` and `Date d'inscription` (on the list) are the opt-out's date. (Its source is read only
# from a column that says so, `Source de désinscription`: a `Source` or `Canal` column holds the
# list's own words, not the sources Tambour knows.)
OPPOSITION_ALIASES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "opted_out_at": (
        "Date", "Date d'inscription", "Date inscription", "Inscrit le", "Date d'ajout",
        "Ajouté le", "Date de la demande", "Date de demande", "Date de réception", "Reçu le",
    ),
})  # fmt: skip


def _by_key(canonical: Iterable[str], aliases: Mapping[str, tuple[str, ...]]) -> Mapping[str, str]:
    """Header key -> canonical column; a key claimed by two columns is a mistake in the data."""
    found = {header_key(name): name for name in canonical}
    for column, headers in aliases.items():
        for header in headers:
            key = header_key(header)
            if found.setdefault(key, column) != column:
                raise ValueError(f"header {header!r} stands for both {found[key]} and {column}")
    return MappingProxyType(found)


_COLUMNS: Final = _by_key(CANONICAL_COLUMNS, ALIASES)
_OPPOSITION: Final = _by_key((), OPPOSITION_ALIASES)
assert set(ALIASES) | set(OPPOSITION_ALIASES) <= set(CANONICAL_COLUMNS)


def lookup(header: str, *, opposition_list: bool = False) -> str | None:
    """The canonical column a header stands for (`Numéro de mobile` -> `phone`), None for a
    header that names none. On an opposition list its own words come first."""
    key = header_key(header)
    if opposition_list and key in _OPPOSITION:
        return _OPPOSITION[key]
    return _COLUMNS.get(key)


# What a personalization field may hold, guessed from its header's words, for the import's
# suggestions only (never applied): (words, canonical column when dated, when not dated).
_MAIL: Final = ("mail", "newsletter")
_HINTS: Final = (  # in this order: "désinscrit" holds "inscrit"
    (("desinscri", "desabonn", "opposition", "optout", "stop"), "opted_out_at", "opted_out"),
    (("optin", "consent", "accord", "inscri", "abonn", "accept", "sms"), "consent_at", "consent"),
    (("achat", "commande", "purchase", "order"), "last_purchase_at", None),
    (("collect", "recueil"), "collected_at", None),
    (("date",), "consent_at", None),
)


def suggest(header: str) -> str | None:
    """The canonical column a personalization field's header suggests it may be (`Statut
    opt-in` -> consent, `Inscrit le` -> consent_at), None when it suggests nothing. A guess to
    show the user, never applied."""
    key = header_key(header)
    if any(word in key for word in _MAIL):
        return None
    dated = "date" in key or key.endswith(("le", "depuis"))
    for words, when_dated, otherwise in _HINTS:
        if any(word in key for word in words):
            return when_dated if dated else otherwise
    return None
