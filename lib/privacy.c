#include <math.h>
#include <stdlib.h>

#include "privacy.h"

double ccl_privacy_rho(double noise)
{
	return 1.0 / (noise * noise);
}

double ccl_privacy_epsilon(double rho, double delta)
{
	return rho + 2.0 * sqrt(rho * log(1.0 / delta));
}

double ccl_privacy_noise_for(double epsilon, double delta, double releases)
{
	/* epsilon = rho + 2 sqrt(rho L) is a quadratic in sqrt(rho). */
	double L = log(1.0 / delta), root = sqrt(L + epsilon) - sqrt(L);
	return sqrt(releases / (root * root));
}

static int by_batch(const void *pa, const void *pb)
{
	const struct ccl_release_record *a = pa, *b = pb;
	if (a->data_agent != b->data_agent)
		return a->data_agent < b->data_agent ? -1 : 1;
	if (a->epoch != b->epoch)
		return a->epoch < b->epoch ? -1 : 1;
	if (a->step != b->step)
		return a->step < b->step ? -1 : 1;
	return 0;
}

int ccl_privacy_account(struct ccl_release_record *r, int n, struct ccl_privacy_account *accounts,
                        long *bad_agent)
{
	int agents = 0;
	qsort(r, (size_t)n, sizeof *r, by_batch);
	for (int i = 1; i < n; i++)
		if (r[i].data_agent == r[i - 1].data_agent && r[i].epoch >= 0 && r[i - 1].epoch >= 0 &&
		    r[i].batch != r[i - 1].batch) {
			*bad_agent = r[i].data_agent;
			return -1;
		}
	for (int i = 0; i < n;) {
		struct ccl_privacy_account *acc = &accounts[agents++];
		*acc = (struct ccl_privacy_account){.data_agent = r[i].data_agent};
		while (i < n && r[i].data_agent == acc->data_agent) {
			/* One epoch (or all whole-shard releases, epoch -1). */
			long epoch = r[i].epoch;
			double largest = 0, whole = 0;
			acc->epochs += epoch >= 0;
			while (i < n && r[i].data_agent == acc->data_agent && r[i].epoch == epoch) {
				long step = r[i].step;
				double batch = 0;
				for (; i < n && r[i].data_agent == acc->data_agent && r[i].epoch == epoch && r[i].step == step;
				     i++) {
					batch += r[i].rho;
					whole += r[i].rho;
					acc->releases++;
				}
				if (batch > largest)
					largest = batch;
			}
			acc->rho += epoch < 0 ? whole : largest;
		}
	}
	return agents;
}
