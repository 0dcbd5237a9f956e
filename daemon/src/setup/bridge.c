/* What `imwire setup` checks before it steers a bridge: that the bridge
 * exists here (rtnetlink, so that it answers for the network namespace
 * we run in, whatever /sys shows), and that br_netfilter hands bridged
 * IPv4 and IPv6 packets to the IP hooks, where the rules live: without
 * net.bridge.bridge-nf-call-iptables=1 they could never match. */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "setup/setup.h"
#include "setup/setup_internal.h"

#define SYSCTL_DIR "/proc/sys/net/bridge"

struct link_info {
	unsigned ifindex;
	unsigned master;
	char name[IFNAMSIZ];
	char kind[32];
};

struct link_list {
	struct link_info *v;
	size_t n;
	size_t cap;
	bool failed;
};

static int linkinfo_attr(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
		snprintf(li->kind, sizeof(li->kind), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
			snprintf(li->name, sizeof(li->name), "%s", mnl_attr_get_str(a));
		break;
	case IFLA_MASTER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->master = mnl_attr_get_u32(a);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			mnl_attr_parse_nested(a, linkinfo_attr, li);
		break;
	}
	return MNL_CB_OK;
}

static int link_msg(const struct nlmsghdr *nlh, void *data)
{
	struct link_list *l = data;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct link_info li, *grown;

	memset(&li, 0, sizeof(li));
	li.ifindex = (unsigned)ifm->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr, &li);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		grown = realloc(l->v, cap * sizeof(*grown));
		if (!grown) {
			l->failed = true;
			return MNL_CB_ERROR;
		}
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n++] = li;
	return MNL_CB_OK;
}

/* Every link of this network namespace. */
static int links_dump(struct link_list *l, char *err, size_t err_size)
{
	char buf[32768]; /* a dump comes in several reads */
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh;
	struct rtgenmsg *rt;
	unsigned seq = (unsigned)time(NULL), portid;
	ssize_t n;
	int rc = MNL_CB_OK;

	memset(l, 0, sizeof(*l));
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, err_size, "rtnetlink: %s", strerror(errno));
		if (nl)
			mnl_socket_close(nl);
		return -1;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, err_size, "rtnetlink: %s", strerror(errno));
		mnl_socket_close(nl);
		return -1;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, link_msg, l);
		if (rc <= MNL_CB_STOP)
			break;
	}
	mnl_socket_close(nl);
	if (n < 0 || rc == MNL_CB_ERROR || l->failed) {
		snprintf(err, err_size, "rtnetlink: listing links: %s",
			 l->failed ? "out of memory" : strerror(errno));
		free(l->v);
		l->v = NULL;
		return -1;
	}
	return 0;
}

/* The bridge by name, or -1 with err when it is missing or no bridge. */
static int find_bridge(const struct link_list *l, const char *bridge, char *err, size_t err_size)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, bridge) != 0)
			continue;
		if (strcmp(l->v[i].kind, "bridge") != 0) {
			snprintf(err, err_size, "%s is not a bridge (%s)", bridge,
				 l->v[i].kind[0] ? l->v[i].kind : "no link kind");
			return -1;
		}
		return (int)i;
	}
	snprintf(err, err_size, "no bridge %s here (ip link add %s type bridge)", bridge, bridge);
	return -1;
}

void setup_free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int setup_bridge_ports(const char *bridge, char ***names, size_t *n, char *err, size_t err_size)
{
	struct link_list l;
	size_t i;
	int b;

	*names = NULL;
	*n = 0;
	if (links_dump(&l, err, err_size) < 0)
		return -1;
	b = find_bridge(&l, bridge, err, err_size);
	if (b >= 0)
		*names = calloc(l.n ? l.n : 1, sizeof(**names));
	if (b >= 0 && !*names) {
		snprintf(err, err_size, "out of memory");
		b = -1;
	}
	for (i = 0; b >= 0 && i < l.n; i++) {
		if (l.v[i].master != l.v[b].ifindex)
			continue;
		(*names)[*n] = strdup(l.v[i].name);
		if (!(*names)[*n]) {
			snprintf(err, err_size, "out of memory");
			setup_free_names(*names, *n);
			*names = NULL;
			*n = 0;
			b = -1;
			break;
		}
		(*n)++;
	}
	free(l.v);
	return b < 0 ? -1 : 0;
}

/* The sysctl's value, -1 when it cannot be read (no br_netfilter). */
static int sysctl_read(const char *name)
{
	char path[128], v[8] = "";
	FILE *f;

	snprintf(path, sizeof(path), SYSCTL_DIR "/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(v, sizeof(v), f))
		v[0] = '\0';
	fclose(f);
	return v[0] >= '0' && v[0] <= '9' ? atoi(v) : -1;
}

static int sysctl_write_one(const char *name)
{
	char path[128];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), SYSCTL_DIR "/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	rc = fputs("1\n", f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

int setup_check_bridge(const char *bridge, bool fix, bool dry_run, FILE *log, char *err,
		       size_t err_size)
{
	static const char *const knobs[] = { "bridge-nf-call-iptables",
					     "bridge-nf-call-ip6tables" };
	char *modprobe[] = { "modprobe", "br_netfilter", NULL };
	struct link_list l;
	size_t i;
	int b;

	if (links_dump(&l, err, err_size) < 0)
		return -1;
	b = find_bridge(&l, bridge, err, err_size);
	free(l.v);
	if (b < 0)
		return -1;
	if (sysctl_read(knobs[0]) < 0) {
		if (!fix) {
			snprintf(err, err_size,
				 "br_netfilter is not loaded: bridged packets never reach the rules "
				 "(modprobe br_netfilter, or imwire setup --fix)");
			return -1;
		}
		setup_print_cmd(log, modprobe);
		if (!dry_run && (setup_run(modprobe, NULL, 0, false) != 0 || sysctl_read(knobs[0]) < 0)) {
			snprintf(err, err_size, "cannot load br_netfilter");
			return -1;
		}
	}
	for (i = 0; i < 2; i++) {
		if (sysctl_read(knobs[i]) == 1)
			continue;
		if (!fix) {
			snprintf(err, err_size,
				 "net.bridge.%s is not 1: bridged packets would never meet the rules "
				 "(sysctl -w net.bridge.%s=1, or imwire setup --fix)",
				 knobs[i], knobs[i]);
			return -1;
		}
		fprintf(log, "sysctl -w net.bridge.%s=1\n", knobs[i]);
		if (!dry_run && sysctl_write_one(knobs[i]) < 0) {
			snprintf(err, err_size, "net.bridge.%s: cannot set: %s", knobs[i],
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}
