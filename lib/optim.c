/*
 * optim.c - SGD with momentum and the multi-step schedule (see optim.h).
 */
#include "optim.h"

// params (N), momentum_buf (N), grad (N)
void ccl_sgd_step(const struct ccl_sgd *opt, float *params, float *momentum_buf,
                  const float *grad, size_t n)
{
	float lr = opt->lr, beta = opt->momentum, wd = opt->weight_decay;

	if (opt->nesterov) {
		for (size_t i = 0; i < n; i++) {
			float g = grad[i] + wd * params[i];
			float m = beta * momentum_buf[i] + g;
			momentum_buf[i] = m;
			params[i] -= lr * (g + beta * m);
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			float g = grad[i] + wd * params[i];
			float m = beta * momentum_buf[i] + g;
			momentum_buf[i] = m;
			params[i] -= lr * m;
		}
	}
}

float ccl_lr_multistep(float base_lr, int epoch, const int *milestones, int n_milestones,
                       float factor)
{
	/* Repeated multiplication, not powf: the same rounding as a schedule
	 * that divides the rate at each milestone in turn. */
	float lr = base_lr;
	for (int i = 0; i < n_milestones; i++)
		if (milestones[i] <= epoch)
			lr *= factor;
	return lr;
}
