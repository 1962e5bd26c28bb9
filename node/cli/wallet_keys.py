"""``credichain wallet`` key management: new, import, export, backup, rename, delete.

Theory of operation
-------------------
``store_key`` is the one place where wallet keys are written: a key file
``<name>.json`` (``ledger.keyfile``) in the keystore's folder and, for a key
made from a 24-word recovery phrase, the phrase's entropy sealed with the same
passphrase as ``<name>.phrase`` (node.cli.recovery). ``wallet new`` shows the
address and the phrase (on stderr, numbered) and asks for two of its words
back before anything is stored (``--yes`` skips that, for scripts; with
``--json`` the phrase is also in the JSON). ``import --phrase`` derives the
same key from the words. ``export`` prints the key file as it is (encrypted),
or, after a confirmation and the passphrase, the phrase; ``backup DIR``
copies the keystore; ``rename`` and ``delete`` (asked first) move or remove a
key and its phrase file together. The commands are registered on the wallet's
app by node.cli.wallet.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Annotated

import typer

from ledger.crypto import Keypair, encode_address
from ledger.keyfile import load_keyfile, read_keyfile_document, save_keyfile
from node.cli import common, recovery
from node.cli.common import CliError, JsonOut, emit, err, guarded, key_path, passphrase

PHRASE_SUFFIX = ".phrase"
Name = Annotated[str, typer.Argument(help="name of the key in the keystore")]
Hrp = Annotated[str, typer.Option(help="address prefix of the chain")]
Localnet = Annotated[
    bool, typer.Option("--localnet", help="store unencrypted (local test networks only)")
]


def store_key(keystore: Path, name: str, key: Keypair, localnet: bool, hrp: str,
              entropy: bytes | None = None) -> Path:  # fmt: skip
    """Write ``key`` as ``name`` (and its phrase's ``entropy``, 32 bytes, beside it)."""
    path = key_path(keystore, name)
    if path.exists():
        raise CliError(f"a key named {name!r} already exists in {keystore.expanduser()}")
    secret = None if localnet else passphrase(confirm=True)
    written = save_keyfile(path, key, secret, localnet=localnet, hrp=hrp)
    if entropy is not None and len(entropy) == recovery.ED25519_SEED_LEN:
        save_keyfile(written.with_suffix(PHRASE_SUFFIX), Keypair.from_seed(entropy), secret,
                     localnet=localnet, kind="phrase", hrp=hrp, overwrite=True)  # fmt: skip
    return written


def ask_back(phrase: str) -> None:
    """Two words of ``phrase`` typed back, or CliError: the user has it written down."""
    words = phrase.split()
    for position in recovery.positions_to_confirm():
        typed = typer.prompt(f"Word #{position} of the recovery phrase", err=True, default="",
                             show_default=False)  # fmt: skip
        if typed.strip().lower() != words[position - 1]:
            raise CliError(
                f"word #{position} does not match: nothing was stored. Run `wallet new` again "
                "and write the phrase down (in scripts: --yes)"
            )


def new_key(ctx: typer.Context, name: Name, hrp: Hrp = "cc", localnet: Localnet = False,
            as_json: JsonOut = False) -> None:  # fmt: skip
    """Make a key from a new recovery phrase (24 words); confirm the phrase; store the key."""
    common.check_name(name)
    keys = common.keystore(ctx)
    if keys.target(name).exists():
        raise CliError(f"a key named {name!r} already exists in {keys.where}")
    phrase = recovery.new_phrase()
    key = Keypair.from_seed(recovery.seed_of(phrase))
    address = encode_address(key.public, hrp)
    if not as_json:
        err.print(
            f"{name}: {address}\nRecovery phrase: write these {recovery.WORDS} words down, in "
            "order, and keep them offline. Anyone who has them has this key; without them "
            f"(or a backup) a lost keystore loses it.\n\n{recovery.numbered(phrase)}\n",
            highlight=False,
        )
    if not common.options(ctx).yes:
        ask_back(phrase)
    path = store_key(keys.folder, name, key, localnet, hrp, recovery.entropy_of(phrase))
    data = {"name": name, "address": address, "file": str(path), "phrase": phrase}
    emit(as_json, data, f"{name}: {address}")


def import_key(
    ctx: typer.Context,
    name: Name,
    dev: Annotated[
        str | None, typer.Option(help="a localnet dev account (alice, bob...) instead of a seed")
    ] = None,
    phrase: Annotated[
        bool, typer.Option("--phrase", help="from a recovery phrase (asked; or CREDICHAIN_PHRASE)")
    ] = False,
    hrp: Hrp = "cc",
    localnet: Localnet = False,
    as_json: JsonOut = False,
) -> None:
    """Import a recovery phrase (--phrase), a 32-byte seed (CREDICHAIN_SEED) or a dev account."""
    entropy = None
    if dev is not None:
        key = Keypair.dev(dev)
    elif phrase:
        text = os.environ.get("CREDICHAIN_PHRASE") or typer.prompt(
            "Recovery phrase", hide_input=True, err=True
        )
        try:
            key = Keypair.from_seed(recovery.seed_of(text))
            entropy = recovery.entropy_of(text)
        except recovery.PhraseError as exc:
            raise CliError(f"not a recovery phrase: {exc}") from None
    else:
        text = os.environ.get("CREDICHAIN_SEED") or typer.prompt("Seed (hex)", hide_input=True)
        try:
            key = Keypair.from_seed(bytes.fromhex(text.strip().removeprefix("0x")))
        except ValueError as exc:
            raise CliError(f"the seed must be 64 hex digits: {exc}") from None
    path = store_key(common.keystore(ctx).folder, name, key, localnet, hrp, entropy)
    address = encode_address(key.public, hrp)
    emit(as_json, {"name": name, "address": address, "file": str(path)}, f"{name}: {address}")


def export_key(
    ctx: typer.Context,
    name: Name,
    phrase: Annotated[
        bool, typer.Option("--phrase", help="print the recovery phrase, not the key file")
    ] = False,
) -> None:
    """Print the key file as stored (encrypted), or its recovery phrase (--phrase, asked first)."""
    path = common.key_file(common.keystore(ctx), name)
    if not phrase:
        document = read_keyfile_document(path)
        if document.get("localnet") is True:
            err.print("note: a localnet key file: its seed is in clear", highlight=False)
        typer.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    sealed = path.with_suffix(PHRASE_SUFFIX)
    if not sealed.is_file():
        raise CliError(f"no recovery phrase is kept for {name!r} (it was made from a seed, a "
                       "dev account or a phrase of fewer than 24 words)")  # fmt: skip
    question = f"Print the recovery phrase of {name!r}? Anyone who sees it has the key"
    if not common.options(ctx).yes and not typer.confirm(question, err=True):
        raise CliError("cancelled; nothing was printed")
    document = read_keyfile_document(sealed)
    secret = None if document.get("localnet") is True else passphrase(confirm=False)
    entropy = load_keyfile(sealed, secret, allow_localnet=True).seed
    typer.echo(recovery.phrase_of(entropy))


def backup(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(metavar="DIR", help="a new or empty directory")],
    as_json: JsonOut = False,
) -> None:
    """Copy every key file of the keystore (with their phrase files) into DIR."""
    keys = common.keystore(ctx)
    folder = target.expanduser()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise CliError(f"{folder} exists and is not an empty directory; nothing was copied")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    copied = []
    for path, _old in keys.files():
        for source in (path, path.with_suffix(PHRASE_SUFFIX)):
            if source.is_file():
                shutil.copy2(source, folder / source.name)
                (folder / source.name).chmod(0o600)
                copied.append(source.name)
    text = f"{len(copied)} files copied from {keys.where} to {folder}"
    emit(as_json, {"from": str(keys.where), "to": str(folder), "files": copied}, text)


def rename(ctx: typer.Context, old: Name, new: Name, as_json: JsonOut = False) -> None:
    """Rename a key (and its phrase file); a key of the old shared folder moves to this one."""
    keys = common.keystore(ctx)
    source = common.key_file(keys, old)
    target = key_path(keys.folder, new)
    if target.exists():
        raise CliError(f"a key named {new!r} already exists in {keys.where}")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.link(source, target)  # fails rather than replace a file that appeared meanwhile
    source.unlink()
    if source.with_suffix(PHRASE_SUFFIX).is_file():
        source.with_suffix(PHRASE_SUFFIX).rename(target.with_suffix(PHRASE_SUFFIX))
    emit(as_json, {"from": old, "to": new, "file": str(target)}, f"{old} is now {new}")


def delete(ctx: typer.Context, name: Name, as_json: JsonOut = False) -> None:
    """Delete a key (asked first: without a backup or its phrase it is gone)."""
    path = common.key_file(common.keystore(ctx), name)
    address = read_keyfile_document(path).get("address")
    question = (f"Delete {name!r} ({address}) from {path.parent}? Without a backup or its "
                "recovery phrase the key is lost")  # fmt: skip
    if not common.options(ctx).yes and not typer.confirm(question, err=True):
        raise CliError("cancelled; nothing was deleted")
    path.unlink()
    path.with_suffix(PHRASE_SUFFIX).unlink(missing_ok=True)
    emit(as_json, {"deleted": name, "address": address}, f"deleted {name} ({address})")


COMMANDS = {"new": new_key, "import": import_key, "export": export_key, "backup": backup,
            "rename": rename, "delete": delete}  # fmt: skip
GUARDED = {name: guarded(command) for name, command in COMMANDS.items()}
