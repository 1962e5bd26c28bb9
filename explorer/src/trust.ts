// Trust at a fund as exposure (docs/credit.md §3a): the trust index (T1–T4,
// with federated trust, T2), what of it is in use (T5: stakes in open
// requests and shares of open loans) and what is left to bring to a new
// request. Read with `trust_get`, one call per person, every call of a table
// at the same block so that the rows (and their sums) agree.

import { badge, facts, h, type Child, type Column } from "./dom";
import { amount, percent } from "./format";
import { withAt, type Params } from "./rpc";

export interface TrustView {
  trust: string;
  in_use: string;
  available: string;
  local: string;
  initial: string;
}

/** Funds read at once on an account page (one `trust_get` each); more on request. */
export const FUNDS_PER_PAGE = 20;

/** People read at once in a fund's table of borrowers (as many as a fund may have funders). */
export const PEOPLE_PER_TABLE = 64;

const FIELDS = ["trust", "in_use", "available", "local", "initial"] as const;
const DECIMAL = /^\d+$/;

/** One `trust_get` per account at one fund. */
export function trustCalls(fund: number, accounts: string[], at?: string | null): Array<[string, Params]> {
  return accounts.map((address) => ["trust_get", withAt([fund, address], at)]);
}

/** One `trust_get` per fund for one account. */
export function accountTrustCalls(funds: number[], address: string, at?: string | null): Array<[string, Params]> {
  return funds.map((fund) => ["trust_get", withAt([fund, address], at)]);
}

/** A `trust_get` answer, or null when the call failed or the answer is not one. */
export function trustOf(answer: unknown): TrustView | null {
  if (typeof answer !== "object" || answer === null || answer instanceof Error) return null;
  const record = answer as Record<string, unknown>;
  for (const field of FIELDS) {
    const value = record[field];
    if (typeof value !== "string" || !DECIMAL.test(value)) return null;
  }
  return {
    trust: record.trust as string,
    in_use: record.in_use as string,
    available: record.available as string,
    local: record.local as string,
    initial: record.initial as string,
  };
}

/** Share of the trust in use, in basis points (above 10 000 when trust fell below what is in use). */
export function inUseBps(view: TrustView): number {
  const trust = BigInt(view.trust);
  const inUse = BigInt(view.in_use);
  if (inUse === 0n) return 0;
  if (trust === 0n) return 10_000;
  return Number((inUse * 10_000n) / trust);
}

export type Exposure = "none" | "partly" | "all" | "over";

/**
 * How much of a person's trust rests on open credits: none of it, part of it,
 * all of it (nothing left to bring), or more than all of it (their trust
 * fell below what they have in use: docs/credit.md §3a, known limit).
 */
export function exposure(view: TrustView): Exposure {
  const trust = BigInt(view.trust);
  const inUse = BigInt(view.in_use);
  if (inUse === 0n) return "none";
  if (inUse > trust) return "over";
  return BigInt(view.available) === 0n ? "all" : "partly";
}

export interface TrustTotals {
  trust: bigint;
  inUse: bigint;
  available: bigint;
  /** rows read */
  people: number;
  /** rows with some trust in use */
  engaged: number;
  /** rows whose answer failed */
  missing: number;
}

/** The sums of a table's figures; rows whose call failed are counted apart. */
export function totals(rows: Array<TrustView | null>): TrustTotals {
  const sum: TrustTotals = { trust: 0n, inUse: 0n, available: 0n, people: 0, engaged: 0, missing: 0 };
  for (const row of rows) {
    if (row === null) {
      sum.missing += 1;
      continue;
    }
    sum.people += 1;
    sum.trust += BigInt(row.trust);
    sum.inUse += BigInt(row.in_use);
    sum.available += BigInt(row.available);
    if (BigInt(row.in_use) > 0n) sum.engaged += 1;
  }
  return sum;
}

/** The next window of at most `size` items after the `shown` first ones. */
export function nextPage<T>(items: T[], shown: number, size = FUNDS_PER_PAGE): T[] {
  return items.slice(shown, shown + size);
}

/** Distinct accounts in first-seen order, at most `limit`; `more` counts those left out. */
export function distinctAccounts(lists: string[][], limit = PEOPLE_PER_TABLE): { accounts: string[]; more: number } {
  const seen = new Set<string>();
  for (const list of lists) for (const address of list) seen.add(address);
  const all = [...seen];
  return { accounts: all.slice(0, limit), more: Math.max(0, all.length - limit) };
}

// ------------------------------------------------------------- rendering

const EXPOSURE_BADGE: Record<Exposure, [string, "good" | "info" | "warn" | "bad"] | null> = {
  none: null,
  partly: null,
  all: ["all in use", "warn"],
  over: ["in use exceeds trust", "bad"],
};

/** The three columns (trust, in use, available) of a table whose rows carry a trust answer. */
export function trustColumns<R>(get: (row: R) => TrustView | null): Array<Column<R>> {
  return [
    { title: "Trust (T1–T4)", numeric: true, key: "trust", cell: (r) => amount(get(r)?.trust) },
    {
      title: "In use (T5)",
      numeric: true,
      key: "in-use",
      cell: (r) => {
        const view = get(r);
        if (view === null) return "–";
        const bps = inUseBps(view);
        return h("span", null, amount(view.in_use), bps > 0 ? h("span", { class: "share" }, ` (${percent(bps)})`) : null);
      },
    },
    {
      title: "Available",
      numeric: true,
      key: "available",
      cell: (r) => {
        const view = get(r);
        if (view === null) return "–";
        const mark = EXPOSURE_BADGE[exposure(view)];
        return h("span", null, amount(view.available), mark === null ? null : [" ", badge(mark[0], mark[1])]);
      },
    },
  ];
}

/** The sums under a table: whose trust, how much of it in use, how much left. */
export function trustSummary(whose: string, rows: Array<TrustView | null>, keyPrefix: string): Child {
  const sum = totals(rows);
  const share = sum.trust === 0n ? 0 : Number((sum.inUse * 10_000n) / sum.trust);
  return [
    facts([
      [`Trust of the ${whose}`, amount(sum.trust), `${keyPrefix}-trust`],
      [
        "In use (stakes in open requests and loans)",
        h("span", null, amount(sum.inUse), sum.trust === 0n ? null : ` (${percent(share)} of their trust; ${sum.engaged} of ${sum.people} with some in use)`),
        `${keyPrefix}-in-use`,
      ],
      ["Available to bring to new requests", amount(sum.available), `${keyPrefix}-available`],
    ]),
    sum.missing > 0 ? h("p", { class: "hint" }, `The trust of ${sum.missing} could not be read; the sums leave them out.`) : null,
  ];
}
