"""Advertisers through the command line: a sender ID belongs to one advertiser on the whole
platform (whatever its case) while a STOP short number may be shared, and the non-commercial
registration (RNA or SIREN) is recorded, changed and audited."""

from typing import Any

from sqlalchemy import Engine, select

from tambour.store.tables import sender_ids
from tests.integration.cli import Cli


def create(cli: Cli, slug: str, *args: str, ok: bool = True) -> Any:
    return cli("advertiser", "create", slug, "--name", f"{slug} SAS", *args, ok=ok)


def campaign(cli: Cli, slug: str, sender: str, ok: bool = True) -> Any:
    return cli(
        "campaign", "create", "--advertiser", slug, "--name", f"{slug}-{sender}", "--nature",
        "commercial", "--sender", sender, "--text", "Bonjour", ok=ok,
    )  # fmt: skip


def test_a_sender_id_belongs_to_one_advertiser(db_url: str, engine: Engine) -> None:
    cli = Cli(db_url)
    cli.advertiser()  # maison-lumiere, MLUMIERE, STOP au 36111
    taken = create(cli, "copieur", "--sender", "mlumiere", "--stop-number", "36111", ok=False)
    assert taken.code == 2
    assert "MLUMIERE is the sender ID of another advertiser" in taken.err
    assert "maison-lumiere" not in taken.err  # another tenant is not named
    assert "Traceback" not in taken.err + taken.out
    # The STOP short number is shared, and may be each one's numeric sender.
    create(
        cli, "lampadaire", "--sender", "Lampadaire", "--sender", "36111", "--stop-number", "36111"
    )
    assert cli("advertiser", "show", "lampadaire", "--json").json()["senders"] == ["LAMPADAIRE"]
    adding = cli("advertiser", "update", "lampadaire", "--add-sender", "MLumiere", ok=False)
    assert adding.code == 2 and "sender ID of another advertiser" in adding.err
    back = cli("advertiser", "update", "maison-lumiere", "--add-sender", "lampadaire", ok=False)
    assert back.code == 2 and "LAMPADAIRE is the sender ID of another advertiser" in back.err
    cli("advertiser", "update", "maison-lumiere", "--add-sender", "Lumiere2")  # a new one is fine
    with engine.connect() as conn:
        keys = conn.execute(select(sender_ids.c.sender_key).order_by(sender_ids.c.id)).scalars()
        assert list(keys) == ["MLUMIERE", "LAMPADAIRE", "LUMIERE2"]
    # Campaigns: one's own sender IDs or short number, never another's.
    assert campaign(cli, "lampadaire", "MLUMIERE", ok=False).code == 2
    assert campaign(cli, "lampadaire", "lampadaire").code == 0
    # A short number names nobody: "Bonjour" from it is created, blocked (exit 3) until the
    # text names the advertiser.
    for slug in ("lampadaire", "maison-lumiere"):
        numeric = campaign(cli, slug, "36111", ok=False)
        assert numeric.code == 3 and "missing_advertiser_identity" in numeric.out
    assert len(cli("campaign", "list", "--json").json()) == 3


def test_the_non_commercial_registration(db_url: str) -> None:
    cli = Cli(db_url)
    created = create(cli, "amis-du-musee", "--sender", "AMISMUSEE", "--stop-number", "36111",
                     "--non-commercial-id", "w751234567", "--json").json()  # fmt: skip
    assert created["non_commercial_id"] == "W751234567"
    listed = cli("advertiser", "list").out
    assert "amis-du-musee: amis-du-musee SAS" in listed and "non-commercial W751234567" in listed

    changed = cli(
        "advertiser", "update", "amis-du-musee", "--non-commercial-id", "732 829 320",
        "--name", "Les Amis du Musée", "--categories", "culture", "--json",
    ).json()  # fmt: skip
    assert (changed["non_commercial_id"], changed["name"], changed["categories"]) == (
        "732829320", "Les Amis du Musée", ["culture"],
    )  # fmt: skip
    [entry] = [
        e for e in cli("audit", "list", "--json").json() if e["action"] == "advertiser.update"
    ]
    assert entry["details"] == {
        "slug": "amis-du-musee",
        "changes": {
            "name": {"from": "amis-du-musee SAS", "to": "Les Amis du Musée"},
            "categories": {"from": [], "to": ["culture"]},
            # SIREN-prefixed: the audit log refuses what reads as a phone number.
            "non_commercial_id": {"from": "W751234567", "to": "SIREN732829320"},
        },
    }
    cleared = cli("advertiser", "update", "amis-du-musee", "--clear-non-commercial", "--json")
    assert cleared.json()["non_commercial_id"] is None
    assert cli("advertiser", "show", "amis-du-musee", "--json").json()["non_commercial_id"] is None
    assert cli("audit", "verify").code == 0

    for args, message in [
        (("--non-commercial-id", "W75123"), "neither an RNA number (W followed by 9 digits"),
        (("--non-commercial-id", "732829321"), "not a valid SIREN (its check digit is wrong)"),
        (("--non-commercial-id", "W751234567", "--clear-non-commercial"), "choose one"),
        ((), "nothing to change"),
        (("--name", " "), "--name: the legal name cannot be empty"),
        (("--categories", "appelez le 06 12 34 56 78"), "holds a phone number"),
    ]:
        refused = cli("advertiser", "update", "amis-du-musee", *args, ok=False)
        assert refused.code == 2 and message in refused.err, (args, refused.err)
    unknown = cli("advertiser", "update", "inconnu", "--name", "X", ok=False)
    assert unknown.code == 2 and "no advertiser 'inconnu'" in unknown.err
    bad = create(cli, "asso", "--sender", "ASSO", "--stop-number", "36111",
                 "--non-commercial-id", "123456789", ok=False)  # fmt: skip
    assert bad.code == 2 and "not a valid SIREN" in bad.err
    updates = [
        e for e in cli("audit", "list", "--json").json() if e["action"] == "advertiser.update"
    ]
    assert len(updates) == 2  # the refusals changed nothing
