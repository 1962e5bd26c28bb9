// An account's history as the explorer reads it (src/history.ts, docs/rpc.md "History").

import assert from "node:assert/strict";
import { test } from "node:test";
import { appendPage, entryWhat, eventNames, HISTORY_PAGE, historyCall, netChange } from "../../src/history.ts";

const entry = (height, position, extra = {}) => ({
  height,
  blockHash: "0x" + "11".repeat(32),
  timestamp: 1_700_000_000_000,
  position,
  kind: "extrinsic",
  extrinsicHash: "0x" + "22".repeat(32),
  signer: "cc1a",
  call: "balances.transfer",
  success: true,
  error: null,
  events: [],
  in: "0",
  out: "0",
  ...extra,
});
const transferred = { pallet: "balances", name: "Transferred", attributes: {} };
const fee = { pallet: "payment", name: "FeePaid", attributes: {} };

test("one page of the newest entries, then from the cursor", () => {
  assert.deepEqual(historyCall("cc1a", null), ["account_history", ["cc1a", null, HISTORY_PAGE, "desc"]]);
  assert.deepEqual(historyCall("cc1a", "AAAA"), ["account_history", ["cc1a", "AAAA", HISTORY_PAGE, "desc"]]);
  assert.ok(HISTORY_PAGE >= 1 && HISTORY_PAGE <= 100, "the node refuses a limit above 100");
});

test("an entry says what it was: the call, a failure, or the block event", () => {
  assert.equal(entryWhat(entry(3, 0)), "balances.transfer");
  assert.equal(
    entryWhat(entry(3, 0, { success: false, error: { pallet: "balances", code: "InsufficientBalance" } })),
    "balances.transfer failed: balances.InsufficientBalance",
  );
  const exit = { pallet: "funds", name: "ExitPaid", attributes: {} };
  assert.equal(entryWhat(entry(4, 2, { kind: "block", extrinsicHash: null, call: null, success: null, events: [exit] })), "funds.ExitPaid (block event)");
});

test("event names in order, once each; the net change is in minus out, exact", () => {
  assert.deepEqual(eventNames(entry(1, 0, { events: [fee, transferred, transferred] })), ["payment.FeePaid", "balances.Transferred"]);
  assert.equal(netChange(entry(1, 0, { in: "0", out: "2505060" })), -2505060n);
  assert.equal(netChange(entry(1, 0, { in: "18446744073709551615", out: "0" })), 18446744073709551615n);
});

test("a page is added after what is shown, without repeating an entry", () => {
  const first = [entry(9, 0), entry(8, 1)];
  const page = { total: 4, indexedHeight: 9, entries: [entry(8, 1), entry(7, 0), entry(5, 3)], next: null };
  assert.deepEqual(
    appendPage(first, page).map((e) => [e.height, e.position]),
    [[9, 0], [8, 1], [7, 0], [5, 3]],
  );
});
