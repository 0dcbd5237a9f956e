/* A session id links the events of one IM session: one connection, seen
 * from its first packet. It is the first 8 bytes, in hex, of
 * SHA-256(community_id "/" first packet time in microseconds): the same
 * for every event of the connection and in every store, different for the
 * next connection between the same endpoints, and independent of the
 * per-run flow numbers (so a restart does not reuse one). */
#ifndef IMW_ARCHIVE_SESSION_ID_H
#define IMW_ARCHIVE_SESSION_ID_H

#define SESSION_ID_SIZE 17

void session_id_make(char out[SESSION_ID_SIZE], const char *community_id, double first_ts);

#endif
