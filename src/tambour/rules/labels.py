"""Labels and explanations of the stable codes (tambour.rules.codes): what a marketer reads in
the UI, the API and the reports, next to each legal basis, exclusion reason, deferral and
block. The codes stay English identifiers that never change meaning; a label or an explanation
may be reworded.

The texts live in the gettext catalogs (src/tambour/locale, read through tambour.i18n): the
English source texts below are their message ids, each with the code as its context
(`label:consent`, `explanation:consent`); the French catalog is the reference, as in
docs/rules.md. An explanation is one sentence: the rule behind the code and what to do.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from tambour.i18n import C_, translator

# code -> (label, explanation), English source texts (message ids of the catalogs).
SOURCE: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        # Legal bases (Basis).
        "transactional": (
            C_("label:transactional", "Transactional message (order, appointment, code)"),
            C_(
                "explanation:transactional",
                "The message answers a transaction of this recipient (an order, an "
                "appointment, a delivery, a one-time code): this is not prospection, so it "
                "needs no consent, but it must promote nothing.",
            ),
        ),
        "consent": (
            C_("label:consent", "Prior consent"),
            C_(
                "explanation:consent",
                "The person freely consented to messages from this advertiser on this channel, "
                "and the consent is dated and provable (method or wording): keep that proof, "
                "it is what allows the message.",
            ),
        ),
        "existing_customer": (
            C_("label:existing_customer", "Existing customer, similar products or services"),
            C_(
                "explanation:existing_customer",
                "The person bought from the advertiser itself products like those promoted "
                "and, when the number was collected, was informed and could object free of "
                "charge: the customer exception allows the message without consent.",
            ),
        ),
        "non_commercial": (
            C_(
                "label:non_commercial",
                "Non-commercial prospection (association, public body)",
            ),
            C_(
                "explanation:non_commercial",
                "The advertiser is recorded as a non-commercial body (RNA or SIREN) and the "
                "person was informed and could object free of charge at collection: the "
                "message may be sent without consent, as long as it promotes nothing.",
            ),
        ),
        "b2b_legitimate_interest": (
            C_(
                "label:b2b_legitimate_interest",
                "Professional, message related to their profession",
            ),
            C_(
                "explanation:b2b_legitimate_interest",
                "The contact is a professional who was informed and could object free of "
                "charge at collection, and the message concerns their profession (a target "
                "profession of the campaign is among theirs): allowed without consent, "
                "except by fax.",
            ),
        ),
        "political_membership": (
            C_(
                "label:political_membership",
                "Member or regular contact of the political organisation",
            ),
            C_(
                "explanation:political_membership",
                "The person is a member of the political organisation or in regular contact "
                "with it, which allows a political message without consent; anyone else "
                "needs to have consented.",
            ),
        ),
        # Exclusion reasons (Reason).
        "invalid_number": (
            C_("label:invalid_number", "Invalid number"),
            C_(
                "explanation:invalid_number",
                "The number is not a valid phone number (or has no time zone, like a "
                "satellite number), so nothing can be sent to it: correct it in the contact "
                "file.",
            ),
        ),
        "not_mobile": (
            C_("label:not_mobile", "Not a mobile number"),
            C_(
                "explanation:not_mobile",
                "A landline cannot receive SMS or MMS: there is nothing to do, the number is "
                "left out.",
            ),
        ),
        "duplicate": (
            C_("label:duplicate", "Duplicate in the campaign"),
            C_(
                "explanation:duplicate",
                "The same number appears more than once in the campaign: it receives the "
                "message only once, there is nothing to do.",
            ),
        ),
        "opted_out": (
            C_("label:opted_out", "Opt-out recorded (STOP, link, request)"),
            C_(
                "explanation:opted_out",
                "The person objected (STOP, link, request) after their last valid consent: "
                "never message them again unless they give a new consent (START, a new "
                "form).",
            ),
        ),
        "complaint_33700": (
            C_("label:complaint_33700", "Spam report to 33700"),
            C_(
                "explanation:complaint_33700",
                "The person reported one of your messages to 33700: the number is excluded "
                "for good, transactional messages included.",
            ),
        ),
        "consent_prechecked_box": (
            C_("label:consent_prechecked_box", "Void consent: pre-ticked box"),
            C_(
                "explanation:consent_prechecked_box",
                "A consent given through a box ticked by default is void: collect a new "
                "consent with a box the person ticks themselves.",
            ),
        ),
        "consent_bundled_with_terms": (
            C_(
                "label:consent_bundled_with_terms",
                "Void consent: bundled with accepting the terms and conditions",
            ),
            C_(
                "explanation:consent_bundled_with_terms",
                "A consent obtained only by accepting the terms and conditions is not free, "
                "so it is void: collect a separate, optional consent.",
            ),
        ),
        "consent_other_advertiser": (
            C_("label:consent_other_advertiser", "Consent given to another advertiser"),
            C_(
                "explanation:consent_other_advertiser",
                "The person consented to another company, and that consent does not cover "
                "you: collect your own consent.",
            ),
        ),
        "consent_other_channel": (
            C_("label:consent_other_channel", "Consent given for another channel"),
            C_(
                "explanation:consent_other_channel",
                "The consent covers another channel (email, for instance) than the "
                "campaign's: collect consent for this channel.",
            ),
        ),
        "consent_partner_unnamed": (
            C_(
                "label:consent_partner_unnamed",
                "“Partners” consent collected by a third party without naming the advertiser",
            ),
            C_(
                "explanation:consent_partner_unnamed",
                "A consent “for our partners” collected by a third party is valid only if "
                "the partners were named: ask the file's supplier for consents that name you.",
            ),
        ),
        "consent_unproven": (
            C_("label:consent_unproven", "Consent without proof: no method, no wording"),
            C_(
                "explanation:consent_unproven",
                "A consent with neither method nor wording cannot be shown to the CNIL: "
                "import how it was collected and what the person read (consent_method, "
                "consent_wording, consent_proof).",
            ),
        ),
        "customer_account_only": (
            C_(
                "label:customer_account_only",
                "Account created without a purchase: not a customer",
            ),
            C_(
                "explanation:customer_account_only",
                "Creating an account is not a purchase, so the customer exception does not "
                "apply: rely on consent.",
            ),
        ),
        "customer_product_not_similar": (
            C_("label:customer_product_not_similar", "Products not similar to those bought"),
            C_(
                "explanation:customer_product_not_similar",
                "The customer exception covers only products or services like those the "
                "person bought: fix the campaign's categories or rely on consent.",
            ),
        ),
        "customer_not_own_sale": (
            C_(
                "label:customer_not_own_sale",
                "Purchase made from a third party, not from the advertiser",
            ),
            C_(
                "explanation:customer_not_own_sale",
                "The purchase was made from a third party, and the customer exception covers "
                "only the advertiser's own sales: rely on consent.",
            ),
        ),
        "not_informed_at_collection": (
            C_("label:not_informed_at_collection", "Person not informed at collection"),
            C_(
                "explanation:not_informed_at_collection",
                "The person was not told at collection that their number would be used for "
                "prospection, so only a consent allows the message: collect it.",
            ),
        ),
        "no_objection_means_at_collection": (
            C_(
                "label:no_objection_means_at_collection",
                "No free way to object at collection",
            ),
            C_(
                "explanation:no_objection_means_at_collection",
                "The person could not object simply and free of charge when the number was "
                "collected, so only a consent allows the message: collect it.",
            ),
        ),
        "third_party_not_informed": (
            C_(
                "label:third_party_not_informed",
                "Third-party file without proof of information or objection",
            ),
            C_(
                "explanation:third_party_not_informed",
                "The number comes from a third party with no proof that the person was "
                "informed and could object: get that proof from the supplier "
                "(third_party_information_proof).",
            ),
        ),
        "b2b_not_relevant_to_profession": (
            C_("label:b2b_not_relevant_to_profession", "Message unrelated to the profession"),
            C_(
                "explanation:b2b_not_relevant_to_profession",
                "A professional may be messaged without consent only about their profession, "
                "and none of the campaign's target professions is theirs: fix the targeting "
                "or rely on consent.",
            ),
        ),
        "political_no_consent": (
            C_(
                "label:political_no_consent",
                "Political message without consent or membership",
            ),
            C_(
                "explanation:political_no_consent",
                "A political message needs the person's consent, or their membership of or "
                "regular contact with the organisation: collect a consent.",
            ),
        ),
        "no_legal_basis": (
            C_("label:no_legal_basis", "No legal basis"),
            C_(
                "explanation:no_legal_basis",
                "Nothing in the evidence allows this message (no valid consent, no customer "
                "relationship): collect the person's consent.",
            ),
        ),
        "no_transaction_reference": (
            C_(
                "label:no_transaction_reference",
                "No transaction of this recipient for this message",
            ),
            C_(
                "explanation:no_transaction_reference",
                "A transactional message must answer a transaction of its recipient, and "
                "this contact's transaction field is empty: fill it in or leave the contact "
                "out.",
            ),
        ),
        "retention_expired": (
            C_("label:retention_expired", "Retention period exceeded (3 years)"),
            C_(
                "explanation:retention_expired",
                "A prospect's data is kept 3 years from collection or their last action (a "
                "customer's, 3 years from the last purchase) and that time has passed: do "
                "not prospect them, delete the data or renew the relationship.",
            ),
        ),
        "window_expired": (
            C_("label:window_expired", "Sending deadline passed"),
            C_(
                "explanation:window_expired",
                "The next instant the sending window allows is past the campaign's send-by "
                "deadline: move the deadline, or accept that this recipient gets nothing.",
            ),
        ),
        # Deferrals (Deferral).
        "quiet_hours": (
            C_("label:quiet_hours", "Outside sending hours (8 am - 8 pm, local time)"),
            C_(
                "explanation:quiet_hours",
                "Prospection is sent only from 08:00 to 20:00 in the recipient's local time: "
                "the message waits for the next window, there is nothing to do.",
            ),
        ),
        "sunday": (
            C_("label:sunday", "Sunday: sending postponed"),
            C_(
                "explanation:sunday",
                "No prospection is sent on a Sunday where the recipient is: the message "
                "leaves at the next allowed instant, there is nothing to do.",
            ),
        ),
        "public_holiday": (
            C_("label:public_holiday", "Public holiday: sending postponed"),
            C_(
                "explanation:public_holiday",
                "No prospection is sent on a public holiday of the recipient's territory: the "
                "message leaves at the next allowed instant, there is nothing to do.",
            ),
        ),
        # Campaign-level blocks (Block).
        "invalid_sender_id": (
            C_("label:invalid_sender_id", "Invalid sender ID"),
            C_(
                "explanation:invalid_sender_id",
                "A sender ID has 3 to 11 Latin letters and digits with at least one letter, "
                "and is neither a generic word nor a mobile number (or it is the advertiser's "
                "short number): choose one that follows this rule.",
            ),
        ),
        "sender_not_owned": (
            C_("label:sender_not_owned", "Sender ID belonging to another advertiser"),
            C_(
                "explanation:sender_not_owned",
                "A sender ID belongs to a single advertiser on the platform, and this one is "
                "another advertiser's: use one of yours.",
            ),
        ),
        "missing_advertiser_identity": (
            C_("label:missing_advertiser_identity", "The advertiser is not identified"),
            C_(
                "explanation:missing_advertiser_identity",
                "The recipient must be able to tell who is writing: use one of the "
                "advertiser's sender IDs, or name the advertiser in the text.",
            ),
        ),
        "missing_stop_mention": (
            C_("label:missing_stop_mention", "STOP mention missing or wrong"),
            C_(
                "explanation:missing_stop_mention",
                "Prospection must offer a free way to opt out: write “STOP au” followed by "
                "your short number, or remove the mention so that it is added.",
            ),
        ),
        "empty_message": (
            C_("label:empty_message", "Empty message"),
            C_(
                "explanation:empty_message",
                "The text is empty, or comes out empty for some recipients: write a text.",
            ),
        ),
        "unresolved_placeholder": (
            C_("label:unresolved_placeholder", "Personalization field without a value"),
            C_(
                "explanation:unresolved_placeholder",
                "A personalization field of the text has no value for some recipients: give "
                "it a default ({first_name|Client}), fill the field in, or fix a stray brace.",
            ),
        ),
        "mms_too_large": (
            C_("label:mms_too_large", "MMS too large"),
            C_(
                "explanation:mms_too_large",
                "An MMS may weigh at most 300 KB: make the media smaller.",
            ),
        ),
        "promotional_content": (
            C_(
                "label:promotional_content",
                "Promotional content in a non-commercial message",
            ),
            C_(
                "explanation:promotional_content",
                "A transactional, non-commercial or political message may promote nothing: "
                "take the promotion out of the text, or declare the campaign commercial.",
            ),
        ),
        "too_many_parts": (
            C_("label:too_many_parts", "Message too long (too many SMS parts)"),
            C_(
                "explanation:too_many_parts",
                "A message may take at most 10 parts, counted with the personalized values "
                "and the STOP mention: shorten the text, knowing that one character outside "
                "GSM-7 (’, an emoji) cuts a part from 160 to 70 characters.",
            ),
        ),
        "nothing_to_send": (
            C_("label:nothing_to_send", "No message to send"),
            C_(
                "explanation:nothing_to_send",
                "Every targeted contact is excluded: read the exclusion reasons, then widen "
                "the targeting or import the missing consents.",
            ),
        ),
        "non_commercial_unrecorded": (
            C_(
                "label:non_commercial_unrecorded",
                "Advertiser not recorded as a non-commercial body (RNA or SIREN)",
            ),
            C_(
                "explanation:non_commercial_unrecorded",
                "Only an advertiser the operator recorded as a non-commercial body, with its "
                "RNA or SIREN number, may run a non-commercial campaign: have it recorded, or "
                "declare the campaign commercial.",
            ),
        ),
        "no_transaction_field": (
            C_(
                "label:no_transaction_field",
                "Transactional campaign without a transaction field",
            ),
            C_(
                "explanation:no_transaction_field",
                "A transactional campaign must name the contact field that carries each "
                "recipient's transaction (an order number, for instance): name that field.",
            ),
        ),
        "invalid_link": (
            C_("label:invalid_link", "A link's address is not valid"),
            C_(
                "explanation:invalid_link",
                "A {link:...} must give an address starting with http:// or https:// and naming "
                "a site: correct the address.",
            ),
        ),
        "links_unconfigured": (
            C_("label:links_unconfigured", "Links cannot be made"),
            C_(
                "explanation:links_unconfigured",
                "The text carries links made per message ({stop_link}, {link:...}) but the "
                "installation has no public address for them: the operator configures it.",
            ),
        ),
        "stop_link_transactional": (
            C_("label:stop_link_transactional", "Opt-out link in a transactional message"),
            C_(
                "explanation:stop_link_transactional",
                "A transactional message is not prospection and carries no marketing opt-out "
                "link: remove {stop_link}.",
            ),
        ),
    }
)


def label(code: str, language: str | None = "fr") -> str:
    """The label of a code in `language` (French by default; None: the environment's, for the
    command line); the code itself when it has none."""
    source = SOURCE.get(code)
    if source is None:
        return str(code)
    context = f"label:{code}"  # a variable: not a text for pybabel extract
    return translator(language).pgettext(context, source[0])


def explanation(code: str, language: str | None = "fr") -> str | None:
    """One sentence: the rule behind a code and what to do, in `language` (French by default;
    None: the environment's); None for a code without one."""
    source = SOURCE.get(code)
    if source is None:
        return None
    context = f"explanation:{code}"  # a variable: not a text for pybabel extract
    return translator(language).pgettext(context, source[1])


# The French labels, as the catalog has them (for the callers that read a mapping).
LABELS_FR: Final[Mapping[str, str]] = MappingProxyType({code: label(code) for code in SOURCE})
