/* The nftables backend: one table per bridge, "inet imwire_BRIDGE", with
 * a raw-priority prerouting chain that exempts the steered flows from
 * conntrack and a forward chain that queues them. The table is replaced
 * whole in one transaction, so installing twice changes nothing and a
 * failed install leaves what was there. Needs the kernel's nft queue
 * expression (CONFIG_NFT_QUEUE); setup_nft_queue_works() tells. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imwire/marks.h"
#include "setup/setup.h"
#include "setup/setup_internal.h"

#define TABLE_MAX 64

/* "imwire_" and the bridge name with anything but [A-Za-z0-9_] as '_'. */
static void table_name(const char *bridge, char *out, size_t size)
{
	size_t n, i;

	n = (size_t)snprintf(out, size, SETUP_NFT_TABLE_PREFIX "%s", bridge);
	if (n >= size)
		n = size - 1;
	for (i = strlen(SETUP_NFT_TABLE_PREFIX); i < n; i++) {
		char c = out[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			out[i] = '_';
	}
}

bool setup_nft_queue_works(char *why, size_t why_size)
{
	static const char probe[] = "add table inet imwire_probe\n"
				    "add chain inet imwire_probe c\n"
				    "add rule inet imwire_probe c queue num 0 bypass\n";
	char *argv[] = { "nft", "-c", "-f", "-", NULL };

	if (!setup_have_tool("nft")) {
		snprintf(why, why_size, "nft is not installed");
		return false;
	}
	/* -c: the kernel checks the batch and throws it away */
	if (setup_run(argv, probe, sizeof(probe) - 1, true) != 0) {
		snprintf(why, why_size,
			 "this kernel has no nft queue expression (CONFIG_NFT_QUEUE)");
		return false;
	}
	return true;
}

/* "{ 6667, 5222 }" */
static void port_set(const struct setup_options *o, char *out, size_t size)
{
	size_t i, len;

	len = (size_t)snprintf(out, size, "{ ");
	for (i = 0; i < o->n_ports && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%u", i ? ", " : "", o->ports[i]);
	if (len < size)
		snprintf(out + len, size - len, " }");
}

int setup_nft_write_script(const struct setup_options *o, FILE *out)
{
	char table[TABLE_MAX], ports[SETUP_MAX_PORTS * 8 + 8], queue[32], match[2][160];
	int i;

	table_name(o->bridge, table, sizeof(table));
	if (o->queue_first == o->queue_last)
		snprintf(queue, sizeof(queue), "%u", o->queue_first);
	else
		snprintf(queue, sizeof(queue), "%u-%u", o->queue_first, o->queue_last);
	if (o->by_mark) {
		snprintf(match[0], sizeof(match[0]), "meta l4proto tcp meta mark & 0x%08x == 0x%08x",
			 IMW_MARK_STEER, IMW_MARK_STEER);
		match[1][0] = '\0';
	} else {
		port_set(o, ports, sizeof(ports));
		snprintf(match[0], sizeof(match[0]), "tcp dport %s", ports);
		snprintf(match[1], sizeof(match[1]), "tcp sport %s", ports);
	}
	/* an empty table first, so that the delete never fails */
	fprintf(out, "add table inet %s\ndelete table inet %s\n", table, table);
	fprintf(out, "table inet %s {\n", table);
	fprintf(out, "\tcomment \"" SETUP_COMMENT ": steering for bridge %s\"\n", o->bridge);
	fprintf(out, "\tchain prerouting {\n"
		     "\t\ttype filter hook prerouting priority raw; policy accept;\n");
	for (i = 0; i < 2 && match[i][0]; i++)
		fprintf(out, "\t\tiifname \"%s\" %s notrack\n", o->bridge, match[i]);
	fprintf(out, "\t}\n\tchain forward {\n"
		     "\t\ttype filter hook forward priority filter; policy accept;\n");
	for (i = 0; i < 2 && match[i][0]; i++)
		fprintf(out, "\t\tiifname \"%s\" oifname \"%s\" %s queue num %s bypass\n", o->bridge,
			o->bridge, match[i], queue);
	fprintf(out, "\t}\n}\n");
	return ferror(out) ? -1 : 0;
}

int setup_nft_install(const struct setup_options *o, FILE *log)
{
	char *argv[] = { "nft", "-f", "-", NULL }, *script = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&script, &len);
	int rc;

	if (!mem)
		return -1;
	rc = setup_nft_write_script(o, mem);
	if (fclose(mem) != 0 || rc < 0) {
		free(script);
		return -1;
	}
	fputs(script, log);
	rc = o->dry_run ? 0 : setup_run(argv, script, len, false) == 0 ? 0 : -1;
	free(script);
	return rc;
}

static int delete_table(const char *table, bool dry_run, FILE *log)
{
	char *argv[] = { "nft", "delete", "table", "inet", (char *)table, NULL };

	setup_print_cmd(log, argv);
	return dry_run || setup_run(argv, NULL, 0, false) == 0 ? 0 : -1;
}

int setup_nft_remove(const char *bridge, bool dry_run, FILE *log)
{
	char *list_argv[] = { "nft", "list", "tables", NULL }, *list = NULL, *line, *next;
	char want[TABLE_MAX], name[TABLE_MAX];
	int rc = 0;

	if (!setup_have_tool("nft"))
		return 0;
	if (bridge)
		table_name(bridge, want, sizeof(want));
	if (setup_run_capture(list_argv, &list) != 0) {
		free(list);
		return 0; /* no nf_tables here: nothing of ours */
	}
	/* lines "table inet imwire_br0" */
	for (line = list; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "table inet %63s", name) != 1 ||
		    strncmp(name, SETUP_NFT_TABLE_PREFIX, strlen(SETUP_NFT_TABLE_PREFIX)) != 0 ||
		    (bridge && strcmp(name, want) != 0))
			continue;
		if (delete_table(name, dry_run, log) < 0)
			rc = -1;
	}
	free(list);
	return rc;
}
