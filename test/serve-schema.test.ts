// The embeddings body is validated by its JSON schema (src/serve/routes/embeddings.ts); a body with several faults
// gets OpenAI's error for the first one in OpenAI's order (body, model, served model, input, encoding_format,
// dimensions, user), with the two checks against the loaded model (its id, its size) at their places.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { loadModel } from "../src/model/index";
import { createEmbeddingServer, type EmbeddingServer } from "../src/serve/index";

let server: EmbeddingServer;
before(async () => {
  server = createEmbeddingServer({ model: await loadModel("offline"), modelName: "offline", aliases: ["alias"] });
  await server.ready;
});
after(() => server.close());

const TYPE_LIST =
  "`input` must be a string, an array of strings, an array of token ids, or an array of token-id arrays.";

test("several faults in one body: the first in OpenAI's order is answered, values as sent (never coerced)", async () => {
  const cases: [unknown, number, string, string | null, string | null][] = [
    [null, 400, "The request body must be a JSON object with `input` and `model`.", null, "invalid_request"],
    [{ input: 5, user: 5 }, 400, "You must provide a model parameter.", "model", "missing_model"],
    [{ model: null, input: 5 }, 400, "You must provide a model parameter.", "model", "missing_model"],
    [{ model: 5 }, 400, "`model` must be a string, got a number.", "model", null],
    [
      { model: "other", input: 5, dimensions: "x" },
      404,
      "The model `other` does not exist on this server; it serves `offline`.",
      "model",
      "model_not_found",
    ],
    [{ model: "alias", input: null, user: 1 }, 400, "You must provide an input parameter.", "input", "missing_input"],
    [
      { model: "offline", input: {}, dimensions: 0 },
      400,
      "`input` must be a string or an array, got an object.",
      "input",
      "invalid_input",
    ],
    [
      { model: "offline", input: [], encoding_format: 1 },
      400,
      "`input` is an empty array; send at least one string.",
      "input",
      "empty_input",
    ],
    [{ model: "offline", input: ["a", 5, true] }, 400, `input[1] is a number; ${TYPE_LIST}`, "input", "invalid_input"],
    [{ model: "offline", input: [1, "a"] }, 400, `input[0] is a number; ${TYPE_LIST}`, "input", "invalid_input"],
    [{ model: "offline", input: ["a", [1, "x"]] }, 400, `input[1] is an array; ${TYPE_LIST}`, "input", "invalid_input"],
    [{ model: "offline", input: [[]] }, 400, `input[0] is an array; ${TYPE_LIST}`, "input", "invalid_input"],
    [
      { model: "offline", input: "x", encoding_format: "int8", dimensions: 0 },
      400,
      '`encoding_format` must be "float" or "base64", got "int8".',
      "encoding_format",
      null,
    ],
    [
      { model: "offline", input: "x", dimensions: "8" },
      400,
      '`dimensions` must be an integer from 1 to 256 (this model\'s size), got "8".',
      "dimensions",
      null,
    ],
    [
      { model: "offline", input: "x", dimensions: 257, user: 5 },
      400,
      "`dimensions` must be an integer from 1 to 256 (this model's size), got 257.",
      "dimensions",
      null,
    ],
    [
      { model: "offline", input: "x", dimensions: 2, user: [] },
      400,
      "`user` must be a string, got an array.",
      "user",
      null,
    ],
  ];
  for (const [body, status, message, param, code] of cases) {
    const res = await server.app.inject({
      method: "POST",
      url: "/v1/embeddings",
      payload: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.statusCode, status, JSON.stringify(body));
    assert.deepEqual(
      res.json().error,
      { message, type: status === 404 ? "not_found_error" : "invalid_request_error", param, code },
      JSON.stringify(body),
    );
  }
  const ok = await server.app.inject({
    method: "POST",
    url: "/v1/embeddings",
    payload: { model: "alias", input: [[101, 7592], "text"], encoding_format: null, dimensions: null, user: null },
  });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().data.length, 2);
});
