/**
 * POST /v1/embeddings (and /embeddings), as OpenAI defines it: `{input, model, encoding_format?, dimensions?,
 * user?}` -> `{object: "list", data: [{object: "embedding", index, embedding}], model, usage}`.
 *
 * The body's shape is the route's JSON schema (EMBEDDINGS_BODY), which fastify validates. The route attaches the
 * validation result instead of answering it, and turns it into OpenAI's error for the body's first fault, in the
 * order OpenAI checks: the body, `model` (missing, not a string, not served: 404), `input` (missing, not a string or
 * array, empty, an element of the wrong kind), `encoding_format`, `dimensions`, `user`. Two facts are not the
 * schema's, as they depend on the model loaded after the server starts: whether `model` names it, and its size
 * (the upper bound of `dimensions`); both are checked at their place in that order. Every error names its field
 * (`param`).
 *
 * Then the per-request limits (prepareInputs: inputs per request, tokens per input and per request, token ids
 * within the vocabulary), the shared batcher, and the answer.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { l2NormalizeRows } from "../../math";
import { type ApiError, badRequest, typeName } from "../errors";
import type { ServerMetrics } from "../metrics";
import type { ServableModel, ServedModel } from "../served-model";
import { embedForRequest } from "./queued";

export interface Limits {
  maxInputs: number;
  maxInputTokens: number;
  maxRequestTokens: number;
  onLongInput: "truncate" | "reject";
}

export interface EmbeddingsRouteOptions {
  served: ServedModel;
  limits: Limits;
  metrics: ServerMetrics;
}

/** A non-empty array of token ids (numbers; whether each is an id of the model is prepareInputs' check). */
const TOKEN_IDS = { type: "array", minItems: 1, items: { type: "number" } } as const;

/** OpenAI's embeddings request (its `input`: a string, strings, token ids, or token-id arrays). */
export const EMBEDDINGS_BODY = {
  type: "object",
  required: ["model", "input"],
  properties: {
    model: { type: "string" },
    input: {
      type: ["string", "array"],
      minItems: 1,
      anyOf: [{ type: "string" }, TOKEN_IDS, { type: "array", items: { anyOf: [{ type: "string" }, TOKEN_IDS] } }],
    },
    encoding_format: { enum: ["float", "base64", null] },
    dimensions: { type: ["integer", "null"], minimum: 1 },
    user: { type: ["string", "null"] },
  },
} as const;

type Input = { text: string } | { ids: number[] };

interface EmbeddingRequest {
  inputs: Input[];
  model: string;
  base64: boolean;
  dimensions: number | undefined;
}

/** What fastify's validator (ajv) reports for one fault. */
interface SchemaFault {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** The fields in the order their faults are reported: the first fault of the body is the one answered. */
enum Rank {
  Body = 0,
  MissingModel = 1,
  ModelType = 2,
  /** (not served: 404, checked against the loaded model) */
  ModelServed = 3,
  MissingInput = 4,
  InputType = 5,
  EmptyInput = 6,
  InputElement = 7,
  EncodingFormat = 8,
  /** (also the upper bound, checked against the loaded model) */
  Dimensions = 9,
  User = 10,
}

function isTokenArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number");
}

function dimensionsError(d: unknown, dim: number): ApiError {
  return badRequest(
    `\`dimensions\` must be an integer from 1 to ${dim} (this model's size), got ${JSON.stringify(d)}.`,
    "dimensions",
  );
}

/** Where the schema checks each element of an array `input` (its third `anyOf` branch). */
const ELEMENT_SCHEMA = "#/properties/input/anyOf/2/items/";
const IGNORED = { rank: Number.POSITIVE_INFINITY, index: 0 };

/**
 * A schema fault's place in the order, and for an element of `input`, its index. For an array `input` only two
 * kinds of fault say what is wrong: the array is empty, or an element is neither a string nor token ids (the
 * branch for arrays of those); the other branches' faults (not a string, not all numbers) follow from those.
 */
function rankOf(f: SchemaFault, b: Record<string, unknown>): { rank: number; index: number } {
  const at = (rank: number) => ({ rank, index: 0 });
  if (f.instancePath.startsWith("/input/")) {
    if (!f.schemaPath.startsWith(ELEMENT_SCHEMA)) return IGNORED;
    return { rank: Rank.InputElement, index: Number(f.instancePath.split("/")[2]) };
  }
  switch (f.instancePath) {
    case "":
      if (f.keyword === "required")
        return at(f.params.missingProperty === "model" ? Rank.MissingModel : Rank.MissingInput);
      return at(Rank.Body);
    case "/model":
      return at(b.model === null ? Rank.MissingModel : Rank.ModelType);
    case "/input":
      if (!Array.isArray(b.input)) return at(b.input === null ? Rank.MissingInput : Rank.InputType);
      return f.schemaPath === "#/properties/input/minItems" ? at(Rank.EmptyInput) : IGNORED;
    case "/encoding_format":
      return at(Rank.EncodingFormat);
    case "/dimensions":
      return at(Rank.Dimensions);
    case "/user":
      return at(Rank.User);
    default:
      return IGNORED;
  }
}

/** OpenAI's error for a fault at `rank` (the body's own values fill the message). */
function faultError(rank: number, index: number, b: Record<string, unknown>, dim: number): ApiError {
  switch (rank) {
    case Rank.Body:
      return badRequest("The request body must be a JSON object with `input` and `model`.", null, "invalid_request");
    case Rank.MissingModel:
      return badRequest("You must provide a model parameter.", "model", "missing_model");
    case Rank.ModelType:
      return badRequest(`\`model\` must be a string, got ${typeName(b.model)}.`, "model");
    case Rank.MissingInput:
      return badRequest("You must provide an input parameter.", "input", "missing_input");
    case Rank.InputType:
      return badRequest(`\`input\` must be a string or an array, got ${typeName(b.input)}.`, "input", "invalid_input");
    case Rank.EmptyInput:
      return badRequest("`input` is an empty array; send at least one string.", "input", "empty_input");
    case Rank.InputElement:
      return badRequest(
        `input[${index}] is ${typeName((b.input as unknown[])[index])}; \`input\` must be a string, an array of strings, an array of token ids, or an array of token-id arrays.`,
        "input",
        "invalid_input",
      );
    case Rank.EncodingFormat:
      return badRequest(
        `\`encoding_format\` must be "float" or "base64", got ${JSON.stringify(b.encoding_format)}.`,
        "encoding_format",
      );
    case Rank.Dimensions:
      return dimensionsError(b.dimensions, dim);
    case Rank.User:
      return badRequest(`\`user\` must be a string, got ${typeName(b.user)}.`, "user");
    default:
      return badRequest("The request body does not match OpenAI's embeddings request.", null, "invalid_request");
  }
}

/**
 * The request, from a body and what the schema found wrong with it (`faults`, empty when it is valid); throws
 * OpenAI's error for its first fault, with the two checks against the loaded model at their places.
 */
export function readEmbeddingRequest(
  body: unknown,
  faults: readonly SchemaFault[],
  model: ServableModel,
  served: ServedModel,
): EmbeddingRequest {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  let first = IGNORED;
  for (const f of faults) {
    const r = rankOf(f, b);
    if (r.rank < first.rank || (r.rank === first.rank && r.index < first.index)) first = r;
  }
  if (first.rank > Rank.ModelServed && !served.accepts(model, b.model as string))
    throw served.notFound(b.model as string, model);
  const d = b.dimensions;
  if (first.rank > Rank.Dimensions && typeof d === "number" && d > model.dim) throw dimensionsError(d, model.dim);
  if (faults.length > 0) throw faultError(first.rank, first.index, b, model.dim);
  const input = b.input as string | number[] | (string | number[])[];
  const inputs: Input[] =
    typeof input === "string"
      ? [{ text: input }]
      : isTokenArray(input)
        ? [{ ids: input }]
        : (input as (string | number[])[]).map((x) => (typeof x === "string" ? { text: x } : { ids: x }));
  return {
    inputs,
    model: b.model as string,
    base64: b.encoding_format === "base64",
    dimensions: typeof d === "number" ? d : undefined,
  };
}

/** Applies the per-request limits; returns the texts to embed and their token counts (after truncation). */
export function prepareInputs(
  inputs: Input[],
  model: ServableModel,
  limits: Limits,
): { texts: string[]; tokens: number[] } {
  if (inputs.length > limits.maxInputs)
    throw badRequest(
      `Too many inputs: ${inputs.length}; at most ${limits.maxInputs} per request.`,
      "input",
      "too_many_inputs",
    );
  const special = model.tokenizer.encode("").ids.length;
  const modelRoom = Number.isFinite(model.maxSeqLength) ? model.maxSeqLength - special : Infinity;
  const texts: string[] = [];
  const tokens: number[] = [];
  let total = 0;
  inputs.forEach((input, i) => {
    let ids: number[];
    let text: string;
    if ("text" in input) {
      if (input.text.length === 0)
        throw badRequest(`input[${i}] is an empty string; embeddings need some text.`, "input", "empty_input");
      text = input.text;
      ids = model.tokenizer.encodeContent(text);
    } else {
      const vocab = model.tokenizer.vocabSize;
      const bad = input.ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
      if (bad >= 0)
        throw badRequest(
          `input[${i}][${bad}] = ${input.ids[bad]} is not a token id of this model (integers 0..${vocab - 1}).`,
          "input",
          "invalid_token_id",
        );
      ids = input.ids;
      text = "";
    }
    // Over the API's limit: 400 as OpenAI (or cut, when configured); over the model's window: cut, as
    // sentence-transformers does, since the model cannot read further.
    if (ids.length > limits.maxInputTokens && limits.onLongInput === "reject")
      throw badRequest(
        `input[${i}] has ${ids.length} tokens; this server accepts at most ${limits.maxInputTokens} per input (shorten it, or start the server with --long-inputs truncate).`,
        "input",
        "input_too_long",
      );
    const room = Math.min(limits.maxInputTokens, modelRoom);
    if (ids.length > room) {
      ids = ids.slice(0, room);
      text = "";
    }
    if (text === "") text = model.tokenizer.decode(ids);
    texts.push(text);
    tokens.push(ids.length);
    total += ids.length;
    if (total > limits.maxRequestTokens)
      throw badRequest(
        `Requested more than ${limits.maxRequestTokens} tokens in one request; split the inputs over several requests.`,
        "input",
        "max_tokens_per_request",
      );
  });
  return { texts, tokens };
}

/** Matryoshka truncation: keep the first `dims` components, then L2-normalise again (as OpenAI's `dimensions`). */
export function truncateAndNormalize(row: Float32Array, dims: number): Float32Array {
  return l2NormalizeRows(row.slice(0, dims), dims);
}

/** Little-endian float32 bytes, base64-encoded: what OpenAI's clients decode for encoding_format "base64". */
export function toBase64(row: Float32Array): string {
  const buf = Buffer.allocUnsafe(row.length * 4);
  for (let i = 0; i < row.length; i++) buf.writeFloatLE(row[i], i * 4);
  return buf.toString("base64");
}

export const embeddingsRoute: FastifyPluginAsync<EmbeddingsRouteOptions> = async (app, { served, limits, metrics }) => {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const { m, b } = served.current();
    const faults = (req.validationError as { validation?: SchemaFault[] } | undefined)?.validation ?? [];
    const body = readEmbeddingRequest(req.body, faults, m, served);
    const prepared = prepareInputs(body.inputs, m, limits);
    const rows = await embedForRequest(reply, b, prepared.texts, prepared.tokens, () => metrics.rejectedQueueFull++);
    const total = prepared.tokens.reduce((s, t) => s + t, 0);
    metrics.inputsTotal += rows.length;
    metrics.tokensTotal += total;
    const data = rows.map((row, index) => {
      const v = body.dimensions !== undefined ? truncateAndNormalize(row, body.dimensions) : row;
      return { object: "embedding", index, embedding: body.base64 ? toBase64(v) : Array.from(v) };
    });
    reply.header("x-total-tokens", String(total));
    return { object: "list", data, model: body.model, usage: { prompt_tokens: total, total_tokens: total } };
  };
  // The schema's faults are attached, not answered, so that a model still loading answers 503 first, and the
  // faults are reported in OpenAI's order with the model's own checks among them (readEmbeddingRequest).
  const route = { schema: { body: EMBEDDINGS_BODY }, attachValidation: true, config: { metered: true } };
  app.post("/v1/embeddings", { ...route, config: { metered: true, hint: "POST /v1/embeddings" } }, handler);
  app.post("/embeddings", route, handler);
};
