// The JSON-RPC client's batches (src/rpc.ts): split to the node's batch limit,
// answers kept in call order, failures per call; `at` appended when known.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_BATCH, Rpc, RpcError, withAt } from "../../src/rpc.ts";

globalThis.WebSocket ??= { OPEN: 1 };

/** An Rpc whose socket is a fake node answering each call with its params' first value. */
function fakeNode(served) {
  const rpc = new Rpc("ws://127.0.0.1:1/");
  const batches = [];
  rpc.served = new Set(served);
  rpc.ready = Promise.resolve();
  rpc.socket = {
    readyState: 1,
    send(text) {
      const body = JSON.parse(text);
      batches.push(body.length);
      assert.ok(body.length <= MAX_BATCH, `a batch of ${body.length} calls`);
      const replies = body.map((call) =>
        call.params[0] === "fail"
          ? { jsonrpc: "2.0", id: call.id, error: { code: -32602, message: "Invalid params", data: "no such fund" } }
          : { jsonrpc: "2.0", id: call.id, result: { echo: call.params[0] } },
      );
      queueMicrotask(() => rpc.route(JSON.stringify(replies.reverse())));
    },
  };
  return { rpc, batches };
}

test("withAt appends the block hash only when there is one", () => {
  assert.deepEqual(withAt([0, "cc1a"], "0xab"), [0, "cc1a", "0xab"]);
  assert.deepEqual(withAt([0, "cc1a"], null), [0, "cc1a"]);
  assert.deepEqual(withAt([0, "cc1a"], undefined), [0, "cc1a"]);
  assert.deepEqual(withAt([], ""), []);
});

test("a batch larger than the node's limit goes in several batches, answers in call order", async () => {
  assert.equal(MAX_BATCH, 100);
  const { rpc, batches } = fakeNode(["trust_get"]);
  const calls = Array.from({ length: 230 }, (_, i) => ["trust_get", [i, "cc1a"]]);
  const answers = await rpc.batch(calls);
  assert.deepEqual(batches, [100, 100, 30]);
  assert.deepEqual(
    answers.map((a) => a.echo),
    Array.from({ length: 230 }, (_, i) => i),
  );
});

test("each call of a batch fails on its own; a method the node lacks is not sent", async () => {
  const { rpc, batches } = fakeNode(["trust_get"]);
  const answers = await rpc.batch([
    ["trust_get", [1, "cc1a"]],
    ["trust_get", ["fail", "cc1a"]],
    ["loans_get", [3]],
  ]);
  assert.deepEqual(batches, [2]);
  assert.deepEqual(answers[0], { echo: 1 });
  assert.ok(answers[1] instanceof RpcError);
  assert.match(answers[1].message, /no such fund/);
  assert.ok(answers[2] instanceof Error);
  assert.match(answers[2].message, /loans_get is not available on this node/);
});

test("an empty batch sends nothing", async () => {
  const { rpc, batches } = fakeNode(["trust_get"]);
  assert.deepEqual(await rpc.batch([]), []);
  assert.deepEqual(batches, []);
});
