/**
 * An ONNX Runtime session of a cross-encoder graph (onnx.ts): a padded pair batch in, `logits` [batch, num_labels]
 * out. Same runtime and session options as the sentence-transformer sessions (src/model/onnx/session.ts: one
 * intra-op thread per CPU unless told, no spinning).
 */
import { createOnnxSession, loadOnnxRuntime } from "../model/onnx/session";
import type { TokenizedBatch } from "../model/types";

type Ort = typeof import("onnxruntime-node");
type Session = import("onnxruntime-node").InferenceSession;

function int64(values: Int32Array): BigInt64Array {
  return BigInt64Array.from(values, (v) => BigInt(v));
}

export class LogitsSession {
  private session: Session | undefined;

  private constructor(
    session: Session,
    private readonly ort: Ort,
    readonly numLabels: number,
    readonly threads: number,
  ) {
    this.session = session;
  }

  static async create(
    bytes: Uint8Array,
    numLabels: number,
    options: { threads?: number } = {},
  ): Promise<LogitsSession> {
    const { session, threads } = await createOnnxSession(bytes, options);
    if (!session.outputNames.includes("logits"))
      throw new Error(`ONNX Runtime: the graph has no output "logits" (outputs: ${session.outputNames.join(", ")}).`);
    return new LogitsSession(session, loadOnnxRuntime() as Ort, numLabels, threads);
  }

  /** Logits of a padded batch, [batchSize * numLabels] row-major. */
  async logits(batch: TokenizedBatch): Promise<Float32Array> {
    const session = this.session;
    if (!session) throw new Error("LogitsSession: the session was released");
    if (batch.batchSize === 0) return new Float32Array(0);
    const dims = [batch.batchSize, batch.seqLen];
    const feeds: Record<string, import("onnxruntime-node").Tensor> = {
      input_ids: new this.ort.Tensor("int64", int64(batch.inputIds), dims),
      attention_mask: new this.ort.Tensor("int64", int64(batch.attentionMask), dims),
    };
    if (session.inputNames.includes("token_type_ids"))
      feeds.token_type_ids = new this.ort.Tensor("int64", int64(batch.tokenTypeIds), dims);
    const out = await session.run(feeds, ["logits"]);
    return Float32Array.from(out.logits.data as Float32Array);
  }

  async release(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.release();
  }
}
