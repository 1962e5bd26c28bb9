// The chain: latest blocks (live), one block, one extrinsic with its receipt
// and events, one account with its balance, trust at each fund (trust, in
// use, available), credits and history (account_history).

import { blake2b } from "@noble/hashes/blake2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { focusHeading, latestHead, type Header, type View } from "../app";
import { callArgs, decodeExtrinsic, eventFields, type DecodedExtrinsic } from "../chaindata";
import { badge, facts, h, link, loading, notice, replace, section, table, type Child } from "../dom";
import { account, amount, blockLink, chain, extrinsicLink, hashText, isAddress, when } from "../format";
import { appendPage, entryWhat, eventNames, historyCall, type HistoryEntry, type HistoryPage } from "../history";
import type { Json } from "../rpc";
import { accountTrustCalls, FUNDS_PER_PAGE, nextPage, trustColumns, trustOf, type TrustView } from "../trust";

const EMPTY_ROOT = "0x" + bytesToHex(blake2b(new Uint8Array(0), { dkLen: 32 }));
const LATEST = 12;
const ACTIVITY_SCAN = 300;

interface Block {
  block: { header: Header; extrinsics: string[]; evidence: string[] };
  commit: { height: number; round: number; signatures: Array<{ validator: string }> } | null;
}

export interface Receipt {
  extrinsicHash: string;
  blockHash: string;
  height: number;
  index: number;
  success: boolean;
  error: { pallet: string; code: string; rule: string; message: string } | null;
  events: Array<{ pallet: string; name: string; attributes: Record<string, unknown> }>;
}

export function callName(x: DecodedExtrinsic): string {
  return `${x.pallet}.${x.fn}`;
}

function outcome(receipt: Receipt | null | Error | undefined): HTMLElement {
  if (receipt === null || receipt === undefined || receipt instanceof Error) return badge("pending", "muted");
  if (receipt.success) return badge("success", "good");
  return badge(`failed: ${receipt.error?.pallet}.${receipt.error?.code}`, "bad");
}

/** Headers of heights [from, to], newest first, in two batches. */
export async function headersBetween(view: View, from: number, to: number): Promise<Header[]> {
  const heights: number[] = [];
  for (let n = to; n >= Math.max(from, 0); n--) heights.push(n);
  const out: Header[] = [];
  for (let i = 0; i < heights.length; i += 100) {
    const chunk = heights.slice(i, i + 100);
    const hashes = await view.rpc.batch<string | null>(chunk.map((n) => ["chain_getBlockHash", [n]]));
    const wanted = hashes.filter((x): x is string => typeof x === "string");
    const headers = await view.rpc.batch<Header | null>(wanted.map((hash) => ["chain_getHeader", [hash]]));
    for (const header of headers) if (header !== null && !(header instanceof Error)) out.push(header);
  }
  return out;
}

export function hasExtrinsics(header: Header): boolean {
  return header.extrinsicsRoot !== EMPTY_ROOT;
}

export async function home(view: View): Promise<void> {
  view.title("Chain");
  const { rpc, main } = view;
  const [name, version, health, finalized] = await rpc.batch<Json>([
    ["system_chain", []],
    ["system_version", []],
    ["system_health", []],
    ["chain_getFinalizedHead", []],
  ]);
  const best = latestHead ?? (await rpc.call<Header>("chain_getHeader"));
  const peers = health instanceof Error ? "–" : String((health as { peers: number }).peers);
  const bestFact = h("span", { id: "best-number" }, `#${best.number}`);
  replace(
    main,
    h("h1", null, "Chain"),
    section(
      "This node",
      "node",
      facts([
        ["Chain", String(name), "chain"],
        ["Node software", String(version), "version"],
        ["Latest block", bestFact, "best"],
        ["Last finalized block", typeof finalized === "string" ? blockLink(finalized) : "–", "finalized"],
        ["Peers", peers, "peers"],
        ["Token", `${chain.symbol} (${chain.decimals} decimals)`, "token"],
      ]),
    ),
  );
  focusHeading(main);
  const blocksBody = h("tbody", { id: "latest-blocks" });
  const blocks = section(
    "Latest blocks",
    "blocks",
    h("p", { class: "hint" }, "New blocks appear here as the validators commit them."),
    h(
      "div",
      { class: "scroll", role: "region", "aria-label": "Latest blocks", tabindex: 0 },
      h(
        "table",
        null,
        h("caption", null, "Latest blocks, newest first"),
        h("thead", null, h("tr", null, ["Block", "Time (UTC)", "Extrinsics", "Proposer"].map((t) => h("th", { scope: "col" }, t)))),
        blocksBody,
      ),
    ),
  );
  const activityBody = h("div", null, loading());
  main.append(blocks, section("Recent extrinsics", "activity", activityBody));

  const rowFor = (header: Header): HTMLTableRowElement =>
    h(
      "tr",
      { "data-number": header.number },
      h("td", null, blockLink(header.number)),
      h("td", null, when(header.timestamp, true)),
      h("td", null, hasExtrinsics(header) ? badge("yes", "info") : "none"),
      h("td", null, account(header.proposer)),
    );
  const recent = await headersBetween(view, best.number - LATEST + 1, best.number);
  if (!view.current()) return;
  for (const header of recent) blocksBody.append(rowFor(header));
  view.onNewHead((head) => {
    bestFact.textContent = `#${head.number}`;
    if (blocksBody.querySelector(`tr[data-number="${head.number}"]`) !== null) return;
    blocksBody.prepend(rowFor(head));
    while (blocksBody.rows.length > LATEST) blocksBody.deleteRow(-1);
  });

  const scanned = await headersBetween(view, best.number - ACTIVITY_SCAN + 1, best.number - recent.length);
  const withExtrinsics = [...recent, ...scanned].filter(hasExtrinsics).slice(0, 10);
  const fetched = await rpc.batch<Block>(withExtrinsics.map((header) => ["chain_getBlock", [header.hash]]));
  const rows: Array<{ x: DecodedExtrinsic; height: number; time: number }> = [];
  fetched.forEach((block) => {
    if (block instanceof Error || block === null) return;
    for (const hex of block.block.extrinsics) {
      rows.push({ x: decodeExtrinsic(hex), height: block.block.header.number, time: block.block.header.timestamp });
    }
  });
  if (!view.current()) return;
  replace(
    activityBody,
    table(
      `Extrinsics in the last ${ACTIVITY_SCAN} blocks`,
      [
        { title: "Extrinsic", cell: (r) => extrinsicLink(r.x.hash) },
        { title: "Block", cell: (r) => blockLink(r.height) },
        { title: "Call", cell: (r) => h("code", null, callName(r.x)) },
        { title: "Signer", cell: (r) => account(r.x.signer) },
      ],
      rows.slice(0, 25),
      "none in these blocks.",
    ),
  );
}

export async function blockPage(view: View, id: string): Promise<void> {
  const { rpc, main } = view;
  const hash = /^\d+$/.test(id) ? await rpc.call<string | null>("chain_getBlockHash", [Number(id)]) : id;
  const found = hash === null ? null : await rpc.call<Block | null>("chain_getBlock", [hash]);
  if (found === null) {
    replace(main, h("h1", null, "Block not found"), notice(`This node has no block ${id}.`, "error"));
    return;
  }
  const header = found.block.header;
  view.title(`Block #${header.number}`);
  const decoded = found.block.extrinsics.map(decodeExtrinsic);
  const receipts = await rpc.batch<Receipt | null>(decoded.map((x) => ["chain_getReceipt", [x.hash]]));
  replace(
    main,
    h("h1", null, `Block #${header.number}`),
    h(
      "nav",
      { class: "pager", "aria-label": "Neighbouring blocks" },
      header.number > 0 ? blockLink(header.number - 1, `← Block #${header.number - 1}`) : null,
      blockLink(header.number + 1, `Block #${header.number + 1} →`),
    ),
    section(
      "Header",
      "header",
      facts([
        ["Hash", hashText(header.hash), "hash"],
        ["Parent", header.number > 0 ? blockLink(header.parentHash) : "–", "parent"],
        ["Time (BFT)", when(header.timestamp, true), "time"],
        ["Proposer", account(header.proposer), "proposer"],
        ["State root", hashText(header.stateRoot), "stateRoot"],
        ["Extrinsics root", hashText(header.extrinsicsRoot), "extrinsicsRoot"],
        [
          "Finality",
          found.commit === null
            ? badge("not yet committed", "warn")
            : badge(`committed in round ${found.commit.round} by ${found.commit.signatures.length} validators`, "good"),
          "commit",
        ],
      ]),
    ),
    section(
      "Extrinsics",
      "extrinsics",
      table(
        `Extrinsics of block #${header.number}`,
        [
          { title: "#", cell: (r) => String(r.i) },
          { title: "Extrinsic", cell: (r) => extrinsicLink(r.x.hash) },
          { title: "Call", cell: (r) => h("code", null, callName(r.x)) },
          { title: "Signer", cell: (r) => account(r.x.signer) },
          { title: "Outcome", cell: (r) => outcome(receipts[r.i] as Receipt | null) },
        ],
        decoded.map((x, i) => ({ x, i })),
        "this block carries none.",
      ),
    ),
  );
  focusHeading(main);
}

export async function extrinsicPage(view: View, hash: string): Promise<void> {
  const { rpc, main } = view;
  view.title("Extrinsic");
  const receipt = await rpc.call<Receipt | null>("chain_getReceipt", [hash]);
  if (receipt === null) {
    replace(main, h("h1", null, "Extrinsic"), notice(`No receipt for ${hash}: unknown, or still in the pool.`, "error"));
    return;
  }
  const block = await rpc.call<Block>("chain_getBlock", [receipt.blockHash]);
  const x = decodeExtrinsic(block.block.extrinsics[receipt.index] ?? "");
  replace(
    main,
    h("h1", null, `Extrinsic ${callName(x)}`),
    section(
      "Receipt",
      "receipt",
      facts([
        ["Hash", hashText(receipt.extrinsicHash), "hash"],
        ["Outcome", outcome(receipt), "outcome"],
        ...(receipt.error
          ? [["Error", `${receipt.error.pallet}.${receipt.error.code} [${receipt.error.rule}]: ${receipt.error.message}`, "error"] as [string, string, string]]
          : []),
        ["Block", blockLink(receipt.height), "block"],
        ["Index in block", String(receipt.index), "index"],
        ["Signer", account(x.signer), "signer"],
        ["Nonce", x.nonce, "nonce"],
        ["Valid until block", x.validUntil, "validUntil"],
      ]),
    ),
    section("Call", "call", h("p", null, h("code", null, callName(x))), callArgs(x)),
    section(
      "Events",
      "events",
      receipt.events.length === 0
        ? h("p", { class: "empty" }, "No events.")
        : h(
            "ol",
            { class: "events" },
            receipt.events.map((event) => h("li", null, h("h3", null, `${event.pallet}.${event.name}`), eventFields(event.pallet, event.name, event.attributes))),
          ),
    ),
  );
  focusHeading(main);
}

interface RequestRoles {
  id: number;
  fund: number;
  status: string;
  amount: string;
  borrowers: string[];
  reviewers: string[];
}

/** The credit requests this account borrows in or reviews (the newest 100 of each fund). */
async function creditsOf(view: View, funds: FundBrief[], address: string): Promise<Child> {
  const lists = await view.rpc.batch<Array<{ id: number }>>(funds.map((f) => ["credit_listRequests", [f.id]]));
  const ids = lists.flatMap((list) => (list instanceof Error ? [] : list.slice(-100).map((r) => r.id)));
  const requests = await view.rpc.batch<RequestRoles | null>(ids.map((id) => ["credit_getRequest", [id]]));
  const mine = requests.filter(
    (r): r is RequestRoles => r !== null && !(r instanceof Error) && (r.borrowers.includes(address) || r.reviewers.includes(address)),
  );
  return table(
    "Credit requests this account borrows in or reviews",
    [
      { title: "Request", cell: (r) => link(`#/request/${r.id}`, `Request ${r.id}`) },
      { title: "Role", cell: (r) => (r.borrowers.includes(address) ? "borrower" : "reviewer") },
      { title: "Status", cell: (r) => badge(r.status.replace(/_/g, " "), r.status === "approved" ? "good" : "info") },
      { title: "Amount", numeric: true, cell: (r) => amount(r.amount) },
      { title: "Loan", cell: (r) => (r.status === "approved" ? link(`#/loan/${r.id}`, `Loan ${r.id}`) : "–") },
    ],
    mine,
    "none.",
    false,
  );
}

function membership(answer: { member: Record<string, Json> | null } | null): Child {
  const record = answer?.member ?? null;
  if (record === null) return h("p", null, badge("not a member", "muted"), " This account is not a registered member (it cannot vote in governance).");
  return facts([
    ["Status", badge("member", "good"), "member"],
    ["Bioregion", record.bioregion === null || record.bioregion === undefined ? "none" : link(`#/bioregion/${encodeURIComponent(String(record.bioregion))}`, String(record.bioregion)), "bioregion"],
    ["Registered", when(Number(record.registered)), "registered"],
    ["Registered by", typeof record.registrar === "string" ? account(record.registrar) : "genesis", "registrar"],
  ]);
}

interface FundBrief {
  id: number;
  name: string;
}

/** The account's history (account_history), newest first, a page at a time. */
async function historyOf(view: View, address: string): Promise<Child> {
  const { rpc } = view;
  if (!rpc.has("account_history")) return notice("This node keeps no history index (account_history is not served).");
  const body = h("div");
  let shown: HistoryEntry[] = [];
  let cursor: string | null = null;
  const more = async (focusNext = false): Promise<void> => {
    const [method, params] = historyCall(address, cursor);
    const page = await rpc.call<HistoryPage>(method, params);
    if (!view.current()) return;
    shown = appendPage(shown, page);
    cursor = page.next;
    const button = cursor === null ? null : moreButton("Show older entries", more);
    replace(
      body,
      table(
        "What this account signed and what named it, newest first",
        [
          { title: "Block", key: "block", cell: (e) => blockLink(e.height) },
          { title: "Time", cell: (e) => when(e.timestamp, true) },
          { title: "What", key: "what", cell: (e) => (e.extrinsicHash === null ? entryWhat(e) : h("span", null, extrinsicLink(e.extrinsicHash), " ", entryWhat(e))) },
          { title: "In", numeric: true, key: "in", cell: (e) => (e.in === "0" ? "–" : amount(e.in)) },
          { title: "Out", numeric: true, key: "out", cell: (e) => (e.out === "0" ? "–" : amount(e.out)) },
          { title: "Events", cell: (e) => eventNames(e).join(", ") },
        ],
        shown,
        "nothing yet.",
      ),
      h("p", { class: "hint", role: "status" }, `${shown.length} of ${page.total} entries shown (indexed to block ${page.indexedHeight}).`),
      button,
    );
    if (focusNext) (button ?? body.querySelector<HTMLElement>(".scroll"))?.focus();
  };
  await more();
  return body;
}

export async function accountPage(view: View, address: string): Promise<void> {
  const { rpc, main } = view;
  view.title("Account");
  if (!isAddress(address)) {
    replace(main, h("h1", null, "Account"), notice(`${address} is not an address of this chain (they start with ${chain.hrp}1).`, "error"));
    return;
  }
  const [balance, nonce, funds] = await rpc.batch<Json>([
    ["balances_getBalance", [address]],
    ["account_nextIndex", [address]],
    ["funds_list", []],
  ]);
  const fundList = funds instanceof Error ? [] : (funds as unknown as FundBrief[]);
  const member = await rpc.optional<Json>("members_get", [address]);
  const trustBody = h("div");
  const trustRows: Array<{ f: FundBrief; t: TrustView | null }> = [];
  // One trust_get per fund, FUNDS_PER_PAGE funds at a time: a chain may have many funds.
  const showMore = async (focusNext = false): Promise<void> => {
    const page = nextPage(fundList, trustRows.length);
    const at = latestHead?.hash ?? null;
    const answers = await rpc.batch(accountTrustCalls(page.map((f) => f.id), address, at));
    if (!view.current()) return;
    trustRows.push(...page.map((f, i) => ({ f, t: trustOf(answers[i]) })));
    const left = fundList.length - trustRows.length;
    const more =
      left === 0
        ? null
        : moreButton(`Show trust in the next ${Math.min(left, FUNDS_PER_PAGE)} funds`, showMore);
    replace(
      trustBody,
      table(
        "Trust by fund: trust (T1–T4), in use (T5) and available",
        [{ title: "Fund", cell: (r) => h("a", { href: `#/fund/${r.f.id}` }, r.f.name) }, ...trustColumns<{ f: FundBrief; t: TrustView | null }>((r) => r.t)],
        trustRows,
        "no funds on this chain.",
      ),
      fundList.length > FUNDS_PER_PAGE ? h("p", { class: "hint", role: "status" }, `${trustRows.length} of ${fundList.length} funds shown.`) : null,
      more,
    );
    // Keyboard users stay where they were: on the button, or on the table when all is shown.
    if (focusNext) (more ?? trustBody.querySelector<HTMLElement>(".scroll"))?.focus();
  };
  await showMore();
  replace(
    main,
    h("h1", null, "Account"),
    section(
      "Balance",
      "balance",
      facts([
        ["Address", h("code", { class: "hash" }, address), "address"],
        ["Free balance", balance instanceof Error ? "–" : amount((balance as { free: string }).free), "free"],
        ["Extrinsics sent (next nonce)", nonce instanceof Error ? "–" : String(nonce), "nonce"],
      ]),
    ),
    section("Trust in each fund", "trust", trustBody),
    section("Credits", "credits", await creditsOf(view, fundList, address)),
    section("History", "history", await historyOf(view, address)),
    !rpc.has("members_get")
      ? null
      : section("Membership", "membership", membership(member as { member: Record<string, Json> | null } | null)),
  );
  focusHeading(main);
}

/** A "show more" button: disabled while ``load`` runs, enabled again if it fails. */
function moreButton(label: string, load: (focusNext: boolean) => Promise<void>): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: "more",
      onclick: (event: Event) => {
        const button = event.currentTarget as HTMLButtonElement;
        button.disabled = true;
        load(true).catch(() => {
          button.disabled = false;
        });
      },
    },
    label,
  );
}
