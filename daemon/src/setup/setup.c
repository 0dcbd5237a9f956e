#include "setup/setup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imwire/marks.h"
#include "proto/proto.h"

#define MAX_ARGS 40

static const char *const tools[] = { "iptables", "ip6tables" };

void setup_default_ports(struct setup_options *o)
{
	size_t n, i, j, k;
	const struct proto_module *const *mods = proto_modules(&n);

	o->n_ports = 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < mods[i]->info->n_ports; j++) {
			uint16_t p = mods[i]->info->ports[j];
			bool dup = false;

			/* 443 carries HTTPS far more often than AIM: opt-in only. */
			if (p == 443)
				continue;
			for (k = 0; k < o->n_ports; k++)
				dup |= o->ports[k] == p;
			if (!dup && o->n_ports < SETUP_MAX_PORTS)
				o->ports[o->n_ports++] = p;
		}
	}
}

bool setup_parse_ports(struct setup_options *o, const char *text, char *err, size_t err_size)
{
	char *copy = strdup(text), *tok, *save = NULL, *end;
	unsigned long lo, hi, p;

	if (!copy) {
		snprintf(err, err_size, "out of memory");
		return false;
	}
	o->n_ports = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		lo = strtoul(tok, &end, 10);
		hi = lo;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (*end || lo == 0 || hi > 65535 || hi < lo) {
			snprintf(err, err_size, "--ports: bad port or range \"%s\"", tok);
			free(copy);
			return false;
		}
		for (p = lo; p <= hi; p++) {
			if (o->n_ports == SETUP_MAX_PORTS) {
				snprintf(err, err_size, "--ports: at most %d ports", SETUP_MAX_PORTS);
				free(copy);
				return false;
			}
			o->ports[o->n_ports++] = (uint16_t)p;
		}
	}
	free(copy);
	if (!o->n_ports) {
		snprintf(err, err_size, "--ports: no port given");
		return false;
	}
	return true;
}

static void print_cmd(FILE *log, char *const argv[])
{
	int i;

	for (i = 0; argv[i]; i++)
		fprintf(log, "%s%s", i ? " " : "", argv[i]);
	fputc('\n', log);
}

/* Run argv quietly; returns the exit status (or -1). */
static int run(char *const argv[], bool quiet)
{
	pid_t pid;
	int status;

	fflush(NULL); /* the child must not repeat our buffered output */
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (quiet) {
			freopen("/dev/null", "w", stdout);
			freopen("/dev/null", "w", stderr);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct rule {
	const char *table;
	const char *chain;
	char *spec[MAX_ARGS]; /* after the chain, NULL-terminated */
};

/* Build `tool -t table OP chain spec...` in argv. */
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

int setup_install(const struct setup_options *o, FILE *log)
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
			if (!o->dry_run && run(argv, true) == 0)
				continue; /* already there */
			command(argv, tools[t], &rules[k], "-A");
			print_cmd(log, argv);
			if (!o->dry_run && run(argv, false) != 0)
				rc = -1;
		}
	}
	return rc;
}

/* Delete every rule of table/chain whose `-S` line carries our comment. */
static int remove_from(const char *tool, const char *table, const char *chain, bool dry_run,
		       FILE *log)
{
	char cmd[256], line[2048], *argv[MAX_ARGS + 8], *tok, *save;
	FILE *p;
	int rc = 0, n;

	snprintf(cmd, sizeof(cmd), "%s -w -t %s -S %s 2>/dev/null", tool, table, chain);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		if (!strstr(line, "--comment " SETUP_COMMENT) || strncmp(line, "-A ", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
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
		print_cmd(log, argv);
		if (!dry_run && run(argv, false) != 0)
			rc = -1;
	}
	pclose(p);
	return rc;
}

int setup_remove(bool dry_run, FILE *log)
{
	int rc = 0;
	size_t t;

	for (t = 0; t < 2; t++) {
		if (remove_from(tools[t], "filter", "FORWARD", dry_run, log) < 0)
			rc = -1;
		if (remove_from(tools[t], "raw", "PREROUTING", dry_run, log) < 0)
			rc = -1;
	}
	return rc;
}
