/* Writes the MSN test captures into the directory given as argv[1]. The
 * public capture (shared/pcaps/msnp) has one 1:1 switchboard; these add
 * what it lacks, built from the MSNP command descriptions:
 *   msn_ns.pcap         notification server on 1863: VER, CVR, SSO login,
 *                       the Hotmail profile MSG split over many segments,
 *                       presence (CHG, ILN, NLN, FLN), payload commands
 *                       (UUX, UBX, NOT, ADL) whose payloads look like
 *                       commands, a switchboard invitation (RNG), OUT
 *   msn_group.pcap      a switchboard on port 8080 (found by payload),
 *                       answered with ANS into a room of two others: group
 *                       messages and typing, a leave and a join, a
 *                       text/x-msmsgsinvite file offer, a P2P file offer in
 *                       two chunks cut over many segments, a P2P webcam
 *                       invitation
 *   msn_midstream.pcap  a switchboard picked up inside a MSG payload
 * Everything is deterministic: running it twice gives identical files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "pcapgen.h"
#include "util/bytebuf.h"

#define CLIENT_IP "192.0.2.30"
#define NS_IP "65.54.239.20"
#define SB_IP "65.54.228.15"

#define C2S PCAPGEN_TO_SERVER
#define S2C PCAPGEN_TO_CLIENT

#define TEXT_HEAD \
	"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n" \
	"X-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n\r\n"
#define TYPING(who) \
	"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: " who "\r\n\r\n\r\n"

static int failures;

static void check(int rc)
{
	if (rc < 0)
		failures++;
}

static void oom(void)
{
	fprintf(stderr, "gen_msn: out of memory\n");
	exit(1);
}

static void send_str(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *s)
{
	check(pcapgen_tcp_send_str(t, dir, s));
}

/* "<cmd> <args> <len>\r\n<payload>" in one send. */
static void send_payload(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *cmd_args,
			 const void *payload, size_t len, const struct pcapgen_send *how)
{
	struct bytebuf b;

	bytebuf_init(&b);
	if (!bytebuf_printf(&b, "%s %zu\r\n", cmd_args, len) || !bytebuf_append(&b, payload, len))
		oom();
	check(pcapgen_tcp_send(t, dir, b.data, b.len, how));
	bytebuf_free(&b);
}

static void send_msg(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *args,
		     const char *mime)
{
	send_payload(t, dir, args, mime, strlen(mime), NULL);
}

static struct pcapgen *open_capture(const char *dir, const char *name)
{
	struct pcapgen *g;
	char *path;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		oom();
	g = pcapgen_open(path, PCAPGEN_LINK_ETHERNET);
	free(path);
	if (!g)
		exit(1);
	return g;
}

static void gen_ns(const char *dir)
{
	static const char profile[] =
		"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\n"
		"LoginTime: 1051790400\r\nEmailEnabled: 1\r\nMemberIdHigh: 98304\r\n"
		"MemberIdLow: -1389410304\r\nlang_preference: 1033\r\npreferredEmail: \r\n"
		"country: US\r\nPostalCode: \r\nGender: \r\nKid: 0\r\nAge: \r\nBDayPre: \r\n"
		"Birthday: \r\nWallet: \r\nFlags: 1073744451\r\nsid: 507\r\n"
		"MSPAuth: 7Pmm1XBkzLa4cwvbfxXVYVRjJlKXsK1RCjS8WKsUP*E3LYIpyS3Qvm!w7pE$$\r\n"
		"ClientIP: 192.0.2.30\r\nClientPort: 40704\r\nABCHMigrated: 1\r\n\r\n";
	static const size_t small[] = { 40, 40, 40, 40, 40, 40, 40, 40, 40, 40 };
	static const char uux[] = "<Data><PSM>at the \xc3\xa9" "cole</PSM><CurrentMedia></CurrentMedia></Data>";
	static const char ubx[] = "<Data><PSM>USR 9 OK x</PSM><CurrentMedia></CurrentMedia></Data>";
	static const char notif[] = "<NOTIFICATION id=\"0\" siteid=\"45705\" siteurl=\"http://x\">\r\n"
				    "MSG 1 N 5\r\n</NOTIFICATION>";
	static const char adl[] = "<ml l=\"1\"><d n=\"example.com\"><c n=\"bob\" l=\"3\" t=\"1\"/>"
				  "<c n=\"carol\" l=\"3\" t=\"1\"/></d></ml>";
	struct pcapgen *g = open_capture(dir, "msn_ns.pcap");
	struct pcapgen_send how = { .split = small, .n_split = 10 };
	struct pcapgen_tcp t;

	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40704, NS_IP, 1863, NULL));
	check(pcapgen_tcp_handshake(&t));
	send_str(&t, C2S, "VER 1 MSNP15 MSNP14 MSNP13 CVR0\r\n");
	send_str(&t, S2C, "VER 1 MSNP15\r\n");
	send_str(&t, C2S, "CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 8.5.1302 BC01 alice@example.com\r\n");
	send_str(&t, S2C, "CVR 2 8.5.1302 8.5.1302 8.1.0178 http://msgr.dlservice.microsoft.com http://messenger.msn.com\r\n");
	send_str(&t, C2S, "USR 3 SSO I alice@example.com\r\n");
	send_str(&t, S2C, "USR 3 SSO S MBI_KEY_OLD 8CLhG/xfgYZ7TyEs/0Ra2nE8sP3zYAlpnZWxq0Fw==\r\n");
	send_str(&t, C2S, "USR 4 SSO S t=EwCoARAnAAAU... 2Cz0kvSXM6CrRpEQ==\r\n");
	send_str(&t, S2C, "USR 4 OK alice@example.com 1 0\r\n");
	send_payload(&t, S2C, "MSG Hotmail Hotmail", profile, strlen(profile), &how);
	send_payload(&t, C2S, "ADL 5", adl, strlen(adl), NULL);
	send_str(&t, S2C, "ADL 5 OK\r\n");
	send_str(&t, C2S, "CHG 6 NLN 1342210084 0\r\n");
	send_str(&t, S2C, "CHG 6 NLN 1342210084 0\r\n");
	send_str(&t, S2C, "ILN 6 AWY bob@example.com Bob 1342210084 0\r\n"
			  "ILN 6 NLN carol@example.com Carol%20C 1342177312 0\r\n");
	send_payload(&t, S2C, "UBX bob@example.com", ubx, strlen(ubx), NULL);
	send_payload(&t, C2S, "UUX 7", uux, strlen(uux), NULL);
	send_str(&t, S2C, "UUX 7 0\r\n");
	send_payload(&t, S2C, "NOT", notif, strlen(notif), NULL);
	pcapgen_advance(g, 30 * 1000000u);
	send_str(&t, C2S, "PNG\r\n");
	send_str(&t, S2C, "QNG 50\r\n");
	send_str(&t, S2C, "NLN BSY bob@example.com Bob 1342210084 0\r\n");
	send_str(&t, S2C, "RNG 11752013 65.54.228.15:1863 CKI 849102291.520491113 bob@example.com Bob U messenger.msn.com 1\r\n");
	send_str(&t, S2C, "FLN carol@example.com\r\n");
	send_str(&t, C2S, "OUT\r\n");
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(struct bytebuf *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { b64[v >> 18 & 63], b64[v >> 12 & 63],
			      i + 1 < n ? b64[v >> 6 & 63] : '=', i + 2 < n ? b64[v & 63] : '=' };

		if (!bytebuf_append(out, q, 4))
			oom();
	}
}

/* The file transfer context: header length 574, version 2, 64-bit size,
 * type 1 (no preview), 260 UTF-16LE units of name, 30 zero bytes and
 * 0xFFFFFFFF. The name is given as UTF-16 code units. */
static void file_context(struct bytebuf *out, const uint16_t *name, size_t n_units, uint64_t size)
{
	uint8_t ctx[574];
	size_t i;

	memset(ctx, 0, sizeof(ctx));
	imw_store_le32(ctx, 574);
	imw_store_le32(ctx + 4, 2);
	imw_store_le32(ctx + 8, (uint32_t)size);
	imw_store_le32(ctx + 12, (uint32_t)(size >> 32));
	imw_store_le32(ctx + 16, 1);
	for (i = 0; i < n_units && i < 259; i++)
		imw_store_le16(ctx + 20 + 2 * i, name[i]);
	imw_store_le32(ctx + 570, 0xffffffffu);
	base64(out, ctx, sizeof(ctx));
}

static void slp_invite(struct bytebuf *slp, const char *to, const char *from, const char *guid,
		       unsigned app_id, const struct bytebuf *context)
{
	struct bytebuf body;

	bytebuf_init(&body);
	if (!bytebuf_printf(&body, "EUF-GUID: %s\r\nSessionID: 3107512\r\nAppID: %u\r\nContext: ",
			    guid, app_id) ||
	    !bytebuf_append(&body, context->data, context->len) ||
	    !bytebuf_append(&body, "\r\n\r\n", 5)) /* with the trailing NUL */
		oom();
	if (!bytebuf_printf(slp,
			    "INVITE MSNMSGR:%s MSNSLP/1.0\r\nTo: <msnmsgr:%s>\r\n"
			    "From: <msnmsgr:%s;{6B6F5E4D-3C2B-1A09-8877-665544332211}>\r\n"
			    "Via: MSNSLP/1.0/TLP ;branch={A0D624A6-6C0C-4283-A9E0-BC97B4B46D32}\r\n"
			    "CSeq: 0 \r\nCall-ID: {7B5C4AB6-2E1F-4B4B-9F36-F3F3E9D7B3F0}\r\n"
			    "Max-Forwards: 0\r\nContent-Type: application/x-msnmsgr-sessionreqbody\r\n"
			    "Content-Length: %zu\r\n\r\n",
			    to, to, from, body.len) ||
	    !bytebuf_append(slp, body.data, body.len))
		oom();
	bytebuf_free(&body);
}

/* A MSG carrying bytes [offset, offset+size) of an SLP message as a P2P
 * chunk: 48-byte header, data, 4-byte footer (application id 0). */
static void send_p2p(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *args,
		     const char *dest, const struct bytebuf *slp, size_t offset, size_t size,
		     const struct pcapgen_send *how)
{
	struct bytebuf mime;
	uint8_t h[48];

	bytebuf_init(&mime);
	memset(h, 0, sizeof(h));
	imw_store_le32(h + 4, 217500010u);
	imw_store_le32(h + 8, (uint32_t)offset);
	imw_store_le32(h + 16, (uint32_t)slp->len);
	imw_store_le32(h + 24, (uint32_t)size);
	imw_store_le32(h + 32, 81211u);
	if (!bytebuf_printf(&mime,
			    "MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n"
			    "P2P-Dest: %s\r\n\r\n",
			    dest) ||
	    !bytebuf_append(&mime, h, sizeof(h)) ||
	    !bytebuf_append(&mime, slp->data + offset, size) ||
	    !bytebuf_append(&mime, "\0\0\0\0", 4))
		oom();
	send_payload(t, dir, args, mime.data, mime.len, how);
	bytebuf_free(&mime);
}

static void gen_group(const char *dir)
{
	/* "Q3 résumé.xlsx" as UTF-16 code units. */
	static const uint16_t name[] = { 'Q', '3', ' ', 'r', 0xe9, 's', 'u', 'm', 0xe9, '.', 'x',
					 'l', 's', 'x' };
	static const size_t pieces[] = { 100, 200, 300, 150 };
	struct pcapgen *g = open_capture(dir, "msn_group.pcap");
	struct pcapgen_send how = { .split = pieces, .n_split = 4 };
	struct bytebuf slp, ctx, cam;
	struct pcapgen_tcp t;

	bytebuf_init(&slp);
	bytebuf_init(&ctx);
	bytebuf_init(&cam);
	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40705, SB_IP, 8080, NULL));
	check(pcapgen_tcp_handshake(&t));
	send_str(&t, C2S, "ANS 1 alice@example.com;{11111111-2222-3333-4444-555555555555} 849102291.520491113 11752013\r\n");
	send_str(&t, S2C, "IRO 1 1 2 bob@example.com;{AAAAAAAA-0000-0000-0000-000000000001} Bob 2789003324\r\n"
			  "IRO 1 2 2 carol@example.com Carol%20C 1342177312\r\nANS 1 OK\r\n");
	send_msg(&t, S2C, "MSG bob@example.com Bob", TYPING("bob@example.com"));
	send_msg(&t, S2C, "MSG bob@example.com Bob", TEXT_HEAD "Welcome to the team chat");
	send_msg(&t, C2S, "MSG 2 U", TYPING("alice@example.com"));
	send_msg(&t, C2S, "MSG 3 A", TEXT_HEAD "Thanks! Gr\xc3\xbc\xc3\x9f" "e to both of you");
	send_msg(&t, S2C, "MSG carol@example.com Carol%20C", TEXT_HEAD "hi alice\r\nsecond line");
	send_str(&t, S2C, "ACK 3\r\n");
	/* A file offer the pre-P2P way. */
	send_msg(&t, S2C, "MSG carol@example.com Carol%20C",
		 "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n"
		 "Application-Name: File Transfer\r\n"
		 "Application-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}\r\n"
		 "Invitation-Command: INVITE\r\nInvitation-Cookie: 5402\r\n"
		 "Application-File: agenda.txt\r\nApplication-FileSize: 2048\r\n"
		 "Connectivity: N\r\n\r\n");
	/* Our P2P file offer to Bob: two chunks, each cut over several segments. */
	file_context(&ctx, name, sizeof(name) / sizeof(name[0]), 73728);
	slp_invite(&slp, "bob@example.com", "alice@example.com",
		   "{5D3E02AB-6190-11D3-BBBB-00C04F795683}", 2, &ctx);
	send_p2p(&t, C2S, "MSG 4 D", "bob@example.com", &slp, 0, 1202, &how);
	send_p2p(&t, C2S, "MSG 5 D", "bob@example.com", &slp, 1202, slp.len - 1202, &how);
	/* Bob invites us to see his webcam. */
	bytebuf_clear(&ctx);
	if (!bytebuf_append_str(&ctx, "ewBCADgAQgA1ADMAMAAwADEAfQA="))
		oom();
	slp_invite(&cam, "alice@example.com", "bob@example.com",
		   "{4BD96FC0-AB17-4425-A14A-439185962DC8}", 4, &ctx);
	send_p2p(&t, S2C, "MSG bob@example.com Bob", "alice@example.com", &cam, 0, cam.len, NULL);
	send_str(&t, S2C, "BYE carol@example.com\r\n");
	send_msg(&t, S2C, "MSG bob@example.com;{AAAAAAAA-0000-0000-0000-000000000001} Bob",
		 TEXT_HEAD "carol had to go");
	send_str(&t, S2C, "JOI dave@example.com Dave 1342177280\r\n");
	send_msg(&t, S2C, "MSG dave@example.com Dave", TEXT_HEAD "what did I miss?");
	send_str(&t, C2S, "OUT\r\n");
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
	bytebuf_free(&slp);
	bytebuf_free(&ctx);
	bytebuf_free(&cam);
}

static void gen_midstream(const char *dir)
{
	static const char tail[] = "CS=0; PF=0\r\n\r\nthe end of a message we missed";
	struct pcapgen *g = open_capture(dir, "msn_midstream.pcap");
	struct pcapgen_tcp t;

	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40706, SB_IP, 1863, NULL));
	check(pcapgen_tcp_send(&t, S2C, tail, strlen(tail), NULL));
	send_msg(&t, S2C, "MSG bob@example.com Bob", TEXT_HEAD "are you still there?");
	send_msg(&t, C2S, "MSG 12 N", TEXT_HEAD "yes, sorry");
	send_str(&t, C2S, "OUT\r\n");
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	gen_ns(argv[1]);
	gen_group(argv[1]);
	gen_midstream(argv[1]);
	if (failures) {
		fprintf(stderr, "gen_msn: %d step(s) failed\n", failures);
		return 1;
	}
	return 0;
}
