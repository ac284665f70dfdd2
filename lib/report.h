/*
 * report.h - the tools' structured output: YAML and JSON written by
 * libraries that escape them (libyaml's emitter; jansson), and table cells
 * with control characters escaped.
 *
 * File names and manifest values come from other agents and from users, and
 * may hold quotes, backslashes, tabs or terminal escape sequences: printed
 * raw they would break a JSON parser or clear a terminal.  So a tool never
 * prints them itself in these forms.  It describes its report as a stream
 * of calls, the same for both formats:
 *
 *   ccl_report *r = ccl_report_begin(CCL_FORMAT_YAML);
 *   ccl_report_map(r, 0);
 *   ccl_report_key(r, "file"); ccl_report_str(r, path);
 *   ccl_report_key(r, "bytes"); ccl_report_int(r, 1024);
 *   ccl_report_end(r);
 *   ccl_report_finish(r);          (writes to standard output)
 *
 * In YAML, strings are double-quoted and numbers plain; `flow` containers
 * are written on one line ([1, 2], {a: 1}).  JSON is one value.
 */
#ifndef CCL_REPORT_H
#define CCL_REPORT_H

#include <stddef.h>

#include "cli.h"

typedef struct ccl_report ccl_report;

/* format is CCL_FORMAT_YAML or CCL_FORMAT_JSON. */
ccl_report *ccl_report_begin(enum ccl_format format);
void ccl_report_map(ccl_report *r, int flow);
void ccl_report_list(ccl_report *r, int flow);
void ccl_report_end(ccl_report *r);
/* In a map, every value follows its key. */
void ccl_report_key(ccl_report *r, const char *key);
void ccl_report_str(ccl_report *r, const char *s);
void ccl_report_int(ccl_report *r, long long v);
/* A number with at most `digits` significant digits (up to 17): in YAML the
 * fewest that read back as v; jansson writes every number of a JSON report
 * with the largest count asked for. */
void ccl_report_num(ccl_report *r, double v, int digits);
/* Writes what is left to standard output and frees the report. */
void ccl_report_finish(ccl_report *r);

/* `s` for a table: control characters, DEL and backslashes as C escapes
 * (\t, \x1b, \\), other bytes as they are.  Returns buf, cut to fit. */
const char *ccl_table_text(const char *s, char *buf, size_t size);

#endif
