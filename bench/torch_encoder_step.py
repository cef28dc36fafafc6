#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- encoder-step`: forward + backward of the same MiniLM-L6-sized
plain-torch BERT (test/fixtures/model-compute/make_fixture.py) on the same anchor/positive token ids,
mean pooling, L2 normalisation, in-batch softmax loss with scale 20 (MultipleNegativesRankingLoss),
gradients for every parameter. No optimizer step. Prints one JSON line.

Usage: /usr/bin/python3 bench/torch_encoder_step.py SPEC.json THREADS
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
    torch.manual_seed(0)
    model = TinyModel(spec["config"]).train()  # no dropout in this model: train() changes nothing
    anchors = torch.tensor(spec["anchors"])
    positives = torch.tensor(spec["positives"])
    mask = torch.ones_like(anchors)

    def step():
        model.zero_grad()
        ea = F.normalize(mean_pool(model(anchors, mask, torch.zeros_like(anchors)), mask), dim=1)
        ep = F.normalize(mean_pool(model(positives, mask, torch.zeros_like(positives)), mask), dim=1)
        loss = F.cross_entropy(20 * ea @ ep.T, torch.arange(len(anchors)))
        loss.backward()
        return float(loss)

    step()  # warm-up
    times = []
    for _ in range(spec["steps"]):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    print(json.dumps({"torch_version": torch.__version__, "threads": torch.get_num_threads(), "seconds_per_step": sum(times) / len(times)}))


if __name__ == "__main__":
    main()
