/* The tc BPF classifier seen from userspace: load it (maps pinned in one
 * directory per instance), attach it at tc clsact ingress of interfaces,
 * detach it, switch protocols on and off by name, read the counters, and
 * hold the directory's liveness entry while the daemon lives. Map
 * layouts and the mark contract: include/imwire/bpf_maps.h and marks.h. */
#ifndef IMW_CLASSIFIER_H
#define IMW_CLASSIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "imwire/bpf_maps.h"

/* tc filter handle and priority of our filter on every interface */
#define CLASSIFIER_TC_HANDLE 0x1a5
#define CLASSIFIER_TC_PRIORITY 0x1a5

/* The pin directory, written to buf: `configured` (bpf_pin_dir=) when
 * set, else $IMWIRE_PIN_DIR, else IMW_PIN_ROOT/<inode of this process's
 * network namespace>, so that each bridge's daemon (one per namespace)
 * and the `imwire` commands run in that namespace find the same one.
 * Returns buf, or NULL when /proc cannot tell the namespace. */
const char *classifier_pin_dir(const char *configured, char *buf, size_t size);

/* Mount bpffs on /sys/fs/bpf when it is not there, and create pin_dir. */
int classifier_prepare_pins(const char *pin_dir, char *err, size_t err_size);

/* Load the program (reusing pinned maps, or creating them with every
 * protocol on and every module's well-known ports) and attach it at the
 * ingress of each interface. Returns 0, or -1 with err set. */
int classifier_attach(const char *pin_dir, char *const *ifnames, size_t n_ifnames, char *err,
		      size_t err_size);

/* Undo attach: remove our filter from each interface's ingress, then the
 * clsact qdisc when no filter is left on it (ingress or egress), then the
 * maps pinned under pin_dir (and pin_dir) once our program is attached
 * nowhere (in any network namespace). What was removed, and what was kept
 * and why, is said on note. Returns 0, or -1 with err set. */
int classifier_detach(const char *pin_dir, char *const *ifnames, size_t n_ifnames, FILE *note,
		      char *err, size_t err_size);

/* Flows whose sequence offsets the daemon published to the classifier:
 * connections that break if it goes (and no daemon takes over). -1 when
 * the maps are not pinned under pin_dir. */
long classifier_edited_flows(const char *pin_dir);

/* Protocol by name (irc, imip, oscar, toc, msn, ymsg, xmpp, gg) or id. */
int classifier_proto_set(const char *pin_dir, const char *name, bool enabled, char *err,
			 size_t err_size);
/* One line per protocol: name, on/off, ports, counters summed over CPUs. */
int classifier_proto_list(const char *pin_dir, FILE *out, char *err, size_t err_size);

/* The daemon's hold on a pin directory: a socket of its own in the
 * directory's liveness sockmap. The classifier steers edited flows to the
 * daemon only while the entry exists, and translates them itself from the
 * first packet after it is gone; the kernel removes the entry when the
 * socket closes, so an exit, a crash or kill -9 all end it at once. */
struct classifier_claim {
	int sock_fd;  /* -1: nothing prepared */
	int map_fd;   /* the liveness map, until taken */
	int owner_fd; /* the owner map, until taken */
	bool held;    /* the socket is in the map */
};

/* The two steps of taking pin_dir's liveness entry, so that a daemon can
 * bind its queues in between: the classifier steers edited flows to the
 * daemon from the moment it is taken, and a queue without a listener
 * would let them through raw (--queue-bypass).
 *
 * prepare: open the maps and make the socket (before the queues open:
 * the lower descriptor closes first when the process dies, so the
 * classifier takes over before the queues unbind), refusing when another
 * live daemon holds pin_dir (errno EEXIST, err names its pid) or no
 * classifier is loaded there (ENOENT). take: put the socket in the map
 * (EEXIST when another daemon took it in between). Each -1 with err. */
int classifier_claim_prepare(const char *pin_dir, struct classifier_claim *claim, char *err,
			     size_t err_size);
int classifier_claim_take(struct classifier_claim *claim, char *err, size_t err_size);
/* Both at once. */
int classifier_claim(const char *pin_dir, struct classifier_claim *claim, char *err,
		     size_t err_size);
/* Let go (or drop what was prepared): from the next packet on, the
 * classifier translates edited flows itself. */
void classifier_release(struct classifier_claim *claim);
/* 1 when a live daemon holds pin_dir (*pid: the pid it recorded, 0 when
 * unknown), 0 when none does, -1 with err set (no classifier there). */
int classifier_holder(const char *pin_dir, unsigned *pid, char *err, size_t err_size);

#endif
