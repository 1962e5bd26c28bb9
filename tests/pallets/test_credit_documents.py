"""F10: a request's texts and documents are hashes on chain; governance purges documents."""

from __future__ import annotations

import pytest

from ledger.crypto import blake2b256
from pallets.credit.documents import purged_at
from pallets.credit.storage import REQUEST, REQUESTS
from pallets.executive.executor import InvalidBlock
from tests.pallets import health_helpers
from tests.pallets.credit_helpers import ANA, BEN, LUCIA, fund_zine, ok, request_args
from tests.pallets.helpers import ALICE, assert_noop

ZERO = bytes(32)


def test_the_request_keeps_only_the_hashes_of_its_texts() -> None:
    chain = fund_zine()
    args = request_args([LUCIA, ANA, BEN])
    ok(chain, LUCIA, "credit", "submit", **args)
    raw = REQUESTS.get(chain.state(), 0)
    record = REQUEST.unwire(raw)
    assert record["what_hash"] == blake2b256(b"print the new fanzine and improve its distribution")
    assert record["documents"] == args["documents"]
    # no text of the request is anywhere in the stored bytes (F10)
    stored = chain.state().get(REQUESTS.key(0))
    assert stored is not None and b"fanzine" not in stored and b"fairs" not in stored


def test_a_hash_of_zeros_is_refused_in_every_text_and_document() -> None:
    chain = fund_zine()
    for field in ("what_hash", "repayment_good_hash", "repayment_bad_hash", "trust_reasons_hash"):
        raw = chain.sign(
            LUCIA, "credit", "submit", request_args([LUCIA, ANA, BEN], **{field: ZERO})
        )
        assert_noop(chain, LUCIA, raw, "BadDocumentHash", "F10")
    documents = [blake2b256(b"budget.pdf"), ZERO]
    raw = chain.sign(
        LUCIA, "credit", "submit", request_args([LUCIA, ANA, BEN], documents=documents)
    )
    receipt = assert_noop(chain, LUCIA, raw, "BadDocumentHash", "F10")
    assert receipt.error is not None and "document hash 5" in receipt.error.message


def test_purge_needs_the_governance_origin() -> None:
    chain = fund_zine()
    raw = chain.sign(ALICE, "credit", "purge_document", {"document": blake2b256(b"x")})
    with pytest.raises(InvalidBlock, match="purge_document needs a governance origin"):
        chain.execute([raw])
    assert purged_at(chain.state(), blake2b256(b"x")) == 0


def test_governance_purges_a_document_once_and_the_request_is_unchanged() -> None:
    chain = fund_zine(health_helpers.chain())
    ok(chain, LUCIA, "credit", "submit", **request_args([LUCIA, ANA, BEN]))
    before = REQUESTS.get(chain.state(), 0)
    what = blake2b256(b"print the new fanzine and improve its distribution")
    receipt = health_helpers.govern_ok(chain, "credit", "purge_document", document=what)
    assert [(e.pallet, e.name) for e in receipt.events if e.pallet == "credit"] == [
        ("credit", "DocumentPurged")
    ]
    assert purged_at(chain.state(), what) == chain.height
    assert REQUESTS.get(chain.state(), 0) == before  # the hash stays; only the mark is new
    again = health_helpers.govern(chain, "credit", "purge_document", document=what)
    assert not again.success and again.error is not None
    assert (again.error.code, again.error.rule) == ("AlreadyPurged", "F10")
    zero = health_helpers.govern(chain, "credit", "purge_document", document=ZERO)
    assert zero.error is not None and zero.error.code == "BadDocumentHash"
