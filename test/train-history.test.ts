// The training history's helpers: filtering and the loss / metric figure the notebooks show.
import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluations, trainingCurvesFigure, trainSteps, type HistoryEntry } from "../src/train/history";

const history: HistoryEntry[] = [
  {
    kind: "eval",
    step: 0,
    epoch: 0,
    metrics: { "dev_cosine_ndcg@10": 0.2, "dev_cosine_mrr@10": 0.1 },
    evalSeconds: 1,
    seconds: 1,
  },
  { kind: "train", step: 1, epoch: 0.5, loss: 2.5, learningRate: 1e-5, gradNorm: 3, batchSize: 4, seconds: 2 },
  { kind: "train", step: 2, epoch: 1, loss: 1.5, learningRate: 5e-6, gradNorm: 2, batchSize: 4, seconds: 3 },
  {
    kind: "eval",
    step: 2,
    epoch: 1,
    metrics: { "dev_cosine_ndcg@10": 0.6, "dev_cosine_mrr@10": 0.4 },
    evalSeconds: 1,
    seconds: 4,
  },
];

test("trainSteps / evaluations split the history in order", () => {
  assert.deepEqual(
    trainSteps(history).map((h) => h.loss),
    [2.5, 1.5],
  );
  assert.deepEqual(
    evaluations(history).map((h) => h.step),
    [0, 2],
  );
});

test("trainingCurvesFigure: loss in the top panel, NDCG@10 (default) or chosen metrics below, scaled to their range", () => {
  const fig = trainingCurvesFigure(history);
  assert.equal(fig.data.length, 2);
  assert.deepEqual([fig.data[0].x, fig.data[0].y, fig.data[0].yaxis], [[1, 2], [2.5, 1.5], "y"]);
  assert.deepEqual(
    [fig.data[1].name, fig.data[1].x, fig.data[1].y, fig.data[1].yaxis],
    ["dev_cosine_ndcg@10", [0, 2], [0.2, 0.6], "y2"],
  );
  const two = trainingCurvesFigure(history, { metrics: ["dev_cosine_mrr@10", "dev_cosine_ndcg@10"] });
  assert.deepEqual(
    two.data.slice(1).map((d) => d.y),
    [
      [0.1, 0.4],
      [0.2, 0.6],
    ],
  );
  assert.throws(
    () => trainingCurvesFigure(history, { metrics: ["ndcg@5"] }),
    /no metric "ndcg@5" in the history \(have: dev_cosine_ndcg@10, dev_cosine_mrr@10\)/,
  );
  assert.throws(() => trainingCurvesFigure([]), /history is empty/);
  // The metric panel spans the metric's range (0.2 to 0.6, padded), not 0 to 1: a small gain stays visible.
  const range = (fig.layout as { yaxis2: { range: number[] } }).yaxis2.range;
  assert.ok(range[0] > 0.1 && range[0] < 0.2 && range[1] > 0.6 && range[1] < 0.7, String(range));
});
