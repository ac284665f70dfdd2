#!/usr/bin/python3
"""The whole training step of ccl-train-step against PyTorch: forward, loss,
backward and SGD with Nesterov momentum and weight decay, over several
steps.

    resnet20_steps_torch.py DATA_DIR INIT.npz AFTER.npz STEPS LR WD [NORM]

DATA_DIR holds train-images-idx3-ubyte and train-labels-idx1-ubyte (IDX,
one channel of 28x28, as many samples as ccl-train-step's batch, so that
every step is the whole set and its mean gradient does not depend on the
order the tool drew).  INIT.npz and AFTER.npz are `ccl-npz` exports of the
state before and after `ccl-train-step --steps STEPS --lr LR --weight-decay
WD` (momentum 0.9, Nesterov).  The same steps run here in float64 on
tests/peer/resnet20_torch.py's network from INIT's values, with inputs
normalised by 0.5 and 0.5, and every tensor is compared with AFTER's:
at most 1e-4 of the tensor's largest value apart.  Prints one line per
tensor that is not, then "steps check: N compared, M failed"; exits 1 if
any failed.
"""
import importlib.util
import os
import struct
import sys

import numpy
import torch
import torch.nn.functional as F

TOLERANCE = 1e-4


def idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(shape)


def main(argv):
    if len(argv) < 7:
        print(__doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 2
    data, init, after = argv[1], argv[2], argv[3]
    steps, lr, wd = int(argv[4]), float(argv[5]), float(argv[6])
    norm = argv[7] if len(argv) > 7 else "evonorm"
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("resnet20_torch", os.path.join(here, "resnet20_torch.py"))
    definition = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode = True
    spec.loader.exec_module(definition)

    torch.set_num_threads(1)
    x = idx(os.path.join(data, "train-images-idx3-ubyte")).double().div(255).sub(0.5).div(0.5).unsqueeze(1)
    y = idx(os.path.join(data, "train-labels-idx1-ubyte")).long()
    net = definition.ResNet20(norm=norm, classes=10, in_c=1).double()
    start = numpy.load(init)
    net.load_state_dict({k: torch.from_numpy(start[k]).double() for k in start.files}, strict=True)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)
    for _ in range(steps):
        logits, _ = net(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    end = numpy.load(after)
    failed = 0
    state = net.state_dict()
    for name, value in state.items():
        ours = end[name].astype(numpy.float64)
        diff = numpy.abs(value.numpy() - ours).max()
        scale = max(numpy.abs(ours).max(), 1e-12)
        if diff > TOLERANCE * scale:
            print("%s: off by %.3g of its largest value %.3g  FAIL" % (name, diff / scale, scale))
            failed += 1
    print("steps check: %d compared, %d failed" % (len(state), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
