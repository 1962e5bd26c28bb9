// Entry point: connect to the node, read the chain's properties and metadata,
// follow new heads, route to the view named by the URL's hash, and search.

import "./style.css";
import { publishHead, render, route, type Header } from "./app";
import { loadMetadata } from "./chaindata";
import { h, notice } from "./dom";
import { chain, isAddress } from "./format";
import { nodeUrl, Rpc } from "./rpc";
import { accountPage, blockPage, extrinsicPage, home } from "./views/chain";
import { bioregionPage, bioregionsPage, commonsPage, federationPage, governancePage, proposalPage } from "./views/community";
import { loanPage, requestPage } from "./views/credit";
import { fundPage, fundsPage } from "./views/funds";

route(/^\/$/, home);
route(/^\/block\/(0x[0-9a-fA-F]{64}|\d+)$/, blockPage);
route(/^\/extrinsic\/(0x[0-9a-fA-F]{64})$/, extrinsicPage);
route(/^\/account\/([a-z0-9]+)$/, accountPage);
route(/^\/funds$/, fundsPage);
route(/^\/fund\/(\d+)$/, fundPage);
route(/^\/request\/(\d+)$/, requestPage);
route(/^\/loan\/(\d+)$/, loanPage);
route(/^\/governance$/, governancePage);
route(/^\/proposal\/(\d+)$/, proposalPage);
route(/^\/bioregions$/, bioregionsPage);
route(/^\/bioregion\/([^/]+)$/, bioregionPage);
route(/^\/commons$/, commonsPage);
route(/^\/federation$/, federationPage);
route(/^\/search-miss\/(.*)$/, async (view, query) => {
  view.title("Search");
  view.main.replaceChildren(
    h("h1", null, "Search"),
    notice(`Nothing matches “${query}”. Try a block number, a block or extrinsic hash, an address (${chain.hrp}1…), or “fund 0”, “request 3”, “loan 3”, “proposal 1”.`, "error"),
  );
});

const main = document.getElementById("main") as HTMLElement;
const rpc = new Rpc(nodeUrl(window.location));

rpc.onState((state) => {
  const text = document.getElementById("conn-text");
  const box = document.getElementById("conn");
  if (text === null || box === null) return;
  box.dataset.state = state;
  text.textContent = { connecting: "connecting to the node…", open: "connected, live", closed: "disconnected, retrying…" }[state];
});

async function start(): Promise<void> {
  await rpc.connect();
  const [name, props] = await Promise.all([
    rpc.call<string>("system_chain"),
    rpc.call<{ tokenSymbol: string; tokenDecimals: number; addressPrefix: string }>("system_properties"),
  ]);
  chain.name = name;
  chain.symbol = props.tokenSymbol;
  chain.decimals = props.tokenDecimals;
  chain.hrp = props.addressPrefix;
  await loadMetadata(rpc);
  await rpc.subscribe("chain_subscribeNewHeads", "chain_unsubscribeNewHeads", [], (value) => {
    const head = value as unknown as Header;
    const number = document.getElementById("head-number");
    if (number !== null) {
      number.textContent = "";
      const anchor = document.createElement("a");
      anchor.href = `#/block/${head.number}`;
      anchor.textContent = `#${head.number}`;
      number.append(anchor);
    }
    publishHead(head);
  });
  window.addEventListener("hashchange", () => void render(rpc, main, window.location.hash));
  await render(rpc, main, window.location.hash);
}

/** Where a search goes: a number is a block, a hash a block or an extrinsic, "fund 2" a fund. */
async function search(query: string): Promise<string> {
  const q = query.trim();
  const named = /^(fund|request|loan|proposal|block|bioregion)\s*#?\s*(\S+)$/i.exec(q);
  if (named) return `#/${named[1]!.toLowerCase()}/${named[2]}`;
  if (/^\d+$/.test(q)) return `#/block/${q}`;
  if (isAddress(q)) return `#/account/${q}`;
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) {
    const header = await rpc.call<Header | null>("chain_getHeader", [q]).catch(() => null);
    return header === null ? `#/extrinsic/${q}` : `#/block/${q}`;
  }
  return `#/search-miss/${encodeURIComponent(q)}`;
}

document.getElementById("search")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("q") as HTMLInputElement;
  void search(input.value).then((target) => {
    window.location.hash = target;
  });
});

start().catch((error: unknown) => {
  main.textContent = "";
  const p = document.createElement("p");
  p.className = "notice error";
  p.setAttribute("role", "alert");
  p.textContent = `Cannot reach the node: ${error instanceof Error ? error.message : String(error)}. The page retries on its own.`;
  main.append(p);
  rpc.onState((state) => {
    if (state === "open") window.location.reload();
  });
});
