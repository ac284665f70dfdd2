#!/usr/bin/python3
"""One epoch of decentralized training simulated in one PyTorch process,
one thread: the reference tests/bench/epoch.sh times the scripted tools
against.

    torch_epoch.py SHARD_DIR METHOD [ITERATIONS]

SHARD_DIR is what ccl-partition wrote (shard-NNN.ccl, test.ccl); METHOD is
dsgdm, qgm or ccl.  The agents sit on a ring with uniform weights 1/3 and
run ALGORITHM.md's iteration in lockstep: gossip (with the QGM correction
for qgm and ccl), for ccl the feature statistics of each agent's batch
under each neighbour's model as received and both cross-feature terms at
0.1, then a Nesterov step (momentum 0.9, weight decay 1e-4, learning rate
0.01) on a batch of 32 in the shared batch order.  Then every model and
their average are evaluated on the test set.  It prints two lines,
"torch train: S s" and "torch eval: S s", for the benchmark to read.

The shards are read with tarfile and numpy, the same bytes and input
transform (mean and std from the manifest) the tools use.  It is a speed
reference: its random numbers are PyTorch's, not the tools'.
"""
import io
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, LR, BETA, WD, LAMBDA = 32, 0.01, 0.9, 1e-4, 0.1


class LeNet5(nn.Module):
    def __init__(self, channels=1, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2).flatten(1)
        z = F.relu(self.fc2(F.relu(self.fc1(x))))
        return z, self.fc3(z)


def read_shard(path):
    """Images as normalised floats (N, C, H, W) and labels, from the tar."""
    with tarfile.open(path) as tar:
        manifest = tar.extractfile("manifest.yaml").read().decode()
        meta = dict(line.split(": ", 1) for line in manifest.splitlines()
                    if ": " in line and not line.startswith(" "))
        shape = None
        for line in manifest.splitlines():
            if line.strip().startswith("shape:") and shape is None:
                shape = [int(v) for v in line.split("[")[1].rstrip("]").split(",")]
        images = np.frombuffer(tar.extractfile("images.bin").read(), np.uint8).reshape(shape)
        labels = np.frombuffer(tar.extractfile("labels.bin").read(), np.uint8)
    mean = [float(v) for v in meta["mean"].strip('"').split(",")]
    std = [float(v) for v in meta["std"].strip('"').split(",")]
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    for c in range(x.shape[1]):
        x[:, c] = (x[:, c] - mean[c]) / std[c]
    return x, torch.from_numpy(labels.astype(np.int64))


def flat(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def load_flat(net, vector):
    at = 0
    for p in net.parameters():
        n = p.numel()
        p.data.copy_(vector[at:at + n].view_as(p))
        at += n


def main():
    shard_dir, method = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    torch.manual_seed(123)
    shards, n = [], 0
    while True:
        try:
            shards.append(read_shard(f"{shard_dir}/shard-{n:03d}.ccl"))
        except FileNotFoundError:
            break
        n += 1
    samples = shards[0][0].shape[0]
    steps = (samples + BATCH - 1) // BATCH
    iterations = int(sys.argv[3]) if len(sys.argv) > 3 else steps
    qgm, ccl = method in ("qgm", "ccl"), method == "ccl"

    nets = [LeNet5() for _ in range(n)]
    for net in nets[1:]:
        net.load_state_dict(nets[0].state_dict())
    xs = [flat(net) for net in nets]
    ms = [torch.zeros_like(x) for x in xs]
    neighbours = [((i - 1) % n, (i + 1) % n) for i in range(n)]
    received = [LeNet5() for _ in range(n)]
    order = torch.randperm(samples)

    start = time.perf_counter()
    for t in range(iterations):
        step = t % steps
        rows = order[step * BATCH:(step + 1) * BATCH]
        sent = [x.clone() for x in xs]  # the models published last iteration
        for i in range(n):  # gossip, and QGM's correction
            mixed = (sent[i] + sum(sent[j] for j in neighbours[i])) / 3
            if qgm and t > 0:
                ms[i] -= (mixed - xs[i]) / LR
            xs[i] = mixed
        stats = {}
        if ccl:  # i's batch under each neighbour's model, sent to it
            with torch.no_grad():
                for i in range(n):
                    x, y = shards[i][0][rows], shards[i][1][rows]
                    for j in neighbours[i]:
                        load_flat(received[j], sent[j])
                        z, _ = received[j](x)
                        sums = torch.zeros(10, z.shape[1]).index_add_(0, y, z)
                        stats[(i, j)] = (sums, torch.bincount(y, minlength=10).float())
        for i in range(n):
            net = nets[i]
            load_flat(net, xs[i])
            x, y = shards[i][0][rows], shards[i][1][rows]
            z, logits = net(x)
            loss = F.cross_entropy(logits, y)
            if ccl:
                with torch.no_grad():
                    cross = [received[j](x)[0] for j in neighbours[i]]
                    sums = torch.zeros(10, z.shape[1]).index_add_(0, y, z)
                    counts = torch.bincount(y, minlength=10).float()
                    for j in neighbours[i]:
                        sums += stats[(j, i)][0]
                        counts += stats[(j, i)][1]
                    mu = sums / counts.clamp(min=1).unsqueeze(1)
                loss = loss + LAMBDA * sum(F.mse_loss(z, c) for c in cross) + LAMBDA * F.mse_loss(z, mu[y])
            net.zero_grad(set_to_none=True)
            loss.backward()
            g = torch.cat([p.grad.reshape(-1) for p in net.parameters()]) + WD * xs[i]
            ms[i] = BETA * ms[i] + g
            xs[i] = xs[i] - LR * (g + BETA * ms[i])
    train = time.perf_counter() - start

    test_x, test_y = read_shard(f"{shard_dir}/test.ccl")
    start = time.perf_counter()
    with torch.no_grad():
        for vector in xs + [sum(xs) / n]:
            load_flat(nets[0], vector)
            correct = 0
            for at in range(0, test_x.shape[0], 500):
                _, logits = nets[0](test_x[at:at + 500])
                correct += (logits.argmax(1) == test_y[at:at + 500]).sum().item()
    evaluate = time.perf_counter() - start
    print(f"torch train: {train:.2f} s ({iterations} iterations of {n} agents, {method})")
    print(f"torch eval: {evaluate:.2f} s ({n + 1} models, {test_x.shape[0]} images)")


if __name__ == "__main__":
    main()
