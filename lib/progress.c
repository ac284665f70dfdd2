#include <stdio.h>
#include <unistd.h>

#include "error.h"
#include "profile.h"
#include "progress.h"

void ccl_progress_begin(struct ccl_progress *p, const char *what, long total)
{
	p->on = total > 1 && isatty(STDERR_FILENO);
	p->what = what;
	p->total = total;
	p->start = ccl_clock();
	p->shown = 0;
}

void ccl_progress_update(struct ccl_progress *p, long done)
{
	if (!p || !p->on)
		return;
	double t = ccl_clock();
	if (t - p->shown < 0.25 && done < p->total)
		return;
	p->shown = t;
	double elapsed = t - p->start, left = done > 0 ? elapsed * (double)(p->total - done) / (double)done : 0;
	fprintf(stderr, "\r%s: %s %ld of %ld (%.0f%%), %.0f s left\033[K", ccl_progname(), p->what, done, p->total,
	        100.0 * (double)done / (double)p->total, left);
	fflush(stderr);
}

void ccl_progress_clear(struct ccl_progress *p)
{
	if (p->on && p->shown > 0) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

void ccl_progress_end(struct ccl_progress *p)
{
	ccl_progress_clear(p);
	p->on = 0;
}
