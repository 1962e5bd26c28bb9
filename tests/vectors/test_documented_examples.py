"""Every worked example in the protocol documents is recomputed from the code.

Byte examples are ``<!-- example: NAME -->`` followed by an indented block:
hex digits, ``XX×N`` (N bytes of value XX), ``{other}`` (the bytes of another
example), and ``# comments`` (docs/PROTOCOL.md §1). Every example found must
have a computation in ``doc_examples.EXAMPLES`` and every computation must
appear in a document, so neither can drift alone. The proposer table of
docs/protocol/consensus.md §6 and the receipt-over-RPC example of
docs/PROTOCOL.md §7 are checked here too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from consensus.proposer import proposer_of
from ledger import codec
from ledger.types import Receipt, Validator, ValidatorSet
from pallets.construct import registry
from rpc.backend import ReceiptRecord
from rpc.encoding import receipt_json

from .doc_examples import EXAMPLES, fill, receipt_ok

ROOT = Path(__file__).resolve().parents[2]
DOCS = [
    ROOT / "docs" / "PROTOCOL.md",
    ROOT / "docs" / "consensus.md",
    *sorted((ROOT / "docs" / "protocol").glob("*.md")),
]
MARK = re.compile(r"<!-- example: ([a-z0-9_]+) -->\n((?:    .*\n)+)")
TOKEN = re.compile(r"^(?:([0-9a-f]{2})×([0-9]+)|\{([a-z0-9_]+)\}|((?:[0-9a-f]{2})+))$")


def _raw_examples() -> dict[str, tuple[Path, str]]:
    found: dict[str, tuple[Path, str]] = {}
    for doc in DOCS:
        for match in MARK.finditer(doc.read_text(encoding="utf-8")):
            name = match.group(1)
            assert name not in found, f"example {name!r} is defined twice"
            found[name] = (doc, match.group(2))
    return found


def _parse(name: str, raw: dict[str, tuple[Path, str]], depth: int = 0) -> bytes:
    assert depth < 5, f"example {name!r}: references nest too deep"
    doc, text = raw[name]
    out = bytearray()
    for line in text.splitlines():
        for token in line.split("#", 1)[0].split():
            m = TOKEN.match(token)
            assert m, f"{doc.name}, example {name!r}: cannot read {token!r}"
            if m.group(1):
                out += bytes.fromhex(m.group(1)) * int(m.group(2))
            elif m.group(3):
                out += _parse(m.group(3), raw, depth + 1)
            else:
                out += bytes.fromhex(m.group(4))
    return bytes(out)


def test_every_documented_example_matches_the_code() -> None:
    raw = _raw_examples()
    assert set(raw) == set(EXAMPLES), (
        f"documented but not computed: {sorted(set(raw) - set(EXAMPLES))}; "
        f"computed but not documented: {sorted(set(EXAMPLES) - set(raw))}"
    )
    for name, compute in EXAMPLES.items():
        assert _parse(name, raw) == compute(), f"example {name!r} ({raw[name][0].name}) drifted"


def _block_after(text: str, marker: str) -> str:
    start = text.index(marker) + len(marker)
    match = re.compile(r"```[a-z]*\n(.*?)```", re.S).search(text, start)
    assert match, f"no code block after {marker}"
    return match.group(1)


def test_documented_proposer_table_matches_the_code() -> None:
    text = (ROOT / "docs" / "protocol" / "consensus.md").read_text(encoding="utf-8")
    table = text[text.index("<!-- table: proposer_example -->") :]
    names = {"A": fill(0xAA, 32), "B": fill(0xBB, 32), "C": fill(0xCC, 32), "D": fill(0xDD, 32)}
    vs = ValidatorSet(
        tuple(Validator(names[n], p) for n, p in zip("ABCD", (3, 1, 1, 1), strict=True))
    )
    rows = re.findall(r"^\| (\d+) \| (\d+) \| (\d+) \| ([A-D]) \|", table, re.M)
    assert len(rows) >= 8
    for height, round_, k, proposer in rows:
        assert int(k) == int(height) + int(round_) + 1
        assert proposer_of(vs, int(height), int(round_)) == names[proposer], (height, round_)
    # the increments table: priorities after adding power, and the winner
    steps = re.findall(
        r"^\| (\d+) \| ([-\d]+), ([-\d]+), ([-\d]+), ([-\d]+) \| ([A-D]) \|", table, re.M
    )
    assert len(steps) >= 6
    priorities = [0, 0, 0, 0]
    for k, *after, winner in steps:
        priorities = [p + w for p, w in zip(priorities, (3, 1, 1, 1), strict=True)]
        assert [int(x) for x in after] == priorities, f"increment {k}"
        best = max(range(4), key=lambda i: (priorities[i], -i))
        assert "ABCD"[best] == winner
        priorities[best] -= 6


def _from_json(kind: dict, value: object) -> object:
    """The documented recipe (PROTOCOL.md §7): a JSON attribute back to its typed value."""
    k = kind["kind"]
    if k == "int":
        assert isinstance(value, str)
        return int(value)
    if k in ("fixed_bytes", "bytes"):
        assert isinstance(value, str) and value.startswith("0x")
        return bytes.fromhex(value[2:])
    if k in ("text", "enum"):
        return value
    if k == "bool":
        assert isinstance(value, bool)
        return value
    if k == "option":
        return None if value is None else _from_json(kind["of"], value)
    if k == "list":
        assert isinstance(value, list)
        return [_from_json(kind["of"], v) for v in value]
    if k == "record":
        assert isinstance(value, list)
        return [_from_json(f["type"], v) for f, v in zip(kind["fields"], value, strict=True)]
    raise AssertionError(f"no recipe for {k}")


def test_documented_receipt_json_rebuilds_the_hashed_receipt() -> None:
    text = (ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    documented = json.loads(_block_after(text, "<!-- json: receipt_rpc -->"))
    record = ReceiptRecord(fill(0x77, 32), 7, 0, receipt_ok())
    served = receipt_json(record)
    assert {name: served[name] for name in documented} == documented
    metadata = registry().metadata()
    fields = {
        (p["name"], e["name"]): {f["name"]: f["def"] for f in e["fields"]}
        for p in metadata["pallets"]
        for e in p["events"]
    }
    events = []
    for ev in documented["events"]:
        declared = fields[(ev["pallet"], ev["name"])]
        attrs = {n: _from_json(declared[n], v) for n, v in ev["attributes"].items()}
        events.append([ev["pallet"], ev["name"], attrs])
    error = documented["error"]
    wire = [
        bytes.fromhex(documented["extrinsicHash"][2:]),
        documented["success"],
        None
        if error is None
        else [error["pallet"], error["code"], error["rule"], error["message"]],
        events,
    ]
    rebuilt = codec.encode(wire)
    assert rebuilt == EXAMPLES["receipt"]()
    assert Receipt.from_wire(codec.decode(rebuilt)) == receipt_ok()
