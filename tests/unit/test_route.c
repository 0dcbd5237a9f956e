/* The routing stage without an engine: addresses, the address map file,
 * the runner (handlers sorted once by stage and position, three loops), the routing decisions of the
 * built-in handlers against a hand-filled session registry, the
 * auditbot, the workers' mailboxes, reloads, and posting from several
 * threads at once. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event/address.h"
#include "route/router.h"
#include "test_table.h"
#include "testlib.h"

static char tmpdir[] = "/tmp/imw-route-XXXXXX";

static const char *path_of(const char *name)
{
	static char buf[8][256];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The configuration text as the file "name" in the temporary directory. */
static bool load_config(struct imw_config *cfg, const char *name, const char *text)
{
	char err[512];

	write_file(name, text);
	config_init(cfg);
	err[0] = '\0';
	if (config_load(cfg, path_of(name), err, sizeof(err), NULL) < 0) {
		fprintf(stderr, "  config: %s\n", err);
		return false;
	}
	return true;
}

/* A router from configuration text; NULL with the reason in err. */
static struct router *router_from(const char *text, unsigned n_workers, char *err,
				  size_t err_size)
{
	struct imw_config cfg;
	struct router *r = NULL;

	err[0] = '\0';
	if (load_config(&cfg, "route.conf", text))
		r = router_new(&cfg, n_workers, err, err_size);
	config_free(&cfg);
	return r;
}

static struct router *router_ok(const char *text, unsigned n_workers)
{
	char err[512];
	struct router *r = router_from(text, n_workers, err, sizeof(err));

	CHECK(r != NULL);
	if (!r)
		fprintf(stderr, "  router_new: %s\n", err);
	return r;
}

/* A message a local user sends (the only kind routing may take). */
static struct im_event out_msg(enum imw_proto proto, const char *local, const char *remote,
			       uint64_t flow_id, const char *text)
{
	struct im_event ev;

	event_init(&ev);
	ev.ts = 1000;
	ev.proto = proto;
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = IM_DIR_OUT;
	ev.local = (char *)local;
	ev.remote = (char *)remote;
	ev.text = (char *)text;
	ev.flow_id = flow_id;
	return ev;
}

/* What the table imwired builds for policy p and router r decides. */
static void decide(struct router *r, struct policy *p, unsigned worker, const struct im_event *ev,
		   struct route_ctx *ctx)
{
	struct route_table *t = route_table_build(p, r);

	CHECK(t != NULL);
	if (!t) {
		memset(ctx, 0, sizeof(*ctx));
		return;
	}
	route_table_run(t, worker, ev, ctx);
	route_table_unref(t);
}

static enum route_outcome outcome_of(struct router *r, unsigned worker, const struct im_event *ev)
{
	struct route_ctx ctx;
	enum route_outcome o;

	decide(r, NULL, worker, ev, &ctx);
	o = ctx.outcome;
	if (o != ROUTE_LOCAL)
		CHECK_INT_EQ(ctx.target.kind, ROUTE_TARGET_NONE);
	route_ctx_free(&ctx);
	return o;
}

/* ---- addresses ---------------------------------------------------------- */

static void test_address_parse(void)
{
	enum imw_proto p = IMW_PROTO_NONE;
	char *id = NULL, err[256];

	CHECK_INT_EQ(address_parse("alice@irc", &p, &id, err, sizeof(err)), 0);
	CHECK_INT_EQ(p, IMW_PROTO_IRC);
	CHECK_STR_EQ(id, "alice");
	free(id);
	/* The last '@' starts the service: a JID keeps its own. */
	CHECK_INT_EQ(address_parse("bob@example.org@xmpp", &p, &id, err, sizeof(err)), 0);
	CHECK_INT_EQ(p, IMW_PROTO_XMPP);
	CHECK_STR_EQ(id, "bob@example.org");
	free(id);
	CHECK_INT_EQ(address_parse("bob@example.org/home@jabber", &p, &id, err, sizeof(err)), 0);
	CHECK_INT_EQ(p, IMW_PROTO_XMPP);
	CHECK_STR_EQ(id, "bob@example.org/home");
	free(id);
	/* IMSpector's name of the OSCAR service. */
	CHECK_INT_EQ(address_parse("12345@icq", &p, &id, err, sizeof(err)), 0);
	CHECK_INT_EQ(p, IMW_PROTO_OSCAR);
	CHECK_STR_EQ(id, "12345");
	free(id);

	id = (char *)"untouched";
	err[0] = '\0';
	CHECK_INT_EQ(address_parse("alice", &p, &id, err, sizeof(err)), -1);
	CHECK(id == NULL);
	CHECK(strstr(err, "\"alice\" is not an address") != NULL);
	err[0] = '\0';
	CHECK_INT_EQ(address_parse("@irc", &p, &id, err, sizeof(err)), -1);
	CHECK(id == NULL);
	CHECK(strstr(err, "is not an address") != NULL);
	err[0] = '\0';
	CHECK_INT_EQ(address_parse("alice@", &p, &id, err, sizeof(err)), -1);
	CHECK(strstr(err, "is not an address") != NULL);
	err[0] = '\0';
	CHECK_INT_EQ(address_parse("alice@skype", &p, &id, err, sizeof(err)), -1);
	CHECK(id == NULL);
	CHECK(strstr(err, "unknown protocol \"skype\"") != NULL);
	err[0] = '\0';
	CHECK_INT_EQ(address_parse("", &p, &id, err, sizeof(err)), -1);
	CHECK(err[0] != '\0');

	id = address_format(IMW_PROTO_OSCAR, "12345");
	CHECK_STR_EQ(id, "12345@oscar");
	free(id);
	id = address_format(IMW_PROTO_XMPP, "bob@x.test/home");
	CHECK_STR_EQ(id, "bob@x.test/home@xmpp");
	free(id);
}

static void test_address_ids_match(void)
{
	CHECK(address_ids_match(IMW_PROTO_IRC, "Alice", "aLICE"));
	CHECK(!address_ids_match(IMW_PROTO_IRC, "alice", "alicia"));
	CHECK(!address_ids_match(IMW_PROTO_IRC, NULL, "alice"));
	CHECK(!address_ids_match(IMW_PROTO_IRC, "alice", NULL));
	/* XMPP: a bare JID names every resource, either way round. */
	CHECK(address_ids_match(IMW_PROTO_XMPP, "bob@x.test", "bob@x.test/home"));
	CHECK(address_ids_match(IMW_PROTO_XMPP, "BOB@X.test/home", "bob@x.TEST"));
	CHECK(address_ids_match(IMW_PROTO_XMPP, "bob@x.test/home", "bob@x.test/home"));
	CHECK(!address_ids_match(IMW_PROTO_XMPP, "bob@x.test/home", "bob@x.test/work"));
	CHECK(!address_ids_match(IMW_PROTO_XMPP, "bob@x.test", "bob@y.test/home"));
	CHECK(!address_ids_match(IMW_PROTO_XMPP, "bob@x.tes", "bob@x.test/home"));
	CHECK(!address_ids_match(IMW_PROTO_XMPP, "bob@x.test/home", "bob@x.test/"));
	/* Other services never strip a '/'. */
	CHECK(!address_ids_match(IMW_PROTO_IRC, "bob", "bob/home"));
	CHECK(!address_ids_match(IMW_PROTO_MSN, "bob@x.test", "bob@x.test/home"));
	CHECK(address_ids_match(IMW_PROTO_MSN, "Bob@x.test", "bob@X.test"));
	CHECK_INT_EQ(address_bare_len(IMW_PROTO_XMPP, "bob@x.test/home"), 10);
	CHECK_INT_EQ(address_bare_len(IMW_PROTO_IRC, "bob/home"), 8);
}

/* ---- the address map file ---------------------------------------------- */

static void test_address_map_file(void)
{
	char conf[512], err[512], want[512];
	struct router *r;
	struct route_ctx ctx;
	struct im_event ev;

	/* Comments, blank lines and blanks around '=' are fine. */
	write_file("good.map", "# people with two accounts\n"
			       "\n"
			       "  dave@irc   =   dave@x.test@xmpp  \n"
			       "\t# an indented comment\n"
			       "12345@icq=dave@msn\n");
	snprintf(conf, sizeof(conf), "address_map=%s\n", path_of("good.map"));
	r = router_ok(conf, 1);
	if (!r)
		return;
	CHECK(router_active(r));
	CHECK_INT_EQ(router_session_update(r, 0, 1, IMW_PROTO_IRC, "10.0.0.2", "frank",
					   "frank!~f@h", true),
		     0);
	CHECK_INT_EQ(router_session_update(r, 0, 2, IMW_PROTO_XMPP, "x.test", "dave@x.test/laptop",
					   "dave@x.test/laptop", true),
		     0);
	CHECK_INT_EQ(router_session_update(r, 0, 3, IMW_PROTO_MSN, "", "grace@msn.test", NULL, true),
		     0);
	/* A line's left side finds its right side's session... */
	ev = out_msg(IMW_PROTO_IRC, "frank", "dave", 1, "hello");
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.session.flow_id, 2);
	CHECK_STR_EQ(ctx.target.to, "dave@x.test/laptop@xmpp");
	CHECK_STR_EQ(ctx.target.as_remote, "frank");
	route_ctx_free(&ctx);
	/* ... and the right side its left side's, once that one is online. */
	ev = out_msg(IMW_PROTO_MSN, "grace@msn.test", "dave", 3, "hello");
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	CHECK_INT_EQ(router_session_update(r, 0, 5, IMW_PROTO_OSCAR, "", "12345", NULL, true), 0);
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.session.flow_id, 5);
	CHECK_INT_EQ(ctx.target.session.proto, IMW_PROTO_OSCAR);
	CHECK_STR_EQ(ctx.target.to, "12345@oscar");
	CHECK_STR_EQ(ctx.target.as_remote, "grace@msn.test");
	route_ctx_free(&ctx);
	/* An id the map does not name stays with the server. */
	ev = out_msg(IMW_PROTO_MSN, "grace@msn.test", "12345", 3, "hello");
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	router_free(r);

	/* A line without '=' */
	write_file("noeq.map", "# fine\ndave@irc = dave@msn\ndave@irc dave@msn\n");
	snprintf(conf, sizeof(conf), "address_map=%s\n", path_of("noeq.map"));
	r = router_from(conf, 1, err, sizeof(err));
	CHECK(r == NULL);
	snprintf(want, sizeof(want), "%s:3: expected \"id@protocol = id@protocol\"",
		 path_of("noeq.map"));
	CHECK_STR_EQ(err, want);
	router_free(r);

	/* A side that is not an address, and an unknown service. */
	write_file("bad.map", "\ndave = dave@msn\n");
	snprintf(conf, sizeof(conf), "address_map=%s\n", path_of("bad.map"));
	r = router_from(conf, 1, err, sizeof(err));
	CHECK(r == NULL);
	snprintf(want, sizeof(want), "%s:2: \"dave\" is not an address", path_of("bad.map"));
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)) != 0)
		fprintf(stderr, "  got: %s\n", err);
	router_free(r);
	write_file("proto.map", "dave@irc = dave@skype\n");
	snprintf(conf, sizeof(conf), "address_map=%s\n", path_of("proto.map"));
	r = router_from(conf, 1, err, sizeof(err));
	CHECK(r == NULL);
	snprintf(want, sizeof(want), "%s:1: unknown protocol \"skype\"", path_of("proto.map"));
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)) != 0)
		fprintf(stderr, "  got: %s\n", err);
	router_free(r);

	/* A file that is not there. */
	snprintf(conf, sizeof(conf), "address_map=%s\n", path_of("missing.map"));
	r = router_from(conf, 1, err, sizeof(err));
	CHECK(r == NULL);
	CHECK(strstr(err, "missing.map") != NULL);
	router_free(r);
}

/* ---- the pipeline ------------------------------------------------------- */

struct counter {
	int calls;
	enum route_outcome seen; /* the outcome when last called */
	bool claim;
	enum route_outcome set; /* what a claiming routing handler decides */
	int order;               /* the call's place among all counted calls */
};

static int call_clock;

static bool count_handler(void *arg, struct route_ctx *ctx)
{
	struct counter *c = arg;

	c->calls++;
	c->seen = ctx->outcome;
	c->order = ++call_clock;
	if (c->claim)
		ctx->outcome = c->set;
	return c->claim;
}

static void test_table_describe(void)
{
	struct router *r = router_ok("local_routing=irc\n", 1);
	struct policy *p = NULL;
	struct route_table *t = NULL;
	struct imw_config cfg;
	struct counter c = { 0 };
	char err[512], *text;

	if (load_config(&cfg, "describe.conf", "regex_replace=/a/b/\n")) {
		p = policy_new(&cfg, POLICY_DRY_RUN, err, sizeof(err));
		config_free(&cfg);
	}
	CHECK(p != NULL);
	if (!r || !p)
		goto out;
	t = route_table_build(p, r);
	CHECK(t != NULL);
	if (!t)
		goto out;
	text = route_table_describe(t);
	CHECK_STR_EQ(text, "pre-routing 50 policy:regex_flag\n"
			   "pre-routing 100 policy:block_files,block_webcams,block_encrypted\n"
			   "pre-routing 200 policy:acl,db_filter\n"
			   "pre-routing 300 policy:badwords,regex_replace\n"
			   "routing 100 bots\n"
			   "routing 200 address_map\n"
			   "routing 300 local_routing\n"
			   "post-routing 100 policy:notices\n");
	free(text);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_ROUTING, 250, "site:helpdesk", count_handler, &c),
		     0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_PRE, 150, "site:tagger", count_handler, &c), 0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_POST, 500, "site:audit", count_handler, &c), 0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_POST, 50, "site:first", count_handler, &c), 0);
	/* At a taken position a handler goes after the ones already there. */
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_ROUTING, 200, "site:after_map", count_handler, &c),
		     0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_PRE, 300, "site:after_content", count_handler, &c),
		     0);
	text = route_table_describe(t);
	CHECK_STR_EQ(text, "pre-routing 50 policy:regex_flag\n"
			   "pre-routing 100 policy:block_files,block_webcams,block_encrypted\n"
			   "pre-routing 150 site:tagger\n"
			   "pre-routing 200 policy:acl,db_filter\n"
			   "pre-routing 300 policy:badwords,regex_replace\n"
			   "pre-routing 300 site:after_content\n"
			   "routing 100 bots\n"
			   "routing 200 address_map\n"
			   "routing 200 site:after_map\n"
			   "routing 250 site:helpdesk\n"
			   "routing 300 local_routing\n"
			   "post-routing 50 site:first\n"
			   "post-routing 100 policy:notices\n"
			   "post-routing 500 site:audit\n");
	free(text);
	route_table_unref(t);

	/* Without a router: the policy's handlers alone (imwire replay's
	 * engine still runs the full table; see route_setup_load). */
	t = route_table_build(p, NULL);
	text = t ? route_table_describe(t) : NULL;
	CHECK(text && strstr(text, "routing 100 bots") == NULL);
	CHECK(text && strstr(text, "post-routing 100 policy:notices\n") != NULL);
	free(text);
out:
	route_table_unref(t);
	policy_unref(p);
	router_free(r);
}

/* The table is shared, reference counted: each holder keeps it (and its
 * policy) alive. */
static void test_table_refs(void)
{
	struct route_table *t = route_table_new(NULL), *u;
	struct counter c = { .claim = true, .set = ROUTE_INJECTED };
	struct route_ctx ctx;
	struct im_event ev = out_msg(IMW_PROTO_IRC, "alice", "bob", 1, "hi");

	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_ROUTING, 1, "site:all", count_handler, &c), 0);
	u = route_table_ref(t);
	route_table_unref(t);
	route_table_run(u, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_INJECTED);
	CHECK(ctx.policy == NULL);
	CHECK_INT_EQ(c.calls, 1);
	route_ctx_free(&ctx);
	route_table_unref(u);
	CHECK(!route_table_may_edit(NULL));
}

/* Two IRC users on one server, each on a worker of its own. */
static void register_alice_bob(struct router *r)
{
	CHECK_INT_EQ(router_session_update(r, 0, 1, IMW_PROTO_IRC, "10.0.0.2", "alice",
					   "alice!~a@10.0.0.1", true),
		     0);
	CHECK_INT_EQ(router_session_update(r, 1, 2, IMW_PROTO_IRC, "10.0.0.2", "bob",
					   "bob!~b@10.0.0.3", true),
		     0);
}

static void test_custom_handler_wins(void)
{
	struct router *r = router_ok("local_routing=irc\nbot_auditbot=auditbot@irc\n", 2);
	struct route_table *t = NULL;
	struct counter mine = { .claim = true, .set = ROUTE_INJECTED };
	struct counter late = { 0 };
	struct route_stats st;
	struct route_ctx ctx;
	struct im_event ev = out_msg(IMW_PROTO_IRC, "alice", "bob", 1, "hi");

	if (!r)
		return;
	register_alice_bob(r);
	/* Before it is added, local routing claims the message. */
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
	t = route_table_build(NULL, r);
	CHECK(t != NULL);
	if (!t)
		goto out;
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_ROUTING, 50, "site:first", count_handler, &mine),
		     0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_ROUTING, 400, "site:last", count_handler, &late),
		     0);
	route_table_run(t, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_INJECTED);
	CHECK_INT_EQ(ctx.target.kind, ROUTE_TARGET_NONE);
	CHECK_INT_EQ(mine.calls, 1);
	CHECK_INT_EQ(mine.seen, ROUTE_FORWARDED);
	CHECK_INT_EQ(late.calls, 0);
	route_ctx_free(&ctx);
	/* Not even a bot gets it. */
	ev.remote = "auditbot";
	route_table_run(t, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_INJECTED);
	CHECK_INT_EQ(ctx.target.kind, ROUTE_TARGET_NONE);
	route_ctx_free(&ctx);
	router_get_stats(r, &st);
	CHECK_INT_EQ(st.routed_local, 1);
	CHECK_INT_EQ(st.routed_bot, 0);
	/* When it lets events pass, the built-ins decide, and the last
	 * handler sees only what nobody claimed. */
	mine.claim = false;
	ev.remote = "bob";
	route_table_run(t, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	route_ctx_free(&ctx);
	CHECK_INT_EQ(late.calls, 0);
	ev.remote = "carol";
	route_table_run(t, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_FORWARDED);
	route_ctx_free(&ctx);
	CHECK_INT_EQ(late.calls, 1);
	CHECK_INT_EQ(mine.calls, 4);
out:
	route_table_unref(t);
	router_free(r);
}

static void test_pre_and_post_handlers_all_run(void)
{
	struct router *r = router_ok("local_routing=irc\n", 2);
	struct route_table *t = NULL;
	struct counter pre1 = { .claim = true, .set = ROUTE_FORWARDED };
	struct counter pre2 = { 0 }, post1 = { .claim = true, .set = ROUTE_LOCAL }, post2 = { 0 };
	struct counter routing = { 0 };
	struct route_ctx ctx;
	struct im_event ev = out_msg(IMW_PROTO_IRC, "alice", "bob", 1, "hi");

	if (!r)
		return;
	register_alice_bob(r);
	call_clock = 0;
	t = route_table_build(NULL, r);
	CHECK(t != NULL);
	if (!t)
		goto out;
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_POST, 900, "post2", count_handler, &post2), 0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_PRE, 50, "pre1", count_handler, &pre1), 0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_POST, 10, "post1", count_handler, &post1), 0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_PRE, 999, "pre2", count_handler, &pre2), 0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_ROUTING, 350, "late", count_handler, &routing),
		     0);
	route_table_run(t, 0, &ev, &ctx);
	/* A pre handler's "true" does not stop the stage. */
	CHECK_INT_EQ(pre1.calls, 1);
	CHECK_INT_EQ(pre2.calls, 1);
	CHECK_INT_EQ(post1.calls, 1);
	CHECK_INT_EQ(post2.calls, 1);
	CHECK_INT_EQ(routing.calls, 0); /* local routing at 300 claimed first */
	CHECK(pre1.order < pre2.order && pre2.order < post1.order && post1.order < post2.order);
	/* Post handlers see the routing decision. */
	CHECK_INT_EQ(post1.seen, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.session.flow_id, 2);
	route_ctx_free(&ctx);

	/* An event nobody routes runs every stage too. */
	ev.remote = "nobody";
	post1.claim = false;
	route_table_run(t, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_FORWARDED);
	CHECK_INT_EQ(pre1.calls, 2);
	CHECK_INT_EQ(pre2.calls, 2);
	CHECK_INT_EQ(routing.calls, 1);
	CHECK_INT_EQ(post1.calls, 2);
	CHECK_INT_EQ(post2.calls, 2);
	CHECK_INT_EQ(post2.seen, ROUTE_FORWARDED);
	route_ctx_free(&ctx);
out:
	route_table_unref(t);
	router_free(r);
}

static void test_blocked_event_is_dropped_before_routing(void)
{
	struct router *r = router_ok("local_routing=irc\n", 2);
	struct route_table *t = test_table("regex_replace=/forbidden//b\n", r);
	struct route_table *alone = test_table("regex_replace=/forbidden//b\n", NULL);
	struct counter pre_late = { 0 }, routing = { 0 }, post = { 0 };
	struct route_stats st;
	struct route_ctx ctx;
	struct im_event ev = out_msg(IMW_PROTO_IRC, "alice", "bob", 1, "a forbidden word");

	CHECK(t != NULL && alone != NULL);
	if (!r || !t || !alone)
		goto out;
	register_alice_bob(r);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_PRE, 350, "pre_late", count_handler, &pre_late),
		     0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_ROUTING, 1, "routing", count_handler, &routing),
		     0);
	CHECK_INT_EQ(route_table_add(t, ROUTE_STAGE_POST, 200, "post", count_handler, &post), 0);
	route_table_run(t, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_DROPPED);
	CHECK(ctx.decision.filtered);
	CHECK_INT_EQ(ctx.decision.action, POLICY_BLOCK);
	CHECK_INT_EQ(ctx.target.kind, ROUTE_TARGET_NONE);
	CHECK_INT_EQ(pre_late.calls, 1); /* later pre handlers still run */
	CHECK_INT_EQ(routing.calls, 0);
	CHECK_INT_EQ(post.calls, 1);
	CHECK_INT_EQ(post.seen, ROUTE_DROPPED);
	route_ctx_free(&ctx);
	router_get_stats(r, &st);
	CHECK_INT_EQ(st.routed_local, 0);

	/* The same message without the word goes to bob. */
	ev.text = "a fine word";
	route_table_run(t, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(routing.calls, 1);
	CHECK_INT_EQ(post.calls, 2);
	route_ctx_free(&ctx);

	/* A policy alone (no router) decides without routing. */
	ev.text = "forbidden";
	route_table_run(alone, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_DROPPED);
	route_ctx_free(&ctx);
	ev.text = "fine";
	route_table_run(alone, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_FORWARDED);
	route_ctx_free(&ctx);
out:
	route_table_unref(alone);
	route_table_unref(t);
	router_free(r);
}

/* ---- local routing ------------------------------------------------------ */

static void test_local_routing_irc(void)
{
	struct router *r = router_ok("local_routing=irc\n", 2);
	struct route_stats st;
	struct route_ctx ctx;
	struct im_event ev = out_msg(IMW_PROTO_IRC, "alice", "bob", 1, "hi there");

	if (!r)
		return;
	CHECK(router_active(r));
	register_alice_bob(r);
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.kind, ROUTE_TARGET_SESSION);
	CHECK_INT_EQ(ctx.target.session.worker, 1);
	CHECK_INT_EQ(ctx.target.session.flow_id, 2);
	CHECK_INT_EQ(ctx.target.session.proto, IMW_PROTO_IRC);
	CHECK_STR_EQ(ctx.target.session.local_id, "bob");
	CHECK_STR_EQ(ctx.target.session.local_address, "bob!~b@10.0.0.3");
	CHECK_STR_EQ(ctx.target.as_remote, "alice");
	CHECK_STR_EQ(ctx.target.to, "bob@irc");
	CHECK(ctx.target.bot == NULL);
	route_ctx_free(&ctx);
	/* Nicks compare without case; the recipient is named as registered. */
	ev.remote = "BoB";
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_STR_EQ(ctx.target.to, "bob@irc");
	route_ctx_free(&ctx);
	ev.remote = "bob";
	router_get_stats(r, &st);
	CHECK_INT_EQ(st.routed_local, 2);
	CHECK_INT_EQ(st.sessions, 2);

	/* Not for a channel, an incoming line, another kind, no text. */
	ev.group = true;
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	ev.group = false;
	ev.dir = IM_DIR_IN;
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	ev.dir = IM_DIR_OUT;
	ev.kind = IM_KIND_TYPING;
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	ev.kind = IM_KIND_MESSAGE;
	ev.text = NULL;
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	ev.text = "hi there";
	ev.remote = "";
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	ev.remote = "bob";
	/* Not to oneself, even with a second session of one's own. */
	CHECK_INT_EQ(router_session_update(r, 1, 7, IMW_PROTO_IRC, "10.0.0.2", "alice", NULL, true),
		     0);
	ev.remote = "ALICE";
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	router_session_forget(r, 1, 7);
	ev.remote = "bob";
	/* Not from a session the router does not know (other flow, or the
	 * flow's id on another worker). */
	ev.flow_id = 99;
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	ev.flow_id = 1;
	CHECK_INT_EQ(outcome_of(r, 1, &ev), ROUTE_FORWARDED);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
	/* Not from a session imwired cannot send to: the deleted line could
	 * not be acknowledged to the sender. */
	CHECK_INT_EQ(router_session_update(r, 0, 1, IMW_PROTO_IRC, "10.0.0.2", "alice",
					   "alice!~a@10.0.0.1", false),
		     0);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	CHECK_INT_EQ(router_session_update(r, 0, 1, IMW_PROTO_IRC, "10.0.0.2", "alice",
					   "alice!~a@10.0.0.1", true),
		     0);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
	/* Not to a user who is not here. */
	ev.remote = "carol";
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	ev.remote = "bob";
	/* Not to a recipient on another IRC server (another network). */
	CHECK_INT_EQ(router_session_update(r, 1, 2, IMW_PROTO_IRC, "10.9.9.9", "bob",
					   "bob!~b@10.0.0.3", true),
		     0);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	/* Not to a recipient imwired cannot send to. */
	CHECK_INT_EQ(router_session_update(r, 1, 2, IMW_PROTO_IRC, "10.0.0.2", "bob",
					   "bob!~b@10.0.0.3", false),
		     0);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	CHECK_INT_EQ(router_session_update(r, 1, 2, IMW_PROTO_IRC, "10.0.0.2", "bob",
					   "bob!~b@10.0.0.3", true),
		     0);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
	/* A session whose nick changed is found under the new one. */
	CHECK_INT_EQ(router_session_update(r, 1, 2, IMW_PROTO_IRC, "10.0.0.2", "robert",
					   "robert!~b@10.0.0.3", true),
		     0);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	ev.remote = "robert";
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_STR_EQ(ctx.target.session.local_address, "robert!~b@10.0.0.3");
	route_ctx_free(&ctx);
	router_free(r);

	/* Switched off, or on for other protocols only. */
	r = router_ok("local_routing=off\n", 2);
	if (r) {
		CHECK(!router_active(r));
		register_alice_bob(r);
		ev.remote = "bob";
		CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
		router_free(r);
	}
	r = router_ok("local_routing=xmpp, msn\n", 2);
	if (r) {
		CHECK(router_active(r));
		register_alice_bob(r);
		CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
		router_free(r);
	}
	r = router_ok("local_routing=all\n", 2);
	if (r) {
		register_alice_bob(r);
		CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
		router_free(r);
	}
}

static void test_local_routing_config_errors(void)
{
	char err[512], want[512];
	struct router *r = router_from("# routing\nlocal_routing=irc, skype\n", 1, err, sizeof(err));

	CHECK(r == NULL);
	snprintf(want, sizeof(want), "%s:2: local_routing: unknown protocol \"skype\"",
		 path_of("route.conf"));
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)) != 0)
		fprintf(stderr, "  got: %s\n", err);
	router_free(r);
	/* Nothing configured: a router that never claims anything. */
	r = router_ok("log_typing_events=off\n", 1);
	CHECK(r && !router_active(r));
	router_free(r);
	CHECK(!router_active(NULL));
}

static void test_local_routing_xmpp(void)
{
	struct router *r = router_ok("local_routing=jabber\n", 2);
	struct route_ctx ctx;
	struct im_event ev = out_msg(IMW_PROTO_XMPP, "alice@x.test/pc", "bob@x.test", 1, "hi");

	if (!r)
		return;
	CHECK_INT_EQ(router_session_update(r, 0, 1, IMW_PROTO_XMPP, "x.test", "alice@x.test/pc",
					   "alice@x.test/pc", true),
		     0);
	CHECK_INT_EQ(router_session_update(r, 1, 2, IMW_PROTO_XMPP, "x.test", "bob@x.test/home",
					   "bob@x.test/home", true),
		     0);
	/* The bare JID finds the session of its full JID. */
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.session.flow_id, 2);
	CHECK_INT_EQ(ctx.target.session.worker, 1);
	CHECK_STR_EQ(ctx.target.session.local_id, "bob@x.test/home");
	CHECK_STR_EQ(ctx.target.as_remote, "alice@x.test/pc");
	CHECK_STR_EQ(ctx.target.to, "bob@x.test/home@xmpp");
	route_ctx_free(&ctx);
	/* The full JID of that session, but not another resource. */
	ev.remote = "Bob@X.test/home";
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
	ev.remote = "bob@x.test/work";
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	/* Writing to one's own bare JID stays with the server. */
	ev.remote = "alice@x.test";
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	/* A user of another domain is that domain's server's business. */
	CHECK_INT_EQ(router_session_update(r, 1, 3, IMW_PROTO_XMPP, "y.test", "carol@y.test/m",
					   NULL, true),
		     0);
	ev.remote = "carol@y.test";
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);

	/* The newest session of a user wins; forgetting it falls back. */
	CHECK_INT_EQ(router_session_update(r, 0, 4, IMW_PROTO_XMPP, "x.test", "bob@x.test/phone",
					   "bob@x.test/phone", true),
		     0);
	ev.remote = "bob@x.test";
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.session.flow_id, 4);
	CHECK_INT_EQ(ctx.target.session.worker, 0);
	route_ctx_free(&ctx);
	/* An update of the older one does not make it the newer. */
	CHECK_INT_EQ(router_session_update(r, 1, 2, IMW_PROTO_XMPP, "x.test", "bob@x.test/home",
					   "bob@x.test/home", true),
		     0);
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.target.session.flow_id, 4);
	route_ctx_free(&ctx);
	router_session_forget(r, 0, 4);
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.session.flow_id, 2);
	route_ctx_free(&ctx);
	/* Forgetting an unknown one changes nothing; the last one goes. */
	router_session_forget(r, 0, 2); /* flow 2 is on worker 1 */
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
	router_session_forget(r, 1, 2);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	router_free(r);
}

/* ---- the address map ---------------------------------------------------- */

static void test_address_map_routing(void)
{
	char conf[512];
	struct router *r;
	struct route_stats st;
	struct route_ctx ctx;
	struct im_event ev = out_msg(IMW_PROTO_IRC, "erin", "carol", 1, "hello carol");

	write_file("people.map", "carol@irc = carol@x.test@xmpp\n"
				 "erin@x.test@xmpp = erin@irc\n");
	write_file("carol.map", "carol@irc = carol@x.test@xmpp\n");
	/* No local_routing: the map alone routes. */
	snprintf(conf, sizeof(conf), "address_map=%s\n", path_of("people.map"));
	r = router_ok(conf, 2);
	if (!r)
		return;
	CHECK_INT_EQ(router_session_update(r, 0, 1, IMW_PROTO_IRC, "10.0.0.2", "erin",
					   "erin!~e@10.0.0.5", true),
		     0);
	/* carol is not online on XMPP: nothing to route to. */
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	CHECK_INT_EQ(router_session_update(r, 1, 5, IMW_PROTO_XMPP, "x.test", "carol@x.test/phone",
					   "carol@x.test/phone", true),
		     0);
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.kind, ROUTE_TARGET_SESSION);
	CHECK_INT_EQ(ctx.target.session.worker, 1);
	CHECK_INT_EQ(ctx.target.session.flow_id, 5);
	CHECK_INT_EQ(ctx.target.session.proto, IMW_PROTO_XMPP);
	CHECK_STR_EQ(ctx.target.session.local_id, "carol@x.test/phone");
	/* erin has an XMPP address of her own: carol sees her under it. */
	CHECK_STR_EQ(ctx.target.as_remote, "erin@x.test");
	CHECK_STR_EQ(ctx.target.to, "carol@x.test/phone@xmpp");
	route_ctx_free(&ctx);
	/* The nick in any case. */
	ev.remote = "CAROL";
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
	/* And back: carol's reply to erin's XMPP address reaches erin on IRC,
	 * from carol's IRC nick. */
	ev = out_msg(IMW_PROTO_XMPP, "carol@x.test/phone", "erin@x.test", 5, "hi erin");
	decide(r, NULL, 1, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.session.flow_id, 1);
	CHECK_INT_EQ(ctx.target.session.worker, 0);
	CHECK_STR_EQ(ctx.target.as_remote, "carol");
	CHECK_STR_EQ(ctx.target.to, "erin@irc");
	route_ctx_free(&ctx);
	router_get_stats(r, &st);
	CHECK_INT_EQ(st.routed_mapped, 3);
	CHECK_INT_EQ(st.routed_local, 0);
	/* A user not in the map stays with the server. */
	ev = out_msg(IMW_PROTO_IRC, "erin", "dave", 1, "hi");
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	/* So does a sender imwired cannot send to, or does not know. */
	ev = out_msg(IMW_PROTO_IRC, "erin", "carol", 1, "hello carol");
	CHECK_INT_EQ(router_session_update(r, 0, 1, IMW_PROTO_IRC, "10.0.0.2", "erin",
					   "erin!~e@10.0.0.5", false),
		     0);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	ev.flow_id = 77;
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	router_free(r);

	/* Without erin's pair she keeps her own id. */
	snprintf(conf, sizeof(conf), "address_map=%s\n", path_of("carol.map"));
	r = router_ok(conf, 2);
	if (!r)
		return;
	CHECK_INT_EQ(router_session_update(r, 0, 1, IMW_PROTO_IRC, "10.0.0.2", "erin", NULL, true),
		     0);
	CHECK_INT_EQ(router_session_update(r, 1, 5, IMW_PROTO_XMPP, "x.test", "carol@x.test/phone",
					   NULL, true),
		     0);
	ev = out_msg(IMW_PROTO_IRC, "erin", "carol", 1, "hello carol");
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_STR_EQ(ctx.target.as_remote, "erin");
	CHECK(ctx.target.session.local_address == NULL);
	route_ctx_free(&ctx);
	/* A recipient imwired cannot send to is not routed to. */
	CHECK_INT_EQ(router_session_update(r, 1, 5, IMW_PROTO_XMPP, "x.test", "carol@x.test/phone",
					   NULL, false),
		     0);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	router_free(r);
}

/* ---- bots --------------------------------------------------------------- */

struct replies {
	char text[4][256];
	int n;
};

static void collect_reply(void *arg, const char *text)
{
	struct replies *c = arg;

	if (c->n < 4)
		snprintf(c->text[c->n], sizeof(c->text[0]), "%s", text);
	c->n++;
}

static void ask_bot(struct router *r, struct policy *p, const char *bot, const char *text,
		    struct replies *out)
{
	struct route_ctx ctx;
	struct im_event ev = out_msg(IMW_PROTO_IRC, "alice", bot, 1, text);

	memset(out, 0, sizeof(*out));
	decide(r, p, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.kind, ROUTE_TARGET_BOT);
	route_bot_answer(&ctx, collect_reply, out);
	route_ctx_free(&ctx);
}

#define AUDITBOT_HELP "auditbot commands: !policy (the IM policy of this network), !help"
#define AUDITBOT_NO_NOTICE "No IM policy notice is configured here; messages may still be logged."
#define AUDITBOT_POINTER "I am the audit bot of this network. Try !help."

static void test_auditbot(void)
{
	struct imw_config cfg;
	struct router *r = NULL;
	struct policy *p = NULL;
	struct route_stats st;
	struct route_ctx ctx;
	struct replies rep;
	struct im_event ev;
	char err[512];

	if (!load_config(&cfg, "bots.conf",
			 "local_routing=irc\n"
			 "bot_auditbot=auditbot@irc, auditbot@x.test@xmpp\n"
			 "notice_text=Chats here are logged by the company.\n"))
		return;
	r = router_new(&cfg, 2, err, sizeof(err));
	p = policy_new(&cfg, POLICY_DRY_RUN, err, sizeof(err));
	config_free(&cfg);
	CHECK(r && p);
	if (!r || !p)
		goto out;
	register_alice_bob(r);
	/* Even a user of that nick on the server does not hide the bot. */
	CHECK_INT_EQ(router_session_update(r, 1, 9, IMW_PROTO_IRC, "10.0.0.2", "auditbot", NULL,
					   true),
		     0);
	ev = out_msg(IMW_PROTO_IRC, "alice", "AuditBot", 1, "!help");
	decide(r, p, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.kind, ROUTE_TARGET_BOT);
	CHECK(ctx.target.bot != NULL);
	/* The log names the bot as the user wrote it. */
	CHECK_STR_EQ(ctx.target.to, "AuditBot@irc");
	CHECK(ctx.target.as_remote == NULL);
	memset(&rep, 0, sizeof(rep));
	route_bot_answer(&ctx, collect_reply, &rep);
	CHECK_INT_EQ(rep.n, 1);
	CHECK_STR_EQ(rep.text[0], AUDITBOT_HELP);
	route_ctx_free(&ctx);

	ask_bot(r, p, "auditbot", "!policy", &rep);
	CHECK_INT_EQ(rep.n, 1);
	CHECK_STR_EQ(rep.text[0], "Chats here are logged by the company.");
	ask_bot(r, p, "auditbot", "  !POLICY \r\n", &rep);
	CHECK_INT_EQ(rep.n, 1);
	CHECK_STR_EQ(rep.text[0], "Chats here are logged by the company.");
	ask_bot(r, p, "auditbot", "what is this?", &rep);
	CHECK_INT_EQ(rep.n, 1);
	CHECK_STR_EQ(rep.text[0], AUDITBOT_POINTER);
	ask_bot(r, p, "auditbot", "!policyx", &rep);
	CHECK_STR_EQ(rep.text[0], AUDITBOT_POINTER);
	/* Without a policy: the default sentence. */
	ask_bot(r, NULL, "auditbot", "!policy", &rep);
	CHECK_INT_EQ(rep.n, 1);
	CHECK_STR_EQ(rep.text[0], AUDITBOT_NO_NOTICE);

	/* The XMPP address, bare or with a resource. */
	CHECK_INT_EQ(router_session_update(r, 0, 3, IMW_PROTO_XMPP, "x.test", "alice@x.test/pc",
					   NULL, true),
		     0);
	ev = out_msg(IMW_PROTO_XMPP, "alice@x.test/pc", "auditbot@x.test/bot", 3, "!help");
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.kind, ROUTE_TARGET_BOT);
	CHECK_STR_EQ(ctx.target.to, "auditbot@x.test/bot@xmpp");
	route_ctx_free(&ctx);
	ev.remote = "auditbot@y.test";
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	/* Not for a channel of that name, nor on another protocol. */
	ev = out_msg(IMW_PROTO_IRC, "alice", "auditbot", 1, "!help");
	ev.group = true;
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	ev = out_msg(IMW_PROTO_MSN, "alice@msn.test", "auditbot", 1, "!help");
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	/* Not from a session the router does not know or cannot send to:
	 * the bot's answer could never reach it. */
	ev = out_msg(IMW_PROTO_IRC, "alice", "auditbot", 42, "!help");
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	CHECK_INT_EQ(router_session_update(r, 0, 42, IMW_PROTO_IRC, "10.0.0.2", "zoe", NULL, false),
		     0);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	CHECK_INT_EQ(router_session_update(r, 0, 42, IMW_PROTO_IRC, "10.0.0.2", "zoe", NULL, true),
		     0);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
	router_session_forget(r, 0, 42);
	/* A message to bob still goes to bob. */
	ev = out_msg(IMW_PROTO_IRC, "alice", "bob", 1, "hi");
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
	router_get_stats(r, &st);
	CHECK_INT_EQ(st.routed_bot, 8);
	CHECK_INT_EQ(st.routed_local, 1);

	/* A context that is not a bot's gets no answer. */
	decide(r, NULL, 0, &ev, &ctx);
	memset(&rep, 0, sizeof(rep));
	route_bot_answer(&ctx, collect_reply, &rep);
	CHECK_INT_EQ(rep.n, 0);
	route_ctx_free(&ctx);
out:
	policy_unref(p);
	router_free(r);

	/* A policy without notice_text: the default sentence. */
	if (!load_config(&cfg, "bots2.conf", "bot_auditbot=auditbot@irc\nbadwords_replace_character=#\n"))
		return;
	r = router_new(&cfg, 1, err, sizeof(err));
	p = policy_new(&cfg, POLICY_DRY_RUN, err, sizeof(err));
	config_free(&cfg);
	CHECK(r && p);
	if (r && p) {
		register_alice_bob(r);
		ask_bot(r, p, "auditbot", "!policy", &rep);
		CHECK_INT_EQ(rep.n, 1);
		CHECK_STR_EQ(rep.text[0], AUDITBOT_NO_NOTICE);
	}
	policy_unref(p);
	router_free(r);
}

static void test_bot_config_errors(void)
{
	char err[512], want[512];
	struct router *r;

	r = router_from("local_routing=irc\n# bots\nbot_chatgpt=gpt@irc\n", 1, err, sizeof(err));
	CHECK(r == NULL);
	snprintf(want, sizeof(want), "%s:3: bot_chatgpt: no bot named \"chatgpt\"",
		 path_of("route.conf"));
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)) != 0)
		fprintf(stderr, "  got: %s\n", err);
	router_free(r);

	r = router_from("bot_auditbot= , \n", 1, err, sizeof(err));
	CHECK(r == NULL);
	snprintf(want, sizeof(want), "%s:1: bot_auditbot: bot auditbot has no address",
		 path_of("route.conf"));
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)) != 0)
		fprintf(stderr, "  got: %s\n", err);
	router_free(r);

	r = router_from("\nbot_auditbot=auditbot@irc, auditbot\n", 1, err, sizeof(err));
	CHECK(r == NULL);
	snprintf(want, sizeof(want), "%s:2: bot_auditbot: \"auditbot\" is not an address",
		 path_of("route.conf"));
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)) != 0)
		fprintf(stderr, "  got: %s\n", err);
	router_free(r);

	r = router_from("bot_auditbot=auditbot@aol\n", 1, err, sizeof(err));
	CHECK(r == NULL);
	CHECK(strstr(err, "unknown protocol \"aol\"") != NULL);
	router_free(r);

	/* A bot alone makes the router active. */
	r = router_ok("bot_auditbot=auditbot@irc\n", 1);
	CHECK(r && router_active(r));
	router_free(r);
}

/* ---- mailboxes ---------------------------------------------------------- */

static bool readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static void test_mailboxes(void)
{
	struct router *r = router_ok("local_routing=irc\n", 2);
	struct route_delivery *v;
	struct route_stats st;
	struct im_event ev;
	const char *texts[] = { "one", "two", "three" };
	size_t n, i;
	int fd0, fd1;

	if (!r)
		return;
	fd0 = router_wake_fd(r, 0);
	fd1 = router_wake_fd(r, 1);
	CHECK(fd0 >= 0 && fd1 >= 0 && fd0 != fd1);
	CHECK_INT_EQ(router_wake_fd(r, 2), -1);
	CHECK(!readable(fd0) && !readable(fd1));
	v = router_take(r, 1, &n);
	CHECK(v == NULL);
	CHECK_INT_EQ(n, 0);

	for (i = 0; i < 3; i++) {
		/* The router keeps its own copy: the original is changed and
		 * freed right after posting. */
		event_init(&ev);
		ev.proto = IMW_PROTO_IRC;
		ev.kind = IM_KIND_MESSAGE;
		ev.dir = IM_DIR_IN;
		ev.route = route_outcome_name(ROUTE_LOCAL);
		CHECK(event_set_str(&ev.local, "bob") && event_set_str(&ev.remote, "alice") &&
		      event_set_str(&ev.text, texts[i]) && event_set_str(&ev.route_to, "bob@irc") &&
		      event_set_str(&ev.remote_address, "alice!~a@10.0.0.1"));
		CHECK_INT_EQ(router_post(r, 1, 20 + i, &ev), 0);
		ev.text[0] = 'X';
		ev.local[0] = 'X';
		event_free(&ev);
	}
	CHECK(readable(fd1));
	CHECK(!readable(fd0));
	v = router_take(r, 0, &n);
	CHECK(v == NULL);
	CHECK_INT_EQ(n, 0);
	/* Clearing the wake-up loses no mail. */
	router_wake_clear(r, 1);
	CHECK(!readable(fd1));
	router_wake_clear(r, 1); /* twice: nothing to read, no harm */
	v = router_take(r, 1, &n);
	CHECK_INT_EQ(n, 3);
	for (i = 0; v && i < n && i < 3; i++) {
		CHECK_INT_EQ(v[i].worker, 1);
		CHECK_INT_EQ(v[i].flow_id, 20 + i);
		CHECK_STR_EQ(v[i].ev.text, texts[i]);
		CHECK_STR_EQ(v[i].ev.local, "bob");
		CHECK_STR_EQ(v[i].ev.remote, "alice");
		CHECK_STR_EQ(v[i].ev.route_to, "bob@irc");
		CHECK_STR_EQ(v[i].ev.remote_address, "alice!~a@10.0.0.1");
		CHECK_STR_EQ(v[i].ev.route, "local");
		CHECK_INT_EQ(v[i].ev.dir, IM_DIR_IN);
		event_free(&v[i].ev);
	}
	free(v);
	v = router_take(r, 1, &n);
	CHECK(v == NULL && n == 0);

	/* Out of range. */
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.text = "x";
	CHECK_INT_EQ(router_post(r, 2, 1, &ev), -1);
	CHECK_INT_EQ(router_post(r, 1000, 1, &ev), -1);
	v = router_take(r, 2, &n);
	CHECK(v == NULL && n == 0);

	/* The bound: 4096 waiting, the next is refused until the worker
	 * takes its mail. */
	for (i = 0; i < 4096; i++)
		if (router_post(r, 0, i, &ev) != 0)
			break;
	CHECK_INT_EQ(i, 4096);
	CHECK_INT_EQ(router_post(r, 0, 4096, &ev), -1);
	CHECK(readable(fd0));
	v = router_take(r, 0, &n);
	CHECK_INT_EQ(n, 4096);
	for (i = 0; v && i < n; i++) {
		if (v[i].flow_id != i) {
			CHECK_INT_EQ(v[i].flow_id, i);
			break;
		}
	}
	for (i = 0; v && i < n; i++)
		event_free(&v[i].ev);
	free(v);
	CHECK_INT_EQ(router_post(r, 0, 1, &ev), 0);
	router_get_stats(r, &st);
	CHECK_INT_EQ(st.deliveries_posted, 3 + 4096 + 1);
	/* What is left is freed with the router. */
	router_free(r);
}

/* ---- reload ------------------------------------------------------------- */

/* A place taken when a message is decided is there when it is posted,
 * whatever others post or take meanwhile; one given back is free again. */
static void test_mailbox_reservations(void)
{
	struct router *r = router_ok("local_routing=irc\n", 1);
	struct route_delivery *v;
	struct im_event ev, mine;
	size_t n, i;

	if (!r)
		return;
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.text = "x";
	CHECK_INT_EQ(router_reserve(r, 0), 0);
	CHECK_INT_EQ(router_reserve(r, 0), 0);
	CHECK_INT_EQ(router_reserve(r, 1), -1); /* no such worker */
	/* Others fill the box up to what is reserved. */
	for (i = 0; i < 4096; i++)
		if (router_post(r, 0, 100 + i, &ev) != 0)
			break;
	CHECK_INT_EQ(i, 4094);
	CHECK_INT_EQ(router_reserve(r, 0), -1);
	/* The worker takes its mail while the places are still reserved. */
	v = router_take(r, 0, &n);
	CHECK_INT_EQ(n, 4094);
	for (i = 0; v && i < n; i++)
		event_free(&v[i].ev);
	free(v);
	/* Posting into the reserved places needs no memory and cannot fail. */
	event_init(&mine);
	CHECK(event_set_str(&mine.text, "reserved"));
	router_post_reserved(r, 0, 7, &mine);
	CHECK(mine.text == NULL); /* moved in */
	router_unreserve(r, 0);
	v = router_take(r, 0, &n);
	CHECK_INT_EQ(n, 1);
	if (v && n == 1) {
		CHECK_INT_EQ(v[0].flow_id, 7);
		CHECK_STR_EQ(v[0].ev.text, "reserved");
		event_free(&v[0].ev);
	}
	free(v);
	/* Nothing is held back any more: the whole bound is free. */
	for (i = 0; i < 4096; i++)
		if (router_post(r, 0, i, &ev) != 0)
			break;
	CHECK_INT_EQ(i, 4096);
	v = router_take(r, 0, &n);
	for (i = 0; v && i < n; i++)
		event_free(&v[i].ev);
	free(v);
	router_free(r);
}

/* The registry's hash tables keep working as they grow, and a lookup by
 * user finds the newest session among many. */
static void test_registry_many_sessions(void)
{
	struct router *r = router_ok("local_routing=irc\n", 2);
	struct route_stats st;
	struct route_ctx ctx;
	struct im_event ev = out_msg(IMW_PROTO_IRC, "user0", "user777", 1, "hi");
	char nick[32];
	unsigned i;

	if (!r)
		return;
	for (i = 0; i < 1000; i++) {
		snprintf(nick, sizeof(nick), "user%u", i);
		CHECK_INT_EQ(router_session_update(r, i % 2, i + 1, IMW_PROTO_IRC, "10.0.0.2", nick,
						   NULL, true),
			     0);
	}
	router_get_stats(r, &st);
	CHECK_INT_EQ(st.sessions, 1000);
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.outcome, ROUTE_LOCAL);
	CHECK_INT_EQ(ctx.target.session.flow_id, 778);
	CHECK_INT_EQ(ctx.target.session.worker, 1);
	route_ctx_free(&ctx);
	/* A second session of user777, newer: it wins; renamed, the old one is
	 * found again. */
	CHECK_INT_EQ(router_session_update(r, 0, 5000, IMW_PROTO_IRC, "10.0.0.2", "USER777", NULL,
					   true),
		     0);
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.target.session.flow_id, 5000);
	route_ctx_free(&ctx);
	CHECK_INT_EQ(router_session_update(r, 0, 5000, IMW_PROTO_IRC, "10.0.0.2", "newnick", NULL,
					   true),
		     0);
	decide(r, NULL, 0, &ev, &ctx);
	CHECK_INT_EQ(ctx.target.session.flow_id, 778);
	route_ctx_free(&ctx);
	/* Forget every other one; the rest stay findable. */
	for (i = 0; i < 1000; i += 2)
		router_session_forget(r, i % 2, i + 1);
	router_get_stats(r, &st);
	CHECK_INT_EQ(st.sessions, 501);
	ev.flow_id = 2; /* user1 on worker 1 sends */
	ev.local = "user1";
	CHECK_INT_EQ(outcome_of(r, 1, &ev), ROUTE_LOCAL);
	ev.remote = "user776"; /* forgotten */
	CHECK_INT_EQ(outcome_of(r, 1, &ev), ROUTE_FORWARDED);
	router_free(r);
}

static void test_reload(void)
{
	char conf[512], err[512];
	struct imw_config cfg;
	struct router *r;
	struct im_event ev = out_msg(IMW_PROTO_IRC, "erin", "carol", 1, "hi");
	struct im_event local = out_msg(IMW_PROTO_IRC, "alice", "bob", 1, "hi");

	write_file("reload.map", "carol@irc = carol@x.test@xmpp\n");
	snprintf(conf, sizeof(conf), "local_routing=irc\naddress_map=%s\n", path_of("reload.map"));
	r = router_ok(conf, 2);
	if (!r)
		return;
	register_alice_bob(r);
	CHECK_INT_EQ(router_session_update(r, 0, 3, IMW_PROTO_IRC, "10.0.0.2", "erin", NULL, true),
		     0);
	CHECK_INT_EQ(router_session_update(r, 1, 5, IMW_PROTO_XMPP, "x.test", "carol@x.test/phone",
					   NULL, true),
		     0);
	ev.flow_id = 3;
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);

	/* A broken map: refused, the old settings stay. */
	write_file("broken.map", "carol@irc carol@x.test@xmpp\n");
	snprintf(conf, sizeof(conf), "address_map=%s\n", path_of("broken.map"));
	if (load_config(&cfg, "reload1.conf", conf)) {
		err[0] = '\0';
		CHECK_INT_EQ(router_reload(r, &cfg, err, sizeof(err)), -1);
		CHECK(strstr(err, "broken.map:1:") != NULL);
		config_free(&cfg);
	}
	CHECK(router_active(r));
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);
	CHECK_INT_EQ(outcome_of(r, 0, &local), ROUTE_LOCAL);

	/* Only the map now: local routing is off, the map still works. */
	snprintf(conf, sizeof(conf), "address_map=%s\n", path_of("reload.map"));
	if (load_config(&cfg, "reload2.conf", conf)) {
		CHECK_INT_EQ(router_reload(r, &cfg, err, sizeof(err)), 0);
		config_free(&cfg);
	}
	CHECK_INT_EQ(outcome_of(r, 0, &local), ROUTE_FORWARDED);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_LOCAL);

	/* Nothing: the router never claims, the registry stays. */
	if (load_config(&cfg, "reload3.conf", "log_typing_events=off\n")) {
		CHECK_INT_EQ(router_reload(r, &cfg, err, sizeof(err)), 0);
		config_free(&cfg);
	}
	CHECK(!router_active(r));
	CHECK_INT_EQ(outcome_of(r, 0, &local), ROUTE_FORWARDED);
	CHECK_INT_EQ(outcome_of(r, 0, &ev), ROUTE_FORWARDED);
	{
		struct route_stats st;

		router_get_stats(r, &st);
		CHECK_INT_EQ(st.sessions, 4);
	}
	/* And on again, with the sessions known from before. */
	if (load_config(&cfg, "reload4.conf", "local_routing=irc\n")) {
		CHECK_INT_EQ(router_reload(r, &cfg, err, sizeof(err)), 0);
		config_free(&cfg);
	}
	CHECK(router_active(r));
	CHECK_INT_EQ(outcome_of(r, 0, &local), ROUTE_LOCAL);
	router_free(r);
}

/* ---- several workers posting at once ------------------------------------ */

#define POSTERS 2
#define PER_POSTER 1000

struct poster {
	struct router *r;
	unsigned index;
	int failures;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	struct im_event ev;
	char text[32];
	unsigned i;

	for (i = 0; i < PER_POSTER; i++) {
		event_init(&ev);
		ev.kind = IM_KIND_MESSAGE;
		ev.dir = IM_DIR_IN;
		snprintf(text, sizeof(text), "%u/%u", p->index, i);
		ev.text = text;
		if (router_post(p->r, 0, (uint64_t)p->index * PER_POSTER + i, &ev) != 0)
			p->failures++;
	}
	return NULL;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_threads_post_while_draining(void)
{
	struct router *r = router_ok("local_routing=irc\n", 1);
	struct poster posters[POSTERS];
	pthread_t th[POSTERS];
	bool started[POSTERS] = { false };
	unsigned char seen[POSTERS * PER_POSTER];
	long last[POSTERS];
	size_t got = 0, dupes = 0, misorders = 0, bad_text = 0, n, i;
	double deadline;
	struct pollfd pfd;
	unsigned k;

	if (!r)
		return;
	memset(seen, 0, sizeof(seen));
	for (k = 0; k < POSTERS; k++) {
		last[k] = -1;
		posters[k].r = r;
		posters[k].index = k;
		posters[k].failures = 0;
		started[k] = pthread_create(&th[k], NULL, poster_main, &posters[k]) == 0;
		CHECK(started[k]);
	}
	pfd.fd = router_wake_fd(r, 0);
	pfd.events = POLLIN;
	deadline = now_seconds() + 20.0;
	while (got < POSTERS * PER_POSTER && now_seconds() < deadline) {
		struct route_delivery *v;

		if (poll(&pfd, 1, 100) < 0)
			break;
		router_wake_clear(r, 0);
		v = router_take(r, 0, &n);
		for (i = 0; i < n; i++) {
			uint64_t id = v[i].flow_id;
			char want[32];

			if (id < POSTERS * PER_POSTER) {
				unsigned who = (unsigned)(id / PER_POSTER);
				long seq = (long)(id % PER_POSTER);

				if (seen[id]++)
					dupes++;
				else
					got++;
				/* Each poster's mail arrives in the order it posted. */
				if (seq <= last[who])
					misorders++;
				last[who] = seq;
				snprintf(want, sizeof(want), "%u/%ld", who, seq);
				if (!v[i].ev.text || strcmp(v[i].ev.text, want) != 0)
					bad_text++;
			}
			event_free(&v[i].ev);
		}
		free(v);
	}
	for (k = 0; k < POSTERS; k++) {
		if (started[k])
			pthread_join(th[k], NULL);
		CHECK_INT_EQ(posters[k].failures, 0);
	}
	/* Anything posted after the last take. */
	{
		struct route_delivery *v = router_take(r, 0, &n);

		for (i = 0; i < n; i++) {
			uint64_t id = v[i].flow_id;

			if (id < POSTERS * PER_POSTER && seen[id]++)
				dupes++;
			else if (id < POSTERS * PER_POSTER)
				got++;
			event_free(&v[i].ev);
		}
		free(v);
	}
	CHECK_INT_EQ(got, POSTERS * PER_POSTER);
	CHECK_INT_EQ(dupes, 0);
	CHECK_INT_EQ(misorders, 0);
	CHECK_INT_EQ(bad_text, 0);
	router_free(r);
}

static void remove_tmpdir(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "  could not remove %s\n", tmpdir);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("FAIL mkdtemp\n");
		return 1;
	}
	RUN_TEST(test_address_parse);
	RUN_TEST(test_address_ids_match);
	RUN_TEST(test_address_map_file);
	RUN_TEST(test_table_describe);
	RUN_TEST(test_table_refs);
	RUN_TEST(test_custom_handler_wins);
	RUN_TEST(test_pre_and_post_handlers_all_run);
	RUN_TEST(test_blocked_event_is_dropped_before_routing);
	RUN_TEST(test_local_routing_irc);
	RUN_TEST(test_local_routing_config_errors);
	RUN_TEST(test_local_routing_xmpp);
	RUN_TEST(test_address_map_routing);
	RUN_TEST(test_auditbot);
	RUN_TEST(test_bot_config_errors);
	RUN_TEST(test_mailboxes);
	RUN_TEST(test_mailbox_reservations);
	RUN_TEST(test_registry_many_sessions);
	RUN_TEST(test_reload);
	RUN_TEST(test_threads_post_while_draining);
	remove_tmpdir();
	TEST_MAIN_END();
}
