/* Text conversions to UTF-8. Every function returns a new NUL-terminated
 * heap string (caller frees) or NULL on allocation failure. */
#ifndef IMW_UTIL_TEXT_H
#define IMW_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copy bytes that should be UTF-8; each byte of an invalid sequence is
 * taken as Latin-1, so nothing is lost and the result is valid UTF-8. */
char *text_utf8_or_latin1(const uint8_t *p, size_t n);
char *text_latin1_to_utf8(const uint8_t *p, size_t n);
/* UCS-2/UTF-16 big-endian; unpaired surrogates become U+FFFD. */
char *text_utf16be_to_utf8(const uint8_t *p, size_t n);
char *text_utf16le_to_utf8(const uint8_t *p, size_t n);
/* Windows-1250 (Gadu-Gadu). */
char *text_cp1250_to_utf8(const uint8_t *p, size_t n);
bool text_is_valid_utf8(const uint8_t *p, size_t n);
/* Copy the valid UTF-8 prefix of p[0..n) to out (room for n bytes) while
 * checking it, and return its length: n when p is valid UTF-8 throughout
 * (out is then p exactly, not terminated). Past the prefix, out's bytes
 * are unspecified. */
size_t text_copy_valid_utf8(char *out, const uint8_t *p, size_t n);
/* The code point at p (n bytes left) and its length in *used; an invalid
 * or truncated sequence is one byte of U+FFFD. */
uint32_t text_utf8_next(const uint8_t *p, size_t n, size_t *used);
/* strndup that never fails silently: NULL only on allocation failure. */
char *text_dup(const char *p, size_t n);
/* Case-insensitive ASCII prefix test. */
bool text_has_prefix_ci(const char *s, size_t n, const char *prefix);

#endif
