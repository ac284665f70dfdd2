/*
 * artifact.h - the file format every tool reads and writes.
 *
 * An artifact is a ustar archive.  Its first member, "manifest.yaml", says
 * what the artifact is (format, version, kind, architecture, class count,
 * agent, step, ...) and lists its tensors with dtype, shape, byte count and
 * CRC-32C; the last line of the manifest is the CRC-32C of the lines before it.
 * Every other member is one tensor, "<name>.bin", raw little-endian values in
 * manifest order.  Standard tar can list and extract it, it streams through
 * pipes, and since members carry no timestamps or owners the same content
 * always gives the same bytes.  ccl-artifact(5) is the full description.
 *
 * Reading verifies everything: the manifest checksum, the structure, each
 * tensor's size and CRC-32C, and that float tensors hold no NaN or infinity.
 * Writing is atomic: a temporary file in the target directory, renamed into
 * place only when complete.  The path "-" means stdin or stdout.
 *
 * A regular file is read through a private (copy-on-write) memory mapping,
 * and the tensors of an uncompressed artifact point straight into it: no
 * copy, and changing a tensor never changes the file.  A file must not be
 * truncated in place while an artifact read from it is in use; the tools
 * only ever replace files by renaming.
 */
#ifndef CCL_ARTIFACT_H
#define CCL_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#define CCL_FORMAT_NAME "ccl-artifact"
#define CCL_FORMAT_VERSION 1
#define CCL_MAX_TENSORS 16
#define CCL_MAX_META 32
#define CCL_MAX_DIMS 4

enum ccl_dtype { CCL_U8, CCL_I32, CCL_F32 };

struct ccl_tensor {
	char name[32];
	enum ccl_dtype dtype;
	int ndim;
	int64_t shape[CCL_MAX_DIMS];
	size_t count; /* number of elements: the product of the shape */
	void *data;
	int borrowed; /* data lies in the artifact's file mapping, not malloc'd */
};

struct ccl_meta {
	char key[32];
	char value[256];
};

typedef struct ccl_artifact {
	char kind[16]; /* "shard", "model", "state", "featstat" */
	int nmeta;
	struct ccl_meta meta[CCL_MAX_META];
	int ntensors;
	struct ccl_tensor tensors[CCL_MAX_TENSORS];
	void *mapping; /* a read artifact's file, mapped copy-on-write */
	size_t mapping_size;
} ccl_artifact;

ccl_artifact *ccl_artifact_new(const char *kind);
void ccl_artifact_free(ccl_artifact *a);

/* Metadata: ordered key/value pairs of the manifest.  Setting a key twice
 * replaces its value. */
void ccl_artifact_set(ccl_artifact *a, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A number with the fewest digits that read back as v. */
void ccl_artifact_set_double(ccl_artifact *a, const char *key, double v);
const char *ccl_artifact_get(const ccl_artifact *a, const char *key);
/* Typed getters fail (naming `path`) when the key is absent or malformed. */
int ccl_artifact_get_long(const ccl_artifact *a, const char *path, const char *key, long *out);
int ccl_artifact_get_u64(const ccl_artifact *a, const char *path, const char *key, uint64_t *out);
int ccl_artifact_get_double(const ccl_artifact *a, const char *path, const char *key, double *out);

/* Adds a zero-filled tensor and returns it. */
struct ccl_tensor *ccl_artifact_add(ccl_artifact *a, const char *name, enum ccl_dtype dtype,
                                    int ndim, const int64_t *shape);
/* Adds a tensor that takes ownership of `data` (allocated with malloc). */
struct ccl_tensor *ccl_artifact_adopt(ccl_artifact *a, const char *name, enum ccl_dtype dtype,
                                      int ndim, const int64_t *shape, void *data);
/* Gives a tensor that lies in the file mapping a malloc'd copy of its own
 * (see ccl_agent_load for why). */
void ccl_tensor_own(struct ccl_tensor *t);
/* Looks a tensor up; with `path` non-NULL a missing tensor or another dtype
 * is a recorded failure. */
struct ccl_tensor *ccl_artifact_tensor(const ccl_artifact *a, const char *path, const char *name,
                                       enum ccl_dtype dtype);

/* Writes atomically; returns the number of bytes written, or -1. */
long ccl_artifact_write(const ccl_artifact *a, const char *path);

/* The same in two halves, so that several outputs can appear in a chosen
 * order: _begin writes the whole artifact under a temporary name next to
 * `path` (or, for standard output, a FIFO or a device, in place) and
 * returns the bytes or -1 (leaving nothing behind); then exactly one of
 * _commit (rename into place; 0 or -1) or _abort (remove the temporary). */
struct ccl_write {
	const char *path;
	char *tmp; /* NULL when written in place */
};
long ccl_artifact_write_begin(const ccl_artifact *a, const char *path, struct ccl_write *w);
/* The output half of _begin, for files that are not artifacts (ccl-npz):
 * opens the temporary (or the stream, FIFO or device) and returns its
 * descriptor, or -1; _close closes it and, unless ok, aborts.  Commit as
 * above. */
int ccl_write_open(const char *path, struct ccl_write *w);
int ccl_write_close(int fd, struct ccl_write *w, int ok);
int ccl_artifact_write_commit(struct ccl_write *w);
void ccl_artifact_write_abort(struct ccl_write *w);
/* Reads and verifies; with expect_kind non-NULL, another kind is an error. */
ccl_artifact *ccl_artifact_read(const char *path, const char *expect_kind);

/* mkdir -p: creates a directory and its missing parents. */
int ccl_make_dirs(const char *path);

size_t ccl_dtype_size(enum ccl_dtype t);
const char *ccl_dtype_name(enum ccl_dtype t);

/* CRC-32CC (Castagnoli, as in iSCSI, ext4 and btrfs), continued from `crc`
 * (start with 0); in hardware where the CPU has it.  The portable version
 * gives the same values, a byte at a time. */
uint32_t ccl_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t ccl_crc32c_portable(uint32_t crc, const void *data, size_t n);

#endif
