/*
 * unit.h - a minimal harness for the C unit tests.
 *
 * Each test program calls CHECK()/CHECK_NEAR() and ends with
 * `return unit_report();`, which prints "<file>: N checks, M failed" and
 * returns non-zero when anything failed.  A failing check prints the file,
 * the line and the expression so the failure can be found without a debugger.
 */
#ifndef CCL_UNIT_H
#define CCL_UNIT_H

#include <math.h>
#include <stdio.h>

static int unit_checks, unit_failures;

#define CHECK(cond) do { \
	unit_checks++; \
	if (!(cond)) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_MSG(cond, ...) do { \
	unit_checks++; \
	if (!(cond)) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

/* |a - b| <= tol * max(1, |b|): absolute near zero, relative elsewhere. */
#define CHECK_NEAR(a, b, tol) do { \
	double unit_a = (a), unit_b = (b); \
	double unit_scale = fabs(unit_b) > 1.0 ? fabs(unit_b) : 1.0; \
	unit_checks++; \
	if (!(fabs(unit_a - unit_b) <= (tol) * unit_scale)) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: %s = %.9g, expected %s = %.9g (tol %g)\n", \
		        __FILE__, __LINE__, #a, unit_a, #b, unit_b, (double)(tol)); \
	} \
} while (0)

static inline int unit_report(void)
{
	printf("%s: %d checks, %d failed\n", __BASE_FILE__, unit_checks, unit_failures);
	return unit_failures != 0;
}

#endif
