// Fuzz: a few hundred random bodies (random JSON of every type, truncated JSON, random bytes, odd content
// types, deep nesting, huge arrays) never crash the server or produce a 5xx, every error is in OpenAI's shape,
// and a good request still works afterwards. Seeded, so a failure reproduces.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { loadModel } from "../src/model/index";
import { mulberry32 } from "../src/random";
import { createEmbeddingServer, type EmbeddingServer } from "../src/serve/index";

let server: EmbeddingServer;
before(async () => {
  server = createEmbeddingServer({
    model: await loadModel("offline"),
    modelName: "offline",
    maxInputs: 64,
    maxBodyBytes: 32 * 1024,
  });
  await server.ready;
});
after(() => server.close());

function randomValue(rng: () => number, depth = 0): unknown {
  const pick = Math.floor(rng() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rng() < 0.5;
    case 2:
      return [0, -1, 1.5, 1e308, -0, 30521, 30522, Number.MAX_SAFE_INTEGER][Math.floor(rng() * 8)];
    case 3:
      return [
        "",
        " ",
        "offline",
        "base64",
        "float",
        "héllo wörld ✓",
        "\u0000\ud800",
        "a".repeat(Math.floor(rng() * 5000)),
      ][Math.floor(rng() * 8)];
    case 4:
      return Math.floor(rng() * 300);
    case 5:
      return String.fromCharCode(...Array.from({ length: Math.floor(rng() * 40) }, () => Math.floor(rng() * 0xffff)));
    case 6:
      return Array.from({ length: Math.floor(rng() * 6) }, () => randomValue(rng, depth + 1));
    case 7:
      return Array.from({ length: Math.floor(rng() * 3) * 40 }, () => Math.floor(rng() * 31000));
    default: {
      const o: Record<string, unknown> = {};
      for (const k of ["input", "model", "encoding_format", "dimensions", "user", "__proto__", "constructor"])
        if (rng() < 0.5) o[k] = randomValue(rng, depth + 1);
      return o;
    }
  }
}

function randomBody(rng: () => number): { payload: string | Buffer; contentType: string } {
  const kind = Math.floor(rng() * 6);
  if (kind === 0) {
    const o = {
      model: rng() < 0.8 ? "offline" : randomValue(rng),
      input: randomValue(rng),
      ...(rng() < 0.3 ? { dimensions: randomValue(rng) } : {}),
      ...(rng() < 0.3 ? { encoding_format: randomValue(rng) } : {}),
    };
    return { payload: JSON.stringify(o), contentType: "application/json" };
  }
  if (kind === 1) return { payload: JSON.stringify(randomValue(rng)) ?? "null", contentType: "application/json" };
  if (kind === 2) {
    const s = JSON.stringify({ model: "offline", input: randomValue(rng) });
    return { payload: s.slice(0, Math.floor(rng() * s.length)), contentType: "application/json" };
  }
  if (kind === 3)
    return {
      payload: Buffer.from(Array.from({ length: Math.floor(rng() * 200) }, () => Math.floor(rng() * 256))),
      contentType: "application/json",
    };
  if (kind === 4) return { payload: `${"[".repeat(5000)}${"]".repeat(5000)}`, contentType: "application/json" };
  return {
    payload: JSON.stringify({ model: "offline", input: "x" }),
    contentType: ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", ""][
      Math.floor(rng() * 4)
    ],
  };
}

test("300 random bodies: no 5xx, errors in OpenAI's shape, the server keeps answering", async () => {
  const rng = mulberry32(20261202);
  const seen = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    const { payload, contentType } = randomBody(rng);
    const headers: Record<string, string> = contentType ? { "content-type": contentType } : {};
    const res = await server.app.inject({ method: "POST", url: "/v1/embeddings", payload, headers });
    seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
    assert.ok(
      res.statusCode < 500,
      `body ${i} (${String(payload).slice(0, 120)}) -> ${res.statusCode} ${res.body.slice(0, 200)}`,
    );
    if (res.statusCode !== 200) {
      const j = res.json() as { error?: { message?: unknown; type?: unknown } };
      assert.equal(typeof j.error?.message, "string", `body ${i}: ${res.body.slice(0, 200)}`);
      assert.equal(typeof j.error?.type, "string");
    }
  }
  console.log(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  assert.ok((seen.get(400) ?? 0) > 50);
  const ok = await server.app.inject({
    method: "POST",
    url: "/v1/embeddings",
    payload: { model: "offline", input: ["still fine"] },
  });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().data[0].embedding.length, 256);
});
