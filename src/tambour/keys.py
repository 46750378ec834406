"""The installation's secret key, kept outside the database.

One random 32-byte key, from which every keyed digest of Tambour is derived by purpose:
the suppression-list hashes (a copy of the database alone must not let anyone test a number
against the list of erased ones) and the seals of evidence, suppression and plan rows (an edit
made outside Tambour cannot be given a valid seal).

Where it comes from, first found:
- `TAMBOUR_SECRET_KEY`: the key itself, 64 hexadecimal characters (containers, secret stores);
- `TAMBOUR_KEY_FILE`: a file holding it;
- `$XDG_CONFIG_HOME/tambour/secret.key` (`~/.config/tambour/secret.key`), created on first use,
  readable by its owner only (0600, in a 0700 folder).

A key file readable by others is refused. The database remembers the id of its key (a digest
of it, not the key): a command started with another key stops rather than miss the opt-outs
hashed under the first (services/installation.py).

The key protects data keys rather than keying data itself where the data cannot be keyed again:
each advertiser's suppression key is random and stored wrapped under it (`wrap`), since an
erased number's hash can never be made again; a rotation (services/keyring.py) wraps them again
under the new key, so that the old key alone opens nothing afterwards. A purpose key derived
from it (the seal key) is kept by a rotation likewise (`kept`).

The process's key. Advertisers are built from their rows in many places that hold only a
database connection (services/advertisers.py `get`, `by_ids`, called by campaigns, imports,
opt-outs, replies, the worker and the forked planner and import processes); each needs the key
to read its advertiser's suppression key. One process serves one installation, hence one key:
rather than thread a `keys` argument through every one of those calls and their callers, the
process has one current key, `current()`, which every `services.context.Context` installs when
it is made (so the key a use case is given is the one its advertisers are read with), and which
is otherwise loaded as `load_keys()` finds it. Forked workers inherit it.
"""

import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

KEY_ENV = "TAMBOUR_SECRET_KEY"
KEY_FILE_ENV = "TAMBOUR_KEY_FILE"
_KEY_BYTES = 32


class SecretKeyError(RuntimeError):
    """The key cannot be read or made; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Keys:
    master: bytes = field(repr=False)
    origin: str = field(default="given", compare=False)  # where it was read: for messages
    # Purpose keys a rotation kept (services/installation.py): the database stores them
    # wrapped under the current master key, since what they keyed cannot be keyed again.
    kept: tuple[tuple[str, bytes], ...] = field(default=(), repr=False, compare=False)

    def derive(self, purpose: str) -> bytes:
        """The 32-byte key of one purpose ('suppression', 'seal'...): HMAC-SHA256 of the
        purpose under the master key, so that no two uses share a key; or, after a rotation,
        the key the purpose had before it, when the rotation kept it."""
        for name, key in self.kept:
            if name == purpose:
                return key
        return hmac.digest(self.master, b"tambour/" + purpose.encode(), "sha256")

    def fresh(self, purpose: str) -> bytes:
        """The key of `purpose` drawn from this master key itself, never a kept one: what
        protects the values stored wrapped under it."""
        return hmac.digest(self.master, b"tambour/" + purpose.encode(), "sha256")

    def with_kept(self, kept: dict[str, bytes]) -> "Keys":
        return Keys(self.master, self.origin, tuple(sorted(kept.items())))

    @property
    def key_id(self) -> str:
        """A short public name of the key (16 hex digits): safe to store and to print."""
        return self.fresh("key-id")[:8].hex()

    def wrap(self, purpose: str, label: bytes, secret: bytes) -> bytes:
        """`secret` (at most 32 bytes) made unreadable without this master key: XOR-ed with a
        pad, HMAC-SHA256 of `label` under the master's key of `purpose`. The same call undoes
        it. A pad serves one secret only: give each secret its own label (an advertiser's id)."""
        if len(secret) > _KEY_BYTES:
            raise ValueError("wrap: at most 32 bytes")
        pad = hmac.digest(self.fresh(purpose), label, "sha256")
        return bytes(a ^ b for a, b in zip(secret, pad, strict=False))


def secrets_key() -> bytes:
    """A new random master key."""
    return secrets.token_bytes(_KEY_BYTES)


def default_key_path(env: Mapping[str, str]) -> Path:
    config = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "tambour" / "secret.key"


def key_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    named = env.get(KEY_FILE_ENV)
    return Path(named) if named else default_key_path(env)


def _parse(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise SecretKeyError(
            f"{where}: the key must be {_KEY_BYTES * 2} hexadecimal digits"
        ) from None
    if len(key) != _KEY_BYTES:
        raise SecretKeyError(f"{where}: the key must be {_KEY_BYTES * 2} hexadecimal digits")
    return key


def _read(path: Path) -> bytes:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise SecretKeyError(f"{path}: the key file is not a regular file")
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyError(
            f"{path}: the key file may be read by others (mode {stat.S_IMODE(info.st_mode):o}); "
            f"make it readable by its owner only: chmod 600 {path}"
        )
    return _parse(path.read_text(encoding="ascii", errors="replace"), str(path))


def write_key_file(path: Path, key: bytes) -> bool:
    """Write `key` to a new file at `path`, 0600 (its folder made 0700), all at once: written
    to a private temporary file, then linked in place, so that no process ever reads a half
    written key. False when `path` exists already (nothing is written then)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key.hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def read_key_file(path: Path) -> Keys:
    """The key of a file (refused when others may read it)."""
    try:
        return Keys(_read(path), origin=str(path))
    except OSError as error:
        raise SecretKeyError(
            f"{path}: the key file cannot be used ({error.strerror or error})"
        ) from None


def load_keys(env: Mapping[str, str] | None = None) -> Keys:
    """The installation's key, from the environment or its file (made on first use)."""
    env = os.environ if env is None else env
    given = env.get(KEY_ENV)
    if given:
        return Keys(_parse(given, KEY_ENV), origin=KEY_ENV)
    path = key_path(env)
    try:
        if not path.exists():  # first use: made now, then read back like any other (when
            write_key_file(path, secrets_key())  # another process won, theirs)
    except OSError as error:
        raise SecretKeyError(
            f"{path}: the key file cannot be made ({error.strerror or error})"
        ) from None
    return read_key_file(path)


_current: Keys | None = None


def install(keys: Keys | None) -> None:
    """Make `keys` the process's key (None: forget it, the next `current()` loads it)."""
    global _current  # noqa: PLW0603 - the one process-wide key, see the module's docstring
    _current = keys


def current() -> Keys:
    """The process's key: the one the latest Context was made with, else `load_keys()`."""
    global _current  # noqa: PLW0603
    if _current is None:
        _current = load_keys()
    return _current
