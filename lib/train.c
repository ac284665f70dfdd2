#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crossfeat.h"
#include "error.h"
#include "nn.h"
#include "train.h"

double ccl_train_lr(const struct ccl_train_config *config, long epoch)
{
	return ccl_lr_multistep(config->lr, epoch, config->milestones, config->n_milestones, config->lr_factor);
}

void ccl_next_batch_position(const ccl_agent *a, long n, int batch, long *epoch, long *step)
{
	*epoch = a->epoch;
	*step = a->step;
	if (*step >= ccl_steps_per_epoch(n, batch))
		++*epoch, *step = 0;
}

int ccl_next_batch(const ccl_agent *a, const ccl_shard *shard, int batch, struct ccl_order_cache *cache,
                   uint32_t *rows)
{
	struct ccl_order_cache once = {-1, NULL};
	long epoch, step;

	if (!cache)
		cache = &once;
	ccl_next_batch_position(a, shard->n, batch, &epoch, &step);
	if (!cache->order || cache->epoch != epoch) {
		if (!cache->order)
			cache->order = ccl_xmalloc((size_t)shard->n * sizeof *cache->order);
		ccl_epoch_order(a->seed, a->order, a->agent, epoch, cache->order, (size_t)shard->n);
		cache->epoch = epoch;
	}
	long start = step * batch, count = shard->n - start < batch ? shard->n - start : batch;
	memcpy(rows, cache->order + start, (size_t)count * sizeof *rows);
	free(once.order);
	return (int)count;
}

int ccl_training_batch(const ccl_agent *a, const ccl_shard *shard, int batch, struct ccl_order_cache *cache,
                       uint32_t *rows, float *images, int32_t *labels)
{
	int b = ccl_next_batch(a, shard, batch, cache, rows);
	ccl_shard_batch(shard, rows, b, images, labels);
	if (shard->augment) {
		long epoch, step;
		ccl_rng rng;
		ccl_next_batch_position(a, shard->n, batch, &epoch, &step);
		ccl_rng_init(&rng, ccl_rng_subkey(a->seed, CCL_KEY_AUGMENT), (uint32_t)a->agent, (uint32_t)epoch,
		             (uint32_t)step);
		ccl_shard_augment(shard, images, b, &rng);
	}
	return b;
}

int ccl_train(ccl_agent *state, const ccl_shard *shard, const struct ccl_train_config *cfg,
              struct ccl_train_report *report)
{
	ccl_net *net = state->net;
	size_t np = ccl_net_param_count(net), image = (size_t)shard->c * shard->h * shard->w;
	int classes = ccl_net_classes(net), dim = ccl_net_feature_dim(net), B = cfg->batch;
	long steps_per_epoch = ccl_steps_per_epoch(shard->n, B);
	int use_m = cfg->lambda_m > 0 && cfg->n_neighbours > 0, use_d = cfg->lambda_d > 0;

	float *x = ccl_xmalloc((size_t)B * image * sizeof *x);
	int32_t *labels = ccl_xmalloc((size_t)B * sizeof *labels);
	uint32_t *rows = ccl_xmalloc((size_t)B * sizeof *rows);
	float *grad = ccl_xmalloc(np * sizeof *grad);
	float *dlogits = ccl_xmalloc((size_t)B * classes * sizeof *dlogits);
	float *dz = ccl_xmalloc((size_t)B * dim * sizeof *dz);
	float *cross = use_m ? ccl_xmalloc((size_t)cfg->n_neighbours * B * dim * sizeof *cross) : NULL;
	const float **cross_rows = ccl_xcalloc((size_t)cfg->n_neighbours + 1, sizeof *cross_rows);
	float *mu = use_d ? ccl_xmalloc((size_t)classes * dim * sizeof *mu) : NULL;
	struct ccl_featstat pooled = {0};
	struct ccl_order_cache orders = {-1, NULL};

	if (use_d)
		ccl_featstat_init(&pooled, classes, dim);
	memset(report, 0, sizeof *report);
	ccl_next_batch_position(state, shard->n, B, &state->epoch, &state->step);

	for (long s = 0; s < cfg->steps; s++) {
		int b = ccl_training_batch(state, shard, B, &orders, rows, x, labels);
		double lr = ccl_train_lr(cfg, state->epoch);

		/* Model-variant cross-features: this batch under each neighbour's model. */
		for (int j = 0; use_m && j < cfg->n_neighbours; j++) {
			ccl_net_forward(net, cfg->neighbours[j].params, x, b);
			memcpy(cross + (size_t)j * b * dim, ccl_net_features(net), (size_t)b * dim * sizeof *cross);
			cross_rows[j] = cross + (size_t)j * b * dim;
		}
		ccl_net_forward(net, state->params, x, b);
		const float *z = ccl_net_features(net);
		report->loss_ce += ccl_softmax_xent(ccl_net_logits(net), labels, b, classes, dlogits);
		report->correct += ccl_count_correct(ccl_net_logits(net), labels, b, classes);
		report->samples += b;

		memset(dz, 0, (size_t)b * dim * sizeof *dz);
		if (use_m)
			report->loss_m += ccl_model_variant_loss(z, cross_rows, cfg->n_neighbours, b, dim,
			                                         (float)cfg->lambda_m, dz);
		if (use_d) {
			/* Class means pooled from this batch's own statistic and the received ones. */
			ccl_featstat_clear(&pooled);
			ccl_featstat_accumulate(pooled.sums, pooled.counts, z, labels, b, dim);
			for (int j = 0; j < cfg->n_received; j++)
				ccl_featstat_add(&pooled, &cfg->received[j]);
			ccl_class_means(mu, pooled.sums, pooled.counts, classes, dim);
			report->loss_d += ccl_data_variant_loss(z, labels, mu, b, dim, (float)cfg->lambda_d, dz);
		}
		ccl_net_backward(net, state->params, dlogits, use_m || use_d ? dz : NULL, grad);

		struct ccl_sgd sgd = {(float)lr, (float)cfg->momentum, (float)cfg->weight_decay, cfg->nesterov};
		ccl_sgd_step(&sgd, state->params, state->momentum, grad, np);
		state->lr = lr;
		state->iteration++;
		if (++state->step == steps_per_epoch)
			state->epoch++, state->step = 0;
		report->lr = lr;
		ccl_progress_update(cfg->progress, s + 1);
	}
	if (cfg->steps > 0) {
		report->loss_ce /= (double)cfg->steps;
		report->loss_m /= (double)cfg->steps;
		report->loss_d /= (double)cfg->steps;
	}
	int finite = 1;
	for (size_t p = 0; p < np && finite; p++)
		finite = isfinite(state->params[p]);

	ccl_featstat_free(&pooled);
	free(mu);
	free(cross_rows);
	free(cross);
	free(dz);
	free(dlogits);
	free(grad);
	free(orders.order);
	free(rows);
	free(labels);
	free(x);
	if (!finite)
		return ccl_fail(CCL_EXIT_FAILURE, NULL, "training diverged: parameters are no longer finite "
		                "(lower the learning rate)");
	return 0;
}

void ccl_evaluate(ccl_net *net, const float *params, const ccl_shard *test, struct ccl_eval_result *r)
{
	enum { CHUNK = 500 };
	int classes = ccl_net_classes(net);
	size_t image = (size_t)test->c * test->h * test->w;
	float *x = ccl_xmalloc(CHUNK * image * sizeof *x);
	int32_t labels[CHUNK];
	uint32_t rows[CHUNK];

	memset(r, 0, sizeof *r);
	r->class_correct = ccl_xcalloc((size_t)classes, sizeof *r->class_correct);
	r->class_total = ccl_xcalloc((size_t)classes, sizeof *r->class_total);
	for (int at = 0; at < test->n; at += CHUNK) {
		int b = test->n - at < CHUNK ? test->n - at : CHUNK;
		for (int i = 0; i < b; i++)
			rows[i] = (uint32_t)(at + i);
		ccl_shard_batch(test, rows, b, x, labels);
		ccl_net_forward(net, params, x, b);
		const float *logits = ccl_net_logits(net);
		r->loss += ccl_softmax_xent(logits, labels, b, classes, NULL) * b;
		for (int i = 0; i < b; i++) {
			int best = 0;
			for (int c = 1; c < classes; c++)
				if (logits[(size_t)i * classes + c] > logits[(size_t)i * classes + best])
					best = c;
			r->class_total[labels[i]]++;
			r->class_correct[labels[i]] += best == labels[i];
			r->correct += best == labels[i];
		}
	}
	r->samples = test->n;
	r->accuracy = test->n ? (double)r->correct / test->n : 0;
	r->loss = test->n ? r->loss / test->n : 0;
	free(x);
}

void ccl_eval_result_free(struct ccl_eval_result *r)
{
	free(r->class_correct);
	free(r->class_total);
	memset(r, 0, sizeof *r);
}
