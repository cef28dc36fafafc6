/**
 * Types at the boundary of src/rag, declared once and free of LangChain imports, so that modules which only
 * pass these values around (src/course's course helpers, src/cost) do not make tslab type-check LangChain's
 * and the OpenAI SDK's declarations in every notebook (a measured ~500 extra declaration files).
 */

/** One retrieved passage with its corpus id, 1-based rank and cosine similarity. */
export interface RetrievedContext {
  id: string;
  title: string;
  /** The passage as stored ("title\ntext" when it has a title). */
  text: string;
  rank: number;
  /** Cosine similarity (higher = closer). */
  score: number;
  /** FaissStore's squared L2 distance, when the hit came from FaissStore. */
  distance?: number;
}

/** What side-by-side comparisons need: a label and top-k contexts for many questions. */
export interface ContextSource {
  readonly name: string;
  search(questions: string[], k: number): Promise<RetrievedContext[][]>;
}

export interface RagPromptOptions {
  /** Longest passage text kept, in characters (default 1200). */
  maxCharsPerContext?: number;
  /** Replaces the default system message. */
  system?: string;
}

export interface RagLlmOptions {
  /** Default: config.llm.baseUrl (OPENAI_BASE_URL). */
  baseUrl?: string;
  /** Default: config.llm.apiKey (OPENAI_API_KEY); local servers need none. */
  apiKey?: string;
  /** Default: config.llm.model (COURSE_LLM_MODEL). */
  model?: string;
  /** Default 0: the same question gets the same answer where the server allows it. */
  temperature?: number;
  /** Per request, default 60 s. */
  timeoutMs?: number;
  /** Retries of failed requests (default 2; connection failures are reported after them). */
  maxRetries?: number;
}

export interface AnswerOptions extends RagPromptOptions {
  /** "auto" (default): the LLM when configured, else extractive. "llm" requires one; "extractive" never calls one. */
  mode?: "auto" | "llm" | "extractive";
  llm?: RagLlmOptions;
}
