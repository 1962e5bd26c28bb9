// Governance, bioregion health, the commons pool and federation. Their pallets
// are optional in a runtime: each page asks the node whether it serves the
// methods and says "not available on this node" when it does not.

import { focusHeading, type View } from "../app";
import { lineChart } from "../chart";
import { badge, facts, h, link, notice, replace, section, table, type Child } from "../dom";
import { account, amount, bpsData, duration, hashText, isAddress, percent, when, words } from "../format";
import { liveSection } from "../live";
import type { Json } from "../rpc";
import { statusBadge } from "./funds";

type Obj = Record<string, Json>;

const AMOUNT_KEYS = /(amount|balance|supply|cap|minted|remaining|granted|taken|pool_before|cost|credits|budget|total|stake|deposit|paid)/;
const TIME_KEYS = /^(registered|created|ends|starts|start|end|year_start|year_end|joined|closes|opens|enacted_at|deadline)$/;
const BPS_KEYS = /(_bps$|^score$|^share$|^weight)/;

/** A value rendered by what its key and form say it is (for pallets without a typed view here). */
export function smart(key: string, value: Json): Child {
  if (value === null) return "–";
  if (typeof value === "boolean") return value ? badge("yes", "good") : badge("no", "muted");
  if (typeof value === "string") {
    if (isAddress(value)) return account(value);
    if (/^0x[0-9a-f]{64}$/i.test(value)) return hashText(value);
    if (/^\d+$/.test(value) && AMOUNT_KEYS.test(key)) return amount(value);
    if (key === "status") return statusBadge(value);
    return /^[a-z_]+$/.test(value) ? words(value) : value;
  }
  if (typeof value === "number") {
    if (TIME_KEYS.test(key) && value > 1_000_000_000) return when(value);
    if (BPS_KEYS.test(key)) return bpsData(value);
    return String(value);
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return "none";
    if (value.every((v) => typeof v !== "object" || v === null)) return h("ul", { class: "inline" }, value.map((v) => h("li", null, smart(key, v))));
    return autoTable(words(key), value as Obj[]);
  }
  return smartFacts(value);
}

export function smartFacts(value: Obj, skip: string[] = []): HTMLElement {
  return facts(Object.entries(value).filter(([k]) => !skip.includes(k)).map(([k, v]) => [words(k), smart(k, v), k]));
}

export function autoTable(caption: string, rows: Obj[], link_?: (row: Obj) => string | null): HTMLElement {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => rows.every((r) => typeof r[k] !== "object" || r[k] === null || Array.isArray(r[k])));
  return table(
    caption,
    keys.slice(0, 8).map((k, i) => ({
      title: words(k),
      cell: (row: Obj) => {
        const target = i === 0 && link_ ? link_(row) : null;
        const value = smart(k, row[k] ?? null);
        return target ? link(target, typeof value === "string" ? value : String(row[k])) : value;
      },
    })),
    rows,
  );
}

function unavailable(main: HTMLElement, title: string, methods: string[]): void {
  main.append(notice(`${title}: ${methods.join(", ")} ${methods.length > 1 ? "are" : "is"} not available on this node.`));
}

// ---------------------------------------------------------------- governance

interface Proposal {
  id: number;
  proposer: string;
  call: { pallet?: string; function?: string; args?: Obj; raw: string };
  kind: string;
  made: number;
  round: number;
  voting_ends: number | null;
  phase: string;
  status: string;
  votes_for: number;
  votes_against: number;
  voters: number;
  credits_spent: number;
  voters_needed: number;
  passing_now: boolean;
  deposit: string;
  deposit_state: string;
  decided: number | null;
  enact_at: number | null;
  enacted_height: number | null;
  error: string | null;
  ballots?: Array<{ account: string; votes: number; cost: number }>;
}

interface Round {
  round: number;
  start: number;
  ends: number;
  now: number;
  budget: number;
  members: number;
  rules: Record<string, number>;
}

const PHASE_TONES: Record<string, "good" | "bad" | "warn" | "info" | "muted"> = {
  announced: "info",
  voting: "info",
  counting: "warn",
  passed: "good",
  enacted: "good",
  rejected: "bad",
  failed: "bad",
  expired: "muted",
};

function phaseBadge(phase: string): HTMLElement {
  return badge(words(phase), PHASE_TONES[phase] ?? "info");
}

function callText(call: Proposal["call"]): Child {
  return h("code", null, call.pallet === undefined ? "undecodable call" : `${call.pallet}.${call.function}`);
}

function tally(p: Proposal): Child {
  return h(
    "span",
    null,
    `${p.votes_for} for, ${p.votes_against} against; ${p.voters} of ${p.voters_needed} voters needed `,
    p.passing_now ? badge("would pass now", "good") : badge("would not pass now", "muted"),
  );
}

export async function governancePage(view: View): Promise<void> {
  const { rpc, main } = view;
  view.title("Governance");
  replace(
    main,
    h("h1", null, "Governance"),
    h(
      "p",
      { class: "lead" },
      "Members propose and vote with quadratic voting: casting n votes on a proposal costs n² of the member's voice credits for the round, so strong feelings count, but not without limit.",
    ),
  );
  focusHeading(main);
  if (!rpc.has("gov_proposals")) {
    unavailable(main, "Governance", ["gov_proposals"]);
    return;
  }
  const roundBody = h("div");
  const holder = h("div");
  main.append(section("Current round", "round", roundBody), section("Proposals", "proposals", holder));
  if (rpc.has("gov_round")) {
    await liveSection(view, roundBody, () => rpc.call<Round>("gov_round"), (r) =>
      facts([
        ["Round", String(r.round), "round"],
        ["Voting from", when(r.start), "start"],
        ["Voting until", when(r.ends), "ends"],
        ["Voice credits per member this round", String(r.budget), "budget"],
        ["Members", String(r.members), "members"],
        ["Quorum", h("span", null, bpsData(r.rules.quorum ?? 0), " of members must vote"), "quorum"],
        ["Round length", duration(r.rules.round_length ?? 0), "round-length"],
        ["Enactment delay", duration(r.rules.enactment_delay ?? 0), "enactment-delay"],
        ["Proposal deposit", amount(String(r.rules.proposal_deposit ?? 0)), "deposit"],
      ]),
    (r) => JSON.stringify({ ...r, now: 0 }));
  } else unavailable(roundBody, "Rounds", ["gov_round"]);
  await liveSection(view, holder, () => rpc.call<Proposal[]>("gov_proposals"), (list) =>
    table(
      "Proposals, newest first",
      [
        { title: "Proposal", cell: (p) => link(`#/proposal/${p.id}`, `Proposal ${p.id}`) },
        { title: "Call", cell: (p) => callText(p.call) },
        { title: "Phase", cell: (p) => phaseBadge(p.phase) },
        { title: "Round", numeric: true, cell: (p) => String(p.round) },
        { title: "Tally", cell: (p) => tally(p) },
        { title: "Credits spent", numeric: true, cell: (p) => String(p.credits_spent) },
      ],
      list,
      "no proposal yet.",
      false,
    ),
  );
  const members = await rpc.optional<Obj[]>("members_list");
  if (members !== null) main.append(section("Members", "members", autoTable("Members", members)));
}

export async function proposalPage(view: View, id: string): Promise<void> {
  const { rpc, main } = view;
  view.title(`Proposal ${id}`);
  replace(main, h("h1", null, `Proposal ${id}`));
  focusHeading(main);
  if (!rpc.has("gov_proposal")) {
    unavailable(main, "Governance", ["gov_proposal"]);
    return;
  }
  const holder = h("div");
  main.append(holder);
  await liveSection(view, holder, () => rpc.call<Proposal | null>("gov_proposal", [Number(id)]), (p) => {
    if (p === null) return notice(`No proposal ${id}.`, "error");
    return [
      section(
        "Proposal",
        "proposal",
        facts([
          ["Phase", phaseBadge(p.phase), "phase"],
          ["Call", callText(p.call), "call"],
          ["Arguments", p.call.args === undefined ? "–" : smartFacts(p.call.args), "args"],
          ["Kind", words(p.kind), "kind"],
          ["Proposed by", account(p.proposer), "proposer"],
          ["Proposed", when(p.made), "made"],
          ["Voting round", String(p.round), "round"],
          ["Voting ends", when(p.voting_ends), "voting-ends"],
          ["Deposit", h("span", null, amount(p.deposit), ` (${words(p.deposit_state)})`), "deposit"],
          ["Enacted at block", p.enacted_height === null ? "not yet" : link(`#/block/${p.enacted_height}`, `#${p.enacted_height}`), "enacted"],
          ["Error when enacted", p.error ?? "none", "error"],
        ]),
      ),
      section(
        "Tally",
        "tally",
        facts([
          ["Votes for", String(p.votes_for), "for"],
          ["Votes against", String(p.votes_against), "against"],
          ["Voters", `${p.voters} (quorum: ${p.voters_needed})`, "voters"],
          ["Voice credits spent (Σ votes²)", String(p.credits_spent), "credits"],
          ["If counted now", p.passing_now ? badge("passes", "good") : badge("does not pass", "muted"), "passing"],
        ]),
        table(
          "Ballots with their quadratic cost",
          [
            { title: "Member", cell: (b) => account(b.account) },
            { title: "Votes", numeric: true, cell: (b) => (b.votes > 0 ? `${b.votes} for` : `${-b.votes} against`) },
            { title: "Cost (votes²)", numeric: true, cell: (b) => `${b.cost} credits` },
          ],
          p.ballots ?? [],
          "no ballot yet.",
        ),
      ),
    ];
  });
}

// ---------------------------------------------------------------- bioregions

interface Bioregion {
  id: string;
  score: number | null;
  oracles: number;
  funds: number;
}

export async function bioregionsPage(view: View): Promise<void> {
  const { rpc, main } = view;
  view.title("Bioregions");
  replace(
    main,
    h("h1", null, "Bioregions"),
    h("p", { class: "lead" }, "Each bioregion's health is observed by its oracles every epoch; the score weighs five components and steers the commons' redistribution."),
  );
  focusHeading(main);
  if (!rpc.has("health_bioregions")) {
    unavailable(main, "Bioregion health", ["health_bioregions"]);
    return;
  }
  const holder = h("div");
  main.append(section("Bioregions", "bioregions", holder));
  await liveSection(view, holder, () => rpc.call<Bioregion[]>("health_bioregions"), (list) =>
    table(
      "Registered bioregions",
      [
        { title: "Bioregion", cell: (b) => link(`#/bioregion/${encodeURIComponent(b.id)}`, b.id) },
        { title: "Health score", numeric: true, cell: (b) => (b.score === null ? "no value yet" : bpsData(b.score)) },
        { title: "Oracles", numeric: true, cell: (b) => String(b.oracles) },
        { title: "Funds", numeric: true, cell: (b) => String(b.funds) },
      ],
      list,
      "none registered.",
    ),
  );
}

interface HistoryRow {
  epoch: number;
  components: Record<string, number> | null;
  score: number | null;
  credit_velocity: number;
  participation: number;
  observations: number;
  funds: number;
}

export async function bioregionPage(view: View, id: string): Promise<void> {
  const { rpc, main } = view;
  view.title(`Bioregion ${id}`);
  replace(main, h("h1", null, `Bioregion ${id}`));
  focusHeading(main);
  if (!rpc.has("health_get")) {
    unavailable(main, "Bioregion health", ["health_get"]);
    return;
  }
  const region = await rpc.call<Obj | null>("health_get", [id]);
  if (region === null) {
    main.append(notice(`No bioregion ${id}.`, "error"));
    return;
  }
  const current = h("div");
  const charts = h("div");
  main.append(section("Now", "health-now", current), section("Health over time", "health-history", charts));
  await liveSection(view, current, () => rpc.call<Obj>("health_get", [id]), (r) => [
    facts([
      ["Health score", r.score === null ? "no value yet" : bpsData(Number(r.score)), "score"],
      ["Value from epoch", r.value_epoch === null ? "–" : `${String(r.value_epoch)} (${String(r.observations)} oracle observations)`, "value-epoch"],
      ["Open epoch", String(r.open_epoch), "open-epoch"],
      ["Oracles", smart("oracles", r.oracles ?? null), "oracles"],
      ["Observed the open epoch", smart("observed", r.observed_this_epoch ?? null), "observed"],
      [
        "Funds in this bioregion",
        Array.isArray(r.funds) && r.funds.length ? h("ul", { class: "inline" }, r.funds.map((f) => h("li", null, link(`#/fund/${String(f)}`, `Fund ${String(f)}`)))) : "none",
        "funds",
      ],
      [
        "On-chain measures (last epoch)",
        r.measures === null
          ? "–"
          : h("span", null, "credit velocity ", bpsData(Number((r.measures as Obj).credit_velocity)), ", participation ", bpsData(Number((r.measures as Obj).participation))),
        "measures",
      ],
      ["Registered", when(Number(r.registered)), "registered"],
    ]),
    r.components === null
      ? h("p", null, "No value yet: no oracle has observed it.")
      : table(
          "Components now, with their weights in the score",
          [
            { title: "Component", cell: (c: [string, Json]) => words(c[0]) },
            { title: "Value", numeric: true, cell: (c) => bpsData(Number(c[1])) },
            { title: "Weight", numeric: true, cell: (c) => bpsData(Number((r.weights as Obj | null)?.[c[0]] ?? 0)) },
          ],
          Object.entries(r.components as Obj),
        ),
  ]);
  if (!rpc.has("health_history")) {
    unavailable(charts, "History", ["health_history"]);
    return;
  }
  await liveSection(view, charts, () => rpc.call<HistoryRow[] | null>("health_history", [id]), (rows) => historyCharts(rows ?? []));
}

function historyCharts(rows: HistoryRow[]): Child {
  if (rows.length === 0) return h("p", { class: "empty" }, "No epoch has been published yet.");
  const epochs = rows.map((r) => String(r.epoch));
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.components ?? {})))];
  const pct = (v: number) => `${Math.round(v / 100)} %`;
  return [
    lineChart("Health score by epoch", epochs, [{ label: "score", values: rows.map((r) => r.score) }], 10_000, pct),
    lineChart("Health components by epoch", epochs, names.map((n) => ({ label: words(n), values: rows.map((r) => r.components?.[n] ?? null) })), 10_000, pct),
    lineChart(
      "On-chain measures by epoch",
      epochs,
      [
        { label: "credit velocity", values: rows.map((r) => r.credit_velocity) },
        { label: "participation", values: rows.map((r) => r.participation) },
      ],
      10_000,
      pct,
    ),
  ];
}

// ---------------------------------------------------------------- commons

export async function commonsPage(view: View): Promise<void> {
  const { rpc, main } = view;
  view.title("Commons");
  replace(
    main,
    h("h1", null, "Commons pool"),
    h("p", { class: "lead" }, "A share of interest and a capped yearly issuance fill the commons pool, which is redistributed to funds by need and bioregion health."),
  );
  focusHeading(main);
  if (!rpc.has("commons_pool")) {
    unavailable(main, "Commons", ["commons_pool"]);
    return;
  }
  const pool = h("div");
  const issuance = h("div");
  const rounds = h("div");
  main.append(section("Pool", "pool", pool), section("Issuance this year", "issuance", issuance), section("Redistributions", "redistributions", rounds));
  await liveSection(view, pool, () => rpc.call<Obj>("commons_pool"), (p) =>
    facts([
      ["Pool account", account(String(p.account)), "account"],
      ["Balance", amount(String(p.balance)), "balance"],
      ["Total supply", amount(String(p.total_supply)), "supply"],
      ["Share of the pool redistributed each epoch", bpsData(Number(p.redistribution_share_bps)), "share"],
      ["Share of interest paid into the pool", bpsData(Number(p.interest_commons_share_bps)), "interest-share"],
      ["Minted so far", amount(String(p.minted_total)), "minted"],
      ["Received from interest so far", amount(String(p.from_interest_total)), "from-interest"],
      ["Granted to funds so far", amount(String(p.granted_total)), "granted"],
    ]),
  );
  if (rpc.has("commons_issuance")) {
    await liveSection(view, issuance, () => rpc.call<Obj>("commons_issuance"), (p) => [
      facts([
        ["Year of issuance", String(p.year), "year"],
        ["From", when(Number(p.year_start)), "year-start"],
        ["To", when(Number(p.year_end)), "year-end"],
        ["Cap", h("span", null, amount(String(p.cap)), " (", bpsData(Number(p.max_issuance_bps)), " of ", amount(String(p.base_supply)), ")"), "cap"],
        ["Minted this year", amount(String(p.minted)), "minted"],
        ["Still allowed", amount(String(p.remaining)), "remaining"],
      ]),
      h("p", null, `Minted ${percentOf(p.minted ?? "0", p.cap ?? "0")} of this year's cap.`),
    ]);
  } else unavailable(issuance, "Issuance", ["commons_issuance"]);
  if (rpc.has("commons_redistributions")) {
    await liveSection(view, rounds, () => rpc.call<Obj[]>("commons_redistributions", [10]), (list) =>
      list.length === 0
        ? h("p", { class: "empty" }, "No redistribution round yet.")
        : list.map((r) =>
            h(
              "div",
              { class: "round" },
              h("h3", null, `Epoch ${String(r.epoch)}`),
              facts([
                ["Pool before", amount(String(r.pool_before)), "pool-before"],
                ["Taken for grants", h("span", null, amount(String(r.taken)), " (", bpsData(Number(r.share_bps)), " of the pool)"), "taken"],
                ["Funds granted", String(r.funds), "funds"],
              ]),
              table(
                `Grants of epoch ${String(r.epoch)}`,
                [
                  { title: "Fund", cell: (g: Obj) => link(`#/fund/${String(g.fund)}`, `Fund ${String(g.fund)}`) },
                  { title: "Bioregion", cell: (g) => (g.bioregion === null ? "none" : link(`#/bioregion/${encodeURIComponent(String(g.bioregion))}`, String(g.bioregion))) },
                  { title: "Need", numeric: true, cell: (g) => smart("need", g.need ?? null) },
                  { title: "Amount", numeric: true, cell: (g) => amount(String(g.amount)) },
                ],
                (r.grants as Obj[]) ?? [],
                "no grants.",
              ),
            ),
          ),
    );
  } else unavailable(rounds, "Redistributions", ["commons_redistributions"]);
}

function percentOf(part: Json, whole: Json): string {
  const w = BigInt(String(whole ?? "0"));
  if (w === 0n) return "0 %";
  return percent(Number((BigInt(String(part ?? "0")) * 10_000n) / w));
}

// ---------------------------------------------------------------- federation

export async function federationPage(view: View): Promise<void> {
  const { rpc, main } = view;
  view.title("Federation");
  replace(
    main,
    h("h1", null, "Federation"),
    h("p", { class: "lead" }, "Funds federate: they recognize each other's trust and share reviewers and losses under agreements."),
  );
  focusHeading(main);
  if (!rpc.has("federation_agreements")) {
    unavailable(main, "Federation", ["federation_agreements"]);
    return;
  }
  const holder = h("div");
  const debts = h("div");
  main.append(section("Agreements", "agreements", holder), section("Shared losses between funds", "debts", debts));
  await liveSection(view, holder, () => rpc.call<Obj[]>("federation_agreements"), (list) =>
    table(
      "Agreements in force (X1)",
      [
        {
          title: "Funds",
          cell: (a: Obj) => h("ul", { class: "inline" }, ((a.funds as number[]) ?? []).map((f) => h("li", null, link(`#/fund/${f}`, `Fund ${f}`)))),
        },
        { title: "What they share", cell: (a) => smart("option_names", a.option_names ?? null) },
        { title: "Since", cell: (a) => when(Number(a.since)) },
      ],
      list,
      "no agreement yet.",
      false,
    ),
  );
  if (rpc.has("federation_debts")) {
    await liveSection(view, debts, () => rpc.call<Obj>("federation_debts"), (d) =>
      table(
        "Loss shares assessed, paid and owed (X3)",
        [
          { title: "Owed by", cell: (r: Obj) => link(`#/fund/${String(r.debtor)}`, `Fund ${String(r.debtor)}`) },
          { title: "Owed to", cell: (r) => link(`#/fund/${String(r.creditor)}`, `Fund ${String(r.creditor)}`) },
          { title: "Shared", numeric: true, cell: (r) => amount(String(r.shared)) },
          { title: "Paid", numeric: true, cell: (r) => amount(String(r.paid)) },
          { title: "Still owed", numeric: true, cell: (r) => amount(String(r.owed)) },
        ],
        (d.ledgers as Obj[]) ?? [],
        "no shared loss.",
        false,
      ),
    );
  } else unavailable(debts, "Shared losses", ["federation_debts"]);
}
