/* The tc BPF classifier seen from userspace: load it (maps pinned under a
 * directory, IMW_PIN_DIR by default), attach it at tc clsact ingress of
 * interfaces, detach it, switch protocols on and off by name, read the
 * counters, and beat the daemon's heartbeat. Map layouts and the mark
 * contract: include/imwire/bpf_maps.h and marks.h. */
#ifndef IMW_CLASSIFIER_H
#define IMW_CLASSIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "imwire/bpf_maps.h"

/* tc filter handle and priority of our filter on every interface */
#define CLASSIFIER_TC_HANDLE 0x1a5
#define CLASSIFIER_TC_PRIORITY 0x1a5

/* The pin directory: $IMWIRE_PIN_DIR when set, otherwise IMW_PIN_DIR. */
const char *classifier_pin_dir(void);

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

/* The pinned heartbeat map, opened once; -1 with err set when absent. */
int classifier_heartbeat_open(const char *pin_dir, char *err, size_t err_size);
/* Record "the daemon is alive now" (CLOCK_MONOTONIC, as bpf_ktime_get_ns). */
int classifier_heartbeat_beat(int fd, unsigned long long timeout_ns);
/* Record "the daemon is gone" (a clean stop). */
int classifier_heartbeat_stop(int fd);

#endif
