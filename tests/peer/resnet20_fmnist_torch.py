#!/usr/bin/env python3
"""One agent learns Fashion-MNIST alone with ResNet-20 in PyTorch: the
counterpart of `ARCH=resnet20 BATCH=32 LR=0.01 examples/train-one-agent.sh`
for docs/RESULTS.md.

The network is tests/peer/resnet20_torch.py's (the definition the C code is
checked against), initialised as ALGORITHM.md says (convolutions normal with
std sqrt(2 / (k k out_channels)), norm scales 1 and shifts 0, the fc
PyTorch's default) from its own seed.  The data are Debian's Fashion-MNIST
files, scaled to [0, 1] and normalised with 0.5 and 0.5; batches of BATCH
in a new random order every epoch; SGD with Nesterov momentum 0.9, weight
decay 1e-4 and a constant learning rate; one thread.  Prints
"epoch,test_accuracy,test_loss,seconds" lines.

With INIT, a .npz of the network's tensors by name (`ccl-npz -o INIT
STATE.ccl`), the initial values are those instead of the seed's: the two
implementations then start from the same point.  With ORDER as well, the
batches are those ccl-train-step draws (`build/tests/fixture_order STATE
SHARD BATCH EPOCHS ORDER`: int32 indices into the training set, EPOCHS x
60,000), so only the arithmetic differs.

Usage: resnet20_fmnist_torch.py [EPOCHS] [NORM] [BATCH] [LR] [SEED] [INIT] [ORDER]
"""
import gzip
import importlib.util
import math
import os
import struct
import sys
import time

import numpy
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def load_definition():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resnet20_torch.py")
    spec = importlib.util.spec_from_file_location("resnet20_torch", path)
    module = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode = True
    spec.loader.exec_module(module)
    return module


def idx(name):
    """An IDX file of Debian's package as a uint8 tensor of its shape."""
    with gzip.open(os.path.join(DATA, name + ".gz"), "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(shape)


def split(prefix):
    images = idx(prefix + "-images-idx3-ubyte").float().div(255).sub(0.5).div(0.5).unsqueeze(1)
    labels = idx(prefix + "-labels-idx1-ubyte").long()
    return images, labels


def initialise(net):
    for name, p in net.named_parameters():
        if p.dim() == 4:
            k, out = p.shape[2], p.shape[0]
            nn.init.normal_(p, 0.0, math.sqrt(2.0 / (k * k * out)))
        elif not name.startswith("fc."):
            nn.init.ones_(p) if name.endswith("weight") else nn.init.zeros_(p)


def evaluate(net, images, labels):
    net.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for at in range(0, len(images), 500):
            logits, _ = net(images[at:at + 500])
            loss += F.cross_entropy(logits, labels[at:at + 500], reduction="sum").item()
            correct += (logits.argmax(1) == labels[at:at + 500]).sum().item()
    net.train()
    return correct / len(images), loss / len(images)


def main(argv):
    epochs = int(argv[1]) if len(argv) > 1 else 3
    norm = argv[2] if len(argv) > 2 else "evonorm"
    batch = int(argv[3]) if len(argv) > 3 else 32
    lr = float(argv[4]) if len(argv) > 4 else 0.01
    torch.set_num_threads(1)
    torch.manual_seed(int(argv[5]) if len(argv) > 5 else 1)
    definition = load_definition()
    net = definition.ResNet20(norm=norm, classes=10, in_c=1)
    initialise(net)
    if len(argv) > 6:
        arrays = numpy.load(argv[6])
        net.load_state_dict({name: torch.from_numpy(arrays[name]) for name in arrays.files}, strict=True)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=1e-4)
    train_x, train_y = split("train")
    orders = None
    if len(argv) > 7:
        orders = torch.from_numpy(numpy.fromfile(argv[7], dtype="<i4").astype("int64"))
        if len(orders) < epochs * len(train_x):
            sys.exit("%s holds %d indices, not %d epochs of %d" % (argv[7], len(orders), epochs, len(train_x)))
    test_x, test_y = split("t10k")
    print("epoch,test_accuracy,test_loss,seconds", flush=True)
    for epoch in range(1, epochs + 1):
        start = time.time()
        if orders is None:
            order = torch.randperm(len(train_x))
        else:
            order = orders[(epoch - 1) * len(train_x):epoch * len(train_x)]
        for at in range(0, len(order), batch):
            rows = order[at:at + batch]
            logits, _ = net(train_x[rows])
            loss = F.cross_entropy(logits, train_y[rows])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds = time.time() - start
        accuracy, test_loss = evaluate(net, test_x, test_y)
        print("%d,%.4f,%.4f,%.1f" % (epoch, accuracy, test_loss, seconds), flush=True)


if __name__ == "__main__":
    main(sys.argv)
