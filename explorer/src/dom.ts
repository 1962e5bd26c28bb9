// Building the page: a tiny element factory (text is always set as text, never
// parsed as HTML, so chain data cannot inject markup) and the shared pieces
// every view uses: sections, key-value lists, tables, status badges, notices.

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export function link(href: string, ...children: Child[]): HTMLAnchorElement {
  return h("a", { href }, ...children);
}

/** A titled section; `id` names it for tests and for in-page links. */
export function section(title: string, id: string, ...children: Child[]): HTMLElement {
  const headingId = `${id}-title`;
  return h("section", { id, "aria-labelledby": headingId, class: "card" }, h("h2", { id: headingId }, title), ...children);
}

/** A key-value list; each row's `data-key` lets tests find a figure. */
export function facts(rows: Array<[string, Child, string?]>): HTMLDListElement {
  return h(
    "dl",
    { class: "facts" },
    rows.map(([label, value, key]) => h("div", { "data-key": key ?? null }, h("dt", null, label), h("dd", null, value))),
  );
}

export interface Column<T> {
  title: string;
  cell: (row: T) => Child;
  numeric?: boolean;
  /** Names the column's cells (`data-key`) for tests. */
  key?: string;
}

/** A table with a caption, header cells scoped to columns, horizontal scroll on phones. */
export function table<T>(caption: string, columns: Array<Column<T>>, rows: T[], empty = "None yet.", showCaption = true): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, `${caption}: ${empty}`);
  return h(
    "div",
    { class: "scroll", role: "region", "aria-label": caption, tabindex: 0 },
    h(
      "table",
      null,
      h("caption", { class: showCaption ? null : "sr-only" }, caption),
      h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : null }, c.title)))),
      h(
        "tbody",
        null,
        rows.map((row) => h("tr", null, columns.map((c) => h("td", { class: c.numeric ? "num" : null, "data-key": c.key ?? null }, c.cell(row))))),
      ),
    ),
  );
}

export type Tone = "good" | "bad" | "warn" | "info" | "muted";

const ICONS: Record<Tone, string> = { good: "✓", bad: "✗", warn: "!", info: "•", muted: "–" };

/** A status shown by a word and an icon, coloured only as a second cue. */
export function badge(text: string, tone: Tone): HTMLElement {
  return h("span", { class: `badge ${tone}` }, h("span", { "aria-hidden": "true", class: "icon" }, ICONS[tone]), ` ${text}`);
}

export function notice(text: string, kind: "unavailable" | "error" | "loading" = "unavailable"): HTMLElement {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : null }, text);
}

export function loading(): HTMLElement {
  return notice("Loading…", "loading");
}
