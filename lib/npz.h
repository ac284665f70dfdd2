/*
 * npz.h - a network's parameters as a NumPy .npz file, and back.
 *
 * The file is a zip archive (members stored, not compressed) of one NPY
 * file per named tensor of the architecture (model.h): "conv1.weight.npy"
 * holds conv1.weight as little-endian float32 ('<f4') in C order with its
 * real shape, (6, 1, 5, 5) and so on, in the order of the parameter
 * vector.  numpy.load opens it as a mapping from those names to arrays,
 * which is what a PyTorch state_dict of the same architecture is named by
 * (ResNet-20's names are its PyTorch module's, tests/peer/resnet20_torch.py).
 * Members carry no time stamp, so the same parameters give the same bytes.
 *
 * Reading is strict: every tensor of the architecture exactly once, with
 * its shape, as '<f4' in C order, in an NPY header of version 1, 2 or 3,
 * and nothing else.
 */
#ifndef CCL_NPZ_H
#define CCL_NPZ_H

#include "model.h"

/* Writes the parameters `params` of `net` to `path` (atomically, as every
 * output).  Returns the bytes written, or -1. */
long ccl_npz_write(const ccl_net *net, const float *params, const char *path);

/* Reads `path` into params (ccl_net_param_count(net) floats) for `net`'s
 * architecture.  0, or -1 after ccl_fail naming the file. */
int ccl_npz_read(const ccl_net *net, float *params, const char *path);

/* Whether the file at `path` starts as a zip archive does (the export's
 * form), as opposed to an artifact. */
int ccl_npz_is_zip(const char *path);

#endif
