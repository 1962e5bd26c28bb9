// Sections that follow the chain: drawn once, then re-read on new blocks and
// redrawn only when what they show changed (so focus and scroll position stay
// put while nothing moves), with a visible "updated at block N" line.

import { type Header, type View } from "./app";
import { append, h, type Child } from "./dom";

export async function liveSection<T>(
  view: View,
  container: HTMLElement,
  load: () => Promise<T>,
  draw: (data: T) => Child,
  fingerprint: (data: T) => string = (data) => JSON.stringify(data),
  intervalMs = 2500,
): Promise<T> {
  const first = await load();
  if (!view.current()) return first;
  let shown = fingerprint(first);
  container.replaceChildren();
  append(container, [draw(first)]);
  view.everyHead(async (head: Header) => {
    const data = await load();
    if (!view.current()) return;
    const next = fingerprint(data);
    if (next === shown) return;
    shown = next;
    container.replaceChildren();
    append(container, [draw(data), h("p", { class: "updated" }, `Updated at block #${head.number}.`)]);
  }, intervalMs);
  return first;
}

/** Drop fields that change with every block (the state's time) before comparing. */
export function withoutTime(data: unknown): string {
  return JSON.stringify(data, (key, value: unknown) => (key === "time" || key === "interest_due_now" || key === "owed_now" ? undefined : value));
}
