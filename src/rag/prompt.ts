/**
 * The RAG prompt: a system message that tells the model to answer only from the numbered passages and to
 * cite them as [n], and a user message with the passages and the question. Passages are cut to
 * `maxCharsPerContext` so that a long chunk cannot crowd out the others; the prompt's size in characters
 * (and ~4 characters per token, OpenAI's rule of thumb for English, marked as an estimate) is reported so
 * that notebook 6 can price it.
 */
import type { ChatMessage } from "../data/llm";
import type { RagPromptOptions, RetrievedContext } from "./types";

export type { RagPromptOptions } from "./types";

export interface RagPrompt {
  messages: ChatMessage[];
  /** Characters in all messages. */
  chars: number;
  /** chars / 4, rounded up: a rough token estimate (a real tokenizer counts differently). */
  estimatedTokens: number;
}

export const DEFAULT_RAG_SYSTEM =
  "You answer questions using only the numbered passages provided. Cite the passages you used as [1], [2], ... " +
  "If the passages do not contain the answer, say that you cannot answer from them.";

/** Builds the chat messages for one question and its retrieved contexts (best first). */
export function buildRagPrompt(
  question: string,
  contexts: readonly RetrievedContext[],
  options: RagPromptOptions = {},
): RagPrompt {
  if (typeof question !== "string" || question.trim() === "") throw new Error("buildRagPrompt: the question is empty.");
  if (contexts.length === 0) throw new Error("buildRagPrompt: no contexts; retrieve at least one passage (k >= 1).");
  const max = options.maxCharsPerContext ?? 1200;
  if (!Number.isInteger(max) || max < 1)
    throw new Error(`buildRagPrompt: maxCharsPerContext=${max} must be a positive integer.`);
  const passages = contexts.map((c, i) => {
    const text = c.text.length > max ? `${c.text.slice(0, max).trimEnd()} ...` : c.text;
    return `[${i + 1}] (id ${c.id})\n${text}`;
  });
  const user = `Passages:\n\n${passages.join("\n\n")}\n\nQuestion: ${question.trim()}\nAnswer:`;
  const messages: ChatMessage[] = [
    { role: "system", content: options.system ?? DEFAULT_RAG_SYSTEM },
    { role: "user", content: user },
  ];
  const chars = messages.reduce((s, m) => s + m.content.length, 0);
  return { messages, chars, estimatedTokens: Math.ceil(chars / 4) };
}

/** The prompt as markdown for a notebook: each message in a fenced block under its role. */
export function promptMarkdown(prompt: RagPrompt): string {
  const fence = (t: string) => "```text\n" + t.replace(/```/g, "` ` `") + "\n```";
  return [
    ...prompt.messages.map((m) => `**${m.role}**\n\n${fence(m.content)}`),
    `${prompt.chars.toLocaleString("en-US")} characters, about ${prompt.estimatedTokens.toLocaleString("en-US")} tokens (characters / 4, an estimate).`,
  ].join("\n\n");
}
