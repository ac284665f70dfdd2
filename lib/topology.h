/*
 * topology.h - communication graphs and their mixing weights.
 *
 * Graphs of the experiments (ALGORITHM.md, "Topologies"): ring; "torus" as
 * the experiments build it, the circulant graph with offsets +-1 and +-4;
 * a true 2-D torus (rows x columns with wrap-around) as "torus2d"; the
 * Petersen graph (10 agents), the Dyck graph (32 agents, LCF
 * [5,-5,13,-13]^8), the fully connected graph and the chain.
 *
 * Weights: uniform 1 / (degree + 1) on regular graphs, Metropolis-Hastings
 * 1 / (1 + max(deg_i, deg_j)) with the rest on the diagonal on irregular
 * ones (the chain); either can be forced.
 */
#ifndef CCL_TOPOLOGY_H
#define CCL_TOPOLOGY_H

enum ccl_weighting { CCL_WEIGHTS_AUTO, CCL_WEIGHTS_UNIFORM, CCL_WEIGHTS_METROPOLIS };

struct ccl_topology {
	int n;
	char name[16];
	int *degree;        /* degree[i] */
	int **neighbours;   /* neighbours[i][0 .. degree[i]), ascending */
	double **weights;   /* weights[i][k]: weight of neighbours[i][k] */
	double *self_weight;
	double gamma;       /* the averaging rate the experiments use on this graph */
};

/* Builds a named graph of n agents; refuses sizes the graph cannot have. */
int ccl_topology_make(struct ccl_topology *t, const char *name, int n, enum ccl_weighting w);
void ccl_topology_free(struct ccl_topology *t);

extern const char *const ccl_topology_names[];

#endif
