// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeoctl explain: which rule the module would apply to a connection
 * and the values the socket ends up with.
 *
 * Precedence is not restated here: rules are ordered by tt_rule_cmp()
 * and matched by tt_sel_match() from lib/tt_parse.c, the code the module
 * runs; this file only adds what the kernel knows beside the tuple
 * (network namespace, cgroup subtree) exactly as module/rules.c
 * tt_rule_eval() does, and the two decision moments of docs/ABI.md
 * §Semantics: an outgoing connection is decided at connect() unless the
 * first rule that could match needs a local port the application did not
 * bind; then it is decided when established, first match on the full
 * tuple.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

struct ectx {
	u32 netns;
	char cgroup[TCPTIMEO_CGROUP_PATH_MAX];
};

static enum tt_verdict eval(const struct ctl_rule *r, const struct tt_tuple *t,
			    const struct ectx *c)
{
	enum tt_verdict v = tt_sel_match(&r->sel, t);

	if (v == TT_NOMATCH)
		return v;
	if (r->netns && r->netns != c->netns)
		return TT_NOMATCH;
	if (r->cgroup[0] && !ctl_cgroup_under(c->cgroup, r->cgroup))
		return TT_NOMATCH;
	return v;
}

/* The first rule that does not say no, in evaluation order. */
static const struct ctl_rule *lookup(const struct ctl_rule *r, size_t n,
				     const struct tt_tuple *t,
				     const struct ectx *c, enum tt_verdict *v,
				     size_t from)
{
	size_t i;

	for (i = from; i < n; i++) {
		*v = eval(&r[i], t, c);
		if (*v != TT_NOMATCH)
			return &r[i];
	}
	*v = TT_NOMATCH;
	return NULL;
}

static int parse_endpoint(const char *s, struct tt_tuple *t)
{
	const char *colon, *a = s;
	struct tt_cidr c;
	size_t alen;
	u32 port;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -1;
		a = s + 1;
		alen = (size_t)(rb - a);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -1;	/* IPv6 needs brackets */
		alen = (size_t)(colon - s);
	}
	if (memchr(a, '/', alen) || tt_parse_cidr(a, alen, &c))
		return -1;
	if (tt_parse_u32(colon + 1, strlen(colon + 1), 65535, &port) || !port)
		return -1;
	memset(t->raddr, 0, sizeof(t->raddr));
	if (c.family == 6) {
		static const u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					       0xff, 0xff };

		if (!memcmp(c.addr, mapped, 12)) {
			t->family = 4;	/* an IPv4-mapped peer is IPv4 */
			memcpy(t->raddr, c.addr + 12, 4);
		} else {
			t->family = 6;
			memcpy(t->raddr, c.addr, 16);
		}
	} else {
		t->family = 4;
		memcpy(t->raddr, c.addr, 4);
	}
	t->rport = (u16)port;
	return 0;
}

static int pid_cgroup(const char *pid, char *out, size_t size)
{
	char path[64], *buf, *p;
	size_t len;
	int err;

	snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
	err = ctl_read_file(path, &buf, &len);
	if (err)
		return err;
	buf = realloc(buf, len + 1);
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, "0::", 3)) {
			p += 3;
			snprintf(out, size, "%.*s", (int)strcspn(p, "\n"), p);
			free(buf);
			return 0;
		}
	}
	free(buf);
	return -ENOENT;
}

static const char *sysctl_ns = "this process's";

static u32 own_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (u32)st.st_ino;
}

struct sysctls {
	unsigned long idle, intvl, cnt, syn, retries2, rto_max;
	bool rto_ok;		/* the kernel and the module have rto_max */
	bool rto_sysctl;	/* net.ipv4.tcp_rto_max_ms was read */
};

/* TCP_RTO_MAX and TCP_RTO_MIN, in ms: the kernel's constants */
#define CTL_RTO_MAX_DEFAULT	120000UL
#define CTL_RTO_MIN		200UL

/*
 * rto_max (TCP_RTO_MAX_MS, Linux 6.15) can be stamped when the module says
 * so in its features file; without the module (explain --rules), when the
 * kernel has the sysctl.
 */
static bool rto_max_ok(void)
{
	unsigned long v;

	if (!ctl_module_check_quiet())
		return ctl_feature(ctl_fields[F_RTO_MAX].attr);
	return !ctl_sysctl_read("net/ipv4/tcp_rto_max_ms", &v);
}

static void read_sysctls(struct sysctls *s)
{
	if (ctl_sysctl_read("net/ipv4/tcp_keepalive_time", &s->idle))
		s->idle = 7200;
	if (ctl_sysctl_read("net/ipv4/tcp_keepalive_intvl", &s->intvl))
		s->intvl = 75;
	if (ctl_sysctl_read("net/ipv4/tcp_keepalive_probes", &s->cnt))
		s->cnt = 9;
	if (ctl_sysctl_read("net/ipv4/tcp_syn_retries", &s->syn))
		s->syn = 6;
	if (ctl_sysctl_read("net/ipv4/tcp_retries2", &s->retries2))
		s->retries2 = 15;
	s->rto_sysctl = !ctl_sysctl_read("net/ipv4/tcp_rto_max_ms",
					 &s->rto_max);
	if (!s->rto_sysctl)
		s->rto_max = CTL_RTO_MAX_DEFAULT;
}

enum { V_KA, V_IDLE, V_INTVL, V_CNT, V_UTO, V_SYN, V_RTO, V_N };
_Static_assert(V_N == CTL_NOPTS, "one name per option");

/* JSON keys of the six options, in this order (explain, sockets -j) */
const char *const ctl_opt_names[CTL_NOPTS] = {
	"keepalive", "keepidle", "keepintvl", "keepcnt", "user_timeout",
	"syn_retries", "rto_max",
};
static const char *const vopts[V_N] = {
	"SO_KEEPALIVE", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT",
	"TCP_USER_TIMEOUT", "TCP_SYNCNT", "TCP_RTO_MAX_MS",
};
static const char *const vunits[V_N] = {
	"", " s", " s", "", " ms", "", " ms",
};

struct values {
	unsigned long v[V_N];
	const char *src[V_N];
	bool no_rto;		/* the kernel has no TCP_RTO_MAX_MS */
	unsigned long rto;	/* the RTO ceiling in effect, ms */
};

/*
 * How long a connection with unacknowledged data lives once the peer is
 * gone: TCP_USER_TIMEOUT if set, else the tcp_retries2 budget as the
 * kernel's tcp_model_timeout() computes it: the RTO doubles from
 * TCP_RTO_MIN up to rto_max, then stays there.
 */
static unsigned long long retries2_budget(unsigned long retries2,
					  unsigned long rto_max,
					  unsigned int *thresh)
{
	unsigned long q = rto_max / CTL_RTO_MIN;
	unsigned int t = 0;

	while (q >>= 1)
		t++;		/* ilog2(rto_max / rto_base) */
	*thresh = t;
	if (retries2 <= t)
		return ((2ULL << retries2) - 1) * CTL_RTO_MIN;
	return ((2ULL << t) - 1) * CTL_RTO_MIN +
	       (unsigned long long)(retries2 - t) * rto_max;
}

/* "924.6 s", "14.4 s", "291 s" */
static const char *secs_text(unsigned long long ms, char *buf, size_t size)
{
	if (ms % 1000 == 0)
		snprintf(buf, size, "%llu s", ms / 1000);
	else if (ms % 100 == 0)
		snprintf(buf, size, "%llu.%llu s", ms / 1000, ms % 1000 / 100);
	else
		snprintf(buf, size, "%llu.%03llu s", ms / 1000, ms % 1000);
	return buf;
}

/*
 * One option of the rule (@rule, 0: unset) against the kernel's value
 * @dflt: the rule's, except that clamp only ever lowers (module/stamp.c).
 */
static void pick(unsigned long *v, const char **src, unsigned long rule,
		 unsigned long dflt, bool clamp, const char *dflt_src)
{
	if (!rule) {
		*v = dflt;
		*src = dflt_src;
	} else if (clamp && dflt <= rule) {
		*v = dflt;
		*src = "sysctl, lower than the rule's ceiling (clamp)";
	} else {
		*v = rule;
		*src = clamp ? "rule (clamp)" : "rule";
	}
}

/*
 * What getsockopt() returns for an application that set none of these,
 * after rule @r (NULL: none, or nothing stamped) — as module/stamp.c
 * writes it. @syn_ok: the decision came before the first SYN (or the
 * connection was accepted).
 */
static void compute(const struct ctl_rule *r, bool syn_ok,
		    const struct sysctls *s, struct values *out)
{
	const struct tt_opts *o = r ? &r->opts : NULL;
	unsigned long long ms;

	bool clamp = o && o->mode == TCPTIMEO_MODE_CLAMP;

	out->v[V_KA] = o && o->keepalive;
	out->src[V_KA] = o && o->keepalive ? "rule" : "off (not set)";
	pick(&out->v[V_IDLE], &out->src[V_IDLE], o ? o->keepidle : 0, s->idle,
	     clamp, "sysctl net.ipv4.tcp_keepalive_time");
	pick(&out->v[V_INTVL], &out->src[V_INTVL], o ? o->keepintvl : 0,
	     s->intvl, clamp, "sysctl net.ipv4.tcp_keepalive_intvl");
	pick(&out->v[V_CNT], &out->src[V_CNT], o ? o->keepcnt : 0, s->cnt,
	     clamp, "sysctl net.ipv4.tcp_keepalive_probes");
	if (o && o->user_timeout == TCPTIMEO_USER_TIMEOUT_AUTO) {
		ms = ((unsigned long long)out->v[V_IDLE] +
		      (unsigned long long)out->v[V_INTVL] * out->v[V_CNT]) *
		     1000ULL;
		if (ms > TCPTIMEO_USER_TIMEOUT_MAX)
			ms = TCPTIMEO_USER_TIMEOUT_MAX;
		out->v[V_UTO] = (unsigned long)ms;
		out->src[V_UTO] = "rule (auto = (idle + intvl * cnt) * 1000)";
	} else if (o && o->user_timeout) {
		out->v[V_UTO] = o->user_timeout;
		out->src[V_UTO] = "rule";
	} else {
		out->v[V_UTO] = 0;
		out->src[V_UTO] = "unset (no limit)";
	}
	/*
	 * Decided after the handshake, the module still writes syn_retries
	 * (getsockopt shows it), but the SYNs were already sent under the
	 * sysctl's count.
	 */
	pick(&out->v[V_SYN], &out->src[V_SYN], o ? o->syn_retries : 0, s->syn,
	     clamp, "sysctl net.ipv4.tcp_syn_retries");
	if (o && o->syn_retries && !syn_ok && out->v[V_SYN] == o->syn_retries)
		out->src[V_SYN] = "rule, written after the handshake: "
				  "connect() used the sysctl's count";
	/* TCP_RTO_MAX_MS (6.15): without it the ceiling is TCP_RTO_MAX */
	out->no_rto = !s->rto_ok && !s->rto_sysctl;
	if (!s->rto_ok && s->rto_sysctl) {
		/* the kernel has it, the module cannot stamp it */
		out->v[V_RTO] = s->rto_max;
		out->src[V_RTO] = o && o->rto_max ?
			"sysctl net.ipv4.tcp_rto_max_ms (this module has no "
			"rto_max, older than tcptimeoctl: the rule's rto-max "
			"is refused)" : "sysctl net.ipv4.tcp_rto_max_ms";
		out->rto = s->rto_max;
	} else if (!s->rto_ok) {
		out->v[V_RTO] = 0;
		out->src[V_RTO] = o && o->rto_max ?
			"not supported by this kernel (TCP_RTO_MAX_MS needs "
			"Linux 6.15 or later): the rule's rto-max is refused; "
			"the ceiling is 120000 ms" :
			"not supported by this kernel (TCP_RTO_MAX_MS needs "
			"Linux 6.15 or later): the ceiling is 120000 ms";
		out->rto = CTL_RTO_MAX_DEFAULT;
	} else {
		pick(&out->v[V_RTO], &out->src[V_RTO], o ? o->rto_max : 0,
		     s->rto_max, clamp, s->rto_sysctl ?
		     "sysctl net.ipv4.tcp_rto_max_ms" :
		     "kernel default 120000 (net.ipv4.tcp_rto_max_ms not read)");
		out->rto = out->v[V_RTO];
	}
}

/* The dead-peer bound of a busy connection, and the heal delay. */
static void print_bound_text(const struct values *v, const struct sysctls *s)
{
	unsigned long long ms;
	unsigned int t;
	char a[32], b[32];

	if (v->v[V_UTO]) {
		printf("busy connection, peer gone: ends after %s "
		       "(user_timeout %lu ms; rto_max only makes the "
		       "retransmissions denser)\n",
		       secs_text(v->v[V_UTO], a, sizeof(a)), v->v[V_UTO]);
	} else {
		ms = retries2_budget(s->retries2, v->rto, &t);
		printf("busy connection, peer gone: ends after about %s "
		       "(net.ipv4.tcp_retries2 %lu with rto_max %s: the "
		       "RTO doubles from 200 ms %u times, then stays at "
		       "rto_max; the end comes at the first retransmission "
		       "after it)\n", secs_text(ms, a, sizeof(a)),
		       s->retries2, secs_text(v->rto, b, sizeof(b)), t);
	}
	printf("partition healed: the next retransmission, and the "
	       "connection's recovery, come within rto_max = %s%s\n",
	       secs_text(v->rto, a, sizeof(a)),
	       v->no_rto ? " (TCP_RTO_MAX, this kernel's fixed ceiling)" : "");
}

static void print_bound_json(const struct values *v, const struct sysctls *s)
{
	unsigned int t;

	if (v->v[V_UTO])
		printf(",\"busy_timeout\":{\"ms\":%lu,\"by\":"
		       "\"user_timeout\",\"tcp_retries2\":%lu,\"rto_max\":%lu}",
		       v->v[V_UTO], s->retries2, v->rto);
	else
		printf(",\"busy_timeout\":{\"ms\":%llu,\"by\":"
		       "\"tcp_retries2\",\"tcp_retries2\":%lu,\"rto_max\":%lu}",
		       retries2_budget(s->retries2, v->rto, &t), s->retries2,
		       v->rto);
	printf(",\"heal_retransmit_max_ms\":%lu", v->rto);
}

static void print_values_text(const struct values *v, const char *indent)
{
	int i;

	for (i = 0; i < V_N; i++) {
		char num[32];

		if (i == V_RTO && v->no_rto)
			snprintf(num, sizeof(num), "-");
		else
			snprintf(num, sizeof(num), "%lu%s", v->v[i], vunits[i]);
		printf("%s%-17s %-12s %s\n", indent, vopts[i], num, v->src[i]);
	}
}

static void print_values_json(const struct values *v)
{
	int i;

	fputs("{", stdout);
	/* one JSON type per field everywhere: SO_KEEPALIVE is a boolean */
	printf("\"%s\":%s", ctl_opt_names[V_KA], v->v[V_KA] ? "true" : "false");
	for (i = V_KA + 1; i < V_N; i++)
		if (i == V_RTO && v->no_rto)
			printf(",\"%s\":null", ctl_opt_names[i]);
		else
			printf(",\"%s\":%lu", ctl_opt_names[i], v->v[i]);
	fputs("}", stdout);
}

static void print_sources_json(const struct values *v)
{
	int i;

	fputs("{", stdout);
	for (i = 0; i < V_N; i++) {
		printf("%s\"%s\":", i ? "," : "", ctl_opt_names[i]);
		json_str(stdout, v->src[i]);
	}
	fputs("}", stdout);
}

static const char *mode_note(const struct ctl_rule *r)
{
	if (r->opts.audit)
		return "audit: the rule counts the connection and stamps nothing";
	switch (r->opts.mode) {
	case TCPTIMEO_MODE_FORCE:
		return "force: overwrites values the application set";
	case TCPTIMEO_MODE_CLAMP:
		return "clamp: lowers values above the rule's, keeps lower ones";
	default:
		return "fill: values the application set itself are kept";
	}
}

/*
 * What becomes of the application's own setsockopt() after connect() or
 * accept() (docs/ABI.md, "After the application's setsockopt()"): a
 * keyword for -j and a sentence for the text output.
 */
struct after {
	const char *key, *note;
};

static const struct after after_restore = { "restore",
	"a later setsockopt() by the application: the rule's values are put "
	"back before it returns" };
static const struct after after_restore_above = { "restore_above",
	"a later setsockopt() by the application: values above the rule's (or "
	"keepalive off, user timeout 0) are put back before it returns, lower "
	"ones stay" };
static const struct after after_keep_auto = { "keep_auto_follows",
	"a later setsockopt() by the application: its value stays, and the "
	"auto user timeout follows its keepalive values until it sets "
	"TCP_USER_TIMEOUT itself" };
static const struct after after_keep = { "keep",
	"a later setsockopt() by the application: its value stays" };

/* NULL: nothing (no rule, or an audit rule, stamps the socket). */
static const struct after *after_of(const struct ctl_rule *r)
{
	if (!r || r->opts.audit)
		return NULL;
	switch (r->opts.mode) {
	case TCPTIMEO_MODE_FORCE:
		return &after_restore;
	case TCPTIMEO_MODE_CLAMP:
		return &after_restore_above;
	default:
		return r->opts.user_timeout == TCPTIMEO_USER_TIMEOUT_AUTO ?
		       &after_keep_auto : &after_keep;
	}
}

static int load_rules(const char *file, struct ctl_rule **out, size_t *n)
{
	struct ctl_rule *all, *en;
	struct ctl_file f;
	size_t cnt, i, k = 0;
	int ret;

	if (file) {
		ret = ctl_file_load(&f, file, file);
		if (ret)
			return ret;
		if (f.nerr) {
			for (i = 0; i < f.nerr; i++)
				fprintf(stderr, "%s:%d: %s\n", file,
					f.errs[i].line, f.errs[i].msg);
			ctl_file_free(&f);
			return EXIT_INPUT;
		}
		all = f.rules;
		cnt = f.n;
		f.rules = NULL;
		ctl_file_free(&f);
		if (cnt)
			qsort(all, cnt, sizeof(*all), ctl_rule_order);
	} else {
		if ((ret = ctl_kernel_check()) ||
		    (ret = ctl_kernel_list(&all, &cnt)))
			return ret;
	}
	en = calloc(cnt + 1, sizeof(*en));
	if (!en) {
		free(all);
		ctl_err("out of memory");
		return EXIT_INPUT;
	}
	for (i = 0; i < cnt; i++)
		if (all[i].enabled)
			en[k++] = all[i];
	free(all);
	*out = en;
	*n = k;
	return EXIT_OK;
}

int cmd_explain(int argc, char **argv)
{
	const char *dir = NULL, *remote = NULL, *lport_s = NULL, *cg = NULL;
	const char *pid = NULL, *ns = NULL, *file = NULL;
	char msg[CTL_MSG_MAX], addr[64], buf[4096];
	bool json = false, bound = false, off = false, gaudit = false;
	const struct ctl_rule *win = NULL, *first;
	struct ctl_rule *rules;
	struct tt_tuple t;
	struct ectx c;
	struct sysctls sc;
	struct values val;
	struct tt_cidr ca;
	enum tt_verdict v;
	const char *decided;
	size_t n, i;
	u32 lport = 0;
	int ret, err;

	for (i = 1; i < (size_t)argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(a, "--bound")) {
			bound = true;
			continue;
		}
		if (!strcmp(a, "--dir"))
			dst = &dir;
		else if (!strcmp(a, "--remote"))
			dst = &remote;
		else if (!strcmp(a, "--local-port"))
			dst = &lport_s;
		else if (!strcmp(a, "--cgroup"))
			dst = &cg;
		else if (!strcmp(a, "--pid"))
			dst = &pid;
		else if (!strcmp(a, "--netns"))
			dst = &ns;
		else if (!strcmp(a, "--rules"))
			dst = &file;
		if (!dst) {
			ctl_err("explain: unknown argument '%s'", a);
			return EXIT_INPUT;
		}
		if (i + 1 >= (size_t)argc) {
			ctl_err("explain: %s needs a value", a);
			return EXIT_INPUT;
		}
		*dst = argv[++i];
	}
	memset(&t, 0, sizeof(t));
	if (!dir || (strcmp(dir, "in") && strcmp(dir, "out"))) {
		ctl_err("explain: --dir: %s; valid: in (accepted) or out "
			"(connected)", dir ? "invalid" : "missing");
		return EXIT_INPUT;
	}
	t.dir = !strcmp(dir, "in") ? TCPTIMEO_DIR_IN : TCPTIMEO_DIR_OUT;
	if (!remote || parse_endpoint(remote, &t)) {
		ctl_err("explain: --remote: %s; valid: ADDR:PORT, IPv6 as "
			"[ADDR]:PORT, port 1..65535", remote ? "invalid" :
			"missing");
		return EXIT_INPUT;
	}
	if (lport_s && (tt_parse_u32(lport_s, strlen(lport_s), 65535, &lport) ||
			!lport)) {
		ctl_err("explain: --local-port '%s': invalid; valid: 1..65535",
			lport_s);
		return EXIT_INPUT;
	}
	if (t.dir == TCPTIMEO_DIR_IN && !lport_s) {
		ctl_err("explain: --local-port: required with --dir in (the "
			"listening port); valid: 1..65535");
		return EXIT_INPUT;
	}
	if (bound && !lport_s) {
		ctl_err("explain: --bound: needs --local-port");
		return EXIT_INPUT;
	}
	if (cg && pid) {
		ctl_err("explain: give --cgroup or --pid, not both");
		return EXIT_INPUT;
	}
	if (pid) {
		u32 p;

		if (tt_parse_u32(pid, strlen(pid), 0xffffffffU, &p) || !p) {
			ctl_err("explain: --pid '%s': invalid; valid: a process "
				"ID", pid);
			return EXIT_INPUT;
		}
	}
	memset(&c, 0, sizeof(c));
	if (cg) {
		if (cg[0] != '/' || strlen(cg) >= sizeof(c.cgroup)) {
			ctl_err("explain: --cgroup '%s': invalid; valid: an "
				"absolute cgroup v2 path", cg);
			return EXIT_INPUT;
		}
		snprintf(c.cgroup, sizeof(c.cgroup), "%s", cg);
	} else {
		err = pid_cgroup(pid ? pid : "self", c.cgroup, sizeof(c.cgroup));
		if (err) {
			if (pid) {
				ctl_err("explain: --pid %s: cannot read its "
					"cgroup: %s", pid, strerror(-err));
				return EXIT_INPUT;
			}
			snprintf(c.cgroup, sizeof(c.cgroup), "/");
		}
	}
	{
		char nsbuf[80];
		const char *arg = ns;

		if (!arg) {
			snprintf(nsbuf, sizeof(nsbuf), "/proc/%s/ns/net",
				 pid ? pid : "self");
			arg = nsbuf;
		}
		if (!strcmp(arg, "0") || !strcmp(arg, "any")) {
			ctl_err("explain: --netns: a connection lives in one "
				"namespace; valid: %s", ctl_fields[F_NETNS].valid);
			return EXIT_INPUT;
		}
		if (ctl_netns_resolve(arg, &c.netns, msg, sizeof(msg))) {
			ctl_err("explain: --netns %s; valid: %s", msg,
				ctl_fields[F_NETNS].valid);
			return EXIT_INPUT;
		}
	}

	if ((ret = load_rules(file, &rules, &n)))
		return ret;
	/*
	 * The keepalive and SYN sysctls are per network namespace: read those
	 * of the connection's namespace when it can be entered (needs
	 * CAP_SYS_ADMIN); otherwise tcptimeoctl's own.
	 */
	{
		char nspath[TCPTIMEO_CGROUP_PATH_MAX];

		if (ns && strchr(ns, '/'))
			snprintf(nspath, sizeof(nspath), "%s", ns);
		else if (ns)
			snprintf(nspath, sizeof(nspath), "/run/netns/%s", ns);
		else
			snprintf(nspath, sizeof(nspath), "/proc/%s/ns/net",
				 pid ? pid : "self");
		if (ns && ns[0] >= '0' && ns[0] <= '9') {
			u32 v;

			if (!tt_parse_u32(ns, strlen(ns), 0xffffffffU, &v) &&
			    v <= 4194304U)
				snprintf(nspath, sizeof(nspath),
					 "/proc/%u/ns/net", v);
			else
				nspath[0] = '\0';
		}
		sysctl_ns = "this process's";
		if (nspath[0] && c.netns != own_netns()) {
			int fd = open(nspath, O_RDONLY | O_CLOEXEC);

			if (fd >= 0 && !setns(fd, CLONE_NEWNET))
				sysctl_ns = "the connection's";
			if (fd >= 0)
				close(fd);
		}
	}
	if (!file) {
		char kb[16];

		off = ctl_sysfs_read("enabled", kb, sizeof(kb)) > 0 &&
		      !strcmp(kb, "0");
		gaudit = ctl_sysfs_read("audit", kb, sizeof(kb)) > 0 &&
			 !strcmp(kb, "1");
	}
	read_sysctls(&sc);
	sc.rto_ok = rto_max_ok();

	/* the two moments of docs/ABI.md §Semantics */
	first = NULL;
	if (t.dir == TCPTIMEO_DIR_IN) {
		t.lport_known = true;
		t.lport = (u16)lport;
		win = lookup(rules, n, &t, &c, &v, 0);
		decided = "accept";
	} else {
		t.lport_known = bound;
		t.lport = (u16)lport;
		first = lookup(rules, n, &t, &c, &v, 0);
		if (!first || v == TT_MATCH) {
			win = first;
			decided = "connect";
		} else if (lport_s) {
			t.lport_known = true;
			win = lookup(rules, n, &t, &c, &v, 0);
			decided = "established";
		} else {
			decided = "depends";
		}
	}
	if (!win && strcmp(decided, "depends"))
		decided = "none";

	memset(&ca, 0, sizeof(ca));
	ca.family = t.family;
	memcpy(ca.addr, t.raddr, 16);
	ca.plen = t.family == 4 ? 32 : 128;
	tt_format_cidr(addr, sizeof(addr), &ca);
	*strchr(addr, '/') = '\0';

	if (json) {
		bool stamped = win && !off && !gaudit && !win->opts.audit;

		printf("{\"connection\":{\"dir\":\"%s\",\"remote\":", dir);
		json_str(stdout, addr);
		printf(",\"remote_port\":%u,\"family\":%u,", t.rport, t.family);
		if (lport_s)
			printf("\"local_port\":%u", lport);
		else
			printf("\"local_port\":null");
		printf(",\"bound\":%s,\"cgroup\":", bound ? "true" : "false");
		json_str(stdout, c.cgroup);
		printf(",\"netns\":%u},\"module_enabled\":%s,\"global_audit\":%s,"
		       "\"decided\":\"%s\",\"rule\":", c.netns,
		       off ? "false" : "true", gaudit ? "true" : "false",
		       decided);
		if (win) {
			json_str(stdout, win->name);
			printf(",\"priority\":%u,\"mode\":\"%s\",\"audit\":%s",
			       win->priority, tt_mode_name(win->opts.mode),
			       win->opts.audit ? "true" : "false");
		} else {
			fputs("null", stdout);
		}
		fputs(",\"after_setsockopt\":", stdout);
		if (stamped)
			json_str(stdout, after_of(win)->key);
		else
			fputs("null", stdout);
		printf(",\"stamped\":%s,\"sysctls_from\":", stamped ? "true" : "false");
		json_str(stdout, !strcmp(sysctl_ns, "this process's") ?
			 "tcptimeoctl" : "connection");
		if (!strcmp(decided, "depends")) {
			fputs(",\"values\":null,\"candidates\":[", stdout);
			for (i = (size_t)(first - rules); i < n; i++) {
				v = eval(&rules[i], &t, &c);
				if (v == TT_NOMATCH)
					continue;
				compute(&rules[i], false, &sc, &val);
				fputs(i == (size_t)(first - rules) ? "{" : ",{",
				      stdout);
				fputs("\"rule\":", stdout);
				json_str(stdout, rules[i].name);
				ctl_field_text(&rules[i], F_LPORTS, buf,
					       sizeof(buf));
				fputs(",\"local_ports\":", stdout);
				json_str(stdout, v == TT_MATCH ? "" : buf);
				fputs(",\"values\":", stdout);
				print_values_json(&val);
				fputs("}", stdout);
				if (v == TT_MATCH)
					break;
			}
			fputs("]", stdout);
		} else {
			compute(stamped ? win : NULL, strcmp(decided,
				"established") != 0, &sc, &val);
			fputs(",\"values\":", stdout);
			print_values_json(&val);
			fputs(",\"sources\":", stdout);
			print_sources_json(&val);
			print_bound_json(&val, &sc);
		}
		fputs("}\n", stdout);
		free(rules);
		return EXIT_OK;
	}

	printf("connection: %s %s%s%s:%u, local port ", dir,
	       t.family == 6 ? "[" : "", addr, t.family == 6 ? "]" : "",
	       t.rport);
	if (lport_s)
		printf("%u%s", lport, t.dir == TCPTIMEO_DIR_OUT ?
		       (bound ? " (bound before connect)" :
			" (ephemeral, picked by connect)") : "");
	else
		printf("not known (ephemeral, picked by connect)");
	printf(", cgroup %s, netns %u\n", c.cgroup, c.netns);
	if (off)
		printf("note: the module is switched off (/sys/kernel/tcptimeo/"
		       "enabled is 0): nothing is stamped\n");
	if (gaudit)
		printf("note: global audit is on (/sys/kernel/tcptimeo/audit): "
		       "rules count and stamp nothing\n");
	if (!strcmp(decided, "depends")) {
		printf("decided: when established (rule %s selects local "
		       "ports and the application did not bind one), first "
		       "match on the full tuple:\n", first->name);
		for (i = (size_t)(first - rules); i < n; i++) {
			v = eval(&rules[i], &t, &c);
			if (v == TT_NOMATCH)
				continue;
			ctl_field_text(&rules[i], F_LPORTS, buf, sizeof(buf));
			if (v == TT_MATCH)
				printf("  otherwise: rule %s (priority %u)\n",
				       rules[i].name, rules[i].priority);
			else
				printf("  local port in %s: rule %s (priority "
				       "%u)\n", buf, rules[i].name,
				       rules[i].priority);
			compute(&rules[i], false, &sc, &val);
			print_values_text(&val, "      ");
			if (v == TT_MATCH)
				break;
		}
		if (i == n)
			printf("  otherwise: no rule; the socket keeps the "
			       "application's and the kernel's values\n");
		printf("give --local-port to see one outcome\n");
		free(rules);
		return EXIT_OK;
	}
	if (!win) {
		printf("rule: none matches; the socket keeps the application's "
		       "and the kernel's values\n");
	} else {
		if (!strcmp(decided, "accept"))
			printf("decided: on the full tuple before accept() "
			       "returns the socket\n");
		else if (!strcmp(decided, "connect"))
			printf("decided: at connect(), before the first SYN\n");
		else
			printf("decided: when established (rule %s selects "
			       "local ports and the application did not bind "
			       "one); syn-retries cannot apply\n", first->name);
		ctl_rule_line(buf, sizeof(buf), win);
		printf("rule: %s (priority %u)\n  %s\n  %s\n", win->name,
		       win->priority, buf, mode_note(win));
		if (!off && !gaudit && after_of(win))
			printf("  %s\n", after_of(win)->note);
	}
	compute(win && !off && !gaudit && !win->opts.audit ? win : NULL,
		strcmp(decided, "established") != 0, &sc, &val);
	printf("socket values (getsockopt, for an application that sets none "
	       "of them; sysctls of %s network namespace):\n", sysctl_ns);
	print_values_text(&val, "  ");
	print_bound_text(&val, &sc);
	free(rules);
	return EXIT_OK;
}
