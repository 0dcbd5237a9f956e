#include "util/crc32.h"

#include <libdeflate.h>

uint32_t imw_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	/* libdeflate takes a size_t length and, for n == 0, any pointer */
	return n ? libdeflate_crc32(crc, p, n) : crc;
}
