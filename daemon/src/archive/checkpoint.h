/* Signed checkpoints of a store's chain (chain.h): now and then, and at
 * every clean stop, the writer signs "this store's chain reached event N
 * with hash H" with the sensor's Ed25519 key (libsodium) and appends the
 * line to the checkpoint log (and sends it to syslog). `imwire verify`
 * checks the signatures with the public key and that the store still
 * holds event N with hash H: a store cut short after a checkpoint, or
 * rewritten since, no longer matches it.
 *
 * A checkpoint line (one line of text):
 *   imwire-checkpoint 1 sensor=S sink=KIND time=T eventid=N hash=HEX sig=HEX
 * sig is the Ed25519 signature of everything before " sig=". S and KIND
 * ("sqlite", "pgsql", "mysql", "jsonl") contain no spaces.
 *
 * Key files (imwire keygen FILE writes both):
 *   FILE      "imwire-ed25519-secret HEX\n", the 32-byte seed, mode 0600
 *   FILE.pub  "imwire-ed25519-public HEX\n"
 */
#ifndef IMW_ARCHIVE_CHECKPOINT_H
#define IMW_ARCHIVE_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "archive/chain.h"
#include "util/bytebuf.h"

#define CHECKPOINT_TAG "imwire-checkpoint 1"

struct checkpoint_key {
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	bool has_secret;
};

/* A new key pair written to path (0600, refusing to overwrite) and
 * path.pub. 0, or -1 with a reason in err. */
int checkpoint_keygen(const char *path, char *err, size_t err_size);
/* Loads a secret key file (the public key is derived), or a public one
 * (has_secret false). 0, or -1 with "PATH: reason" in err. */
int checkpoint_key_load(struct checkpoint_key *k, const char *path, char *err, size_t err_size);
void checkpoint_key_wipe(struct checkpoint_key *k);

struct checkpoint {
	char sensor[128];
	char sink[32];
	int64_t time; /* seconds since the epoch */
	uint64_t eventid;
	uint8_t hash[CHAIN_HASH_LEN];
};

/* The signed line, without a newline. false on allocation failure or a
 * sensor or sink name with a space or too long. */
bool checkpoint_format(struct bytebuf *out, const struct checkpoint *c,
		       const struct checkpoint_key *k);
/* 1: a well-formed line whose signature k's public key verifies; 0: well
 * formed, bad signature; -1: not a checkpoint line. */
int checkpoint_parse(const char *line, const struct checkpoint_key *k, struct checkpoint *c);

#endif
