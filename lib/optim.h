/*
 * optim.h - the local optimizer step and the learning-rate schedule.
 *
 * SGD with momentum, optional Nesterov direction and L2 weight decay applied
 * to every parameter (biases included), in exactly the order of PyTorch's
 * torch.optim.SGD, which the published experiments use:
 *
 *   g = grad + wd * x
 *   m = beta * m + g                  (no dampening)
 *   d = nesterov ? g + beta * m : m
 *   x = x - lr * d
 *
 * The momentum buffer starts at zero.  (PyTorch seeds it with the first
 * gradient instead; with beta * 0 + g that is the same thing.)
 */
#ifndef CCL_OPTIM_H
#define CCL_OPTIM_H

#include <stddef.h>

struct ccl_sgd {
	float lr;
	float momentum;     /* beta */
	float weight_decay; /* wd */
	int nesterov;       /* non-zero: step along g + beta * m */
};

/* params (N), momentum_buf (N) updated in place; grad (N) is only read.
 * The three arrays must not overlap. */
void ccl_sgd_step(const struct ccl_sgd *opt, float *params, float *momentum_buf,
                  const float *grad, size_t n);

/* base_lr * factor^(number of milestones <= epoch); epochs count from 0, so
 * a milestone e takes effect at the start of epoch e.  The one schedule:
 * ccl-train-step's rate comes from here, and the experiment scripts read
 * the rate each step used from the states. */
double ccl_lr_multistep(double base_lr, long epoch, const int *milestones, int n_milestones, double factor);

#endif
