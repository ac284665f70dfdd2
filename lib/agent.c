#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "error.h"
#include "nn.h"

int ccl_agent_init(ccl_agent *a, const char *arch, int classes, int c, int h, int w, uint64_t seed, long agent,
                   enum ccl_batch_order order)
{
	memset(a, 0, sizeof *a);
	a->net = ccl_net_create(arch, classes, c, h, w);
	if (!a->net)
		return -1;
	int64_t n[1] = {(int64_t)ccl_net_param_count(a->net)};
	a->artifact = ccl_artifact_new("state");
	a->params = ccl_artifact_add(a->artifact, "params", CCL_F32, 1, n)->data;
	a->momentum = ccl_artifact_add(a->artifact, "momentum", CCL_F32, 1, n)->data;
	ccl_net_init_params(a->net, seed, a->params);
	a->agent = agent;
	a->seed = seed;
	a->order = order;
	return 0;
}

int ccl_agent_load(ccl_agent *a, const char *path, const char *kind)
{
	ccl_artifact *art = ccl_artifact_read(path, kind);
	if (!art)
		return -1;
	if (ccl_agent_view(a, art, path)) {
		ccl_artifact_free(art);
		return -1;
	}
	a->artifact = art;
	return 0;
}

int ccl_agent_view(ccl_agent *a, ccl_artifact *art, const char *path)
{
	long classes, c, h, w;
	const char *arch, *order;
	int is_state = !strcmp(art->kind, "state");

	memset(a, 0, sizeof *a);
	if (!is_state && strcmp(art->kind, "model")) {
		ccl_fail(CCL_EXIT_INPUT, path, "is a %s artifact, expected a state or a model", art->kind);
		goto fail;
	}
	if (art->ntensors != (is_state ? 2 : 1)) {
		ccl_fail(CCL_EXIT_INPUT, path, "%s holds %d tensors, not %s", art->kind, art->ntensors,
		         is_state ? "params and momentum" : "params alone");
		goto fail;
	}
	if (!(arch = ccl_artifact_get(art, "arch"))) {
		ccl_fail(CCL_EXIT_INPUT, path, "manifest has no 'arch'");
		goto fail;
	}
	if (ccl_artifact_get_long(art, path, "classes", &classes) || ccl_artifact_get_long(art, path, "channels", &c) ||
	    ccl_artifact_get_long(art, path, "height", &h) || ccl_artifact_get_long(art, path, "width", &w) ||
	    ccl_artifact_get_long(art, path, "agent", &a->agent) || ccl_artifact_get_long(art, path, "epoch", &a->epoch) ||
	    ccl_artifact_get_long(art, path, "step", &a->step) ||
	    ccl_artifact_get_long(art, path, "iteration", &a->iteration) ||
	    ccl_artifact_get_u64(art, path, "seed", &a->seed) || ccl_artifact_get_double(art, path, "lr", &a->lr))
		goto fail;
	order = ccl_artifact_get(art, "batch_order");
	for (a->order = 0; order && ccl_batch_order_names[a->order]; a->order++)
		if (!strcmp(order, ccl_batch_order_names[a->order]))
			break;
	if (!order || !ccl_batch_order_names[a->order]) {
		ccl_fail(CCL_EXIT_INPUT, path, "manifest 'batch_order' is not shared or independent");
		goto fail;
	}
	if (classes < 2 || classes > 256 || c < 1 || c > 16 || h < 1 || h > 4096 || w < 1 || w > 4096) {
		ccl_fail(CCL_EXIT_INPUT, path, "implausible class count or input shape");
		goto fail;
	}
	a->net = ccl_net_create(arch, (int)classes, (int)c, (int)h, (int)w);
	if (!a->net) {
		ccl_fail(CCL_EXIT_INPUT, path, "%s", ccl_error_message());
		goto fail;
	}
	struct ccl_tensor *p = ccl_artifact_tensor(art, path, "params", CCL_F32);
	if (!p)
		goto fail;
	if (p->count != ccl_net_param_count(a->net)) {
		ccl_fail(CCL_EXIT_INPUT, path, "holds %zu parameters; %s with %ld classes has %zu", p->count, arch, classes,
		         ccl_net_param_count(a->net));
		goto fail;
	}
	if (is_state) {
		struct ccl_tensor *m = ccl_artifact_tensor(art, path, "momentum", CCL_F32);
		if (!m)
			goto fail;
		if (m->count != p->count) {
			ccl_fail(CCL_EXIT_INPUT, path, "momentum and parameters differ in size");
			goto fail;
		}
		/* A state is mostly loaded to be updated (ccl-train-step,
		 * ccl-merge), every parameter and momentum entry of it.  Left in
		 * the copy-on-write file mapping, each of its pages would be
		 * copied by the kernel on its first write, one fault per 4 KiB;
		 * one copy into the heap (huge pages, see cli.c) costs a fraction
		 * of that. */
		ccl_tensor_own(p);
		ccl_tensor_own(m);
		a->momentum = m->data;
	}
	a->params = p->data;
	return 0;
fail:
	ccl_net_free(a->net);
	memset(a, 0, sizeof *a);
	return -1;
}

void ccl_agent_free(ccl_agent *a)
{
	ccl_artifact_free(a->artifact);
	ccl_net_free(a->net);
	memset(a, 0, sizeof *a);
}

/* The artifact of a state or model, its tensors borrowed from `a`. */
static ccl_artifact *agent_artifact(const ccl_agent *a, const char *kind)
{
	ccl_artifact *out = ccl_artifact_new(kind);
	int c, h, w;

	ccl_net_input_shape(a->net, &c, &h, &w);
	ccl_artifact_set(out, "arch", "%s", ccl_net_arch(a->net));
	ccl_artifact_set(out, "classes", "%d", ccl_net_classes(a->net));
	ccl_artifact_set(out, "channels", "%d", c);
	ccl_artifact_set(out, "height", "%d", h);
	ccl_artifact_set(out, "width", "%d", w);
	ccl_artifact_set(out, "features", "%d", ccl_net_feature_dim(a->net));
	ccl_artifact_set(out, "agent", "%ld", a->agent);
	ccl_artifact_set(out, "epoch", "%ld", a->epoch);
	ccl_artifact_set(out, "step", "%ld", a->step);
	ccl_artifact_set(out, "iteration", "%ld", a->iteration);
	ccl_artifact_set(out, "lr", "%.9g", a->lr);
	ccl_artifact_set(out, "seed", "%llu", (unsigned long long)a->seed);
	ccl_artifact_set(out, "batch_order", "%s", ccl_batch_order_names[a->order]);
	ccl_artifact_set(out, "blas_kernel", "%s", ccl_blas_kernel());
	/* The tensors are borrowed: the copies below are only pointers,
	 * cleared again by release() before the artifact is freed. */
	int64_t n[1] = {(int64_t)ccl_net_param_count(a->net)};
	ccl_artifact_adopt(out, "params", CCL_F32, 1, n, a->params);
	if (!strcmp(kind, "state"))
		ccl_artifact_adopt(out, "momentum", CCL_F32, 1, n, a->momentum);
	return out;
}

static void release(ccl_artifact *out)
{
	for (int i = 0; i < out->ntensors; i++)
		out->tensors[i].data = NULL;
	ccl_artifact_free(out);
}

long ccl_agent_write(const ccl_agent *a, const char *kind, const char *path)
{
	ccl_artifact *out = agent_artifact(a, kind);
	long bytes = ccl_artifact_write(out, path);
	release(out);
	return bytes;
}

int ccl_agent_write_step(const ccl_agent *a, const char *state_path, const char *model_path, long *state_bytes,
                         long *model_bytes)
{
	ccl_artifact *state = agent_artifact(a, "state"), *model = model_path ? agent_artifact(a, "model") : NULL;
	struct ccl_write sw = {0}, mw = {0};
	int rc = -1;

	*model_bytes = 0;
	*state_bytes = ccl_artifact_write_begin(state, state_path, &sw);
	if (*state_bytes < 0)
		goto out;
	if (model && (*model_bytes = ccl_artifact_write_begin(model, model_path, &mw)) < 0) {
		ccl_artifact_write_abort(&sw);
		goto out;
	}
	/* The model first: until the state is renamed, the step has not
	 * happened, and a rerun from the old state writes the same model. */
	if (model && ccl_artifact_write_commit(&mw)) {
		ccl_artifact_write_abort(&sw);
		goto out;
	}
	rc = ccl_artifact_write_commit(&sw);
out:
	release(state);
	if (model)
		release(model);
	return rc;
}


int ccl_agent_check_compatible(const ccl_agent *a, const ccl_agent *other, const char *path)
{
	int c1, h1, w1, c2, h2, w2;
	ccl_net_input_shape(a->net, &c1, &h1, &w1);
	ccl_net_input_shape(other->net, &c2, &h2, &w2);
	if (strcmp(ccl_net_arch(a->net), ccl_net_arch(other->net)))
		return ccl_fail(CCL_EXIT_INPUT, path, "architecture %s does not match %s", ccl_net_arch(other->net),
		                ccl_net_arch(a->net));
	if (ccl_net_classes(a->net) != ccl_net_classes(other->net))
		return ccl_fail(CCL_EXIT_INPUT, path, "%d classes do not match %d", ccl_net_classes(other->net),
		                ccl_net_classes(a->net));
	if (c1 != c2 || h1 != h2 || w1 != w2)
		return ccl_fail(CCL_EXIT_INPUT, path, "input %dx%dx%d does not match %dx%dx%d", c2, h2, w2, c1, h1, w1);
	return 0;
}

int ccl_agent_check_shard(const ccl_agent *a, const ccl_shard *s, const char *shard_path)
{
	int c, h, w;
	ccl_net_input_shape(a->net, &c, &h, &w);
	if (s->classes != ccl_net_classes(a->net))
		return ccl_fail(CCL_EXIT_INPUT, shard_path, "shard has %d classes, the model %d", s->classes,
		                ccl_net_classes(a->net));
	if (s->c != c || s->h != h || s->w != w)
		return ccl_fail(CCL_EXIT_INPUT, shard_path, "images are %dx%dx%d, the model takes %dx%dx%d", s->c, s->h,
		                s->w, c, h, w);
	return 0;
}
