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
	char shown[4096], line[4096 + 128];
	size_t payload = 0;
	struct stat st;

	long sender = sender_of(a);
	if (!l || sender == l->receiver) /* an agent's own file crosses no edge */
		return;
	for (int t = 0; t < a->ntensors; t++)
		payload += a->tensors[t].count * ccl_dtype_size(a->tensors[t].dtype);
	/* A read artifact is the mapping of its whole file; one read through
	 * a pipe has no mapping, and then the file's size is asked for. */
	size_t file_bytes = a->mapping ? a->mapping_size : stat(path, &st) == 0 ? (size_t)st.st_size : 0;
	int n = snprintf(line, sizeof line, "%ld\t%ld\t%s\t%zu\t%zu\t%s\n", l->receiver, sender, a->kind, payload,
	                 file_bytes, ccl_table_text(path, shown, sizeof shown));
	if (n < 0 || (size_t)n >= sizeof line)
		n = (int)strlen(line);
	if (l->len + (size_t)n > l->cap) {
		l->cap = 2 * (l->len + (size_t)n);
		l->lines = ccl_xrealloc(l->lines, l->cap);
	}
	memcpy(l->lines + l->len, line, (size_t)n);
	l->len += (size_t)n;
}

int ccl_ledger_flush(ccl_ledger *l)
{
	if (!l || !l->len)
		return 0;
	int fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0)
		return ccl_fail(CCL_EXIT_FAILURE, l->path, "cannot open the ledger: %s", strerror(errno));
	ssize_t put = write(fd, l->lines, l->len);
	int err = put < 0 ? errno : put < (ssize_t)l->len ? ENOSPC : 0;
	if (close(fd) && !err)
		err = errno;
	if (err)
		return ccl_fail(CCL_EXIT_FAILURE, l->path, "cannot append to the ledger: %s", strerror(err));
	l->len = 0;
	return 0;
}

void ccl_ledger_free(ccl_ledger *l)
{
	if (l)
		free(l->lines);
	free(l);
}
