/*
 * fixture_rewrite IN OUT OPERATION ARG...
 *
 * Test fixture for the corruption matrix (tests/bats/80-corruption.bats):
 * copies the tar archive IN to OUT member by member, damaged in one chosen
 * way that a plain byte flip would not reach, because the manifest's
 * checksum is recomputed afterwards:
 *
 *   manifest FROM TO   replace the first FROM in the manifest by TO
 *                      ("\n" in either stands for a newline)
 *   rename OLD NEW     give member OLD the name NEW
 *   duplicate NAME     write member NAME twice
 *   symlink NAME       make member NAME a symbolic link to /etc/passwd
 *
 * The members are copied raw, so tensor checksums stay as they were.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"

#define MAX_MEMBERS 32

struct member {
	char name[256];
	char *data;
	size_t size;
};

/* "\n" in a command-line argument becomes a newline. */
static char *unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
	return out;
}

/* Replaces FROM by TO in the manifest and rewrites its checksum line. */
static int rewrite_manifest(struct member *m, const char *from, const char *to)
{
	const char *key = "manifest_crc32c: ";
	char *at = strstr(m->data, from), *crc_line;
	if (!at)
		return -1;
	size_t before = (size_t)(at - m->data), tail = m->size - before - strlen(from);
	char *text = malloc(m->size + strlen(to) + 64);
	memcpy(text, m->data, before);
	strcpy(text + before, to);
	memcpy(text + before + strlen(to), at + strlen(from), tail);
	text[before + strlen(to) + tail] = 0;
	if (!(crc_line = strstr(text, key)))
		return -1;
	size_t body = (size_t)(crc_line - text);
	sprintf(crc_line, "%s0x%08x\n", key, ccl_crc32c(0, text, body));
	free(m->data);
	m->data = text;
	m->size = strlen(text);
	return 0;
}

static void write_member(struct archive *ar, const char *name, const struct member *m, int symlink)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_perm(e, 0644);
	if (symlink) {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, "/etc/passwd");
		archive_entry_set_size(e, 0);
		archive_write_header(ar, e);
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, (la_int64_t)m->size);
		archive_write_header(ar, e);
		archive_write_data(ar, m->data, m->size);
	}
	archive_entry_free(e);
}

int main(int argc, char **argv)
{
	struct member members[MAX_MEMBERS];
	struct archive_entry *e;
	int n = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: fixture_rewrite IN OUT manifest FROM TO | rename OLD NEW | duplicate NAME | "
		                "symlink NAME\n");
		return 2;
	}
	const char *op = argv[3];
	struct archive *in = archive_read_new();
	archive_read_support_format_tar(in);
	if (archive_read_open_filename(in, argv[1], 1 << 16) != ARCHIVE_OK) {
		fprintf(stderr, "fixture_rewrite: %s: %s\n", argv[1], archive_error_string(in));
		return 1;
	}
	while (n < MAX_MEMBERS && archive_read_next_header(in, &e) == ARCHIVE_OK) {
		struct member *m = &members[n++];
		snprintf(m->name, sizeof m->name, "%s", archive_entry_pathname(e));
		m->size = (size_t)archive_entry_size(e);
		m->data = malloc(m->size + 1);
		m->data[archive_read_data(in, m->data, m->size) < 0 ? 0 : m->size] = 0;
	}
	archive_read_free(in);

	if (!strcmp(op, "manifest") && argc == 6) {
		char *from = unescape(argv[4]), *to = unescape(argv[5]);
		if (rewrite_manifest(&members[0], from, to)) {
			fprintf(stderr, "fixture_rewrite: '%s' is not in the manifest\n", argv[4]);
			return 1;
		}
		free(from);
		free(to);
	} else if (strcmp(op, "rename") && strcmp(op, "duplicate") && strcmp(op, "symlink")) {
		fprintf(stderr, "fixture_rewrite: unknown operation '%s'\n", op);
		return 2;
	}

	struct archive *out = archive_write_new();
	archive_write_set_format_ustar(out);
	archive_write_set_bytes_per_block(out, 0);
	archive_write_open_filename(out, argv[2]);
	for (int i = 0; i < n; i++) {
		int named = !strcmp(members[i].name, argv[4]);
		if (!strcmp(op, "rename") && named)
			write_member(out, argv[5], &members[i], 0);
		else
			write_member(out, members[i].name, &members[i], !strcmp(op, "symlink") && named);
		if (!strcmp(op, "duplicate") && named)
			write_member(out, members[i].name, &members[i], 0);
		free(members[i].data);
	}
	archive_write_close(out);
	archive_write_free(out);
	return 0;
}
