/*
 * ledger.h - what crossed which edge: a line for every artifact an agent's
 * tool read from another agent.
 *
 * The tools that consume a neighbour's file (ccl-merge and ccl-featstat its
 * models, ccl-train-step its models and statistics) note each one they read
 * and, given --ledger FILE, append one line per file before writing what
 * was computed from it, tab-separated:
 *
 *   RECEIVER  SENDER  KIND  PAYLOAD_BYTES  FILE_BYTES  PATH
 *
 * KIND is "model" (a state given in a model's place counts as one) or
 * "featstat", PAYLOAD_BYTES the bytes a neighbour needs (a statistic's
 * tensors, a model's parameters), FILE_BYTES the size of the file, archive
 * and manifest included.  PATH is as given on the command line, with control
 * characters and backslashes written as C escapes.
 *
 * The same file is often read by several tools of one agent (a neighbour's
 * model by the merge, the statistics and the step), and a step that was
 * interrupted and run again reads its inputs again: a file crossed its edge
 * once, so whoever sums a ledger counts each file once per receiver
 * (examples/ledger.sh, which knows a file of an experiment by its name
 * below the experiment directory, however an engine spelled that).  Lines are appended with one write to a file opened
 * with O_APPEND, so tools of several agents may share one ledger.
 */
#ifndef CCL_LEDGER_H
#define CCL_LEDGER_H

#include "artifact.h"

typedef struct ccl_ledger ccl_ledger;

/* A ledger for the agent `receiver`, appended to `path`; NULL path gives
 * NULL, a ledger that notes nothing (every function takes it). */
ccl_ledger *ccl_ledger_open(const char *path, long receiver);
/* Notes the artifact `a`, read from `path` and sent by another agent. */
void ccl_ledger_note(ccl_ledger *l, const char *path, const ccl_artifact *a);
/* Appends the lines noted so far; 0, or -1 after naming the ledger. */
int ccl_ledger_flush(ccl_ledger *l);
void ccl_ledger_free(ccl_ledger *l);

#endif
