// The explorer is served by the node at /explorer/ (rpc/app.py); `npm run build`
// writes dist/, which is committed so that a node needs neither npm nor network.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/explorer/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // Inline nothing: the node's Content-Security-Policy allows only 'self' scripts and styles.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
