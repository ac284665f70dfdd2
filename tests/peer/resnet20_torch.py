#!/usr/bin/python3
"""Peer check of the C ResNet-20 against the same network in PyTorch.

    resnet20_torch.py DIR
    resnet20_torch.py --self-test

DIR holds what a C program wrote from one forward and backward pass (all
binary files little-endian):

    meta.txt        "ARCH NORM CLASSES IN_C IN_H IN_W BATCH"
    table.txt       one line a parameter tensor, in the vector's order:
                    "NAME NDIM D0 D1 D2 D3 OFFSET SIZE" (unused dims 0,
                    OFFSET and SIZE in floats)
    params.f32      the flat parameter vector
    input.f32       (BATCH, IN_C, IN_H, IN_W)
    labels.i32      (BATCH)
    dfeatures.f32   (BATCH, 64), a fixed gradient with respect to features
    logits.f32      (BATCH, CLASSES), computed by C
    features.f32    (BATCH, 64), computed by C
    grad.f32        dL/dparams, laid out as params.f32, computed by C

with L = mean cross-entropy(logits, labels) + sum(features * dfeatures).

The reference runs in float64 from the same float32 parameters and input,
so its own rounding is negligible next to the C side's float32; a tensor
passes when max |c - ref| <= 1e-4 * max |ref| + 1e-6.  One line is printed
per compared tensor, then "peer check: N compared, M failed".

Exit status: 0 when everything agrees; 1 when something disagrees,
including a parameter table whose names or shapes are not this network's;
2 for a usage error or a missing, short or malformed file.

--self-test needs no DIR: it builds the network for (evonorm, 3x32x32, 10
classes) and (groupnorm, 1x28x28, 100 classes), checks the shapes a forward
pass gives and EvoNorm-S0 against a literal per-group evaluation, prints the
parameter counts and requires 272,474 for the first.

This file is also the one definition of the network that
tests/bench/torch_resnet.py imports, so it does nothing when imported.
"""
import array
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

FEATURES = 64           # width of the last stage, hence of the features
EVONORM_GROUPS = 8
GROUPNORM_GROUPS = 2
EPS = 1e-5
REL_TOL, ABS_TOL = 1e-4, 1e-6
# ResNet-20 with 1x1 convolution shortcuts, EvoNorm-S0, 3x32x32, 10 classes.
EXPECTED_COUNT = 272474


# ----------------------------------------------------------------------------
# The network


class EvoNormS0(nn.Module):
    """The toolkit's EvoNorm-S0: a hard sigmoid in place of the paper's
    sigmoid(v * x), and no learned v.

        y = x * hardsigmoid(x) / sqrt(var_group(x) + eps) * weight + bias

    var_group is the biased variance of x over one sample's group of
    consecutive channels and all their pixels (GroupNorm's grouping).  The
    numerator uses x itself, not x minus its mean: only the scale is
    normalised, which is why the network needs no ReLU with this norm.
    """

    def __init__(self, channels, groups=EVONORM_GROUPS, eps=EPS):
        super().__init__()
        if channels % groups:
            raise ValueError("%d channels do not split into %d groups"
                             % (channels, groups))
        self.groups, self.eps = groups, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        n, c, h, w = x.shape
        grouped = x.reshape(n, self.groups, -1)
        var = grouped.var(dim=2, unbiased=False, keepdim=True)
        # F.hardsigmoid is relu6(x + 3) / 6 = clamp(x / 6 + 1/2, 0, 1).
        y = (grouped * F.hardsigmoid(grouped)) * torch.rsqrt(var + self.eps)
        y = y.reshape(n, c, h, w)
        return y * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)


def make_norm(norm, channels):
    if norm == "evonorm":
        return EvoNormS0(channels)
    if norm == "groupnorm":
        return nn.GroupNorm(GROUPNORM_GROUPS, channels, eps=EPS)
    raise ValueError("unknown norm '%s' (evonorm or groupnorm)" % norm)


def conv3x3(cin, cout, stride):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class Shortcut(nn.Module):
    """1x1 convolution then norm, where the block changes shape.  A module
    of its own so the names come out as 'shortcut.conv' and
    'shortcut.norm', as in the C table."""

    def __init__(self, norm, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
        self.norm = make_norm(norm, cout)

    def forward(self, x):
        return self.norm(self.conv(x))


class BasicBlock(nn.Module):
    """conv-norm-conv-norm plus shortcut.  With groupnorm a ReLU follows the
    first norm and the addition; with evonorm there is no ReLU at all, the
    hard sigmoid inside the norm being the nonlinearity."""

    def __init__(self, norm, cin, cout, stride):
        super().__init__()
        self.relu = norm == "groupnorm"
        self.conv1 = conv3x3(cin, cout, stride)
        self.norm1 = make_norm(norm, cout)
        self.conv2 = conv3x3(cout, cout, 1)
        self.norm2 = make_norm(norm, cout)
        # Registered only where needed, so the identity adds no names.
        if stride != 1 or cin != cout:
            self.shortcut = Shortcut(norm, cin, cout, stride)
        else:
            self.shortcut = None

    def forward(self, x):
        y = self.norm1(self.conv1(x))
        if self.relu:
            y = F.relu(y)
        y = self.norm2(self.conv2(y))
        y = y + (x if self.shortcut is None else self.shortcut(x))
        return F.relu(y) if self.relu else y


class ResNet20(nn.Module):
    """ResNet-20 for small images: a 16-channel stem, three stages of three
    basic blocks at 16, 32 and 64 channels (the first block of the second
    and third stage at stride 2), global average pooling to 64 features,
    and a linear classifier.  forward returns (logits, features)."""

    def __init__(self, norm="evonorm", classes=10, in_c=3):
        super().__init__()
        self.norm = norm
        self.relu = norm == "groupnorm"
        self.conv1 = conv3x3(in_c, 16, 1)
        self.norm1 = make_norm(norm, 16)
        cin = 16
        for i, cout in enumerate((16, 32, FEATURES)):
            stride = 1 if i == 0 else 2
            blocks = []
            for b in range(3):
                blocks.append(BasicBlock(norm, cin, cout, stride if b == 0 else 1))
                cin = cout
            # nn.Sequential numbers its children, giving 'layerS.B.*'.
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*blocks))
        self.fc = nn.Linear(FEATURES, classes)

    def trunk(self, x):
        """The last stage's feature map, before pooling."""
        y = self.norm1(self.conv1(x))
        if self.relu:
            y = F.relu(y)
        return self.layer3(self.layer2(self.layer1(y)))

    def forward(self, x):
        features = self.trunk(x).mean(dim=(2, 3))
        return self.fc(features), features


def param_count(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------
# Reading the C side's files


class FileError(Exception):
    """A usage, missing-file or format problem: exit status 2."""


def read_binary(path, typecode, count):
    """Exactly count little-endian items of array typecode ('f' or 'i')
    from path, as a flat tensor."""
    a = array.array(typecode)
    if a.itemsize != 4:
        raise FileError("this Python's array '%s' is not 4 bytes" % typecode)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise FileError("%s: %s" % (path, e.strerror))
    if len(data) != 4 * count:
        raise FileError("%s: %d bytes, expected %d (%d values)"
                        % (path, len(data), 4 * count, count))
    a.frombytes(data)
    if sys.byteorder == "big":
        a.byteswap()
    # torch.tensor copies, so the tensor does not keep the array alive.
    dtype = torch.float32 if typecode == "f" else torch.int32
    return torch.tensor(a, dtype=dtype)


def read_lines(path):
    try:
        with open(path) as f:
            return [ln.split() for ln in f if ln.strip()]
    except OSError as e:
        raise FileError("%s: %s" % (path, e.strerror))
    except UnicodeDecodeError:
        raise FileError("%s: not text" % path)


def parse_ints(fields, path, lineno):
    try:
        return [int(v) for v in fields]
    except ValueError:
        raise FileError("%s:%d: expected integers, got '%s'"
                        % (path, lineno, " ".join(fields)))


def read_meta(d):
    path = os.path.join(d, "meta.txt")
    lines = read_lines(path)
    if len(lines) != 1 or len(lines[0]) != 7:
        raise FileError("%s: expected one line 'ARCH NORM CLASSES IN_C IN_H "
                        "IN_W BATCH'" % path)
    arch, norm = lines[0][:2]
    classes, in_c, in_h, in_w, batch = parse_ints(lines[0][2:], path, 1)
    if arch != "resnet20":
        raise FileError("%s: architecture '%s', this check is for resnet20"
                        % (path, arch))
    if norm not in ("evonorm", "groupnorm"):
        raise FileError("%s: norm '%s', expected evonorm or groupnorm"
                        % (path, norm))
    if min(classes, in_c, in_h, in_w, batch) < 1:
        raise FileError("%s: sizes must be positive" % path)
    return norm, classes, in_c, in_h, in_w, batch


def read_table(d):
    """[(name, shape, offset, size)] in file order, each line checked on its
    own: the shape's product is the size and unused dims are 0."""
    path = os.path.join(d, "table.txt")
    table = []
    for i, fields in enumerate(read_lines(path), 1):
        if len(fields) != 8:
            raise FileError("%s:%d: expected 'NAME NDIM D0 D1 D2 D3 OFFSET "
                            "SIZE'" % (path, i))
        ndim, d0, d1, d2, d3, offset, size = parse_ints(fields[1:], path, i)
        dims = [d0, d1, d2, d3]
        if not 1 <= ndim <= 4 or any(dims[ndim:]) or min(dims[:ndim]) < 1:
            raise FileError("%s:%d: bad shape for %s" % (path, i, fields[0]))
        if offset < 0:
            raise FileError("%s:%d: negative offset" % (path, i))
        if size != math.prod(dims[:ndim]):
            raise FileError("%s:%d: %s has size %d, its shape says %d"
                            % (path, i, fields[0], size,
                               math.prod(dims[:ndim])))
        table.append((fields[0], tuple(dims[:ndim]), offset, size))
    if not table:
        raise FileError("%s: empty" % path)
    return table


def check_layout(table, total):
    """The tensors must tile the vector: in bounds, no overlap, and their
    sizes summing to its length (so nothing is left over either)."""
    end = 0
    for name, _, offset, size in sorted(table, key=lambda t: t[2]):
        if offset < end:
            raise FileError("table.txt: %s overlaps the tensor before it"
                            % name)
        end = offset + size
    if end > total:
        raise FileError("table.txt: tensors reach float %d, params.f32 has %d"
                        % (end, total))


def match_table(model, table):
    """Names and shapes of the table against the module's state_dict.
    Returns a list of problems, empty when they are the same set."""
    ref = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {}
    problems = []
    for name, shape, _, _ in table:
        if name in got:
            problems.append("%s appears twice in table.txt" % name)
        got[name] = shape
    for name in ref:
        if name not in got:
            problems.append("%s is missing from table.txt" % name)
        elif got[name] != ref[name]:
            problems.append("%s has shape %s in table.txt, %s in the model"
                            % (name, list(got[name]), list(ref[name])))
    for name in got:
        if name not in ref:
            problems.append("%s in table.txt is not a parameter of the model"
                            % name)
    if len(table) != len(ref) and not problems:
        problems.append("table.txt has %d tensors, the model %d"
                        % (len(table), len(ref)))
    return problems


# ----------------------------------------------------------------------------
# The check


def compare(name, c, ref):
    """One line for one tensor; True when it passes."""
    c = c.to(torch.float64).reshape(-1)
    ref = ref.detach().to(torch.float64).reshape(-1)
    err = (c - ref).abs().max().item()
    scale = ref.abs().max().item()
    # A NaN anywhere makes err NaN, and NaN <= tol is False: a failure.
    ok = err <= REL_TOL * scale + ABS_TOL
    print("%-36s max|err| %.3e  max|ref| %.3e  %s"
          % (name, err, scale, "ok" if ok else "FAIL"))
    return ok


def peer_check(d):
    if not os.path.isdir(d):
        raise FileError("%s: not a directory" % d)
    norm, classes, in_c, in_h, in_w, batch = read_meta(d)
    table = read_table(d)
    total = sum(t[3] for t in table)
    params = read_binary(os.path.join(d, "params.f32"), "f", total)
    check_layout(table, total)

    model = ResNet20(norm, classes, in_c).double()
    count = param_count(model)
    print("resnet20-%s %dx%dx%d, %d classes, batch %d"
          % (norm, in_c, in_h, in_w, classes, batch))
    print("parameters: model %d, table %d, params.f32 %d"
          % (count, total, params.numel()))
    problems = match_table(model, table)
    if count != total:
        problems.append("the model has %d parameters, table.txt %d"
                        % (count, total))
    # Loading is by name and offset, so another order is not an error, but
    # the C tables are meant to follow PyTorch's order back to back: say so.
    packed = [sum(t[3] for t in table[:i]) for i in range(len(table))]
    if not problems and ([t[0] for t in table] != list(model.state_dict())
                         or [t[2] for t in table] != packed):
        print("table: note: not in state_dict order back to back "
              "(loaded by name, so not a failure)")
    if problems:
        for p in problems:
            print("table: " + p)
        print("table: not this network's parameters, nothing compared")
        print("peer check: 0 compared, 1 failed")
        return 1

    x = read_binary(os.path.join(d, "input.f32"), "f",
                    batch * in_c * in_h * in_w)
    labels = read_binary(os.path.join(d, "labels.i32"), "i", batch)
    dfeat = read_binary(os.path.join(d, "dfeatures.f32"), "f",
                        batch * FEATURES)
    c_logits = read_binary(os.path.join(d, "logits.f32"), "f",
                           batch * classes)
    c_features = read_binary(os.path.join(d, "features.f32"), "f",
                             batch * FEATURES)
    c_grad = read_binary(os.path.join(d, "grad.f32"), "f", total)
    if labels.min().item() < 0 or labels.max().item() >= classes:
        raise FileError("labels.i32: a label outside 0..%d" % (classes - 1))

    # Load by name, so the check does not depend on the table's order.
    state = {name: params[off:off + size].to(torch.float64).view(shape)
             for name, shape, off, size in table}
    model.load_state_dict(state, strict=True)

    x = x.to(torch.float64).view(batch, in_c, in_h, in_w)
    logits, features = model(x)
    loss = (F.cross_entropy(logits, labels.long())
            + (features * dfeat.to(torch.float64).view(batch, FEATURES)).sum())
    loss.backward()
    print("loss (reference): %.9g" % loss.item())

    grads = dict(model.named_parameters())
    results = [compare("logits", c_logits, logits),
               compare("features", c_features, features)]
    # In the table's order, which is the order of the C vector.
    for name, _, off, size in table:
        results.append(compare("grad " + name, c_grad[off:off + size],
                               grads[name].grad))
    failed = results.count(False)
    print("peer check: %d compared, %d failed" % (len(results), failed))
    return 1 if failed else 0


# ----------------------------------------------------------------------------
# Self-test


def evonorm_literal(x, weight, bias, groups):
    """EvoNorm-S0 written out group by group and channel by channel, a second
    reading of the definition to hold the vectorised module to."""
    n, c = x.shape[:2]
    per = c // groups
    y = torch.empty_like(x)
    for s in range(n):
        for g in range(groups):
            chans = x[s, g * per:(g + 1) * per]
            var = ((chans - chans.mean()) ** 2).mean()
            for k in range(per):
                ch = g * per + k
                v = x[s, ch]
                hs = torch.clamp(v / 6 + 0.5, 0, 1)
                y[s, ch] = v * hs / torch.sqrt(var + EPS) * weight[ch] + bias[ch]
    return y


def self_test():
    failed = 0
    torch.manual_seed(0)

    # EvoNorm-S0 against the literal form, with weights and biases that are
    # not 1 and 0 and inputs that reach both flat parts of the hard sigmoid.
    norm = EvoNormS0(16).double()
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    x = 4 * torch.randn(3, 16, 5, 5, dtype=torch.float64)
    err = (norm(x) - evonorm_literal(x, norm.weight, norm.bias,
                                     EVONORM_GROUPS)).abs().max().item()
    ok = err < 1e-12
    failed += not ok
    print("evonorm-s0 vs literal form: max|err| %.1e  %s"
          % (err, "ok" if ok else "FAIL"))

    for norm, in_c, size, classes, pooled, want in (
            ("evonorm", 3, 32, 10, 8, EXPECTED_COUNT),
            ("groupnorm", 1, 28, 100, 7, None)):
        model = ResNet20(norm, classes, in_c).double()
        count = param_count(model)
        x = torch.randn(2, in_c, size, size, dtype=torch.float64)
        with torch.no_grad():
            fmap = model.trunk(x)
            logits, features = model(x)
        shapes = (tuple(fmap.shape) == (2, FEATURES, pooled, pooled)
                  and tuple(features.shape) == (2, FEATURES)
                  and tuple(logits.shape) == (2, classes))
        ok = shapes and (want is None or count == want)
        failed += not ok
        print("resnet20-%s %dx%dx%d, %d classes: %d parameters in %d "
              "tensors, pooled over %dx%d  %s"
              % (norm, in_c, size, size, classes, count,
                 len(model.state_dict()), fmap.shape[2], fmap.shape[3],
                 "ok" if ok else "FAIL"))
        if want is not None and count != want:
            print("  expected %d parameters" % want)
    print("self-test: %s" % ("failed" if failed else "ok"))
    return 1 if failed else 0


def main(argv):
    prog = os.path.basename(argv[0])
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print("usage: %s DIR | --self-test" % prog, file=sys.stderr)
        return 2
    try:
        if argv[1] == "--self-test":
            return self_test()
        return peer_check(argv[1])
    except FileError as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
