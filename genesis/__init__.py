"""credichain genesis: the genesis document, block 0 and its state, localnet generation."""

from genesis.build import (
    GenesisError,
    build_genesis,
    dump_genesis,
    genesis_hash,
    genesis_header,
    genesis_state,
    load_genesis,
    parse_genesis,
)
from genesis.schema import DEV_ACCOUNTS, GenesisDoc

__all__ = [
    "DEV_ACCOUNTS",
    "GenesisDoc",
    "GenesisError",
    "build_genesis",
    "dump_genesis",
    "genesis_hash",
    "genesis_header",
    "genesis_state",
    "load_genesis",
    "parse_genesis",
]
