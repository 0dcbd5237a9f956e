#include "archive/session_id.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "archive/chain.h"

void session_id_make(char out[SESSION_ID_SIZE], const char *community_id, double first_ts)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	char ts[32];
	int n;

	n = snprintf(ts, sizeof(ts), "/%lld", (long long)chain_ts_us(first_ts));
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)community_id, strlen(community_id));
	crypto_hash_sha256_update(&st, (const uint8_t *)ts, (size_t)n);
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(out, SESSION_ID_SIZE, h, (SESSION_ID_SIZE - 1) / 2);
}
