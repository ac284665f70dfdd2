/*
 * optim.c - SGD with momentum and the multi-step schedule (see optim.h).
 */
#include "optim.h"

/* One element: the arithmetic of optim.h, in that order. */
static inline float sgd_one(float *x, float *m, float grad, float lr, float beta, float wd,
                            int nesterov)
{
	float g = grad + wd * *x;
	float mi = beta * *m + g;
	*m = mi;
	*x -= lr * (nesterov ? g + beta * mi : mi);
	return *x;
}

/* Blocks of eight independent elements, which the compiler turns into SIMD
 * instructions at -O2, then the remainder; nesterov is a constant in each
 * caller below, so neither loop tests it. */
static inline void sgd(float *restrict x, float *restrict m, const float *restrict grad,
                       size_t n, float lr, float beta, float wd, int nesterov)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			sgd_one(x + i + j, m + i + j, grad[i + j], lr, beta, wd, nesterov);
	for (; i < n; i++)
		sgd_one(x + i, m + i, grad[i], lr, beta, wd, nesterov);
}

static void sgd_nesterov(float *restrict x, float *restrict m, const float *restrict grad,
                         size_t n, float lr, float beta, float wd)
{
	sgd(x, m, grad, n, lr, beta, wd, 1);
}

static void sgd_heavy_ball(float *restrict x, float *restrict m, const float *restrict grad,
                           size_t n, float lr, float beta, float wd)
{
	sgd(x, m, grad, n, lr, beta, wd, 0);
}

// params (N), momentum_buf (N), grad (N)
void ccl_sgd_step(const struct ccl_sgd *opt, float *params, float *momentum_buf,
                  const float *grad, size_t n)
{
	if (opt->nesterov)
		sgd_nesterov(params, momentum_buf, grad, n, opt->lr, opt->momentum, opt->weight_decay);
	else
		sgd_heavy_ball(params, momentum_buf, grad, n, opt->lr, opt->momentum, opt->weight_decay);
}

double ccl_lr_multistep(double base_lr, long epoch, const int *milestones, int n_milestones, double factor)
{
	/* Repeated multiplication, not pow: the same rounding as a schedule
	 * that divides the rate at each milestone in turn. */
	double lr = base_lr;
	for (int i = 0; i < n_milestones; i++)
		if (milestones[i] <= epoch)
			lr *= factor;
	return lr;
}
