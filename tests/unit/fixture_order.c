/* fixture_order STATE SHARD BATCH EPOCHS OUT.i32: the samples an agent
 * trains on, in order, for its next EPOCHS epochs: for every step, the
 * indices in the original data set (the shard's index tensor) of the rows
 * ccl_next_batch names, as little-endian int32, EPOCHS x N of them.  What
 * tests/peer/resnet20_fmnist_torch.py takes to train PyTorch on exactly
 * the batches ccl-train-step draws. */
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "error.h"
#include "shard.h"
#include "train.h"

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: fixture_order STATE SHARD BATCH EPOCHS OUT.i32\n");
		return 2;
	}
	ccl_agent a;
	ccl_shard s;
	if (ccl_agent_load(&a, argv[1], NULL) || ccl_shard_load(&s, argv[2]))
		ccl_die();
	int batch = atoi(argv[3]);
	long epochs = atol(argv[4]);
	if (batch < 1 || epochs < 1 || ccl_shard_check_batch(&s, argv[2], batch))
		ccl_die();
	FILE *out = fopen(argv[5], "wb");
	if (!out) {
		fprintf(stderr, "fixture_order: cannot write %s\n", argv[5]);
		return 1;
	}
	uint32_t *rows = ccl_xmalloc(sizeof *rows * (size_t)batch);
	int32_t *index = ccl_xmalloc(sizeof *index * (size_t)batch);
	struct ccl_order_cache cache = {-1, NULL};
	long steps_per_epoch = ccl_steps_per_epoch(s.n, batch);
	ccl_next_batch_position(&a, s.n, batch, &a.epoch, &a.step);
	for (long e = 0; e < epochs; e++)
		for (long k = 0; k < steps_per_epoch; k++) {
			int b = ccl_next_batch(&a, &s, batch, &cache, rows);
			for (int i = 0; i < b; i++)
				index[i] = s.index[rows[i]];
			if (fwrite(index, sizeof *index, (size_t)b, out) != (size_t)b) {
				fprintf(stderr, "fixture_order: cannot write %s\n", argv[5]);
				return 1;
			}
			/* As ccl_train advances its counters after a step. */
			if (++a.step == steps_per_epoch)
				a.epoch++, a.step = 0;
		}
	if (fclose(out)) {
		fprintf(stderr, "fixture_order: cannot write %s\n", argv[5]);
		return 1;
	}
	free(cache.order);
	free(rows);
	free(index);
	ccl_shard_free(&s);
	ccl_agent_free(&a);
	return 0;
}
