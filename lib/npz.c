#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "error.h"
#include "npz.h"

#define NPY_MAGIC "\x93NUMPY"
#define MEMBER_MAX (64u << 20) /* no tensor of a model is larger */

/* The NPY header of a float32 array of the tensor's shape, padded with
 * spaces to a multiple of 64 bytes as NumPy writes it. */
static size_t npy_header(char *out, size_t size, const struct ccl_param_tensor *t)
{
	char dict[256], shape[128];
	size_t at = 0;
	for (int d = 0; d < t->ndim; d++)
		at += (size_t)snprintf(shape + at, sizeof shape - at, "%d%s", t->shape[d],
		                       t->ndim == 1 ? "," : d + 1 < t->ndim ? ", " : "");
	int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape);
	size_t total = 10 + (size_t)len + 1, padded = (total + 63) / 64 * 64, header_len = padded - 10;
	if (padded > size)
		return 0;
	memcpy(out, NPY_MAGIC "\x01\x00", 8);
	out[8] = (char)(header_len & 0xff);
	out[9] = (char)(header_len >> 8);
	memcpy(out + 10, dict, (size_t)len);
	memset(out + 10 + len, ' ', padded - total);
	out[padded - 1] = '\n';
	return padded;
}

long ccl_npz_write(const ccl_net *net, const float *params, const char *path)
{
	struct ccl_write w;
	int fd = ccl_write_open(path, &w);
	if (fd < 0)
		return -1;
	struct archive *ar = archive_write_new();
	archive_write_set_format_zip(ar);
	archive_write_set_options(ar, "zip:compression=store");
	archive_write_set_bytes_per_block(ar, 0);
	int ok = archive_write_open_fd(ar, fd) == ARCHIVE_OK;
	for (int i = 0; ok && i < ccl_net_tensor_count(net); i++) {
		const struct ccl_param_tensor *t = ccl_net_tensor(net, i);
		char header[256], name[64];
		size_t hlen = npy_header(header, sizeof header, t), bytes = t->size * sizeof(float);
		struct archive_entry *e = archive_entry_new();
		snprintf(name, sizeof name, "%s.npy", t->name);
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)(hlen + bytes));
		archive_entry_set_mtime(e, 315532800, 0); /* 1980-01-01, zip's earliest time */
		ok = hlen && archive_write_header(ar, e) == ARCHIVE_OK &&
		     archive_write_data(ar, header, hlen) == (la_ssize_t)hlen &&
		     archive_write_data(ar, params + t->offset, bytes) == (la_ssize_t)bytes;
		archive_entry_free(e);
	}
	ok = archive_write_close(ar) == ARCHIVE_OK && ok;
	long total = ok ? (long)archive_filter_bytes(ar, -1) : -1;
	if (!ok)
		ccl_fail(CCL_EXIT_FAILURE, path, "cannot write: %s",
		         archive_error_string(ar) ? archive_error_string(ar) : strerror(errno));
	archive_write_free(ar);
	if (ccl_write_close(fd, &w, ok) || ccl_artifact_write_commit(&w))
		return -1;
	return total;
}

int ccl_npz_is_zip(const char *path)
{
	unsigned char magic[4] = {0};
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(magic, 1, 4, f);
	fclose(f);
	return n == 4 && !memcmp(magic, "PK\x03\x04", 4);
}

/* ---- reading ---- */

/* Skips spaces. */
static const char *skip(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

/* The entry `key` `value` at s (spaces allowed between them): what follows
 * it, or NULL if s holds something else. */
static const char *entry(const char *s, const char *key, const char *value)
{
	size_t k = strlen(key), v = strlen(value);
	if (strncmp(s, key, k))
		return NULL;
	s = skip(s + k);
	return strncmp(s, value, v) ? NULL : s + v;
}

/* Parses the header dict: exactly 'descr': '<f4', 'fortran_order': False
 * and 'shape': (...), in any order, into shape/ndim.  0, or -1. */
static int parse_dict(const char *s, int64_t *shape, int *ndim)
{
	int seen_descr = 0, seen_order = 0, seen_shape = 0;
	s = skip(s);
	if (*s++ != '{')
		return -1;
	for (;;) {
		s = skip(s);
		if (*s == '}')
			break;
		const char *after;
		if ((after = entry(s, "'descr':", "'<f4'")) && !seen_descr++) {
			s = after;
		} else if ((after = entry(s, "'fortran_order':", "False")) && !seen_order++) {
			s = after;
		} else if (!strncmp(s, "'shape':", 8) && !seen_shape++) {
			s = skip(s + 8);
			if (*s++ != '(')
				return -1;
			*ndim = 0;
			for (;;) {
				s = skip(s);
				if (*s == ')')
					break;
				if (!isdigit((unsigned char)*s) || *ndim == 4)
					return -1;
				char *end;
				errno = 0;
				long long v = strtoll(s, &end, 10);
				if (errno || v > (1 << 30))
					return -1;
				shape[(*ndim)++] = v;
				s = skip(end);
				if (*s == ',')
					s++;
				else if (*s != ')')
					return -1;
			}
			s++;
		} else {
			return -1;
		}
		s = skip(s);
		if (*s == ',')
			s++;
		else if (*s != '}')
			return -1;
	}
	s = skip(s + 1);
	while (*s == ' ' || *s == '\n')
		s++;
	return seen_descr && seen_order && seen_shape && !*s ? 0 : -1;
}

/* The data of one NPY member (`bytes` of `data`) for tensor t into out. */
static int read_npy(const unsigned char *data, size_t bytes, const struct ccl_param_tensor *t, float *out,
                    const char *path, const char *member)
{
	if (bytes < 10 || memcmp(data, NPY_MAGIC, 6) || data[6] < 1 || data[6] > 3)
		return ccl_fail(CCL_EXIT_INPUT, path, "%s is not an NPY file of version 1 to 3", member);
	size_t hlen = data[6] == 1 ? (size_t)data[8] | (size_t)data[9] << 8
	                           : bytes < 12 ? bytes : (size_t)data[8] | (size_t)data[9] << 8 |
	                                                      (size_t)data[10] << 16 | (size_t)data[11] << 24;
	size_t start = data[6] == 1 ? 10 : 12;
	if (hlen > 65536 || start + hlen > bytes)
		return ccl_fail(CCL_EXIT_INPUT, path, "%s: NPY header runs past the member", member);
	char *dict = ccl_xmalloc(hlen + 1);
	memcpy(dict, data + start, hlen);
	dict[hlen] = 0;
	int64_t shape[4];
	int ndim = 0, bad = strlen(dict) != hlen || parse_dict(dict, shape, &ndim);
	free(dict);
	if (bad)
		return ccl_fail(CCL_EXIT_INPUT, path, "%s: not a C-order little-endian float32 array "
		                "(descr '<f4', fortran_order False)", member);
	int same = ndim == t->ndim;
	for (int d = 0; same && d < ndim; d++)
		same = shape[d] == t->shape[d];
	if (!same)
		return ccl_fail(CCL_EXIT_INPUT, path, "%s: shape does not match the architecture's %s", member, t->name);
	if (bytes - start - hlen != t->size * sizeof(float))
		return ccl_fail(CCL_EXIT_INPUT, path, "%s: %zu bytes of data for %zu floats", member, bytes - start - hlen,
		                t->size);
	memcpy(out + t->offset, data + start + hlen, t->size * sizeof(float));
	return 0;
}

/* The tensor a member name ("conv1.weight.npy") stands for, or -1. */
static int tensor_of(const ccl_net *net, const char *member)
{
	size_t n = strlen(member);
	if (n < 5 || strcmp(member + n - 4, ".npy"))
		return -1;
	for (int i = 0; i < ccl_net_tensor_count(net); i++) {
		const char *name = ccl_net_tensor(net, i)->name;
		if (strlen(name) == n - 4 && !strncmp(member, name, n - 4))
			return i;
	}
	return -1;
}

int ccl_npz_read(const ccl_net *net, float *params, const char *path)
{
	int count = ccl_net_tensor_count(net), rc = -1;
	char *seen = ccl_xcalloc((size_t)count, 1);
	unsigned char *data = NULL;
	struct archive_entry *e;
	struct archive *ar = archive_read_new();
	archive_read_support_format_zip_seekable(ar);
	if (archive_read_open_filename(ar, path, 1 << 16) != ARCHIVE_OK) {
		ccl_fail(CCL_EXIT_INPUT, path, "not a readable .npz file (%s)", archive_error_string(ar));
		goto out;
	}
	int r;
	while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
		const char *member = archive_entry_pathname(e);
		int t = member ? tensor_of(net, member) : -1;
		if (t < 0) {
			ccl_fail(CCL_EXIT_INPUT, path, "%s is no tensor of %s", member ? member : "a member", ccl_net_arch(net));
			goto out;
		}
		if (seen[t]++) {
			ccl_fail(CCL_EXIT_INPUT, path, "%s appears twice", member);
			goto out;
		}
		la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
		if (size < 0 || size > (la_int64_t)MEMBER_MAX) {
			ccl_fail(CCL_EXIT_INPUT, path, "%s: implausible size", member);
			goto out;
		}
		data = ccl_xrealloc(data, (size_t)size + 1);
		la_ssize_t got = archive_read_data(ar, data, (size_t)size + 1);
		if (got != size) {
			ccl_fail(CCL_EXIT_INPUT, path, "%s: %s", member,
			         got < 0 ? archive_error_string(ar) : "size differs from its header");
			goto out;
		}
		if (read_npy(data, (size_t)size, ccl_net_tensor(net, t), params, path, member))
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		ccl_fail(CCL_EXIT_INPUT, path, "not a readable .npz file (%s)", archive_error_string(ar));
		goto out;
	}
	for (int i = 0; i < count; i++)
		if (!seen[i]) {
			ccl_fail(CCL_EXIT_INPUT, path, "lacks %s.npy", ccl_net_tensor(net, i)->name);
			goto out;
		}
	rc = 0;
out:
	archive_read_free(ar);
	free(data);
	free(seen);
	return rc;
}
