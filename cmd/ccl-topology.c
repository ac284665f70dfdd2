/*
 * ccl-topology - print a communication graph: each agent's neighbours and
 * mixing weights, for people (table) and scripts (lines, yaml, json).
 */
#include <stdio.h>

#include "cli.h"
#include "error.h"
#include "report.h"
#include "topology.h"

enum { OPT_AGENTS, OPT_TOPOLOGY, OPT_WEIGHTS, OPT_AGENT, OPT_FORMAT };

static const struct ccl_option options[] = {
	[OPT_AGENTS] = {"agents", 'n', "N", "number of agents (required)"},
	[OPT_TOPOLOGY] = {"topology", 0, "NAME", "ring (default), torus, torus2d, petersen, dyck, full, chain"},
	[OPT_WEIGHTS] = {"weighting", 0, "KIND", "auto (default: uniform if regular, else metropolis), uniform, metropolis"},
	[OPT_AGENT] = {"agent", 'k', "K", "print only agent K"},
	[OPT_FORMAT] = {"format", 0, "FMT", "table (default), lines, yaml or json"},
	{0},
};

enum { FORMAT_TABLE, FORMAT_LINES, FORMAT_YAML, FORMAT_JSON };

struct args {
	int agents, agent, format;
	const char *topology;
	enum ccl_weighting weights;
};

static void handle(int opt, const char *v, void *ctx)
{
	static const char *const formats[] = {"table", "lines", "yaml", "json", NULL};
	static const char *const weightings[] = {"auto", "uniform", "metropolis", NULL};
	struct args *a = ctx;

	switch (opt) {
	case OPT_AGENTS: a->agents = (int)ccl_parse_long("agents", v, 1, 100000); break;
	case OPT_TOPOLOGY: a->topology = ccl_topology_names[ccl_parse_choice("topology", v, ccl_topology_names)]; break;
	case OPT_WEIGHTS: a->weights = (enum ccl_weighting)ccl_parse_choice("weighting", v, weightings); break;
	case OPT_AGENT: a->agent = (int)ccl_parse_long("agent", v, 0, 100000); break;
	case OPT_FORMAT: a->format = ccl_parse_choice("format", v, formats); break;
	}
}

int main(int argc, char **argv)
{
	struct args a = {.topology = "ring", .agent = -1};
	struct ccl_topology t;

	int first = ccl_cli_parse(argc, argv, options,
	                          "ccl-topology --agents N [--topology NAME] [--weighting KIND] [--agent K]\n"
	                          "                    [--format table|lines|yaml|json]",
	                          "Print each agent's neighbours and mixing weights.  The lines format is one\n"
	                          "agent per line: 'AGENT SELF_WEIGHT NEIGHBOUR:WEIGHT ...'.",
	                          handle, &a);
	if (first < argc)
		ccl_usage_error("unexpected argument '%s'", argv[first]);
	if (!a.agents)
		ccl_usage_error("--agents is required");
	if (a.agent >= a.agents)
		ccl_usage_error("--agent %d is not below --agents %d", a.agent, a.agents);
	if (ccl_topology_make(&t, a.topology, a.agents, a.weights))
		ccl_die();

	int from = a.agent >= 0 ? a.agent : 0, to = a.agent >= 0 ? a.agent + 1 : a.agents;
	ccl_report *r = NULL;
	if (a.format == FORMAT_YAML || a.format == FORMAT_JSON) {
		r = ccl_report_begin(a.format == FORMAT_YAML ? CCL_FORMAT_YAML : CCL_FORMAT_JSON);
		ccl_report_map(r, 0);
		ccl_report_key(r, "topology");
		ccl_report_str(r, t.name);
		ccl_report_key(r, "agents");
		ccl_report_int(r, t.n);
		ccl_report_key(r, "gamma");
		ccl_report_num(r, t.gamma, 6);
		ccl_report_key(r, "nodes");
		ccl_report_list(r, 0);
	} else if (a.format == FORMAT_TABLE)
		printf("%s of %d agents (averaging rate gamma %g)\n%5s %8s  %s\n", t.name, t.n, t.gamma, "agent", "self",
		       "neighbour:weight");
	for (int i = from; i < to; i++) {
		switch (a.format) {
		case FORMAT_TABLE:
		case FORMAT_LINES:
			printf(a.format == FORMAT_TABLE ? "%5d %8.6f " : "%d %.17g", i, t.self_weight[i]);
			for (int k = 0; k < t.degree[i]; k++)
				printf(a.format == FORMAT_TABLE ? " %d:%.6f" : " %d:%.17g", t.neighbours[i][k], t.weights[i][k]);
			putchar('\n');
			break;
		default:
			ccl_report_map(r, 0);
			ccl_report_key(r, "agent");
			ccl_report_int(r, i);
			ccl_report_key(r, "self_weight");
			ccl_report_num(r, t.self_weight[i], 17);
			ccl_report_key(r, "neighbours");
			ccl_report_list(r, 1);
			for (int k = 0; k < t.degree[i]; k++)
				ccl_report_int(r, t.neighbours[i][k]);
			ccl_report_end(r);
			ccl_report_key(r, "weights");
			ccl_report_list(r, 1);
			for (int k = 0; k < t.degree[i]; k++)
				ccl_report_num(r, t.weights[i][k], 17);
			ccl_report_end(r);
			ccl_report_end(r);
		}
	}
	if (r)
		ccl_report_finish(r);
	ccl_topology_free(&t);
	ccl_finish_stdout();
	return 0;
}
