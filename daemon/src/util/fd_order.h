/* Where a descriptor sits in the order a dying process lets go of them.
 *
 * When a process dies (kill -9, a crash), the kernel closes its
 * descriptors in ascending order, but the last release of each file is
 * deferred to the task's work list, which runs newest first: the highest
 * descriptor is released first (measured on Linux 6.18 with sockets, one
 * thread or several). imwired's liveness socket must go before any of
 * its queue sockets unbinds, so it is moved above them. */
#ifndef IMW_UTIL_FD_ORDER_H
#define IMW_UTIL_FD_ORDER_H

/* The highest descriptor we hand out for this (the process's limit
 * permitting), well above what imwired opens. */
#define FD_ORDER_HIGH 1023

/* Move fd to the lowest free descriptor at or above FD_ORDER_HIGH (or,
 * when the limit on descriptors is lower, as high as it allows),
 * close-on-exec, closing fd. Returns the new descriptor, or fd itself
 * when it is already there or none higher could be had. */
int fd_order_raise(int fd);

#endif
