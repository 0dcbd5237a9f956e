#include "classifier/expect_steer.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "event/event.h"
#include "imwire/bpf_maps.h"

#define KMOD_EXPECT "/sys/kernel/imwire/expect"

int expect_steer_open(struct expect_steer *s, const char *pin_dir)
{
	char path[512];

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/expect", pin_dir);
	s->map_fd = bpf_obj_get(path);
	if (access(KMOD_EXPECT, W_OK) == 0)
		s->sysfs = KMOD_EXPECT;
	return s->map_fd >= 0 || s->sysfs ? 0 : -1;
}

void expect_steer_use_fd(struct expect_steer *s, int map_fd)
{
	memset(s, 0, sizeof(*s));
	s->map_fd = map_fd;
}

void expect_steer_close(struct expect_steer *s)
{
	if (s->map_fd >= 0)
		close(s->map_fd);
	s->map_fd = -1;
	s->sysfs = NULL;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void map_key(const struct expect_tuple *t, struct imw_expect_key *k)
{
	memset(k, 0, sizeof(*k));
	if (t->ip_version == 4) {
		k->listen_addr[10] = k->listen_addr[11] = 0xff;
		memcpy(k->listen_addr + 12, t->listen_addr, 4);
	} else {
		memcpy(k->listen_addr, t->listen_addr, 16);
	}
	k->listen_port = t->listen_port;
}

static int map_change(struct expect_steer *s, const struct expect_tuple *t, bool added)
{
	struct imw_expect_key k;
	struct imw_expect_val v;

	map_key(t, &k);
	if (!added)
		return bpf_map_delete_elem(s->map_fd, &k) == 0 || errno == ENOENT ? 0 : -1;
	memset(&v, 0, sizeof(v));
	v.proto = (uint32_t)t->proto;
	v.expires_ns = monotonic_ns() + (uint64_t)(t->ttl * 1e9);
	return bpf_map_update_elem(s->map_fd, &k, &v, BPF_ANY);
}

/* One line to imw_expect_store (kmod/imwire_expect.c). */
static int sysfs_change(struct expect_steer *s, const struct expect_tuple *t, bool added)
{
	char addr[INET6_ADDRSTRLEN], line[160];
	int fd, n, rc;

	if (!inet_ntop(t->ip_version == 4 ? AF_INET : AF_INET6, t->listen_addr, addr, sizeof(addr)))
		return -1;
	if (added)
		n = snprintf(line, sizeof(line), "add %s %u %s %u\n", addr, (unsigned)t->listen_port,
			     event_proto_name(t->proto), (unsigned)(t->ttl > 1 ? t->ttl : 1));
	else
		n = snprintf(line, sizeof(line), "del %s %u\n", addr, (unsigned)t->listen_port);
	fd = open(s->sysfs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = write(fd, line, (size_t)n) == n ? 0 : -1;
	close(fd);
	return rc;
}

static void on_change(void *arg, const struct expect_tuple *t, bool added)
{
	struct expect_steer *s = arg;
	bool ok = true;

	if (s->map_fd >= 0 && map_change(s, t, added) < 0)
		ok = false;
	if (s->sysfs && sysfs_change(s, t, added) < 0)
		ok = false;
	if (!ok)
		s->failures++;
	else if (added)
		s->entered++;
	else
		s->removed++;
}

void expect_steer_follow(struct expect_steer *s, struct expect_table *t)
{
	if (s->map_fd >= 0 || s->sysfs)
		expect_table_watch(t, on_change, s);
}
