/* The integrity chain of the archive an export is taken from: the export's
 * manifest records the chain state the archive was verified against, so a
 * reader of the export can tell later that the events came from a chain
 * that verified (or did not) up to a given event and hash.
 *
 * This is `imwire verify` (archive/verify.h) run over the review's archive
 * spec, without checkpoints (those need the public key, which the review
 * configuration does not name: `imwire verify --key` checks them). */
#ifndef IMW_REVIEW_INTEGRITY_H
#define IMW_REVIEW_INTEGRITY_H

#include <stddef.h>

#include "archive/verify.h"
#include "review/archive.h"

/* 0: the chain verified; 1: it did not (r->first names the first
 * problem); -1: the store could not be read (err). A store without chained
 * rows verifies with r->rows == r->unchained. */
int review_integrity(const struct archive_spec *spec, struct verify_result *r, char *err,
		     size_t err_size);

#endif
