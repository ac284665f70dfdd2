/* Mixing, the QGM correction, averaging and consensus distance on cases
 * worked by hand, and the feature statistics and both cross-feature terms
 * against hand-worked values and finite differences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crossfeat.h"
#include "featstat.h"
#include "gossip.h"
#include "unit.h"

int main(void)
{
	/* Agent with x = (1, 2), neighbours (3, 6) and (-1, 0), weights 1/3,
	 * gamma 0.9: x + 0.9 * (1/3 * (2, 4) + 1/3 * (-2, -2)) = (1, 2.6). */
	float x[2] = {1, 2}, before[2] = {1, 2};
	const float n1[2] = {3, 6}, n2[2] = {-1, 0}, *nb[2] = {n1, n2};
	double w[2] = {1.0 / 3, 1.0 / 3};
	ccl_mix(x, nb, w, 2, 0.9, 2);
	CHECK_NEAR(x[0], 1.0, 1e-6);
	CHECK_NEAR(x[1], 2.6, 1e-6);

	/* QGM: m - (x_after - x_before) / lr_prev, lr_prev 0.1:
	 * m = (0.5, -1) becomes (0.5 - 0, -1 - 6) = (0.5, -7). */
	float m[2] = {0.5f, -1};
	ccl_qgm_correct(m, before, x, 0.1, 1.0, 2);
	CHECK_NEAR(m[0], 0.5, 1e-6);
	CHECK_NEAR(m[1], -7.0, 1e-5);
	/* The damped variant, scale 0.1: (0.5, -1 - 0.1 * 6) = (0.5, -1.6). */
	float md[2] = {0.5f, -1};
	ccl_qgm_correct(md, before, x, 0.1, 0.1, 2);
	CHECK_NEAR(md[0], 0.5, 1e-6);
	CHECK_NEAR(md[1], -1.6, 1e-5);

	/* Average and consensus distance of (0, 0), (2, 0), (1, 3): mean (1, 1);
	 * squared distances 2, 2, 4; consensus distance 8 / 3. */
	const float a[2] = {0, 0}, b[2] = {2, 0}, c[2] = {1, 3}, *models[3] = {a, b, c};
	float avg[2];
	ccl_average(avg, models, NULL, 3, 2);
	CHECK_NEAR(avg[0], 1, 1e-7);
	CHECK_NEAR(avg[1], 1, 1e-7);
	double wts[3] = {0.5, 0.25, 0.25};
	ccl_average(avg, models, wts, 3, 2);
	CHECK_NEAR(avg[0], 0.75, 1e-7);
	CHECK_NEAR(avg[1], 0.75, 1e-7);
	CHECK_NEAR(ccl_consensus_distance(models, 3, 2), 8.0 / 3, 1e-12);

	/* Feature statistics: features (batch 3, dim 2) with labels 1, 0, 1 over
	 * 3 classes: S_0 = (3, 4), S_1 = (1, 2) + (5, 6) = (6, 8), S_2 = 0;
	 * counts 1, 2, 0; means (3, 4), (3, 4), (0, 0). */
	const float z[6] = {1, 2, 3, 4, 5, 6};
	const int32_t labels[3] = {1, 0, 1};
	double sums[6] = {0}, counts[3] = {0};
	float mu[6];
	ccl_featstat_accumulate(sums, counts, z, labels, 3, 2);
	CHECK(sums[0] == 3 && sums[1] == 4 && sums[2] == 6 && sums[3] == 8 && sums[4] == 0 && sums[5] == 0);
	CHECK(counts[0] == 1 && counts[1] == 2 && counts[2] == 0);
	ccl_class_means(mu, sums, counts, 3, 2);
	CHECK(mu[0] == 3 && mu[1] == 4 && mu[2] == 3 && mu[3] == 4 && mu[4] == 0 && mu[5] == 0);

	/* L_d = mean over the 6 elements of (z - mu_y)^2:
	 * rows (1,2)-(3,4), (3,4)-(3,4), (5,6)-(3,4): (4+4+0+0+4+4)/6 = 16/6. */
	float dz[6] = {0};
	CHECK_NEAR(ccl_data_variant_loss(z, labels, mu, 3, 2, 0.5f, dz), 16.0 / 6, 1e-12);
	/* gradient 0.5 * 2 (z - mu) / 6: row 0 = (-2, -2) / 6. */
	CHECK_NEAR(dz[0], -2.0 / 6, 1e-7);
	CHECK_NEAR(dz[5], 2.0 / 6, 1e-7);

	/* L_m with two neighbours' cross-features: sum of the two MSEs. */
	const float c1[6] = {1, 2, 3, 4, 5, 5}, c2[6] = {0, 0, 0, 0, 0, 0}, *cross[2] = {c1, c2};
	float dzm[6] = {0};
	double lm = ccl_model_variant_loss(z, cross, 2, 3, 2, 1.0f, dzm);
	CHECK_NEAR(lm, 1.0 / 6 + 91.0 / 6, 1e-12);

	/* Both gradients against central differences of the loss in z. */
	float zz[6];
	for (int i = 0; i < 6; i++)
		zz[i] = z[i];
	float g_m[6] = {0}, g_d[6] = {0}, scratch[6];
	ccl_model_variant_loss(zz, cross, 2, 3, 2, 0.7f, g_m);
	ccl_data_variant_loss(zz, labels, mu, 3, 2, 0.3f, g_d);
	for (int i = 0; i < 6; i++) {
		const float h = 1e-2f;
		float save = zz[i];
		zz[i] = save + h;
		double lm_p = 0.7 * ccl_model_variant_loss(zz, cross, 2, 3, 2, 0, scratch);
		double ld_p = 0.3 * ccl_data_variant_loss(zz, labels, mu, 3, 2, 0, scratch);
		zz[i] = save - h;
		double lm_n = 0.7 * ccl_model_variant_loss(zz, cross, 2, 3, 2, 0, scratch);
		double ld_n = 0.3 * ccl_data_variant_loss(zz, labels, mu, 3, 2, 0, scratch);
		zz[i] = save;
		CHECK_NEAR(g_m[i], (lm_p - lm_n) / (2 * h), 1e-4);
		CHECK_NEAR(g_d[i], (ld_p - ld_n) / (2 * h), 1e-4);
	}
	/* Renormalising after the second of three neighbours went missing:
	 * weights 1/4 each and 1/4 for the agent itself, the two left become
	 * 1/3 each and the agent's 1/4 x 4/3 = 1/3. */
	double rw[3] = {0.25, 0.25, 0.25};
	int present[3] = {1, 0, 1};
	double factor = ccl_renormalise_weights(rw, present, 3, 0.25);
	CHECK_NEAR(rw[0], 1.0 / 3, 1e-15);
	CHECK_NEAR(rw[1], 1.0 / 3, 1e-15);
	CHECK_NEAR(0.25 * factor, 1.0 / 3, 1e-15);

	/* The gossip step: mixing, then QGM except before the first step. */
	ccl_agent st, nbr[2];
	CHECK(!ccl_agent_init(&st, "mlp", 2, 1, 2, 2, 1, 0, CCL_ORDER_SHARED));
	CHECK(!ccl_agent_init(&nbr[0], "mlp", 2, 1, 2, 2, 2, 1, CCL_ORDER_SHARED));
	CHECK(!ccl_agent_init(&nbr[1], "mlp", 2, 1, 2, 2, 3, 2, CCL_ORDER_SHARED));
	size_t np = ccl_net_param_count(st.net);
	float *x0 = malloc(np * sizeof *x0), *mixed = malloc(np * sizeof *mixed);
	const float *vecs[2] = {nbr[0].params, nbr[1].params};
	double gw[2] = {0.3, 0.2};
	for (size_t i = 0; i < np; i++)
		x0[i] = st.params[i], st.momentum[i] = 0.5f;
	memcpy(mixed, x0, np * sizeof *mixed);
	ccl_mix(mixed, vecs, gw, 2, 0.9, np);
	CHECK(ccl_gossip_step(&st, nbr, gw, 2, 0.9, 1, 1.0) == 0); /* lr 0: no correction */
	CHECK(!memcmp(st.params, mixed, np * sizeof *mixed));
	int untouched = 1;
	for (size_t i = 0; i < np; i++)
		untouched &= st.momentum[i] == 0.5f;
	CHECK(untouched);
	memcpy(st.params, x0, np * sizeof *x0);
	st.lr = 0.1;
	CHECK(ccl_gossip_step(&st, nbr, gw, 2, 0.9, 1, 1.0) == 1);
	double worst = 0;
	for (size_t i = 0; i < np; i++)
		worst = fmax(worst, fabs(st.momentum[i] - (0.5 - ((double)mixed[i] - x0[i]) / 0.1)));
	CHECK_MSG(worst < 1e-4, "QGM momentum off by %g", worst);
	free(x0);
	free(mixed);
	ccl_agent_free(&st);
	ccl_agent_free(&nbr[0]);
	ccl_agent_free(&nbr[1]);
	return unit_report();
}
