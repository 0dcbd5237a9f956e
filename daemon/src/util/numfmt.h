/* Decimal formatting without the printf family, for the per-event path
 * (sinks format a timestamp and a few integers for every event; vsnprintf
 * was a quarter of `imwire read`'s time). Each function writes into out,
 * which has room for the stated maximum, and returns the length of what
 * it wrote; nothing is NUL-terminated. A short number may leave bytes of
 * scratch after its digits (whole words are stored), never past the
 * stated maximum: the caller keeps the returned length, not a terminator
 * it wrote before. The output is byte for byte what
 * the printf conversion named beside it prints (tests/unit/test_numfmt.c
 * compares them over many values). */
#ifndef IMW_UTIL_NUMFMT_H
#define IMW_UTIL_NUMFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NUMFMT_U64_MAX 20 /* "18446744073709551615" */
#define NUMFMT_I64_MAX 20 /* "-9223372036854775808" */
#define NUMFMT_FIXED6_MAX 24 /* "-9007199254740991.999999" */

/* "%llu" */
size_t numfmt_u64(char *out, uint64_t v);
/* "%lld" */
size_t numfmt_i64(char *out, int64_t v);
/* "%0*u": at least width digits, zero-padded (width <= NUMFMT_U64_MAX). */
size_t numfmt_u64_pad(char *out, uint64_t v, unsigned width);
/* "%.6f" for a finite v with |v| < 2^53, rounded as glibc rounds (the
 * exact binary value, ties to even); 0 for any other v, which the caller
 * formats the slow way. */
size_t numfmt_fixed6(char *out, double v);
/* "%02x" of each of p[0..n): 2 * n lowercase hex digits, then a NUL (out
 * holds 2 * n + 1), as sodium_bin2hex writes them but without its
 * constant-time arithmetic, which hex of public hashes does not need
 * (two per event in a chained JSON line). Returns 2 * n. */
size_t numfmt_hex(char *out, const uint8_t *p, size_t n);

#endif
