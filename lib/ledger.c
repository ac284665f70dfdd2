/*
 * ledger.c - the lines of ledger.h, kept in memory until the tool has read
 * everything and then appended with a single write.
 */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "report.h"

struct ccl_ledger {
	const char *path;
	long receiver;
	char *lines; /* what is still to be appended */
	size_t len, cap;
};

ccl_ledger *ccl_ledger_open(const char *path, long receiver)
{
	if (!path)
		return NULL;
	ccl_ledger *l = ccl_xcalloc(1, sizeof *l);
	l->path = path;
	l->receiver = receiver;
	return l;
}

/* The sender recorded in `a`: a model's own agent, or the agent whose data a
 * statistic summarises; -1 if the artifact names none. */
static long sender_of(const ccl_artifact *a)
{
	const char *v = ccl_artifact_get(a, strcmp(a->kind, "featstat") ? "agent" : "data_agent");
	return v ? strtol(v, NULL, 10) : -1;
}

void ccl_ledger_note(ccl_ledger *l, const char *path, const ccl_artifact *a)
{
	struct stat st;
	long sender = sender_of(a);
	if (!l || sender == l->receiver) /* an agent's own file crosses no edge */
		return;
	/* A statistic is sent whole; of a model (or a state given in its
	 * place) only the parameters are what a neighbour receives. */
	int statistic = !strcmp(a->kind, "featstat");
	size_t payload = 0;
	for (int t = 0; t < a->ntensors; t++)
		if (statistic || !strcmp(a->tensors[t].name, "params"))
			payload += a->tensors[t].count * ccl_dtype_size(a->tensors[t].dtype);
	/* A read artifact is the mapping of its whole file; one read through
	 * a pipe has no mapping, and then the file's size is asked for. */
	size_t file_bytes = a->mapping ? a->mapping_size : stat(path, &st) == 0 ? (size_t)st.st_size : 0;
	/* Escaping at most quadruples a byte ("\x1b"): never cut the name. */
	size_t shown_size = 4 * strlen(path) + 1;
	char *shown = ccl_xmalloc(shown_size);
	ccl_table_text(path, shown, shown_size);
	size_t need = strlen(shown) + 128;
	if (l->len + need > l->cap) {
		l->cap = 2 * (l->len + need);
		l->lines = ccl_xrealloc(l->lines, l->cap);
	}
	int n = snprintf(l->lines + l->len, l->cap - l->len, "%ld\t%ld\t%s\t%zu\t%zu\t%s\n", l->receiver, sender,
	                 statistic ? "featstat" : "model", payload, file_bytes, shown);
	l->len += (size_t)n;
	free(shown);
}

int ccl_ledger_flush(ccl_ledger *l)
{
	if (!l || !l->len)
		return 0;
	int fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0)
		return ccl_fail(CCL_EXIT_FAILURE, l->path, "cannot open the ledger: %s", strerror(errno));
	/* A write cut short would leave half a line for the next one to be
	 * glued to: the file is cut back to where this write began (which
	 * assumes no other tool appended meanwhile; the engines give each
	 * agent its own ledger). */
	struct stat st;
	off_t before = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
	ssize_t put = write(fd, l->lines, l->len);
	const char *why = put < 0 ? strerror(errno) : (size_t)put < l->len ? "short write" : NULL;
	int cut_back = put <= 0 || !why || (before >= 0 && ftruncate(fd, before) == 0);
	if (close(fd) != 0 && !why)
		why = strerror(errno);
	if (why)
		return ccl_fail(CCL_EXIT_FAILURE, l->path, "cannot append to the ledger: %s%s", why,
		                cut_back ? "" : " (and its last line is incomplete)");
	l->len = 0;
	return 0;
}

void ccl_ledger_free(ccl_ledger *l)
{
	if (l)
		free(l->lines);
	free(l);
}
