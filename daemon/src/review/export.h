/* Exports for e-discovery: a selection of archived events as CSV (RFC
 * 4180), JSON lines, one RFC 5322 message per conversation (.eml), an
 * mbox of them, or one self-contained HTML report; and a manifest that
 * names every file written with its size and SHA-256.
 *
 * Each format is a pure function from rows (and conversations) to bytes,
 * so the command line writes them into a directory and the web console
 * hands the same bytes to a browser. */
#ifndef IMW_REVIEW_EXPORT_H
#define IMW_REVIEW_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "archive/verify.h"
#include "review/archive.h"
#include "review/thread.h"
#include "util/bytebuf.h"

enum export_format {
	EXPORT_CSV,
	EXPORT_JSONL,
	EXPORT_EML,
	EXPORT_MBOX,
	EXPORT_HTML,
};

bool export_format_parse(const char *name, enum export_format *out);
const char *export_format_name(enum export_format f);
/* Whether a format is made of conversations (eml, mbox, html). */
bool export_by_conversation(enum export_format f);

/* One CSV field, quoted when it holds a comma, quote, CR or LF (quotes
 * doubled); false on allocation failure. */
bool export_csv_field(struct bytebuf *b, const char *s);
/* The header line and one line per row (CRLF ends, as RFC 4180). */
bool export_csv_header(struct bytebuf *b, unsigned cols);
bool export_csv_row(struct bytebuf *b, const struct review_row *r, unsigned cols);
/* One JSON object and a newline. */
bool export_json_row(struct bytebuf *b, const struct review_row *r);

/* One conversation as an RFC 5322 message (CRLF line ends, UTF-8 body in
 * quoted-printable, participants in From/To/Cc, protocol and dates in
 * X-IMwire-* headers; non-ASCII header text as RFC 2047 words). */
bool export_eml(struct bytebuf *b, const struct conversation *c, const struct row_list *rows);
/* The same message as an mbox entry (From_ line, LF line ends). */
bool export_mbox_entry(struct bytebuf *b, const struct conversation *c,
		       const struct row_list *rows);
/* The HTML report of conversations (all text escaped, no script). */
bool export_html_report(struct bytebuf *b, const char *title, const struct conversation_set *set,
			const struct row_list *rows);

/* Lowercase hex SHA-256 of data into hex (65 bytes). */
void export_sha256_hex(const void *data, size_t n, char hex[65]);

struct export_job {
	enum export_format format;
	const char *dir;       /* created when missing; files must not exist */
	const char *archive;   /* described in the manifest */
	const char *selection; /* the query, as the user gave it */
	const struct row_list *rows;
	const struct conversation_set *convs; /* by-conversation formats */
	bool progress;         /* draw a progress bar on standard error */
	/* The archive's integrity chain as verified just before the export
	 * (review/integrity.h), recorded in the manifest: chain_rc 0 verified,
	 * 1 not (chain->first says why), -1 unreadable (chain_err); chain NULL:
	 * not checked. */
	const struct verify_result *chain;
	int chain_rc;
	const char *chain_err;
};

struct export_result {
	size_t files;
	size_t events;
	size_t conversations;
	char manifest_sha256[65];
};

/* Write the job's files and DIR/manifest.json; 0, or -1 with err set. */
int export_write(const struct export_job *job, struct export_result *res, char *err,
		 size_t err_size);

#endif
