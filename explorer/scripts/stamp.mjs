// Records in dist/ a hash of everything the build reads (src/, index.html,
// the configs and the lock file), so a test can tell when dist/ is stale:
// tests/rpc/test_explorer_route.py recomputes it the same way in Python.
//
// hash = sha256 over the sorted relative paths P of those files of
//        P + "\0" + contents + "\0"
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const INPUTS = ["src", "index.html", "vite.config.ts", "tsconfig.json", "package.json", "package-lock.json"];

function walk(path) {
  if (statSync(path).isDirectory()) return readdirSync(path).flatMap((name) => walk(join(path, name)));
  return [path];
}

export function sourceHash() {
  const files = INPUTS.flatMap((name) => walk(join(root, name)))
    .map((path) => relative(root, path).split(sep).join("/"))
    .sort();
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(file + "\0");
    hash.update(readFileSync(join(root, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

writeFileSync(join(root, "dist", "source-hash.txt"), sourceHash() + "\n");
