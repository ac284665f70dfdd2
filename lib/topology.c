#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "topology.h"

const char *const ccl_topology_names[] = {"ring", "torus", "torus2d", "petersen", "dyck", "full", "chain", NULL};

/* Adjacency as an n x n byte matrix while building. */
static void edge(char *adj, int n, int i, int j)
{
	i = ((i % n) + n) % n;
	j = ((j % n) + n) % n;
	if (i != j)
		adj[i * n + j] = adj[j * n + i] = 1;
}

/* The most square rows x columns with both at least 3, or 0. */
static int torus_rows(int n)
{
	for (int r = (int)sqrt((double)n); r >= 3; r--)
		if (n % r == 0 && n / r >= 3)
			return r;
	return 0;
}

int ccl_topology_make(struct ccl_topology *t, const char *name, int n, enum ccl_weighting w)
{
	memset(t, 0, sizeof *t);
	if (n < 1)
		return ccl_fail(CCL_EXIT_USAGE, NULL, "a graph needs at least one agent");
	char *adj = ccl_xcalloc((size_t)n * n, 1);
	t->gamma = 1.0;
	if (!strcmp(name, "ring")) {
		for (int i = 0; i < n; i++)
			edge(adj, n, i, i + 1);
	} else if (!strcmp(name, "torus")) {
		if (n < 9) {
			free(adj);
			return ccl_fail(CCL_EXIT_USAGE, NULL, "a torus (offsets +-1, +-4) needs at least 9 agents, not %d", n);
		}
		for (int i = 0; i < n; i++) {
			edge(adj, n, i, i + 1);
			edge(adj, n, i, i + 4);
		}
		t->gamma = 0.9;
	} else if (!strcmp(name, "torus2d")) {
		int rows = torus_rows(n), cols = rows ? n / rows : 0;
		if (!rows) {
			free(adj);
			return ccl_fail(CCL_EXIT_USAGE, NULL, "a 2-D torus needs rows x columns agents, both at least 3; %d is not", n);
		}
		for (int r = 0; r < rows; r++)
			for (int c = 0; c < cols; c++) {
				edge(adj, n, r * cols + c, r * cols + (c + 1) % cols);
				edge(adj, n, r * cols + c, ((r + 1) % rows) * cols + c);
			}
		t->gamma = 0.9;
	} else if (!strcmp(name, "petersen")) {
		if (n != 10) {
			free(adj);
			return ccl_fail(CCL_EXIT_USAGE, NULL, "the Petersen graph has exactly 10 agents, not %d", n);
		}
		for (int i = 0; i < 5; i++) {
			edge(adj, n, i, (i + 1) % 5);         /* outer cycle */
			edge(adj, n, i, i + 5);               /* spokes */
			edge(adj, n, 5 + i, 5 + (i + 2) % 5); /* inner pentagram */
		}
	} else if (!strcmp(name, "dyck")) {
		static const int lcf[4] = {5, -5, 13, -13};
		if (n != 32) {
			free(adj);
			return ccl_fail(CCL_EXIT_USAGE, NULL, "the Dyck graph has exactly 32 agents, not %d", n);
		}
		for (int i = 0; i < n; i++) {
			edge(adj, n, i, i + 1);
			edge(adj, n, i, i + lcf[i % 4]);
		}
		t->gamma = 0.9;
	} else if (!strcmp(name, "full")) {
		for (int i = 0; i < n; i++)
			for (int j = i + 1; j < n; j++)
				edge(adj, n, i, j);
	} else if (!strcmp(name, "chain")) {
		for (int i = 0; i + 1 < n; i++)
			edge(adj, n, i, i + 1);
	} else {
		free(adj);
		return ccl_fail(CCL_EXIT_USAGE, NULL, "unknown topology '%s'", name);
	}

	snprintf(t->name, sizeof t->name, "%s", name);
	t->n = n;
	t->degree = ccl_xcalloc((size_t)n, sizeof *t->degree);
	t->neighbours = ccl_xcalloc((size_t)n, sizeof *t->neighbours);
	t->weights = ccl_xcalloc((size_t)n, sizeof *t->weights);
	t->self_weight = ccl_xcalloc((size_t)n, sizeof *t->self_weight);
	int regular = 1;
	for (int i = 0; i < n; i++) {
		t->neighbours[i] = ccl_xcalloc((size_t)n, sizeof **t->neighbours);
		t->weights[i] = ccl_xcalloc((size_t)n, sizeof **t->weights);
		for (int j = 0; j < n; j++)
			if (adj[i * n + j])
				t->neighbours[i][t->degree[i]++] = j;
		regular &= t->degree[i] == t->degree[0];
	}
	int metropolis = w == CCL_WEIGHTS_METROPOLIS || (w == CCL_WEIGHTS_AUTO && !regular);
	for (int i = 0; i < n; i++) {
		double sum = 0;
		for (int k = 0; k < t->degree[i]; k++) {
			int j = t->neighbours[i][k];
			int dmax = t->degree[i] > t->degree[j] ? t->degree[i] : t->degree[j];
			t->weights[i][k] = metropolis ? 1.0 / (1 + dmax) : 1.0 / (t->degree[i] + 1);
			sum += t->weights[i][k];
		}
		t->self_weight[i] = 1.0 - sum;
	}
	free(adj);
	return 0;
}

void ccl_topology_free(struct ccl_topology *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->neighbours[i]);
		free(t->weights[i]);
	}
	free(t->neighbours);
	free(t->weights);
	free(t->degree);
	free(t->self_weight);
	memset(t, 0, sizeof *t);
}
