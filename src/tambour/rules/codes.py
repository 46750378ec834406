"""The stable codes of rules.md: legal bases, exclusion reasons, deferrals and campaign blocks.

A code never changes meaning once shipped: plans, exports, the API and the UI all carry them.
"""

from enum import StrEnum


class Basis(StrEnum):
    """Why a message may be sent (rules.md section 3, steps 2 and 4)."""

    TRANSACTIONAL = "transactional"
    CONSENT = "consent"
    EXISTING_CUSTOMER = "existing_customer"
    NON_COMMERCIAL = "non_commercial"
    B2B_LEGITIMATE_INTEREST = "b2b_legitimate_interest"
    POLITICAL_MEMBERSHIP = "political_membership"  # a member, or in regular contact


class Reason(StrEnum):
    """Why a contact is excluded from a campaign (rules.md section 3)."""

    INVALID_NUMBER = "invalid_number"
    NOT_MOBILE = "not_mobile"
    DUPLICATE = "duplicate"
    OPTED_OUT = "opted_out"
    COMPLAINT_33700 = "complaint_33700"
    CONSENT_PRECHECKED_BOX = "consent_prechecked_box"
    CONSENT_BUNDLED_WITH_TERMS = "consent_bundled_with_terms"
    CONSENT_OTHER_ADVERTISER = "consent_other_advertiser"
    CONSENT_OTHER_CHANNEL = "consent_other_channel"
    CONSENT_PARTNER_UNNAMED = "consent_partner_unnamed"
    CONSENT_UNPROVEN = "consent_unproven"
    CUSTOMER_ACCOUNT_ONLY = "customer_account_only"
    CUSTOMER_PRODUCT_NOT_SIMILAR = "customer_product_not_similar"
    CUSTOMER_NOT_OWN_SALE = "customer_not_own_sale"
    NOT_INFORMED_AT_COLLECTION = "not_informed_at_collection"
    NO_OBJECTION_MEANS_AT_COLLECTION = "no_objection_means_at_collection"
    THIRD_PARTY_NOT_INFORMED = "third_party_not_informed"
    B2B_NOT_RELEVANT_TO_PROFESSION = "b2b_not_relevant_to_profession"
    POLITICAL_NO_CONSENT = "political_no_consent"
    NO_LEGAL_BASIS = "no_legal_basis"
    NO_TRANSACTION_REFERENCE = "no_transaction_reference"
    RETENTION_EXPIRED = "retention_expired"
    WINDOW_EXPIRED = "window_expired"


class Deferral(StrEnum):
    """Why a send is held until the next allowed instant (rules.md section 3 step 6, section 4)."""

    QUIET_HOURS = "quiet_hours"
    SUNDAY = "sunday"
    PUBLIC_HOLIDAY = "public_holiday"


class Block(StrEnum):
    """Campaign-level blocks: while one stands, nothing is sent (rules.md section 5)."""

    INVALID_SENDER_ID = "invalid_sender_id"
    MISSING_ADVERTISER_IDENTITY = "missing_advertiser_identity"
    MISSING_STOP_MENTION = "missing_stop_mention"
    EMPTY_MESSAGE = "empty_message"
    UNRESOLVED_PLACEHOLDER = "unresolved_placeholder"
    MMS_TOO_LARGE = "mms_too_large"
    PROMOTIONAL_CONTENT = "promotional_content"
    TOO_MANY_PARTS = "too_many_parts"
    NOTHING_TO_SEND = "nothing_to_send"
    NON_COMMERCIAL_UNRECORDED = "non_commercial_unrecorded"
    NO_TRANSACTION_FIELD = "no_transaction_field"
    INVALID_LINK = "invalid_link"  # a {link:...} whose address is not an http(s) URL
    LINKS_UNCONFIGURED = "links_unconfigured"  # links in the text, no public URL configured
    STOP_LINK_TRANSACTIONAL = "stop_link_transactional"  # {stop_link} in a transactional text


class Nature(StrEnum):
    COMMERCIAL = "commercial"
    NON_COMMERCIAL = "non_commercial"
    POLITICAL = "political"
    TRANSACTIONAL = "transactional"


class Channel(StrEnum):
    SMS = "sms"
    MMS = "mms"
    FAX = "fax"


class ContactKind(StrEnum):
    PERSON = "person"
    PROFESSIONAL = "professional"


class OptOutSource(StrEnum):
    SMS_STOP = "sms_stop"
    LINK = "link"
    COMPLAINT_33700 = "complaint_33700"
    MANUAL = "manual"
    DATA_REQUEST = "data_request"
