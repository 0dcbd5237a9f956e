/* A stand-in for clamd in unit tests (the real one runs in
 * tests/cases/files_*.sh): a Unix socket that takes INSTREAM and answers
 * as told (clean, infected, an error, or nothing), on a thread. Test-only. */
#ifndef IMW_TEST_FAKE_CLAMD_H
#define IMW_TEST_FAKE_CLAMD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum fake_mode { FAKE_CLEAN, FAKE_FOUND, FAKE_ERROR, FAKE_SILENT };

struct fake_clamd {
	int listener;
	enum fake_mode mode;
	unsigned served;
	uint64_t last_size;
	unsigned silent_ms; /* FAKE_SILENT: how long it keeps quiet */
	pthread_t thread;
	char path[108];
};

/* Listen on a socket of its own (its path in f->path). */
bool fake_clamd_start(struct fake_clamd *f, enum fake_mode mode);
void fake_clamd_stop(struct fake_clamd *f);

#endif
