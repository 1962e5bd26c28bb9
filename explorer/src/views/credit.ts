// One credit request (C1-C9): who asks, who was drawn to review it and from
// which seed (with the draw re-run by the node to show it matches), their
// verdicts and the approval record; and one loan (L1-L6): its schedule,
// installment by installment, and the payments found on chain.
// A request's texts and documents live off chain (F10): the request holds
// their hashes, and this page reads each from the node's document store
// (documents_get): the text, or "redacted" once it was purged.

import { focusHeading, latestHead, type View } from "../app";
import { badge, facts, h, link, replace, section, table, type Child } from "../dom";
import { account, amount, blockLink, duration, extrinsicLink, hashText, percent, when, words } from "../format";
import { liveSection, withoutTime } from "../live";
import { headersBetween, hasExtrinsics, type Receipt } from "./chain";
import { decodeExtrinsic } from "../chaindata";
import { statusBadge } from "./funds";

interface Party {
  account: string;
  trust: string;
  brought: string;
}

interface Installment {
  due: number;
  principal: string;
  interest: string;
}

interface Approval {
  amount: string;
  start: number;
  end: number;
  rate_bps: number;
  estimated_interest: string;
  schedule: Installment[];
  borrowers: Party[];
  reviewers: Party[];
  conclusions_hash: string;
  size: string;
  outstanding_after: string;
  max_utilization_bps: number;
}

interface Request {
  id: number;
  fund: number;
  submitter: string;
  borrowers: string[];
  signed: string[];
  amount: string;
  purpose: string;
  recipient: string;
  term: number;
  installments: number;
  what_hash: string;
  repayment_good_hash: string;
  repayment_bad_hash: string;
  trust_reasons_hash: string;
  documents: string[];
  status: string;
  created: number;
  valid_at: number;
  valid_height: number;
  round: number;
  score: number;
  score_components: Record<string, number>;
  candidates: Array<{ account: string; trust: string }>;
  draws: Array<{ height: number; seed: string; keep: string[]; excluded: string[]; panel: string[] }>;
  reviewers: string[];
  conflicts: string[];
  verdicts: Array<{ reviewer: string; verdict: string; conclusions_hash: string }>;
  approval: Approval | null;
}

/** documents_get's answer: a text or file kept beside the chain (F10). */
export interface DocumentAnswer {
  hash: string;
  status: "available" | "redacted" | "unknown";
  size: number | null;
  text: string | null;
  data: string | null;
  purgedBy: "operator" | "governance" | null;
}

/** A text or document of a request as this node has it: the text, or what became of it. */
export function documentCell(answer: DocumentAnswer): Child {
  if (answer.status === "redacted") {
    const by = answer.purgedBy === "governance" ? "by governance, on every node" : "by this node's operator";
    return h("span", { class: "document redacted", "data-status": "redacted" }, badge("redacted", "warn"), ` (purged ${by}; the hash stays on chain) `, hashText(answer.hash));
  }
  if (answer.status === "unknown") {
    return h("span", { class: "document unknown", "data-status": "unknown" }, badge("not on this node", "muted"), " ", hashText(answer.hash));
  }
  const shown = answer.text ?? `a file of ${answer.size ?? 0} bytes`;
  return h("span", { class: "document", "data-status": "available" }, shown);
}

interface Redraw {
  min_reviewers: number;
  draws: Array<{ height: number; seed: string; stored: string[]; recomputed: string[]; matches: boolean }>;
}

const RESOLUTION: Record<string, string> = {
  awaiting_signatures: "Waiting for every co-borrower to sign (C2).",
  in_review: "Drawn reviewers are reading it; they resolve between review_min and review_max after it became valid (C8).",
  needs_improvement: "Reviewers asked for changes; the submitter amends it and a new review round starts.",
  approved: "Approved by every reviewer: the credit was paid out and a loan opened (C9, L1).",
  declined: "A reviewer declined it.",
  expired: "Not resolved before review_max: expired.",
  withdrawn: "Withdrawn by the submitter.",
  unreviewable: "The fund's eligible funders together cannot cover the amount with their trust (C6).",
};

function verdictBadge(verdict: string | undefined): HTMLElement {
  if (verdict === undefined) return badge("not yet", "muted");
  if (verdict === "approve") return badge("approve", "good");
  if (verdict === "decline") return badge("decline", "bad");
  return badge("needs improvement", "warn");
}

function requestBody(r: Request, redraw: Redraw | null, texts: Map<string, DocumentAnswer>): Child[] {
  const text = (hash: string): Child => {
    const found = texts.get(hash);
    return found === undefined ? hashText(hash) : documentCell(found);
  };
  const brought = new Map((r.approval?.borrowers ?? []).map((p) => [p.account, p.brought]));
  const reviewerTrust = new Map((r.approval?.reviewers ?? []).map((p) => [p.account, p]));
  const candidateTrust = new Map(r.candidates.map((c) => [c.account, c.trust]));
  return [
    section(
      "Status",
      "status",
      h("p", null, statusBadge(r.status), " ", RESOLUTION[r.status] ?? ""),
      facts([
        ["Fund", link(`#/fund/${r.fund}`, `Fund ${r.fund}`), "fund"],
        ["Amount", amount(r.amount), "amount"],
        ["Purpose", words(r.purpose), "purpose"],
        ["Term", `${duration(r.term)} in ${r.installments} installments`, "term"],
        ["Recipient", account(r.recipient), "recipient"],
        ["Submitted", when(r.created), "created"],
        ["Valid since", r.valid_at ? h("span", null, when(r.valid_at), " (block ", blockLink(r.valid_height), ")") : "not yet", "valid"],
        ["Review round", String(r.round + 1), "round"],
        ["Score (C5, informs reviewers)", `${r.score} / 100`, "score"],
        r.status === "approved" ? ["Loan", link(`#/loan/${r.id}`, `Loan ${r.id}`), "loan"] : ["Loan", "none yet", "loan"],
      ]),
    ),
    section(
      "What it is for",
      "texts",
      h("p", null, "Kept off chain, beside it (F10): the chain holds only their hashes, and an erased text shows as redacted."),
      facts([
        ["What", text(r.what_hash), "what"],
        ["Repayment if things go well", text(r.repayment_good_hash), "repayment-good"],
        ["Repayment if they go badly", text(r.repayment_bad_hash), "repayment-bad"],
        ["Why the borrowers are trusted", text(r.trust_reasons_hash), "trust-reasons"],
        ["Documents", r.documents.length ? h("ul", { class: "inline" }, r.documents.map((d) => h("li", null, text(d)))) : "none", "documents"],
      ]),
    ),
    section(
      "Borrowers",
      "borrowers",
      table(
        "Borrowers and their co-signatures",
        [
          { title: "Borrower", cell: (b) => account(b) },
          { title: "Signed", cell: (b) => (r.signed.includes(b) ? badge("signed", "good") : badge("not yet", "muted")) },
          { title: "Trust brought", numeric: true, cell: (b) => (brought.has(b) ? amount(brought.get(b)) : "–") },
        ],
        r.borrowers,
      ),
      table(
        "Score components",
        [
          { title: "Component", cell: (c) => words(c[0]) },
          { title: "Value (0–100)", numeric: true, cell: (c) => String(c[1]) },
        ],
        Object.entries(r.score_components),
      ),
    ),
    section(
      "Reviewers",
      "reviewers",
      table(
        "Drawn reviewers and their verdicts",
        [
          { title: "Reviewer", cell: (a) => account(a) },
          { title: "Trust when drawn", numeric: true, cell: (a) => amount(reviewerTrust.get(a)?.trust ?? candidateTrust.get(a)) },
          { title: "Verdict", cell: (a) => verdictBadge(r.verdicts.find((v) => v.reviewer === a)?.verdict) },
          { title: "Conflict", cell: (a) => (r.conflicts.includes(a) ? badge("declared", "warn") : "none") },
        ],
        r.reviewers,
        "not drawn yet (the draw runs two blocks after the request becomes valid).",
      ),
    ),
    section(
      "Reviewer draw",
      "draw",
      h(
        "p",
        null,
        "Reviewers are drawn from the fund's funders (never a borrower) by a seed taken from a block that nobody could know when the request became valid. Anyone can re-run the draw from the seed: ",
        h("code", null, `credichain credit redraw ${r.id}`),
        " or the RPC method ",
        h("code", null, "credit_redraw"),
        ".",
      ),
      ...r.draws.map((d, i) => {
        const again = redraw?.draws[i];
        return h(
          "div",
          { class: "draw", "data-draw": i },
          h("h3", null, `Draw ${i + 1}, at block `, blockLink(d.height)),
          facts([
            ["Seed", hashText(d.seed), "seed"],
            ["Panel drawn", h("ul", { class: "inline" }, d.panel.map((a) => h("li", null, account(a)))), "panel"],
            ["Kept from before", d.keep.length ? h("ul", { class: "inline" }, d.keep.map((a) => h("li", null, account(a)))) : "none", "keep"],
            ["Excluded", d.excluded.length ? h("ul", { class: "inline" }, d.excluded.map((a) => h("li", null, account(a)))) : "none", "excluded"],
            [
              "Re-run by this node",
              again === undefined ? "–" : again.matches ? badge("matches the stored panel", "good") : badge("does NOT match", "bad"),
              "redraw",
            ],
          ]),
        );
      }),
      table(
        "Candidates (funders eligible when drawn) with their trust",
        [
          { title: "Funder", cell: (c) => account(c.account) },
          { title: "Trust", numeric: true, cell: (c) => amount(c.trust) },
        ],
        r.candidates,
        "none yet.",
      ),
    ),
    r.approval === null ? null : approvalSection(r.approval),
  ];
}

function approvalSection(a: Approval): HTMLElement {
  return section(
    "Approval record",
    "approval",
    facts([
      ["Amount", amount(a.amount), "amount"],
      ["Start", when(a.start), "start"],
      ["End", when(a.end), "end"],
      ["Interest rate", percent(a.rate_bps), "rate"],
      ["Estimated interest if paid on time", amount(a.estimated_interest), "estimated-interest"],
      ["Fund size at approval", amount(a.size), "size"],
      ["Outstanding after it", amount(a.outstanding_after), "outstanding-after"],
      ["Reviewers' conclusions (hash)", hashText(a.conclusions_hash), "conclusions"],
    ]),
    scheduleTable(
      a.schedule.map((row, i) => ({ ...row, installment: i + 1 })),
      null,
    ),
  );
}

export async function requestPage(view: View, id: string): Promise<void> {
  const { rpc, main } = view;
  const requestId = Number(id);
  view.title(`Credit request ${id}`);
  const first = await rpc.call<Request | null>("credit_getRequest", [requestId]);
  if (first === null) {
    replace(main, h("h1", null, "Credit request not found"), h("p", { class: "notice error" }, `No credit request ${id}.`));
    return;
  }
  const holder = h("div");
  replace(main, h("h1", null, `Credit request ${id}`), holder);
  focusHeading(main);
  await liveSection(
    view,
    holder,
    async () => {
      const [request, redraw] = await Promise.all([
        rpc.call<Request>("credit_getRequest", [requestId]),
        rpc.call<Redraw | null>("credit_redraw", [requestId]),
      ]);
      return { request, redraw, texts: await requestTexts(rpc, request) };
    },
    ({ request, redraw, texts }) => requestBody(request, redraw, texts),
  );
}

/** Each text and document of a request from the node's document store (F10). */
async function requestTexts(rpc: View["rpc"], r: Request): Promise<Map<string, DocumentAnswer>> {
  const hashes = [...new Set([r.what_hash, r.repayment_good_hash, r.repayment_bad_hash, r.trust_reasons_hash, ...r.documents])];
  const answers = await Promise.all(
    hashes.map((hash) => rpc.call<DocumentAnswer>("documents_get", [hash]).catch(() => null)),
  );
  return new Map(answers.flatMap((a) => (a === null ? [] : [[a.hash, a] as [string, DocumentAnswer]])));
}

interface ScheduleRow {
  installment: number;
  due: number;
  principal: string;
  interest: string;
}

function scheduleTable(rows: ScheduleRow[], loan: { principal_paid: string; time: number; status: string } | null): HTMLElement {
  let cumulative = 0n;
  const paid = loan === null ? null : BigInt(loan.principal_paid);
  const states = rows.map((row) => {
    cumulative += BigInt(row.principal);
    if (paid === null || loan === null) return null;
    if (paid >= cumulative || loan.status === "repaid") return badge("paid", "good");
    if (loan.status === "written_off") return badge("written off", "bad");
    if (row.due < loan.time) return badge("overdue", "bad");
    if (paid > cumulative - BigInt(row.principal)) return badge("partly paid", "info");
    return badge("upcoming", "muted");
  });
  return table(
    "Repayment schedule (L2)",
    [
      { title: "#", cell: (r) => String(r.installment) },
      { title: "Due", cell: (r) => when(r.due) },
      { title: "Principal", numeric: true, cell: (r) => amount(r.principal) },
      { title: "Interest if on time", numeric: true, cell: (r) => amount(r.interest) },
      ...(loan === null ? [] : [{ title: "State", cell: (r: ScheduleRow) => states[r.installment - 1] ?? "–" }]),
    ],
    rows,
  );
}

interface LoanRecord {
  id: number;
  fund: number;
  recipient: string;
  borrowers: string[];
  reviewers: string[];
  purpose: string;
  principal: string;
  outstanding: string;
  rate_bps: number;
  start: number;
  term: number;
  installments: number;
  extension: number;
  principal_paid: string;
  interest_paid: string;
  status: string;
  closed: number;
  missing: string;
  time: number;
  interest_due_now: string;
  owed_now: string;
  late: boolean;
  late_since: number | null;
  days_late: number;
}

function loanStatus(l: LoanRecord): Child {
  if (l.late) return h("span", null, badge(`late since ${new Date(Number(l.late_since) * 1000).toISOString().slice(0, 10)} (${l.days_late} days)`, "bad"));
  return h("span", null, statusBadge(l.status), l.status === "active" ? " on schedule" : "");
}

export async function loanPage(view: View, id: string): Promise<void> {
  const { rpc, main } = view;
  const loanId = Number(id);
  view.title(`Loan ${id}`);
  const first = await rpc.call<LoanRecord | null>("loans_get", [loanId]);
  if (first === null) {
    replace(main, h("h1", null, "Loan not found"), h("p", { class: "notice error" }, `No loan ${id}.`));
    return;
  }
  const holder = h("div");
  const payments = h("div");
  replace(main, h("h1", null, `Loan ${id}`), holder, section("Payments", "payments", payments));
  focusHeading(main);
  await liveSection(
    view,
    holder,
    async () => {
      const [loan, schedule] = await Promise.all([
        rpc.call<LoanRecord>("loans_get", [loanId]),
        rpc.call<ScheduleRow[]>("loans_schedule", [loanId]),
      ]);
      return { loan, schedule };
    },
    ({ loan, schedule }) => [
      section(
        "Status",
        "status",
        facts([
          ["Status", loanStatus(loan), "status"],
          ["Fund", link(`#/fund/${loan.fund}`, `Fund ${loan.fund}`), "fund"],
          ["Credit request", link(`#/request/${loan.id}`, `Request ${loan.id}`), "request"],
          ["Recipient", account(loan.recipient), "recipient"],
          ["Purpose", words(loan.purpose), "purpose"],
          ["Principal", amount(loan.principal), "principal"],
          ["Principal repaid", amount(loan.principal_paid), "principal-paid"],
          ["Interest paid", amount(loan.interest_paid), "interest-paid"],
          ["Outstanding principal", amount(loan.outstanding), "outstanding"],
          ["Interest accrued now", amount(loan.interest_due_now), "interest-now"],
          ["To close it now", amount(loan.owed_now), "owed-now"],
          ["Interest rate", percent(loan.rate_bps), "rate"],
          ["Started", when(loan.start), "start"],
          ["Term", `${duration(loan.term)}${loan.extension ? ` + ${duration(loan.extension)} extension` : ""}`, "term"],
          ["Written off", loan.status === "written_off" ? amount(loan.missing) : "no", "missing"],
        ]),
      ),
      section("Schedule", "schedule", scheduleTable(schedule, loan)),
      section(
        "People",
        "people",
        facts([
          ["Borrowers", h("ul", { class: "inline" }, loan.borrowers.map((a) => h("li", null, account(a))))],
          ["Reviewers", h("ul", { class: "inline" }, loan.reviewers.map((a) => h("li", null, account(a))))],
        ]),
      ),
    ],
    withoutTime,
  );
  await findPayments(view, payments, loanId);
}

const SCAN_STEP = 2000;
const AUTO_SCAN = 10_000;

/** Payments are events (loans.Repaid) in receipts: scan blocks with extrinsics, newest first. */
async function findPayments(view: View, holder: HTMLElement, loanId: number): Promise<void> {
  const request = await view.rpc.call<Request | null>("credit_getRequest", [loanId]);
  const floor = request?.valid_height ?? 0;
  const found: Array<{ hash: string; height: number; time: number; payer: string; interest: string; principal: string }> = [];
  let top = latestHead?.number ?? (await view.rpc.call<{ number: number }>("chain_getHeader")).number;
  const status = h("p", { class: "hint", role: "status" });
  const more = h("button", { type: "button" }, "Search older blocks");
  const list = h("div");
  const draw = () => {
    list.replaceChildren(
      table(
        `Payments towards loan ${loanId} (L4)`,
        [
          { title: "Extrinsic", cell: (p) => extrinsicLink(p.hash) },
          { title: "Block", cell: (p) => blockLink(p.height) },
          { title: "Time", cell: (p) => when(p.time, true) },
          { title: "Paid by", cell: (p) => account(p.payer) },
          { title: "Interest", numeric: true, cell: (p) => amount(p.interest) },
          { title: "Principal", numeric: true, cell: (p) => amount(p.principal) },
        ],
        found,
        "none found in the blocks searched.",
      ),
    );
  };
  const scan = async (): Promise<boolean> => {
    const from = Math.max(floor, top - SCAN_STEP + 1);
    status.textContent = `Searching blocks #${from}–#${top}…`;
    more.disabled = true;
    const headers = (await headersBetween(view, from, top)).filter(hasExtrinsics);
    for (let i = 0; i < headers.length; i += 20) {
      const blocks = await view.rpc.batch<{ block: { header: { number: number; timestamp: number }; extrinsics: string[] } }>(
        headers.slice(i, i + 20).map((hd) => ["chain_getBlock", [hd.hash]]),
      );
      const xs = blocks.flatMap((b) => (b instanceof Error || b === null ? [] : b.block.extrinsics.map((hex) => ({ b, x: decodeExtrinsic(hex) }))));
      const receipts = await view.rpc.batch<Receipt | null>(xs.map(({ x }) => ["chain_getReceipt", [x.hash]]));
      receipts.forEach((receipt, k) => {
        if (receipt === null || receipt instanceof Error) return;
        for (const event of receipt.events) {
          const a = event.attributes as Record<string, string>;
          if (event.pallet === "loans" && event.name === "Repaid" && Number(a.loan) === loanId) {
            const b = xs[k]!.b.block.header;
            found.push({ hash: receipt.extrinsicHash, height: b.number, time: b.timestamp, payer: a.payer ?? "", interest: a.interest ?? "0", principal: a.principal ?? "0" });
          }
        }
      });
    }
    if (!view.current()) return false;
    top = from - 1;
    status.textContent = top < floor ? `Searched every block since the request became valid (#${floor}).` : `Searched down to block #${from}.`;
    more.disabled = top < floor;
    more.hidden = top < floor;
    draw();
    return top >= floor;
  };
  more.addEventListener("click", () => void scan());
  holder.replaceChildren(status, list, more);
  // Search on its own up to AUTO_SCAN blocks back; older ones on request (the button).
  for (let searched = 0; searched < AUTO_SCAN && (await scan()); searched += SCAN_STEP);
}
