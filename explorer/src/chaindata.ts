// What the explorer reads about the runtime and about extrinsics.
//
// Metadata (`state_getMetadata`) declares every call's arguments and every
// event's fields with their types; values are rendered by those types (an
// `account` becomes an address link, an `amount` a token figure, a `bps` a
// percentage, a `duration` a time span) instead of guessing from their shape.
// Extrinsics arrive as hex in blocks: they are decoded here from canonical
// MessagePack (spec/wire.md §4) and hashed with BLAKE2b-256, which is their
// id for `chain_getReceipt`.

import { decode } from "@msgpack/msgpack";
import { blake2b } from "@noble/hashes/blake2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { h, type Child } from "./dom";
import { account, addressFromBytes, amount, duration, hashText, percent, words } from "./format";
import type { Rpc } from "./rpc";

export interface TypeDef {
  kind: string;
  name?: string;
  of?: TypeDef;
  fields?: Array<{ name: string; type: TypeDef }>;
  values?: string[];
}

interface FieldDef {
  name: string;
  def?: TypeDef;
}

interface PalletMeta {
  name: string;
  index: number;
  calls?: Array<{ name: string; args: FieldDef[]; doc?: string }>;
  events?: Array<{ name: string; fields: FieldDef[]; doc?: string }>;
}

let metadata: PalletMeta[] | null = null;

export async function loadMetadata(rpc: Rpc): Promise<void> {
  const answer = await rpc.call<{ pallets: PalletMeta[] }>("state_getMetadata");
  metadata = answer.pallets;
}

function pallet(name: string): PalletMeta | undefined {
  return metadata?.find((p) => p.name === name);
}

export function callMeta(palletName: string, fn: string) {
  return pallet(palletName)?.calls?.find((c) => c.name === fn);
}

export function eventMeta(palletName: string, name: string) {
  return pallet(palletName)?.events?.find((e) => e.name === name);
}

/** A value rendered by its declared type; unknown types fall back to `plain`. */
export function typed(def: TypeDef | undefined, value: unknown): Child {
  if (value === null || value === undefined) return "–";
  if (def === undefined) return plain(value);
  switch (def.kind) {
    case "option":
      return typed(def.of, value);
    case "fixed_bytes":
      if (def.name === "account") return account(asHex(value));
      return hashText(asHex(value));
    case "int":
      if (def.name === "amount") return amount(String(value));
      if (def.name === "bps") return percent(Number(value));
      if (def.name === "duration") return duration(Number(value));
      return String(value);
    case "enum":
      return words(String(value));
    case "list":
      if (!Array.isArray(value)) return plain(value);
      if (value.length === 0) return "none";
      return h("ul", { class: "inline" }, value.map((item) => h("li", null, typed(def.of, item))));
    case "record":
      if (typeof value !== "object") return plain(value);
      return fields(def.fields?.map((f) => ({ name: f.name, def: f.type })) ?? [], value as Record<string, unknown>);
    default:
      return plain(value);
  }
}

/** Named values as a small definition list, each rendered by its declared type. */
export function fields(defs: FieldDef[], values: Record<string, unknown>): Child {
  const names = defs.length > 0 ? defs.map((d) => d.name) : Object.keys(values);
  return h(
    "dl",
    { class: "args" },
    names.map((name) =>
      h("div", null, h("dt", null, words(name)), h("dd", null, typed(defs.find((d) => d.name === name)?.def, values[name]))),
    ),
  );
}

function asHex(value: unknown): string {
  if (value instanceof Uint8Array) return "0x" + bytesToHex(value);
  return String(value);
}

/** Any JSON value as readable text (lists and objects recursively). */
export function plain(value: unknown): Child {
  if (value === null || value === undefined) return "–";
  if (value instanceof Uint8Array) return hashText("0x" + bytesToHex(value));
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) {
    if (value.length === 0) return "none";
    return h("ul", { class: "inline" }, value.map((item) => h("li", null, plain(item))));
  }
  if (typeof value === "object") {
    return h(
      "dl",
      { class: "args" },
      Object.entries(value as Record<string, unknown>).map(([k, v]) => h("div", null, h("dt", null, words(k)), h("dd", null, plain(v)))),
    );
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

export interface DecodedExtrinsic {
  hash: string;
  signer: string;
  nonce: string;
  validUntil: string;
  pallet: string;
  fn: string;
  args: Record<string, unknown>;
}

/** Decode one extrinsic of a block (hex) and compute its hash. */
export function decodeExtrinsic(hex: string): DecodedExtrinsic {
  const bytes = hexToBytes(hex.replace(/^0x/, ""));
  const hash = "0x" + bytesToHex(blake2b(bytes, { dkLen: 32 }));
  const wire = decode(bytes, { useBigInt64: true }) as unknown[];
  if (!Array.isArray(wire) || wire.length !== 6) throw new Error("not an extrinsic of version 1");
  const [, signer, nonce, validUntil, call] = wire as [number, Uint8Array, number | bigint, number | bigint, unknown[]];
  const [palletName, fn, args] = call as [string, string, Record<string, unknown>];
  return {
    hash,
    signer: addressFromBytes(signer),
    nonce: String(nonce),
    validUntil: String(validUntil),
    pallet: palletName,
    fn,
    args,
  };
}

export function callArgs(x: DecodedExtrinsic): Child {
  return fields(callMeta(x.pallet, x.fn)?.args ?? [], x.args);
}

export function eventFields(palletName: string, name: string, attributes: Record<string, unknown>): Child {
  return fields(eventMeta(palletName, name)?.fields ?? [], attributes);
}


/** A chain parameter (pallets/support/params.py) read from the state, or null if absent. */
export async function chainParam(rpc: Rpc, sectionName: string, name: string): Promise<number | null> {
  const key = "0x" + bytesToHex(new TextEncoder().encode(`params/${sectionName}/${name}`));
  const raw = await rpc.call<string | null>("state_getStorage", [key]);
  if (raw === null) return null;
  const value = decode(hexToBytes(raw.replace(/^0x/, "")), { useBigInt64: true });
  return typeof value === "number" || typeof value === "bigint" ? Number(value) : null;
}
