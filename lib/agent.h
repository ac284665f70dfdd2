/*
 * agent.h - an agent's parameters on disk: the state it keeps and the model
 * it publishes.
 *
 * A "state" artifact holds the parameters, the momentum buffer and the
 * counters of one agent (epoch, step within the epoch, iterations done, the
 * learning rate of the last local step, the seed and kind of its batch
 * order); it
 * never leaves the agent.  A "model" artifact holds the parameters only: it
 * is what neighbours receive.  Both carry the architecture, class count and
 * input shape, and a reader refuses a file whose architecture or shape does
 * not match the one it works with.
 */
#ifndef CCL_AGENT_H
#define CCL_AGENT_H

#include <stdint.h>

#include "artifact.h"
#include "model.h"
#include "shard.h"

typedef struct ccl_agent {
	ccl_artifact *artifact; /* owns the tensors below */
	ccl_net *net;
	float *params;
	float *momentum; /* NULL for a model */
	long agent, epoch, step, iteration;
	double lr;       /* learning rate of the last local step; 0 before the first */
	uint64_t seed;
	enum ccl_batch_order order; /* how the agent's batches are drawn (shard.h) */
} ccl_agent;

/* A fresh state: parameters from the seed (the same for every agent given
 * the same seed), zero momentum, counters at zero. */
int ccl_agent_init(ccl_agent *a, const char *arch, int classes, int c, int h, int w, uint64_t seed, long agent,
                   enum ccl_batch_order order);

/* Loads a state or a model; `kind` "state" or "model" insists on one, NULL
 * takes either. */
int ccl_agent_load(ccl_agent *a, const char *path, const char *kind);
/* The same checks and fields for an artifact already read (ccl-info): the
 * agent's tensors are those of `art`, which it does not own. */
int ccl_agent_view(ccl_agent *a, ccl_artifact *art, const char *path);
void ccl_agent_free(ccl_agent *a);

/* Writes the state (with momentum) or the model (parameters only) of `a`.
 * Returns the bytes written or -1. */
long ccl_agent_write(const ccl_agent *a, const char *kind, const char *path);

/* Writes the outcome of a step: the state and, if model_path is not NULL,
 * the model, both complete under temporary names first, then renamed model
 * first and state last.  A step killed at any point leaves either the old
 * state (and perhaps the new model, which a rerun from that state writes
 * again, byte for byte) or both new files; never a new state without its
 * model.  Returns 0 or -1. */
int ccl_agent_write_step(const ccl_agent *a, const char *state_path, const char *model_path, long *state_bytes,
                         long *model_bytes);

/* Fails, naming `path`, unless `other` has the architecture, class count and
 * input shape of `a`. */
int ccl_agent_check_compatible(const ccl_agent *a, const ccl_agent *other, const char *path);
/* Fails, naming `shard_path`, unless the shard's images and classes fit `a`. */
int ccl_agent_check_shard(const ccl_agent *a, const ccl_shard *s, const char *shard_path);

#endif
