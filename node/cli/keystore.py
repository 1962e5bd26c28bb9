"""Where the CLI keeps keys: one keystore per chain, and the old shared folder as a fallback.

Theory of operation
-------------------
A keystore is a directory of key files ``<name>.json`` (``ledger.keyfile``).
``--keystore DIR`` (or ``$CREDICHAIN_KEYSTORE``) names it exactly. Without
it, the keystore is the chain's own folder, ``~/.credichain/keys/<first 8 hex
digits of the genesis hash>/``, the genesis hash learned from the node
(``chain_getBlockHash(0)``): keys made for one network are not offered to
another, and a new localnet starts with an empty keystore.

Keys made before keystores were per chain live in ``~/.credichain/wallet``,
shared by every chain. Nothing there is lost: with the default keystore a key
name not found in the chain's folder is looked up there, and the first time
that happens in a command a note on stderr says so (and how to move it).
Keys are always written to the chain's folder.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ledger.keyfile import KeyfileError, read_keyfile_document
from node.cli.display import View, keystore_names
from rpc.client import ChainProperties

KEYS_ROOT: Final = Path("~/.credichain/keys")
LEGACY_KEYSTORE: Final = Path("~/.credichain/wallet")
CHAIN_PREFIX_HEX: Final = 8
KEY_SUFFIX: Final = ".json"


class KeystoreError(KeyfileError):
    """A keystore problem, printed as one line (a ``KeyfileError``, as ``guarded`` expects)."""


def chain_folder(genesis: bytes, root: Path = KEYS_ROOT) -> Path:
    """The default keystore of the chain whose genesis hash is ``genesis``."""
    return root / genesis.hex()[:CHAIN_PREFIX_HEX]


@dataclass(frozen=True, slots=True)
class Keystore:
    """A keystore folder; ``legacy``: the old shared folder also searched (default only)."""

    folder: Path
    legacy: Path | None = None
    noted: list[str] = field(default_factory=list, compare=False)

    @classmethod
    def for_chain(cls, genesis: bytes, root: Path = KEYS_ROOT,
                  legacy: Path = LEGACY_KEYSTORE) -> Keystore:  # fmt: skip
        return cls(chain_folder(genesis, root), legacy)

    @property
    def where(self) -> Path:
        return self.folder.expanduser()

    def target(self, name: str) -> Path:
        """Where a key named ``name`` is written (always the keystore's own folder)."""
        return self.where / f"{name}{KEY_SUFFIX}"

    def find(self, name: str) -> Path | None:
        """The key file named ``name``: in the folder, else in the old shared folder."""
        own = self.target(name)
        if own.is_file():
            return own
        if self.legacy is None:
            return None
        old = self.legacy.expanduser() / f"{name}{KEY_SUFFIX}"
        if not old.is_file():
            return None
        self.note(
            f"note: key {name!r} is in the old shared keystore {self.legacy} (keys are now "
            f"kept per chain, here in {self.folder}); it is used as it is. To keep it with "
            f"this chain: mv {old} {self.where}/"
        )
        return old

    def note(self, text: str) -> None:
        """Say ``text`` on stderr, once per command (the first key found in the old folder)."""
        if not self.noted:
            self.noted.append(text)
            print(text, file=sys.stderr)

    def files(self) -> list[tuple[Path, bool]]:
        """Every key file, with whether it is in the old shared folder (own names first)."""
        own = sorted(self.where.glob(f"*{KEY_SUFFIX}")) if self.where.is_dir() else []
        found = [(path, False) for path in own]
        taken = {path.stem for path in own}
        if self.legacy is not None and self.legacy.expanduser().is_dir():
            old = sorted(self.legacy.expanduser().glob(f"*{KEY_SUFFIX}"))
            found += [(path, True) for path in old if path.stem not in taken]
        return found

    def public_key(self, name: str) -> bytes | None:
        """The public key of the key named ``name`` (None: no such key)."""
        path = self.find(name)
        if path is None:
            return None
        return bytes.fromhex(str(read_keyfile_document(path)["public_key"])[2:])

    def view(self, props: ChainProperties, local_time: bool = False) -> View:
        """How values are shown (``display.View``), with the names of both folders."""
        shown = View.of(props, self.folder, local_time)
        if self.legacy is None:
            return shown
        names = {**keystore_names(self.legacy), **shown.names}
        return View(shown.decimals, shown.symbol, shown.hrp, names, shown.local_time)
