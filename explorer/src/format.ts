// Turning chain values into text: amounts (decimal strings of minor units, as
// the RPC sends them, kept exact with BigInt), basis points, block times,
// durations, hashes and accounts. The raw value stays in the page (<data
// value=...>) so that a reader, or a test, can compare it with the RPC.

import { bech32m } from "@scure/base";
import { h, link, type Child } from "./dom";

export interface ChainInfo {
  name: string;
  symbol: string;
  decimals: number;
  hrp: string;
}

export const chain: ChainInfo = { name: "", symbol: "", decimals: 0, hrp: "cc" };

/** Minor units as tokens: "4,800 CRED", "0.000024 CRED" (no rounding, trailing zeros dropped). */
export function tokens(minor: string | number | bigint): string {
  const value = BigInt(minor);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(chain.decimals);
  const whole = (abs / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = chain.decimals > 0 ? (abs % scale).toString().padStart(chain.decimals, "0").replace(/0+$/, "") : "";
  return `${negative ? "−" : ""}${whole}${fraction ? "." + fraction : ""} ${chain.symbol}`.trim();
}

export function amount(minor: string | number | bigint | null | undefined): Child {
  if (minor === null || minor === undefined || minor === "") return "–";
  return h("data", { value: String(minor), class: "amount" }, tokens(minor));
}

/** Basis points as a percentage: 400 → "4.00 %". */
export function percent(bps: number | string): string {
  const value = Number(bps);
  return `${(value / 100).toFixed(2)} %`;
}

export function bpsData(bps: number | string): Child {
  return h("data", { value: String(bps) }, percent(bps));
}

/** A block time in seconds (or ms when `ms`) as UTC text, in a <time> element. */
export function when(seconds: number | string | null | undefined, ms = false): Child {
  if (seconds === null || seconds === undefined || Number(seconds) === 0) return "–";
  const date = new Date(ms ? Number(seconds) : Number(seconds) * 1000);
  const text = date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  return h("time", { datetime: date.toISOString() }, text);
}

export function duration(seconds: number | string): string {
  let s = Number(seconds);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${Math.round(s / 3600)} h`;
  s = Math.round(s / 86_400);
  return `${s} days`;
}

export function shortHash(hash: string): string {
  return hash.length > 20 ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : hash;
}

const HEX_ACCOUNT = /^0x[0-9a-f]{64}$/i;

export function isAddress(text: string): boolean {
  return text.startsWith(chain.hrp + "1") && text.length >= chain.hrp.length + 40 && /^[a-z0-9]+$/.test(text);
}

/** An account in bech32m whether it arrives as an address or as 0x hex (event attributes). */
export function toAddress(value: string): string {
  if (!HEX_ACCOUNT.test(value)) return value;
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = parseInt(value.slice(2 + 2 * i, 4 + 2 * i), 16);
  return bech32m.encode(chain.hrp, bech32m.toWords(bytes), 200);
}

export function addressFromBytes(bytes: Uint8Array): string {
  return bech32m.encode(chain.hrp, bech32m.toWords(bytes), 200);
}

/** A link to an account page, shortened in the middle; the full address is its title. */
export function account(address: string, names: Map<string, string> = knownNames): Child {
  const full = toAddress(address);
  const name = names.get(full);
  const short = full.length > 24 ? `${full.slice(0, 9)}…${full.slice(-6)}` : full;
  const anchor = link(`#/account/${full}`, name ? `${name} (${short})` : short);
  anchor.title = full;
  anchor.dataset.address = full;
  return anchor;
}

/** Names the explorer may show beside addresses (the localnet dev accounts). */
export const knownNames = new Map<string, string>();

export function hashText(hash: string): Child {
  return h("code", { class: "hash", title: hash }, hash);
}

export function blockLink(hashOrNumber: string | number, text?: string): Child {
  return link(`#/block/${hashOrNumber}`, text ?? (typeof hashOrNumber === "number" ? `#${hashOrNumber}` : shortHash(hashOrNumber)));
}

export function extrinsicLink(hash: string): Child {
  return link(`#/extrinsic/${hash}`, h("code", null, shortHash(hash)));
}

export function words(identifier: string): string {
  return identifier.replace(/_/g, " ");
}
