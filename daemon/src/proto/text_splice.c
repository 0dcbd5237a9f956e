#include "proto/text_splice.h"

#include <stdlib.h>
#include <string.h>

#include "util/text.h"

/* One run of wire bytes and the text it stands for. */
struct piece {
	size_t raw_off, raw_len;
	size_t text_off, text_len;
	enum text_unit_kind kind;
	int ctx;
};

struct pieces {
	struct piece *p;
	size_t n, cap;
};

/* A changed stretch: old text [a, b) becomes new text [a, b + delta). */
struct region {
	size_t a, b;
};

static bool pieces_add(struct pieces *ps, const struct piece *pc)
{
	struct piece *last = ps->n ? &ps->p[ps->n - 1] : NULL;

	if (last && last->kind == TEXT_LITERAL && pc->kind == TEXT_LITERAL &&
	    last->ctx == pc->ctx) {
		last->raw_len += pc->raw_len;
		last->text_len += pc->text_len;
		return true;
	}
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;
		struct piece *g = realloc(ps->p, cap * sizeof(*g));

		if (!g)
			return false;
		ps->p = g;
		ps->cap = cap;
	}
	ps->p[ps->n++] = *pc;
	return true;
}

/* Walk raw with the codec: its pieces and the text they decode to. */
static bool read_pieces(const struct text_codec *c, const uint8_t *raw, size_t raw_len,
			struct pieces *ps, struct bytebuf *text)
{
	size_t pos = 0;

	while (pos < raw_len) {
		struct text_unit u = { 0, TEXT_LITERAL, 0 };
		struct piece pc;
		size_t before = text->len;

		if (!c->next(c->arg, raw, raw_len, pos, &u, text) || u.raw_len == 0 ||
		    u.raw_len > raw_len - pos)
			return false;
		if (u.kind == TEXT_LITERAL &&
		    (text->len - before != u.raw_len || memcmp(text->data + before, raw + pos,
							       u.raw_len) != 0))
			return false; /* a codec bug: literal bytes must be their text */
		if (u.kind == TEXT_MARKUP && text->len != before)
			return false;
		pc.raw_off = pos;
		pc.raw_len = u.raw_len;
		pc.text_off = before;
		pc.text_len = text->len - before;
		pc.kind = u.kind;
		pc.ctx = u.ctx;
		if (!pieces_add(ps, &pc))
			return false;
		pos += u.raw_len;
	}
	return true;
}

static bool continuation(const char *s, size_t len, size_t i)
{
	return i < len && ((uint8_t)s[i] & 0xC0) == 0x80;
}

/* The first piece whose text ends after t (binary search: pieces are in
 * text order), or ps->n. */
static size_t first_after(const struct pieces *ps, size_t t)
{
	size_t lo = 0, hi = ps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ps->p[mid].text_off + ps->p[mid].text_len > t)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The first piece that starts at or after t, or ps->n. */
static size_t first_from(const struct pieces *ps, size_t t)
{
	size_t lo = 0, hi = ps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ps->p[mid].text_off >= t)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The atom holding text position t strictly inside it (not at its
 * start), or NULL. */
static const struct piece *atom_around(const struct pieces *ps, size_t t)
{
	size_t i = first_after(ps, t);

	if (i < ps->n && ps->p[i].kind == TEXT_ATOM && ps->p[i].text_off < t)
		return &ps->p[i];
	return NULL;
}

/* Widen r until both ends fall between whole characters of both texts and
 * between atoms. */
static void widen(const struct pieces *ps, const char *old, size_t old_len, const char *nw,
		  size_t new_len, struct region *r)
{
	long delta = (long)new_len - (long)old_len;
	const struct piece *pc;
	bool moved = true;

	while (moved) {
		moved = false;
		while (r->a > 0 && (continuation(old, old_len, r->a) ||
				    continuation(nw, new_len, r->a))) {
			r->a--;
			moved = true;
		}
		while (r->b < old_len && (continuation(old, old_len, r->b) ||
					  continuation(nw, new_len, (size_t)((long)r->b + delta)))) {
			r->b++;
			moved = true;
		}
		if ((pc = atom_around(ps, r->a)) != NULL) {
			r->a = pc->text_off;
			moved = true;
		}
		if ((pc = atom_around(ps, r->b)) != NULL) {
			r->b = pc->text_off + pc->text_len;
			moved = true;
		}
	}
}

/* Is there markup at text position t (between two characters)? */
static bool markup_at(const struct pieces *ps, size_t t)
{
	size_t i;

	for (i = first_from(ps, t); i < ps->n && ps->p[i].text_off == t; i++)
		if (ps->p[i].kind == TEXT_MARKUP)
			return true;
	return false;
}

/* The changed stretches: each run of differing bytes when the lengths
 * agree (a word overwritten in place), else the one stretch between the
 * common prefix and suffix. Widened and merged; false on allocation
 * failure. */
static bool find_regions(const struct pieces *ps, const char *old, size_t old_len,
			 const char *nw, size_t new_len, struct region **out, size_t *n_out)
{
	struct region *rs = NULL, r;
	size_t n = 0, cap = 0, i = 0, pre = 0, suf = 0;

	if (old_len != new_len) {
		while (pre < old_len && pre < new_len && old[pre] == nw[pre])
			pre++;
		while (suf < old_len - pre && suf < new_len - pre &&
		       old[old_len - 1 - suf] == nw[new_len - 1 - suf])
			suf++;
		rs = malloc(sizeof(*rs));
		if (!rs)
			return false;
		rs[0].a = pre;
		rs[0].b = old_len - suf;
		widen(ps, old, old_len, nw, new_len, &rs[0]);
		*out = rs;
		*n_out = 1;
		return true;
	}
	while (i < old_len) {
		if (old[i] == nw[i]) {
			i++;
			continue;
		}
		r.a = i;
		/* A run stops at markup: in place, the mark keeps its spot. */
		while (i < old_len && old[i] != nw[i] && !(i > r.a && markup_at(ps, i)))
			i++;
		r.b = i;
		widen(ps, old, old_len, nw, new_len, &r);
		if (n && r.a < rs[n - 1].b) {
			if (r.b > rs[n - 1].b)
				rs[n - 1].b = r.b;
		} else {
			if (n == cap) {
				struct region *g;

				cap = cap ? cap * 2 : 4;
				g = realloc(rs, cap * sizeof(*g));
				if (!g) {
					free(rs);
					return false;
				}
				rs = g;
			}
			rs[n++] = r;
		}
		if (i < r.b)
			i = r.b;
	}
	*out = rs;
	*n_out = n;
	return true;
}

/* Where a region's wire bytes start: at the first content piece that
 * reaches past text position a (markup at a stays before the edit); at
 * the end of the text, right after the last content piece. */
static size_t raw_start(const struct pieces *ps, size_t a)
{
	size_t i = first_after(ps, a);

	while (i < ps->n && ps->p[i].text_len == 0)
		i++;
	if (i < ps->n)
		return ps->p[i].raw_off + (ps->p[i].kind == TEXT_LITERAL ? a - ps->p[i].text_off : 0);
	while (i > 0 && ps->p[i - 1].text_len == 0)
		i--;
	return i ? ps->p[i - 1].raw_off + ps->p[i - 1].raw_len : 0;
}

/* Where they end: after the last content piece that starts before b
 * (markup at b stays after the edit); raw_a for an empty old stretch. */
static size_t raw_end(const struct pieces *ps, size_t b, size_t raw_a)
{
	size_t i = first_from(ps, b), end = raw_a;
	const struct piece *pc;

	while (i > 0 && ps->p[i - 1].text_len == 0)
		i--;
	if (i > 0) {
		pc = &ps->p[i - 1];
		end = pc->raw_off + (pc->kind == TEXT_LITERAL && b < pc->text_off + pc->text_len
					     ? b - pc->text_off
					     : pc->raw_len);
	}
	return end > raw_a ? end : raw_a;
}

/* The context of the wire bytes [raw_a, raw_b) (or of the piece at
 * raw_a for an insertion), and whether they hold no markup and one
 * context only. */
static bool region_ctx(const struct pieces *ps, size_t raw_a, size_t raw_b, int *ctx)
{
	size_t lo = 0, hi = ps->n, i;
	bool found = false;

	while (lo < hi) { /* the first piece ending after raw_a */
		size_t mid = lo + (hi - lo) / 2;

		if (ps->p[mid].raw_off + ps->p[mid].raw_len > raw_a)
			hi = mid;
		else
			lo = mid + 1;
	}
	for (i = lo; i < ps->n && (ps->p[i].raw_off < raw_b || (!found && raw_a == raw_b)); i++) {
		const struct piece *pc = &ps->p[i];

		if (raw_a != raw_b && pc->kind == TEXT_MARKUP)
			return false;
		if (!found) {
			*ctx = pc->ctx;
			found = true;
		} else if (pc->ctx != *ctx) {
			return false;
		}
	}
	if (!found)
		*ctx = ps->n ? ps->p[ps->n - 1].ctx : 0;
	return true;
}

int text_splice(const struct text_codec *codec, const uint8_t *raw, size_t raw_len,
		const char *old, size_t old_len, const char *new_text, size_t new_len,
		struct bytebuf *out)
{
	struct pieces ps = { NULL, 0, 0 };
	struct bytebuf text;
	struct region *rs = NULL;
	size_t n = 0, i, done = 0, mark = out->len;
	long delta = (long)new_len - (long)old_len;
	int rc = -1;

	bytebuf_init(&text);
	if (!read_pieces(codec, raw, raw_len, &ps, &text) || text.len != old_len ||
	    (old_len && memcmp(text.data, old, old_len) != 0))
		goto out;
	if (!find_regions(&ps, old, old_len, new_text, new_len, &rs, &n))
		goto out;
	for (i = 0; i < n; i++) {
		size_t ra = raw_start(&ps, rs[i].a), rb = raw_end(&ps, rs[i].b, ra);
		long na = (long)rs[i].a, nb = (long)rs[i].b + (old_len != new_len ? delta : 0);
		int ctx = 0;

		if (ra < done || !region_ctx(&ps, ra, rb, &ctx) ||
		    !bytebuf_append(out, raw + done, ra - done) ||
		    !codec->encode(codec->arg, ctx, new_text + na, (size_t)(nb - na), out))
			goto out;
		done = rb;
	}
	if (!bytebuf_append(out, raw + done, raw_len - done))
		goto out;
	rc = 0;
out:
	if (rc < 0)
		out->len = mark;
	free(rs);
	free(ps.p);
	bytebuf_free(&text);
	return rc;
}

/* ---- the common encodings ---- */

/* Length of the valid UTF-8 sequence at p[0, n), 0 when it is not one. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	size_t used;
	uint32_t cp = text_utf8_next(p, n, &used);

	/* text_utf8_next reads an invalid sequence as one byte of U+FFFD. */
	if (cp == 0xFFFD && used == 1)
		return 0;
	return used;
}

bool text_unit_utf8_or_latin1(void *arg, const uint8_t *raw, size_t len, size_t pos,
			      struct text_unit *u, struct bytebuf *text)
{
	size_t n = utf8_len(raw + pos, len - pos);
	char *one;
	bool ok;

	(void)arg;
	if (n) {
		u->raw_len = n;
		u->kind = TEXT_LITERAL;
		return bytebuf_append(text, raw + pos, n);
	}
	u->raw_len = 1;
	u->kind = TEXT_ATOM;
	one = text_latin1_to_utf8(raw + pos, 1);
	ok = one && bytebuf_append_str(text, one);
	free(one);
	return ok;
}

bool text_unit_latin1(void *arg, const uint8_t *raw, size_t len, size_t pos,
		      struct text_unit *u, struct bytebuf *text)
{
	uint8_t c = raw[pos];

	(void)arg;
	(void)len;
	u->raw_len = 1;
	if (c < 0x80) {
		u->kind = TEXT_LITERAL;
		return bytebuf_append_byte(text, c);
	}
	u->kind = TEXT_ATOM;
	return bytebuf_append_byte(text, (uint8_t)(0xC0 | (c >> 6))) &&
	       bytebuf_append_byte(text, (uint8_t)(0x80 | (c & 0x3F)));
}

bool text_unit_utf16be(void *arg, const uint8_t *raw, size_t len, size_t pos,
		       struct text_unit *u, struct bytebuf *text)
{
	size_t n = 2;
	char *one;
	bool ok;

	(void)arg;
	if (len - pos < 2)
		return false;
	/* A high surrogate and the low one after it make one character. */
	if ((raw[pos] & 0xFC) == 0xD8 && len - pos >= 4 && (raw[pos + 2] & 0xFC) == 0xDC)
		n = 4;
	u->raw_len = n;
	u->kind = TEXT_ATOM;
	one = text_utf16be_to_utf8(raw + pos, n);
	ok = one && bytebuf_append_str(text, one);
	free(one);
	return ok;
}

bool text_encode_utf8(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	(void)arg;
	(void)ctx;
	return bytebuf_append(out, text, n);
}

bool text_encode_latin1(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t used;

	(void)arg;
	(void)ctx;
	while (n) {
		uint32_t cp = text_utf8_next(p, n, &used);

		if (cp > 0xFF || !bytebuf_append_byte(out, (uint8_t)cp))
			return false;
		p += used;
		n -= used;
	}
	return true;
}

bool text_encode_utf16be(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t used;
	uint8_t w[4];

	(void)arg;
	(void)ctx;
	while (n) {
		uint32_t cp = text_utf8_next(p, n, &used);

		if (cp >= 0x10000) {
			cp -= 0x10000;
			w[0] = (uint8_t)(0xD8 | ((cp >> 18) & 0x03));
			w[1] = (uint8_t)(cp >> 10);
			w[2] = (uint8_t)(0xDC | ((cp >> 8) & 0x03));
			w[3] = (uint8_t)cp;
			if (!bytebuf_append(out, w, 4))
				return false;
		} else {
			w[0] = (uint8_t)(cp >> 8);
			w[1] = (uint8_t)cp;
			if (!bytebuf_append(out, w, 2))
				return false;
		}
		p += used;
		n -= used;
	}
	return true;
}

/* ---- HTML text (Gadu-Gadu's rich text) ---- */

static bool html_starts(const uint8_t *p, size_t len, size_t pos, const char *lit)
{
	size_t n = strlen(lit);

	return len - pos >= n && memcmp(p + pos, lit, n) == 0;
}

/* The character a reference stands for, appended; false when p is not one
 * of the references HTML clients write. */
static bool html_reference(const uint8_t *p, size_t n, struct bytebuf *text)
{
	static const struct {
		const char *name;
		const char *text;
	} named[] = { { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
		      { "&apos;", "'" }, { "&nbsp;", "\xC2\xA0" } };
	uint32_t cp = 0;
	size_t i = 2;
	char *one;
	bool hex, ok;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (n == strlen(named[i].name) && memcmp(p, named[i].name, n) == 0)
			return bytebuf_append_str(text, named[i].text);
	if (n < 4 || p[1] != '#')
		return false;
	hex = p[2] == 'x' || p[2] == 'X';
	for (i = hex ? 3 : 2; i < n - 1; i++) {
		uint8_t c = p[i];
		uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
			     : hex && c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
			     : hex && c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
							     : 99;

		if (d >= (hex ? 16u : 10u) || cp > 0x10FFFF)
			return false;
		cp = cp * (hex ? 16 : 10) + d;
	}
	if (i == (hex ? 3u : 2u) || cp == 0 || cp > 0x10FFFF)
		return false;
	{
		uint8_t be[4];
		size_t m = 2;

		if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000;

			be[0] = (uint8_t)(0xD8 | ((v >> 18) & 3));
			be[1] = (uint8_t)(v >> 10);
			be[2] = (uint8_t)(0xDC | ((v >> 8) & 3));
			be[3] = (uint8_t)v;
			m = 4;
		} else {
			be[0] = (uint8_t)(cp >> 8);
			be[1] = (uint8_t)cp;
		}
		one = text_utf16be_to_utf8(be, m);
	}
	ok = one && bytebuf_append_str(text, one);
	free(one);
	return ok;
}

bool text_unit_html(void *arg, const uint8_t *raw, size_t len, size_t pos, struct text_unit *u,
		    struct bytebuf *text)
{
	size_t end = pos;
	uint8_t quote = 0;

	(void)arg;
	if (raw[pos] == '&') {
		while (end < len && end - pos < 12 && raw[end] != ';')
			end++;
		u->raw_len = end + 1 - pos;
		u->kind = TEXT_ATOM;
		return end < len && html_reference(raw + pos, end + 1 - pos, text);
	}
	if (raw[pos] == '<') {
		if (html_starts(raw, len, pos, "<!--")) {
			for (end = pos + 4; end < len && !html_starts(raw, len, end, "-->"); end++)
				;
			end += 3;
		} else {
			for (end = pos + 1; end < len; end++) {
				if (quote && raw[end] == quote)
					quote = 0;
				else if (!quote && (raw[end] == '"' || raw[end] == '\''))
					quote = raw[end];
				else if (!quote && raw[end] == '>')
					break;
			}
			end++;
		}
		u->raw_len = end - pos;
		u->kind = TEXT_MARKUP;
		return end <= len;
	}
	while (end < len && raw[end] != '&' && raw[end] != '<')
		end++;
	u->raw_len = end - pos;
	u->kind = TEXT_LITERAL;
	return bytebuf_append(text, raw + pos, end - pos);
}

bool text_encode_html(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	size_t i;
	bool ok = true;

	(void)arg;
	(void)ctx;
	for (i = 0; ok && i < n; i++) {
		switch (text[i]) {
		case '<':
			ok = bytebuf_append_str(out, "&lt;");
			break;
		case '>':
			ok = bytebuf_append_str(out, "&gt;");
			break;
		case '&':
			ok = bytebuf_append_str(out, "&amp;");
			break;
		case '"':
			ok = bytebuf_append_str(out, "&quot;");
			break;
		default:
			ok = bytebuf_append_byte(out, (uint8_t)text[i]);
		}
	}
	return ok;
}
