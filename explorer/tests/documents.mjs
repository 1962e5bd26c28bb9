// Browser check of a credit request's texts kept off chain (F10), driven by
// tests/e2e/test_documents_live.py after a governance purge:
//
//   node tests/documents.mjs expected.json
//
// expected.json: { base, request, artifacts, shown: {key: text}, redacted: [key] }
// where each key is a row of the request page's "What it is for" section
// (what, repayment-good, repayment-bad, trust-reasons). Checks that each
// shown row has its text, that each redacted row says "redacted" and not
// the text, and that no page logs an error. Exit 0 when all pass.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-quic", "--disable-component-update", "--disable-sync"];

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const problems = [];
const log = (line) => process.stdout.write(line + "\n");

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const profile = mkdtempSync(join(tmpdir(), "explorer-chromium-"));
let context;
let code = 0;
try {
  context = await chromium.launchPersistentContext(profile, { executablePath: "/usr/bin/chromium", args: FLAGS, headless: true, viewport: { width: 1280, height: 900 } });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  await page.goto(`${config.base}#/request/${config.request}`);
  await page.locator('#texts [data-key="what"] [data-status]').first().waitFor({ timeout: 20_000 });
  for (const [key, text] of Object.entries(config.shown)) {
    const cell = page.locator(`#texts [data-key="${key}"] dd`);
    const status = await cell.locator("[data-status]").first().getAttribute("data-status");
    const shown = await cell.innerText();
    check(status === "available" && shown.includes(text), `${key}: expected "${text}", the page shows ${status}: ${shown}`);
  }
  for (const key of config.redacted) {
    const cell = page.locator(`#texts [data-key="${key}"] dd`);
    const status = await cell.locator("[data-status]").first().getAttribute("data-status");
    const shown = await cell.innerText();
    check(status === "redacted" && shown.includes("redacted"), `${key}: expected redacted, the page shows ${status}: ${shown}`);
    check(!shown.includes(config.erased[key]), `${key}: the erased text is still on the page`);
  }
  await page.screenshot({ path: join(config.artifacts, "request-redacted.png"), fullPage: true });
  check(problems.length === 0, `the browser reported problems:\n${problems.join("\n")}`);
  log(`request ${config.request}: ${Object.keys(config.shown).length} texts shown, ${config.redacted.length} redacted`);
  log("all document checks passed");
} catch (error) {
  code = 1;
  process.stderr.write(`FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
} finally {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
