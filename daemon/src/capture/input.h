/* The bytes of one capture file: a path or "-" (standard input), read
 * through zlib so that a gzip-compressed capture (gzip's magic, 1f 8b,
 * at the start) is decompressed on the fly and anything else passes
 * through unchanged. The first bytes can be looked at before a reader
 * takes the stream, and a reader that wants a FILE (libpcap) gets one
 * that reads the same stream from its start. */
#ifndef IMW_CAPTURE_INPUT_H
#define IMW_CAPTURE_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CAPTURE_INPUT_PEEK 8

struct capture_input {
	void *gz;          /* gzFile */
	bool gzip;         /* the file was gzip-compressed */
	bool is_stdin;
	uint8_t peek[CAPTURE_INPUT_PEEK]; /* the first bytes, served again */
	size_t peek_len;
	size_t peek_pos;
	uint64_t consumed; /* decompressed bytes handed out */
	FILE *file;        /* capture_input_file's, closed with the input */
	int fd;            /* the descriptor zlib reads (zlib owns it) */
	bool direct;       /* file reads the plain file itself, not through zlib */
	char error[160];   /* why the last read failed */
};

/* 0, or -1 with "PATH: reason" in err. */
int capture_input_open(struct capture_input *in, const char *path, char *err, size_t err_size);
void capture_input_close(struct capture_input *in);

/* The first n (at most CAPTURE_INPUT_PEEK) bytes of the stream, without
 * consuming them: how many there are (fewer at a short file), -1 on a
 * read error (in->error). Only before any read. */
long capture_input_peek(struct capture_input *in, size_t n, const uint8_t **bytes);

/* Up to n bytes into buf: how many (0 at the end), -1 on a read error or a
 * damaged compressed stream (in->error says which). */
long capture_input_read(struct capture_input *in, void *buf, size_t n);

/* A FILE reading the stream from its start (libpcap reads through it);
 * NULL when one cannot be made. Owned by the input. A regular file that
 * is not compressed is read by stdio itself from its start (a descriptor
 * of its own, a large buffer): zlib's copy and the cookie's calls were
 * most of what a record cost. Anything else reads through zlib. */
FILE *capture_input_file(struct capture_input *in);

/* Bytes of the file itself read so far (compressed ones for a gzip
 * file), for progress; -1 if unknown. */
long long capture_input_offset(const struct capture_input *in);

#endif
