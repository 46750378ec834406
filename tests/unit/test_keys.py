"""The installation's secret key (tambour/keys.py): where it is read, made and refused."""

import stat
from pathlib import Path

import pytest

from tambour.keys import KEY_ENV, KEY_FILE_ENV, Keys, SecretKeyError, load_keys, write_key_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_made_on_first_use_private_and_kept(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    first = load_keys(env)
    path = tmp_path / "config" / "tambour" / "secret.key"
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert load_keys(env) == first and first.origin == str(path)
    assert path.read_text().strip() == first.master.hex()
    assert first.master.hex() not in repr(first)  # never in a log line or a traceback
    assert not list(path.parent.glob(".*.tmp"))  # written whole, then linked in place


@pytest.mark.parametrize("others", [0o644, 0o604, 0o640, 0o660])
def test_a_key_file_others_may_read_is_refused(tmp_path: Path, others: int) -> None:
    path = tmp_path / "secret.key"
    path.write_text("ab" * 32)
    path.chmod(others)
    with pytest.raises(SecretKeyError, match=r"may be read by others.*chmod 600") as refused:
        load_keys({KEY_FILE_ENV: str(path)})
    assert "ab" * 32 not in str(refused.value)


def test_what_is_not_a_key_is_refused_without_being_repeated(tmp_path: Path) -> None:
    for given in ("12" * 31, "zz" * 32, "secret"):
        with pytest.raises(SecretKeyError, match="64 hexadecimal digits") as refused:
            load_keys({KEY_ENV: given})
        assert given not in str(refused.value)
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    with pytest.raises(SecretKeyError, match="not a regular file"):
        load_keys({KEY_FILE_ENV: str(folder)})
    assert load_keys({KEY_ENV: "cd" * 32, KEY_FILE_ENV: str(folder)}).origin == KEY_ENV


def test_a_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k" / "secret.key"
    assert write_key_file(path, b"\x01" * 32)
    assert not write_key_file(path, b"\x02" * 32)
    assert path.read_text().strip() == "01" * 32


def test_purpose_keys_wrapping_and_kept_keys() -> None:
    keys, other = Keys(b"\x01" * 32), Keys(b"\x02" * 32)
    assert keys.derive("seal") != keys.derive("suppression") != other.derive("suppression")
    secret = bytes(range(32))
    wrapped = keys.wrap("suppression", b"advertiser:1", secret)
    assert wrapped != secret and keys.wrap("suppression", b"advertiser:1", wrapped) == secret
    assert keys.wrap("suppression", b"advertiser:2", secret) != wrapped  # a pad per label
    assert other.wrap("suppression", b"advertiser:1", wrapped) != secret
    # After a rotation, a kept purpose key is the old one; the id and pads are the new key's.
    rotated = other.with_kept({"seal": keys.derive("seal")})
    assert rotated.derive("seal") == keys.derive("seal")
    assert rotated.key_id == other.key_id != keys.key_id
    assert rotated.wrap("seal", b"x", secret) == other.wrap("seal", b"x", secret)
