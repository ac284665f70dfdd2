/*
 * privacy.h - what private feature statistics cost: a zero-concentrated
 * differential privacy (zCDP) accountant.
 *
 * Neighbouring relation: two shards of one agent are neighbours when one
 * has a sample the other lacks in its place (the sample is "zeroed out":
 * it enters no statistic; Kairouz et al., ICML 2021).  Shard sizes, and so
 * the batch orders drawn from the seed, are public.  Under it one sample
 * moves a clipped statistic's sums by at most C and its counts by at most 1.
 *
 * One release with noise multiplier sigma (featstat.h) is two Gaussian
 * mechanisms, sums (sensitivity C, noise sigma C) and counts (sensitivity 1,
 * noise sigma), each 1 / (2 sigma^2)-zCDP (Bun and Steinke, TCC 2016,
 * Prop. 1.6): rho = 1 / sigma^2 together.  zCDP adds up over releases.
 *
 * A run: every epoch visits each sample in exactly one batch (shard.h),
 * and the noise of different releases is independent, so a sample pays
 * only for the releases of its own batch.  An agent's loss over a run is
 * therefore bounded by the sum over epochs of the largest total rho
 * released on one batch of that epoch, plus every release of the whole
 * shard.  No amplification by subsampling is claimed.  The conversion to
 * (epsilon, delta)-DP is Bun and Steinke's Prop. 1.3:
 *   epsilon = rho + 2 sqrt(rho log(1 / delta)).
 *
 * The normal variates come from the Box-Muller transform of 53-bit
 * uniforms, whose largest value is about 8.6 standard deviations: the
 * noise is a normal distribution truncated there, which differs from the
 * analysed one with probability below 1e-17 per draw.
 *
 * What this covers, and what not: the released statistics, as a mechanism
 * run on fixed models.  Agents' models are trained on their shards and
 * gossiped in the clear; they are not protected, and since the statistics
 * are computed under them, the guarantee holds for the statistics channel
 * only, as if the models were public.
 */
#ifndef CCL_PRIVACY_H
#define CCL_PRIVACY_H

/* zCDP loss rho of one release with noise multiplier sigma. */
double ccl_privacy_rho(double noise);

/* epsilon of rho-zCDP at the given delta (0 < delta < 1). */
double ccl_privacy_epsilon(double rho, double delta);

/* The noise multiplier for which `releases` releases (per sample) cost at
 * most epsilon at delta: the inverse of the two functions above. */
double ccl_privacy_noise_for(double epsilon, double delta, double releases);

/* One released statistic, as the accountant needs it: whose data, which
 * batch (epoch -1 for the whole shard) and its rho. */
struct ccl_release_record {
	long data_agent, epoch, step, batch;
	double rho;
};

/* An agent's account: the releases of its data and their bound rho. */
struct ccl_privacy_account {
	long data_agent;
	long releases;
	long epochs; /* epochs with at least one release */
	double rho;
};

/* Accounts the n records (reordered) per data agent as described above;
 * returns the number of agents, filling accounts (n entries at most) in
 * order of data agent.  Batches of one agent's releases must all have one
 * size (those of different sizes at one step overlap, and the bound above
 * would not hold): otherwise -1, with *bad_agent set. */
int ccl_privacy_account(struct ccl_release_record *records, int n, struct ccl_privacy_account *accounts,
                        long *bad_agent);

#endif
