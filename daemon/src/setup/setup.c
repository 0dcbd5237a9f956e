/* `imwire setup`: options, the bridge check, and the choice of backend. */
#include "setup/setup.h"

#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

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
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		lo = strtoul(tok, &end, 10);
		hi = lo;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (*end || lo == 0 || hi > 65535 || hi < lo) {
			snprintf(err, err_size, "ports: bad port or range \"%s\"", tok);
			free(copy);
			return false;
		}
		for (p = lo; p <= hi; p++) {
			if (o->n_ports == SETUP_MAX_PORTS) {
				snprintf(err, err_size, "ports: at most %d ports", SETUP_MAX_PORTS);
				free(copy);
				return false;
			}
			o->ports[o->n_ports++] = (uint16_t)p;
		}
	}
	free(copy);
	if (!o->n_ports) {
		snprintf(err, err_size, "ports: no port given");
		return false;
	}
	return true;
}

static const char *const backend_names[] = {
	[SETUP_BACKEND_AUTO] = "auto",
	[SETUP_BACKEND_IPTABLES] = "iptables",
	[SETUP_BACKEND_NFTABLES] = "nftables",
};

bool setup_parse_backend(const char *text, enum setup_backend *out)
{
	size_t i;

	for (i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
		if (strcmp(text, backend_names[i]) == 0) {
			*out = (enum setup_backend)i;
			return true;
		}
	}
	return false;
}

const char *setup_backend_name(enum setup_backend b)
{
	return backend_names[b];
}

int setup_install(const struct setup_options *o, FILE *log, FILE *note, char *err,
		  size_t err_size)
{
	enum setup_backend b = o->backend;
	char why[160] = "";

	if (b == SETUP_BACKEND_AUTO)
		b = setup_nft_queue_works(why, sizeof(why)) ? SETUP_BACKEND_NFTABLES
							      : SETUP_BACKEND_IPTABLES;
	else if (b == SETUP_BACKEND_NFTABLES && !setup_nft_queue_works(why, sizeof(why))) {
		if (!o->dry_run) {
			snprintf(err, err_size, "nftables backend: %s", why);
			return -1;
		}
		/* what it would be, for a host that has it */
		fprintf(note, "imwire: setup: nftables backend, dry run only: %s\n", why);
		return setup_nft_install(o, log);
	}
	if (b == SETUP_BACKEND_NFTABLES) {
		fprintf(note, "imwire: setup: nftables backend: table inet " SETUP_NFT_TABLE_PREFIX
			      "%s (nft queue works here)\n", o->bridge);
		if (setup_nft_install(o, log) < 0) {
			snprintf(err, err_size, "nft could not install the table");
			return -1;
		}
		return 0;
	}
	fprintf(note, "imwire: setup: iptables backend%s%s%s\n", why[0] ? " (nftables: " : "", why,
		why[0] ? ")" : "");
	if (setup_iptables_install(o, log) < 0) {
		snprintf(err, err_size, "an iptables command failed");
		return -1;
	}
	return 0;
}

int setup_remove(const char *bridge, bool dry_run, FILE *log)
{
	int rc = 0;

	if (setup_iptables_remove(bridge, dry_run, log) < 0)
		rc = -1;
	if (setup_nft_remove(bridge, dry_run, log) < 0)
		rc = -1;
	return rc;
}
