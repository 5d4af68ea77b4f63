// SPDX-License-Identifier: GPL-2.0
/*
 * timeout: 120
 * 10-stamp-options-c: an application gets exactly the options its rule
 * stamps, in each mode: the core of 10-stamp-options.py, 13-fill-force.py
 * and 51-clamp.py, in C on kselftest_harness.h.
 *
 * Topology: one host (or VM), the initial network namespace, loopback
 * only: client and server are sockets of this process, over 127.0.0.1 and
 * ::1. Rules select connections by port: 7310 is the port a test's rules
 * name (dir out: remote_ports, dir in: local_ports), 7311 one that only
 * the "none" tests' rules name (7310-7319 are this test's). Every option
 * is read with getsockopt() right after connect() and accept() return
 * (the ABI promises accepted sockets are stamped before accept() returns
 * them); a keepalive timer is read from /proc/net/tcp{,6}. Each test makes
 * its own rules and waits for the module's rule index to take them in
 * (debugfs tcptimeo/index reads "current 1"; not ABI) before it connects.
 *
 * What it proves (docs/ABI.md, the option attributes, mode, matched,
 * stats/stamped_in, stamped_out, skipped_app_set):
 *  - stamp: with rules naming another port only, both ends keep the
 *    kernel's defaults (the sysctls); a dir out rule with all six options
 *    gives connect()'s socket exactly those, the accepted end nothing, and
 *    a dir in rule the other way round; a rule with one option alone
 *    changes only that option; user_timeout auto is (idle + intvl x cnt)
 *    x 1000 from the rule's values, the sysctls filling what the rule
 *    leaves unset; the keepalive timer is armed with the rule's idle;
 *    each rule's matched counts its socket, stats/stamped_out or
 *    stamped_in counts it once, and connections log nothing. IPv4 and
 *    IPv6.
 *  - mode: an application that set keepidle 50, keepintvl 20 and
 *    user_timeout 999 before connect() (or keepalive, keepidle 50, keepcnt
 *    3 and user_timeout 999 on its listener, for accepted sockets) keeps
 *    them under fill and loses them under force; options it left unset
 *    get the rule's either way; skipped_app_set counts the options fill
 *    left alone (3 out; 3 or 4 in: SO_KEEPALIVE was already on) and force
 *    none; the keepalive timer runs at the idle that won (50 s or 11 s);
 *    a later getsockopt() agrees; mode reads back as written. fill with
 *    user_timeout auto uses the application's keepidle: (50 + 7 x 5) x
 *    1000.
 *  - clamp: ceilings keepalive on, keepidle 10, keepintvl 5, keepcnt 3,
 *    user_timeout 8000, syn_retries 4; per option, a value the application
 *    set above the ceiling is lowered to it, one below it kept, an unset
 *    one (the sysctl, or never for user_timeout) lowered; keepalive is
 *    only ever turned on; every other option of each socket is its
 *    ceiling. On connected sockets and on accepted ones (the listener
 *    carries the application's value); matched counts every socket.
 *    syn_retries bounds connect() only, so accepted sockets have no
 *    syn_retries case and their syn_retries is not compared (as in
 *    51-clamp.py, where that point is a skip).
 *  - load: loading the module logs exactly one line (when this test
 *    loaded it; else a skip).
 *
 * One point per case (fixture.variant.test). Every rule directory is named
 * ksft10c*: each test's teardown closes its sockets and removes the rules
 * it made, and main() removes any left over (a crashed test) and counts
 * that as a failure.
 *
 * Run as root. main() loads the module if it is not loaded (modprobe
 * configfs, mount configfs if needed, then insmod $TCPTIMEO_KO, or modprobe
 * tcptimeo without it) and unloads it at the end only then; it mounts
 * debugfs if needed; it exits with KSFT_SKIP (4) if it is not root or
 * cannot load the module.
 */
#include "lib/ksft_tt.h"	/* first: it defines _GNU_SOURCE */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#define INDEX		DEBUGFS "/tcptimeo/index"
#define PREFIX		"ksft10c"
#define PORT		7310	/* the port a test's rules name */
#define PORT_OTHER	7311	/* named only by the "none" tests' rules */
#define INDEX_WAIT	20.0	/* s: the index catches up in ~50 ms */
#define ACCEPT_WAIT	10000	/* ms */
#define JIFFY_SLACK	0.02	/* s: armed in one jiffy, read in a later one */

/* set by main() before the tests fork */
static int load_lines = -1;	/* lines loading logged; -1: not loaded here */

static long long stat_get(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), SYSFS "/stats/%s", name);
	return get_num(path);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the six options ---- */

enum { KA, IDLE, INTVL, CNT, UT, SYN, NOPT };
#define ALL	((1U << NOPT) - 1)

static const struct {
	const char *name;	/* rule attribute, and what diagnostics say */
	int level, opt;
	const char *sysctl;	/* the default; NULL: 0 */
} opt[NOPT] = {
	[KA]	= { "keepalive", SOL_SOCKET, SO_KEEPALIVE, NULL },
	[IDLE]	= { "keepidle", IPPROTO_TCP, TCP_KEEPIDLE,
		    "/proc/sys/net/ipv4/tcp_keepalive_time" },
	[INTVL]	= { "keepintvl", IPPROTO_TCP, TCP_KEEPINTVL,
		    "/proc/sys/net/ipv4/tcp_keepalive_intvl" },
	[CNT]	= { "keepcnt", IPPROTO_TCP, TCP_KEEPCNT,
		    "/proc/sys/net/ipv4/tcp_keepalive_probes" },
	[UT]	= { "user_timeout", IPPROTO_TCP, TCP_USER_TIMEOUT, NULL },
	[SYN]	= { "syn_retries", IPPROTO_TCP, TCP_SYNCNT,
		    "/proc/sys/net/ipv4/tcp_syn_retries" },
};

struct opts {
	int v[NOPT];
};

/* What a rule sets: 0 is unset (docs/ABI.md); ut_auto: user_timeout auto. */
struct rspec {
	int v[NOPT];
	bool ut_auto;
};

/* What the application sets itself: the options in set, to v. */
struct app {
	unsigned int set;
	int v[NOPT];
};

/* What getsockopt shows on a socket nobody touched: the sysctls. */
static int defaults(struct opts *d)
{
	long long v;
	int i;

	for (i = 0; i < NOPT; i++) {
		d->v[i] = 0;
		if (!opt[i].sysctl)
			continue;
		v = get_num(opt[i].sysctl);
		if (v < 0)
			return -1;
		d->v[i] = v;
	}
	return 0;
}

static int getopts(int fd, struct opts *o)
{
	socklen_t len;
	int i;

	for (i = 0; i < NOPT; i++) {
		len = sizeof(o->v[i]);
		if (getsockopt(fd, opt[i].level, opt[i].opt, &o->v[i], &len))
			return errno;
	}
	return 0;
}

static int setopts(int fd, const struct app *a)
{
	int i;

	for (i = 0; a && i < NOPT; i++)
		if ((a->set & (1U << i)) &&
		    setsockopt(fd, opt[i].level, opt[i].opt, &a->v[i],
			       sizeof(a->v[i])))
			return errno;
	return 0;
}

/* base with the rule's values, and user_timeout auto computed from them. */
static struct opts stamped(const struct opts *base, const struct rspec *r)
{
	struct opts w = *base;
	int i;

	for (i = 0; i < NOPT; i++)
		if (r->v[i])
			w.v[i] = r->v[i];
	if (r->ut_auto)
		w.v[UT] = (w.v[IDLE] + w.v[INTVL] * w.v[CNT]) * 1000;
	return w;
}

/* base with the application's values. */
static struct opts with_app(const struct opts *base, const struct app *a)
{
	struct opts w = *base;
	int i;

	for (i = 0; i < NOPT; i++)
		if (a->set & (1U << i))
			w.v[i] = a->v[i];
	return w;
}

/* Whether got equals want in the options of mask; diag: what differs. */
static bool opts_eq(const struct opts *got, const struct opts *want,
		    unsigned int mask, char *diag, size_t size)
{
	size_t o = 0;
	int i;

	diag[0] = '\0';
	for (i = 0; i < NOPT; i++) {
		if (!(mask & (1U << i)) || got->v[i] == want->v[i])
			continue;
		o += snprintf(diag + o, size - o, "%s%s: want %d got %d",
			      o ? ", " : "", opt[i].name, want->v[i], got->v[i]);
		if (o >= size)
			break;
	}
	return !diag[0];
}

/* ---- what a test made, for its teardown ---- */

struct env {
	int nrule;
	char rule[4][64];
	int nfd;
	int fd[32];
	int kmsg;
};

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->kmsg = -1;
}

static int env_fd(struct env *e, int fd)
{
	if (fd >= 0 && e->nfd < (int)(sizeof(e->fd) / sizeof(e->fd[0])))
		e->fd[e->nfd++] = fd;
	return fd;
}

static void env_close(struct env *e, int fd)
{
	int i;

	for (i = 0; i < e->nfd; i++)
		if (e->fd[i] == fd)
			e->fd[i] = e->fd[--e->nfd];
	close(fd);
}

static void env_cleanup(struct env *e)
{
	char path[256];

	while (e->nfd > 0)
		close(e->fd[--e->nfd]);
	while (e->nrule > 0) {
		snprintf(path, sizeof(path), RULES "/%s", e->rule[--e->nrule]);
		rmdir(path);
	}
	if (e->kmsg >= 0)
		close(e->kmsg);
	e->kmsg = -1;
}

/* ---- rules ---- */

static int rule_set(const char *rule, const char *attr, const char *value)
{
	char path[256], buf[128];

	snprintf(path, sizeof(path), RULES "/%s/%s", rule, attr);
	snprintf(buf, sizeof(buf), "%s\n", value);
	return write_str(path, buf);
}

static const char *rule_get(const char *rule, const char *attr, char *buf,
			    size_t size)
{
	char path[256];

	snprintf(path, sizeof(path), RULES "/%s/%s", rule, attr);
	return get(path, buf, size);
}

static long long rule_matched(const char *rule)
{
	char path[256];

	snprintf(path, sizeof(path), RULES "/%s/matched", rule);
	return get_num(path);
}

/*
 * mkdir rule NAME, then write direction, the port (dir out: remote_ports,
 * dir in: local_ports), each option the rule sets, mode (NULL: the
 * default) and enabled 1: 0, or the errno with the step in why.
 */
static int rule_new(struct env *e, const char *name, const char *dir, int port,
		    const struct rspec *r, const char *mode, char *why,
		    size_t size)
{
	char path[256], num[32];
	int i, err;

	snprintf(path, sizeof(path), RULES "/%s", name);
	if (mkdir(path, 0755)) {
		err = errno;
		snprintf(why, size, "mkdir %s: %s", path, strerror(err));
		return err;
	}
	if (e->nrule < 4)
		snprintf(e->rule[e->nrule++], sizeof(e->rule[0]), "%s", name);

#define SET(attr, val) do {						\
		err = rule_set(name, attr, val);			\
		if (err) {						\
			snprintf(why, size, "%s %s %s: %s", name, attr,	\
				 val, strerror(err));			\
			return err;					\
		}							\
	} while (0)
	SET("direction", dir);
	snprintf(num, sizeof(num), "%d", port);
	SET(strcmp(dir, "in") ? "remote_ports" : "local_ports", num);
	for (i = 0; i < NOPT; i++) {
		if (!r->v[i])
			continue;
		snprintf(num, sizeof(num), "%d", r->v[i]);
		SET(opt[i].name, num);
	}
	if (r->ut_auto)
		SET("user_timeout", "auto");
	if (mode)
		SET("mode", mode);
	SET("enabled", "1");
#undef SET
	return 0;
}

/*
 * The module rebuilds its rule index after a write (50 ms after a burst);
 * until then lookups walk the rule list. Poll debugfs tcptimeo/index
 * until it reads "current 1", as ttmod.wait_index() does: true, or false
 * with why.
 */
static bool wait_index(char *why, size_t size)
{
	double end = now() + INDEX_WAIT;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char buf[8192], *line, *save;

	for (;;) {
		get(INDEX, buf, sizeof(buf));
		if (buf[0] == '<') {
			snprintf(why, size, INDEX ": %.200s", buf);
			return false;
		}
		for (save = NULL, line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			if (!strcmp(line, "current 1"))
				return true;
		if (now() > end)
			break;
		nanosleep(&ts, NULL);
	}
	snprintf(why, size, INDEX " has no line \"current 1\" after %.0f s",
		 INDEX_WAIT);
	return false;
}

/* ---- the kernel log ---- */

/* Start reading /dev/kmsg from its end. */
static int kmsg_mark(struct env *e)
{
	if (e->kmsg >= 0)
		close(e->kmsg);
	e->kmsg = kmsg_open();
	return e->kmsg < 0 ? errno : 0;
}

/* ---- sockets over loopback ---- */

static socklen_t loopback(int family, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == 4) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*s4);
	}
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	s6->sin6_addr = in6addr_loopback;
	return sizeof(*s6);
}

/* A listener on loopback:port carrying app's options: fd, or -errno. */
static int listen_on(struct env *e, int family, int port, const struct app *a)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	int fd, one = 1, err;

	fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len))
		err = errno;
	else
		err = setopts(fd, a);
	if (!err && listen(fd, 128))
		err = errno;
	if (err) {
		close(fd);
		return -err;
	}
	return env_fd(e, fd);
}

struct conn {
	double t0;		/* before socket() */
	int cfd, afd;
	int cport;		/* the client's local port */
	struct opts c, a;	/* getsockopt() right after connect(), accept() */
};

/*
 * One connection to loopback:port, whose client set app's options before
 * connect(), accepted from lfd: 0, or -1 with why.
 */
static int conn_open(struct env *e, int family, int port, int lfd,
		     const struct app *a, struct conn *c, char *why,
		     size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int err;

	memset(c, 0, sizeof(*c));
	c->cfd = c->afd = -1;
	c->t0 = now();
	c->cfd = env_fd(e, socket(family == 4 ? AF_INET : AF_INET6,
				  SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (c->cfd < 0) {
		snprintf(why, size, "socket: %s", strerror(errno));
		return -1;
	}
	err = setopts(c->cfd, a);
	if (err) {
		snprintf(why, size, "client setsockopt: %s", strerror(err));
		return -1;
	}
	if (connect(c->cfd, (struct sockaddr *)&ss, len)) {
		snprintf(why, size, "connect to port %d: %s", port, strerror(errno));
		return -1;
	}
	/* read right away: the options must be there when connect() returns */
	err = getopts(c->cfd, &c->c);
	if (err) {
		snprintf(why, size, "client getsockopt: %s", strerror(err));
		return -1;
	}
	len = sizeof(ss);
	if (getsockname(c->cfd, (struct sockaddr *)&ss, &len)) {
		snprintf(why, size, "getsockname: %s", strerror(errno));
		return -1;
	}
	c->cport = ntohs(family == 4 ? ((struct sockaddr_in *)&ss)->sin_port :
			 ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (poll(&pfd, 1, ACCEPT_WAIT) != 1) {
		snprintf(why, size, "nothing to accept on port %d", port);
		return -1;
	}
	c->afd = env_fd(e, accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
	if (c->afd < 0) {
		snprintf(why, size, "accept: %s", strerror(errno));
		return -1;
	}
	err = getopts(c->afd, &c->a);
	if (err) {
		snprintf(why, size, "accepted getsockopt: %s", strerror(err));
		return -1;
	}
	return 0;
}

/*
 * The keepalive timer of an established connection lport -> rport, armed
 * with idle seconds after t0 (taken before connect()): true if
 * /proc/net/tcp{,6} shows it (timer 2, sk_timer) with idle - (the time
 * from t0 to the end of the read) <= left <= idle, to the file's
 * resolution (USER_HZ), as netns.keepalive_timer_check() reads ss.
 */
static bool ka_timer_ok(int family, int lport, int rport, int idle, double t0,
			char *why, size_t size)
{
	const char *path = family == 4 ? "/proc/net/tcp" : "/proc/net/tcp6";
	unsigned int lp, rp, st, tr;
	unsigned long when;
	double res = 1.0 / sysconf(_SC_CLK_TCK), left, window;
	char line[512], found[512] = "";
	bool ok;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		snprintf(why, size, "%s: %s", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x %*x:%*x %x:%lx",
			   &lp, &rp, &st, &tr, &when) != 5)
			continue;
		if ((int)lp == lport && (int)rp == rport && st == 1) {
			snprintf(found, sizeof(found), "%s", line);
			break;
		}
	}
	fclose(f);
	window = now() - t0;
	if (!found[0]) {
		snprintf(why, size, "%s: no established %d -> %d", path, lport, rport);
		return false;
	}
	found[strcspn(found, "\n")] = '\0';
	left = when * res;
	ok = tr == 2 && idle - window - JIFFY_SLACK <= left + res && left <= idle;
	snprintf(why, size, "timer %u (2: keepalive), %.2f s left, read %.2f s "
		 "after connect(), so left must be in [%.2f, %d] s: %s",
		 tr, left, window, idle - window, idle, found);
	return ok;
}

/* IPv6 over loopback may be off (ipv6.disable=1): the test skips then. */
static bool no_ipv6(int family)
{
	int fd;

	if (family != 6)
		return false;
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		return true;
	close(fd);
	return false;
}

/* ---- stamp (10-stamp-options.py) ---- */

FIXTURE(stamp) {
	struct env e;
};

FIXTURE_VARIANT(stamp) {
	int family;
	const char *dir;	/* NULL: no rule on the port connected to */
	struct rspec rule;
	bool timer;		/* check the keepalive timer */
};

#define ALL_OUT { .v = { 1, 11, 7, 5, 12345, 3 } }
#define ALL_IN { .v = { 1, 13, 9, 4, 23456, 4 } }
/* ALONE: keepalive 1, keepidle 21, keepintvl 17, keepcnt 6,
 * user_timeout 7777, syn_retries 2 */
#define ALONE(fam, d, o, name, val)					\
	FIXTURE_VARIANT_ADD(stamp, v##fam##_##d##_##name) {		\
		.family = fam, .dir = #d, .rule = { .v = { [o] = val } }, \
	};
#define ALONES(fam, d)							\
	ALONE(fam, d, KA, keepalive, 1)					\
	ALONE(fam, d, IDLE, keepidle, 21)				\
	ALONE(fam, d, INTVL, keepintvl, 17)				\
	ALONE(fam, d, CNT, keepcnt, 6)					\
	ALONE(fam, d, UT, user_timeout, 7777)				\
	ALONE(fam, d, SYN, syn_retries, 2)
#define STAMP(fam)							\
	FIXTURE_VARIANT_ADD(stamp, v##fam##_none) { .family = fam };	\
	FIXTURE_VARIANT_ADD(stamp, v##fam##_all_out) {			\
		.family = fam, .dir = "out", .rule = ALL_OUT, .timer = true, \
	};								\
	FIXTURE_VARIANT_ADD(stamp, v##fam##_all_in) {			\
		.family = fam, .dir = "in", .rule = ALL_IN, .timer = true, \
	};								\
	ALONES(fam, out) ALONES(fam, in)				\
	FIXTURE_VARIANT_ADD(stamp, v##fam##_auto_out) {			\
		.family = fam, .dir = "out",				\
		.rule = { .v = { [IDLE] = 11, [INTVL] = 7, [CNT] = 5 },	\
			  .ut_auto = true },				\
	};								\
	/* intvl and cnt from the sysctls */				\
	FIXTURE_VARIANT_ADD(stamp, v##fam##_auto_in) {			\
		.family = fam, .dir = "in",				\
		.rule = { .v = { [IDLE] = 10 }, .ut_auto = true },	\
	};
STAMP(4)
STAMP(6)

FIXTURE_SETUP(stamp)
{
	env_init(&self->e);
}

FIXTURE_TEARDOWN(stamp)
{
	env_cleanup(&self->e);
}

TEST_F(stamp, getsockopt)
{
	static const struct rspec all_out = ALL_OUT, all_in = ALL_IN;
	const char *r = PREFIX "-r", *rout = PREFIX "-other-out",
		*rin = PREFIX "-other-in";
	bool out = variant->dir && !strcmp(variant->dir, "out");
	bool in = variant->dir && !strcmp(variant->dir, "in");
	long long out0, in0, dout, din;
	struct opts dflt, want_c, want_a;
	char why[1024], first[512];
	struct conn c;
	int lfd, n;

	if (no_ipv6(variant->family))
		SKIP(return, "no IPv6");
	ASSERT_EQ(0, defaults(&dflt));
	if (variant->dir) {
		ASSERT_EQ(0, rule_new(&self->e, r, variant->dir, PORT,
				      &variant->rule, NULL, why, sizeof(why)))
			TH_LOG("%s", why);
	} else {
		/* rules of both directions, on another port */
		ASSERT_EQ(0, rule_new(&self->e, rout, "out", PORT_OTHER,
				      &all_out, NULL, why, sizeof(why)))
			TH_LOG("%s", why);
		ASSERT_EQ(0, rule_new(&self->e, rin, "in", PORT_OTHER,
				      &all_in, NULL, why, sizeof(why)))
			TH_LOG("%s", why);
	}
	ASSERT_TRUE(wait_index(why, sizeof(why))) TH_LOG("%s", why);
	lfd = listen_on(&self->e, variant->family, PORT, NULL);
	ASSERT_LE(0, lfd) TH_LOG("listen on %d: %s", PORT, strerror(-lfd));

	ASSERT_EQ(0, kmsg_mark(&self->e)) TH_LOG("/dev/kmsg: %s", strerror(errno));
	out0 = stat_get("stamped_out");
	in0 = stat_get("stamped_in");
	ASSERT_EQ(0, conn_open(&self->e, variant->family, PORT, lfd, NULL, &c,
			       why, sizeof(why)))
		TH_LOG("%s", why);
	dout = stat_get("stamped_out") - out0;
	din = stat_get("stamped_in") - in0;

	want_c = out ? stamped(&dflt, &variant->rule) : dflt;
	want_a = in ? stamped(&dflt, &variant->rule) : dflt;
	EXPECT_TRUE(opts_eq(&c.c, &want_c, ALL, why, sizeof(why)))
		TH_LOG("connected socket: %s", why);
	EXPECT_TRUE(opts_eq(&c.a, &want_a, ALL, why, sizeof(why)))
		TH_LOG("accepted socket: %s", why);

	if (variant->timer && out) {
		EXPECT_TRUE(ka_timer_ok(variant->family, c.cport, PORT,
					want_c.v[IDLE], c.t0, why, sizeof(why)))
			TH_LOG("connected socket: %s", why);
	}
	if (variant->timer && in) {
		EXPECT_TRUE(ka_timer_ok(variant->family, PORT, c.cport,
					want_a.v[IDLE], c.t0, why, sizeof(why)))
			TH_LOG("accepted socket: %s", why);
	}

	if (variant->dir) {
		EXPECT_EQ(1, rule_matched(r));
	} else {
		EXPECT_EQ(0, rule_matched(rout));
		EXPECT_EQ(0, rule_matched(rin));
	}
	EXPECT_EQ(out ? 1 : 0, dout) TH_LOG("stats/stamped_out +%lld", dout);
	EXPECT_EQ(in ? 1 : 0, din) TH_LOG("stats/stamped_in +%lld", din);
	n = kmsg_ours(self->e.kmsg, first, sizeof(first));
	EXPECT_EQ(0, n) TH_LOG("the connection logged %d lines, the first: '%s'",
			       n, first);
}

/* ---- fill and force (13-fill-force.py) ---- */

FIXTURE(mode) {
	struct env e;
};

FIXTURE_VARIANT(mode) {
	int family;
	const char *mode;
	bool in;	/* the rule is dir in; else dir out */
};

#define MODE(fam, m)							\
	FIXTURE_VARIANT_ADD(mode, v##fam##_##m##_out) {			\
		.family = fam, .mode = #m };				\
	FIXTURE_VARIANT_ADD(mode, v##fam##_##m##_in) {			\
		.family = fam, .mode = #m, .in = true };
MODE(4, fill)
MODE(4, force)
MODE(6, fill)
MODE(6, force)

FIXTURE_SETUP(mode)
{
	env_init(&self->e);
}

FIXTURE_TEARDOWN(mode)
{
	env_cleanup(&self->e);
}

TEST_F(mode, app_values)
{
	static const struct rspec rule = { .v = { 1, 11, 7, 5, 12345, 3 } };
	/* set before connect() */
	static const struct app app_out = {
		.set = 1U << IDLE | 1U << INTVL | 1U << UT,
		.v = { [IDLE] = 50, [INTVL] = 20, [UT] = 999 },
	};
	/* set on the listener, for accepted sockets */
	static const struct app app_in = {
		.set = 1U << KA | 1U << IDLE | 1U << CNT | 1U << UT,
		.v = { [KA] = 1, [IDLE] = 50, [CNT] = 3, [UT] = 999 },
	};
	const struct app *app = variant->in ? &app_in : &app_out;
	bool fill = !strcmp(variant->mode, "fill");
	const char *r = PREFIX "-mode";
	struct opts dflt, rv, want, again;
	const struct opts *got, *other;
	char why[1024], buf[64];
	long long s0, ds;
	struct conn c;
	int lfd;

	if (no_ipv6(variant->family))
		SKIP(return, "no IPv6");
	ASSERT_EQ(0, defaults(&dflt));
	ASSERT_EQ(0, rule_new(&self->e, r, variant->in ? "in" : "out", PORT,
			      &rule, variant->mode, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_STREQ(variant->mode, rule_get(r, "mode", buf, sizeof(buf)));
	ASSERT_TRUE(wait_index(why, sizeof(why))) TH_LOG("%s", why);
	lfd = listen_on(&self->e, variant->family, PORT,
			variant->in ? &app_in : NULL);
	ASSERT_LE(0, lfd) TH_LOG("listen on %d: %s", PORT, strerror(-lfd));

	s0 = stat_get("skipped_app_set");
	ASSERT_EQ(0, conn_open(&self->e, variant->family, PORT, lfd,
			       variant->in ? NULL : &app_out, &c, why, sizeof(why)))
		TH_LOG("%s", why);
	ds = stat_get("skipped_app_set") - s0;

	rv = stamped(&dflt, &rule);
	want = fill ? with_app(&rv, app) : rv;
	got = variant->in ? &c.a : &c.c;
	other = variant->in ? &c.c : &c.a;
	EXPECT_TRUE(opts_eq(got, &want, ALL, why, sizeof(why)))
		TH_LOG("%s socket, mode %s: %s", variant->in ? "accepted" :
		       "connected", variant->mode, why);
	EXPECT_TRUE(opts_eq(other, &dflt, ALL, why, sizeof(why)))
		TH_LOG("the other end: %s", why);

	if (!fill) {
		EXPECT_EQ(0, ds) TH_LOG("skipped_app_set +%lld", ds);
	} else if (!variant->in) {
		EXPECT_EQ(3, ds) TH_LOG("skipped_app_set +%lld", ds);
	} else {
		/* keepidle, keepcnt, user_timeout; SO_KEEPALIVE was already on,
		 * which may or may not count as an option left alone */
		EXPECT_TRUE(ds == 3 || ds == 4) TH_LOG("skipped_app_set +%lld, "
						       "want 3 or 4", ds);
	}
	EXPECT_EQ(1, rule_matched(r));

	/* the keepalive timer runs at the idle that won */
	if (variant->in) {
		EXPECT_TRUE(ka_timer_ok(variant->family, PORT, c.cport,
					want.v[IDLE], c.t0, why, sizeof(why)))
			TH_LOG("accepted socket: %s", why);
	} else {
		EXPECT_TRUE(ka_timer_ok(variant->family, c.cport, PORT,
					want.v[IDLE], c.t0, why, sizeof(why)))
			TH_LOG("connected socket: %s", why);
	}

	/* a later getsockopt() agrees */
	ASSERT_EQ(0, getopts(variant->in ? c.afd : c.cfd, &again));
	EXPECT_TRUE(opts_eq(&again, &want, ALL, why, sizeof(why)))
		TH_LOG("later getsockopt: %s", why);
}

/* fill + user_timeout auto: from the effective values, the app's keepidle. */
FIXTURE(fill_auto) {
	struct env e;
};

FIXTURE_VARIANT(fill_auto) {
	int family;
};

FIXTURE_VARIANT_ADD(fill_auto, v4) { .family = 4 };
FIXTURE_VARIANT_ADD(fill_auto, v6) { .family = 6 };

FIXTURE_SETUP(fill_auto)
{
	env_init(&self->e);
}

FIXTURE_TEARDOWN(fill_auto)
{
	env_cleanup(&self->e);
}

TEST_F(fill_auto, app_idle)
{
	static const struct rspec rule = {
		.v = { [INTVL] = 7, [CNT] = 5 }, .ut_auto = true,
	};
	static const struct app app = { .set = 1U << IDLE, .v = { [IDLE] = 50 } };
	struct opts want;
	char why[1024];
	struct conn c;
	int lfd;

	if (no_ipv6(variant->family))
		SKIP(return, "no IPv6");
	ASSERT_EQ(0, defaults(&want));
	ASSERT_EQ(0, rule_new(&self->e, PREFIX "-auto", "out", PORT, &rule,
			      NULL, why, sizeof(why)))
		TH_LOG("%s", why);
	ASSERT_TRUE(wait_index(why, sizeof(why))) TH_LOG("%s", why);
	lfd = listen_on(&self->e, variant->family, PORT, NULL);
	ASSERT_LE(0, lfd) TH_LOG("listen on %d: %s", PORT, strerror(-lfd));
	ASSERT_EQ(0, conn_open(&self->e, variant->family, PORT, lfd, &app, &c,
			       why, sizeof(why)))
		TH_LOG("%s", why);

	want.v[IDLE] = 50;
	want.v[INTVL] = 7;
	want.v[CNT] = 5;
	want.v[UT] = (50 + 7 * 5) * 1000;
	EXPECT_EQ(want.v[UT], c.c.v[UT]);
	EXPECT_TRUE(opts_eq(&c.c, &want, ALL, why, sizeof(why)))
		TH_LOG("connected socket: %s", why);
}

/* ---- clamp (51-clamp.py) ---- */

FIXTURE(clamp) {
	struct env e;
};

FIXTURE_VARIANT(clamp) {
	int family;
	bool accepted;	/* dir in, the listener carries the app's value */
	int opt;
	bool has_above;	/* keepalive has no value above the ceiling */
	int above, below;
};

#define CLAMP1(fam, side, acc, o, name, ha, ab, be)			\
	FIXTURE_VARIANT_ADD(clamp, v##fam##_##side##_##name) {		\
		.family = fam, .accepted = acc, .opt = o,		\
		.has_above = ha, .above = ab, .below = be,		\
	};
/* option: above, below; syn_retries bounds connect() only */
#define CLAMP(fam, side, acc)						\
	CLAMP1(fam, side, acc, KA, keepalive, false, 0, 0)		\
	CLAMP1(fam, side, acc, IDLE, keepidle, true, 100, 2)		\
	CLAMP1(fam, side, acc, INTVL, keepintvl, true, 50, 1)		\
	CLAMP1(fam, side, acc, CNT, keepcnt, true, 9, 1)		\
	CLAMP1(fam, side, acc, UT, user_timeout, true, 60000, 1500)
#define CLAMP_SYN(fam)							\
	CLAMP1(fam, connected, false, SYN, syn_retries, true, 8, 2)
CLAMP(4, connected, false)
CLAMP_SYN(4)
CLAMP(4, accepted, true)
CLAMP(6, connected, false)
CLAMP_SYN(6)
CLAMP(6, accepted, true)

FIXTURE_SETUP(clamp)
{
	env_init(&self->e);
}

FIXTURE_TEARDOWN(clamp)
{
	env_cleanup(&self->e);
}

TEST_F(clamp, table)
{
	static const struct rspec ceil = { .v = { 1, 10, 5, 3, 8000, 4 } };
	static const char *const cases[] = { "above", "below", "unset" };
	const int o = variant->opt;
	const char *r = PREFIX "-ceil";
	unsigned int mask = variant->accepted ? ALL & ~(1U << SYN) : ALL;
	struct opts dflt, want;
	char why[1024], buf[64];
	struct app app;
	int i, lfd = -1, n = 0;
	struct conn c;

	if (no_ipv6(variant->family))
		SKIP(return, "no IPv6");
	ASSERT_EQ(0, defaults(&dflt));
	/* so that an unset option is above its ceiling */
	ASSERT_TRUE(dflt.v[IDLE] > ceil.v[IDLE] && dflt.v[INTVL] > ceil.v[INTVL] &&
		    dflt.v[CNT] > ceil.v[CNT] && dflt.v[SYN] > ceil.v[SYN])
		TH_LOG("sysctls idle %d intvl %d cnt %d syn_retries %d",
		       dflt.v[IDLE], dflt.v[INTVL], dflt.v[CNT], dflt.v[SYN]);
	ASSERT_EQ(0, rule_new(&self->e, r, variant->accepted ? "in" : "out",
			      PORT, &ceil, "clamp", why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_STREQ("clamp", rule_get(r, "mode", buf, sizeof(buf)));
	ASSERT_TRUE(wait_index(why, sizeof(why))) TH_LOG("%s", why);
	if (!variant->accepted) {
		lfd = listen_on(&self->e, variant->family, PORT, NULL);
		ASSERT_LE(0, lfd) TH_LOG("listen on %d: %s", PORT, strerror(-lfd));
	}

	for (i = 0; i < 3; i++) {
		if (i == 0 && !variant->has_above)
			continue;
		memset(&app, 0, sizeof(app));
		if (i < 2) {
			app.set = 1U << o;
			app.v[o] = i == 0 ? variant->above : variant->below;
		}
		memcpy(want.v, ceil.v, sizeof(want.v));
		if (i == 1 && o != KA)
			want.v[o] = variant->below;	/* kept */

		if (variant->accepted) {
			/* one listener per case, carrying the app's value */
			lfd = listen_on(&self->e, variant->family, PORT, &app);
			ASSERT_LE(0, lfd) TH_LOG("listen on %d: %s", PORT,
						 strerror(-lfd));
		}
		ASSERT_EQ(0, conn_open(&self->e, variant->family, PORT, lfd,
				       variant->accepted ? NULL : &app, &c,
				       why, sizeof(why)))
			TH_LOG("%s: %s", cases[i], why);
		n++;
		EXPECT_TRUE(opts_eq(variant->accepted ? &c.a : &c.c, &want,
				    mask, why, sizeof(why)))
			TH_LOG("%s %s app=%s%d: %s", opt[o].name, cases[i],
			       i < 2 ? "" : "unset ", i < 2 ? app.v[o] : dflt.v[o],
			       why);
		if (variant->accepted)
			env_close(&self->e, lfd);
	}
	EXPECT_EQ(n, rule_matched(r));
}

/* ---- loading ---- */

FIXTURE(load) {
};

FIXTURE_SETUP(load)
{
}

FIXTURE_TEARDOWN(load)
{
}

TEST_F(load, logs_one_line)
{
	if (load_lines < 0)
		SKIP(return, "tcptimeo was loaded before this test started");
	EXPECT_EQ(1, load_lines);
}

/* ---- main: load the module, run the harness in a child, clean up ---- */

int main(int argc, char **argv)
{
	struct ksft_tt k = { .prefix = PREFIX };
	char first[512];
	int kmsg, rc;

	if (ksft_tt_listing(argc, argv))
		return test_harness_run(argc, argv);
	/* what loading logs, if ksft_tt_setup() loads the module */
	kmsg = geteuid() ? -1 : kmsg_open();
	ksft_tt_setup(&k);
	if (k.loaded) {
		load_lines = kmsg >= 0 ? kmsg_ours(kmsg, first, sizeof(first)) : 0;
		if (load_lines != 1)
			ksft_print_msg("loading logged %d lines, the first: '%s'\n",
				       load_lines, first);
	}
	if (kmsg >= 0)
		close(kmsg);
	/* the rule index (wait_index()) */
	if (!mounted(DEBUGFS, "debugfs"))
		mount("none", DEBUGFS, "debugfs", 0, NULL);
	rc = ksft_tt_run(&k, argc, argv);
	return ksft_tt_finish(&k, rc);
}
