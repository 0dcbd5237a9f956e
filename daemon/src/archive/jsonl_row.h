/* One line of a JSON lines archive (sink_format.c's objects) read back
 * as a row of the chain (verify.h): imwire verify and the JSON lines
 * sink's retention read the file through it. */
#ifndef IMW_ARCHIVE_JSONL_ROW_H
#define IMW_ARCHIVE_JSONL_ROW_H

#include <stdbool.h>
#include <stddef.h>

#include "archive/verify.h"
#include "util/bytebuf.h"

#define JSONL_ROW_FIELDS 22

struct jsonl_row {
	struct bytebuf buf; /* the values, NUL-terminated, one after another */
	size_t off[JSONL_ROW_FIELDS];
	bool set[JSONL_ROW_FIELDS];
};

void jsonl_row_init(struct jsonl_row *j);
void jsonl_row_free(struct jsonl_row *j);
/* Parses line (a flat JSON object, no newline) into r, whose strings
 * point into j until the next call. false: not an event (no eventid, or
 * not an object); r is then zeroed. */
bool jsonl_row_parse(struct jsonl_row *j, const char *line, struct verify_row *r);

#endif
