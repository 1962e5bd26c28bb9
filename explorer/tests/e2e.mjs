// Browser test of the explorer against a live localnet, driven by
// tests/e2e/test_explorer.py, which starts the network, runs the FediCredits
// example and writes what the chain says (over RPC) into a JSON file:
//
//   node tests/e2e.mjs expected.json
//
// Debian's chromium (/usr/bin/chromium) is driven by playwright-core with a
// fresh profile. Checks: the fund page's figures equal funds_report, each
// funder's and borrower's trust, trust in use and available trust equal
// trust_get (some funder's in use is not zero after the approval), Lucía's
// credit shows its drawn reviewers, seed and schedule, the loan shows its
// payment, the bioregion page shows the chain's health score, medians and
// history charts, a new block appears on the chain page without a reload, the
// pages fit a 375 px phone screen, and no page logs an error (a refused
// script or style under the node's Content-Security-Policy would). Screenshots
// go to the artifacts directory. Exit 0 when every check passes; otherwise
// the first failure is printed and the exit code is 1.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-quic",
  "--disable-component-update",
  "--disable-sync",
];

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = config.base; // http://127.0.0.1:PORT/explorer/
const shots = config.artifacts;
const problems = [];
const log = (line) => process.stdout.write(line + "\n");

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function dataValues(page, selector) {
  return page.$$eval(selector, (nodes) => nodes.map((n) => n.getAttribute("value")));
}

async function figure(page, section, key) {
  const locator = page.locator(`#${section} [data-key="${key}"] dd data`).first();
  await locator.waitFor({ timeout: 15_000 });
  return locator.getAttribute("value");
}

/** Each row of a table of people with their trust: address → [trust, in use, available] as shown. */
async function trustRows(page, section) {
  return page.$$eval(`#${section} tbody tr`, (trs) =>
    trs.map((tr) => [
      tr.querySelector("td:first-child a")?.dataset.address,
      ["trust", "in-use", "available"].map((key) => tr.querySelector(`td[data-key="${key}"] data`)?.getAttribute("value") ?? null),
    ]),
  );
}

/** The rows show trust_get's figures for exactly the expected accounts. */
function checkTrust(rows, expected, where) {
  const shown = Object.fromEntries(rows);
  check(
    JSON.stringify(Object.keys(shown).sort()) === JSON.stringify(Object.keys(expected).sort()),
    `${where} lists ${Object.keys(shown)}, expected ${Object.keys(expected)}`,
  );
  for (const [address, view] of Object.entries(expected)) {
    const want = [view.trust, view.in_use, view.available];
    check(JSON.stringify(shown[address]) === JSON.stringify(want), `${where}: ${address} shows trust/in use/available ${shown[address]}, trust_get says ${want}`);
  }
}

const sum = (views, key) => String(Object.values(views).reduce((total, v) => total + BigInt(v[key]), 0n));

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
  log(`screenshot ${name}.png`);
}

async function visit(page, route, ready) {
  await page.goto(`${base}#${route}`);
  await page.locator(ready).first().waitFor({ timeout: 20_000 });
}

async function chainPageLive(page) {
  await visit(page, "/", "#latest-blocks tr");
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  const first = Number(await page.locator("#latest-blocks tr").first().getAttribute("data-number"));
  await page.waitForFunction(
    (n) => Number(document.querySelector("#latest-blocks tr")?.getAttribute("data-number")) > n,
    first,
    { timeout: 30_000 },
  );
  const now = Number(await page.locator("#latest-blocks tr").first().getAttribute("data-number"));
  check(await page.evaluate(() => window.__sameDocument === true), "the page reloaded to show the new block");
  const head = await page.locator("#head-number").innerText();
  log(`chain page: block #${first} then #${now} appeared without reloading (header says ${head})`);
  await page.locator("#activity table, #activity .empty").first().waitFor({ timeout: 20_000 });
  await shot(page, "01-chain");
}

async function fundPage(page) {
  const r = config.report;
  await visit(page, `/fund/${config.fund}`, '#books [data-key="cash"] data');
  const shown = {};
  for (const key of ["cash", "outstanding", "size", "utilization", "interest", "losses", "expenses"]) {
    shown[key] = await figure(page, "books", key);
  }
  const expected = {
    cash: r.cash,
    outstanding: r.outstanding,
    size: r.size,
    utilization: String(r.utilization_bps),
    interest: r.interest_income,
    losses: r.losses,
    expenses: r.expenses,
  };
  for (const [key, value] of Object.entries(expected)) {
    check(shown[key] === value, `fund page ${key}: shows ${shown[key]}, funds_report says ${value}`);
  }
  for (const par of ["par30", "par60", "par90"]) {
    const value = await figure(page, "par", par);
    check(value === String(r.par_bps[par]), `fund page ${par}: shows ${value}, funds_report says ${r.par_bps[par]}`);
  }
  const limitText = await page.locator('#books [data-key="utilization"] dd').innerText();
  check(limitText.includes(`limit ${(config.max_utilization_bps / 100).toFixed(2)} %`), `utilization limit not shown: ${limitText}`);
  await page.locator("#funders tbody tr").first().waitFor();
  const funders = await page.locator("#funders tbody tr").count();
  check(funders === r.funders, `fund page lists ${funders} funders, funds_report says ${r.funders}`);
  // Each funder's trust, trust in use and available trust (trust_get), and their sums.
  await page.locator('#funders tbody td[data-key="available"] data').first().waitFor();
  const funderRows = await trustRows(page, "funders");
  checkTrust(funderRows, config.funders_trust, "the funders table");
  const engaged = funderRows.filter(([, figures]) => BigInt(figures[1]) > 0n);
  check(engaged.length > 0, `no funder shows trust in use after the approval: ${JSON.stringify(funderRows)}`);
  for (const [key, field] of [["funders-trust", "trust"], ["funders-in-use", "in_use"], ["funders-available", "available"]]) {
    const value = await figure(page, "funders", key);
    check(value === sum(config.funders_trust, field), `the funders' ${field} sums to ${value}, trust_get says ${sum(config.funders_trust, field)}`);
  }
  const [address, [trust, inUse, available]] = engaged[0];
  log(`fund page: funder ${address.slice(0, 12)}… trust ${trust}, in use ${inUse}, available ${available}; ${engaged.length} of ${funders} funders have trust in use`);
  await page.locator('#borrowers tbody td[data-key="in-use"] data').first().waitFor({ timeout: 15_000 });
  const borrowerRows = await trustRows(page, "borrowers");
  checkTrust(borrowerRows, config.borrowers_trust, "the borrowers table");
  check(borrowerRows.every(([, figures]) => BigInt(figures[1]) > 0n), `a borrower of the open loan shows no trust in use: ${JSON.stringify(borrowerRows)}`);
  log(`fund page: ${borrowerRows.length} borrowers of the open loan with their trust, in use and available as trust_get says`);
  await page.locator("#loans tbody tr").first().waitFor({ timeout: 15_000 });
  const cashText = await page.locator('#books [data-key="cash"] dd').innerText();
  log(`fund page: cash ${cashText}, outstanding/size/utilization/PAR equal funds_report; ${funders} funders`);
  await shot(page, "02-fund");
}

async function requestPage(page) {
  await visit(page, `/request/${config.request}`, "#reviewers tbody tr");
  const reviewers = await page.$$eval("#reviewers tbody tr td:first-child a", (as) => as.map((a) => a.dataset.address));
  check(
    JSON.stringify([...reviewers].sort()) === JSON.stringify([...config.reviewers].sort()),
    `request page reviewers ${reviewers} differ from the chain's ${config.reviewers}`,
  );
  const verdicts = await page.locator("#reviewers tbody tr td:nth-child(3)").allInnerTexts();
  check(verdicts.every((v) => v.includes("approve")), `verdicts shown: ${verdicts}`);
  const seed = await page.locator('#draw [data-key="seed"] dd').first().innerText();
  check(seed.trim() === config.seed, `seed shown ${seed}, chain has ${config.seed}`);
  const redraw = await page.locator('#draw [data-key="redraw"] dd').first().innerText();
  check(redraw.includes("matches"), `redraw check shows: ${redraw}`);
  const principals = await dataValues(page, "#approval tbody tr td:nth-child(3) data");
  check(
    JSON.stringify(principals) === JSON.stringify(config.schedule.map((row) => row.principal)),
    `approval schedule principals ${principals}, chain has ${config.schedule.map((row) => row.principal)}`,
  );
  log(`request page: ${reviewers.length} reviewers, seed ${seed.slice(0, 12)}…, draw re-run matches, schedule of ${principals.length}`);
  await shot(page, "03-credit-request");
}

async function loanPage(page) {
  await visit(page, `/loan/${config.loan}`, "#schedule tbody tr");
  const rows = await page.locator("#schedule tbody tr").count();
  check(rows === config.schedule.length, `loan schedule has ${rows} rows, chain has ${config.schedule.length}`);
  const interest = await dataValues(page, "#schedule tbody tr td:nth-child(4) data");
  check(
    JSON.stringify(interest) === JSON.stringify(config.schedule.map((row) => row.interest)),
    `schedule interest ${interest}, chain has ${config.schedule.map((row) => row.interest)}`,
  );
  const states = await page.locator("#schedule tbody tr td:nth-child(5)").allInnerTexts();
  check(states[0].includes("paid"), `the first installment should read paid, reads ${states[0]}`);
  const paid = await figure(page, "status", "principal-paid");
  check(paid === config.loan_record.principal_paid, `principal repaid ${paid}, chain has ${config.loan_record.principal_paid}`);
  await page.locator(`#payments a[href="#/extrinsic/${config.repay}"]`).waitFor({ timeout: 30_000 });
  log(`loan page: schedule of ${rows}, states ${states.map((s) => s.trim()).join(" / ")}, the payment is listed`);
  await shot(page, "04-loan");
}

async function extrinsicPage(page) {
  await visit(page, `/extrinsic/${config.repay}`, "#events li");
  const events = await page.locator("#events h3").allInnerTexts();
  check(events.includes("loans.Repaid"), `repayment events shown: ${events}`);
  await shot(page, "05-extrinsic");
}

async function optionalPages(page) {
  for (const [route, name, method] of [
    ["/governance", "06-governance", "gov_proposals"],
    ["/bioregions", "07-bioregions", "health_bioregions"],
    ["/commons", "08-commons", "commons_pool"],
    ["/federation", "11-federation", "federation_agreements"],
  ]) {
    await visit(page, route, "main section, main .notice.unavailable");
    const missing = await page.locator("main .notice.unavailable").count();
    const served = config.methods.includes(method);
    check(served === (missing === 0), `${route}: ${method} served=${served} but "not available" shown=${missing > 0}`);
    log(`${route}: ${served ? "served" : "not available on this node (said so)"}`);
    await shot(page, name);
  }
}

async function accountPage(page) {
  await visit(page, `/account/${config.lucia}`, '#balance [data-key="free"] data');
  const free = await figure(page, "balance", "free");
  check(free === config.lucia_balance, `Lucía's balance shows ${free}, the chain has ${config.lucia_balance}`);
  await page.locator('#trust tbody td[data-key="available"] data').first().waitFor();
  const fundRow = page.locator(`#trust tbody tr:has(a[href="#/fund/${config.fund}"])`);
  const shownTrust = [];
  for (const key of ["trust", "in-use", "available"]) shownTrust.push(await fundRow.locator(`td[data-key="${key}"] data`).first().getAttribute("value"));
  const lucia = config.borrowers_trust[config.lucia];
  const wantTrust = [lucia.trust, lucia.in_use, lucia.available];
  check(shownTrust[0] === config.lucia_trust, `Lucía's trust shows ${shownTrust[0]}, trust_get says ${config.lucia_trust}`);
  check(JSON.stringify(shownTrust) === JSON.stringify(wantTrust), `Lucía's trust/in use/available show ${shownTrust}, trust_get says ${wantTrust}`);
  check(BigInt(shownTrust[1]) > 0n, `Lucía's trust in use reads ${shownTrust[1]} while her loan is open`);
  const role = await page.locator("#credits tbody tr td:nth-child(2)").first().innerText();
  check(role === "borrower", `Lucía's credit should be listed with the role borrower, reads ${role}`);
  log(`account page: Lucía's balance and trust (${shownTrust.join(" / ")}: trust / in use / available) equal the chain's; her credit is listed`);
  // Her history (account_history, newest first): the rows are the node's entries, in order.
  const want = config.lucia_history.entries;
  await page.locator("#history tbody tr").first().waitFor();
  const rows = page.locator("#history tbody tr");
  check((await rows.count()) === want.length, `Lucía's history shows ${await rows.count()} rows, the node's first page has ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const row = rows.nth(i);
    const height = await row.locator('td[data-key="block"] a').innerText();
    check(height === `#${want[i].height}`, `history row ${i}: block ${height}, the node says #${want[i].height}`);
    const shownIn = want[i].in === "0" ? null : await row.locator('td[data-key="in"] data').getAttribute("value");
    check(shownIn === (want[i].in === "0" ? null : want[i].in), `history row ${i}: in ${shownIn}, the node says ${want[i].in}`);
  }
  const repayRow = page.locator(`#history a[href="#/extrinsic/${config.repay}"]`);
  check((await repayRow.count()) === 1, `Lucía's repayment ${config.repay} should be in her history once`);
  log(`account page: Lucía's history lists the node's ${want.length} newest entries (of ${config.lucia_history.total}), her repayment among them`);
  await shot(page, "12-account-lucia");
}

async function bioregionPage(page) {
  // The test had alice and bob observe one epoch and waited for it to close:
  // the page must show the chain's score and medians, and the history charts
  // must plot that epoch (with the same figures in each chart's table).
  const health = config.health;
  await visit(page, `/bioregion/${encodeURIComponent(config.bioregion)}`, "#health-history figure");
  const score = await figure(page, "health-now", "score");
  check(score === String(health.score), `the bioregion's health score reads ${score}, the chain says ${health.score}`);
  const shown = await dataValues(page, "#health-now table tbody tr td:nth-child(2) data");
  const medians = Object.values(health.components).map(String);
  check(JSON.stringify(shown) === JSON.stringify(medians), `the components read ${shown}, the chain's medians are ${medians}`);
  const charts = await page.locator("#health-history svg.chart").count();
  check(charts === 3, `the bioregion page draws ${charts} history charts, expected score, components and measures`);
  const marks = await page.locator("#health-history svg.chart").first().locator(".mark").count();
  check(marks === config.health_history.length, `the score chart has ${marks} points for ${config.health_history.length} published epochs`);
  const rows = await page.$$eval("#health-history figure:first-of-type table tbody tr", (trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll("td, th")).map((c) => c.textContent?.trim())),
  );
  const last = config.health_history[config.health_history.length - 1];
  const lastRow = rows[rows.length - 1] ?? [];
  check(lastRow[0] === String(last.epoch), `the score table's last epoch reads ${lastRow[0]}, the chain's is ${last.epoch}`);
  check(lastRow[1] === `${Math.round(last.score / 100)} %`, `the score table reads ${lastRow[1]} for epoch ${last.epoch}, the chain says ${last.score} bps`);
  log(`bioregion ${config.bioregion}: score ${score} and medians as on chain; ${charts} charts plot epoch ${last.epoch}`);
  await shot(page, "13-bioregion");
}

async function phone(browser) {
  const page = await browser.newPage();
  watch(page, "phone");
  await page.setViewportSize({ width: 375, height: 812 });
  await visit(page, `/fund/${config.fund}`, "#loans tbody tr");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 375, `the fund page is ${width}px wide on a 375px screen`);
  await shot(page, "09-fund-phone-375");
  await visit(page, `/request/${config.request}`, "#reviewers tbody tr");
  const width2 = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width2 <= 375, `the request page is ${width2}px wide on a 375px screen`);
  await shot(page, "10-request-phone-375");
  log("phone: fund and request pages fit 375 px");
  await page.close();
}

function watch(page, name) {
  page.on("pageerror", (error) => problems.push(`${name}: page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`${name}: console error: ${message.text()}`);
  });
}

const profile = mkdtempSync(join(tmpdir(), "explorer-chromium-"));
let context;
let code = 0;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    args: FLAGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page, "desktop");
  await chainPageLive(page);
  await fundPage(page);
  await requestPage(page);
  await loanPage(page);
  await extrinsicPage(page);
  await accountPage(page);
  await optionalPages(page);
  await bioregionPage(page);
  await phone(context);
  check(problems.length === 0, `the browser reported problems:\n${problems.join("\n")}`);
  log("all explorer checks passed");
} catch (error) {
  code = 1;
  process.stderr.write(`FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  if (problems.length) process.stderr.write(problems.join("\n") + "\n");
  try {
    const pages = context?.pages() ?? [];
    if (pages.length) await pages[0].screenshot({ path: join(shots, "failure.png"), fullPage: true });
  } catch {
    // the browser may be gone; the error above says why
  }
} finally {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
