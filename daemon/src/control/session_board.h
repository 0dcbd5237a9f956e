/* The live IM sessions, from the workers that own them: the control
 * thread posts a request, each worker answers it between two packets with
 * the IM sessions of its flow table (it alone may read it), and the
 * control thread takes the answers, waiting a bounded time. A worker
 * that has nothing pending pays one atomic load per loop. */
#ifndef IMW_CONTROL_SESSION_BOARD_H
#define IMW_CONTROL_SESSION_BOARD_H

#include "control/control.h"
#include "flow/flow.h"

struct session_board;

struct session_board *session_board_new(unsigned n_workers);
void session_board_free(struct session_board *b);

/* Called by worker `worker` on its own thread, between two packets. */
void session_board_serve(struct session_board *b, unsigned worker, const struct flow_table *t);

/* Ask every worker and wait up to timeout_ms for them; out gets the
 * sessions (out->partial when a worker did not answer). 0, or -1 when a
 * request is already running or memory ran out. */
int session_board_collect(struct session_board *b, struct control_session_list *out,
			  int timeout_ms);

/* The IM sessions of one flow table, appended to out (for the workers,
 * and for a tap's single table). */
void session_board_add_flows(struct control_session_list *out, const struct flow_table *t);

#endif
