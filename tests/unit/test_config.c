/* Configuration parsing: IMSpector's keys and values, clear errors. */
#include <string.h>

#include "config/config.h"
#include "config/config_flow.h"
#include "testlib.h"

static int warnings;

static void count_warning(const char *msg)
{
	(void)msg;
	warnings++;
}

static int parse(struct imw_config *cfg, const char *text, char *err, size_t n)
{
	config_init(cfg);
	return config_parse(cfg, "test.conf", text, strlen(text), err, n, count_warning);
}

static void test_imspector_example_config(void)
{
	/* The settings IMSpector's README shows, unchanged. */
	const char *text = "port=16667\n"
			   "plugin_dir=/usr/lib/imspector\n"
			   "user=imspector\n"
			   "group=imspector\n"
			   "pidfilename=/var/run/imspector.pid\n"
			   "icq_protocol=on\n"
			   "irc_protocol=on\n"
			   "msn_protocol=on\n"
			   "yahoo_protocol=on\n"
			   "gg_protocol=on\n"
			   "log_typing_events=on\n"
			   "file_logging_dir=/var/log/imspector\n"
			   "pgsql_connect=host=localhost dbname=imspector user=dbuser password=Password\n"
			   "# comment\n"
			   "\n"
			   "badwords_filename=/etc/imspector/badwords.txt\n"
			   "badwords_replace_character=*\n"
			   "badwords_block_count=3\n"
			   "whitelist_filename=/path/to/file\n"
			   "blacklist_filename=/path/to/file\n"
			   "block_unlisted=on\n"
			   "block_files=on\n"
			   "block_webcams=on\n";
	struct imw_config cfg;
	struct flow_config fc;
	char err[256] = "";

	warnings = 0;
	CHECK_INT_EQ(parse(&cfg, text, err, sizeof(err)), 0);
	CHECK_STR_EQ(err, "");
	CHECK_INT_EQ(warnings, 2); /* port and plugin_dir mean nothing inline */
	CHECK_STR_EQ(config_get(&cfg, "pgsql_connect"),
		     "host=localhost dbname=imspector user=dbuser password=Password");
	CHECK_STR_EQ(config_get(&cfg, "file_logging_dir"), "/var/log/imspector");
	flow_config_defaults(&fc);
	config_apply_flow(&cfg, &fc);
	CHECK(fc.app.enabled[IMW_PROTO_IRC]);
	CHECK(fc.app.enabled[IMW_PROTO_OSCAR]);
	CHECK(!fc.app.enabled[IMW_PROTO_XMPP]); /* jabber_protocol not switched on */
	CHECK(!fc.app.enabled[IMW_PROTO_IMIP]);
	CHECK(fc.app.log_typing);
	config_free(&cfg);
}

static void test_errors_name_file_line_key(void)
{
	struct imw_config cfg;
	char err[256];

	CHECK_INT_EQ(parse(&cfg, "irc_protocol=on\nfoo_bar=1\n", err, sizeof(err)), -1);
	CHECK_STR_EQ(err, "test.conf:2: foo_bar: unknown key");
	config_free(&cfg);
	CHECK_INT_EQ(parse(&cfg, "\n\nirc_protocol=maybe\n", err, sizeof(err)), -1);
	CHECK_STR_EQ(err, "test.conf:3: irc_protocol: expected on or off, got \"maybe\"");
	config_free(&cfg);
	CHECK_INT_EQ(parse(&cfg, "badwords_replace_character=**\n", err, sizeof(err)), -1);
	CHECK(strstr(err, "test.conf:1: badwords_replace_character:") == err);
	config_free(&cfg);
	CHECK_INT_EQ(parse(&cfg, "badwords_block_count=-1\n", err, sizeof(err)), -1);
	CHECK(strstr(err, "badwords_block_count") != NULL);
	config_free(&cfg);
	CHECK_INT_EQ(parse(&cfg, "just words\n", err, sizeof(err)), -1);
	CHECK_STR_EQ(err, "test.conf:1: expected key=value, got \"just words\"");
	config_free(&cfg);
	CHECK_INT_EQ(parse(&cfg, "local_nets=10.0.0.0/8, 300.1.1.1/8\n", err, sizeof(err)), -1);
	CHECK(strstr(err, "test.conf:1: local_nets:") == err);
	config_free(&cfg);
}

static void test_local_nets_and_defaults(void)
{
	struct imw_config cfg;
	struct flow_config fc;
	char err[256];

	CHECK_INT_EQ(parse(&cfg, "local_nets = 192.168.0.0/16, fd00::/8\r\n", err, sizeof(err)), 0);
	CHECK_INT_EQ(cfg.n_local_nets, 2);
	flow_config_defaults(&fc);
	config_apply_flow(&cfg, &fc);
	CHECK_INT_EQ(fc.n_local_nets, 2);
	/* No <proto>_protocol key: every protocol stays on. */
	CHECK(fc.app.enabled[IMW_PROTO_XMPP]);
	/* IMSpector's default: no typing events unless asked for. */
	CHECK(!fc.app.log_typing);
	config_free(&cfg);
}

int main(void)
{
	RUN_TEST(test_imspector_example_config);
	RUN_TEST(test_errors_name_file_line_key);
	RUN_TEST(test_local_nets_and_defaults);
	TEST_MAIN_END();
}
