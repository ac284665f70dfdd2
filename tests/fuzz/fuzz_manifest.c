/*
 * fuzz_manifest - the manifest parser: the input is the text of
 * manifest.yaml, wrapped here into the first member of an otherwise empty
 * archive, so every input reaches the YAML and structure checks.
 */
#include <archive.h>
#include <archive_entry.h>

#include "artifact.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static unsigned char tar[80 * 1024];
	size_t used = 0;
	if (size > 64 * 1024)
		return 0;
	struct archive *w = archive_write_new();
	archive_write_set_format_ustar(w);
	archive_write_set_bytes_per_block(w, 0);
	archive_write_open_memory(w, tar, sizeof tar, &used);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "manifest.yaml");
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_write_header(w, e);
	archive_write_data(w, data, size);
	archive_entry_free(e);
	archive_write_close(w);
	archive_write_free(w);

	ccl_artifact *a = ccl_artifact_read(fuzz_file("manifest.ccl", tar, used), NULL);
	if (a && a->nmeta > CCL_MAX_META)
		abort();
	ccl_artifact_free(a);
	return 0;
}
