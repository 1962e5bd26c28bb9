"""A localnet genesis: N fresh validators, the dev accounts funded, short periods.

Validator keys are written as ``ledger.keyfile`` documents in their
plain-text localnet mode (the seed in clear, marked ``"localnet": true``), the
same format ``credichain node start`` reads. That is only fit for a
developer's machine: the node refuses such a file unless its genesis is a
localnet, and uses encrypted key files everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from genesis.build import dump_genesis, parse_genesis
from genesis.schema import DEV_ACCOUNTS, GenesisDoc
from ledger.crypto import Keypair, blake2b256, encode_address
from ledger.keyfile import KeyfileError, load_keyfile, save_keyfile

DEV_BALANCE: Final = 1_000_000 * 10**6  # one million tokens at 6 decimals
COMMONS_POOL: Final = 10_000_000 * 10**6
BASE_PORT: Final = 30333


@dataclass(frozen=True, slots=True)
class LocalnetFiles:
    genesis: Path
    key_files: tuple[Path, ...]


def localnet_doc(
    validators: list[Keypair],
    *,
    chain: str = "credichain-localnet",
    genesis_time: int,
    host: str = "127.0.0.1",
    base_port: int = BASE_PORT,
    power: int = 10,
) -> GenesisDoc:
    data = {
        "chain": chain,
        "genesis_time": genesis_time,
        "address_prefix": "cc",
        "token_symbol": "CRED",
        "token_decimals": 6,
        "localnet": True,
        "validators": [
            {
                "name": f"validator-{index}",
                "public_key": key.public.hex(),
                "address": f"{host}:{base_port + index}",
                "power": power,
            }
            for index, key in enumerate(validators)
        ],
        "balances": [
            {"account": encode_address(Keypair.dev(name).public), "amount": str(DEV_BALANCE)}
            for name in DEV_ACCOUNTS
        ],
        "commons_pool": str(COMMONS_POOL),
        "bioregions": [  # health (H1): one bioregion, the dev accounts alice and bob as oracles
            {
                "id": "localnet",
                "oracles": [encode_address(Keypair.dev(n).public) for n in ("alice", "bob")],
            }
        ],
        # members (G1): every dev account a member of the localnet bioregion, alice its
        # registrar; an attestation hash stands for the document a registrar checked
        "registrars": [
            {"bioregion": "localnet", "account": encode_address(Keypair.dev("alice").public)}
        ],
        "members": [
            {
                "account": encode_address(Keypair.dev(name).public),
                "bioregion": "localnet",
                "attestation": "0x"
                + blake2b256(b"credichain-localnet/attestation/" + name.encode()).hex(),
            }
            for name in DEV_ACCOUNTS
        ],
    }
    return parse_genesis(data, "localnet genesis")


def write_localnet(
    out: Path, count: int, *, chain: str, genesis_time: int, force: bool = False
) -> LocalnetFiles:
    if count < 1:
        raise ValueError("a localnet needs at least one validator")
    genesis_path = out / "genesis.json"
    if genesis_path.exists() and not force:
        raise FileExistsError(f"{genesis_path} exists (use --force to overwrite)")
    keys = [Keypair.generate() for _ in range(count)]
    doc = localnet_doc(keys, chain=chain, genesis_time=genesis_time)
    (out / "keys").mkdir(parents=True, exist_ok=True)
    dump_genesis(doc, genesis_path)
    paths = []
    for index, key in enumerate(keys):
        path = out / "keys" / f"validator-{index}.json"
        save_keyfile(path, key, None, localnet=True, kind="validator", overwrite=force)
        paths.append(path)
    return LocalnetFiles(genesis_path, tuple(paths))


def read_key_file(path: Path) -> Keypair:
    """Read a localnet validator key file (``ledger.keyfile``, plain-text localnet mode)."""
    try:
        return load_keyfile(path, None, allow_localnet=True)
    except KeyfileError as exc:
        raise ValueError(str(exc)) from exc
