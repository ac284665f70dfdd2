#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "error.h"
#include "report.h"

enum { MAX_DEPTH = 16 };

struct ccl_report {
	enum ccl_format format;
	/* YAML: events go to the emitter as they come. */
	yaml_emitter_t emitter;
	int is_map[MAX_DEPTH];
	int depth;
	/* JSON: a tree, dumped at the end; open containers on a stack. */
	json_t *root, *open[MAX_DEPTH];
	char *key;
	int digits;
};

/* 1 when s is well-formed UTF-8 (as both libraries require). */
static int is_utf8(const unsigned char *s)
{
	while (*s) {
		int extra = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2 : (*s & 0xf8) == 0xf0 ? 3 : -1;
		if (extra < 0 || (extra == 1 && *s < 0xc2))
			return 0;
		for (s++; extra > 0; extra--, s++)
			if ((*s & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

/* A copy of s that is valid UTF-8: when s is not, every byte from 0x80 on
 * stands for the code point of the same number (as in Latin-1), so a file
 * name in another encoding is shown rather than refused. */
static char *as_utf8(const char *s)
{
	if (is_utf8((const unsigned char *)s))
		return ccl_xstrdup(s);
	char *out = ccl_xmalloc(2 * strlen(s) + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80) {
			*o++ = (char)*p;
		} else {
			*o++ = (char)(0xc0 | *p >> 6);
			*o++ = (char)(0x80 | (*p & 0x3f));
		}
	}
	*o = 0;
	return out;
}

static void emit(ccl_report *r, yaml_event_t *event)
{
	if (!yaml_emitter_emit(&r->emitter, event)) {
		ccl_fail(CCL_EXIT_FAILURE, "<stdout>", "cannot write YAML: %s",
		         r->emitter.problem ? r->emitter.problem : "emitter error");
		ccl_die();
	}
}

static void yaml_text(ccl_report *r, const char *text, yaml_scalar_style_t style)
{
	yaml_event_t e;
	yaml_scalar_event_initialize(&e, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1, style);
	emit(r, &e);
}

/* Places a JSON value in the open container, or makes it the root. */
static void json_add(ccl_report *r, json_t *v)
{
	if (!v) {
		ccl_fail(CCL_EXIT_FAILURE, NULL, "out of memory");
		ccl_die();
	}
	if (r->depth == 0) {
		r->root = v;
	} else if (json_is_object(r->open[r->depth - 1])) {
		json_object_set_new(r->open[r->depth - 1], r->key ? r->key : "", v);
		free(r->key);
		r->key = NULL;
	} else {
		json_array_append_new(r->open[r->depth - 1], v);
	}
}

ccl_report *ccl_report_begin(enum ccl_format format)
{
	ccl_report *r = ccl_xcalloc(1, sizeof *r);
	r->format = format;
	r->digits = 6;
	if (format == CCL_FORMAT_YAML) {
		yaml_event_t e;
		yaml_emitter_initialize(&r->emitter);
		yaml_emitter_set_output_file(&r->emitter, stdout);
		yaml_emitter_set_width(&r->emitter, -1); /* never fold long values */
		yaml_emitter_set_unicode(&r->emitter, 0);  /* escape anything not ASCII */
		yaml_stream_start_event_initialize(&e, YAML_UTF8_ENCODING);
		emit(r, &e);
		yaml_document_start_event_initialize(&e, NULL, NULL, NULL, 1);
		emit(r, &e);
	}
	return r;
}

static void open_container(ccl_report *r, int map, int flow)
{
	if (r->depth == MAX_DEPTH) {
		ccl_fail(CCL_EXIT_FAILURE, NULL, "report nested too deeply");
		ccl_die();
	}
	if (r->format == CCL_FORMAT_YAML) {
		yaml_event_t e;
		if (map)
			yaml_mapping_start_event_initialize(&e, NULL, NULL, 1,
			                                    flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
		else
			yaml_sequence_start_event_initialize(&e, NULL, NULL, 1,
			                                     flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
		emit(r, &e);
		r->is_map[r->depth++] = map;
	} else {
		json_t *c = map ? json_object() : json_array();
		json_add(r, json_incref(c));
		r->open[r->depth++] = c;
	}
}

void ccl_report_map(ccl_report *r, int flow) { open_container(r, 1, flow); }
void ccl_report_list(ccl_report *r, int flow) { open_container(r, 0, flow); }

void ccl_report_end(ccl_report *r)
{
	if (r->depth == 0)
		return;
	r->depth--;
	if (r->format == CCL_FORMAT_YAML) {
		yaml_event_t e;
		if (r->is_map[r->depth])
			yaml_mapping_end_event_initialize(&e);
		else
			yaml_sequence_end_event_initialize(&e);
		emit(r, &e);
	} else {
		json_decref(r->open[r->depth]);
	}
}

void ccl_report_key(ccl_report *r, const char *key)
{
	if (r->format == CCL_FORMAT_YAML) {
		yaml_text(r, key, YAML_ANY_SCALAR_STYLE);
	} else {
		free(r->key);
		r->key = ccl_xstrdup(key);
	}
}

void ccl_report_str(ccl_report *r, const char *s)
{
	char *text = as_utf8(s);
	if (r->format == CCL_FORMAT_YAML)
		yaml_text(r, text, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	else
		json_add(r, json_string(text));
	free(text);
}

void ccl_report_int(ccl_report *r, long long v)
{
	if (r->format == CCL_FORMAT_YAML) {
		char text[32];
		snprintf(text, sizeof text, "%lld", v);
		yaml_text(r, text, YAML_PLAIN_SCALAR_STYLE);
	} else {
		json_add(r, json_integer(v));
	}
}

void ccl_report_num(ccl_report *r, double v, int digits)
{
	if (r->format == CCL_FORMAT_YAML) {
		/* The fewest digits, up to `digits`, that read back as v. */
		char text[40];
		for (int p = 1; p <= digits; p++) {
			snprintf(text, sizeof text, "%.*g", p, v);
			if (strtod(text, NULL) == v)
				break;
		}
		yaml_text(r, text, YAML_PLAIN_SCALAR_STYLE);
	} else {
		/* jansson prints every real with one precision: the largest asked for. */
		if (digits > r->digits)
			r->digits = digits;
		json_add(r, json_real(v));
	}
}

void ccl_report_finish(ccl_report *r)
{
	while (r->depth > 0)
		ccl_report_end(r);
	if (r->format == CCL_FORMAT_YAML) {
		yaml_event_t e;
		yaml_document_end_event_initialize(&e, 1);
		emit(r, &e);
		yaml_stream_end_event_initialize(&e);
		emit(r, &e);
		yaml_emitter_delete(&r->emitter);
	} else {
		if (r->root && json_dumpf(r->root, stdout, JSON_REAL_PRECISION(r->digits) | JSON_ENCODE_ANY) == 0)
			putchar('\n');
		json_decref(r->root);
		free(r->key);
	}
	free(r);
}

const char *ccl_table_text(const char *s, char *buf, size_t size)
{
	size_t at = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && at + 5 < size; p++) {
		if (*p == '\\')
			at += (size_t)snprintf(buf + at, size - at, "\\\\");
		else if (*p == '\t')
			at += (size_t)snprintf(buf + at, size - at, "\\t");
		else if (*p == '\n')
			at += (size_t)snprintf(buf + at, size - at, "\\n");
		else if (*p < 0x20 || *p == 0x7f)
			at += (size_t)snprintf(buf + at, size - at, "\\x%02x", *p);
		else
			buf[at++] = (char)*p;
	}
	buf[at] = 0;
	return buf;
}
