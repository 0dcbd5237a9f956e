/* The protocol table (include/imwire/protocols.h) and what the daemon
 * generates from it: every built-in module against its row (detection
 * order, id, name, IMSpector directory, config key, ports), the names
 * events and protocol lists use, the configuration switches, the default
 * steering ports, and the start-up check of each module's callbacks. The
 * expected rows below are written out by hand, not expanded from the
 * table, so a change to the table shows up here. */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "config/config.h"
#include "event/event.h"
#include "proto/irc/irc.h"
#include "proto/msn/msn.h"
#include "proto/oscar/oscar.h"
#include "proto/proto.h"
#include "setup/setup.h"
#include "testlib.h"

struct row {
	enum imw_proto id;
	const char *name, *imspector, *config_key, *also;
	uint16_t ports[5];
	size_t n_ports;
};

/* In detection order. */
static const struct row rows[] = {
	{ IMW_PROTO_TOC, "toc", "ICQ-AIM", "toc_protocol", "", { 9898, 5190 }, 2 },
	{ IMW_PROTO_OSCAR, "oscar", "ICQ-AIM", "icq_protocol", "aim", { 5190 }, 1 },
	{ IMW_PROTO_YMSG, "ymsg", "Yahoo", "yahoo_protocol", "", { 5050 }, 1 },
	{ IMW_PROTO_IMIP, "imip", "IMIP", "imip_protocol", "", { 11319 }, 1 },
	{ IMW_PROTO_XMPP, "xmpp", "Jabber", "jabber_protocol", "", { 5222, 5269 }, 2 },
	{ IMW_PROTO_GG, "gg", "GG", "gg_protocol", "", { 8074 }, 1 },
	{ IMW_PROTO_MSN, "msn", "MSN", "msn_protocol", "", { 1863 }, 1 },
	{ IMW_PROTO_IRC, "irc", "IRC", "irc_protocol", "", { 6667, 6668, 6669, 6697, 7000 }, 5 },
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

static void test_ids_contract(void)
{
	/* The numbers are a pinned-map, mark and sysfs contract. */
	CHECK_INT_EQ(IMW_PROTO_NONE, 0);
	CHECK_INT_EQ(IMW_PROTO_IRC, 1);
	CHECK_INT_EQ(IMW_PROTO_IMIP, 2);
	CHECK_INT_EQ(IMW_PROTO_OSCAR, 3);
	CHECK_INT_EQ(IMW_PROTO_TOC, 4);
	CHECK_INT_EQ(IMW_PROTO_MSN, 5);
	CHECK_INT_EQ(IMW_PROTO_YMSG, 6);
	CHECK_INT_EQ(IMW_PROTO_XMPP, 7);
	CHECK_INT_EQ(IMW_PROTO_GG, 8);
	CHECK_INT_EQ(IMW_PROTO_MAX, 9);
}

static void test_registry_check_passes(void)
{
	char err[256] = "";

	CHECK_INT_EQ(proto_registry_check(err, sizeof(err)), 0);
	CHECK_STR_EQ(err, "");
}

static void test_modules_match_rows(void)
{
	size_t n, i, j;
	const struct proto_module *const *mods = proto_modules(&n);
	char err[256];

	CHECK_INT_EQ(n, N_ROWS);
	for (i = 0; i < n && i < N_ROWS; i++) {
		const struct proto_module *m = mods[i];
		const struct row *r = &rows[i];

		CHECK_INT_EQ(m->id, r->id); /* detection order */
		CHECK(m->info == &proto_infos[r->id]);
		CHECK(proto_module_by_id(r->id) == m);
		CHECK_INT_EQ(m->info->id, r->id);
		CHECK_STR_EQ(m->info->name, r->name);
		CHECK_STR_EQ(m->info->imspector, r->imspector);
		CHECK_STR_EQ(m->info->config_key, r->config_key);
		CHECK_STR_EQ(m->info->also, r->also);
		CHECK_INT_EQ(m->info->n_ports, r->n_ports);
		for (j = 0; j < r->n_ports && j < m->info->n_ports; j++)
			CHECK_INT_EQ(m->info->ports[j], r->ports[j]);
		CHECK_INT_EQ(proto_module_check(m, err, sizeof(err)), 0);
	}
}

/* The names events, sinks and protocol lists use come from the same rows. */
static void test_event_names(void)
{
	char cfg_name[32];
	size_t i;

	for (i = 0; i < N_ROWS; i++) {
		const struct row *r = &rows[i];

		CHECK_STR_EQ(event_proto_name(r->id), r->name);
		CHECK_STR_EQ(event_proto_imspector_name(r->id), r->imspector);
		CHECK_INT_EQ(event_proto_from_name(r->name), r->id);
		snprintf(cfg_name, sizeof(cfg_name), "%.*s", (int)(strlen(r->config_key) - 9),
			 r->config_key);
		CHECK_INT_EQ(event_proto_from_name(cfg_name), r->id);
		if (r->also[0])
			CHECK_INT_EQ(event_proto_from_name(r->also), r->id);
	}
	CHECK_STR_EQ(event_proto_name(IMW_PROTO_NONE), "none");
	CHECK_INT_EQ(event_proto_from_name("none"), IMW_PROTO_NONE);
	CHECK_INT_EQ(event_proto_from_name(""), IMW_PROTO_NONE);
	CHECK_INT_EQ(event_proto_from_name("IRC"), IMW_PROTO_NONE);
}

/* "<cfg>_protocol=on" switches on exactly its row's protocol. */
static void test_config_keys(void)
{
	struct imw_config cfg;
	char text[64], err[256];
	size_t i;
	int p;

	for (i = 0; i < N_ROWS; i++) {
		snprintf(text, sizeof(text), "%s=on\n", rows[i].config_key);
		config_init(&cfg);
		CHECK_INT_EQ(config_parse(&cfg, "t.conf", text, strlen(text), err, sizeof(err), NULL),
			     0);
		CHECK(cfg.protocol_listed);
		for (p = 1; p < IMW_PROTO_MAX; p++)
			CHECK_INT_EQ(cfg.protocol_on[p], p == (int)rows[i].id);
		config_free(&cfg);
	}
}

/* `imwire setup`'s default ports: every row's, in detection order, each
 * once. */
static void test_setup_default_ports(void)
{
	static const uint16_t want[] = { 9898, 5190, 5050, 11319, 5222, 5269, 8074,
					 1863, 6667, 6668, 6669, 6697, 7000 };
	struct setup_options o;
	size_t i;

	memset(&o, 0, sizeof(o));
	setup_default_ports(&o);
	CHECK_INT_EQ(o.n_ports, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < o.n_ports && i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_INT_EQ(o.ports[i], want[i]);
}

/* A module copy with one thing wrong is refused, with a message that
 * names the module and the callbacks. */
static void check_refused(const struct proto_module *m, const char *want)
{
	char err[256] = "";

	CHECK_INT_EQ(proto_module_check(m, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fprintf(stderr, "  got \"%s\", want \"%s\"\n", err, want);
	CHECK(strstr(err, want) != NULL);
}

static bool irc_fixup_never(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len)
{
	(void)s;
	(void)dir;
	(void)pdu;
	(void)len;
	return false;
}

static void test_callback_pairs_refused(void)
{
	struct proto_module m;
	struct proto_info other;
	char err[256];

	/* MSN's state is made by session_init (IRC's lives in the session). */
	m = proto_msn;
	m.session_free = NULL;
	check_refused(&m, "module msn: session_init without session_free");
	m = proto_msn;
	m.session_init = NULL;
	check_refused(&m, "module msn: session_free without session_init");
	m = proto_oscar;
	m.fixup_pdu = NULL;
	check_refused(&m, "module oscar: pdu_count_changed without fixup_pdu");
	m = proto_irc;
	m.encode = NULL;
	check_refused(&m, "module irc: local_receipt without encode");
	m = proto_irc;
	m.resync = NULL;
	check_refused(&m, "module irc: detect, frame, decode and resync are all required");
	m = proto_irc;
	m.max_pdu = 0;
	check_refused(&m, "module irc: max_pdu is 0");
	m = proto_irc;
	m.id = IMW_PROTO_XMPP;
	check_refused(&m, "module irc: id does not match its info");
	m = proto_irc;
	m.info = NULL;
	check_refused(&m, "module (unnamed): no identity");
	other = proto_infos[IMW_PROTO_IRC];
	other.ports = NULL;
	m = proto_irc;
	m.info = &other;
	check_refused(&m, "module irc: n_ports without ports");
	/* Optional callbacks alone are fine where they make sense alone. */
	m = proto_irc;
	m.local_receipt = NULL;
	m.partial_may_edit = NULL;
	m.fixup_pdu = irc_fixup_never;
	CHECK_INT_EQ(proto_module_check(&m, err, sizeof(err)), 0);
}

/* Registration through the app layer checks too, and a refusal leaves
 * the configuration as it was. */
static void test_app_registration_checks(void)
{
	struct app_config cfg;
	struct proto_module bad = proto_msn;
	const struct proto_module *good_list[] = { &proto_irc };
	const struct proto_module *bad_list[] = { &proto_oscar, &bad };
	const struct proto_module *const *before;
	char err[256] = "";
	size_t n;

	app_config_defaults(&cfg);
	before = proto_modules(&n);
	CHECK(cfg.modules == before);
	CHECK_INT_EQ(cfg.n_modules, n);
	bad.session_init = NULL;
	CHECK_INT_EQ(app_config_set_modules(&cfg, bad_list, 2, err, sizeof(err)), -1);
	CHECK_STR_EQ(err, "module msn: session_free without session_init");
	CHECK(cfg.modules == before);
	CHECK_INT_EQ(cfg.n_modules, n);
	CHECK_INT_EQ(app_config_set_modules(&cfg, good_list, 0, err, sizeof(err)), -1);
	CHECK_INT_EQ(app_config_set_modules(&cfg, good_list, 1, err, sizeof(err)), 0);
	CHECK(cfg.modules == good_list);
	CHECK_INT_EQ(cfg.n_modules, 1);
	/* Port hints follow the registered modules. */
	CHECK(app_server_port(&cfg, 6667));
	CHECK(!app_server_port(&cfg, 5222));
}

int main(void)
{
	RUN_TEST(test_ids_contract);
	RUN_TEST(test_registry_check_passes);
	RUN_TEST(test_modules_match_rows);
	RUN_TEST(test_event_names);
	RUN_TEST(test_config_keys);
	RUN_TEST(test_setup_default_ports);
	RUN_TEST(test_callback_pairs_refused);
	RUN_TEST(test_app_registration_checks);
	TEST_MAIN_END();
}
