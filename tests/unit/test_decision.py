"""rules.md section 3: every basis and every exclusion reason, one fact changed at a time."""

from datetime import UTC, datetime, timedelta

import pytest

from tambour.rules.codes import Basis, Channel, ContactKind, Deferral, Nature, OptOutSource, Reason
from tambour.rules.decision import decide, decide_all, later_duplicates
from tambour.rules.facts import OptOut
from tambour.rules.fold import fold_set
from tambour.sms.phone import parse_phone
from tests.unit.factories import ADVERTISER, NOW, campaign, consent, contact, informed


def reason_of(c, camp=None, now=NOW):  # type: ignore[no-untyped-def]
    d = decide(c, camp or campaign(), ADVERTISER, now)
    assert not d.send, f"expected an exclusion, got send on {d.basis}"
    return d.reason


def basis_of(c, camp=None, now=NOW):  # type: ignore[no-untyped-def]
    d = decide(c, camp or campaign(), ADVERTISER, now)
    assert d.send, f"expected a send, got exclude for {d.reason}"
    return d.basis


# --- step 1: the number -------------------------------------------------------------------


def test_unparseable_number_is_invalid() -> None:
    assert reason_of(contact("06 12 34", consents=(consent(),))) is Reason.INVALID_NUMBER
    assert reason_of(contact("not a number", consents=(consent(),))) is Reason.INVALID_NUMBER


def test_landline_is_not_mobile_for_sms_and_mms_but_fine_for_fax() -> None:
    fixed = contact("01 42 68 53 00", consents=(consent(channels=frozenset({"sms", "fax"})),))
    assert reason_of(fixed) is Reason.NOT_MOBILE
    assert reason_of(fixed, campaign(channel=Channel.MMS)) is Reason.NOT_MOBILE
    assert basis_of(fixed, campaign(channel=Channel.FAX)) is Basis.CONSENT


def test_second_notation_of_a_number_is_a_duplicate() -> None:
    rows = [
        contact("06 12 34 56 78", consents=(consent(),)),
        contact("+33 6 12 34 56 78", consents=(consent(),)),
        contact("0033612345678", consents=(consent(),)),
        contact("06 12 34 56 79", consents=(consent(),)),
    ]
    decisions = [d for _, d in decide_all(rows, campaign(), ADVERTISER, NOW)]
    assert [d.reason for d in decisions] == [None, Reason.DUPLICATE, Reason.DUPLICATE, None]


def test_invalid_rows_do_not_make_later_rows_duplicates() -> None:
    rows = [contact("06 12 34", consents=(consent(),)), contact("06 12 34", consents=(consent(),))]
    decisions = [d.reason for _, d in decide_all(rows, campaign(), ADVERTISER, NOW)]
    assert decisions == [Reason.INVALID_NUMBER, Reason.INVALID_NUMBER]


# --- step 2: transactional ----------------------------------------------------------------


TRANSACTIONAL = campaign(nature=Nature.TRANSACTIONAL, transaction_field="commande")


def test_transactional_skips_marketing_opposition_basis_and_window() -> None:
    opted_out = contact(
        opt_outs=(OptOut(OptOutSource.SMS_STOP, NOW - timedelta(days=1)),),
        transaction_reference="CMD-1",
    )
    sunday_night = datetime(2026, 12, 6, 22, 30, tzinfo=UTC)
    d = decide(opted_out, TRANSACTIONAL, ADVERTISER, sunday_night)
    assert d.send and d.basis is Basis.TRANSACTIONAL
    assert d.send_at == sunday_night and d.deferral is None


def test_transactional_needs_the_recipients_own_transaction() -> None:
    assert reason_of(contact(), TRANSACTIONAL) is Reason.NO_TRANSACTION_REFERENCE
    assert reason_of(contact(transaction_reference="  "), TRANSACTIONAL) is (
        Reason.NO_TRANSACTION_REFERENCE
    )


@pytest.mark.parametrize("suppressed", [False, True])
def test_a_33700_complaint_stops_even_a_transactional_message(suppressed: bool) -> None:
    complaint = OptOut(OptOutSource.COMPLAINT_33700, NOW - timedelta(days=3))
    c = contact(
        transaction_reference="CMD-1",
        **({"suppression": complaint} if suppressed else {"opt_outs": (complaint,)}),
    )
    assert reason_of(c, TRANSACTIONAL) is Reason.COMPLAINT_33700


# --- step 3: opposition -------------------------------------------------------------------


def test_opt_out_after_consent_excludes() -> None:
    c = contact(
        consents=(consent(at=datetime(2026, 1, 5, tzinfo=UTC)),),
        opt_outs=(OptOut(OptOutSource.SMS_STOP, datetime(2026, 2, 1, tzinfo=UTC)),),
    )
    assert reason_of(c) is Reason.OPTED_OUT


@pytest.mark.parametrize(
    "source", [s for s in OptOutSource if s is not OptOutSource.COMPLAINT_33700]
)
def test_every_opt_out_source_excludes(source: OptOutSource) -> None:
    c = contact(consents=(consent(),), opt_outs=(OptOut(source, NOW - timedelta(hours=1)),))
    assert reason_of(c) is Reason.OPTED_OUT


def test_consent_after_opt_out_wins() -> None:
    c = contact(
        consents=(consent(at=datetime(2026, 3, 1, tzinfo=UTC), method="sms_keyword"),),
        opt_outs=(OptOut(OptOutSource.SMS_STOP, datetime(2026, 2, 1, tzinfo=UTC)),),
    )
    assert basis_of(c) is Basis.CONSENT


def test_invalid_later_consent_does_not_lift_an_opt_out() -> None:
    c = contact(
        consents=(
            consent(at=datetime(2026, 1, 1, tzinfo=UTC)),
            consent(at=datetime(2026, 3, 1, tzinfo=UTC), prechecked=True),
        ),
        opt_outs=(OptOut(OptOutSource.LINK, datetime(2026, 2, 1, tzinfo=UTC)),),
    )
    assert reason_of(c) is Reason.OPTED_OUT


def test_opt_out_of_unknown_date_excludes_whatever_the_consent() -> None:
    c = contact(consents=(consent(),), opt_outs=(OptOut(OptOutSource.MANUAL, None),))
    assert reason_of(c) is Reason.OPTED_OUT


def test_opt_out_excludes_other_bases_too() -> None:
    customer = contact(
        last_purchase_at=datetime(2026, 5, 1, tzinfo=UTC),
        purchased_categories=fold_set(["luminaires"]),
        collection=informed(),
        opt_outs=(OptOut(OptOutSource.LINK, datetime(2026, 6, 1, tzinfo=UTC)),),
    )
    assert reason_of(customer) is Reason.OPTED_OUT


def test_dated_consent_withdrawal_is_an_opposition() -> None:
    c = contact(consents=(consent(), consent(given=False, at=datetime(2026, 7, 1, tzinfo=UTC))))
    assert reason_of(c) is Reason.OPTED_OUT


def test_suppression_list_counts_as_opt_out() -> None:
    at = datetime(2026, 8, 1, tzinfo=UTC)
    c = contact(consents=(consent(),), suppression=OptOut(OptOutSource.DATA_REQUEST, at))
    assert reason_of(c) is Reason.OPTED_OUT
    later_consent = contact(
        consents=(consent(at=datetime(2026, 9, 1, tzinfo=UTC)),),
        suppression=OptOut(OptOutSource.SMS_STOP, at),
    )
    assert basis_of(later_consent) is Basis.CONSENT
    reported = contact(
        consents=(consent(at=datetime(2026, 9, 1, tzinfo=UTC)),),
        suppression=OptOut(OptOutSource.COMPLAINT_33700, at),
    )
    assert reason_of(reported) is Reason.COMPLAINT_33700


def test_33700_report_excludes_for_good_even_after_a_new_consent() -> None:
    c = contact(
        consents=(consent(at=datetime(2026, 9, 1, tzinfo=UTC)),),
        opt_outs=(OptOut(OptOutSource.COMPLAINT_33700, datetime(2026, 2, 1, tzinfo=UTC)),),
    )
    assert reason_of(c) is Reason.COMPLAINT_33700


# --- step 4: legal basis ------------------------------------------------------------------


def test_consent_holds_for_persons_and_professionals_whatever_the_topic() -> None:
    assert basis_of(contact(consents=(consent(),))) is Basis.CONSENT
    pro = contact(
        kind=ContactKind.PROFESSIONAL,
        profession_tags=fold_set(["comptabilite"]),
        consents=(consent(),),
    )
    assert basis_of(pro) is Basis.CONSENT


def test_prechecked_box_voids_consent() -> None:
    assert reason_of(contact(consents=(consent(prechecked=True),))) is Reason.CONSENT_PRECHECKED_BOX


def test_consent_bundled_with_terms_is_void() -> None:
    c = contact(consents=(consent(bundled_with_terms=True),))
    assert reason_of(c) is Reason.CONSENT_BUNDLED_WITH_TERMS


def test_consent_to_another_advertiser_is_void() -> None:
    c = contact(consents=(consent(advertiser="Lumina Déco"),))
    assert reason_of(c) is Reason.CONSENT_OTHER_ADVERTISER


@pytest.mark.parametrize(
    "who", ["maison lumiere sas", "MAISON LUMIÈRE", "maison-lumiere", "mlumiere"]
)
def test_consent_to_this_advertiser_matches_name_slug_or_sender_ignoring_case_and_accents(
    who: str,
) -> None:
    assert basis_of(contact(consents=(consent(advertiser=who),))) is Basis.CONSENT


def test_consent_for_other_channels_does_not_cover_sms() -> None:
    c = contact(consents=(consent(channels=frozenset({"fax", "email"})),))
    assert reason_of(c) is Reason.CONSENT_OTHER_CHANNEL


def test_sms_consent_covers_mms_but_not_fax() -> None:
    c = contact(consents=(consent(),))
    assert basis_of(c, campaign(channel=Channel.MMS)) is Basis.CONSENT
    assert reason_of(c, campaign(channel=Channel.FAX)) is Reason.CONSENT_OTHER_CHANNEL


def test_undated_or_future_consent_is_not_prior_consent() -> None:
    assert reason_of(contact(consents=(consent(at=None),))) is Reason.NO_LEGAL_BASIS
    future = contact(consents=(consent(at=NOW + timedelta(days=2)),))
    assert reason_of(future) is Reason.NO_LEGAL_BASIS


def _customer(**changes):  # type: ignore[no-untyped-def]
    base = {
        "last_purchase_at": datetime(2026, 5, 1, tzinfo=UTC),
        "purchased_categories": fold_set(["Luminaires", "ampoules"]),
        "collection": informed(),
    }
    return contact(**{**base, **changes})


def test_existing_customer_on_similar_products() -> None:
    assert basis_of(_customer()) is Basis.EXISTING_CUSTOMER


def test_categories_compare_ignoring_case_and_accents() -> None:
    c = _customer(purchased_categories=fold_set(["DÉCORATION"]))
    assert basis_of(c, campaign(categories=fold_set(["decoration"]))) is Basis.EXISTING_CUSTOMER


def test_an_account_alone_does_not_make_a_customer() -> None:
    c = _customer(last_purchase_at=None, account_created_at=datetime(2026, 5, 1, tzinfo=UTC))
    assert reason_of(c) is Reason.CUSTOMER_ACCOUNT_ONLY


def test_customer_of_another_product_line() -> None:
    c = _customer(purchased_categories=fold_set(["textile"]))
    assert reason_of(c) is Reason.CUSTOMER_PRODUCT_NOT_SIMILAR


def test_customer_not_informed_at_collection() -> None:
    assert reason_of(_customer(collection=informed(informed=False))) is (
        Reason.NOT_INFORMED_AT_COLLECTION
    )


def test_customer_without_objection_means() -> None:
    c = _customer(collection=informed(objection_offered=False))
    assert reason_of(c) is Reason.NO_OBJECTION_MEANS_AT_COLLECTION


def test_customer_basis_is_for_persons_and_commercial_campaigns_only() -> None:
    nc = campaign(nature=Nature.NON_COMMERCIAL)
    assert basis_of(_customer(), nc) is Basis.NON_COMMERCIAL  # informed: fine for a charity
    assert reason_of(_customer(collection=informed(informed=False)), nc) is (
        Reason.NOT_INFORMED_AT_COLLECTION
    )
    pro = _customer(kind=ContactKind.PROFESSIONAL, profession_tags=fold_set(["comptabilite"]))
    assert reason_of(pro) is Reason.B2B_NOT_RELEVANT_TO_PROFESSION


def test_non_commercial_sender_reaches_informed_persons() -> None:
    nc = campaign(nature=Nature.NON_COMMERCIAL, categories=frozenset())
    assert basis_of(contact(collection=informed()), nc) is Basis.NON_COMMERCIAL
    assert reason_of(contact(collection=informed(informed=False)), nc) is (
        Reason.NOT_INFORMED_AT_COLLECTION
    )
    assert reason_of(contact(collection=informed(objection_offered=False)), nc) is (
        Reason.NO_OBJECTION_MEANS_AT_COLLECTION
    )
    # The same informed person is not reachable by a commercial campaign.
    assert reason_of(contact(collection=informed())) is Reason.NO_LEGAL_BASIS


def _pro(**changes):  # type: ignore[no-untyped-def]
    base = {
        "kind": ContactKind.PROFESSIONAL,
        "profession_tags": fold_set(["Architecture", "urbanisme"]),
        "collection": informed(),
    }
    return contact("07 81 22 33 44", **{**base, **changes})


def test_b2b_legitimate_interest() -> None:
    assert basis_of(_pro()) is Basis.B2B_LEGITIMATE_INTEREST


def test_b2b_needs_information_and_objection_at_collection() -> None:
    assert reason_of(_pro(collection=informed(informed=False))) is (
        Reason.NOT_INFORMED_AT_COLLECTION
    )
    assert reason_of(_pro(collection=informed(objection_offered=False))) is (
        Reason.NO_OBJECTION_MEANS_AT_COLLECTION
    )


def test_b2b_third_party_data_needs_proof() -> None:
    rented = informed(by="DataPro Fichiers", informed=True, objection_offered=True)
    assert reason_of(_pro(collection=rented)) is Reason.THIRD_PARTY_NOT_INFORMED
    proven = informed(by="DataPro Fichiers", informed=False, third_party_proof="contrat 14 art. 5")
    assert basis_of(_pro(collection=proven)) is Basis.B2B_LEGITIMATE_INTEREST


def test_collected_by_the_advertiser_itself_is_not_third_party() -> None:
    assert basis_of(_pro(collection=informed(by="advertiser"))) is Basis.B2B_LEGITIMATE_INTEREST
    assert basis_of(_pro(collection=informed(by="Maison Lumière"))) is (
        Basis.B2B_LEGITIMATE_INTEREST
    )


def test_b2b_topic_must_fit_the_profession() -> None:
    assert reason_of(_pro(profession_tags=fold_set(["comptabilité"]))) is (
        Reason.B2B_NOT_RELEVANT_TO_PROFESSION
    )
    assert reason_of(_pro(), campaign(professions=frozenset())) is (
        Reason.B2B_NOT_RELEVANT_TO_PROFESSION
    )


def test_b2b_legitimate_interest_is_not_for_persons() -> None:
    person = contact(collection=informed(), profession_tags=fold_set(["architecture"]))
    assert reason_of(person) is Reason.NO_LEGAL_BASIS


def test_nothing_at_all_is_no_legal_basis() -> None:
    assert reason_of(contact()) is Reason.NO_LEGAL_BASIS


def test_closest_basis_reason_wins() -> None:
    # A customer of similar products who was never told beats a consent ticked by default.
    c = _customer(collection=informed(informed=False), consents=(consent(prechecked=True),))
    assert reason_of(c) is Reason.NOT_INFORMED_AT_COLLECTION
    # With nothing else, the flawed consent is the reason.
    assert reason_of(contact(consents=(consent(prechecked=True),), account_created_at=NOW)) is (
        Reason.CONSENT_PRECHECKED_BOX
    )


def test_any_valid_consent_holds_among_flawed_ones() -> None:
    c = contact(consents=(consent(prechecked=True), consent(at=datetime(2026, 2, 1, tzinfo=UTC))))
    assert basis_of(c) is Basis.CONSENT


# --- step 5: retention --------------------------------------------------------------------


def test_prospect_data_lapses_three_years_after_the_last_action() -> None:
    old = datetime(2023, 11, 30, tzinfo=UTC)
    c = contact(consents=(consent(at=old),), collection=informed(at=old), first_seen_at=old)
    assert reason_of(c) is Reason.RETENTION_EXPIRED
    recent_click = contact(
        consents=(consent(at=old),),
        collection=informed(at=old),
        last_activity_at=NOW - timedelta(days=30),
    )
    assert basis_of(recent_click) is Basis.CONSENT
    just_inside = contact(consents=(consent(at=datetime(2023, 12, 1, 9, 0, 1, tzinfo=UTC)),))
    assert basis_of(just_inside) is Basis.CONSENT


def test_customer_status_lapses_three_years_after_the_last_purchase() -> None:
    c = _customer(last_purchase_at=datetime(2023, 11, 1, tzinfo=UTC))
    assert reason_of(c) is Reason.RETENTION_EXPIRED


def test_retention_counts_from_first_record_when_no_date_is_known() -> None:
    c = _pro(collection=informed(at=None), first_seen_at=datetime(2022, 1, 1, tzinfo=UTC))
    assert reason_of(c) is Reason.RETENTION_EXPIRED


# --- step 6: sending window ---------------------------------------------------------------


def test_inside_the_window_sends_at_once() -> None:
    d = decide(contact(consents=(consent(),)), campaign(), ADVERTISER, NOW)
    assert d.send_at == NOW and d.deferral is None


def test_quiet_hours_defer_to_eight_local() -> None:
    evening = datetime(2026, 12, 1, 19, 30, tzinfo=UTC)  # 20:30 in Paris
    d = decide(contact(consents=(consent(),)), campaign(start=evening), ADVERTISER, evening)
    assert d.deferral is Deferral.QUIET_HOURS
    assert d.send_at == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


def test_sunday_defers_to_monday() -> None:
    sunday = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    d = decide(contact(consents=(consent(),)), campaign(start=sunday), ADVERTISER, sunday)
    assert d.deferral is Deferral.SUNDAY
    assert d.send_at == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


def test_public_holiday_defers_and_depends_on_territory() -> None:
    good_friday = datetime(2027, 3, 26, 9, 0, tzinfo=UTC)
    camp = campaign(start=good_friday)
    paris = decide(contact(consents=(consent(),)), camp, ADVERTISER, good_friday)
    assert paris.deferral is None
    metz = decide(
        contact(consents=(consent(),), postal_code="57000"), camp, ADVERTISER, good_friday
    )
    assert metz.deferral is Deferral.PUBLIC_HOLIDAY
    assert metz.send_at == datetime(2027, 3, 27, 7, 0, tzinfo=UTC)
    unknown = decide(
        contact(consents=(consent(),), postal_code=None), camp, ADVERTISER, good_friday
    )
    assert unknown.deferral is Deferral.PUBLIC_HOLIDAY


def test_overseas_recipient_waits_for_its_own_morning() -> None:
    # 10:00 in Paris is 05:00 in Guadeloupe: held until 08:00 there (12:00 UTC).
    d = decide(
        contact("0690 12 34 56", consents=(consent(),), postal_code=None),
        campaign(),
        ADVERTISER,
        NOW,
    )
    assert d.locality is not None and d.locality.territory == "guadeloupe"
    assert d.deferral is Deferral.QUIET_HOURS
    assert d.send_at == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_past_the_send_by_deadline_is_window_expired() -> None:
    evening = datetime(2026, 12, 1, 19, 30, tzinfo=UTC)
    camp = campaign(start=evening, send_by=datetime(2026, 12, 1, 22, 0, tzinfo=UTC))
    assert reason_of(contact(consents=(consent(),)), camp, evening) is Reason.WINDOW_EXPIRED
    in_time = campaign(start=NOW, send_by=NOW + timedelta(hours=1))
    assert basis_of(contact(consents=(consent(),)), in_time) is Basis.CONSENT


def test_campaign_start_in_the_future_is_the_evaluation_instant() -> None:
    later = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # a Saturday, 10:00 Paris
    d = decide(contact(consents=(consent(),)), campaign(start=later), ADVERTISER, NOW)
    assert d.send_at == later


# --- issue 12 point 2: when the order cannot be told, the opt-out wins ----------------------

PARIS_MIDNIGHT = datetime(2026, 3, 11, 23, 0, tzinfo=UTC)  # 2026-03-12 00:00 in Paris


@pytest.mark.parametrize(
    ("consent_at", "opted_out_at"),
    [
        (PARIS_MIDNIGHT, PARIS_MIDNIGHT + timedelta(hours=9)),  # consent undated, STOP at 10:00
        (PARIS_MIDNIGHT + timedelta(hours=15), PARIS_MIDNIGHT),  # STOP undated, consent 16:00
        (PARIS_MIDNIGHT, PARIS_MIDNIGHT),  # both dated only
    ],
)
def test_a_consent_and_an_opt_out_of_one_day_without_a_time_exclude(
    consent_at: datetime, opted_out_at: datetime
) -> None:
    c = contact(
        consents=(consent(at=consent_at),),
        opt_outs=(OptOut(OptOutSource.SMS_STOP, opted_out_at),),
    )
    assert reason_of(c) is Reason.OPTED_OUT


def test_a_later_day_or_a_known_order_still_lets_a_consent_win() -> None:
    c = contact(
        consents=(consent(at=PARIS_MIDNIGHT + timedelta(days=1)),),
        opt_outs=(OptOut(OptOutSource.SMS_STOP, PARIS_MIDNIGHT),),
    )
    assert basis_of(c) is Basis.CONSENT
    timed = contact(
        consents=(consent(at=PARIS_MIDNIGHT + timedelta(hours=15)),),
        opt_outs=(OptOut(OptOutSource.SMS_STOP, PARIS_MIDNIGHT + timedelta(hours=9)),),
    )
    assert basis_of(timed) is Basis.CONSENT


def test_a_suppression_entry_on_the_consents_day_wins_too() -> None:
    c = contact(
        consents=(consent(at=PARIS_MIDNIGHT),),
        suppression=OptOut(OptOutSource.MANUAL, PARIS_MIDNIGHT + timedelta(hours=12)),
    )
    assert reason_of(c) is Reason.OPTED_OUT


# --- issue 12 point 3: consent is given to someone -----------------------------------------

THIRD_PARTY = informed(by="MegaFichiers", third_party_proof="contrat-2026")


def test_a_consent_collected_by_a_third_party_must_name_the_advertiser() -> None:
    unnamed = contact(consents=(consent(),), collection=THIRD_PARTY)
    assert reason_of(unnamed) is Reason.CONSENT_PARTNER_UNNAMED
    partners = contact(consents=(consent(advertiser="nos partenaires"),), collection=THIRD_PARTY)
    assert reason_of(partners) is Reason.CONSENT_PARTNER_UNNAMED
    named = contact(consents=(consent(advertiser="Maison Lumière"),), collection=THIRD_PARTY)
    assert basis_of(named) is Basis.CONSENT
    brand = contact(
        consents=(consent(advertiser="MLUMIERE et ses partenaires"),), collection=THIRD_PARTY
    )
    assert basis_of(brand) is Basis.CONSENT


def test_a_consent_for_partners_counts_for_none_of_them() -> None:
    own = contact(consents=(consent(advertiser="Partenaires commerciaux"),))
    assert reason_of(own) is Reason.CONSENT_PARTNER_UNNAMED
    other = contact(consents=(consent(advertiser="Lumina Déco"),))
    assert reason_of(other) is Reason.CONSENT_OTHER_ADVERTISER


def test_a_consent_with_nothing_to_show_is_unproven() -> None:
    bare = contact(consents=(consent(method=None, wording=None),))
    assert reason_of(bare) is Reason.CONSENT_UNPROVEN
    assert basis_of(contact(consents=(consent(method=None, wording="J'accepte..."),))) is (
        Basis.CONSENT
    )


def test_a_third_partys_purchase_makes_no_existing_customer() -> None:
    bought = {
        "last_purchase_at": NOW - timedelta(days=30),
        "purchased_categories": fold_set(["luminaires"]),
    }
    ours = contact(collection=informed(), **bought)
    assert basis_of(ours) is Basis.EXISTING_CUSTOMER
    theirs = contact(collection=THIRD_PARTY, **bought)
    assert reason_of(theirs) is Reason.CUSTOMER_NOT_OWN_SALE


def test_an_invalid_consent_does_not_restart_retention() -> None:
    old = datetime(2022, 1, 10, tzinfo=UTC)
    customer = {
        "collection": informed(at=old),
        "last_activity_at": old,
        "first_seen_at": old,
    }
    prechecked = contact(
        consents=(consent(at=NOW - timedelta(days=5), prechecked=True),), **customer
    )
    assert reason_of(prechecked) is Reason.CONSENT_PRECHECKED_BOX
    partner_named = contact(
        consents=(consent(at=NOW - timedelta(days=5), advertiser="Lumina Déco"),),
        kind=ContactKind.PROFESSIONAL,
        profession_tags=fold_set(["architecture"]),
        **customer,
    )
    # B2B holds, but its data is older than 3 years: the misaddressed consent restarts nothing.
    assert reason_of(partner_named) is Reason.RETENTION_EXPIRED
    valid = replace_consent(partner_named, advertiser=None)
    assert basis_of(valid) is Basis.CONSENT


def replace_consent(c, **changes):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(c, consents=tuple(replace(x, **changes) for x in c.consents))


def test_a_charity_message_to_a_professional_needs_no_profession_match() -> None:
    pro = contact(
        kind=ContactKind.PROFESSIONAL, profession_tags=fold_set(["comptabilite"]),
        collection=informed(),
    )  # fmt: skip
    assert reason_of(pro) is Reason.B2B_NOT_RELEVANT_TO_PROFESSION
    assert basis_of(pro, campaign(nature=Nature.NON_COMMERCIAL)) is Basis.NON_COMMERCIAL


def test_political_needs_consent_or_membership() -> None:
    political = campaign(nature=Nature.POLITICAL)
    assert reason_of(contact(collection=informed()), political) is Reason.POLITICAL_NO_CONSENT
    member = contact(membership_at=NOW - timedelta(days=100))
    assert basis_of(member, political) is Basis.POLITICAL_MEMBERSHIP
    assert basis_of(contact(consents=(consent(),)), political) is Basis.CONSENT
    customer = contact(
        collection=informed(), last_purchase_at=NOW - timedelta(days=3),
        purchased_categories=fold_set(["luminaires"]),
    )  # fmt: skip
    assert reason_of(customer, political) is Reason.POLITICAL_NO_CONSENT


def test_a_send_carries_when_its_data_lapses() -> None:
    d = decide(contact(consents=(consent(),), collection=informed()), campaign(), ADVERTISER, NOW)
    assert d.send and d.retain_until == datetime(2029, 6, 1, tzinfo=UTC)


def test_every_reason_code_is_exercised_by_this_module() -> None:
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    missing = [r.name for r in Reason if f"Reason.{r.name}" not in source]
    assert not missing


def test_later_duplicates_are_the_rows_after_the_first_usable_one_of_a_number() -> None:
    """rules.md section 3: the same E.164 already in this plan is `duplicate`; a row that step 1
    already excludes (invalid number, not a mobile) neither counts as the first nor is marked."""
    rows = [
        (1, parse_phone("0612345678")),
        (2, parse_phone("+33 6 12 34 56 78")),  # the same number, written otherwise
        (3, parse_phone("0144556677")),  # a landline: not_mobile for SMS, so not a duplicate
        (4, parse_phone("01 44 55 66 77")),
        (5, parse_phone("0712345678")),
        (6, parse_phone("06 12 34 56 78")),
    ]
    assert later_duplicates(rows, Channel.SMS) == [2, 6]
    assert later_duplicates(list(reversed(rows)), Channel.SMS) == [2, 1]
