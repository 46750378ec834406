"""French labels of the stable codes (tambour.rules.codes): what the marketer reads in the UI and
the reports. The codes stay English identifiers that never change meaning; a label may be
reworded. docs/rules.md explains each code and what to do about it."""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

LABELS_FR: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Legal bases (Basis).
        "transactional": "Message transactionnel (commande, rendez-vous, code)",
        "consent": "Consentement préalable",
        "existing_customer": "Client existant, produits ou services analogues",
        "non_commercial": "Prospection non commerciale (association, organisme public)",
        "b2b_legitimate_interest": "Professionnel, message en rapport avec sa profession",
        "political_membership": "Adhérent ou contact régulier de l'organisation politique",
        # Exclusion reasons (Reason).
        "invalid_number": "Numéro invalide",
        "not_mobile": "Numéro qui n'est pas un mobile",
        "duplicate": "Doublon dans la campagne",
        "opted_out": "Opposition enregistrée (STOP, lien, demande)",
        "complaint_33700": "Signalement de spam au 33700",
        "consent_prechecked_box": "Consentement nul : case précochée",
        "consent_bundled_with_terms": "Consentement nul : lié à l'acceptation des CGU/CGV",
        "consent_other_advertiser": "Consentement donné à un autre annonceur",
        "consent_other_channel": "Consentement donné pour un autre canal",
        "consent_partner_unnamed": (
            "Consentement « partenaires » recueilli par un tiers sans nommer l'annonceur"
        ),
        "consent_unproven": "Consentement sans preuve : ni méthode ni formulation",
        "customer_account_only": "Compte créé sans achat : pas un client",
        "customer_product_not_similar": "Produits non analogues à ceux achetés",
        "customer_not_own_sale": "Achat fait auprès d'un tiers, pas de l'annonceur",
        "not_informed_at_collection": "Personne non informée lors de la collecte",
        "no_objection_means_at_collection": "Pas de moyen gratuit de s'opposer lors de la collecte",
        "third_party_not_informed": "Fichier tiers sans preuve d'information ni d'opposition",
        "b2b_not_relevant_to_profession": "Message sans rapport avec la profession",
        "political_no_consent": "Message politique sans consentement ni adhésion",
        "no_legal_basis": "Aucune base légale",
        "no_transaction_reference": "Aucune transaction de ce destinataire pour ce message",
        "retention_expired": "Durée de conservation dépassée (3 ans)",
        "window_expired": "Date limite d'envoi dépassée",
        # Deferrals (Deferral).
        "quiet_hours": "Hors plage horaire (8 h - 20 h, heure locale)",
        "sunday": "Dimanche : envoi reporté",
        "public_holiday": "Jour férié : envoi reporté",
        # Campaign-level blocks (Block).
        "invalid_sender_id": "Émetteur (sender ID) invalide",
        "missing_advertiser_identity": "L'annonceur n'est pas identifié",
        "missing_stop_mention": "Mention STOP absente ou incorrecte",
        "empty_message": "Message vide",
        "unresolved_placeholder": "Champ de personnalisation sans valeur",
        "mms_too_large": "MMS trop volumineux",
        "promotional_content": "Contenu promotionnel dans un message non commercial",
        "too_many_parts": "Message trop long (trop de segments SMS)",
        "nothing_to_send": "Aucun message à envoyer",
        "non_commercial_unrecorded": (
            "Annonceur non enregistré comme organisme non commercial (RNA ou SIREN)"
        ),
        "no_transaction_field": "Campagne transactionnelle sans champ de transaction",
        "sender_not_owned": "Émetteur appartenant à un autre annonceur",
    }
)


def label(code: str) -> str:
    """The French label of a code; the code itself when it has none."""
    return LABELS_FR.get(code) or str(code)
