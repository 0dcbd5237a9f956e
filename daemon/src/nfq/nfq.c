#include "nfq/nfq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* A slot: the largest message (the copy range and its headers), rounded
 * up so that every slot, and so every message, starts aligned. */
#define RX_BUFFER ((0xFFFF + (MNL_SOCKET_BUFFER_SIZE / 2) + 63) & ~(size_t)63)
/* Queue messages taken by one recvmmsg: each packet is a datagram of its
 * own, so a burst costs one system call per RX_SLOTS packets instead of
 * one per packet (and no final EAGAIN when the burst ends short). */
#define RX_SLOTS 8
#define TX_BUFFER (1 << 20)
/* One sendmsg carries at most this much: past the socket's send buffer
 * the kernel refuses the whole batch, and every verdict in it is lost. */
#define TX_FLUSH_AT (128 * 1024)
#define SOCKET_SNDBUF (4 * 1024 * 1024)
/* Verdicts with a packet in one batch: each is up to three iovecs
 * (headers, packet, padding) and one sendmsg takes at most IOV_MAX. */
#define TX_MAX_PAYLOADS 300
#define SOCKET_RCVBUF (16 * 1024 * 1024)

static int send_now(struct nfqueue *q, struct nlmsghdr *nlh, char *err, size_t err_size)
{
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, err_size, "queue %u: %s", q->num, strerror(errno));
		return -1;
	}
	return 0;
}

int nfqueue_open(struct nfqueue *q, uint16_t num, uint32_t max_len, bool fail_open, char *err,
		 size_t err_size)
{
	char buf[8192];
	struct nlmsghdr *nlh;
	/* the mask names both: a queue a predecessor left fail-open is not */
	uint32_t mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN;
	uint32_t flags = NFQA_CFG_F_GSO | (fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
	int rcvbuf = SOCKET_RCVBUF, one = 1;

	memset(q, 0, sizeof(*q));
	q->num = num;
	q->fail_open = fail_open;
	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q->nl) {
		snprintf(err, err_size, "netlink socket: %s", strerror(errno));
		return -1;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, err_size, "netlink bind: %s", strerror(errno));
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	/* Without a big buffer, bursts overflow it and the kernel drops
	 * queue messages (ENOBUFS). SO_RCVBUFFORCE needs CAP_NET_ADMIN, which
	 * the queue needs anyway. */
	if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	rcvbuf = SOCKET_SNDBUF;
	if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_SNDBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf));
	(void)one;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (send_now(q, nlh, err, err_size) < 0)
		goto fail;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xFFFF);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	if (max_len)
		nfq_nlmsg_cfg_put_qmaxlen(nlh, max_len);
	if (send_now(q, nlh, err, err_size) < 0)
		goto fail;

	q->rx_size = RX_BUFFER;
	q->rx = malloc(RX_SLOTS * q->rx_size);
	q->tx_size = TX_BUFFER;
	q->tx = malloc(q->tx_size);
	q->payloads = malloc(TX_MAX_PAYLOADS * sizeof(*q->payloads));
	if (!q->rx || !q->tx || !q->payloads) {
		snprintf(err, err_size, "out of memory");
		goto fail;
	}
	return 0;
fail:
	nfqueue_close(q);
	return -1;
}

void nfqueue_close(struct nfqueue *q)
{
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q->rx);
	free(q->tx);
	free(q->payloads);
	free(q->suffix_min);
	q->nl = NULL;
	q->rx = q->tx = NULL;
	q->payloads = NULL;
	q->suffix_min = NULL;
	q->suffix_cap = 0;
}

int nfqueue_fd(const struct nfqueue *q)
{
	return mnl_socket_get_fd(q->nl);
}

struct receive_ctx {
	struct nfqueue *q;
	nfqueue_packet_fn fn;
	void *arg;
	int count;
};

static uint32_t attr_u32(const struct nlattr *attr)
{
	if (!attr || mnl_attr_get_payload_len(attr) < sizeof(uint32_t))
		return 0;
	return ntohl(mnl_attr_get_u32(attr));
}

static void read_meta(struct nlattr **attr, struct nfqueue_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	meta->indev = attr_u32(attr[NFQA_IFINDEX_INDEV]);
	meta->outdev = attr_u32(attr[NFQA_IFINDEX_OUTDEV]);
	meta->physindev = attr_u32(attr[NFQA_IFINDEX_PHYSINDEV]);
	meta->physoutdev = attr_u32(attr[NFQA_IFINDEX_PHYSOUTDEV]);
	if (attr[NFQA_HWADDR] &&
	    mnl_attr_get_payload_len(attr[NFQA_HWADDR]) >= sizeof(struct nfqnl_msg_packet_hw)) {
		const struct nfqnl_msg_packet_hw *hw = mnl_attr_get_payload(attr[NFQA_HWADDR]);
		uint16_t len = ntohs(hw->hw_addrlen);

		meta->hwaddr_len = len < sizeof(meta->hwaddr) ? len : sizeof(meta->hwaddr);
		memcpy(meta->hwaddr, hw->hw_addr, meta->hwaddr_len);
	}
}

static int on_message(const struct nlmsghdr *nlh, void *data)
{
	struct receive_ctx *ctx = data;
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	struct nfqueue_meta meta;
	uint32_t skbinfo = 0;
	bool gso;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	if (attr[NFQA_SKB_INFO])
		skbinfo = ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO]));
	gso = skbinfo & NFQA_SKB_GSO;
	if (attr[NFQA_CAP_LEN] && attr[NFQA_PAYLOAD] &&
	    ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) > mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]))
		ctx->q->stats.truncated++;
	ctx->q->stats.received++;
	ctx->count++;
	read_meta(attr, &meta);
	if (!attr[NFQA_PAYLOAD]) {
		ctx->fn(ctx->arg, ntohl(ph->packet_id), NULL, 0, gso, &meta);
		return MNL_CB_OK;
	}
	ctx->fn(ctx->arg, ntohl(ph->packet_id), mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
		mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]), gso, &meta);
	return MNL_CB_OK;
}

int nfqueue_receive(struct nfqueue *q, nfqueue_packet_fn fn, void *arg)
{
	struct receive_ctx ctx = { .q = q, .fn = fn, .arg = arg, .count = 0 };
	struct mmsghdr m[RX_SLOTS];
	struct iovec iov[RX_SLOTS];
	int n, i;

	for (;;) {
		memset(m, 0, sizeof(m));
		for (i = 0; i < RX_SLOTS; i++) {
			iov[i] = (struct iovec){ q->rx + (size_t)i * q->rx_size, q->rx_size };
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(mnl_socket_get_fd(q->nl), m, RX_SLOTS, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return ctx.count;
			if (errno == ENOBUFS) {
				/* The kernel could not queue messages to us: their
				 * packets were dropped (resent by their senders), or
				 * with fail-open went on unseen. */
				q->stats.enobufs++;
				continue;
			}
			q->stats.receive_errors++;
			return ctx.count ? ctx.count : -1;
		}
		for (i = 0; i < n; i++)
			if ((m[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    mnl_cb_run(iov[i].iov_base, m[i].msg_len, 0, q->portid, on_message, &ctx) < 0)
				q->stats.receive_errors++;
		/* Short: the socket had no more just now (poll says when it has). */
		if (n < RX_SLOTS)
			return ctx.count;
	}
}

static const uint8_t zero_pad[MNL_ALIGNTO];

/* The batch's messages tx[from, to), with the packets of payloads[p..]
 * whose headers lie there, as iovecs: at most three a packet and one for
 * the rest, so iov holds 3 * TX_MAX_PAYLOADS + 1. Returns how many; *next
 * receives the first payload not used. */
static size_t gather(struct nfqueue *q, size_t from, size_t to, size_t p, struct iovec *iov,
		     size_t *next)
{
	size_t n = 0, off = from;

	for (; p < q->n_payloads && q->payloads[p].off < to; p++) {
		const struct nfqueue_tx_payload *pl = &q->payloads[p];
		size_t head = pl->off + pl->hdr_len - off;

		iov[n++] = (struct iovec){ q->tx + off, head };
		iov[n++] = (struct iovec){ (void *)(uintptr_t)pl->bytes, pl->len };
		if (MNL_ALIGN(pl->len) > pl->len)
			iov[n++] = (struct iovec){ (void *)(uintptr_t)zero_pad,
						   MNL_ALIGN(pl->len) - pl->len };
		off = pl->off + pl->hdr_len;
	}
	if (to > off)
		iov[n++] = (struct iovec){ q->tx + off, to - off };
	*next = p;
	return n;
}

static int send_gathered(struct nfqueue *q, struct iovec *iov, size_t n)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct msghdr msg = { &kernel, sizeof(kernel), iov, n, NULL, 0, 0 };

	return sendmsg(mnl_socket_get_fd(q->nl), &msg, 0) < 0 ? -1 : 0;
}

/* The batch as a whole was refused: each message alone, so one bad
 * message cannot strand the packets of the others. */
static int flush_one_by_one(struct nfqueue *q)
{
	struct iovec iov[3];
	size_t off = 0, p = 0, len, n, next;
	int rc = 0;

	while (off < q->tx_len) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)(void *)(q->tx + off);

		if (p < q->n_payloads && q->payloads[p].off == off) {
			len = q->payloads[p].hdr_len;
			n = gather(q, off, off + len, p, iov, &next);
			p = next;
		} else if (nlh->nlmsg_len >= sizeof(*nlh) && off + nlh->nlmsg_len <= q->tx_len) {
			len = MNL_ALIGN(nlh->nlmsg_len);
			iov[0] = (struct iovec){ nlh, len };
			n = 1;
		} else {
			break;
		}
		if (send_gathered(q, iov, n) < 0) {
			q->stats.send_errors++;
			rc = -1;
		}
		off += len;
	}
	return rc;
}

static int flush_tx(struct nfqueue *q)
{
	struct iovec iov[3 * TX_MAX_PAYLOADS + 1];
	size_t n, next;
	int rc = 0;

	if (!q->tx_len)
		return 0;
	n = gather(q, 0, q->tx_len, 0, iov, &next);
	if (send_gathered(q, iov, n) < 0) {
		q->stats.send_errors++;
		rc = flush_one_by_one(q);
	}
	q->tx_len = 0;
	q->n_payloads = 0;
	q->payload_bytes = 0;
	return rc;
}

/* Room in the transmit buffer for one verdict's headers, its packet (of
 * payload bytes) going by an iovec. */
static struct nlmsghdr *tx_put(struct nfqueue *q, int type, size_t payload)
{
	size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) + 256;

	if (q->tx_len && (q->tx_len + need > q->tx_size ||
			  q->tx_len + q->payload_bytes + need + MNL_ALIGN(payload) > TX_FLUSH_AT ||
			  (payload && q->n_payloads == TX_MAX_PAYLOADS)))
		flush_tx(q);
	return nfq_nlmsg_put(q->tx + q->tx_len, type, q->num);
}

static void tx_commit(struct nfqueue *q, struct nlmsghdr *nlh)
{
	q->tx_len += MNL_ALIGN(nlh->nlmsg_len);
	q->stats.verdicts++;
}

/* A verdict carrying a packet: the NFQA_PAYLOAD attribute's header in tx,
 * its bytes left where they are (gathered when the batch goes). */
static void put_with_payload(struct nfqueue *q, struct nlmsghdr *nlh, const uint8_t *pkt,
			     size_t len)
{
	struct nlattr *attr = (struct nlattr *)(void *)((char *)nlh + MNL_ALIGN(nlh->nlmsg_len));
	struct nfqueue_tx_payload *pl = &q->payloads[q->n_payloads++];

	attr->nla_type = NFQA_PAYLOAD;
	attr->nla_len = (uint16_t)(MNL_ATTR_HDRLEN + len);
	nlh->nlmsg_len = (uint32_t)(MNL_ALIGN(nlh->nlmsg_len) + MNL_ATTR_HDRLEN);
	pl->off = q->tx_len;
	pl->hdr_len = nlh->nlmsg_len;
	pl->bytes = pkt;
	pl->len = len;
	q->payload_bytes += MNL_ALIGN(len);
	/* the whole message, as the kernel reads it */
	nlh->nlmsg_len += (uint32_t)MNL_ALIGN(len);
	q->tx_len += pl->hdr_len;
	q->stats.verdicts++;
}

static void put_single(struct nfqueue *q, uint32_t id, int verdict, const uint8_t *pkt,
		       size_t len)
{
	struct nlmsghdr *nlh = tx_put(q, NFQNL_MSG_VERDICT, pkt ? len : 0);

	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	if (pkt)
		put_with_payload(q, nlh, pkt, len);
	else
		tx_commit(q, nlh);
}

int nfqueue_send_verdicts(struct nfqueue *q, const struct verdict *v, size_t n,
			  const uint8_t *bytes, bool have_held, uint32_t lowest_held)
{
	size_t i = 0, j, k;
	uint32_t *suffix_min = q->suffix_min;

	if (!n)
		return 0;
	if (n > q->suffix_cap) {
		/* Without it every accept goes alone: slower, never wrong. */
		suffix_min = realloc(q->suffix_min, n * sizeof(*suffix_min));
		if (suffix_min) {
			q->suffix_min = suffix_min;
			q->suffix_cap = n;
		}
	}
	if (suffix_min) {
		suffix_min[n - 1] = v[n - 1].id;
		for (k = n - 1; k-- > 0;)
			suffix_min[k] = v[k].id < suffix_min[k + 1] ? v[k].id : suffix_min[k + 1];
	}
	while (i < n) {
		const struct verdict *o = &v[i];

		if (o->kind != VERDICT_ACCEPT) {
			put_single(q, o->id, o->kind == VERDICT_DROP ? NF_DROP : NF_ACCEPT,
				   o->kind == VERDICT_ACCEPT_MODIFIED ? bytes + o->offset : NULL,
				   o->len);
			i++;
			continue;
		}
		/* A run of plain accepts. */
		uint32_t max_id = o->id;

		for (j = i; j < n && v[j].kind == VERDICT_ACCEPT; j++)
			if (v[j].id > max_id)
				max_id = v[j].id;
		if (j - i > 1 && suffix_min && (!have_held || lowest_held > max_id) &&
		    (j == n || suffix_min[j] > max_id)) {
			struct nlmsghdr *nlh = tx_put(q, NFQNL_MSG_VERDICT_BATCH, 0);

			nfq_nlmsg_verdict_put(nlh, (int)max_id, NF_ACCEPT);
			tx_commit(q, nlh);
			q->stats.batch_verdicts++;
		} else {
			for (k = i; k < j; k++)
				put_single(q, v[k].id, NF_ACCEPT, NULL, 0);
		}
		i = j;
	}
	return flush_tx(q);
}
