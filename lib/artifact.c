#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#if defined(__SSE4_2__) && defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "artifact.h"
#include "error.h"
#include "profile.h"

/* Tensors are stored as the host's bytes; the format says little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "artifacts are little-endian");

#define MANIFEST_NAME "manifest.yaml"
#define MANIFEST_MAX (64 * 1024)
#define CRC_KEY "manifest_crc32c: "

/* ---- CRC-32C ------------------------------------------------------------ */

/* Castagnoli polynomial, reflected. */
#define CRC32C_POLY 0x82F63B78u

uint32_t ccl_crc32c_portable(uint32_t crc, const void *data, size_t n)
{
	static uint32_t table[256];
	const unsigned char *p = data;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? CRC32C_POLY ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__SSE4_2__) && defined(__x86_64__)
/* The CRC register is linear: running it over A then B from state s gives
 * shift(run(s, A), |B|) ^ run(0, B), where shift(r, n), the register after n
 * zero bytes, is r times x^(8n) modulo the polynomial.  That lets three
 * independent runs over three thirds of a buffer be joined into one CRC.
 * Polynomials here are reflected, as the register is: bit 31 holds x^0. */

/* a * b modulo the polynomial. */
static uint32_t gf2_multiply(uint32_t a, uint32_t b)
{
	uint32_t product = 0;
	for (uint32_t bit = 1u << 31; bit; bit >>= 1) {
		if (a & bit)
			product ^= b;
		b = b & 1 ? CRC32C_POLY ^ (b >> 1) : b >> 1; /* b *= x */
	}
	return product;
}

/* The register `r` after n more zero bytes. */
static uint32_t crc_shift(uint32_t r, size_t n)
{
	uint32_t x_to_8n = 1u << 31, square = 1u << 23; /* x^0 and x^8 */
	for (; n; n >>= 1, square = gf2_multiply(square, square))
		if (n & 1)
			x_to_8n = gf2_multiply(x_to_8n, square);
	return gf2_multiply(r, x_to_8n);
}

/* Runs the raw register over n bytes, n a multiple of 8. */
static uint64_t crc_run(uint64_t r, const unsigned char *p, size_t n)
{
	for (; n; n -= 8, p += 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		r = _mm_crc32_u64(r, v);
	}
	return r;
}

/* SSE4.2 (part of the x86-64-v2 baseline the Makefile builds for) computes
 * CRC-32C in hardware, 8 bytes an instruction.  One instruction takes three
 * cycles to give its result but a new one can start every cycle, so three
 * runs over a buffer's thirds, joined as above, go about three times as fast
 * as one: around 25 GB/s, a tenth of a millisecond for a shard. */
uint32_t ccl_crc32c(uint32_t crc, const void *data, size_t n)
{
	if (n == 0) /* data may then be NULL, and NULL + 0 is undefined */
		return crc;
	const unsigned char *p = data;
	uint64_t r = (uint32_t)~crc;
	size_t third = n / 24 * 8; /* a multiple of 8 */

	if (third >= 4096) {
		uint64_t a = r, b = 0, c = 0;
		const unsigned char *pb = p + third, *pc = pb + third;
		for (size_t i = 0; i < third; i += 8) {
			uint64_t va, vb, vc;
			memcpy(&va, p + i, 8);
			memcpy(&vb, pb + i, 8);
			memcpy(&vc, pc + i, 8);
			a = _mm_crc32_u64(a, va);
			b = _mm_crc32_u64(b, vb);
			c = _mm_crc32_u64(c, vc);
		}
		r = crc_shift((uint32_t)a, 2 * third) ^ crc_shift((uint32_t)b, third) ^ (uint32_t)c;
		p += 3 * third;
		n -= 3 * third;
	}
	r = crc_run(r, p, n / 8 * 8);
	p += n / 8 * 8;
	uint32_t r32 = (uint32_t)r;
	for (n %= 8; n; n--)
		r32 = _mm_crc32_u8(r32, *p++);
	return ~r32;
}
#else
uint32_t ccl_crc32c(uint32_t crc, const void *data, size_t n)
{
	return ccl_crc32c_portable(crc, data, n);
}
#endif

/* ---- in-memory artifact ------------------------------------------------- */

size_t ccl_dtype_size(enum ccl_dtype t) { return t == CCL_U8 ? 1 : 4; }

const char *ccl_dtype_name(enum ccl_dtype t)
{
	return t == CCL_U8 ? "u8" : t == CCL_I32 ? "i32" : "f32";
}

static int dtype_from_name(const char *s, enum ccl_dtype *t)
{
	for (int i = CCL_U8; i <= CCL_F32; i++)
		if (!strcmp(s, ccl_dtype_name(i))) {
			*t = i;
			return 0;
		}
	return -1;
}

ccl_artifact *ccl_artifact_new(const char *kind)
{
	ccl_artifact *a = ccl_xcalloc(1, sizeof *a);
	snprintf(a->kind, sizeof a->kind, "%s", kind);
	return a;
}

void ccl_artifact_free(ccl_artifact *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->ntensors; i++)
		if (!a->tensors[i].borrowed)
			free(a->tensors[i].data);
	if (a->mapping)
		munmap(a->mapping, a->mapping_size);
	free(a);
}

void ccl_artifact_set(ccl_artifact *a, const char *key, const char *fmt, ...)
{
	struct ccl_meta *m = NULL;
	va_list ap;

	for (int i = 0; i < a->nmeta; i++)
		if (!strcmp(a->meta[i].key, key))
			m = &a->meta[i];
	if (!m) {
		if (a->nmeta == CCL_MAX_META)
			return; /* a programming error: the kinds use far fewer keys */
		m = &a->meta[a->nmeta++];
		snprintf(m->key, sizeof m->key, "%s", key);
	}
	va_start(ap, fmt);
	vsnprintf(m->value, sizeof m->value, fmt, ap);
	va_end(ap);
}

void ccl_artifact_set_double(ccl_artifact *a, const char *key, double v)
{
	char text[32];
	for (int digits = 1; digits <= 17; digits++) {
		snprintf(text, sizeof text, "%.*g", digits, v);
		if (strtod(text, NULL) == v)
			break;
	}
	ccl_artifact_set(a, key, "%s", text);
}

const char *ccl_artifact_get(const ccl_artifact *a, const char *key)
{
	for (int i = 0; i < a->nmeta; i++)
		if (!strcmp(a->meta[i].key, key))
			return a->meta[i].value;
	return NULL;
}

/* A typed metadata value: the key must be there and parse whole.  Each getter
 * parses with errno cleared and hands the outcome to this one check. */
static int typed_value(const ccl_artifact *a, const char *path, const char *key, const char **value)
{
	*value = ccl_artifact_get(a, key);
	if (!*value)
		return ccl_fail(CCL_EXIT_INPUT, path, "manifest has no '%s'", key);
	errno = 0;
	return 0;
}

static int parsed(const char *path, const char *key, const char *value, const char *end, int ok, const char *what)
{
	if (errno || end == value || *end || !ok)
		return ccl_fail(CCL_EXIT_INPUT, path, "manifest '%s' is not %s: '%s'", key, what, value);
	return 0;
}

int ccl_artifact_get_long(const ccl_artifact *a, const char *path, const char *key, long *out)
{
	const char *v;
	char *end;
	if (typed_value(a, path, key, &v))
		return -1;
	*out = strtol(v, &end, 10);
	return parsed(path, key, v, end, 1, "an integer");
}

int ccl_artifact_get_u64(const ccl_artifact *a, const char *path, const char *key, uint64_t *out)
{
	const char *v;
	char *end;
	if (typed_value(a, path, key, &v))
		return -1;
	*out = strtoull(v, &end, 10);
	return parsed(path, key, v, end, *v != '-', "a non-negative integer");
}

int ccl_artifact_get_double(const ccl_artifact *a, const char *path, const char *key, double *out)
{
	const char *v;
	char *end;
	if (typed_value(a, path, key, &v))
		return -1;
	*out = strtod(v, &end);
	return parsed(path, key, v, end, isfinite(*out), "a finite number");
}

struct ccl_tensor *ccl_artifact_adopt(ccl_artifact *a, const char *name, enum ccl_dtype dtype,
                                      int ndim, const int64_t *shape, void *data)
{
	struct ccl_tensor *t;

	if (a->ntensors == CCL_MAX_TENSORS || ndim < 1 || ndim > CCL_MAX_DIMS) {
		free(data);
		return NULL;
	}
	t = &a->tensors[a->ntensors++];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->dtype = dtype;
	t->ndim = ndim;
	t->count = 1;
	for (int i = 0; i < ndim; i++) {
		t->shape[i] = shape[i];
		t->count *= (size_t)shape[i];
	}
	t->data = data;
	return t;
}

struct ccl_tensor *ccl_artifact_add(ccl_artifact *a, const char *name, enum ccl_dtype dtype,
                                    int ndim, const int64_t *shape)
{
	size_t count = 1;
	for (int i = 0; i < ndim; i++)
		count *= (size_t)shape[i];
	return ccl_artifact_adopt(a, name, dtype, ndim, shape, ccl_xcalloc(count, ccl_dtype_size(dtype)));
}

void ccl_tensor_own(struct ccl_tensor *t)
{
	if (!t->borrowed)
		return;
	size_t bytes = t->count * ccl_dtype_size(t->dtype);
	void *copy = ccl_xmalloc(bytes ? bytes : 1);
	memcpy(copy, t->data, bytes);
	t->data = copy;
	t->borrowed = 0;
}

struct ccl_tensor *ccl_artifact_tensor(const ccl_artifact *a, const char *path, const char *name,
                                       enum ccl_dtype dtype)
{
	for (int i = 0; i < a->ntensors; i++) {
		struct ccl_tensor *t = (struct ccl_tensor *)&a->tensors[i];
		if (strcmp(t->name, name))
			continue;
		if (t->dtype == dtype)
			return t;
		if (path)
			ccl_fail(CCL_EXIT_INPUT, path, "tensor '%s' is %s, expected %s", name,
			         ccl_dtype_name(t->dtype), ccl_dtype_name(dtype));
		return NULL;
	}
	if (path)
		ccl_fail(CCL_EXIT_INPUT, path, "%s artifact has no tensor '%s'", a->kind, name);
	return NULL;
}

/* ---- writing ------------------------------------------------------------ */

struct text {
	char *buf;
	size_t len, cap;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = 2 * (t->len + (size_t)n + 1);
		t->buf = ccl_xrealloc(t->buf, t->cap);
	}
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* A value is written plain when YAML would read it back unchanged, and
 * double-quoted with escapes otherwise. */
static void text_scalar(struct text *t, const char *s)
{
	int plain = *s != 0;
	for (const char *p = s; *p; p++)
		if (!(((*p | 32) >= 'a' && (*p | 32) <= 'z') || (*p >= '0' && *p <= '9') ||
		      strchr("._/+-", *p)))
			plain = 0;
	if (plain) {
		text_printf(t, "%s", s);
		return;
	}
	text_printf(t, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			text_printf(t, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			text_printf(t, "\\x%02x", *p);
		else
			text_printf(t, "%c", *p);
	}
	text_printf(t, "\"");
}

static void build_manifest(const ccl_artifact *a, struct text *m)
{
	text_printf(m, "format: %s\nversion: %d\nkind: %s\n", CCL_FORMAT_NAME, CCL_FORMAT_VERSION, a->kind);
	for (int i = 0; i < a->nmeta; i++) {
		text_printf(m, "%s: ", a->meta[i].key);
		text_scalar(m, a->meta[i].value);
		text_printf(m, "\n");
	}
	text_printf(m, "tensors:\n");
	for (int i = 0; i < a->ntensors; i++) {
		const struct ccl_tensor *t = &a->tensors[i];
		size_t bytes = t->count * ccl_dtype_size(t->dtype);
		text_printf(m, "  - name: %s\n    dtype: %s\n    shape: [", t->name, ccl_dtype_name(t->dtype));
		for (int d = 0; d < t->ndim; d++)
			text_printf(m, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
		text_printf(m, "]\n    bytes: %zu\n    crc32c: 0x%08x\n", bytes, ccl_crc32c(0, t->data, bytes));
	}
	text_printf(m, CRC_KEY "0x%08x\n", ccl_crc32c(0, m->buf, m->len));
}

static int write_member(struct archive *ar, const char *name, const void *data, size_t size)
{
	struct archive_entry *e = archive_entry_new();
	const char *p = data;
	int ok;

	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	ok = archive_write_header(ar, e) == ARCHIVE_OK;
	archive_entry_free(e);
	/* libarchive pads short writes silently, so count every byte. */
	while (ok && size > 0) {
		la_ssize_t n = archive_write_data(ar, p, size);
		if (n <= 0)
			return -1;
		p += n;
		size -= (size_t)n;
	}
	return ok ? 0 : -1;
}

long ccl_artifact_write(const ccl_artifact *a, const char *path)
{
	struct ccl_write w;
	long bytes = ccl_artifact_write_begin(a, path, &w);
	return bytes >= 0 && ccl_artifact_write_commit(&w) == 0 ? bytes : -1;
}

int ccl_write_open(const char *path, struct ccl_write *w)
{
	struct stat st;
	int fd;

	w->path = path;
	w->tmp = NULL;
	if (!strcmp(path, "-"))
		return STDOUT_FILENO;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A device or a FIFO is written to, never renamed over: a rename
		 * would put a regular file where /dev/null was.  Opening does not
		 * wait for a FIFO's reader; one with no reader is an error. */
		if (S_ISDIR(st.st_mode))
			return ccl_fail(CCL_EXIT_FAILURE, path, "is a directory");
		fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return ccl_fail(CCL_EXIT_FAILURE, path, "cannot open: %s",
			                errno == ENXIO ? "a FIFO with no reader" : strerror(errno));
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		return fd;
	}
	w->tmp = ccl_xmalloc(strlen(path) + 16);
	sprintf(w->tmp, "%s.tmp.XXXXXX", path);
	fd = mkstemp(w->tmp);
	if (fd < 0) {
		ccl_fail(CCL_EXIT_FAILURE, path, "cannot create: %s", strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		return -1;
	}
	fchmod(fd, 0644);
	return fd;
}

int ccl_write_close(int fd, struct ccl_write *w, int ok)
{
	if (fd != STDOUT_FILENO && close(fd) != 0 && ok) {
		ccl_fail(CCL_EXIT_FAILURE, w->path, "cannot write: %s", strerror(errno));
		ok = 0;
	}
	if (!ok)
		ccl_artifact_write_abort(w);
	return ok ? 0 : -1;
}

long ccl_artifact_write_begin(const ccl_artifact *a, const char *path, struct ccl_write *w)
{
	const char *shown = strcmp(path, "-") ? path : "<stdout>"; /* in messages, "-" alone reads as stdin */
	struct text manifest = {0};
	struct archive *ar;
	long bytes = -1;
	double start = ccl_clock();
	int fd = ccl_write_open(path, w);
	if (fd < 0)
		return -1;

	build_manifest(a, &manifest);
	ar = archive_write_new();
	archive_write_set_format_ustar(ar);
	archive_write_add_filter_none(ar);
	/* No blocking: each header and each tensor goes to write() straight
	 * from where it lies, instead of being copied through a buffer first,
	 * and the archive ends after its end-of-archive blocks. */
	archive_write_set_bytes_per_block(ar, 0);
	int ok = archive_write_open_fd(ar, fd) == ARCHIVE_OK &&
	         write_member(ar, MANIFEST_NAME, manifest.buf, manifest.len) == 0;
	for (int i = 0; ok && i < a->ntensors; i++) {
		const struct ccl_tensor *t = &a->tensors[i];
		char name[48];
		snprintf(name, sizeof name, "%s.bin", t->name);
		ok = write_member(ar, name, t->data, t->count * ccl_dtype_size(t->dtype)) == 0;
	}
	ok = archive_write_close(ar) == ARCHIVE_OK && ok;
	if (ok)
		bytes = (long)archive_filter_bytes(ar, -1);
	else
		ccl_fail(CCL_EXIT_FAILURE, shown, "cannot write: %s",
		         archive_error_string(ar) ? archive_error_string(ar) : strerror(errno));
	archive_write_free(ar);
	free(manifest.buf);
	int failed = ccl_write_close(fd, w, ok);
	ccl_profile.write += ccl_clock() - start;
	ccl_profile.artifacts_written++;
	return failed ? -1 : bytes;
}

int ccl_artifact_write_commit(struct ccl_write *w)
{
	double start = ccl_clock();
	int renamed = !w->tmp || rename(w->tmp, w->path) == 0;
	ccl_profile.write += ccl_clock() - start;
	if (!renamed) {
		ccl_fail(CCL_EXIT_FAILURE, w->path, "cannot rename into place: %s", strerror(errno));
		ccl_artifact_write_abort(w);
		return -1;
	}
	free(w->tmp);
	w->tmp = NULL;
	return 0;
}

void ccl_artifact_write_abort(struct ccl_write *w)
{
	if (w->tmp)
		unlink(w->tmp);
	free(w->tmp);
	w->tmp = NULL;
}

/* ---- reading the manifest ------------------------------------------------ */

struct manifest_tensor {
	char name[32];
	enum ccl_dtype dtype;
	int ndim;
	int64_t shape[CCL_MAX_DIMS];
	size_t bytes;
	uint32_t crc;
	unsigned seen; /* bit per field, to find missing and repeated ones */
};

struct reader {
	const char *path;
	yaml_parser_t parser;
	yaml_event_t event;
};

static const char *scalar_text(const struct reader *r) { return (const char *)r->event.data.scalar.value; }

/* The next event, refusing aliases and anchors: a manifest never needs them,
 * and refusing them removes libyaml's self-referencing and expansion traps. */
static int next_event(struct reader *r)
{
	yaml_event_delete(&r->event);
	if (!yaml_parser_parse(&r->parser, &r->event))
		return ccl_fail(CCL_EXIT_INPUT, r->path, "manifest is not valid YAML: %s at line %zu",
		                r->parser.problem ? r->parser.problem : "parse error",
		                r->parser.problem_mark.line + 1);
	if (r->event.type == YAML_SCALAR_EVENT && r->event.data.scalar.length != strlen(scalar_text(r)))
		return ccl_fail(CCL_EXIT_INPUT, r->path, "manifest: a value holds a NUL byte at line %zu",
		                r->event.start_mark.line + 1);
	if (r->event.type == YAML_ALIAS_EVENT ||
	    (r->event.type == YAML_SCALAR_EVENT && r->event.data.scalar.anchor) ||
	    (r->event.type == YAML_MAPPING_START_EVENT && r->event.data.mapping_start.anchor) ||
	    (r->event.type == YAML_SEQUENCE_START_EVENT && r->event.data.sequence_start.anchor))
		return ccl_fail(CCL_EXIT_INPUT, r->path, "manifest uses YAML anchors or aliases");
	return 0;
}

static int expect(struct reader *r, yaml_event_type_t type, const char *what)
{
	if (next_event(r))
		return -1;
	if (r->event.type != type)
		return ccl_fail(CCL_EXIT_INPUT, r->path, "manifest: expected %s at line %zu", what,
		                r->event.start_mark.line + 1);
	return 0;
}

static const char *scalar(struct reader *r) { return (const char *)r->event.data.scalar.value; }

static int parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s == '-' || *s == '+' || *s == ' ')
		return -1;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_tensor_entry(struct reader *r, struct manifest_tensor *mt)
{
	enum { F_NAME = 1, F_DTYPE = 2, F_SHAPE = 4, F_BYTES = 8, F_CRC = 16 };
	const char *path = r->path;

	memset(mt, 0, sizeof *mt);
	for (;;) {
		char key[32];
		unsigned field;
		uint64_t v;

		if (next_event(r))
			return -1;
		if (r->event.type == YAML_MAPPING_END_EVENT)
			break;
		if (r->event.type != YAML_SCALAR_EVENT)
			return ccl_fail(CCL_EXIT_INPUT, path, "manifest: malformed tensor entry");
		snprintf(key, sizeof key, "%s", scalar(r));
		field = !strcmp(key, "name") ? F_NAME : !strcmp(key, "dtype") ? F_DTYPE :
		        !strcmp(key, "shape") ? F_SHAPE : !strcmp(key, "bytes") ? F_BYTES :
		        !strcmp(key, "crc32c") ? F_CRC : 0;
		if (!field)
			return ccl_fail(CCL_EXIT_INPUT, path, "manifest: unknown tensor field '%s'", key);
		if (mt->seen & field)
			return ccl_fail(CCL_EXIT_INPUT, path, "manifest: tensor field '%s' given twice", key);
		mt->seen |= field;
		if (field == F_SHAPE) {
			if (expect(r, YAML_SEQUENCE_START_EVENT, "a shape list"))
				return -1;
			for (;;) {
				if (next_event(r))
					return -1;
				if (r->event.type == YAML_SEQUENCE_END_EVENT)
					break;
				if (r->event.type != YAML_SCALAR_EVENT || mt->ndim == CCL_MAX_DIMS ||
				    parse_u64(scalar(r), 10, INT32_MAX, &v) || v == 0)
					return ccl_fail(CCL_EXIT_INPUT, path, "manifest: bad shape of tensor '%s'", mt->name);
				mt->shape[mt->ndim++] = (int64_t)v;
			}
			continue;
		}
		if (expect(r, YAML_SCALAR_EVENT, "a value"))
			return -1;
		const char *s = scalar(r);
		int bad = 0;
		switch (field) {
		case F_NAME:
			bad = !*s || strlen(s) >= sizeof mt->name || strspn(s, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(s);
			if (!bad)
				strcpy(mt->name, s);
			break;
		case F_DTYPE:
			bad = dtype_from_name(s, &mt->dtype);
			break;
		case F_BYTES:
			bad = parse_u64(s, 10, SIZE_MAX / 2, &v);
			mt->bytes = (size_t)v;
			break;
		case F_CRC:
			bad = parse_u64(s, 16, UINT32_MAX, &v);
			mt->crc = (uint32_t)v;
			break;
		}
		if (bad)
			return ccl_fail(CCL_EXIT_INPUT, path, "manifest: bad tensor %s '%s'", key, s);
	}
	if (mt->seen != (F_NAME | F_DTYPE | F_SHAPE | F_BYTES | F_CRC) || mt->ndim == 0)
		return ccl_fail(CCL_EXIT_INPUT, path, "manifest: incomplete tensor entry '%s'", mt->name);
	/* The shape comes from another agent's file: multiply with a bound, so
	 * that a product past 2^64 cannot wrap to the byte count declared. */
	size_t count = 1, limit = SIZE_MAX / 2 / ccl_dtype_size(mt->dtype);
	for (int d = 0; d < mt->ndim; d++) {
		if (mt->shape[d] != 0 && count > limit / (size_t)mt->shape[d])
			return ccl_fail(CCL_EXIT_INPUT, path, "manifest: tensor '%s' is too large", mt->name);
		count *= (size_t)mt->shape[d];
	}
	if (count * ccl_dtype_size(mt->dtype) != mt->bytes)
		return ccl_fail(CCL_EXIT_INPUT, path, "manifest: tensor '%s' shape and byte count disagree", mt->name);
	return 0;
}

static int parse_manifest(const char *path, const char *text, size_t len, ccl_artifact *a,
                          struct manifest_tensor *mts)
{
	struct reader r = {.path = path};
	int rc = -1, have_format = 0, have_version = 0, have_crc = 0;

	yaml_parser_initialize(&r.parser);
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
	r.event.type = YAML_NO_EVENT;
	if (expect(&r, YAML_STREAM_START_EVENT, "a document") ||
	    expect(&r, YAML_DOCUMENT_START_EVENT, "a document") ||
	    expect(&r, YAML_MAPPING_START_EVENT, "a mapping"))
		goto out;
	for (;;) {
		char key[32];
		if (next_event(&r))
			goto out;
		if (r.event.type == YAML_MAPPING_END_EVENT)
			break;
		if (r.event.type != YAML_SCALAR_EVENT || strlen(scalar(&r)) >= sizeof key) {
			ccl_fail(CCL_EXIT_INPUT, path, "manifest: bad key at line %zu", r.event.start_mark.line + 1);
			goto out;
		}
		strcpy(key, scalar(&r));
		if (!strcmp(key, "tensors")) {
			if (a->ntensors) {
				ccl_fail(CCL_EXIT_INPUT, path, "manifest: 'tensors' given twice");
				goto out;
			}
			if (expect(&r, YAML_SEQUENCE_START_EVENT, "a tensor list"))
				goto out;
			for (;;) {
				if (next_event(&r))
					goto out;
				if (r.event.type == YAML_SEQUENCE_END_EVENT)
					break;
				if (r.event.type != YAML_MAPPING_START_EVENT || a->ntensors == CCL_MAX_TENSORS) {
					ccl_fail(CCL_EXIT_INPUT, path, "manifest: malformed tensor list");
					goto out;
				}
				if (parse_tensor_entry(&r, &mts[a->ntensors]))
					goto out;
				for (int i = 0; i < a->ntensors; i++)
					if (!strcmp(mts[i].name, mts[a->ntensors].name)) {
						ccl_fail(CCL_EXIT_INPUT, path, "manifest: tensor '%s' listed twice", mts[i].name);
						goto out;
					}
				a->ntensors++;
			}
			continue;
		}
		if (expect(&r, YAML_SCALAR_EVENT, "a plain value"))
			goto out;
		const char *value = scalar(&r);
		if ((!strcmp(key, "format") && have_format) || (!strcmp(key, "version") && have_version) ||
		    (!strcmp(key, "kind") && a->kind[0]) || (!strcmp(key, "manifest_crc32c") && have_crc++)) {
			ccl_fail(CCL_EXIT_INPUT, path, "manifest: key '%s' given twice", key);
			goto out;
		}
		if (!strcmp(key, "format")) {
			if (strcmp(value, CCL_FORMAT_NAME)) {
				ccl_fail(CCL_EXIT_INPUT, path, "not a ccl artifact (format '%s')", value);
				goto out;
			}
			have_format = 1;
		} else if (!strcmp(key, "version")) {
			if (strcmp(value, "1")) {
				ccl_fail(CCL_EXIT_INPUT, path, "artifact format version %s; this tool reads version %d",
				         value, CCL_FORMAT_VERSION);
				goto out;
			}
			have_version = 1;
		} else if (!strcmp(key, "kind")) {
			if (strcmp(value, "shard") && strcmp(value, "model") && strcmp(value, "state") &&
			    strcmp(value, "featstat")) {
				ccl_fail(CCL_EXIT_INPUT, path, "manifest: unknown kind '%.40s'", value);
				goto out;
			}
			snprintf(a->kind, sizeof a->kind, "%s", value);
		} else if (!strcmp(key, "manifest_crc32c")) {
			; /* verified on the raw text before parsing */
		} else if (ccl_artifact_get(a, key) || a->nmeta == CCL_MAX_META || strlen(value) >= 256) {
			ccl_fail(CCL_EXIT_INPUT, path, "manifest: key '%s' repeated, too long or one too many", key);
			goto out;
		} else {
			ccl_artifact_set(a, key, "%s", value);
		}
	}
	if (!have_format || !have_version || !a->kind[0]) {
		ccl_fail(CCL_EXIT_INPUT, path, "not a ccl artifact (manifest lacks format, version or kind)");
		goto out;
	}
	if (expect(&r, YAML_DOCUMENT_END_EVENT, "the end of the manifest") ||
	    expect(&r, YAML_STREAM_END_EVENT, "the end of the manifest (one document only)"))
		goto out;
	rc = 0;
out:
	yaml_event_delete(&r.event);
	yaml_parser_delete(&r.parser);
	return rc;
}

/* The manifest's last line holds the CRC-32C of everything before it. */
static int check_manifest_crc(const char *path, const char *text, size_t len)
{
	const char *line = NULL;
	uint64_t crc;

	for (const char *p = text; (p = strstr(p, CRC_KEY)); p++)
		if (p == text || p[-1] == '\n')
			line = p;
	if (!line)
		return ccl_fail(CCL_EXIT_INPUT, path, "not a ccl artifact (manifest has no checksum)");
	char digits[16] = {0};
	size_t n = strcspn(line + strlen(CRC_KEY), "\n");
	if (n >= sizeof digits || line + strlen(CRC_KEY) + n + 1 != text + len)
		return ccl_fail(CCL_EXIT_INPUT, path, "manifest checksum line is damaged");
	memcpy(digits, line + strlen(CRC_KEY), n);
	if (parse_u64(digits, 16, UINT32_MAX, &crc))
		return ccl_fail(CCL_EXIT_INPUT, path, "manifest checksum line is damaged");
	if ((uint32_t)crc != ccl_crc32c(0, text, (size_t)(line - text)))
		return ccl_fail(CCL_EXIT_INPUT, path, "manifest checksum mismatch: the file is corrupted");
	return 0;
}

/* ---- reading the archive ------------------------------------------------- */

/* Built with -DCCL_FUZZ_SKIP_CHECKSUMS (the fuzz harnesses only, never the
 * tools), a reader takes any checksum, so that a fuzzer's inputs reach the
 * parsers behind them. */
#ifdef CCL_FUZZ_SKIP_CHECKSUMS
#define CHECKSUMS_VERIFIED 0
#else
#define CHECKSUMS_VERIFIED 1
#endif

static int read_member(struct archive *ar, const char *path, const char *what, void *buf, size_t size)
{
	char *p = buf;
	while (size > 0) {
		la_ssize_t n = archive_read_data(ar, p, size);
		if (n < 0)
			return ccl_fail(CCL_EXIT_INPUT, path, "truncated or damaged while reading %s (%s)", what,
			                archive_error_string(ar));
		if (n == 0)
			return ccl_fail(CCL_EXIT_INPUT, path, "truncated while reading %s", what);
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

/* Reads a tensor member.  When the member's bytes lie whole and aligned in
 * the file mapping (an uncompressed artifact read from a file), the tensor
 * points at them; otherwise they are copied into a buffer of its own. */
static int read_tensor(struct archive *ar, const char *path, const char *what, ccl_artifact *a,
                       struct ccl_tensor *t, size_t size)
{
	const char *map = a->mapping;
	size_t got = 0;

	t->data = NULL;
	for (;;) {
		const void *block;
		size_t len;
		la_int64_t offset;
		int r = archive_read_data_block(ar, &block, &len, &offset);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return ccl_fail(CCL_EXIT_INPUT, path, "truncated or damaged while reading %s (%s)", what,
			                archive_error_string(ar));
		if (offset < 0 || (size_t)offset + len > size)
			return ccl_fail(CCL_EXIT_INPUT, path, "damaged: %s runs past its size", what);
		const char *b = block;
		if (!t->data && offset == 0 && len == size && map && b >= map && b + len <= map + a->mapping_size &&
		    (uintptr_t)b % sizeof(float) == 0) {
			t->data = (void *)b;
			t->borrowed = 1;
		} else {
			if (!t->data && !(t->data = malloc(size ? size : 1)))
				return ccl_fail(CCL_EXIT_INPUT, path, "%s of %zu bytes does not fit in memory", what, size);
			if (t->borrowed)
				return ccl_fail(CCL_EXIT_INPUT, path, "damaged: %s is split", what);
			memcpy((char *)t->data + offset, b, len);
		}
		got += len;
	}
	if (got != size)
		return ccl_fail(CCL_EXIT_INPUT, path, "truncated while reading %s", what);
	return 0;
}

static int next_member(struct archive *ar, const char *path, const char *want, la_int64_t *size)
{
	struct archive_entry *e;
	int rc = archive_read_next_header(ar, &e);
	int first = !strcmp(want, MANIFEST_NAME);

	if (rc == ARCHIVE_EOF)
		return ccl_fail(CCL_EXIT_INPUT, path, first ? "empty or not a ccl artifact"
		                : "truncated: member '%s' is missing", want);
	if (rc != ARCHIVE_OK)
		return ccl_fail(CCL_EXIT_INPUT, path, "%s (%s)", first ? "not a ccl artifact" : "truncated or damaged",
		                archive_error_string(ar));
	if (strcmp(archive_entry_pathname(e), want))
		return ccl_fail(CCL_EXIT_INPUT, path, "%s: expected member '%s', found '%s'",
		                first ? "not a ccl artifact" : "damaged", want, archive_entry_pathname(e));
	if (*size >= 0 && archive_entry_size(e) != *size)
		return ccl_fail(CCL_EXIT_INPUT, path, "member '%s' has %lld bytes, manifest says %lld", want,
		                (long long)archive_entry_size(e), (long long)*size);
	*size = archive_entry_size(e);
	return 0;
}

/* 1 when all FINITE_BLOCK values are finite: x - x is 0 for a finite x and
 * NaN for an infinity or a NaN.  A loop of fixed length and no branches is
 * one the compiler vectorizes at -O2; the state's 123,000 values are checked
 * at every read. */
enum { FINITE_BLOCK = 1024 };
static int block_finite(const float *f)
{
	int finite = 1;
	for (int i = 0; i < FINITE_BLOCK; i++)
		finite &= f[i] - f[i] == 0.0f;
	return finite;
}

static int check_finite(const char *path, const struct ccl_tensor *t)
{
	const float *f = t->data;
	if (t->dtype != CCL_F32)
		return 0;
	size_t i = 0;
	while (i + FINITE_BLOCK <= t->count && block_finite(f + i))
		i += FINITE_BLOCK;
	/* The tail, or the block holding a value that is not finite. */
	for (; i < t->count; i++)
		if (!isfinite(f[i]))
			return ccl_fail(CCL_EXIT_INPUT, path, "tensor '%s' holds %s at index %zu", t->name,
			                isnan(f[i]) ? "NaN" : "infinity", i);
	return 0;
}

/* The most tensor bytes an artifact of a kind can hold: a shard of the
 * largest training split read (60,000 images, CIFAR-sized at most, with
 * labels and indices); a network of 16 million parameters (a state holds
 * two vectors); a statistic of 256 classes by 4,096 features. */
static size_t kind_capacity(const char *kind)
{
	const size_t mib = 1 << 20;
	return !strcmp(kind, "shard") ? 256 * mib : !strcmp(kind, "model") ? 64 * mib
	       : !strcmp(kind, "state") ? 128 * mib : 8 * mib;
}

/* The layout of an archive of `n` members of the given sizes, as the
 * writer makes it: each member a 512-byte header and its data padded with
 * zeros to a multiple of 512 bytes, then two 512-byte blocks of zeros, and
 * nothing after them. */
static int check_layout(const char *path, const char *file, size_t file_size, const size_t *sizes, int n)
{
	size_t at = 0;
	for (int m = 0; m <= n; m++) {
		size_t data_end = m < n ? at + 512 + sizes[m] : at, end = m < n ? at + 512 + (sizes[m] + 511) / 512 * 512
		                                                                   : at + 1024;
		if (end > file_size)
			return ccl_fail(CCL_EXIT_INPUT, path, "truncated: the archive's end blocks are missing (%zu bytes, "
			                "expected %zu)", file_size, end);
		for (size_t i = data_end; i < end; i++)
			if (file[i])
				return ccl_fail(CCL_EXIT_INPUT, path, "damaged: byte %zu, %s, is not zero", i,
				                m < n ? "padding after a member" : "in the end blocks");
		at = end;
	}
	if (file_size > at)
		return ccl_fail(CCL_EXIT_INPUT, path, "garbage after the archive's end (%zu bytes, expected %zu)", file_size,
		                at);
	return 0;
}

static int read_archive(struct archive *ar, const char *path, ccl_artifact *a)
{
	struct manifest_tensor mts[CCL_MAX_TENSORS];
	struct archive_entry *e;
	la_int64_t size = -1;
	char *text;
	int rc;

	if (next_member(ar, path, MANIFEST_NAME, &size))
		return -1;
	if (size <= 0 || size > MANIFEST_MAX)
		return ccl_fail(CCL_EXIT_INPUT, path, "manifest of %lld bytes is not plausible", (long long)size);
	text = ccl_xmalloc((size_t)size + 1);
	text[size] = 0;
	rc = read_member(ar, path, "the manifest", text, (size_t)size);
	if (!rc && strlen(text) != (size_t)size)
		rc = ccl_fail(CCL_EXIT_INPUT, path, "manifest holds a NUL byte");
	if (!rc)
		rc = CHECKSUMS_VERIFIED ? check_manifest_crc(path, text, (size_t)size) : 0;
	if (!rc)
		rc = parse_manifest(path, text, (size_t)size, a, mts);
	free(text);
	if (rc)
		return -1;

	/* Declared sizes are checked against what the kind can hold before
	 * anything is allocated: through gzip a few bytes can declare (and
	 * really decompress to) gigabytes. */
	size_t declared = 0, most = kind_capacity(a->kind);
	for (int i = 0; i < a->ntensors; i++)
		declared += mts[i].bytes;
	if (declared > most)
		return ccl_fail(CCL_EXIT_INPUT, path, "declares %zu bytes of tensors; a %s artifact holds at most %zu",
		                declared, a->kind, most);

	size_t member_sizes[CCL_MAX_TENSORS + 1] = {(size_t)size};
	int ntensors = a->ntensors;
	a->ntensors = 0;
	for (int i = 0; i < ntensors; i++) {
		const struct manifest_tensor *mt = &mts[i];
		char member[48];
		snprintf(member, sizeof member, "%.31s.bin", mt->name);
		size = (la_int64_t)mt->bytes;
		if (next_member(ar, path, member, &size))
			return -1;
		struct ccl_tensor *t = ccl_artifact_adopt(a, mt->name, mt->dtype, mt->ndim, mt->shape, NULL);
		if (read_tensor(ar, path, member, a, t, mt->bytes))
			return -1;
		double verify_start = ccl_clock();
		if (CHECKSUMS_VERIFIED && ccl_crc32c(0, t->data, mt->bytes) != mt->crc)
			return ccl_fail(CCL_EXIT_INPUT, path, "tensor '%s' fails its CRC-32C check: the file is corrupted",
			                mt->name);
		if (check_finite(path, t))
			return -1;
		ccl_profile.verify += ccl_clock() - verify_start;
		member_sizes[i + 1] = mt->bytes;
	}
	rc = archive_read_next_header(ar, &e);
	if (rc == ARCHIVE_OK)
		return ccl_fail(CCL_EXIT_INPUT, path, "unexpected member '%s' after the tensors",
		                archive_entry_pathname(e));
	if (rc != ARCHIVE_EOF)
		return ccl_fail(CCL_EXIT_INPUT, path, "damaged after the tensors (%s)", archive_error_string(ar));
	/* An uncompressed file read whole is checked byte for byte where tar is
	 * lenient: libarchive ignores the padding after each member, forgives
	 * missing end blocks and ignores what follows them.  Through a pipe or
	 * gzip these bytes are not looked at. */
	if (a->mapping && archive_filter_count(ar) == 1)
		return check_layout(path, a->mapping, a->mapping_size, member_sizes, ntensors + 1);
	return 0;
}

ccl_artifact *ccl_artifact_read(const char *path, const char *expect_kind)
{
	double start = ccl_clock();
	int from_stdin = !strcmp(path, "-");
	/* O_NONBLOCK only to open: a FIFO would otherwise wait for a writer
	 * (one without a writer then reads as empty); reads block as usual. */
	int fd = from_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_NONBLOCK);
	struct stat st;
	ccl_artifact *a;

	if (fd < 0) {
		ccl_fail(CCL_EXIT_INPUT, path, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (!from_stdin)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (!from_stdin && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		ccl_fail(CCL_EXIT_INPUT, path, "is a directory, expected an artifact");
		return NULL;
	}
	a = ccl_artifact_new("");
	if (!from_stdin && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			a->mapping = map;
			a->mapping_size = (size_t)st.st_size;
		}
	}
	struct archive *ar = archive_read_new();
	archive_read_support_format_tar(ar);
	archive_read_support_filter_gzip(ar); /* a gzip-compressed artifact reads as well */
	int opened = a->mapping ? archive_read_open_memory(ar, a->mapping, a->mapping_size)
	                        : archive_read_open_fd(ar, fd, 1 << 20);
	int rc = opened == ARCHIVE_OK
	         ? read_archive(ar, path, a)
	         : ccl_fail(CCL_EXIT_INPUT, path, "not a ccl artifact (%s)", archive_error_string(ar));
	archive_read_free(ar);
	if (!from_stdin)
		close(fd);
	if (!rc && expect_kind && strcmp(a->kind, expect_kind))
		rc = ccl_fail(CCL_EXIT_INPUT, path, "is a %s artifact, expected a %s", a->kind, expect_kind);
	if (rc) {
		ccl_artifact_free(a);
		return NULL;
	}
	ccl_profile.read += ccl_clock() - start;
	ccl_profile.artifacts_read++;
	return a;
}

int ccl_make_dirs(const char *path)
{
	char *p = ccl_xstrdup(path);
	int rc = 0;
	for (char *s = p + 1; ; s++) {
		int end = *s == 0;
		if (*s == '/' || end) {
			*s = 0;
			if (mkdir(p, 0777) != 0 && errno != EEXIST) {
				rc = ccl_fail(CCL_EXIT_FAILURE, path, "cannot create directory: %s", strerror(errno));
				break;
			}
			if (end)
				break;
			*s = '/';
		}
	}
	free(p);
	struct stat st;
	if (!rc && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
		rc = ccl_fail(CCL_EXIT_FAILURE, path, "not a directory");
	return rc;
}
