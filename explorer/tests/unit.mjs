// Unit tests of the explorer's logic (`npm test`): every tests/unit/*.test.mjs
// runs under node:test, importing the TypeScript sources through Vite's
// server-side module loader (the sources use bundler-style imports that
// Node alone cannot resolve). No browser: what draws the page is checked by
// the browser test (tests/e2e.mjs).

import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createServer } from "vite";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = new URL("unit/", import.meta.url);
const files = readdirSync(dir)
  .filter((name) => name.endsWith(".test.mjs"))
  .sort();
if (files.length === 0) throw new Error("no unit tests found in tests/unit/");

const server = await createServer({
  root,
  logLevel: "error",
  appType: "custom",
  server: { middlewareMode: true, hmr: false, ws: false },
  optimizeDeps: { noDiscovery: true, include: [] },
});
try {
  for (const name of files) await server.ssrLoadModule(fileURLToPath(new URL(name, dir)));
} finally {
  await server.close();
}
