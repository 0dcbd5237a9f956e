/* CRC-32 as zlib's crc32() computes it (ISO-HDLC: reflected polynomial
 * 0xEDB88320, pre- and post-inverted), the checksum of the write-ahead
 * log's frames. Computed by libdeflate, which folds with the CPU's
 * carry-less multiply (or CRC instructions) where it has them: zlib's
 * tables were the largest single cost of imwired on message bulk (a
 * seal per hand-over, a check per frame read back). The same value as
 * zlib's (tests/unit/test_crc32.c compares them): logs written by one
 * build are read by any other. */
#ifndef IMW_UTIL_CRC32_H
#define IMW_UTIL_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of p[0..n) continuing crc (0 to start), like crc32(crc, p, n). */
uint32_t imw_crc32(uint32_t crc, const uint8_t *p, size_t n);

#endif
