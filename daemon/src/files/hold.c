/* Holding a transfer's end until it is judged (scan_hold=on): the file
 * stage's half. When a transfer with a known place in its stream ends and
 * goes to the scanner, its last bytes are marked held (files_hold_state);
 * the verdict turns the mark into a decision for the engine: release, or
 * cut and tell the user. Without a verdict in time, or when no scan could
 * start, or when the engine holds too much already, scan_fail decides. A
 * cut mark stays until its flow ends, so retransmissions of the held
 * bytes are dropped too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files/files_internal.h"
#include "util/text.h"

static void decide(struct files *fs, const struct file_hold *h, bool cut, const struct xfer *x)
{
	struct files_decision *d;
	const char *name = x && x->offer.file_name && x->offer.file_name[0] ? x->offer.file_name
									    : "a file";
	const char *why = x && x->result.file.signature ? x->result.file.signature
							: "no verdict from the virus scanner";
	char *notice = NULL;

	if (fs->n_decisions == fs->cap_decisions) {
		size_t cap = fs->cap_decisions ? fs->cap_decisions * 2 : 8;
		struct files_decision *p = realloc(fs->decisions, cap * sizeof(*p));

		if (!p) {
			fs->stats.alloc_failures++;
			return; /* the engine's own bounds will let the bytes go */
		}
		fs->decisions = p;
		fs->cap_decisions = cap;
	}
	if (cut) {
		const char *text = fs->sh->cfg.notice_text;
		size_t n = strlen(name) + strlen(why) + (text ? strlen(text) : 0) + 64;

		notice = malloc(n);
		if (notice && text)
			snprintf(notice, n, "%s", text);
		else if (notice)
			snprintf(notice, n, "imwire: the file %s was blocked (%s)", name, why);
	}
	d = &fs->decisions[fs->n_decisions++];
	d->flow_id = h->flow_id;
	d->dir = h->dir;
	d->cut = cut;
	d->offer_flow = x ? x->offer.flow_id : 0;
	d->notice = notice;
	d->remote = cut && x && x->offer.remote ? text_dup(x->offer.remote, strlen(x->offer.remote))
					      : NULL;
	if (cut)
		fs->stats.holds_cut++;
	else
		fs->stats.holds_released++;
}

static struct file_hold *add_hold(struct files *fs, const struct xfer *x)
{
	struct file_hold *h = calloc(1, sizeof(*h));

	if (!h) {
		fs->stats.alloc_failures++;
		return NULL;
	}
	h->flow_id = x->flow_id;
	h->dir = x->dir;
	h->from = x->hold_from;
	h->xfer_id = x->id;
	h->next = fs->holds;
	fs->holds = h;
	fs->stats.holds++;
	return h;
}

static void unlink_hold(struct files *fs, struct file_hold *h)
{
	struct file_hold **pp;

	for (pp = &fs->holds; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			free(h);
			return;
		}
	}
}

bool files_holding(const struct files *fs)
{
	return fs && fs->sh->cfg.scan_hold && fs->sh->scanner;
}

uint64_t files_hold_budget(const struct files *fs)
{
	return fs->sh->cfg.hold_max_bytes;
}

void hold_begin(struct files *fs, struct xfer *x, bool scanning)
{
	struct file_hold *h;

	if (!files_holding(fs) || !x->has_pos || !x->dir_known)
		return;
	if (scanning) {
		add_hold(fs, x);
		return;
	}
	/* Nothing to wait for: the scan could not even start. */
	if (fs->sh->cfg.scan_fail_open)
		return;
	h = add_hold(fs, x);
	if (h) {
		h->cut = true;
		h->xfer_id = 0;
		x->result.file.state = IM_FILE_CUT;
		decide(fs, h, true, x);
	}
}

static struct file_hold *hold_of_xfer(struct files *fs, uint64_t id)
{
	struct file_hold *h;

	for (h = fs->holds; h; h = h->next)
		if (h->xfer_id == id && !h->cut)
			return h;
	return NULL;
}

void hold_judged(struct files *fs, struct xfer *x, enum im_scan v)
{
	struct file_hold *h = hold_of_xfer(fs, x->id);
	bool pass = v == IM_SCAN_CLEAN || (v != IM_SCAN_INFECTED && fs->sh->cfg.scan_fail_open);

	if (!h)
		return;
	if (pass) {
		decide(fs, h, false, x);
		unlink_hold(fs, h);
		return;
	}
	h->cut = true;
	h->xfer_id = 0;
	x->result.file.state = IM_FILE_CUT;
	decide(fs, h, true, x);
}

void hold_forget_flow(struct files *fs, uint64_t flow_id)
{
	struct file_hold **pp = &fs->holds, *h;

	while ((h = *pp)) {
		if (h->flow_id == flow_id) {
			*pp = h->next;
			free(h);
		} else {
			pp = &h->next;
		}
	}
}

void hold_free_all(struct files *fs)
{
	while (fs->holds)
		unlink_hold(fs, fs->holds);
	files_decisions_free(fs->decisions, fs->n_decisions);
	fs->decisions = NULL;
	fs->n_decisions = fs->cap_decisions = 0;
}

enum files_hold files_hold_state(const struct files *fs, uint64_t flow_id, enum im_dir dir,
				 uint64_t *from)
{
	const struct file_hold *h, *found = NULL;

	if (!fs)
		return FILES_HOLD_NONE;
	for (h = fs->holds; h; h = h->next)
		if (h->flow_id == flow_id && h->dir == dir && (!found || h->from < found->from))
			found = h;
	if (!found)
		return FILES_HOLD_NONE;
	*from = found->from;
	return found->cut ? FILES_HOLD_CUT : FILES_HOLD_WAIT;
}

void files_hold_overflow(struct files *fs, uint64_t flow_id, enum im_dir dir)
{
	struct file_hold *h;
	struct xfer *x;

	for (h = fs->holds; h; h = h->next)
		if (h->flow_id == flow_id && h->dir == dir && !h->cut)
			break;
	if (!h)
		return;
	fs->stats.hold_overflows++;
	for (x = fs->live; x && x->id != h->xfer_id; x = x->next)
		;
	if (fs->sh->cfg.scan_fail_open) {
		decide(fs, h, false, x);
		unlink_hold(fs, h);
		return;
	}
	h->cut = true;
	h->xfer_id = 0;
	if (x)
		x->result.file.state = IM_FILE_CUT;
	decide(fs, h, true, x);
}

struct files_decision *files_take_decisions(struct files *fs, size_t *n)
{
	struct files_decision *d = fs->decisions;

	*n = fs->n_decisions;
	fs->decisions = NULL;
	fs->n_decisions = fs->cap_decisions = 0;
	return d;
}

void files_decisions_free(struct files_decision *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(d[i].notice);
		free(d[i].remote);
	}
	free(d);
}
