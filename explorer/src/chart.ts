// A small hand-made SVG line chart (no chart library: one kind of chart, a
// few dozen points). Every series also gets a distinct dash pattern and a
// point marker shape, and a legend in words, so that lines can be told apart
// without colour; the same numbers are offered as a table for screen readers
// and for anyone who prefers figures.

import { h, table, type Child } from "./dom";

export interface Series {
  label: string;
  values: Array<number | null>; // one per x; null: no value that epoch
}

const DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 4", "10 4"];
const MARKERS = ["circle", "square", "triangle", "diamond", "cross", "circle"];
const NS = "http://www.w3.org/2000/svg";

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const element = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) element.setAttribute(k, String(v));
  return element;
}

function marker(kind: string, x: number, y: number, cls: string): SVGElement {
  const s = 3.5;
  if (kind === "square") return svg("rect", { x: x - s, y: y - s, width: 2 * s, height: 2 * s, class: cls });
  if (kind === "triangle") return svg("polygon", { points: `${x},${y - s} ${x + s},${y + s} ${x - s},${y + s}`, class: cls });
  if (kind === "diamond") return svg("polygon", { points: `${x},${y - s} ${x + s},${y} ${x},${y + s} ${x - s},${y}`, class: cls });
  if (kind === "cross") return svg("path", { d: `M${x - s},${y - s}L${x + s},${y + s}M${x - s},${y + s}L${x + s},${y - s}`, class: `${cls} stroke` });
  return svg("circle", { cx: x, cy: y, r: s, class: cls });
}

/** Values 0..maxY (e.g. basis points) against labelled x positions (e.g. epochs). */
export function lineChart(title: string, xLabels: string[], series: Series[], maxY: number, yFormat: (v: number) => string): Child {
  // Drawn at the width it will be shown at, so that labels keep their real size on a phone.
  const room = (document.getElementById("main")?.clientWidth ?? 720) - 48;
  const width = Math.round(Math.max(300, Math.min(720, room)));
  const height = width < 480 ? 220 : 260;
  const pad = { left: 44, right: 12, top: 12, bottom: 28 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const xAt = (i: number) => pad.left + (xLabels.length <= 1 ? plotW / 2 : (i * plotW) / (xLabels.length - 1));
  const yAt = (v: number) => pad.top + plotH - (Math.max(0, Math.min(v, maxY)) / maxY) * plotH;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart", "aria-label": `${title}: chart; the same figures are in the table below` });
  const titleNode = svg("title", {});
  titleNode.textContent = title;
  root.append(titleNode);
  for (let k = 0; k <= 4; k++) {
    const v = (maxY * k) / 4;
    root.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: yAt(v), y2: yAt(v), class: "grid" }));
    const label = svg("text", { x: pad.left - 6, y: yAt(v) + 4, class: "axis", "text-anchor": "end" });
    label.textContent = yFormat(v);
    root.append(label);
  }
  const step = Math.max(1, Math.ceil(xLabels.length / 8));
  xLabels.forEach((text, i) => {
    if (i % step !== 0 && i !== xLabels.length - 1) return;
    const label = svg("text", { x: xAt(i), y: height - 8, class: "axis", "text-anchor": "middle" });
    label.textContent = text;
    root.append(label);
  });
  series.forEach((s, n) => {
    const cls = `series s${n % 6}`;
    let d = "";
    s.values.forEach((v, i) => {
      if (v === null) return;
      d += `${d === "" || s.values[i - 1] === null ? "M" : "L"}${xAt(i).toFixed(1)},${yAt(v).toFixed(1)}`;
    });
    root.append(svg("path", { d, class: `${cls} line`, "stroke-dasharray": DASHES[n % DASHES.length] ?? "" }));
    s.values.forEach((v, i) => {
      if (v !== null) root.append(marker(MARKERS[n % MARKERS.length] ?? "circle", xAt(i), yAt(v), `${cls} mark`));
    });
  });
  const legend = h(
    "ul",
    { class: "legend" },
    series.map((s, n) => {
      const key = svg("svg", { viewBox: "0 0 36 12", width: 36, height: 12, "aria-hidden": "true" });
      key.append(svg("line", { x1: 0, x2: 36, y1: 6, y2: 6, class: `series s${n % 6} line`, "stroke-dasharray": DASHES[n % DASHES.length] ?? "" }));
      key.append(marker(MARKERS[n % MARKERS.length] ?? "circle", 18, 6, `series s${n % 6} mark`));
      return h("li", null, key, ` ${s.label} (${MARKERS[n % MARKERS.length]})`);
    }),
  );
  const figures = table(
    `${title}: figures`,
    [{ title: "Epoch", cell: (i: number) => xLabels[i] ?? "" }, ...series.map((s) => ({ title: s.label, numeric: true, cell: (i: number) => (s.values[i] === null ? "–" : yFormat(s.values[i] as number)) }))],
    xLabels.map((_, i) => i),
  );
  return h("figure", { class: "chart-figure" }, root, h("figcaption", null, title), legend, h("details", null, h("summary", null, "Show the figures as a table"), figures));
}
