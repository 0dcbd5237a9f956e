#include "classifier/classifier.h"

#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "imwire.skel.h"
#include "proto/proto.h"
#include "util/fd_order.h"

#define BPFFS_ROOT "/sys/fs/bpf"
#define BPFFS_MAGIC 0xcafe4a11

const char *classifier_pin_dir(const char *configured, char *buf, size_t size)
{
	const char *env = getenv("IMWIRE_PIN_DIR");
	struct stat st;

	if (configured && *configured)
		snprintf(buf, size, "%s", configured);
	else if (env && *env)
		snprintf(buf, size, "%s", env);
	else if (stat("/proc/self/ns/net", &st) == 0)
		snprintf(buf, size, "%s/%llu", IMW_PIN_ROOT, (unsigned long long)st.st_ino);
	else
		return NULL; /* no /proc: no namespace to tell instances apart by */
	return buf;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (unsigned long)st.f_type == BPFFS_MAGIC;
}

int classifier_prepare_pins(const char *pin_dir, char *err, size_t err_size)
{
	char parent[512];
	char *slash;

	if (!is_bpffs(BPFFS_ROOT) && mount("bpf", BPFFS_ROOT, "bpf", 0, NULL) < 0) {
		snprintf(err, err_size, "cannot mount bpffs on %s: %s", BPFFS_ROOT, strerror(errno));
		return -1;
	}
	/* The per-namespace directories share a parent (IMW_PIN_ROOT): made
	 * first; when that fails, making pin_dir says why. */
	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		(void)mkdir(parent, 0700);
	}
	if (mkdir(pin_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, err_size, "%s: %s", pin_dir, strerror(errno));
		return -1;
	}
	if (!is_bpffs(pin_dir)) {
		snprintf(err, err_size, "%s is not on a bpf filesystem", pin_dir);
		return -1;
	}
	return 0;
}

static int open_pinned(const char *pin_dir, const char *map, char *err, size_t err_size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, map);
	fd = bpf_obj_get(path);
	if (fd < 0)
		snprintf(err, err_size, "%s: %s (is the classifier attached? imwire attach IFACE)",
			 path, strerror(errno));
	return fd;
}

/* Fresh maps: every protocol on, every module's well-known ports except
 * 443, which carries HTTPS far more often than AIM. */
static int fill_defaults(struct imwire_bpf *skel, char *err, size_t err_size)
{
	int protos = bpf_map__fd(skel->maps.protocols), ports = bpf_map__fd(skel->maps.ports);
	struct imw_proto_conf on = { .enabled = 1 };
	const struct proto_module *const *mods;
	uint32_t key, id;
	uint16_t port;
	size_t n, i, j;

	for (key = IMW_PROTO_NONE + 1; key < IMW_PROTO_MAX; key++)
		if (bpf_map_update_elem(protos, &key, &on, BPF_ANY) < 0)
			goto fail;
	mods = proto_modules(&n);
	for (i = 0; i < n; i++) {
		for (j = 0; j < mods[i]->info->n_ports; j++) {
			port = mods[i]->info->ports[j];
			id = mods[i]->id;
			/* a port two rows list (5190) stays with the first in table order */
			if (port != 443 && bpf_map_update_elem(ports, &port, &id, BPF_NOEXIST) < 0 &&
			    errno != EEXIST)
				goto fail;
		}
	}
	return 0;
fail:
	snprintf(err, err_size, "filling the classifier's maps: %s", strerror(errno));
	return -1;
}

static int attach_one(int prog_fd, const char *ifname, char *err, size_t err_size)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CLASSIFIER_TC_HANDLE,
			    .priority = CLASSIFIER_TC_PRIORITY, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	int rc;

	hook.ifindex = (int)if_nametoindex(ifname);
	if (!hook.ifindex) {
		snprintf(err, err_size, "%s: no such interface", ifname);
		return -1;
	}
	rc = bpf_tc_hook_create(&hook);
	if (rc < 0 && rc != -EEXIST) {
		snprintf(err, err_size, "%s: cannot add clsact: %s", ifname, strerror(-rc));
		return -1;
	}
	rc = bpf_tc_attach(&hook, &opts);
	if (rc < 0) {
		snprintf(err, err_size, "%s: cannot attach at ingress: %s", ifname, strerror(-rc));
		return -1;
	}
	return 0;
}

static int print_libbpf_quietly(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int classifier_attach(const char *pin_dir, char *const *ifnames, size_t n_ifnames, char *err,
		      size_t err_size)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_dir);
	struct imwire_bpf *skel;
	char path[512];
	bool fresh;
	size_t i;
	int rc = -1;

	if (classifier_prepare_pins(pin_dir, err, err_size) < 0)
		return -1;
	libbpf_set_print(print_libbpf_quietly);
	snprintf(path, sizeof(path), "%s/protocols", pin_dir);
	fresh = access(path, F_OK) != 0;
	skel = imwire_bpf__open_opts(&open_opts);
	if (!skel) {
		snprintf(err, err_size, "cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	if (imwire_bpf__load(skel) < 0) {
		snprintf(err, err_size, "cannot load the BPF program (verifier log above): %s",
			 strerror(errno));
		goto out;
	}
	if (fresh && fill_defaults(skel, err, err_size) < 0)
		goto out;
	for (i = 0; i < n_ifnames; i++)
		if (attach_one(bpf_program__fd(skel->progs.imwire_classify), ifnames[i], err,
			       err_size) < 0)
			goto out;
	rc = 0;
out:
	/* the tc filters keep the program, the pins keep the maps */
	imwire_bpf__destroy(skel);
	return rc;
}

/* Pinned by the BPF object (LIBBPF_PIN_BY_NAME); nothing else of ours
 * lives in the pin directory. */
static const char *const pinned_maps[] = { "protocols", "ports", "flows", "xlate", "expect",
					   "counters",  "liveness", "owner" };

struct filter_count {
	unsigned n;
};

static int count_filter(const struct nlmsghdr *nlh, void *data)
{
	struct filter_count *c = data;

	if (nlh->nlmsg_type == RTM_NEWTFILTER)
		c->n++;
	return MNL_CB_OK;
}

/* Filters on one clsact hook (parent) of ifindex; -1 when the dump fails
 * (no clsact qdisc: 0). */
static int tc_filters_on(int ifindex, uint32_t parent)
{
	char buf[32768]; /* a dump comes in several reads */
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct filter_count c = { 0 };
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	unsigned seq = (unsigned)time(NULL), portid;
	ssize_t n;
	int rc = MNL_CB_OK;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		if (nl)
			mnl_socket_close(nl);
		return -1;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETTFILTER;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		mnl_socket_close(nl);
		return -1;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, count_filter, &c);
		if (rc <= MNL_CB_STOP)
			break;
	}
	mnl_socket_close(nl);
	if (n < 0 || rc == MNL_CB_ERROR)
		return errno == EINVAL || errno == ENOENT ? 0 : -1;
	return (int)c.n;
}

/* Remove our filter; then the clsact qdisc if nothing else uses it. */
static int detach_one(const char *ifname, FILE *note, char *err, size_t err_size)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CLASSIFIER_TC_HANDLE,
			    .priority = CLASSIFIER_TC_PRIORITY);
	int rc, in, eg;

	hook.ifindex = (int)if_nametoindex(ifname);
	if (!hook.ifindex) {
		snprintf(err, err_size, "%s: no such interface", ifname);
		return -1;
	}
	rc = bpf_tc_detach(&hook, &opts);
	if (rc < 0 && rc != -ENOENT && rc != -EINVAL) {
		snprintf(err, err_size, "%s: cannot detach: %s", ifname, strerror(-rc));
		return -1;
	}
	in = tc_filters_on(hook.ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS));
	eg = tc_filters_on(hook.ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS));
	if (in != 0 || eg != 0) {
		fprintf(note, "imwire: %s: filter removed; clsact kept (%s)\n", ifname,
			in < 0 || eg < 0 ? "cannot list its filters" : "other filters use it");
		return 0;
	}
	/* both hooks at once: the clsact qdisc itself goes */
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	rc = bpf_tc_hook_destroy(&hook);
	if (rc < 0 && rc != -ENOENT && rc != -EINVAL) {
		snprintf(err, err_size, "%s: cannot remove clsact: %s", ifname, strerror(-rc));
		return -1;
	}
	fprintf(note, "imwire: %s: filter and clsact qdisc removed\n", ifname);
	return 0;
}

/* Programs named like ours that use the map with id map_id: our
 * classifier, still attached somewhere (another interface, another
 * network namespace). */
static unsigned programs_using(uint32_t map_id)
{
	uint32_t id = 0, ids[16], i;
	unsigned users = 0;
	int fd;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue; /* gone meanwhile */
		memset(&info, 0, sizeof(info));
		info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
		info.map_ids = (__u64)(unsigned long)ids;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    strcmp(info.name, "imwire_classify") == 0) {
			for (i = 0; i < info.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++)
				users += ids[i] == map_id;
		}
		close(fd);
	}
	return users;
}

/* The pinned maps go once no attached program uses them. A program just
 * detached is freed after an RCU grace period: wait for that, bounded. */
static int unpin_when_unused(const char *pin_dir, FILE *note, char *err, size_t err_size)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[512];
	unsigned users = 0, tries;
	size_t i;
	int fd = open_pinned(pin_dir, "protocols", err, err_size);

	if (fd < 0)
		return 0; /* nothing pinned (any more) */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		snprintf(err, err_size, "%s/protocols: %s", pin_dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	for (tries = 0; tries < 40; tries++) {
		users = programs_using(info.id);
		if (!users)
			break;
		usleep(50000);
	}
	if (users) {
		fprintf(note, "imwire: maps kept in %s: the classifier is still attached to %u "
			      "other interface(s)\n", pin_dir, users);
		return 0;
	}
	for (i = 0; i < sizeof(pinned_maps) / sizeof(pinned_maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, pinned_maps[i]);
		if (unlink(path) < 0 && errno != ENOENT) {
			snprintf(err, err_size, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (rmdir(pin_dir) < 0 && errno != ENOENT)
		fprintf(note, "imwire: maps removed; %s kept: %s\n", pin_dir, strerror(errno));
	else
		fprintf(note, "imwire: maps removed from %s\n", pin_dir);
	return 0;
}

int classifier_detach(const char *pin_dir, char *const *ifnames, size_t n_ifnames, FILE *note,
		      char *err, size_t err_size)
{
	size_t i;

	for (i = 0; i < n_ifnames; i++)
		if (detach_one(ifnames[i], note, err, err_size) < 0)
			return -1;
	if (!is_bpffs(BPFFS_ROOT))
		return 0; /* nothing can be pinned */
	return unpin_when_unused(pin_dir, note, err, err_size);
}

long classifier_edited_flows(const char *pin_dir)
{
	struct imw_xlate_key key, next;
	char err[256];
	bool have = false;
	long n = 0, guard = 0;
	int fd = open_pinned(pin_dir, "xlate", err, sizeof(err));

	if (fd < 0)
		return -1;
	/* One entry per edited direction; a connection edited both ways
	 * counts once, under its side 0 entry or its only one. */
	while (guard++ <= IMW_MAX_XLATE && bpf_map_get_next_key(fd, have ? &key : NULL, &next) == 0) {
		struct imw_xlate_key other = next;

		key = next;
		have = true;
		other.side = !next.side;
		if (next.side == 0 || bpf_map_lookup_elem(fd, &other, &(struct imw_xlate){ 0 }) != 0)
			n++;
	}
	close(fd);
	return n;
}

static int proto_by_name(const char *name, uint32_t *id)
{
	char *end;
	unsigned long v;
	uint32_t i;

	for (i = IMW_PROTO_NONE + 1; i < IMW_PROTO_MAX; i++) {
		if (strcmp(proto_infos[i].name, name) == 0) {
			*id = i;
			return 0;
		}
	}
	v = strtoul(name, &end, 10);
	if (*name && !*end && v > IMW_PROTO_NONE && v < IMW_PROTO_MAX) {
		*id = (uint32_t)v;
		return 0;
	}
	return -1;
}

int classifier_proto_set(const char *pin_dir, const char *name, bool enabled, char *err,
			 size_t err_size)
{
	struct imw_proto_conf conf = { .enabled = enabled ? 1 : 0 };
	uint32_t id;
	int fd, rc;

	if (proto_by_name(name, &id) < 0) {
		snprintf(err, err_size, "unknown protocol \"%s\"", name);
		return -1;
	}
	fd = open_pinned(pin_dir, "protocols", err, err_size);
	if (fd < 0)
		return -1;
	rc = bpf_map_update_elem(fd, &id, &conf, BPF_ANY);
	if (rc < 0)
		snprintf(err, err_size, "updating protocols: %s", strerror(errno));
	close(fd);
	return rc < 0 ? -1 : 0;
}

/* Sum one protocol's per-CPU counters. */
static int read_counters(int fd, uint32_t id, struct imw_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct imw_counters *per;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return -1;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -1;
	if (bpf_map_lookup_elem(fd, &id, per) < 0) {
		free(per);
		return -1;
	}
	for (i = 0; i < ncpu; i++) {
		sum->flows += per[i].flows;
		sum->steered += per[i].steered;
		sum->not_steered += per[i].not_steered;
		sum->fixed_up += per[i].fixed_up;
		sum->held_for_successor += per[i].held_for_successor;
		sum->folded += per[i].folded;
		sum->stale_cleared += per[i].stale_cleared;
	}
	free(per);
	return 0;
}

static void print_ports(FILE *out, int ports_fd, uint32_t id)
{
	uint16_t key, next;
	uint32_t value;
	bool first = true, have = false;
	int guard = 0;

	while (guard++ < IMW_MAX_PORTS + 1 &&
	       bpf_map_get_next_key(ports_fd, have ? &key : NULL, &next) == 0) {
		key = next;
		have = true;
		if (bpf_map_lookup_elem(ports_fd, &key, &value) == 0 && value == id) {
			fprintf(out, "%s%u", first ? "" : ",", key);
			first = false;
		}
	}
	if (first)
		fputc('-', out);
}

int classifier_proto_list(const char *pin_dir, FILE *out, char *err, size_t err_size)
{
	int protos, ports, counters, rc = -1;
	struct imw_proto_conf conf;
	struct imw_counters c;
	uint32_t id;

	protos = open_pinned(pin_dir, "protocols", err, err_size);
	ports = open_pinned(pin_dir, "ports", err, err_size);
	counters = open_pinned(pin_dir, "counters", err, err_size);
	if (protos < 0 || ports < 0 || counters < 0)
		goto out;
	fprintf(out, "%-6s %-3s %-20s %10s %12s %12s %10s %8s %8s %8s\n", "proto", "on", "ports",
		"flows", "steered", "not_steered", "fixed_up", "held", "folded", "stale");
	for (id = IMW_PROTO_NONE; id < IMW_PROTO_MAX; id++) {
		if (read_counters(counters, id, &c) < 0) {
			snprintf(err, err_size, "reading counters: %s", strerror(errno));
			goto out;
		}
		if (id == IMW_PROTO_NONE) {
			fprintf(out, "%-6s %-3s %-20s %10llu %12s %12llu %10s %8s %8s %8s\n", "other",
				"-", "-", (unsigned long long)c.flows, "-",
				(unsigned long long)c.not_steered, "-", "-", "-", "-");
			continue;
		}
		if (bpf_map_lookup_elem(protos, &id, &conf) < 0)
			conf.enabled = 0;
		fprintf(out, "%-6s %-3s ", proto_infos[id].name, conf.enabled ? "on" : "off");
		{
			char buf[128] = "";
			FILE *mem = fmemopen(buf, sizeof(buf) - 1, "w");

			if (mem) {
				print_ports(mem, ports, id);
				fclose(mem);
			}
			fprintf(out, "%-20s", buf);
		}
		fprintf(out, " %10llu %12llu %12llu %10llu %8llu %8llu %8llu\n",
			(unsigned long long)c.flows, (unsigned long long)c.steered,
			(unsigned long long)c.not_steered, (unsigned long long)c.fixed_up,
			(unsigned long long)c.held_for_successor, (unsigned long long)c.folded,
			(unsigned long long)c.stale_cleared);
	}
	rc = 0;
out:
	if (protos >= 0)
		close(protos);
	if (ports >= 0)
		close(ports);
	if (counters >= 0)
		close(counters);
	return rc;
}

/* The pid recorded by the daemon holding pin_dir, 0 when unknown. */
static unsigned owner_pid(const char *pin_dir)
{
	struct imw_owner o;
	char path[512];
	uint32_t key = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/owner", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &key, &o) < 0)
		o.pid = 0;
	close(fd);
	return o.pid;
}

int classifier_holder(const char *pin_dir, unsigned *pid, char *err, size_t err_size)
{
	uint64_t cookie;
	uint32_t key = 0;
	int fd, rc;

	*pid = 0;
	fd = open_pinned(pin_dir, "liveness", err, err_size);
	if (fd < 0)
		return -1;
	rc = bpf_map_lookup_elem(fd, &key, &cookie);
	if (rc < 0 && errno != ENOENT)
		snprintf(err, err_size, "%s/liveness: %s", pin_dir, strerror(errno));
	close(fd);
	if (rc < 0)
		return errno == ENOENT ? 0 : -1;
	*pid = owner_pid(pin_dir);
	return 1;
}

int classifier_claim_prepare(const char *pin_dir, struct classifier_claim *claim, char *err,
			     size_t err_size)
{
	unsigned pid;
	int rc;

	claim->sock_fd = claim->map_fd = claim->owner_fd = -1;
	rc = classifier_holder(pin_dir, &pid, err, err_size);
	if (rc < 0) {
		errno = ENOENT;
		return -1;
	}
	if (rc == 1) {
		snprintf(err, err_size,
			 "%s is held by a live imwired (pid %u): stop it, or give this instance a "
			 "directory of its own (bpf_pin_dir= or IMWIRE_PIN_DIR)",
			 pin_dir, pid);
		errno = EEXIST;
		return -1;
	}
	claim->map_fd = open_pinned(pin_dir, "liveness", err, err_size);
	if (claim->map_fd < 0) {
		errno = ENOENT;
		return -1;
	}
	claim->owner_fd = open_pinned(pin_dir, "owner", err, err_size); /* informational */
	/* Any socket the sockmap takes will do; an unbound datagram socket
	 * of our own touches no network. CLOEXEC: no child keeps it. */
	claim->sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (claim->sock_fd < 0) {
		int e = errno;

		snprintf(err, err_size, "liveness socket: %s", strerror(e));
		classifier_release(claim);
		errno = e;
		return -1;
	}
	claim->held = false;
	return 0;
}

int classifier_claim_take(struct classifier_claim *claim, char *err, size_t err_size)
{
	struct imw_owner me = { .pid = (uint32_t)getpid() };
	uint32_t key = 0;
	uint64_t fd64;
	struct stat st;

	if (claim->sock_fd < 0 || claim->map_fd < 0) {
		snprintf(err, err_size, "liveness: not prepared");
		errno = EINVAL;
		return -1;
	}
	/* Above every descriptor open now (the queues are bound before the
	 * claim is taken): a dying process lets go of its highest descriptor
	 * first (util/fd_order.h), so the classifier knows we are gone before
	 * any queue unbinds; a packet it still steered to a queue without a
	 * listener would go on raw (--queue-bypass), untranslated. */
	claim->sock_fd = fd_order_raise(claim->sock_fd);
	/* the map's values are 8 bytes: the kernel reads a u64 descriptor */
	fd64 = (uint64_t)claim->sock_fd;
	if (bpf_map_update_elem(claim->map_fd, &key, &fd64, BPF_NOEXIST) < 0) {
		int e = errno;

		snprintf(err, err_size, "liveness: %s%s", strerror(e),
			 e == EEXIST ? " (another imwired took the pin directory first)" : "");
		errno = e;
		return -1;
	}
	close(claim->map_fd);
	claim->map_fd = -1;
	if (claim->owner_fd >= 0) {
		if (stat("/proc/self/ns/net", &st) == 0)
			me.netns_ino = (uint64_t)st.st_ino;
		bpf_map_update_elem(claim->owner_fd, &key, &me, BPF_ANY); /* informational only */
		close(claim->owner_fd);
		claim->owner_fd = -1;
	}
	claim->held = true;
	return 0;
}

int classifier_claim(const char *pin_dir, struct classifier_claim *claim, char *err,
		     size_t err_size)
{
	if (classifier_claim_prepare(pin_dir, claim, err, err_size) < 0)
		return -1;
	if (classifier_claim_take(claim, err, err_size) < 0) {
		int e = errno;

		classifier_release(claim);
		errno = e;
		return -1;
	}
	return 0;
}

void classifier_release(struct classifier_claim *claim)
{
	/* the kernel unlinks the socket from the sockmap as it closes */
	if (claim->sock_fd >= 0)
		close(claim->sock_fd);
	if (claim->map_fd >= 0)
		close(claim->map_fd);
	if (claim->owner_fd >= 0)
		close(claim->owner_fd);
	claim->sock_fd = claim->map_fd = claim->owner_fd = -1;
	claim->held = false;
}
