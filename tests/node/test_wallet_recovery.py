"""Recovery phrases and key management: wallet new|import --phrase|export|backup|rename|delete.

The keystore is a temporary folder named with ``--keystore`` (no node is asked).
The derivation is pinned with the BIP-39 test phrases, whose 64-byte seeds
(no passphrase) are published: the Ed25519 seed is the first 32 bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.crypto import Keypair, encode_address
from node.cli import recovery
from node.cli.wallet import app

PASS = "recovery test passphrase"
ABANDON_24 = "abandon " * 23 + "art"
ABANDON_12 = "abandon " * 11 + "about"
ADDRESS_24 = "cc1rh349ezv6vekwfvn7ge55ucwrq9272gdazd2zm2gphjefc6w99ssx2xcxd"


def test_the_derivation_is_pinned_by_bip39_vectors() -> None:
    assert recovery.seed_of(ABANDON_12).hex() == (
        "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1"
    )  # the first half of BIP-39's published seed of this phrase
    assert recovery.seed_of(ABANDON_24).hex() == (
        "408b285c123836004f4b8842c89324c1f01382450c0d439af345ba7fc49acf70"
    )
    assert encode_address(Keypair.from_seed(recovery.seed_of(ABANDON_24)).public) == ADDRESS_24
    assert recovery.seed_of("  Abandon " * 11 + "ABOUT ") == recovery.seed_of(ABANDON_12)
    assert recovery.phrase_of(recovery.entropy_of(ABANDON_24)) == ABANDON_24.strip()
    assert len(recovery.new_phrase().split()) == 24


@pytest.mark.parametrize(
    ("phrase", "message"),
    [("abandon " * 24, "checksum"), ("abandon " * 11, "12, 15, 18, 21 or 24 words"),
     ("abandon " * 11 + "bitcoinz", "not BIP-39 English words")],
)  # fmt: skip
def test_bad_phrases_are_refused(phrase: str, message: str) -> None:
    with pytest.raises(recovery.PhraseError, match=message):
        recovery.seed_of(phrase)


@pytest.fixture
def wallet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(recovery, "new_phrase", lambda: ABANDON_24.strip())
    monkeypatch.setattr(recovery, "positions_to_confirm", lambda: (3, 24))
    keystore = tmp_path / "keys"

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
        return CliRunner().invoke(app, [*args, "--keystore", str(keystore)], input=input,
                                  env={"CREDICHAIN_PASSPHRASE": PASS, **(env or {})})  # fmt: skip

    run.keystore = keystore  # type: ignore[attr-defined]
    return run


def test_new_shows_the_phrase_and_asks_two_words_back(wallet: Any) -> None:
    result = wallet("new", "carol", input="abandon\nart\n")
    assert result.exit_code == 0, result.output
    assert f"carol: {ADDRESS_24}" in result.stdout
    assert " 3. abandon" in result.stderr and "24. art" in result.stderr
    assert "Word #3" in result.stderr and "Word #24" in result.stderr
    assert (wallet.keystore / "carol.json").is_file()
    assert (wallet.keystore / "carol.phrase").is_file()


def test_new_with_a_wrong_word_stores_nothing(wallet: Any) -> None:
    result = wallet("new", "carol", input="abandon\nabandon\n")
    assert result.exit_code == 1 and "word #24 does not match" in result.output
    assert not (wallet.keystore / "carol.json").exists()


def test_new_yes_skips_the_question_and_json_has_the_phrase(wallet: Any) -> None:
    result = wallet("new", "carol", "--yes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["phrase"] == ABANDON_24.strip() and data["address"] == ADDRESS_24


def test_import_phrase_restores_the_same_key(wallet: Any) -> None:
    result = wallet("import", "again", "--phrase", "--json", env={"CREDICHAIN_PHRASE": ABANDON_24})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["address"] == ADDRESS_24
    typed = wallet("import", "twelve", "--phrase", input=ABANDON_12 + "\n")
    assert typed.exit_code == 0, typed.output
    bad = wallet("import", "bad", "--phrase", env={"CREDICHAIN_PHRASE": "abandon " * 24})
    assert bad.exit_code == 1 and "checksum" in bad.output
    assert not (wallet.keystore / "bad.json").exists()


def test_export_the_key_file_or_the_phrase(wallet: Any) -> None:
    assert wallet("new", "carol", "--yes").exit_code == 0
    document = json.loads(wallet("export", "carol").stdout)
    assert document["address"] == ADDRESS_24 and "crypto" in document and "seed" not in document
    refused = wallet("export", "carol", "--phrase", input="n\n")
    assert refused.exit_code == 1 and "nothing was printed" in refused.output
    shown = wallet("export", "carol", "--phrase", input="y\n")
    assert shown.exit_code == 0 and shown.stdout.splitlines()[-1] == ABANDON_24.strip()
    assert wallet("import", "dev", "--dev", "dave").exit_code == 0
    none = wallet("export", "dev", "--phrase", "--yes")
    assert none.exit_code == 1 and "no recovery phrase is kept" in none.output


def test_backup_rename_delete(wallet: Any, tmp_path: Path) -> None:
    assert wallet("new", "carol", "--yes").exit_code == 0
    assert wallet("import", "dave", "--dev", "dave", "--localnet").exit_code == 0
    copy = tmp_path / "backup"
    result = wallet("backup", str(copy))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in copy.iterdir()) == ["carol.json", "carol.phrase", "dave.json"]
    assert wallet("backup", str(copy)).exit_code == 1  # not empty: nothing is overwritten
    assert wallet("rename", "carol", "dave").exit_code == 1  # taken
    assert wallet("rename", "carol", "caroline").exit_code == 0
    names = sorted(p.name for p in wallet.keystore.iterdir())
    assert names == ["caroline.json", "caroline.phrase", "dave.json"]
    kept = wallet("delete", "caroline", input="n\n")
    assert kept.exit_code == 1 and (wallet.keystore / "caroline.json").is_file()
    gone = wallet("delete", "caroline", input="y\n")
    assert gone.exit_code == 0 and sorted(p.name for p in wallet.keystore.iterdir()) == [
        "dave.json"
    ]
    assert wallet("delete", "dave", "--yes").exit_code == 0
    assert wallet("delete", "nobody", "--yes").exit_code == 1
