"""Key files: encryption round trip, wrong passphrase, localnet plaintext, permissions."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.crypto import Keypair, encode_address
from ledger.keyfile import (
    DEFAULT_KDF,
    FAST_KDF,
    KdfParams,
    KeyfileError,
    load_keyfile,
    read_keyfile_document,
    save_keyfile,
)

KEY = Keypair.dev("alice")


def test_round_trip_with_the_default_cost(tmp_path: Path) -> None:
    path = save_keyfile(tmp_path / "alice.json", KEY, "correct horse", kind="node")
    document = json.loads(path.read_text())
    assert document["version"] == 1 and document["kind"] == "node"
    assert document["public_key"] == "0x" + KEY.public.hex()
    assert document["address"] == encode_address(KEY.public)
    crypto = document["crypto"]
    assert (crypto["kdf"], crypto["opslimit"], crypto["memlimit"]) == (
        "argon2id",
        DEFAULT_KDF.opslimit,
        DEFAULT_KDF.memlimit,
    )
    assert KEY.seed.hex() not in path.read_text()
    assert load_keyfile(path, "correct horse") == KEY


def test_two_saves_use_fresh_salt_and_nonce(tmp_path: Path) -> None:
    a = save_keyfile(tmp_path / "a.json", KEY, "pw", kdf=FAST_KDF)
    b = save_keyfile(tmp_path / "b.json", KEY, "pw", kdf=FAST_KDF)
    ca, cb = (read_keyfile_document(p)["crypto"] for p in (a, b))
    assert ca["salt"] != cb["salt"] and ca["nonce"] != cb["nonce"]
    assert ca["ciphertext"] != cb["ciphertext"]


def test_wrong_or_missing_passphrase(tmp_path: Path) -> None:
    path = save_keyfile(tmp_path / "k.json", KEY, "right", kdf=FAST_KDF)
    with pytest.raises(KeyfileError, match="wrong passphrase"):
        load_keyfile(path, "wrong")
    with pytest.raises(KeyfileError, match="a passphrase is required"):
        load_keyfile(path, None)
    with pytest.raises(KeyfileError, match="passphrase is empty"):
        save_keyfile(tmp_path / "e.json", KEY, "", kdf=FAST_KDF)


def test_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = save_keyfile(tmp_path / "sub" / "k.json", KEY, "pw", kdf=FAST_KDF)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = Keypair.dev("bob")
    with pytest.raises(KeyfileError, match="already exists"):
        save_keyfile(path, other, "pw", kdf=FAST_KDF)
    assert load_keyfile(path, "pw") == KEY
    save_keyfile(path, other, "pw", kdf=FAST_KDF, overwrite=True)
    assert load_keyfile(path, "pw") == other
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["k.json"]  # no temporary left behind


def test_plaintext_only_for_localnet(tmp_path: Path) -> None:
    with pytest.raises(KeyfileError, match="only allowed for a localnet"):
        save_keyfile(tmp_path / "p.json", KEY, None)
    path = save_keyfile(tmp_path / "p.json", KEY, None, localnet=True)
    document = read_keyfile_document(path)
    assert document["localnet"] is True and "crypto" not in document
    with pytest.raises(KeyfileError, match="unencrypted localnet key; refused"):
        load_keyfile(path, None)
    with pytest.raises(KeyfileError, match="unencrypted localnet key; refused"):
        load_keyfile(path, "any passphrase")
    assert load_keyfile(path, None, allow_localnet=True) == KEY


def test_tampering_is_detected(tmp_path: Path) -> None:
    path = save_keyfile(tmp_path / "k.json", KEY, "pw", kdf=FAST_KDF)
    document = json.loads(path.read_text())
    swapped = dict(document, public_key="0x" + Keypair.dev("bob").public.hex())
    path.write_text(json.dumps(swapped))
    with pytest.raises(KeyfileError, match="does not match the sealed seed"):
        load_keyfile(path, "pw")
    flipped = bytearray.fromhex(document["crypto"]["ciphertext"][2:])
    flipped[0] ^= 1
    document["crypto"]["ciphertext"] = "0x" + flipped.hex()
    path.write_text(json.dumps(document))
    with pytest.raises(KeyfileError, match="wrong passphrase \\(or the file was altered\\)"):
        load_keyfile(path, "pw")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"memlimit": 1 << 40}, "memlimit"),
        ({"opslimit": 0}, "opslimit"),
        ({"opslimit": "3"}, "must be integers"),
        ({"kdf": "scrypt"}, "kdf 'argon2id'"),
        ({"salt": "0x00"}, "field 'salt': expected 16 bytes"),
        ({"nonce": "nothex"}, "field 'nonce': expected 0x-prefixed hex"),
    ],
)
def test_hostile_or_broken_crypto_sections(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    path = save_keyfile(tmp_path / "k.json", KEY, "pw", kdf=FAST_KDF)
    document = json.loads(path.read_text())
    document["crypto"].update(change)
    path.write_text(json.dumps(document))
    with pytest.raises(KeyfileError, match=message):
        load_keyfile(path, "pw")


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(KeyfileError, match="no such key file"):
        load_keyfile(tmp_path / "missing.json", "pw")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(KeyfileError, match="not a readable JSON key file"):
        load_keyfile(tmp_path / "junk.json", "pw")
    (tmp_path / "v2.json").write_text('{"version": 2}')
    with pytest.raises(KeyfileError, match="unsupported key file version 2"):
        load_keyfile(tmp_path / "v2.json", "pw")
    with pytest.raises(KeyfileError, match="opslimit"):
        KdfParams(opslimit=100, memlimit=FAST_KDF.memlimit).check()
