/**
 * The return on fine-tuning and self-hosting an embedding model, against paying a hosted embedding API
 * per token. A pure calculator: every number comes in as an argument (notebook 6 passes the ones it
 * measured and the prices the reader chooses) and the same inputs always give the same outputs.
 *
 *   API, per month          (queriesPerMonth * tokensPerQuery + documentTokensPerMonth) * apiPricePerMillionTokens / 1e6
 *   self-hosted, per month  hardwareCostPerMonth  (the machine that serves the model, whatever the volume)
 *   one-time                oneTimeCost           (fine-tuning compute + generating training data)
 *   saving, per month       API - self-hosted + llmSavingPerMonth
 *   break-even              oneTimeCost / saving months (never, when saving <= 0)
 *   break-even volume       the queries per month at which the monthly costs are equal
 *
 * llmSavingPerMonth is optional: a better retriever can send fewer passages to the chat model for the same
 * hit rate; pass queriesPerMonth * tokens saved per query * LLM input price / 1e6 when it was measured.
 */

export interface RoiInput {
  /** Questions embedded per month. */
  queriesPerMonth: number;
  /** Tokens per question (the API bills tokens, not questions). */
  tokensPerQuery: number;
  /** Hosted embedding API, $ per million tokens (e.g. 0.02 for text-embedding-3-small). */
  apiPricePerMillionTokens: number;
  /** $ per month for the machine that serves the self-hosted model. */
  hardwareCostPerMonth: number;
  /** $ once: fine-tuning compute and training-data generation. */
  oneTimeCost: number;
  /** Document tokens (re-)embedded per month through the API (new and changed documents); default 0. */
  documentTokensPerMonth?: number;
  /** $ per month saved on chat-model input by sending fewer passages (negative: more passages); default 0. */
  llmSavingPerMonth?: number;
}

export interface RoiResult {
  apiCostPerMonth: number;
  selfHostedCostPerMonth: number;
  /** API - self-hosted + LLM saving; negative when self-hosting costs more. */
  monthlySaving: number;
  /** Months until the one-time cost is paid back; null when it never is (saving <= 0). */
  breakEvenMonths: number | null;
  /** Queries per month at which the monthly costs are equal; null when self-hosting saves nothing per query. */
  breakEvenQueriesPerMonth: number | null;
}

function check(input: RoiInput): void {
  const fields: (keyof RoiInput)[] = [
    "queriesPerMonth",
    "tokensPerQuery",
    "apiPricePerMillionTokens",
    "hardwareCostPerMonth",
    "oneTimeCost",
    "documentTokensPerMonth",
    "llmSavingPerMonth",
  ];
  for (const f of fields) {
    const v = input[f];
    if (v === undefined && (f === "documentTokensPerMonth" || f === "llmSavingPerMonth")) continue;
    // A worse retriever needs MORE passages: the LLM "saving" may then be negative (a cost).
    if (f === "llmSavingPerMonth" && typeof v === "number" && Number.isFinite(v)) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
      throw new Error(`roi: ${f}=${String(v)} must be a finite number >= 0.`);
  }
}

/** The calculator (see the header comment). */
export function roi(input: RoiInput): RoiResult {
  check(input);
  const perToken = input.apiPricePerMillionTokens / 1e6;
  const documentCost = (input.documentTokensPerMonth ?? 0) * perToken;
  const apiCostPerMonth = input.queriesPerMonth * input.tokensPerQuery * perToken + documentCost;
  const selfHostedCostPerMonth = input.hardwareCostPerMonth;
  const llmSaving = input.llmSavingPerMonth ?? 0;
  const monthlySaving = apiCostPerMonth - selfHostedCostPerMonth + llmSaving;
  const breakEvenMonths = monthlySaving > 0 ? input.oneTimeCost / monthlySaving : null;
  const perQuery = input.tokensPerQuery * perToken;
  const llmPerQuery = input.queriesPerMonth > 0 ? llmSaving / input.queriesPerMonth : 0;
  const breakEvenQueriesPerMonth =
    perQuery + llmPerQuery > 0 ? Math.max(0, (selfHostedCostPerMonth - documentCost) / (perQuery + llmPerQuery)) : null;
  return { apiCostPerMonth, selfHostedCostPerMonth, monthlySaving, breakEvenMonths, breakEvenQueriesPerMonth };
}

/** Cumulative cost of each option after 0..months months (month 0: the one-time cost only). */
export function cumulativeCosts(
  input: RoiInput,
  months: number,
): { month: number[]; api: number[]; selfHosted: number[] } {
  if (!Number.isInteger(months) || months < 1)
    throw new Error(`cumulativeCosts: months=${months} must be a positive integer.`);
  const r = roi(input);
  const month = Array.from({ length: months + 1 }, (_, m) => m);
  const llm = input.llmSavingPerMonth ?? 0;
  return {
    month,
    api: month.map((m) => m * r.apiCostPerMonth),
    // The LLM saving lowers the self-hosted line: it is money the fine-tuned retriever saves each month.
    selfHosted: month.map((m) => input.oneTimeCost + m * (r.selfHostedCostPerMonth - llm)),
  };
}

/**
 * How many passages the candidate needs to put the answer in the prompt as often as the baseline does with
 * `k`: the smallest k' with candidate hit rate@k' >= baseline hit rate@k. `rates[i]` is the hit rate at
 * k = i + 1. Null when the candidate never gets there within its list.
 */
export function passagesToMatch(
  baselineRates: readonly number[],
  candidateRates: readonly number[],
  k: number,
): number | null {
  if (!Number.isInteger(k) || k < 1 || k > baselineRates.length)
    throw new Error(`passagesToMatch: k=${k} must be an integer in 1..${baselineRates.length}.`);
  const target = baselineRates[k - 1];
  const i = candidateRates.findIndex((r) => r >= target - 1e-12);
  return i < 0 ? null : i + 1;
}

export interface LlmSavingInput {
  queriesPerMonth: number;
  /** Passages the baseline puts in each prompt, and the passages the candidate needs for the same hit rate. */
  baselinePassages: number;
  candidatePassages: number;
  tokensPerPassage: number;
  /** Chat model input price, $ per million tokens. */
  llmPricePerMillionInputTokens: number;
}

/** $ per month saved (negative: spent) on chat-model input when each prompt carries fewer (more) passages. */
export function llmSavingPerMonth(input: LlmSavingInput): number {
  for (const [k, v] of Object.entries(input))
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
      throw new Error(`llmSavingPerMonth: ${k}=${String(v)} must be a finite number >= 0.`);
  const tokens = (input.baselinePassages - input.candidatePassages) * input.tokensPerPassage;
  return (input.queriesPerMonth * tokens * input.llmPricePerMillionInputTokens) / 1e6;
}
