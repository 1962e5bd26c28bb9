// The shell every view runs in: hash routes (#/fund/0), one view at a time,
// and the live chain head shared by all views.
//
// A view is an async function that fills `main`. It gets a `View` context
// whose `current()` turns false as soon as the reader navigates away, so a
// late answer never paints over the next page, and whose `everyHead(fn)`
// re-runs `fn` on new blocks (throttled: the localnet makes several blocks a
// second, and a page need not refetch its figures that often).

import { h, notice, replace } from "./dom";
import { NotAvailable, type Rpc } from "./rpc";

export interface Header {
  hash: string;
  parentHash: string;
  number: number;
  timestamp: number;
  stateRoot: string;
  extrinsicsRoot: string;
  proposer: string;
  [key: string]: unknown;
}

export interface View {
  rpc: Rpc;
  main: HTMLElement;
  current(): boolean;
  everyHead(fn: (head: Header) => void | Promise<void>, minIntervalMs?: number): void;
  onNewHead(fn: (head: Header) => void): void;
  title(text: string): void;
}

export type ViewFn = (view: View, ...params: string[]) => Promise<void>;

interface Route {
  pattern: RegExp;
  view: ViewFn;
}

const routes: Route[] = [];
let generation = 0;
let headListeners: Array<(head: Header) => void> = [];
export let latestHead: Header | null = null;

export function route(pattern: RegExp, view: ViewFn): void {
  routes.push({ pattern, view });
}

export function publishHead(head: Header): void {
  latestHead = head;
  for (const listener of headListeners) listener(head);
}

export async function render(rpc: Rpc, main: HTMLElement, hash: string): Promise<void> {
  const path = decodeURIComponent(hash.replace(/^#/, "")) || "/";
  const mine = ++generation;
  headListeners = [];
  const view: View = {
    rpc,
    main,
    current: () => mine === generation,
    onNewHead(fn) {
      headListeners.push((head) => {
        if (mine === generation) fn(head);
      });
    },
    everyHead(fn, minIntervalMs = 2000) {
      let last = 0;
      let busy = false;
      headListeners.push((head) => {
        const now = Date.now();
        if (mine !== generation || busy || now - last < minIntervalMs) return;
        last = now;
        busy = true;
        Promise.resolve(fn(head))
          .catch(() => undefined) // the next head retries
          .finally(() => {
            busy = false;
          });
      });
    },
    title(text) {
      document.title = `${text} · credichain explorer`;
    },
  };
  markNav(path);
  const found = routes.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m !== null);
  replace(main);
  if (found === undefined) {
    replace(main, h("h1", { tabindex: -1 }, "Not found"), notice(`Nothing at ${path}.`, "error"));
    return;
  }
  try {
    await found.r.view(view, ...(found.m as RegExpExecArray).slice(1));
  } catch (error) {
    if (!view.current()) return;
    const message = error instanceof NotAvailable ? error.message : `Could not load this page: ${String(error instanceof Error ? error.message : error)}`;
    main.append(notice(message, error instanceof NotAvailable ? "unavailable" : "error"));
  }
}

/** Move focus to the new page's heading, so keyboard and screen-reader users land on it. */
export function focusHeading(main: HTMLElement): void {
  const heading = main.querySelector("h1");
  if (heading instanceof HTMLElement) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function markNav(path: string): void {
  const section = "/" + (path.split("/")[1] ?? "");
  const aliases: Record<string, string> = {
    "/": "/",
    "/block": "/",
    "/extrinsic": "/",
    "/account": "/",
    "/funds": "/funds",
    "/fund": "/funds",
    "/request": "/funds",
    "/loan": "/funds",
    "/governance": "/governance",
    "/proposal": "/governance",
    "/bioregions": "/bioregions",
    "/bioregion": "/bioregions",
    "/commons": "/commons",
    "/federation": "/federation",
  };
  const active = aliases[section] ?? "";
  for (const anchor of document.querySelectorAll<HTMLAnchorElement>("#nav a")) {
    if (anchor.getAttribute("href") === `#${active}`) anchor.setAttribute("aria-current", "page");
    else anchor.removeAttribute("aria-current");
  }
}
