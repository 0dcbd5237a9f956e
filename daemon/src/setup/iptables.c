/* The iptables backend: for IPv4 and IPv6, a `raw PREROUTING` rule that
 * exempts the steered flows from conntrack and a `filter FORWARD` rule
 * that queues them, each with the comment "imwire". */
#include <stdlib.h>
#include <string.h>

#include "imwire/marks.h"
#include "setup/setup.h"
#include "setup/setup_internal.h"

#define MAX_ARGS 40

static const char *const tools[] = { "iptables", "ip6tables" };

struct rule {
	const char *table;
	const char *chain;
	char *spec[MAX_ARGS]; /* after the chain, NULL-terminated */
};

/* Build `tool -w -t table OP chain spec...` in argv. */
static void command(char **argv, const char *tool, const struct rule *r, const char *op)
{
	int n = 0, i;

	argv[n++] = (char *)tool;
	argv[n++] = "-w";
	argv[n++] = "-t";
	argv[n++] = (char *)r->table;
	argv[n++] = (char *)op;
	argv[n++] = (char *)r->chain;
	for (i = 0; r->spec[i] && n < MAX_ARGS + 7; i++)
		argv[n++] = r->spec[i];
	argv[n] = NULL;
}

int setup_iptables_install(const struct setup_options *o, FILE *log)
{
	char ports[SETUP_MAX_PORTS * 6 + 1] = "", queue[32];
	char *argv[MAX_ARGS + 8];
	size_t i, t;
	int rc = 0, k;

	for (i = 0; i < o->n_ports; i++)
		snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), "%s%u", i ? "," : "",
			 o->ports[i]);
	if (o->queue_first == o->queue_last)
		snprintf(queue, sizeof(queue), "%u", o->queue_first);
	else
		snprintf(queue, sizeof(queue), "%u:%u", o->queue_first, o->queue_last);

	struct rule rules[2] = {
		{ "raw", "PREROUTING",
		  { "-i", (char *)o->bridge, "-p", "tcp", "-m", "multiport", "--ports", ports, "-m",
		    "comment", "--comment", SETUP_COMMENT, "-j", "CT", "--notrack", NULL } },
		{ "filter", "FORWARD",
		  { "-i", (char *)o->bridge, "-o", (char *)o->bridge, "-p", "tcp", "-m", "multiport",
		    "--ports", ports, "-m", "comment", "--comment", SETUP_COMMENT, "-j", "NFQUEUE",
		    o->queue_first == o->queue_last ? "--queue-num" : "--queue-balance", queue,
		    "--queue-bypass", NULL } },
	};

	struct rule by_mark[2] = {
		{ "raw", "PREROUTING",
		  { "-i", (char *)o->bridge, "-p", "tcp", "-m", "mark", "--mark",
		    IMW_MARK_STEER_MATCH, "-m", "comment", "--comment", SETUP_COMMENT, "-j", "CT",
		    "--notrack", NULL } },
		{ "filter", "FORWARD",
		  { "-i", (char *)o->bridge, "-o", (char *)o->bridge, "-p", "tcp", "-m", "mark",
		    "--mark", IMW_MARK_STEER_MATCH, "-m", "comment", "--comment", SETUP_COMMENT,
		    "-j", "NFQUEUE",
		    o->queue_first == o->queue_last ? "--queue-num" : "--queue-balance", queue,
		    "--queue-bypass", NULL } },
	};

	if (o->by_mark)
		memcpy(rules, by_mark, sizeof(rules));
	for (t = 0; t < 2; t++) {
		for (k = 0; k < 2; k++) {
			command(argv, tools[t], &rules[k], "-C");
			if (!o->dry_run && setup_run(argv, NULL, 0, true) == 0)
				continue; /* already there */
			command(argv, tools[t], &rules[k], "-A");
			setup_print_cmd(log, argv);
			if (!o->dry_run && setup_run(argv, NULL, 0, false) != 0)
				rc = -1;
		}
	}
	return rc;
}

/* True when an `iptables -S` line is ours, and of bridge when given. */
static bool ours(const char *line, const char *bridge)
{
	char in[64];

	if (strncmp(line, "-A ", 3) != 0 || !strstr(line, "--comment " SETUP_COMMENT))
		return false;
	if (!bridge)
		return true;
	snprintf(in, sizeof(in), " -i %s ", bridge);
	return strstr(line, in) != NULL;
}

/* Delete every rule of table/chain that is ours. */
static int remove_from(const char *tool, const char *table, const char *chain, const char *bridge,
		       bool dry_run, FILE *log)
{
	char *argv[MAX_ARGS + 8], *list, *line, *next, *tok, *save;
	char *show[] = { (char *)tool, "-w", "-t", (char *)table, "-S", (char *)chain, NULL };
	int rc = 0, n;

	if (setup_run_capture(show, &list) != 0) {
		free(list);
		return 0; /* no such table here (ip6tables without IPv6): nothing of ours */
	}
	for (line = list; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!ours(line, bridge))
			continue;
		n = 0;
		argv[n++] = (char *)tool;
		argv[n++] = "-w";
		argv[n++] = "-t";
		argv[n++] = (char *)table;
		argv[n++] = "-D";
		save = NULL;
		strtok_r(line, " ", &save); /* "-A" */
		for (tok = strtok_r(NULL, " ", &save); tok && n < MAX_ARGS + 6;
		     tok = strtok_r(NULL, " ", &save))
			argv[n++] = tok;
		argv[n] = NULL;
		setup_print_cmd(log, argv);
		if (!dry_run && setup_run(argv, NULL, 0, false) != 0)
			rc = -1;
	}
	free(list);
	return rc;
}

int setup_iptables_remove(const char *bridge, bool dry_run, FILE *log)
{
	int rc = 0;
	size_t t;

	for (t = 0; t < 2; t++) {
		if (!setup_have_tool(tools[t]))
			continue;
		if (remove_from(tools[t], "filter", "FORWARD", bridge, dry_run, log) < 0)
			rc = -1;
		if (remove_from(tools[t], "raw", "PREROUTING", bridge, dry_run, log) < 0)
			rc = -1;
	}
	return rc;
}
