/* The operation keys and per-instance paths: bridge=, queues=,
 * classifier=, firewall_backend=, the key list the manual is checked
 * against, and the run-time paths of an instance. */
#include <string.h>

#include "config/config.h"
#include "stats/stats_file.h"
#include "testlib.h"

static int parse(struct imw_config *cfg, const char *text, char *err, size_t n)
{
	config_init(cfg);
	return config_parse(cfg, "op.conf", text, strlen(text), err, n, NULL);
}

static void test_operation_keys(void)
{
	struct imw_config cfg;
	char err[256];

	CHECK_INT_EQ(parse(&cfg,
			   "bridge=br0\nqueues=2-5\nclassifier=on\nsteer_ports=6667,5222\n"
			   "firewall_backend=nftables\nbpf_pin_dir=/sys/fs/bpf/imwire-br0\n",
			   err, sizeof(err)),
		     0);
	CHECK_STR_EQ(config_get(&cfg, "bridge"), "br0");
	config_free(&cfg);
	CHECK_INT_EQ(parse(&cfg, "firewall_backend=pf\n", err, sizeof(err)), -1);
	CHECK(strstr(err, "op.conf:1: firewall_backend: expected one of auto|iptables|nftables"));
	config_free(&cfg);
	CHECK_INT_EQ(parse(&cfg, "classifier=maybe\n", err, sizeof(err)), -1);
	config_free(&cfg);
	CHECK_INT_EQ(parse(&cfg, "queues=3-1\n", err, sizeof(err)), -1);
	CHECK(strstr(err, "op.conf:1: queues: expected N or N-M"));
	config_free(&cfg);
}

static void test_queue_ranges(void)
{
	unsigned a = 99, z = 99;

	CHECK(config_parse_queues("0", &a, &z) && a == 0 && z == 0);
	CHECK(config_parse_queues("4-7", &a, &z) && a == 4 && z == 7);
	CHECK(config_parse_queues("0-63", &a, &z));
	CHECK(!config_parse_queues("0-64", &a, &z)); /* 65 queues */
	CHECK(!config_parse_queues("", &a, &z));
	CHECK(!config_parse_queues("-1", &a, &z));
	CHECK(!config_parse_queues("1-", &a, &z));
	CHECK(!config_parse_queues("1-x", &a, &z));
	CHECK(!config_parse_queues("65536", &a, &z));
	CHECK(!config_parse_queues(" 1", &a, &z));
}

static void test_key_list(void)
{
	const char *k;
	size_t i;
	bool bridge = false, bot = false, user = false;
	struct imw_config cfg;
	char err[256], line[128];

	for (i = 0; (k = config_key_name(i)); i++) {
		bridge |= strcmp(k, "bridge") == 0;
		bot |= strcmp(k, "bot_NAME") == 0;
		user |= strcmp(k, "user") == 0;
		/* every listed key is one the parser takes */
		snprintf(line, sizeof(line), "%s=%s\n", k,
			 strcmp(k, "queues") == 0 ? "1" : strcmp(k, "local_nets") == 0 ? "10.0.0.0/8" :
			 strcmp(k, "firewall_backend") == 0 ? "auto" : strcmp(k, "badwords_replace_character") == 0 ? "*" : "1");
		/* another value may be wanted (a choice, a list): never "unknown key" */
		if (parse(&cfg, line, err, sizeof(err)) < 0)
			CHECK(strstr(err, "unknown key") == NULL);
		config_free(&cfg);
	}
	CHECK(i > 60);
	CHECK(bridge && bot && user);
}

static void test_instance_paths(void)
{
	struct imw_config cfg;
	char inst[64], path[256], err[256];

	config_instance("/etc/imwire/imwire.conf", inst, sizeof(inst));
	CHECK_STR_EQ(inst, "imwire");
	config_instance("/etc/imwire/br1.conf", inst, sizeof(inst));
	CHECK_STR_EQ(inst, "br1");
	config_instance("plain", inst, sizeof(inst));
	CHECK_STR_EQ(inst, "plain");
	config_instance(NULL, inst, sizeof(inst));
	CHECK_STR_EQ(inst, "imwire");

	config_init(&cfg); /* no file: the default instance */
	stats_path_of(&cfg, path, sizeof(path));
	CHECK_STR_EQ(path, "/run/imwire/stats.json");
	cfg.path = strdup("/etc/imwire/imwire.conf");
	stats_path_of(&cfg, path, sizeof(path));
	CHECK_STR_EQ(path, "/run/imwire/stats.json");
	config_free(&cfg);
	config_init(&cfg);
	cfg.path = strdup("/etc/imwire/br1.conf");
	stats_path_of(&cfg, path, sizeof(path));
	CHECK_STR_EQ(path, "/run/imwire/br1.stats.json");
	config_free(&cfg);
	CHECK_INT_EQ(parse(&cfg, "stats_file=/tmp/x.json\n", err, sizeof(err)), 0);
	stats_path_of(&cfg, path, sizeof(path));
	CHECK_STR_EQ(path, "/tmp/x.json");
	config_free(&cfg);
}

int main(void)
{
	RUN_TEST(test_operation_keys);
	RUN_TEST(test_queue_ranges);
	RUN_TEST(test_key_list);
	RUN_TEST(test_instance_paths);
	TEST_MAIN_END();
}
