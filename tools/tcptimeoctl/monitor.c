// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeoctl monitor: the module's tracepoints (TRACE_SYSTEM tcptimeo:
 * stamp, timeout, abort; docs/ABI.md) as they happen, one line or one
 * JSON object per event.
 *
 * Live, it makes a tracefs instance of its own (instances/
 * tcptimeoctl-monitor.PID, so that the global buffer and other readers
 * are left alone), filters on the rule in the kernel, enables the events
 * and reads the instance's trace_pipe until a signal or until stdout is
 * closed; then tracing_on 0, close, rmdir. With --input it reads saved
 * trace text instead and filters here. ctl_mon_parse() does no I/O.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "ctl.h"

const char *const ctl_mon_events[CTL_MON_NEVENTS] = {
	"stamp", "timeout", "abort",
};

/* Every key the module prints, with its one type (enum mon_key order). */
static const struct {
	const char *key;
	enum ctl_mon_type type;
} mon_keys[] = {
	{ "rule", MT_RULE }, { "dir", MT_TEXT }, { "origin", MT_TEXT },
	{ "mode", MT_TEXT }, { "audit", MT_BOOL }, { "cause", MT_TEXT },
	{ "state", MT_TEXT }, { "src", MT_ADDR }, { "dst", MT_ADDR },
	{ "netns", MT_U32 }, { "cgroup", MT_U64 }, { "set", MT_LIST },
	{ "skipped", MT_LIST }, { "keepalive", MT_BOOL }, { "idle", MT_U32 },
	{ "intvl", MT_U32 }, { "cnt", MT_U32 }, { "user_timeout", MT_U32 },
	{ "syn_retries", MT_U32 }, { "err", MT_INT }, { "heard_ms", MT_U32 },
	{ "retransmits", MT_U32 }, { "probes", MT_U32 },
	{ "rto_max", MT_U32 },	/* stamp, 0.2+: optional (older modules) */
};

#define MON_NKEYS (sizeof(mon_keys) / sizeof(mon_keys[0]))

enum mon_key {
	K_RULE, K_DIR, K_ORIGIN, K_MODE, K_AUDIT, K_CAUSE, K_STATE, K_SRC,
	K_DST, K_NETNS, K_CGROUP, K_SET, K_SKIPPED, K_KEEPALIVE, K_IDLE,
	K_INTVL, K_CNT, K_UTO, K_SYN, K_ERR, K_HEARD, K_RETRANS, K_PROBES,
	K_RTO_MAX,
};

#define B(k) (1u << (k))
#define MON_WHERE (B(K_RULE) | B(K_DIR) | B(K_SRC) | B(K_DST) | \
		   B(K_NETNS) | B(K_CGROUP))

/* The fields each event must have (ctl_mon_events order). */
static const unsigned int mon_need[CTL_MON_NEVENTS] = {
	MON_WHERE | B(K_ORIGIN) | B(K_MODE) | B(K_AUDIT) | B(K_SET) |
	B(K_SKIPPED) | B(K_KEEPALIVE) | B(K_IDLE) | B(K_INTVL) | B(K_CNT) |
	B(K_UTO) | B(K_SYN),
	MON_WHERE | B(K_CAUSE) | B(K_STATE) | B(K_ERR) | B(K_HEARD) |
	B(K_RETRANS) | B(K_PROBES) | B(K_UTO),
	MON_WHERE | B(K_STATE),
};

static bool mon_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static bool mon_isword(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       mon_isdigit(c) || c == '_';
}

static bool mon_digits(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++)
		if (!mon_isdigit(s[i]))
			return false;
	return true;
}

static bool mon_words(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++)
		if (!mon_isword(s[i]))
			return false;
	return true;
}

/* An unsigned decimal up to @max: 0 or -1. */
static int mon_u64(const char *s, size_t n, unsigned long long max,
		   unsigned long long *v)
{
	unsigned long long x = 0;
	size_t i;

	if (!mon_digits(s, n))
		return -1;
	for (i = 0; i < n; i++) {
		unsigned int d = (unsigned int)(s[i] - '0');

		if (x > (max - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* The ftrace timestamp: seconds, optionally a dot and the fraction. */
static bool mon_ts_ok(const char *s, size_t n)
{
	const char *dot = memchr(s, '.', n);
	size_t i;

	if (!dot)
		return mon_digits(s, n);
	i = (size_t)(dot - s);
	return mon_digits(s, i) && mon_digits(dot + 1, n - i - 1);
}

/* The next space-separated token at *p: its length, 0 at the end. */
static size_t mon_tok(const char **p, const char *end, const char **tok)
{
	while (*p < end && **p == ' ')
		(*p)++;
	*tok = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	return (size_t)(*p - *tok);
}

static bool mon_lit(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return false;
	*p += n;
	return true;
}

/* "CPU:%d [LOST %lu EVENTS]" or "CPU:%d [LOST EVENTS]" (kernel/trace/trace.c) */
static bool mon_lost(const char *p, const char *end, struct ctl_mon_line *l)
{
	unsigned long long v;
	const char *s;

	if (!mon_lit(&p, end, "CPU:"))
		return false;
	for (s = p; p < end && mon_isdigit(*p); p++)
		;
	if (mon_u64(s, (size_t)(p - s), UINT_MAX, &v) ||
	    !mon_lit(&p, end, " [LOST "))
		return false;
	l->cpu = (unsigned int)v;
	if (!mon_lit(&p, end, "EVENTS]")) {
		for (s = p; p < end && mon_isdigit(*p); p++)
			;
		if (mon_u64(s, (size_t)(p - s), ~0ULL, &l->count) ||
		    !mon_lit(&p, end, " EVENTS]"))
			return false;
		l->count_known = true;
	}
	return p == end;
}

/* After "[CPU]": "[FLAGS] TIMESTAMP: NAME: FIELDS". */
static bool mon_after_cpu(const char *p, const char *end,
			  struct ctl_mon_line *l)
{
	const char *t;
	size_t n = mon_tok(&p, end, &t);

	if (!n)
		return false;
	if (t[n - 1] != ':' || !mon_ts_ok(t, n - 1)) {
		/* the flags column (irqs-off, need-resched, ...), if any */
		n = mon_tok(&p, end, &t);
		if (!n || t[n - 1] != ':' || !mon_ts_ok(t, n - 1))
			return false;
	}
	l->ts = t;
	l->ts_len = n - 1;
	if (!mon_lit(&p, end, " "))
		return false;
	for (t = p; p < end && mon_isword(*p); p++)
		;
	if (p == t || !mon_lit(&p, end, ":"))
		return false;
	l->name = t;
	l->name_len = (size_t)(p - t - 1);
	if (p < end && !mon_lit(&p, end, " "))
		return false;
	l->text = p;
	l->text_len = (size_t)(end - p);
	return true;
}

static bool mon_value_ok(const struct ctl_mon_field *f)
{
	unsigned long long v;
	u8 fam, addr[16];
	u16 port;
	size_t i, s;

	switch (f->type) {
	case MT_TEXT:
		return mon_words(f->val, f->vlen);
	case MT_RULE:
		return (f->vlen == 1 && f->val[0] == '-') ||
		       tt_valid_name(f->val, f->vlen);
	case MT_BOOL:
		return f->vlen == 1 && (f->val[0] == '0' || f->val[0] == '1');
	case MT_U32:
		return !mon_u64(f->val, f->vlen, UINT_MAX, &v);
	case MT_U64:
		return !mon_u64(f->val, f->vlen, ~0ULL, &v);
	case MT_INT:
		if (f->vlen && f->val[0] == '-')
			return !mon_u64(f->val + 1, f->vlen - 1,
					(unsigned long long)INT_MAX + 1, &v);
		return !mon_u64(f->val, f->vlen, INT_MAX, &v);
	case MT_ADDR:
		return f->vlen < 64 &&
		       !ctl_sock_addr(f->val, f->vlen, &fam, addr, &port);
	case MT_LIST:
		if (f->vlen == 4 && !memcmp(f->val, "none", 4))
			return true;
		for (i = 0, s = 0; i <= f->vlen; i++) {
			if (i < f->vlen && f->val[i] != ',' && f->val[i] != '|')
				continue;
			if (!mon_words(f->val + s, i - s))
				return false;
			s = i + 1;
		}
		return true;
	default:
		/* a newer module's field: printable, for the terminal too */
		for (i = 0; i < f->vlen; i++)
			if (f->val[i] <= ' ' || f->val[i] > '~')
				return false;
		return true;
	}
}

static bool mon_bad(struct ctl_mon_line *l, const char *what, const char *s,
		    size_t n)
{
	char q[80];

	snprintf(l->why, sizeof(l->why), "%s '%s'", what,
		 ctl_quote(s, n, q, sizeof(q)));
	return false;
}

/* The event's KEY=VALUE words: each known key once, typed; all it needs. */
static bool mon_fields(struct ctl_mon_line *l)
{
	const char *p = l->text, *end = l->text + l->text_len, *t, *eq;
	unsigned int seen = 0, missing;
	size_t n, k;

	while ((n = mon_tok(&p, end, &t))) {
		struct ctl_mon_field *f;

		if (l->nf == CTL_MON_FIELDS_MAX)
			return mon_bad(l, "more than 32 fields, at", t, n);
		eq = memchr(t, '=', n);
		if (!eq || eq == t)
			return mon_bad(l, "not KEY=VALUE:", t, n);
		f = &l->f[l->nf++];
		f->key = t;
		f->klen = (size_t)(eq - t);
		f->val = eq + 1;
		f->vlen = n - f->klen - 1;
		f->type = MT_UNKNOWN;
		if (!mon_words(f->key, f->klen))
			return mon_bad(l, "not KEY=VALUE:", t, n);
		for (k = 0; k < MON_NKEYS; k++)
			if (strlen(mon_keys[k].key) == f->klen &&
			    !memcmp(mon_keys[k].key, f->key, f->klen))
				break;
		if (k == MON_NKEYS) {
			/* a newer module's: kept as a string */
			if (!mon_value_ok(f))
				return mon_bad(l, "invalid value:", t, n);
			continue;
		}
		if (seen & B(k))
			return mon_bad(l, "given twice: field", f->key,
				       f->klen);
		seen |= B(k);
		f->type = mon_keys[k].type;
		if (!mon_value_ok(f))
			return mon_bad(l, "invalid value:", t, n);
		if (k == K_RULE) {
			l->rule = f->val;
			l->rule_len = f->vlen;
		}
	}
	missing = mon_need[l->event] & ~seen;
	for (k = 0; k < MON_NKEYS; k++)
		if (missing & B(k))
			return mon_bad(l, "missing: field", mon_keys[k].key,
				       strlen(mon_keys[k].key));
	return true;
}

enum ctl_mon_kind ctl_mon_parse(const char *line, size_t len,
				struct ctl_mon_line *l)
{
	const char *p = line, *end = line + len, *q, *e;
	unsigned long long cpu;
	size_t i;

	memset(l, 0, sizeof(*l));
	l->event = -1;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r' ||
			   end[-1] == ' ' || end[-1] == '\t'))
		end--;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#')
		return l->kind = MON_SKIP;
	if (mon_lost(p, end, l))
		return l->kind = MON_LOST;
	/*
	 * "COMM-PID [(TGID)] [CPU] [FLAGS] TIMESTAMP: NAME: ": COMM may hold
	 * spaces, dashes and brackets, so take the first "[CPU]" that the
	 * rest of the prefix follows.
	 */
	for (q = p; (q = memchr(q, '[', (size_t)(end - q))); q++) {
		for (e = q + 1; e < end && mon_isdigit(*e); e++)
			;
		if (e < end && *e == ']' &&
		    !mon_u64(q + 1, (size_t)(e - q - 1), UINT_MAX, &cpu) &&
		    mon_after_cpu(e + 1, end, l))
			break;
	}
	if (!q) {
		snprintf(l->why, sizeof(l->why), "no ftrace prefix (COMM-PID "
			 "[CPU] FLAGS TIMESTAMP: EVENT: ...)");
		return l->kind = MON_BAD;
	}
	l->cpu = (unsigned int)cpu;
	for (i = 0; i < CTL_MON_NEVENTS; i++)
		if (strlen(ctl_mon_events[i]) == l->name_len &&
		    !memcmp(ctl_mon_events[i], l->name, l->name_len))
			break;
	if (i == CTL_MON_NEVENTS)
		return l->kind = MON_OTHER;
	l->event = (int)i;
	return l->kind = mon_fields(l) ? MON_EVENT : MON_BAD;
}

/* ---- the stream ---- */

static volatile sig_atomic_t mon_stop;

/*
 * Without SA_RESTART the blocked read() returns EINTR. A signal that
 * lands just before read() starts would not interrupt it: the alarm
 * interrupts that one a second later.
 */
static void mon_signal(int sig)
{
	if (sig != SIGALRM) {
		mon_stop = sig;
		alarm(1);
	}
}

static void mon_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mon_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	/* a closed stdout is EPIPE from the write, not death by SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
}

#define MON_OTHERS	16
#define MON_BUF		65536

struct mon {
	bool json;
	unsigned int events;		/* bit per ctl_mon_events */
	const char *rule;		/* NULL: every rule */
	const char *where;		/* the input, for messages */
	unsigned long long lineno, shown, lost, bad, other;
	bool warned[CTL_MON_NEVENTS + 1];	/* MON_BAD: per event, other */
	char others[MON_OTHERS][32];	/* other events, warned once each */
	size_t nothers;
	bool streamed;			/* reading began: a summary at the end */
	bool gone;			/* stdout failed */
	int out_errno;
	char buf[MON_BUF];		/* a line being read */
	size_t have;
	bool skipping;			/* the rest of a too long line */
};

static void mon_flushed(struct mon *m)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		m->gone = true;
		m->out_errno = errno ? errno : EIO;
	}
}

/* The timestamp as a JSON number: digits, no leading zeros. */
static void mon_json_ts(FILE *o, const char *s, size_t n)
{
	while (n > 1 && s[0] == '0' && mon_isdigit(s[1])) {
		s++;
		n--;
	}
	fprintf(o, "%.*s", (int)n, s);
}

static void mon_json_field(FILE *o, const struct ctl_mon_field *f)
{
	char v[CTL_MON_TEXT_MAX + 1];
	unsigned long long u = 0;
	const char *c;

	memcpy(v, f->val, f->vlen);
	v[f->vlen] = '\0';
	fprintf(o, ",\"%.*s\":", (int)f->klen, f->key);
	switch (f->type) {
	case MT_RULE:
		if (!strcmp(v, "-"))
			fputs("null", o);
		else
			json_str(o, v);
		break;
	case MT_BOOL:
		fputs(v[0] == '1' ? "true" : "false", o);
		break;
	case MT_U32:
	case MT_U64:
		mon_u64(v, f->vlen, ~0ULL, &u);
		fprintf(o, "%llu", u);
		break;
	case MT_INT:
		fprintf(o, "%ld", strtol(v, NULL, 10));
		break;
	case MT_ADDR:
		/* "[v6]:port" or "v4:port": the address bare, the port a number */
		c = strrchr(v, ':');
		mon_u64(c + 1, strlen(c + 1), 65535, &u);
		v[c - v] = '\0';
		if (v[0] == '[') {
			v[c - v - 1] = '\0';
			json_str(o, v + 1);
		} else {
			json_str(o, v);
		}
		fprintf(o, ",\"%cport\":%llu", f->key[0], u);
		break;
	case MT_LIST:
		fputc('[', o);
		if (strcmp(v, "none")) {
			size_t i, s;

			for (i = 0, s = 0; i <= f->vlen; i++) {
				if (i < f->vlen && v[i] != ',' && v[i] != '|')
					continue;
				v[i] = '\0';
				if (s)
					fputc(',', o);
				json_str(o, v + s);
				s = i + 1;
			}
		}
		fputc(']', o);
		break;
	default:
		json_str(o, v);
	}
}

static void mon_print(struct mon *m, const struct ctl_mon_line *l)
{
	size_t i;

	if (!m->json) {
		printf("%.*s %.*s %.*s\n", (int)l->ts_len, l->ts,
		       (int)l->name_len, l->name, (int)l->text_len, l->text);
		return;
	}
	fputs("{\"time\":", stdout);
	mon_json_ts(stdout, l->ts, l->ts_len);
	printf(",\"cpu\":%u,\"event\":\"%s\"", l->cpu,
	       ctl_mon_events[l->event]);
	for (i = 0; i < l->nf; i++)
		mon_json_field(stdout, &l->f[i]);
	fputs("}\n", stdout);
}

static void mon_print_lost(struct mon *m, const struct ctl_mon_line *l)
{
	if (m->json) {
		printf("{\"event\":\"lost\",\"cpu\":%u,\"count\":", l->cpu);
		if (l->count_known)
			printf("%llu}\n", l->count);
		else
			fputs("null}\n", stdout);
	} else if (l->count_known) {
		printf("lost: cpu=%u count=%llu\n", l->cpu, l->count);
	} else {
		printf("lost: cpu=%u count=unknown\n", l->cpu);
	}
}

static void mon_other(struct mon *m, const struct ctl_mon_line *l,
		      const char *s, size_t len)
{
	char q[80];
	size_t i;

	m->other++;
	for (i = 0; i < m->nothers; i++)
		if (strlen(m->others[i]) == l->name_len &&
		    !memcmp(m->others[i], l->name, l->name_len))
			return;
	if (m->nothers == MON_OTHERS || l->name_len >= sizeof(m->others[0]))
		return;
	memcpy(m->others[m->nothers], l->name, l->name_len);
	m->others[m->nothers++][l->name_len] = '\0';
	ctl_warn("%s:%llu: '%.*s' is not an event of tcptimeo; skipped (said "
		 "once per event): '%s'", m->where, m->lineno, (int)l->name_len,
		 l->name, ctl_quote(s, len, q, sizeof(q)));
}

static void mon_bad_line(struct mon *m, int event, const char *why,
			 const char *s, size_t len)
{
	size_t kind = event < 0 ? CTL_MON_NEVENTS : (size_t)event;
	char q[80];

	m->bad++;
	if (m->warned[kind])
		return;
	m->warned[kind] = true;
	ctl_warn("%s:%llu: a%s%s line not understood (%s); skipped, and the "
		 "next such lines are only counted: '%s'", m->where, m->lineno,
		 event < 0 ? "" : " tcptimeo:",
		 event < 0 ? "" : ctl_mon_events[event], why,
		 ctl_quote(s, len, q, sizeof(q)));
}

static void mon_line(struct mon *m, const char *s, size_t len)
{
	struct ctl_mon_line l;
	size_t b;

	m->lineno++;
	if (len > CTL_MON_TEXT_MAX) {
		mon_bad_line(m, -1, "longer than 4095 bytes", s, len);
		return;
	}
	switch (ctl_mon_parse(s, len, &l)) {
	case MON_SKIP:
		return;
	case MON_LOST:
		/* never filtered: a count the kernel does not give is >= 1 */
		m->lost += l.count_known ? l.count : 1;
		mon_print_lost(m, &l);
		break;
	case MON_OTHER:
	case MON_BAD:
		/* quoted in the warning from its first word */
		for (b = 0; b < len && (s[b] == ' ' || s[b] == '\t'); b++)
			;
		if (l.kind == MON_OTHER)
			mon_other(m, &l, s + b, len - b);
		else
			mon_bad_line(m, l.event, l.why, s + b, len - b);
		return;
	case MON_EVENT:
		if (!(m->events & (1u << l.event)) ||
		    (m->rule && (strlen(m->rule) != l.rule_len ||
				 memcmp(m->rule, l.rule, l.rule_len))))
			return;
		m->shown++;
		mon_print(m, &l);
		break;
	}
	mon_flushed(m);
}

/*
 * Read @fd line by line until EOF or a signal (with @drain: until it has
 * nothing more, O_NONBLOCK, whatever the signals). 0, or -errno.
 */
static int mon_read(struct mon *m, int fd, bool drain)
{
	char *nl, *start;

	while (!m->gone && (drain || !mon_stop)) {
		ssize_t n = read(fd, m->buf + m->have, sizeof(m->buf) - m->have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && drain && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		m->have += (size_t)n;
		start = m->buf;
		while (!m->gone && (nl = memchr(start, '\n', (size_t)(m->buf +
						m->have - start)))) {
			if (!m->skipping)
				mon_line(m, start, (size_t)(nl - start));
			m->skipping = false;
			start = nl + 1;
		}
		m->have -= (size_t)(start - m->buf);
		memmove(m->buf, start, m->have);
		if (m->have == sizeof(m->buf)) {
			if (!m->skipping)
				mon_line(m, m->buf, m->have);	/* too long */
			m->skipping = true;
			m->have = 0;
		}
	}
	return 0;
}

/* What is left of a last line without its newline. */
static void mon_read_end(struct mon *m)
{
	if (m->have && !m->skipping && !m->gone)
		mon_line(m, m->buf, m->have);
	m->have = 0;
}

/* ---- tracefs ---- */

/* tracefs, its instance and the files in it (d_name: 256) fit PATH_MAX */
#define MON_ROOT_MAX		2048
#define MON_INST_MAX		(MON_ROOT_MAX + 64)
#define MON_TRACEFS		"/sys/kernel/tracing"
#define MON_TRACEFS_DEBUG	"/sys/kernel/debug/tracing"

static int mon_isdir(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (stat(p, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static bool mon_empty_dir(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	bool empty = true;

	if (!d)
		return false;
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

static int mon_perm(const char *what, const char *path, int err)
{
	ctl_err("monitor: %s %s: %s: needs root (tracefs)", what, path,
		strerror(err));
	return EXIT_PERM;
}

/* Where tracefs is, into @root: an exit code. */
static int mon_tracefs(char *root, size_t size)
{
	const char *env = getenv("TCPTIMEO_TRACEFS");
	int err;

	if (env && *env) {
		if (strlen(env) >= size) {
			ctl_err("monitor: TCPTIMEO_TRACEFS: longer than %zu "
				"bytes", size - 1);
			return EXIT_INPUT;
		}
		err = mon_isdir(env, "instances");
		if (err == -EACCES || err == -EPERM)
			return mon_perm("reading", env, -err);
		if (err) {
			ctl_err("monitor: TCPTIMEO_TRACEFS=%s has no instances/ "
				"directory: %s (not a tracefs?)", env,
				strerror(-err));
			return EXIT_NOMOD;
		}
		snprintf(root, size, "%s", env);
		return EXIT_OK;
	}
	err = mon_isdir(MON_TRACEFS, "instances");
	if (err == -EACCES || err == -EPERM)
		return mon_perm("reading", MON_TRACEFS, -err);
	if (err && mon_empty_dir(MON_TRACEFS)) {
		if (mount("nodev", MON_TRACEFS, "tracefs", 0, NULL)) {
			err = errno;
			if (err == EACCES || err == EPERM)
				return mon_perm("mounting tracefs on",
						MON_TRACEFS, err);
			ctl_warn("monitor: mounting tracefs on %s: %s",
				 MON_TRACEFS, strerror(err));
		}
		err = mon_isdir(MON_TRACEFS, "instances");
	}
	if (!err) {
		snprintf(root, size, "%s", MON_TRACEFS);
		return EXIT_OK;
	}
	err = mon_isdir(MON_TRACEFS_DEBUG, "instances");
	if (err == -EACCES || err == -EPERM)
		return mon_perm("reading", MON_TRACEFS_DEBUG, -err);
	if (!err) {
		snprintf(root, size, "%s", MON_TRACEFS_DEBUG);
		return EXIT_OK;
	}
	ctl_err("monitor: tracefs not found (no %s/instances nor %s/instances);"
		" mount it: mount -t tracefs nodev %s", MON_TRACEFS,
		MON_TRACEFS_DEBUG, MON_TRACEFS);
	return EXIT_NOMOD;
}

/* Write @val to @dir/@rel: 0 or -errno. */
static int mon_write(const char *dir, const char *rel, const char *val)
{
	char p[PATH_MAX];
	size_t n = strlen(val);
	ssize_t w;
	int fd, err = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	errno = 0;
	w = write(fd, val, n);
	if (w != (ssize_t)n)
		err = errno ? -errno : -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

static int mon_write_or_say(const char *inst, const char *rel,
			    const char *val)
{
	int err = mon_write(inst, rel, val);

	if (!err)
		return EXIT_OK;
	ctl_err("monitor: writing '%s' to %s/%s: %s%s", val, inst, rel,
		strerror(-err), err == -EACCES || err == -EPERM ?
		": needs root (tracefs)" : "");
	return ctl_errno_exit(-err);
}

/* The instance made: its size, the filters, the events on. An exit code. */
static int mon_setup(const struct mon *m, const char *inst, unsigned int kb)
{
	char rel[128], val[64];
	int err, ret;
	size_t i;

	err = mon_isdir(inst, "events/tcptimeo");
	if (err) {
		ctl_err("monitor: the tcptimeo module is not loaded, or this "
			"kernel has no tcptimeo events (events/tcptimeo missing "
			"in tracefs); run 'modprobe tcptimeo'");
		return EXIT_NOMOD;
	}
	for (i = 0; i < CTL_MON_NEVENTS; i++) {
		snprintf(rel, sizeof(rel), "events/tcptimeo/%s",
			 ctl_mon_events[i]);
		if (m->events & (1u << i) && mon_isdir(inst, rel)) {
			ctl_err("monitor: the loaded tcptimeo module has no "
				"event tcptimeo:%s (%s missing in tracefs): it "
				"is older than tcptimeoctl", ctl_mon_events[i],
				rel);
			return EXIT_NOMOD;
		}
	}
	snprintf(val, sizeof(val), "%u", kb);
	ret = mon_write_or_say(inst, "buffer_size_kb", val);
	for (i = 0; !ret && i < CTL_MON_NEVENTS; i++) {
		if (!(m->events & (1u << i)))
			continue;
		if (m->rule) {
			snprintf(rel, sizeof(rel), "events/tcptimeo/%s/filter",
				 ctl_mon_events[i]);
			snprintf(val, sizeof(val), "rule == \"%s\"", m->rule);
			ret = mon_write_or_say(inst, rel, val);
		}
		snprintf(rel, sizeof(rel), "events/tcptimeo/%s/enable",
			 ctl_mon_events[i]);
		if (!ret)
			ret = mon_write_or_say(inst, rel, "1");
	}
	if (!ret)
		ret = mon_write_or_say(inst, "tracing_on", "1");
	return ret;
}

/* The events the ring buffer lost: overrun + dropped events, every CPU. */
static unsigned long long mon_stats(const char *inst)
{
	char dir[MON_INST_MAX + 16], p[PATH_MAX], buf[2048], *line;
	unsigned long long sum = 0;
	struct dirent *de;
	ssize_t n;
	int fd;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/per_cpu", inst);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "cpu", 3))
			continue;
		snprintf(p, sizeof(p), "%s/%s/stats", dir, de->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (line = buf; *line; line++) {
			if (!strncmp(line, "overrun:", 8))
				sum += strtoull(line + 8, NULL, 10);
			else if (!strncmp(line, "dropped events:", 15))
				sum += strtoull(line + 15, NULL, 10);
			line += strcspn(line, "\n");
			if (!*line)
				break;
		}
	}
	if (d)
		closedir(d);
	return sum;
}

/* rmdir, again while a reader of the instance still closes (EBUSY). */
static int mon_rmdir(const char *inst)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int i;

	for (i = 0; i < 30; i++) {
		if (!rmdir(inst) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	ctl_err("monitor: removing the tracefs instance %s: %s; remove it "
		"with 'rmdir %s'", inst, strerror(errno), inst);
	return -1;
}

static void mon_names(char *buf, size_t size, unsigned int events)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < CTL_MON_NEVENTS; i++)
		if (events & (1u << i))
			o += (size_t)snprintf(buf + o, size - o, "%s%s",
					      o ? "," : "", ctl_mon_events[i]);
}

/* Live: an exit code; *stats gets the lost-event counters. */
static int mon_live(struct mon *m, unsigned int kb, unsigned long long *stats)
{
	char root[MON_ROOT_MAX], inst[MON_INST_MAX], tpipe[MON_INST_MAX + 16];
	int ret, err, fd = -1;

	ret = mon_tracefs(root, sizeof(root));
	if (ret)
		return ret;
	snprintf(inst, sizeof(inst), "%s/instances/tcptimeoctl-monitor.%d",
		 root, (int)getpid());
	if (mkdir(inst, 0750)) {
		err = errno;
		if (err == EACCES || err == EPERM)
			return mon_perm("creating the tracefs instance", inst,
					err);
		ctl_err("monitor: creating the tracefs instance %s: %s%s", inst,
			strerror(err), err == EEXIST ? " (left by a monitor "
			"that was killed? remove it with rmdir)" : "");
		return EXIT_INPUT;
	}
	/* from here on every way out removes the instance */
	ret = mon_setup(m, inst, kb);
	if (!ret) {
		snprintf(tpipe, sizeof(tpipe), "%s/trace_pipe", inst);
		fd = open(tpipe, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = errno;
			ctl_err("monitor: opening %s: %s", tpipe, strerror(err));
			ret = ctl_errno_exit(err);
		}
	}
	if (!ret) {
		char names[64];

		mon_names(names, sizeof(names), m->events);
		fprintf(stderr, "# tcptimeoctl monitor: tcptimeo:%s%s%s in %s; "
			"Ctrl-C stops\n", names, !m->rule ? "" :
			strcmp(m->rule, "-") ? " of rule " : " of no rule",
			m->rule && strcmp(m->rule, "-") ? m->rule : "", inst);
		m->where = "trace_pipe";
		m->streamed = true;
		err = mon_read(m, fd, false);
		/* trace_pipe returns EOF now; what is in the buffer first */
		mon_write(inst, "tracing_on", "0");
		if (!err && !m->gone && fcntl(fd, F_SETFL, O_NONBLOCK) == 0)
			err = mon_read(m, fd, true);
		mon_read_end(m);
		close(fd);
		if (err) {
			ctl_err("monitor: reading %s: %s", tpipe, strerror(-err));
			ret = EXIT_INPUT;
		}
		*stats = mon_stats(inst);
	}
	if (mon_rmdir(inst) && !ret)
		ret = EXIT_INPUT;
	return ret;
}

/* "--name VALUE" or "--name=VALUE": 1 if @a is --@name (*val NULL if none). */
static int mon_opt(const char *a, const char *name, int argc, char **argv,
		   int *i, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(a, name, n) || (a[n] && a[n] != '='))
		return 0;
	if (a[n] == '=')
		*val = a + n + 1;
	else
		*val = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

static int mon_events_arg(const char *v, unsigned int *events)
{
	const char *s = v, *c;
	char q[80];
	size_t i;

	do {
		size_t n;

		c = strchr(s, ',');
		n = c ? (size_t)(c - s) : strlen(s);
		for (i = 0; i < CTL_MON_NEVENTS; i++)
			if (strlen(ctl_mon_events[i]) == n &&
			    !memcmp(ctl_mon_events[i], s, n))
				break;
		if (i == CTL_MON_NEVENTS) {
			ctl_err("monitor: --event '%s': invalid; valid: stamp, "
				"timeout, abort (a comma-separated list, or "
				"--event again)", ctl_quote(v, strlen(v), q,
							   sizeof(q)));
			return -1;
		}
		*events |= 1u << i;
		s = c ? c + 1 : NULL;
	} while (s);
	return 0;
}

static const char mon_usage[] =
	"usage: tcptimeoctl monitor [-j] [--rule NAME|-] "
	"[--event stamp|timeout|abort[,...]] [--input FILE|-] [--buffer-kb N]";

int cmd_monitor(int argc, char **argv)
{
	const char *input = NULL, *v, *kbarg = NULL;
	unsigned long long stats = 0, lost;
	static struct mon m;
	unsigned int kb = 512;
	char q[80];
	int i, ret, err;
	u32 x;

	memset(&m, 0, sizeof(m));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			m.json = true;
		} else if (mon_opt(a, "--rule", argc, argv, &i, &v)) {
			if (m.rule) {
				ctl_err("monitor: --rule given twice; give one "
					"rule name (or -)");
				return EXIT_INPUT;
			}
			if (!v || (strcmp(v, "-") &&
				   !tt_valid_name(v, strlen(v)))) {
				ctl_err("monitor: --rule%s%s%s: %s; valid: a rule "
					"name (1-32 characters of A-Z a-z 0-9 _ . "
					"-) or - (the events of no rule)",
					v ? " '" : "", v ? ctl_quote(v, strlen(v),
					q, sizeof(q)) : "", v ? "'" : "",
					v ? "invalid" : "missing value");
				return EXIT_INPUT;
			}
			m.rule = v;
		} else if (mon_opt(a, "--event", argc, argv, &i, &v)) {
			if (!v) {
				ctl_err("monitor: --event: missing value; valid: "
					"stamp, timeout, abort (a comma-separated "
					"list, or --event again)");
				return EXIT_INPUT;
			}
			if (mon_events_arg(v, &m.events))
				return EXIT_INPUT;
		} else if (mon_opt(a, "--input", argc, argv, &i, &v)) {
			if (input || !v || !*v) {
				ctl_err("monitor: --input%s; valid: one file of "
					"saved trace text, or - (standard input)",
					input ? " given twice" : ": missing value");
				return EXIT_INPUT;
			}
			input = v;
		} else if (mon_opt(a, "--buffer-kb", argc, argv, &i, &v)) {
			err = v ? tt_parse_u32(v, strlen(v), 65536, &x) :
			      -TT_EINVAL;
			if (err || x < 4) {
				ctl_err("monitor: --buffer-kb%s%s%s: %s; valid: "
					"4..65536 (KiB of trace buffer per CPU, "
					"default 512)", v ? " '" : "",
					v ? ctl_quote(v, strlen(v), q, sizeof(q))
					: "", v ? "'" : "", !v ? "missing value" :
					err == -TT_EINVAL ? "invalid" :
					"out of range");
				return EXIT_INPUT;
			}
			kb = x;
			kbarg = v;
		} else {
			ctl_err("monitor: unexpected argument '%s'; %s",
				ctl_quote(a, strlen(a), q, sizeof(q)), mon_usage);
			return EXIT_INPUT;
		}
	}
	if (input && kbarg) {
		ctl_err("monitor: --buffer-kb sizes the live trace buffer; it "
			"does not go with --input");
		return EXIT_INPUT;
	}
	if (!m.events)
		m.events = (1u << CTL_MON_NEVENTS) - 1;

	mon_signals();
	if (input) {
		int fd = strcmp(input, "-") ? open(input, O_RDONLY | O_CLOEXEC) : 0;

		if (fd < 0) {
			err = errno;
			ctl_quote(input, strlen(input), q, sizeof(q));
			ctl_err("monitor: --input '%s': %s", q, strerror(err));
			return EXIT_INPUT;
		}
		m.where = strcmp(input, "-") ? input : "<stdin>";
		m.streamed = true;
		err = mon_read(&m, fd, false);
		mon_read_end(&m);
		if (fd)
			close(fd);
		ret = EXIT_OK;
		if (err) {
			ctl_err("monitor: reading %s: %s", m.where,
				strerror(-err));
			ret = EXIT_INPUT;
		}
	} else {
		ret = mon_live(&m, kb, &stats);
	}
	alarm(0);
	if (m.bad || m.other)
		ctl_warn("monitor: %llu line%s skipped: %llu not understood, "
			 "%llu of other events", m.bad + m.other,
			 m.bad + m.other == 1 ? "" : "s", m.bad, m.other);
	if (m.gone) {
		if (m.out_errno == EPIPE)
			return ret;
		ctl_err("monitor: writing the output: %s",
			strerror(m.out_errno));
		return EXIT_INPUT;
	}
	if (!m.streamed)
		return ret;
	/* both count the same losses: the larger is the better reading */
	lost = stats > m.lost ? stats : m.lost;
	if (m.json) {
		printf("{\"event\":\"summary\",\"events\":%llu,\"lost\":%llu}\n",
		       m.shown, lost);
		fflush(stdout);
	} else {
		fprintf(stderr, "# lost %llu events\n", lost);
	}
	return ret;
}
