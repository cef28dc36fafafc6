/**
 * The pair template and truncation of Hugging Face's fast tokenizers for `tokenizer(a, text_pair=b)`, which is
 * what a cross-encoder reads: the post-processor's pair template (`[CLS] A [SEP] B [SEP]` for BERT,
 * `<s> A </s></s> B </s>` for RoBERTa) and the Rust library's "longest_first" truncation. Tokenizer.encodePair
 * (tokenizer.ts) puts the two together.
 */
type Json = Record<string, unknown>;

/** One piece of a pair template: the first text, the second, or special tokens; each with its type id. */
export type TemplatePiece = { kind: "A" | "B"; typeId: number } | { kind: "special"; ids: number[]; typeId: number };

/**
 * The pair template of a tokenizer.json post-processor: TemplateProcessing ("pair"), BertProcessing,
 * RobertaProcessing (`<s> A </s> </s> B </s>`), either inside a Sequence; none: the two texts, concatenated.
 */
export function pairTemplate(tokenizerJson: Json, source: string): { pieces: TemplatePiece[]; specialTokens: number } {
  let processor = tokenizerJson.post_processor as Json | null | undefined;
  if (processor?.type === "Sequence") {
    const inner = (processor.processors as Json[] | undefined) ?? [];
    processor = inner.find((p) =>
      ["TemplateProcessing", "BertProcessing", "RobertaProcessing"].includes(String(p.type)),
    );
  }
  let pieces: TemplatePiece[];
  if (!processor)
    pieces = [
      { kind: "A", typeId: 0 },
      { kind: "B", typeId: 1 },
    ];
  else if (processor.type === "TemplateProcessing") {
    const specials = (processor.special_tokens ?? {}) as Record<string, { ids: number[] }>;
    const pair = processor.pair as Json[] | undefined;
    if (!Array.isArray(pair))
      throw new Error(`${source}/tokenizer.json: post_processor TemplateProcessing has no "pair" template.`);
    pieces = pair.map((item) => {
      if (item.Sequence) {
        const seq = item.Sequence as { id: string; type_id: number };
        return { kind: seq.id === "B" ? "B" : "A", typeId: seq.type_id };
      }
      const sp = item.SpecialToken as { id: string; type_id: number };
      const ids = specials[sp.id]?.ids;
      if (!ids)
        throw new Error(
          `${source}/tokenizer.json: special token ${sp.id} of the pair template is not in special_tokens.`,
        );
      return { kind: "special", ids, typeId: sp.type_id };
    });
  } else if (processor.type === "BertProcessing" || processor.type === "RobertaProcessing") {
    const cls = [(processor.cls as [string, number])[1]];
    const sep = [(processor.sep as [string, number])[1]];
    // Rust tokenizers: BertProcessing types the second part 1; RobertaProcessing too (RoBERTa models read no types).
    pieces =
      processor.type === "BertProcessing"
        ? [
            { kind: "special", ids: cls, typeId: 0 },
            { kind: "A", typeId: 0 },
            { kind: "special", ids: sep, typeId: 0 },
            { kind: "B", typeId: 1 },
            { kind: "special", ids: sep, typeId: 1 },
          ]
        : [
            { kind: "special", ids: cls, typeId: 0 },
            { kind: "A", typeId: 0 },
            { kind: "special", ids: [...sep, ...sep], typeId: 0 },
            { kind: "B", typeId: 1 },
            { kind: "special", ids: sep, typeId: 1 },
          ];
  } else
    throw new Error(
      `${source}/tokenizer.json: post_processor type ${JSON.stringify(processor.type)} has no pair template this library knows (TemplateProcessing, BertProcessing, RobertaProcessing).`,
    );
  const specialTokens = pieces.reduce((n, p) => n + (p.kind === "special" ? p.ids.length : 0), 0);
  return { pieces, specialTokens };
}

/** Kept lengths of two texts of n1 and n2 tokens under a budget, Rust tokenizers' TruncationStrategy::LongestFirst. */
export function longestFirstLengths(n1: number, n2: number, budget: number): [number, number] {
  if (n1 + n2 <= budget) return [n1, n2];
  const swap = n1 > n2;
  let [short, long] = swap ? [n2, n1] : [n1, n2];
  long = short > budget ? short : Math.max(short, budget - short);
  if (short + long > budget) {
    short = Math.floor(budget / 2);
    long = short + (budget % 2);
  }
  return swap ? [long, short] : [short, long];
}
