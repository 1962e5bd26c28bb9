// An account's history as the node's history index serves it (account_history,
// docs/rpc.md "History"): one entry per extrinsic the account signed or whose
// events name it, and per block event that names it; newest first, a page at a
// time, each page continuing from the last one's cursor.

import type { Json } from "./rpc";

/** Entries per page of the account page's history (the node allows up to 100). */
export const HISTORY_PAGE = 25;

export interface HistoryEvent {
  pallet: string;
  name: string;
  attributes: Record<string, unknown>;
}

export interface HistoryEntry {
  height: number;
  blockHash: string;
  timestamp: number;
  position: number;
  kind: "extrinsic" | "block";
  extrinsicHash: string | null;
  signer: string | null;
  call: string | null;
  success: boolean | null;
  error: { pallet: string; code: string } | null;
  events: HistoryEvent[];
  in: string;
  out: string;
}

export interface HistoryPage {
  total: number;
  indexedHeight: number;
  entries: HistoryEntry[];
  next: string | null;
}

/** The call for one page: the newest first, from `cursor` (the previous page's `next`). */
export function historyCall(address: string, cursor: string | null): [string, Json[]] {
  return ["account_history", [address, cursor, HISTORY_PAGE, "desc"]];
}

/** What an entry was, in a few words: the call (and whether it failed), or the block event. */
export function entryWhat(entry: HistoryEntry): string {
  if (entry.kind === "block") {
    const first = entry.events[0];
    return first === undefined ? "block event" : `${first.pallet}.${first.name} (block event)`;
  }
  const failed = entry.success === false ? ` failed: ${entry.error?.pallet}.${entry.error?.code}` : "";
  return `${entry.call ?? "extrinsic"}${failed}`;
}

/** The names of an entry's events, without repeats, in order. */
export function eventNames(entry: HistoryEntry): string[] {
  const seen: string[] = [];
  for (const event of entry.events) {
    const name = `${event.pallet}.${event.name}`;
    if (!seen.includes(name)) seen.push(name);
  }
  return seen;
}

/** Net change of the account's balance by an entry, in minor units (in − out). */
export function netChange(entry: HistoryEntry): bigint {
  return BigInt(entry.in) - BigInt(entry.out);
}

/** Entries of a new page added after those shown, none twice (a page may be re-asked). */
export function appendPage(shown: HistoryEntry[], page: HistoryPage): HistoryEntry[] {
  const key = (e: HistoryEntry): string => `${e.height}/${e.position}`;
  const known = new Set(shown.map(key));
  return [...shown, ...page.entries.filter((e) => !known.has(key(e)))];
}
