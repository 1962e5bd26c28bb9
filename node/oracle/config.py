"""The oracle feeder's configuration: a TOML or JSON file validated by pydantic.

Theory of operation
-------------------
The file is the trust boundary between an operator and a signing process,
so every field is typed and bounded, unknown fields are refused (a typo
never becomes a silent default) and an error names the field by its path
(``components.ecological_health.source``). Cross-field rules are checked
too: source names are distinct, every one of the five components is mapped,
each mapping names a declared source, and a scale's ``min`` differs from its
``max``.

Layout (see deploy/oracle/*.toml)::

    rpc = "http://127.0.0.1:9944"
    bioregion = "localnet"
    dev_account = "alice"            # localnet only; or key_file = "oracle.json"
    [[sources]]                      # kind = "http" (JSON over HTTP) or "csv"
    name = "stats"  kind = "http"  url = "https://..."  timeout = 5
    [components.economic_diversity]
    source = "stats"  field = "economy.diversity_index"  min = 0  max = 1

Numbers in the file (``min``, ``max``) are read as exact decimals, never
binary floats, so the mapping is the same on every machine.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from pallets.health.storage import BIOREGION_RE, COMPONENTS

DEV_ACCOUNTS: Final = ("alice", "bob", "charlie", "dave", "eve", "ferdie")
NAME_PATTERN: Final = r"^[a-z][a-z0-9_-]{0,31}$"
STRICT: Final = ConfigDict(extra="forbid", frozen=True)


RPC_URL: Final = r"^https?://\S+$"  # the node's JSON-RPC URL (rpc, and oracle run --rpc)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the field."""


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str, float, Decimal)):
        raise ValueError("a number is expected")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


Number = Annotated[Decimal, BeforeValidator(_decimal)]


class HttpSource(BaseModel):
    """A JSON document fetched over HTTP(S) with a timeout."""

    model_config = STRICT

    kind: Literal["http"]
    name: str = Field(pattern=NAME_PATTERN)
    url: str = Field(pattern=r"^https?://\S+$", max_length=2048)
    timeout: float = Field(5.0, gt=0, le=120)
    headers: dict[str, str] = Field(default_factory=dict, max_length=16)


class CsvSource(BaseModel):
    """A CSV file with a header row; the last data row is the current reading."""

    model_config = STRICT

    kind: Literal["csv"]
    name: str = Field(pattern=NAME_PATTERN)
    path: Path
    delimiter: str = Field(",", min_length=1, max_length=1)


Source = Annotated[HttpSource | CsvSource, Field(discriminator="kind")]


class ComponentMap(BaseModel):
    """Where a component comes from and how its value becomes bps (``mapping``)."""

    model_config = STRICT

    source: str = Field(pattern=NAME_PATTERN)
    field: str = Field(min_length=1, max_length=256, description="dotted path or CSV column")
    min: Number = Decimal(0)
    max: Number = Decimal(1)
    invert: bool = Field(False, description="10000 - value: e.g. footprint -> ecological health")

    @model_validator(mode="after")
    def _range(self) -> ComponentMap:
        if self.min == self.max:
            raise ValueError("min and max must differ")
        return self


class Components(BaseModel):
    model_config = STRICT

    economic_diversity: ComponentMap
    resource_circulation: ComponentMap
    cooperative_participation: ComponentMap
    ecological_health: ComponentMap
    knowledge_sharing: ComponentMap

    def in_order(self) -> list[tuple[str, ComponentMap]]:
        return [(name, getattr(self, name)) for name in COMPONENTS]


class OracleConfig(BaseModel):
    model_config = STRICT

    rpc: str = Field("http://127.0.0.1:9944", pattern=RPC_URL)
    bioregion: str = Field(pattern=BIOREGION_RE.pattern)
    key_file: Path | None = None
    localnet_keys: bool = False
    dev_account: Literal["alice", "bob", "charlie", "dave", "eve", "ferdie"] | None = None
    poll_seconds: float = Field(5.0, gt=0, le=3600)
    inclusion_timeout: float = Field(30.0, gt=0, le=600)
    retries: int = Field(4, ge=0, le=20)
    backoff_seconds: float = Field(1.0, ge=0, le=60)
    backoff_max: float = Field(60.0, ge=0, le=3600)
    sources: list[Source] = Field(min_length=1, max_length=32)
    components: Components

    @model_validator(mode="after")
    def _whole(self) -> OracleConfig:
        if (self.key_file is None) == (self.dev_account is None):
            raise ValueError("give exactly one of key_file and dev_account (localnet only)")
        names = [s.name for s in self.sources]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValueError(f"sources.{index}.name repeats {name!r}")
        for component, mapping in self.components.in_order():
            if mapping.source not in names:
                raise ValueError(
                    f"components.{component}.source names {mapping.source!r}, "
                    f"which is not one of the sources ({', '.join(names)})"
                )
        return self

    def source(self, name: str) -> HttpSource | CsvSource:
        return next(s for s in self.sources if s.name == name)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(file)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_config(data: Any, origin: str = "config") -> OracleConfig:
    """Validate a parsed document; ``ConfigError`` names every wrong field."""
    try:
        return OracleConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {_describe(exc)}") from None


def load_config(path: Path) -> OracleConfig:
    """Read a ``.toml`` or ``.json`` file; relative CSV/key paths are taken from its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text, parse_float=Decimal)
        else:
            data = tomllib.loads(text, parse_float=Decimal)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}") from None
    config = parse_config(data, str(path))
    base = path.parent
    sources = [
        s.model_copy(update={"path": base / s.path}) if isinstance(s, CsvSource) else s
        for s in config.sources
    ]
    key_file = None if config.key_file is None else base / config.key_file
    return config.model_copy(update={"sources": sources, "key_file": key_file})
