"""The PyTorch side of bench/train.ts: one training step of the same encoder, written in plain torch.

  /usr/bin/python3 bench/torch_train.py SPEC.json [threads]

SPEC.json: {"config": <config.json of the BERT>, "batches": [{"anchor": [[ids]], "positive": [[ids]]}, ...]}
(token ids from our tokenizer, so both sides see the same inputs). A step is what sentence-transformers does
for MultipleNegativesRankingLoss: forward both columns (BERT -> mean pooling; cos_sim on the normalised
embeddings, scale 20), cross-entropy with labels 0..n-1, backward, clip_grad_norm_(1.0), AdamW (weight decay
0.01, none on biases / LayerNorm). The first batch is a warm-up; the mean of the others is reported. Prints one JSON line.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, h, heads, inter, eps):
        super().__init__()
        self.heads, self.d = heads, h // heads
        self.query, self.key, self.value, self.attn_out = (nn.Linear(h, h) for _ in range(4))
        self.attn_norm = nn.LayerNorm(h, eps=eps)
        self.intermediate = nn.Linear(h, inter)
        self.output = nn.Linear(inter, h)
        self.out_norm = nn.LayerNorm(h, eps=eps)

    def forward(self, x, mask_bias):
        b, s, h = x.shape
        split = lambda t: t.view(b, s, self.heads, self.d).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d) + mask_bias
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, h)
        x = self.attn_norm(x + self.attn_out(ctx))
        return self.out_norm(x + self.output(F.gelu(self.intermediate(x))))


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, eps = c["hidden_size"], c["layer_norm_eps"]
        self.word = nn.Embedding(c["vocab_size"], h)
        self.position = nn.Embedding(c["max_position_embeddings"], h)
        self.token_type = nn.Embedding(c["type_vocab_size"], h)
        self.emb_norm = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(Layer(h, c["num_attention_heads"], c["intermediate_size"], eps) for _ in range(c["num_hidden_layers"]))
        for name, p in self.named_parameters():
            if "norm" in name:
                continue
            if name.endswith("bias"):
                nn.init.zeros_(p)
            else:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, ids, mask):
        s = ids.shape[1]
        x = self.word(ids) + self.position.weight[:s] + self.token_type.weight[0]
        x = self.emb_norm(x)
        bias = (1.0 - mask[:, None, None, :]) * -1e9
        for layer in self.layers:
            x = layer(x, bias)
        m = mask.unsqueeze(-1)
        return (x * m).sum(1) / m.sum(1).clamp(min=1e-9)  # mean pooling


def main():
    spec = json.load(open(sys.argv[1]))
    threads = int(sys.argv[2]) if len(sys.argv) > 2 and int(sys.argv[2]) > 0 else 0
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Bert(spec["config"])
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "norm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "norm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=2e-5)
    times, losses = [], []
    for batch in spec["batches"]:
        t0 = time.perf_counter()
        a_ids = torch.tensor(batch["anchor"])
        p_ids = torch.tensor(batch["positive"])
        a = model(a_ids, torch.ones(a_ids.shape))
        p = model(p_ids, torch.ones(p_ids.shape))
        scores = F.normalize(a, dim=-1) @ F.normalize(p, dim=-1).T * 20.0
        loss = F.cross_entropy(scores, torch.arange(len(scores)))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(loss.item())
    timed = times[1:] if len(times) > 1 else times
    print(json.dumps({"torch_version": torch.__version__, "threads": torch.get_num_threads(), "step_seconds": times,
                      "mean_step_s": sum(timed) / len(timed), "losses": losses}))


if __name__ == "__main__":
    main()
