// Community funds (FediCredits): the list, and one fund's books as its funders
// and borrowers read them: cash, outstanding, utilization against the hard
// limit (C4), portfolio at risk, funders and borrowers with their trust at
// the fund (trust, in use, available: T1–T5), exits, requests and loans.

import { focusHeading, latestHead, type View } from "../app";
import { chainParam } from "../chaindata";
import { badge, facts, h, link, replace, section, table, type Child, type Tone } from "../dom";
import { account, amount, bpsData, knownNames, percent, when, words } from "../format";
import { liveSection, withoutTime } from "../live";
import { withAt } from "../rpc";
import { distinctAccounts, trustCalls, trustColumns, trustOf, trustSummary, type TrustView } from "../trust";

export interface FundBrief {
  id: number;
  name: string;
  status: string;
  funders: number;
  contribution: string;
  rate_bps: number;
  size: string;
}

export interface Funder {
  account: string;
  joined: number;
  paid: string;
  leaving_since: number | null;
  removed: boolean;
}

export interface Fund {
  id: number;
  name: string;
  scope: string;
  bioregion: number | null;
  contribution: string;
  rate_bps: number;
  purposes: string[];
  status: string;
  creator: string;
  created: number;
  funders: number;
  outstanding: string;
  interest_income: string;
  losses: string;
  expenses: string;
  exits_paid: string;
  cash_account: string;
  cash: string;
  size: string;
  funder_list: Funder[];
  pending_exits: number;
  policy_hash: string;
  conduct_hash: string;
}

export interface Report {
  fund: number;
  cash: string;
  outstanding: string;
  size: string;
  utilization_bps: number;
  interest_income: string;
  losses: string;
  expenses: string;
  funders: number;
  par_bps: { par30: number; par60: number; par90: number };
  by_purpose: Record<string, { loans: number; outstanding: string; par30: string; par60: string; par90: string }>;
  time: number;
}

export interface RequestBrief {
  id: number;
  status: string;
  amount: string;
  purpose: string;
  submitter: string;
  score: number;
}

export interface Loan {
  id: number;
  fund: number;
  status: string;
  principal: string;
  outstanding: string;
  principal_paid: string;
  interest_paid: string;
  late: boolean;
  days_late: number;
  owed_now: string;
  borrowers: string[];
  [key: string]: unknown;
}

const STATUS_TONES: Record<string, Tone> = {
  active: "good",
  forming: "info",
  approved: "good",
  repaid: "good",
  in_review: "info",
  awaiting_signatures: "info",
  needs_improvement: "warn",
  declined: "bad",
  expired: "muted",
  withdrawn: "muted",
  unreviewable: "warn",
  written_off: "bad",
  open: "info",
  passed: "good",
  rejected: "bad",
  failed: "bad",
  enacted: "good",
};

export function statusBadge(status: string): HTMLElement {
  return badge(words(status), STATUS_TONES[status] ?? "info");
}

export async function fundsPage(view: View): Promise<void> {
  view.title("Funds");
  const { main } = view;
  replace(
    main,
    h("h1", null, "Community funds"),
    h(
      "p",
      { class: "lead" },
      "Each fund is a community bank: five or more funders pay the same contribution, lend to people they trust, and publish every account and movement.",
    ),
  );
  focusHeading(main);
  const holder = h("div");
  main.append(section("Funds on this chain", "funds", holder));
  await liveSection(view, holder, () => view.rpc.call<FundBrief[]>("funds_list"), (funds) =>
    table(
      "Funds",
      [
        { title: "Fund", cell: (f) => link(`#/fund/${f.id}`, f.name) },
        { title: "Status", cell: (f) => statusBadge(f.status) },
        { title: "Funders", numeric: true, cell: (f) => String(f.funders) },
        { title: "Contribution", numeric: true, cell: (f) => amount(f.contribution) },
        { title: "Interest rate", numeric: true, cell: (f) => percent(f.rate_bps) },
        { title: "Size", numeric: true, cell: (f) => amount(f.size) },
      ],
      funds,
      "no fund has been created yet.",
      false,
    ),
  );
}

/** A bar showing the share lent against the limit; the words carry the meaning. */
function utilizationBar(bps: number, limitBps: number): HTMLElement {
  const over = bps > limitBps;
  const label = `${percent(bps)} of the fund is lent out; the limit is ${percent(limitBps)}`;
  // Positions go through the CSSOM: the node's Content-Security-Policy refuses style attributes.
  const fill = h("div", { class: `fill ${over ? "over" : ""}` });
  fill.style.width = `${Math.min(bps, 10_000) / 100}%`;
  const limit = h("div", { class: "limit" }, h("span", null, `limit ${percent(limitBps)}`));
  limit.style.left = `${limitBps / 100}%`;
  return h("div", { class: "meter", role: "img", "aria-label": label }, fill, limit);
}

function parWords(bps: number): Child {
  const tone: Tone = bps === 0 ? "good" : bps < 500 ? "warn" : "bad";
  return h("span", null, bpsData(bps), " ", badge(bps === 0 ? "none overdue" : "overdue", tone));
}

function books(report: Report, fund: Fund, limitBps: number): Child {
  const headroom = (BigInt(report.size) * BigInt(limitBps)) / 10_000n - BigInt(report.outstanding);
  return [
    facts([
      ["Cash", amount(report.cash), "cash"],
      ["Outstanding (lent, not yet repaid)", amount(report.outstanding), "outstanding"],
      ["Size (cash + outstanding, F3)", amount(report.size), "size"],
      ["Utilization", h("span", null, bpsData(report.utilization_bps), ` of size (limit ${percent(limitBps)})`), "utilization"],
      ["Still lendable under the limit", amount(headroom > 0n ? headroom.toString() : "0"), "headroom"],
      ["Interest received", amount(report.interest_income), "interest"],
      ["Losses written off", amount(report.losses), "losses"],
      ["Expenses", amount(report.expenses), "expenses"],
      ["Paid to leaving funders", amount(fund.exits_paid), "exits-paid"],
      ["Funders waiting to be paid out", String(fund.pending_exits), "pending-exits"],
    ]),
    utilizationBar(report.utilization_bps, limitBps),
  ];
}

function atRisk(report: Report): Child {
  const purposes = Object.entries(report.by_purpose);
  return [
    facts([
      ["PAR30 (overdue > 30 days)", parWords(report.par_bps.par30), "par30"],
      ["PAR60", parWords(report.par_bps.par60), "par60"],
      ["PAR90", parWords(report.par_bps.par90), "par90"],
    ]),
    table(
      "Open loans by purpose",
      [
        { title: "Purpose", cell: (r) => words(r[0]) },
        { title: "Loans", numeric: true, cell: (r) => String(r[1].loans) },
        { title: "Outstanding", numeric: true, cell: (r) => amount(r[1].outstanding) },
        { title: "PAR30 amount", numeric: true, cell: (r) => amount(r[1].par30) },
      ],
      purposes,
      "no open loans.",
    ),
  ];
}

function funderStatus(f: Funder): HTMLElement {
  if (f.removed) return badge("removed", "bad");
  if (f.leaving_since !== null) return badge("leaving", "warn");
  return badge("active", "good");
}

export async function fundPage(view: View, id: string): Promise<void> {
  const { rpc, main } = view;
  const fundId = Number(id);
  const fund = await rpc.call<Fund | null>("funds_get", [fundId]);
  if (fund === null) {
    replace(main, h("h1", null, "Fund not found"), h("p", { class: "notice error" }, `No fund ${id} on this chain.`));
    return;
  }
  view.title(fund.name);
  knownNames.set(fund.cash_account, `${fund.name} cash`);
  const limitBps = (await chainParam(rpc, "credit", "max_utilization")) ?? 6600;
  replace(
    main,
    h("h1", null, fund.name, " ", statusBadge(fund.status)),
    h("p", { class: "lead" }, fund.scope),
    section(
      "About",
      "about",
      facts([
        ["Contribution per funder", amount(fund.contribution), "contribution"],
        ["Interest rate", percent(fund.rate_bps), "rate"],
        ["Purposes", fund.purposes.map(words).join(", "), "purposes"],
        ["Bioregion", fund.bioregion === null ? "none" : link(`#/bioregion/${fund.bioregion}`, `bioregion ${fund.bioregion}`), "bioregion"],
        ["Created by", account(fund.creator), "creator"],
        ["Created", when(fund.created), "created"],
        ["Cash account", account(fund.cash_account), "cash-account"],
      ]),
    ),
  );
  focusHeading(main);
  const booksBody = h("div");
  const riskBody = h("div");
  const fundersBody = h("div");
  const requestsBody = h("div");
  const borrowersBody = h("div");
  const loansBody = h("div");
  main.append(
    section("Books", "books", booksBody),
    section("Portfolio at risk", "par", riskBody),
    section("Funders", "funders", fundersBody),
    section("Credit requests", "requests", requestsBody),
    section("Borrowers with open loans", "borrowers", borrowersBody),
    section("Loans", "loans", loansBody),
  );
  await liveSection(
    view,
    booksBody,
    async () => {
      const [report, current] = await Promise.all([rpc.call<Report>("funds_report", [fundId]), rpc.call<Fund>("funds_get", [fundId])]);
      return { report, current };
    },
    ({ report, current }) => [books(report, current, limitBps)],
    withoutTime,
  );
  await liveSection(view, riskBody, () => rpc.call<Report>("funds_report", [fundId]), atRisk, withoutTime);
  await liveSection(
    view,
    fundersBody,
    async () => {
      // The funder list and every funder's trust at one block (T5 moves with each request).
      const at = latestHead?.hash ?? null;
      const current = await rpc.call<Fund>("funds_get", withAt([fundId], at));
      const answers = await rpc.batch(trustCalls(fundId, current.funder_list.map((f) => f.account), at));
      return current.funder_list.map((f, i) => ({ f, trust: trustOf(answers[i]) }));
    },
    (rows) => [
      table(
        `Funders of ${fund.name}`,
        [
          { title: "Funder", cell: (r) => account(r.f.account) },
          { title: "Status", cell: (r) => funderStatus(r.f) },
          { title: "Joined", cell: (r) => when(r.f.joined) },
          { title: "Paid in", numeric: true, cell: (r) => amount(r.f.paid) },
          ...trustColumns<{ f: Funder; trust: TrustView | null }>((r) => r.trust),
        ],
        rows,
        "None yet.",
        false,
      ),
      rows.length === 0 ? null : trustSummary("funders", rows.map((r) => r.trust), "funders"),
      rows.length === 0 ? null : trustHint(),
    ],
  );
  const requests = await liveSection(view, requestsBody, () => rpc.call<RequestBrief[]>("credit_listRequests", [fundId]), (list) => requestTable(list));
  const loanIds = requests.filter((r) => r.status === "approved").map((r) => r.id);
  // Loans are read once per block for both sections below.
  let loansFor: { at: string | null; loans: Promise<Loan[]> } | null = null;
  const loansAt = (at: string | null): Promise<Loan[]> => {
    if (loansFor === null || loansFor.at !== at || at === null) {
      const loans = (async () => {
        const ids = (await rpc.call<RequestBrief[]>("credit_listRequests", withAt([fundId, "approved"], at))).map((r) => r.id);
        const found = await rpc.batch<Loan | null>((ids.length ? ids : loanIds).map((loanId) => ["loans_get", withAt([loanId], at)]));
        return found.filter((l): l is Loan => l !== null && !(l instanceof Error));
      })();
      loansFor = { at, loans };
    }
    return loansFor.loans;
  };
  await liveSection(
    view,
    borrowersBody,
    async () => {
      const at = latestHead?.hash ?? null;
      const open = (await loansAt(at)).filter((l) => l.status === "active");
      const { accounts, more } = distinctAccounts(open.map((l) => l.borrowers ?? []));
      const answers = await rpc.batch(trustCalls(fundId, accounts, at));
      return { rows: accounts.map((address, i) => ({ address, trust: trustOf(answers[i]) })), more };
    },
    ({ rows, more }) => [
      table(
        `Borrowers of ${fund.name}'s open loans`,
        [{ title: "Borrower", cell: (r) => account(r.address) }, ...trustColumns<{ address: string; trust: TrustView | null }>((r) => r.trust)],
        rows,
        "no open loan.",
        false,
      ),
      more > 0 ? h("p", { class: "hint" }, `${more} more borrowers are not shown (at most ${rows.length} are read).`) : null,
    ],
  );
  await liveSection(view, loansBody, () => loansAt(latestHead?.hash ?? null), (loans) => loanTable(loans), withoutTime);
}

function trustHint(): HTMLElement {
  return h(
    "p",
    { class: "hint" },
    "Trust (T1–T4, with trust recognized from federated funds) limits what a person may have at stake at this fund. In use (T5): their stakes in open credit requests and their shares of open loans, released as the loans are repaid. Only what is available can be brought to a new request, as borrower or as reviewer.",
  );
}

export function requestTable(list: RequestBrief[]): HTMLElement {
  return table(
    "Credit requests",
    [
      { title: "Request", cell: (r) => link(`#/request/${r.id}`, `Request ${r.id}`) },
      { title: "Status", cell: (r) => statusBadge(r.status) },
      { title: "Amount", numeric: true, cell: (r) => amount(r.amount) },
      { title: "Purpose", cell: (r) => words(r.purpose) },
      { title: "Submitter", cell: (r) => account(r.submitter) },
      { title: "Score", numeric: true, cell: (r) => `${r.score} / 100` },
    ],
    list,
    "no request yet.",
    false,
  );
}

export function loanTable(loans: Loan[]): HTMLElement {
  return table(
    "Loans",
    [
      { title: "Loan", cell: (l) => link(`#/loan/${l.id}`, `Loan ${l.id}`) },
      { title: "Status", cell: (l) => (l.late ? badge(`late ${l.days_late} days`, "bad") : statusBadge(l.status)) },
      { title: "Principal", numeric: true, cell: (l) => amount(l.principal) },
      { title: "Repaid", numeric: true, cell: (l) => amount(l.principal_paid) },
      { title: "Outstanding", numeric: true, cell: (l) => amount(l.outstanding) },
    ],
    loans,
    "no loan yet.",
    false,
  );
}
