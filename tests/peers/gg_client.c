/* Two real libgadu sessions talk through a Gadu-Gadu server.
 *
 * Usage: gg_client HOST PORT MSG_FILE
 * Logs in UIN 1111111 ("alice") and UIN 2222222 ("bob") with protocol 10
 * and no TLS, alice sends each line of MSG_FILE prefixed "a:" to bob, bob
 * answers each with the line prefixed "b:"; exits 0 once both sides got
 * exactly what was sent, 1 otherwise. Every wait is bounded. */
#include <arpa/inet.h>
#include <libgadu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#define ALICE 1111111u
#define BOB 2222222u
#define MAX_LINES 16
#define LINE_MAX_LEN 512

static struct gg_session *login(const char *host, int port, uin_t uin)
{
	struct gg_login_params p;
	struct gg_session *s;

	memset(&p, 0, sizeof(p));
	p.struct_size = sizeof(p);
	p.uin = uin;
	p.password = (char *)"secret";
	p.async = 0;
	p.status = GG_STATUS_AVAIL;
	p.server_addr = inet_addr(host);
	p.server_port = (uint16_t)port;
	p.protocol_version = GG_PROTOCOL_VERSION_100;
	p.tls = GG_SSL_DISABLED;
	p.encoding = GG_ENCODING_UTF8;
	s = gg_login(&p);
	if (s)
		gg_notify(s, NULL, 0);
	return s;
}

/* Collect messages on s until `want` arrived from `from` or time is up. */
static size_t receive(struct gg_session *s, uin_t from, char got[][LINE_MAX_LEN], size_t want)
{
	time_t deadline = time(NULL) + 20;
	size_t n = 0;

	while (n < want && time(NULL) < deadline) {
		struct timeval tv = { 1, 0 };
		fd_set rd, wr;
		struct gg_event *e;

		FD_ZERO(&rd);
		FD_ZERO(&wr);
		if (s->check & GG_CHECK_READ)
			FD_SET(s->fd, &rd);
		if (s->check & GG_CHECK_WRITE)
			FD_SET(s->fd, &wr);
		if (select(s->fd + 1, &rd, &wr, NULL, &tv) <= 0)
			continue;
		e = gg_watch_fd(s);
		if (!e)
			return n;
		if (e->type == GG_EVENT_MSG && e->event.msg.sender == from && e->event.msg.message) {
			snprintf(got[n], LINE_MAX_LEN, "%s", (const char *)e->event.msg.message);
			n++;
		}
		gg_free_event(e);
	}
	return n;
}

/* "a:" or "b:" and the line; lines are shorter than LINE_MAX_LEN. */
static void prefixed(char *out, char who, const char *line)
{
	size_t n = strnlen(line, LINE_MAX_LEN - 1);

	out[0] = who;
	out[1] = ':';
	memcpy(out + 2, line, n);
	out[2 + n] = '\0';
}

int main(int argc, char **argv)
{
	static char lines[MAX_LINES][LINE_MAX_LEN], got[MAX_LINES][LINE_MAX_LEN];
	char text[LINE_MAX_LEN + 4];
	struct gg_session *alice, *bob;
	size_t n = 0, i;
	int bad = 0;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: gg_client HOST PORT MSG_FILE\n");
		return 2;
	}
	f = fopen(argv[3], "r");
	if (!f)
		return 1;
	while (n < MAX_LINES && fgets(lines[n], LINE_MAX_LEN, f)) {
		lines[n][strcspn(lines[n], "\n")] = '\0';
		if (lines[n][0])
			n++;
	}
	fclose(f);
	alice = login(argv[1], atoi(argv[2]), ALICE);
	bob = login(argv[1], atoi(argv[2]), BOB);
	if (!alice || !bob) {
		fprintf(stderr, "gg_client: login failed\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		prefixed(text, 'a', lines[i]);
		if (gg_send_message(alice, GG_CLASS_CHAT, BOB, (const unsigned char *)text) < 0)
			bad = 1;
	}
	if (receive(bob, ALICE, got, n) != n)
		bad = 1;
	for (i = 0; i < n && !bad; i++) {
		prefixed(text, 'a', lines[i]);
		if (strcmp(got[i], text) != 0) {
			fprintf(stderr, "bob got \"%s\", want \"%s\"\n", got[i], text);
			bad = 1;
		}
		prefixed(text, 'b', lines[i]);
		if (gg_send_message(bob, GG_CLASS_CHAT, ALICE, (const unsigned char *)text) < 0)
			bad = 1;
	}
	if (!bad && receive(alice, BOB, got, n) != n)
		bad = 1;
	for (i = 0; i < n && !bad; i++) {
		prefixed(text, 'b', lines[i]);
		if (strcmp(got[i], text) != 0) {
			fprintf(stderr, "alice got \"%s\", want \"%s\"\n", got[i], text);
			bad = 1;
		}
	}
	gg_logoff(alice);
	gg_logoff(bob);
	gg_free_session(alice);
	gg_free_session(bob);
	return bad;
}
