"""Key files: an Ed25519 seed encrypted under a passphrase, as JSON.

Theory of operation
-------------------
A key file is one JSON document::

    {"version": 1, "kind": "wallet" | "node" | ..., "public_key": "0x..",
     "address": "cc1..",
     "crypto": {"kdf": "argon2id", "opslimit": 3, "memlimit": 67108864,
                "salt": "0x..", "nonce": "0x..", "ciphertext": "0x.."}}

The passphrase goes through Argon2id (libsodium ``crypto_pwhash``, through
PyNaCl) with a random 16-byte salt to a 32-byte key; the seed is sealed
with that key by ``SecretBox`` (XSalsa20-Poly1305) under a random nonce.
Poly1305 authenticates the ciphertext, so a wrong passphrase or a changed
byte is detected rather than yielding a wrong key; after decryption the
public key is derived again and compared with ``public_key``, so the
readable fields cannot be swapped either. The KDF costs are stored in the
file: loading honours them, within sane bounds (a hostile file must not make
the loader allocate gigabytes).

``DEFAULT_KDF`` (3 passes over 64 MiB, ~0.1-0.3 s) is for real keys.
``FAST_KDF`` (libsodium's minimum) exists only so that test suites can make
many key files quickly; it gives no protection against guessing and must
never be used for a key that guards value.

Plain-text key files (``"localnet": true`` and the seed in clear, no
``crypto``) exist for throw-away local networks only: ``save_keyfile``
writes one only with ``localnet=True``, and ``load_keyfile`` refuses one
unless the caller passes ``allow_localnet=True``.

Files are written with mode 0600 via a temporary file and an atomic rename;
an existing key file is never overwritten unless asked.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
import nacl.secret
import nacl.utils

from ledger.crypto import DEFAULT_HRP, KEY_LEN, Keypair, encode_address

KEYFILE_VERSION: Final = 1
MAX_OPSLIMIT: Final = 64
MAX_MEMLIMIT: Final = 1 << 30  # 1 GiB: refuse files that would exhaust memory


class KeyfileError(ValueError):
    """A key file that cannot be written or read; the message says why."""


@dataclass(frozen=True, slots=True)
class KdfParams:
    opslimit: int
    memlimit: int

    def check(self) -> None:
        if not argon2id.OPSLIMIT_MIN <= self.opslimit <= MAX_OPSLIMIT:
            raise KeyfileError(
                f"argon2id opslimit {self.opslimit} outside [{argon2id.OPSLIMIT_MIN}, "
                f"{MAX_OPSLIMIT}]"
            )
        if not argon2id.MEMLIMIT_MIN <= self.memlimit <= MAX_MEMLIMIT:
            raise KeyfileError(
                f"argon2id memlimit {self.memlimit} outside [{argon2id.MEMLIMIT_MIN}, "
                f"{MAX_MEMLIMIT}]"
            )


DEFAULT_KDF: Final = KdfParams(opslimit=3, memlimit=64 << 20)
FAST_KDF: Final = KdfParams(opslimit=argon2id.OPSLIMIT_MIN, memlimit=argon2id.MEMLIMIT_MIN)


def _derive(passphrase: str, salt: bytes, kdf: KdfParams) -> bytes:
    key: bytes = argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        passphrase.encode("utf-8"),
        salt,
        opslimit=kdf.opslimit,
        memlimit=kdf.memlimit,
    )
    return key


def keyfile_document(
    keypair: Keypair,
    passphrase: str | None,
    *,
    kind: str = "wallet",
    hrp: str = DEFAULT_HRP,
    localnet: bool = False,
    kdf: KdfParams = DEFAULT_KDF,
) -> dict[str, Any]:
    """The JSON document of a key file (see the module doc)."""
    if not kind or not kind.isidentifier():
        raise KeyfileError(f"key kind must be a short identifier, got {kind!r}")
    document: dict[str, Any] = {
        "version": KEYFILE_VERSION,
        "kind": kind,
        "public_key": "0x" + keypair.public.hex(),
        "address": encode_address(keypair.public, hrp),
    }
    if passphrase is None:
        if not localnet:
            raise KeyfileError(
                "a key file without a passphrase is only allowed for a localnet "
                "(pass localnet=True); give a passphrase"
            )
        document["localnet"] = True
        document["seed"] = "0x" + keypair.seed.hex()
        return document
    if not passphrase:
        raise KeyfileError("the passphrase is empty")
    kdf.check()
    salt = nacl.utils.random(argon2id.SALTBYTES)
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(_derive(passphrase, salt, kdf))
    ciphertext = box.encrypt(keypair.seed, nonce).ciphertext
    document["crypto"] = {
        "kdf": "argon2id",
        "opslimit": kdf.opslimit,
        "memlimit": kdf.memlimit,
        "salt": "0x" + salt.hex(),
        "nonce": "0x" + nonce.hex(),
        "ciphertext": "0x" + ciphertext.hex(),
    }
    return document


def save_keyfile(
    path: Path | str,
    keypair: Keypair,
    passphrase: str | None,
    *,
    localnet: bool = False,
    kind: str = "wallet",
    hrp: str = DEFAULT_HRP,
    kdf: KdfParams = DEFAULT_KDF,
    overwrite: bool = False,
) -> Path:
    """Write ``keypair`` to ``path`` (mode 0600); refuse to replace a file unless ``overwrite``."""
    target = Path(path)
    document = keyfile_document(keypair, passphrase, kind=kind, hrp=hrp, localnet=localnet, kdf=kdf)
    if target.exists() and not overwrite:
        raise KeyfileError(f"{target} already exists; refusing to overwrite a key file")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(prefix=".keyfile-", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp_name, target)
        else:
            os.link(tmp_name, target)  # fails if the target appeared meanwhile
            os.unlink(tmp_name)
    except FileExistsError:
        os.unlink(tmp_name)
        raise KeyfileError(f"{target} already exists; refusing to overwrite a key file") from None
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return target


def _hex_field(container: dict[str, Any], name: str, length: int | None = None) -> bytes:
    value = container.get(name)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise KeyfileError(f"field {name!r}: expected 0x-prefixed hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise KeyfileError(f"field {name!r}: not valid hex") from None
    if length is not None and len(raw) != length:
        raise KeyfileError(f"field {name!r}: expected {length} bytes, got {len(raw)}")
    return raw


def read_keyfile_document(path: Path | str) -> dict[str, Any]:
    """The parsed JSON of a key file, with its version checked."""
    target = Path(path)
    try:
        document = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyfileError(f"{target}: no such key file") from None
    except (OSError, ValueError) as exc:
        raise KeyfileError(f"{target}: not a readable JSON key file ({exc})") from None
    if not isinstance(document, dict):
        raise KeyfileError(f"{target}: a key file is a JSON object")
    if document.get("version") != KEYFILE_VERSION:
        raise KeyfileError(f"{target}: unsupported key file version {document.get('version')!r}")
    return document


def load_keyfile(
    path: Path | str, passphrase: str | None, *, allow_localnet: bool = False
) -> Keypair:
    """The keypair in ``path``; ``KeyfileError`` for a wrong passphrase or a bad file."""
    target = Path(path)
    document = read_keyfile_document(target)
    public = _hex_field(document, "public_key", KEY_LEN)
    if document.get("localnet") is True:
        if not allow_localnet:
            raise KeyfileError(
                f"{target} is an unencrypted localnet key; refused (allow localnet keys "
                "only on a local test network)"
            )
        seed = _hex_field(document, "seed", KEY_LEN)
    else:
        crypto = document.get("crypto")
        if not isinstance(crypto, dict) or crypto.get("kdf") != "argon2id":
            raise KeyfileError(f"{target}: missing crypto section with kdf 'argon2id'")
        if passphrase is None:
            raise KeyfileError(f"{target} is encrypted: a passphrase is required")
        opslimit, memlimit = crypto.get("opslimit"), crypto.get("memlimit")
        if not isinstance(opslimit, int) or not isinstance(memlimit, int):
            raise KeyfileError(f"{target}: opslimit and memlimit must be integers")
        kdf = KdfParams(opslimit, memlimit)
        kdf.check()
        salt = _hex_field(crypto, "salt", argon2id.SALTBYTES)
        nonce = _hex_field(crypto, "nonce", nacl.secret.SecretBox.NONCE_SIZE)
        ciphertext = _hex_field(crypto, "ciphertext")
        box = nacl.secret.SecretBox(_derive(passphrase, salt, kdf))
        try:
            seed = box.decrypt(ciphertext, nonce)
        except nacl.exceptions.CryptoError:
            raise KeyfileError(f"{target}: wrong passphrase (or the file was altered)") from None
    if len(seed) != KEY_LEN:
        raise KeyfileError(f"{target}: the seed is not {KEY_LEN} bytes")
    keypair = Keypair.from_seed(seed)
    if keypair.public != public:
        raise KeyfileError(f"{target}: public_key does not match the sealed seed")
    return keypair
