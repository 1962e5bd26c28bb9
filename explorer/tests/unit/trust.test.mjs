// Trust at a fund as the explorer reads and sums it (src/trust.ts, docs/credit.md §3a).

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accountTrustCalls,
  distinctAccounts,
  exposure,
  FUNDS_PER_PAGE,
  inUseBps,
  nextPage,
  PEOPLE_PER_TABLE,
  totals,
  trustCalls,
  trustOf,
} from "../../src/trust.ts";

const AT = "0x" + "ab".repeat(32);
const view = (trust, inUse, extra = {}) => ({
  trust: String(trust),
  in_use: String(inUse),
  available: String(Math.max(0, trust - inUse)),
  local: String(trust),
  initial: "50000000",
  ...extra,
});

test("one trust_get per funder, all at the block being shown", () => {
  const calls = trustCalls(0, ["cc1a", "cc1b", "cc1c"], AT);
  assert.deepEqual(calls, [
    ["trust_get", [0, "cc1a", AT]],
    ["trust_get", [0, "cc1b", AT]],
    ["trust_get", [0, "cc1c", AT]],
  ]);
});

test("without a known block the calls read the best block (no `at`)", () => {
  assert.deepEqual(trustCalls(2, ["cc1a"], null), [["trust_get", [2, "cc1a"]]]);
  assert.deepEqual(trustCalls(2, ["cc1a"]), [["trust_get", [2, "cc1a"]]]);
  assert.deepEqual(trustCalls(2, [], AT), []);
});

test("an account's trust is read one call per fund", () => {
  assert.deepEqual(accountTrustCalls([0, 3], "cc1lucia", AT), [
    ["trust_get", [0, "cc1lucia", AT]],
    ["trust_get", [3, "cc1lucia", AT]],
  ]);
});

test("a trust_get answer is kept with its five figures", () => {
  const answer = { trust: "100000000", in_use: "40000000", available: "60000000", local: "100000000", initial: "50000000" };
  assert.deepEqual(trustOf(answer), answer);
  assert.deepEqual(trustOf({ ...answer, extra: 1 }), answer);
});

test("a failed call or a malformed answer reads as no figures", () => {
  assert.equal(trustOf(new Error("trust_get is not available on this node")), null);
  assert.equal(trustOf(null), null);
  assert.equal(trustOf(undefined), null);
  assert.equal(trustOf("100"), null);
  assert.equal(trustOf({ trust: "100", in_use: "0", available: "100", local: "100" }), null, "initial missing");
  assert.equal(trustOf({ trust: 100, in_use: "0", available: "100", local: "100", initial: "0" }), null, "a number, not a decimal string");
  assert.equal(trustOf({ trust: "-1", in_use: "0", available: "0", local: "0", initial: "0" }), null);
  assert.equal(trustOf({ trust: "1e3", in_use: "0", available: "0", local: "0", initial: "0" }), null);
});

test("the share in use is exact for amounts beyond 2^53", () => {
  assert.equal(inUseBps(view(100, 0)), 0);
  assert.equal(inUseBps(view(300, 100)), 3333);
  assert.equal(inUseBps(view(100, 100)), 10_000);
  const big = { trust: "90000000000000000003", in_use: "30000000000000000001", available: "60000000000000000002", local: "0", initial: "0" };
  assert.equal(inUseBps(big), 3333);
  assert.equal(inUseBps({ ...big, trust: "0", available: "0" }), 10_000, "stakes on no trust at all");
});

test("exposure: none, part, all of the trust in use, or more than it (trust fell below what is in use)", () => {
  assert.equal(exposure(view(100, 0)), "none");
  assert.equal(exposure(view(100, 40)), "partly");
  assert.equal(exposure(view(100, 100)), "all");
  assert.equal(exposure({ trust: "50", in_use: "80", available: "0", local: "50", initial: "50" }), "over");
  assert.equal(exposure({ trust: "0", in_use: "0", available: "0", local: "0", initial: "0" }), "none");
});

test("the sums leave out the rows that could not be read, and count who has trust in use", () => {
  const sum = totals([view(100_000_000, 100_000_000), view(100_000_000, 0), null, view(50_000_000, 16_000_000)]);
  assert.deepEqual(sum, {
    trust: 250_000_000n,
    inUse: 116_000_000n,
    available: 134_000_000n,
    people: 3,
    engaged: 2,
    missing: 1,
  });
  assert.deepEqual(totals([]), { trust: 0n, inUse: 0n, available: 0n, people: 0, engaged: 0, missing: 0 });
});

test("an account's funds are read a bounded page at a time", () => {
  const funds = Array.from({ length: 45 }, (_, id) => ({ id }));
  assert.equal(FUNDS_PER_PAGE, 20);
  assert.deepEqual(nextPage(funds, 0).map((f) => f.id), Array.from({ length: 20 }, (_, i) => i));
  assert.deepEqual(nextPage(funds, 20).map((f) => f.id), Array.from({ length: 20 }, (_, i) => 20 + i));
  assert.deepEqual(nextPage(funds, 40).map((f) => f.id), [40, 41, 42, 43, 44]);
  assert.deepEqual(nextPage(funds, 45), []);
  assert.deepEqual(nextPage(funds, 0, 2).map((f) => f.id), [0, 1]);
});

test("the borrowers of open loans are read once each, at most 64", () => {
  const { accounts, more } = distinctAccounts([
    ["lucia", "ana", "ben"],
    ["ana", "zoe"],
  ]);
  assert.deepEqual(accounts, ["lucia", "ana", "ben", "zoe"]);
  assert.equal(more, 0);
  const many = Array.from({ length: 70 }, (_, i) => [`p${i}`, `p${i}`]);
  const bounded = distinctAccounts(many);
  assert.equal(PEOPLE_PER_TABLE, 64);
  assert.equal(bounded.accounts.length, 64);
  assert.equal(bounded.more, 6);
  assert.deepEqual(distinctAccounts([], 3), { accounts: [], more: 0 });
});
