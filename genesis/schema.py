"""The genesis document: a JSON file validated by pydantic (v2).

Theory of operation
-------------------
``GenesisDoc`` is the trust boundary between an operator's file and block 0.
Every field is typed and bounded; unknown fields are refused (a typo never
silently becomes a default); an error names the offending field by its path
(``validators.2.public_key``, ``params.credit.review_max``).

Accounts may be written as bech32m with the chain's prefix (``cc1...``) or as
``0x`` + 64 hex digits; validator keys also as bare hex. Amounts are integers
or decimal strings (JSON wallets use strings, wire.md §3). The address prefix
is read first and passed as validation context, so bech32 addresses are
checked against this chain's own prefix.

``params`` is generated from ``pallets.support.params.PARAMS`` (one table,
never written twice); a parameter left out takes its default, or its localnet
preset when ``localnet`` is true. A genesis that funds a dev account
(``alice``...``ferdie``, whose seeds are public) but is not marked ``localnet``
is refused.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

import nacl.bindings
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from ledger.crypto import DEFAULT_HRP, AddressError, Keypair, decode_address, encode_address
from ledger.types import Validator, ValidatorSet
from pallets.support.genesis_config import GenesisConfig
from pallets.support.params import PARAMS, SECTIONS, cross_check, defaults

DEV_ACCOUNTS: Final = ("alice", "bob", "charlie", "dave", "eve", "ferdie")
DEV_KEYS: Final = {Keypair.dev(name).public: name for name in DEV_ACCOUNTS}
AMOUNT_MAX: Final = 2**64 - 1
HEX64: Final = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


def _hrp(info: ValidationInfo) -> str:
    context = info.context or {}
    hrp = context.get("hrp", DEFAULT_HRP)
    return hrp if isinstance(hrp, str) else DEFAULT_HRP


def _account(value: Any, info: ValidationInfo) -> bytes:
    if isinstance(value, bytes) and len(value) == 32:
        return value
    if not isinstance(value, str):
        raise ValueError("an account is a bech32m address or 0x + 64 hex digits")
    try:
        return decode_address(value, _hrp(info))
    except AddressError as exc:
        raise ValueError(str(exc)) from exc


def _public_key(value: Any, info: ValidationInfo) -> bytes:
    if isinstance(value, str) and HEX64.match(value):
        key = bytes.fromhex(value.removeprefix("0x"))
    else:
        key = _account(value, info)
    # libsodium refuses signatures from small-order or off-curve keys: such a
    # validator could never vote, so refuse it here rather than halt later.
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(key):
        raise ValueError("not a valid Ed25519 public key (small order or not on the curve)")
    return key


def _amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("an amount is an integer or a decimal string of minor units")
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit() or len(value) > 20:
            raise ValueError(f"{value!r} is not a decimal string of minor units")
        value = int(value)
    number: int = value
    if not 0 <= number <= AMOUNT_MAX:
        raise ValueError(f"{number} is outside 0 to 2**64 - 1")
    return number


def _host_port(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a network address is HOST:PORT")
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT with a port from 1 to 65535")
    return value


Account = Annotated[bytes, BeforeValidator(_account)]
PublicKey = Annotated[bytes, BeforeValidator(_public_key)]
Amount = Annotated[int, BeforeValidator(_amount)]
HostPort = Annotated[str, BeforeValidator(_host_port)]

STRICT: Final = ConfigDict(extra="forbid", frozen=True)


class ValidatorEntry(BaseModel):
    model_config = STRICT

    public_key: PublicKey
    address: HostPort
    power: int = Field(ge=1, le=2**32)
    name: str = Field("", max_length=64)


class BalanceEntry(BaseModel):
    model_config = STRICT

    account: Account
    amount: Amount


class BioregionEntry(BaseModel):
    """H1: a bioregion the chain starts with, and its authorized oracles."""

    model_config = STRICT

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="snake-case bioregion id")
    oracles: list[Account] = Field(default_factory=list, max_length=16)

    @field_validator("oracles")
    @classmethod
    def _distinct_oracles(cls, oracles: list[bytes]) -> list[bytes]:
        if len(set(oracles)) != len(oracles):
            raise ValueError("oracles repeat an account")
        return oracles


# -- members (G1): registrars and members a chain starts with


def _hash32(value: Any) -> bytes:
    if isinstance(value, bytes) and len(value) == 32:
        return value
    if not isinstance(value, str) or not value.startswith("0x") or not HEX64.match(value):
        raise ValueError("a hash is 0x + 64 hex digits")
    return bytes.fromhex(value[2:])


Hash32 = Annotated[bytes, BeforeValidator(_hash32)]
BIOREGION_PATTERN: Final = r"^[a-z][a-z0-9_]{0,31}$"


class RegistrarEntry(BaseModel):
    """G1: an account that may register members of a bioregion."""

    model_config = STRICT

    bioregion: str = Field(pattern=BIOREGION_PATTERN)
    account: Account


class MemberEntry(BaseModel):
    """G1: a governance member; only the hash of their attestation is stored."""

    model_config = STRICT

    account: Account
    bioregion: str = Field(pattern=BIOREGION_PATTERN)
    attestation: Hash32


def _section_model(section: str) -> type[BaseModel]:
    fields: dict[str, Any] = {
        p.name: (int, Field(p.default, ge=p.minimum, le=p.maximum, description=p.doc, strict=True))
        for p in PARAMS
        if p.section == section
    }
    return create_model(f"{section.title()}Params", __config__=STRICT, **fields)


SECTION_MODELS: Final = {section: _section_model(section) for section in SECTIONS}
ParamsModel: Final = create_model(
    "Params",
    __config__=STRICT,
    **{s: (m, Field(default_factory=m)) for s, m in SECTION_MODELS.items()},  # type: ignore[call-overload]
)


class GenesisDoc(BaseModel):
    model_config = STRICT

    chain: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    genesis_time: int = Field(ge=0, le=2**32 - 1, description="Unix time, seconds")
    address_prefix: str = Field(DEFAULT_HRP, pattern=r"^[a-z][a-z0-9]{0,15}$")
    token_symbol: str = Field("CRED", pattern=r"^[A-Z][A-Z0-9]{0,7}$")
    token_decimals: int = Field(6, ge=0, le=18)
    localnet: bool = False
    validators: list[ValidatorEntry] = Field(min_length=1, max_length=1000)
    balances: list[BalanceEntry] = Field(default_factory=list, max_length=10_000_000)
    commons_pool: Amount = 0
    bioregions: list[BioregionEntry] = Field(default_factory=list, max_length=64)  # health
    registrars: list[RegistrarEntry] = Field(default_factory=list, max_length=10_000)  # G1
    members: list[MemberEntry] = Field(default_factory=list, max_length=1_000_000)  # G1
    params: ParamsModel = Field(default_factory=ParamsModel)

    @model_validator(mode="before")
    @classmethod
    def _localnet_preset(cls, data: Any) -> Any:
        """For a localnet, parameters left out take the localnet preset."""
        if not isinstance(data, dict) or data.get("localnet") is not True:
            return data
        given = data.get("params", {})
        if not isinstance(given, dict):
            return data
        merged: dict[str, Any] = {}
        for section, values in defaults(localnet=True).items():
            own = given.get(section, {})
            merged[section] = {**values, **own} if isinstance(own, dict) else own
        for section, own in given.items():
            merged.setdefault(section, own)  # unknown sections: let the model refuse them
        return {**data, "params": merged}

    @field_validator("validators")
    @classmethod
    def _distinct_validators(cls, entries: list[ValidatorEntry]) -> list[ValidatorEntry]:
        seen: dict[bytes, int] = {}
        for index, entry in enumerate(entries):
            if entry.public_key in seen:
                raise ValueError(
                    f"validators.{index}.public_key repeats validators.{seen[entry.public_key]}"
                )
            seen[entry.public_key] = index
        return entries

    @field_validator("balances")
    @classmethod
    def _distinct_balances(cls, entries: list[BalanceEntry]) -> list[BalanceEntry]:
        seen: dict[bytes, int] = {}
        for index, entry in enumerate(entries):
            if entry.account in seen:
                raise ValueError(f"balances.{index}.account repeats balances.{seen[entry.account]}")
            seen[entry.account] = index
        return entries

    @field_validator("bioregions")
    @classmethod
    def _distinct_bioregions(cls, entries: list[BioregionEntry]) -> list[BioregionEntry]:
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            if entry.id in seen:
                raise ValueError(f"bioregions.{index}.id repeats bioregions.{seen[entry.id]}")
            seen[entry.id] = index
        return entries

    @model_validator(mode="after")
    def _members_in_known_bioregions(self) -> GenesisDoc:
        """G1: registrars and members belong to listed bioregions; one membership each."""
        regions = {b.id for b in self.bioregions}
        registrars: dict[tuple[str, bytes], int] = {}
        for index, registrar in enumerate(self.registrars):
            if registrar.bioregion not in regions:
                raise ValueError(f"registrars.{index}.bioregion is not in bioregions")
            key = (registrar.bioregion, registrar.account)
            if key in registrars:
                raise ValueError(f"registrars.{index} repeats registrars.{registrars[key]}")
            registrars[key] = index
        accounts: dict[bytes, int] = {}
        attestations: dict[bytes, int] = {}
        for index, member in enumerate(self.members):
            if member.bioregion not in regions:
                raise ValueError(f"members.{index}.bioregion is not in bioregions")
            if member.account in accounts:
                raise ValueError(
                    f"members.{index}.account repeats members.{accounts[member.account]}"
                )
            if member.attestation in attestations:
                first = attestations[member.attestation]
                raise ValueError(f"members.{index}.attestation repeats members.{first}")
            accounts[member.account] = attestations[member.attestation] = index
        return self

    @model_validator(mode="after")
    def _whole_document(self) -> GenesisDoc:
        if not self.localnet:
            for index, entry in enumerate(self.balances):
                name = DEV_KEYS.get(entry.account)
                if name is not None:
                    raise ValueError(
                        f"balances.{index}.account is the dev account {name!r}, whose seed is "
                        'public: only a genesis marked "localnet": true may fund it'
                    )
        total = sum(entry.amount for entry in self.balances) + self.commons_pool
        if total > AMOUNT_MAX:
            raise ValueError(f"balances: total supply {total} exceeds 2**64 - 1")
        problems = cross_check(self.param_values())
        if problems:
            raise ValueError("params: " + "; ".join(problems))
        return self

    # -- views

    def param_values(self) -> dict[str, dict[str, int]]:
        return {s: dict(getattr(self.params, s).model_dump()) for s in SECTIONS}

    def validator_set(self) -> ValidatorSet:
        return ValidatorSet.of([Validator(v.public_key, v.power) for v in self.validators])

    def to_config(self) -> GenesisConfig:
        return GenesisConfig(
            chain=self.chain,
            genesis_time=self.genesis_time,
            validators=self.validator_set(),
            balances=tuple((b.account, b.amount) for b in self.balances),
            params=self.param_values(),
            localnet=self.localnet,
            module_balances=(("commons", self.commons_pool),) if self.commons_pool else (),
            bioregions=tuple((b.id, tuple(b.oracles)) for b in self.bioregions),
            registrars=tuple((r.bioregion, r.account) for r in self.registrars),
            members=tuple((m.account, m.bioregion, m.attestation) for m in self.members),
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The document as JSON values: bech32m accounts, hex keys, decimal-string amounts."""
        hrp = self.address_prefix
        return {
            "chain": self.chain,
            "genesis_time": self.genesis_time,
            "address_prefix": hrp,
            "token_symbol": self.token_symbol,
            "token_decimals": self.token_decimals,
            "localnet": self.localnet,
            "validators": [
                {
                    "name": v.name,
                    "public_key": v.public_key.hex(),
                    "address": v.address,
                    "power": v.power,
                }
                for v in self.validators
            ],
            "balances": [
                {"account": encode_address(b.account, hrp), "amount": str(b.amount)}
                for b in self.balances
            ],
            "commons_pool": str(self.commons_pool),
            "bioregions": [
                {"id": b.id, "oracles": [encode_address(o, hrp) for o in b.oracles]}
                for b in self.bioregions
            ],
            "registrars": [
                {"bioregion": r.bioregion, "account": encode_address(r.account, hrp)}
                for r in self.registrars
            ],
            "members": [
                {
                    "account": encode_address(m.account, hrp),
                    "bioregion": m.bioregion,
                    "attestation": "0x" + m.attestation.hex(),
                }
                for m in self.members
            ],
            "params": self.param_values(),
        }
