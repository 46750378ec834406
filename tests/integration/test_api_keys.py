"""API keys through the command line and the use cases: a token shown once and stored only as
its SHA-256, scopes checked, revocation, the audit log naming keys by id (never the token)."""

import hashlib
import json
import re

import pytest
from sqlalchemy import Engine, select, text

from tambour.services import api_keys
from tambour.services.api_keys import Scope, UnauthenticatedError
from tambour.services.context import Context
from tambour.store.tables import api_keys as api_keys_table
from tests.integration.cli import Cli

TOKEN = re.compile(r"tbr_live_([a-z2-9]{12})_([A-Za-z0-9_-]{43})")


def test_a_key_is_shown_once_and_stored_as_its_digest(db_url: str, engine: Engine) -> None:
    cli = Cli(db_url)
    cli.advertiser()
    made = cli("apikey", "create", "--advertiser", "maison-lumiere", "--scopes", "read,send")
    token = made.out.strip()
    match = TOKEN.fullmatch(token)
    assert match, token
    assert "shown once" in made.err and token not in made.err
    with engine.connect() as conn:
        row = conn.execute(select(api_keys_table)).one()
        dump = json.dumps([str(value) for value in row])
        audit = conn.execute(text("SELECT details FROM audit_log")).scalars().all()
    assert row.key_id == match.group(1)
    assert bytes(row.secret_hash) == hashlib.sha256(token.encode()).digest()
    # The secret is nowhere in the row (the whole of it: token_urlsafe may hold an underscore).
    assert match.group(2) not in dump
    assert sorted(row.scopes) == ["read", "send"]
    assert any(match.group(1) in details for details in audit)
    assert not any(token in details for details in audit)
    listed = cli("apikey", "list", "--json").json()
    assert [key["key_id"] for key in listed] == [match.group(1)]
    assert "token" not in listed[0] and token not in cli("apikey", "list").out


def test_scopes_and_owners_are_checked(db_url: str) -> None:
    cli = Cli(db_url)
    cli.advertiser()
    refusals = {
        ("--operator", "--scopes", "read"): "--scopes",
        ("--advertiser", "maison-lumiere"): "--scopes",
        ("--advertiser", "maison-lumiere", "--scopes", "read,admin"): "'admin'",
        ("--advertiser", "maison-lumiere", "--scopes", "operator"): "--scopes",
        ("--advertiser", "inconnu", "--scopes", "read"): "--advertiser: no advertiser",
        ("--scopes", "read"): "--advertiser SLUG",
        ("--operator", "--name", "appel 06 12 34 56 78"): "--name",
        ("--operator", "--name", "a\x00b"): "--name",
    }
    for args, said in refusals.items():
        refused = cli("apikey", "create", *args, ok=False)
        assert refused.code == 2, args
        assert said in refused.err and "Traceback" not in refused.err, (args, refused.err)
    assert cli("apikey", "list", "--json").json() == []
    operator = cli("apikey", "create", "--operator", "--name", "plateforme", "--json").json()
    assert operator["advertiser"] is None and operator["scopes"] == ["operator"]


def test_a_revoked_key_no_longer_authenticates(db_url: str, engine: Engine) -> None:
    cli = Cli(db_url)
    cli.advertiser()
    made = cli("apikey", "create", "--advertiser", "maison-lumiere", "--scopes", "read", "--json")
    token, key_id = made.json()["token"], made.json()["key_id"]
    ctx = Context(engine=engine, actor="test:alice")
    key = api_keys.authenticate(ctx, token)
    assert key.key_id == key_id and key.advertiser == "maison-lumiere"
    assert key.scopes == {Scope.READ} and not key.operator
    wrong_secret = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad, code in [
        (wrong_secret, "invalid_api_key"),
        ("tbr_live_short", "malformed_api_key"),
        ("Bearer " + token, "malformed_api_key"),
    ]:
        with pytest.raises(UnauthenticatedError) as refused:
            api_keys.authenticate(ctx, bad)
        assert refused.value.code == code and refused.value.status == 401
    revoked = cli("apikey", "revoke", key_id, "--json").json()
    assert revoked["revoked_at"] is not None
    with pytest.raises(UnauthenticatedError) as refused:
        api_keys.authenticate(ctx, token)
    assert refused.value.code == "revoked_api_key"
    again = cli("apikey", "revoke", key_id, ok=False)
    assert again.code == 2 and "revoked already" in again.err
    unknown = cli("apikey", "revoke", "nosuchkey", ok=False)
    assert unknown.code == 2 and "ID: no API key 'nosuchkey'" in unknown.err
    listed = cli("apikey", "list", "--advertiser", "maison-lumiere").out
    assert key_id in listed and "revoked" in listed
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log ORDER BY seq")).scalars().all()
    assert actions[-2:] == ["apikey.create", "apikey.revoke"]


def test_an_advertisers_admin_revokes_only_its_own_keys(db_url: str, engine: Engine) -> None:
    cli = Cli(db_url)
    cli.advertiser("maison-lumiere")
    cli.advertiser("copie")
    ctx = Context(engine=engine, actor="web:admin@maison-lumiere.fr")
    theirs = api_keys.create(ctx, scopes=[Scope.READ], advertiser="copie", name="caisse")
    ours = api_keys.create(ctx, scopes=[Scope.READ], advertiser="maison-lumiere")
    with pytest.raises(api_keys.NotFound) as refused:
        api_keys.revoke(ctx, theirs.key.key_id, advertiser="maison-lumiere")
    assert refused.value.code == "api_key_not_found"
    assert api_keys.authenticate(ctx, theirs.token).revoked_at is None
    done = api_keys.revoke(ctx, ours.key.key_id, advertiser="maison-lumiere")
    assert done.revoked_at is not None and done.advertiser == "maison-lumiere"
