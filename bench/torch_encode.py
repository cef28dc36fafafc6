#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- encode`: the same MiniLM-L6-sized random BERT, the same token
ids (read from the JSON file bench/encode.ts writes; optional second argument: thread count), the same batching (sorted by length, padded
to the longest in each batch), mean pooling and L2 normalisation; prints one JSON line.

Uses the plain-torch BERT of test/fixtures/model-compute/make_fixture.py (no transformers package).
Run with Debian's /usr/bin/python3 (apt-get install -y python3-torch).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "model-compute"))
from make_fixture import TinyModel, mean_pool  # noqa: E402


def main():
    spec = json.load(open(sys.argv[1]))
    if len(sys.argv) > 2 and int(sys.argv[2]) > 0:
        torch.set_num_threads(int(sys.argv[2]))
    cfg = spec["config"]
    torch.manual_seed(0)
    model = TinyModel(cfg).eval()
    batches = spec["batches"]  # lists of token-id rows, already sorted and grouped as bench/encode.ts does

    def run(rows):
        seq = max(len(r) for r in rows)
        ids = torch.tensor([r + [0] * (seq - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (seq - len(r)) for r in rows])
        emb = F.normalize(mean_pool(model(ids, mask, torch.zeros_like(ids)), mask), p=2, dim=1)
        return emb.numpy()

    with torch.inference_mode():
        run(batches[0])  # warm-up
        start = time.perf_counter()
        n = 0
        for rows in batches:
            n += run(rows).shape[0]
        seconds = time.perf_counter() - start
    print(json.dumps({"torch_version": torch.__version__, "threads": torch.get_num_threads(), "sentences": n, "seconds": seconds}))


if __name__ == "__main__":
    main()
