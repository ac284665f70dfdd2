#!/usr/bin/python3
"""The ResNet-20 training step in PyTorch with one thread: the reference for
the C network's speed.

Forward, mean cross-entropy, backward and an SGD step with Nesterov momentum
and weight decay, in float32 on random 3x32x32 data with 10 classes; a
warm-up round, then the fastest of several rounds.  The network is the one
tests/peer/resnet20_torch.py defines and checks the C code against, loaded
from that file so there is a single definition.

It prints, once, "resnet20 forward: F MFLOP/sample", the multiply-adds of
the convolutions and the classifier times two, counted from the layer
shapes (norms, additions and pooling are left out), so a caller can take
3 x F x samples/s as the effective rate of a training step; then one line a
case, "torch resnet20-evonorm train batch 32: N samples/s (x.xxx ms/step)".

Usage: torch_resnet.py [seconds per case] [NORM:BATCH ...]
NORM is evonorm or groupnorm; the default cases are evonorm:32 evonorm:128
groupnorm:32.
"""
import importlib.util
import os
import sys
import time

import torch
import torch.nn as nn

IN_C, SIZE, CLASSES = 3, 32, 10
DEFAULT_CASES = ["evonorm:32", "evonorm:128", "groupnorm:32"]
NORMS = ("evonorm", "groupnorm")


def load_definition():
    """tests/peer/resnet20_torch.py as a module, found from this file's own
    location so the benchmark runs from any directory."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "peer", "resnet20_torch.py")
    spec = importlib.util.spec_from_file_location("resnet20_torch", path)
    module = importlib.util.module_from_spec(spec)
    # Importing would otherwise leave a __pycache__ in the source tree.
    sys.dont_write_bytecode = True
    spec.loader.exec_module(module)
    return module


def forward_flops(net, in_c, size):
    """FLOPs (2 x multiply-adds) of one sample's forward pass through the
    convolutions and linear layers.  The output shapes come from a forward
    pass with hooks, which is simpler than re-deriving strides and padding;
    the count itself is arithmetic on those shapes, not a timing."""
    macs = []

    def conv_hook(mod, inputs, out):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        macs.append(out[0].numel() * (mod.in_channels // mod.groups) * k)

    def linear_hook(mod, inputs, out):
        macs.append(mod.in_features * mod.out_features)

    hooks = []
    for mod in net.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(linear_hook))
    with torch.no_grad():
        net(torch.zeros(1, in_c, size, size))
    for h in hooks:
        h.remove()
    return 2 * sum(macs)


def bench(resnet, norm, batch, seconds):
    torch.manual_seed(0)
    net = resnet.ResNet20(norm, CLASSES, IN_C)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9,
                          weight_decay=1e-4, nesterov=True)
    lossf = nn.CrossEntropyLoss()
    x = torch.rand(batch, IN_C, SIZE, SIZE)
    y = torch.randint(0, CLASSES, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        logits, _ = net(x)
        loss = lossf(logits, y)
        loss.backward()
        opt.step()

    # The machine may be shared, so keep the fastest round, the one least
    # disturbed.  A round runs for a tenth of the budget, as torch_lenet.py's
    # do, but a ResNet step can take most of that on its own: a round is at
    # least one step, not five, and the timed rounds stop once they have
    # used the budget (at least three, at most ten), so a large batch costs
    # a few steps rather than fifty.
    best = float("inf")
    spent = 0.0
    rounds = 0
    for rnd in range(-1, 10):
        steps = 0
        t0 = time.perf_counter()
        while True:
            step()
            steps += 1
            dt = time.perf_counter() - t0
            if dt >= seconds / 10:
                break
        if rnd < 0:
            continue        # the warm-up round: allocation, first-call costs
        best = min(best, dt / steps)
        spent += dt
        rounds += 1
        if rounds >= 3 and spent >= seconds:
            break
    print("torch resnet20-%s train batch %d: %.0f samples/s (%.3f ms/step)"
          % (norm, batch, batch / best, 1e3 * best), flush=True)


def parse_case(arg):
    norm, sep, batch = arg.partition(":")
    if not sep or norm not in NORMS or not batch.isdigit() or int(batch) < 1:
        raise ValueError(arg)
    return norm, int(batch)


def parse_seconds(arg):
    try:
        seconds = float(arg)
    except ValueError:
        raise ValueError(arg)
    if not 0 < seconds < float("inf"):
        raise ValueError(arg)
    return seconds


def main():
    prog = os.path.basename(sys.argv[0])
    try:
        seconds = parse_seconds(sys.argv[1]) if len(sys.argv) > 1 else 2.0
        cases = [parse_case(a) for a in sys.argv[2:] or DEFAULT_CASES]
    except ValueError as e:
        print("%s: bad argument '%s'; usage: %s [seconds per case] "
              "[evonorm|groupnorm:BATCH ...]" % (prog, e, prog),
              file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    resnet = load_definition()
    flops = forward_flops(resnet.ResNet20("evonorm", CLASSES, IN_C), IN_C, SIZE)
    print("resnet20 forward: %.3f MFLOP/sample" % (flops / 1e6), flush=True)
    for norm, batch in cases:
        bench(resnet, norm, batch, seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
