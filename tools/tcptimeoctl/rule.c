// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeoctl: the words of a rule, shared by the command line
 * ("--idle 7") and the rules file ("idle 7"), and the rules-file parser.
 * Every value goes through lib/tt_parse.c, the parser the module uses.
 * Nothing here touches the file system except the netns resolver hook.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "ctl.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

#define PORTS_VALID "up to 16 comma-separated ports N or ranges N-M, " \
		    "1 <= N <= M <= 65535, or any"
#define SECS_VALID(max) "0 (unset) or 1.." #max " seconds (7, 7s, 2m, 1h)"

const struct ctl_field_info ctl_fields[F_NFIELDS] = {
	[F_PRIORITY] = { "priority", "priority",
			 "0..65535, lower is evaluated first (default 1000)" },
	[F_DIR] = { "dir", "direction", "in, out or any" },
	[F_LPORTS] = { "local-port", "local_ports", PORTS_VALID },
	[F_RPORTS] = { "remote-port", "remote_ports", PORTS_VALID },
	[F_ADDRS] = { "remote-addr", "remote_addrs",
		      "up to 16 comma-separated IPv4/IPv6 CIDRs without host "
		      "bits (10.96.0.0/12,fd00::/8), or any" },
	[F_CGROUP] = { "cgroup", "cgroup",
		       "an existing absolute cgroup v2 path (/loadtest), "
		       "< 512 bytes, no spaces, or any" },
	[F_NETNS] = { "netns", "netns",
		      "a PID, a namespace file (/proc/PID/ns/net, "
		      "/run/netns/NAME), a name in /run/netns, an inode "
		      "(net:[4026532000]), or 0 (any)" },
	[F_KEEPALIVE] = { "keepalive", "keepalive", "keepalive, no-keepalive" },
	[F_IDLE] = { "idle", "keepidle", SECS_VALID(32767) },
	[F_INTVL] = { "intvl", "keepintvl", SECS_VALID(32767) },
	[F_CNT] = { "cnt", "keepcnt", "0 (unset) or 1..127" },
	[F_UTO] = { "user-timeout", "user_timeout",
		    "0 (unset), 1..2147483647 ms (10000, 10000ms, 10s, 2m) "
		    "or auto" },
	[F_SYN] = { "syn-retries", "syn_retries", "0 (unset) or 1..127" },
	[F_MODE] = { "mode", "mode", "fill, force or clamp" },
	[F_AUDIT] = { "audit", "audit", "audit, no-audit" },
	[F_ENABLED] = { "disabled", "enabled", "disabled" },
};

enum { W_FILE = 1, W_ADD = 2, W_SET = 4, W_ALL = 7 };

struct ctl_word {
	const char *word;
	enum ctl_field field;
	bool value;		/* takes a value */
	int flag;		/* value of a flag word */
	int where;		/* W_* */
};

static const struct ctl_word ctl_words[] = {
	{ "priority", F_PRIORITY, true, 0, W_ALL },
	{ "dir", F_DIR, true, 0, W_ALL },
	{ "local-port", F_LPORTS, true, 0, W_ALL },
	{ "remote-port", F_RPORTS, true, 0, W_ALL },
	{ "remote-addr", F_ADDRS, true, 0, W_ALL },
	{ "cgroup", F_CGROUP, true, 0, W_ALL },
	{ "netns", F_NETNS, true, 0, W_ALL },
	{ "keepalive", F_KEEPALIVE, false, 1, W_ALL },
	{ "no-keepalive", F_KEEPALIVE, false, 0, W_SET },
	{ "idle", F_IDLE, true, 0, W_ALL },
	{ "intvl", F_INTVL, true, 0, W_ALL },
	{ "cnt", F_CNT, true, 0, W_ALL },
	{ "user-timeout", F_UTO, true, 0, W_ALL },
	{ "syn-retries", F_SYN, true, 0, W_ALL },
	{ "mode", F_MODE, true, 0, W_ALL },
	{ "fill", F_MODE, false, TCPTIMEO_MODE_FILL, W_ALL },
	{ "force", F_MODE, false, TCPTIMEO_MODE_FORCE, W_ALL },
	{ "clamp", F_MODE, false, TCPTIMEO_MODE_CLAMP, W_ALL },
	{ "audit", F_AUDIT, false, 1, W_ALL },
	{ "no-audit", F_AUDIT, false, 0, W_SET },
	{ "disabled", F_ENABLED, false, 0, W_FILE | W_ADD },
};

#define NWORDS (sizeof(ctl_words) / sizeof(ctl_words[0]))

static const struct ctl_word *ctl_word_find(const char *w)
{
	size_t i;

	for (i = 0; i < NWORDS; i++)
		if (!strcmp(ctl_words[i].word, w))
			return &ctl_words[i];
	return NULL;
}

bool ctl_word_takes_value(const char *word)
{
	const struct ctl_word *w = ctl_word_find(word);

	return w && w->value;
}

void ctl_rule_init(struct ctl_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->priority = TCPTIMEO_PRIORITY_DEFAULT;
	r->sel.dir = TCPTIMEO_DIR_ANY;
	r->opts.mode = TCPTIMEO_MODE_FILL;
	r->enabled = true;
}

const char *ctl_quote(const char *s, size_t len, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (!size)
		return "";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 8 >= size || i >= 64) {
			if (o + 4 <= size) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

static void msgf(char *msg, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void msgf(char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!size)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
}

/* "7", "7s", "2m", "1h" -> seconds, at most @max. */
static int ctl_parse_unit(const char *s, u32 max, u32 *out, bool ms)
{
	size_t n = 0, len = strlen(s);
	const char *suf;
	u32 mult, v;
	int err;

	while (n < len && s[n] >= '0' && s[n] <= '9')
		n++;
	suf = s + n;
	if (!*suf)
		mult = 1;
	else if (ms && !strcmp(suf, "ms"))
		mult = 1;
	else if (!strcmp(suf, "s"))
		mult = ms ? 1000 : 1;
	else if (!strcmp(suf, "m"))
		mult = ms ? 60000 : 60;
	else if (!strcmp(suf, "h"))
		mult = ms ? 3600000 : 3600;
	else
		return -TT_EINVAL;
	err = tt_parse_u32(s, n, max / mult, &v);
	if (err)
		return err;
	*out = v * mult;
	return 0;
}

int ctl_parse_secs(const char *s, u32 max, u32 *out)
{
	return ctl_parse_unit(s, max, out, false);
}

int ctl_parse_ms(const char *s, u32 max, u32 *out)
{
	return ctl_parse_unit(s, max, out, true);
}

/* Kernel PID_MAX_LIMIT; namespace inodes start at 0xF0000000. */
#define CTL_PID_MAX	4194304U

static int ctl_ns_file(const char *path, const char *arg, u32 *ino,
		       char *msg, size_t size)
{
	char q[80];
	struct statfs sfs;
	struct stat st;
	int fd, type;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		msgf(msg, size, "'%s': %s (%s)", ctl_quote(arg, strlen(arg),
			q, sizeof(q)), strerror(err), path);
		return -err;
	}
	if (fstatfs(fd, &sfs) || fstat(fd, &st) ||
	    sfs.f_type != NSFS_MAGIC) {
		close(fd);
		msgf(msg, size, "'%s': not a namespace file (%s)",
		     ctl_quote(arg, strlen(arg), q, sizeof(q)), path);
		return -TT_EINVAL;
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	close(fd);
	if (type >= 0 && type != CLONE_NEWNET) {
		msgf(msg, size, "'%s': not a network namespace (%s)",
		     ctl_quote(arg, strlen(arg), q, sizeof(q)), path);
		return -TT_EINVAL;
	}
	if (st.st_ino > 0xffffffffULL) {
		msgf(msg, size, "'%s': inode does not fit 32 bits",
		     ctl_quote(arg, strlen(arg), q, sizeof(q)));
		return -TT_ERANGE;
	}
	*ino = (u32)st.st_ino;
	return 0;
}

int ctl_netns_resolve_proc(const char *arg, u32 *ino, char *msg, size_t size)
{
	char path[TCPTIMEO_CGROUP_PATH_MAX], q[80];
	size_t len = strlen(arg);
	u32 v;
	int err;

	if (len > 5 && !strncmp(arg, "net:[", 5) && arg[len - 1] == ']') {
		err = tt_parse_u32(arg + 5, len - 6, 0xffffffffU, &v);
		if (err)
			goto bad;
		*ino = v;
		return 0;
	}
	if (len && arg[0] >= '0' && arg[0] <= '9') {
		err = tt_parse_u32(arg, len, 0xffffffffU, &v);
		if (err)
			goto bad;
		if (v == 0 || v > CTL_PID_MAX) {
			*ino = v;	/* 0 (any) or an inode */
			return 0;
		}
		snprintf(path, sizeof(path), "/proc/%u/ns/net", v);
		return ctl_ns_file(path, arg, ino, msg, size);
	}
	if (strchr(arg, '/'))
		return ctl_ns_file(arg, arg, ino, msg, size);
	if (len && len < 200 && strcmp(arg, ".") && strcmp(arg, "..")) {
		snprintf(path, sizeof(path), "/run/netns/%s", arg);
		return ctl_ns_file(path, arg, ino, msg, size);
	}
	err = -TT_EINVAL;
bad:
	msgf(msg, size, "'%s': %s", ctl_quote(arg, len, q, sizeof(q)),
	     err == -TT_ERANGE ? "out of range" : "invalid");
	return err;
}

ctl_netns_fn ctl_netns_resolve = ctl_netns_resolve_proc;

static int ctl_check_cgroup(const char *s, const char **why)
{
	size_t i, len = strlen(s);

	if (s[0] != '/') {
		*why = "not an absolute path";
		return -TT_EINVAL;
	}
	if (len >= TCPTIMEO_CGROUP_PATH_MAX) {
		*why = "too long";
		return -TT_EINVAL;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f) {
			*why = "contains a space or control character";
			return -TT_EINVAL;
		}
	}
	/* the kernel's path walk has no . or ..: such a path never exists */
	for (i = 0; i < len; i++) {
		size_t n = 0;

		if (s[i] != '/')
			continue;
		while (i + 1 + n < len && s[i + 1 + n] != '/')
			n++;
		if ((n == 1 && s[i + 1] == '.') ||
		    (n == 2 && s[i + 1] == '.' && s[i + 2] == '.')) {
			*why = "has a . or .. component";
			return -TT_EINVAL;
		}
	}
	return 0;
}

static bool ctl_is_any(const char *v)
{
	return !*v || !strcmp(v, "any");
}

/* Parse @val for field @f into @r; 0 or -TT_E* with *why set. */
static int ctl_field_parse(struct ctl_rule *r, enum ctl_field f,
			   const char *val, const char **why, char *nsmsg,
			   size_t nssize)
{
	size_t len = strlen(val);
	u32 v;
	u8 n;
	int err;

	*why = NULL;
	switch (f) {
	case F_PRIORITY:
		err = tt_parse_u32(val, len, TCPTIMEO_PRIORITY_MAX, &v);
		if (!err)
			r->priority = v;
		return err;
	case F_DIR:
		return tt_parse_dir(val, len, &r->sel.dir);
	case F_MODE:
		return tt_parse_mode(val, len, &r->opts.mode);
	case F_LPORTS:
	case F_RPORTS: {
		struct tt_port_range *pr = f == F_LPORTS ? r->sel.lports :
							   r->sel.rports;
		u8 *pn = f == F_LPORTS ? &r->sel.n_lports : &r->sel.n_rports;

		if (ctl_is_any(val)) {
			*pn = 0;
			return 0;
		}
		err = tt_parse_ports(val, len, pr, &n);
		if (err) {
			const char *c;
			size_t cnt = 1;

			for (c = val; *c; c++)
				cnt += *c == ',';
			if (cnt > TCPTIMEO_MAX_PORT_RANGES)
				*why = "more than 16 entries";
			return err;
		}
		*pn = n;
		return 0;
	}
	case F_ADDRS: {
		if (ctl_is_any(val)) {
			r->sel.n_addrs = 0;
			return 0;
		}
		err = tt_parse_cidrs(val, len, r->sel.addrs, &n);
		if (err) {
			const char *c;
			size_t cnt = 1;

			for (c = val; *c; c++)
				cnt += *c == ',';
			if (cnt > TCPTIMEO_MAX_CIDRS)
				*why = "more than 16 entries";
			return err;
		}
		r->sel.n_addrs = n;
		return 0;
	}
	case F_CGROUP:
		if (ctl_is_any(val)) {
			r->cgroup[0] = '\0';
			return 0;
		}
		err = ctl_check_cgroup(val, why);
		if (!err)
			memcpy(r->cgroup, val, len + 1);
		return err;
	case F_NETNS:
		if (ctl_is_any(val)) {
			r->netns = 0;
			return 0;
		}
		err = ctl_netns_resolve(val, &v, nsmsg, nssize);
		if (err) {
			*why = nsmsg;
			return err;
		}
		r->netns = v;
		return 0;
	case F_IDLE:
	case F_INTVL:
		err = ctl_parse_secs(val, f == F_IDLE ? TCPTIMEO_KEEPIDLE_MAX :
					  TCPTIMEO_KEEPINTVL_MAX, &v);
		if (!err) {
			if (f == F_IDLE)
				r->opts.keepidle = v;
			else
				r->opts.keepintvl = v;
		}
		return err;
	case F_CNT:
	case F_SYN:
		err = tt_parse_u32(val, len, f == F_CNT ? TCPTIMEO_KEEPCNT_MAX :
				   TCPTIMEO_SYN_RETRIES_MAX, &v);
		if (!err) {
			if (f == F_CNT)
				r->opts.keepcnt = (u8)v;
			else
				r->opts.syn_retries = (u8)v;
		}
		return err;
	case F_UTO:
		if (!strcmp(val, "auto")) {
			r->opts.user_timeout = TCPTIMEO_USER_TIMEOUT_AUTO;
			return 0;
		}
		err = ctl_parse_ms(val, TCPTIMEO_USER_TIMEOUT_MAX, &v);
		if (!err)
			r->opts.user_timeout = v;
		return err;
	default:
		return -TT_EINVAL;
	}
}

int ctl_rule_word(struct ctl_rule *r, enum ctl_ctx ctx, const char *word,
		  const char *val, char *msg, size_t size)
{
	const char *dash = ctx == CTX_FILE ? "" : "--";
	const struct ctl_word *w = ctl_word_find(word);
	int where = ctx == CTX_FILE ? W_FILE : ctx == CTX_ADD ? W_ADD : W_SET;
	char q[80], nsmsg[CTL_MSG_MAX / 2];
	const char *why;
	int err;

	if (!w) {
		if (ctx == CTX_FILE)
			msgf(msg, size, "unknown word '%s'; expected a rule name, "
			     "then: priority dir local-port remote-port "
			     "remote-addr cgroup netns keepalive idle intvl cnt "
			     "user-timeout syn-retries fill force clamp audit "
			     "disabled",
			     ctl_quote(word, strlen(word), q, sizeof(q)));
		else
			msgf(msg, size, "unknown option '--%s'; see "
			     "'tcptimeoctl --help'",
			     ctl_quote(word, strlen(word), q, sizeof(q)));
		return -1;
	}
	if (!(w->where & where)) {
		if (w->field == F_ENABLED)
			msgf(msg, size, "--%s: not for set; use 'tcptimeoctl "
			     "disable NAME'", word);
		else
			msgf(msg, size, "%s%s: only for 'tcptimeoctl set'; "
			     "leave the word out instead", dash, word);
		return -1;
	}
	if (r->given & (1u << w->field)) {
		if (w->field == F_MODE)
			msgf(msg, size, "%s%s: the mode is already given; "
			     "valid: one of %sfill, %sforce, %sclamp", dash,
			     word, dash, dash, dash);
		else if (!strcmp(word, ctl_fields[w->field].word))
			msgf(msg, size, "%s%s: given twice", dash, word);
		else
			msgf(msg, size, "%s%s: %s%s is already given", dash,
			     word, dash, ctl_fields[w->field].word);
		return -1;
	}
	if (!w->value) {
		switch (w->field) {
		case F_KEEPALIVE:
			r->opts.keepalive = (u8)w->flag;
			break;
		case F_MODE:
			r->opts.mode = (u8)w->flag;
			break;
		case F_AUDIT:
			r->opts.audit = (u8)w->flag;
			break;
		case F_ENABLED:
			r->enabled = w->flag;
			break;
		default:
			break;
		}
		r->given |= 1u << w->field;
		return 0;
	}
	if (!val) {
		msgf(msg, size, "%s%s: missing value; valid: %s", dash, word,
		     ctl_fields[w->field].valid);
		return -1;
	}
	nsmsg[0] = '\0';
	err = ctl_field_parse(r, w->field, val, &why, nsmsg, sizeof(nsmsg));
	if (err) {
		if (w->field == F_NETNS && why)
			msgf(msg, size, "%s%s %s; valid: %s", dash, word, why,
			     ctl_fields[w->field].valid);
		else
			msgf(msg, size, "%s%s '%s': %s; valid: %s", dash, word,
			     ctl_quote(val, strlen(val), q, sizeof(q)),
			     why ? why : err == -TT_ERANGE ? "out of range" :
			     "invalid", ctl_fields[w->field].valid);
		return -1;
	}
	r->given |= 1u << w->field;
	return 1;
}

int ctl_rule_finish(struct ctl_rule *r, enum ctl_ctx ctx, char *msg,
		    size_t size)
{
	(void)r;
	(void)ctx;
	(void)msg;
	(void)size;
	return 0;
}

/* ---- rules file ---- */

static int ctl_file_err(struct ctl_file *f, int line, const char *msg)
{
	struct ctl_err *e;

	if (f->nerr == f->errcap) {
		size_t cap = f->errcap ? f->errcap * 2 : 8;

		e = realloc(f->errs, cap * sizeof(*e));
		if (!e)
			return -1;
		f->errs = e;
		f->errcap = cap;
	}
	e = &f->errs[f->nerr++];
	e->line = line;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	return 0;
}

static bool ctl_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Split @line (NUL-terminated, writable) into words; '#' starts a comment. */
static size_t ctl_split(char *line, char **words, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (ctl_space(*p))
			p++;
		if (!*p || *p == '#')
			break;
		if (n == max)
			return max + 1;
		words[n++] = p;
		while (*p && !ctl_space(*p))
			p++;
		if (!*p)
			break;
		*p++ = '\0';
	}
	return n;
}

#define CTL_LINE_WORDS	64
#define CTL_LINE_MAX	16384

static int ctl_file_line(struct ctl_file *f, char *line, size_t len, int lineno)
{
	char *words[CTL_LINE_WORDS];
	char msg[CTL_MSG_MAX], q[80];
	struct ctl_rule r;
	size_t n, i;
	bool bad = false, skipping = false;
	int used;

	if (memchr(line, '\0', len))
		return ctl_file_err(f, lineno, "line contains a NUL byte");
	if (len > CTL_LINE_MAX) {
		snprintf(msg, sizeof(msg), "line too long (%zu bytes, at most "
			 "%d)", len, CTL_LINE_MAX);
		return ctl_file_err(f, lineno, msg);
	}
	n = ctl_split(line, words, CTL_LINE_WORDS);
	if (!n)
		return 0;
	if (n > CTL_LINE_WORDS) {
		snprintf(msg, sizeof(msg), "too many words (at most %d)",
			 CTL_LINE_WORDS);
		return ctl_file_err(f, lineno, msg);
	}
	ctl_rule_init(&r);
	r.line = lineno;
	if (!tt_valid_name(words[0], strlen(words[0]))) {
		snprintf(msg, sizeof(msg), "rule name '%s': invalid; valid: "
			 "1-32 characters of A-Z a-z 0-9 _ . - (the first "
			 "word of a line)",
			 ctl_quote(words[0], strlen(words[0]), q, sizeof(q)));
		if (ctl_file_err(f, lineno, msg))
			return -1;
		bad = true;
	} else {
		memcpy(r.name, words[0], strlen(words[0]) + 1);
	}
	for (i = 1; i < n; i++) {
		const char *val;

		if (skipping && !ctl_word_find(words[i]))
			continue;	/* the value of an unknown word */
		skipping = false;
		val = i + 1 < n && ctl_word_takes_value(words[i]) ?
		      words[i + 1] : NULL;
		used = ctl_rule_word(&r, CTX_FILE, words[i], val, msg,
				     sizeof(msg));
		if (used < 0) {
			if (ctl_file_err(f, lineno, msg))
				return -1;
			bad = true;
			if (!ctl_word_find(words[i]))
				skipping = true;
			else if (val)
				i++;
			continue;
		}
		i += (size_t)used;
	}
	if (!bad && ctl_rule_finish(&r, CTX_FILE, msg, sizeof(msg))) {
		if (ctl_file_err(f, lineno, msg))
			return -1;
		bad = true;
	}
	if (bad)
		return 0;
	for (i = 0; i < f->n; i++) {
		if (!strcmp(f->rules[i].name, r.name)) {
			snprintf(msg, sizeof(msg), "rule '%s' is already "
				 "defined at line %d", r.name,
				 f->rules[i].line);
			return ctl_file_err(f, lineno, msg);
		}
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct ctl_rule *nr = realloc(f->rules, cap * sizeof(*nr));

		if (!nr)
			return -1;
		f->rules = nr;
		f->cap = cap;
	}
	f->rules[f->n++] = r;
	return 0;
}

int ctl_file_parse(struct ctl_file *f, const char *buf, size_t len)
{
	size_t pos = 0, end;
	char *line;
	int lineno = 0, err;

	memset(f, 0, sizeof(*f));
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		end = nl ? (size_t)(nl - buf) : len;
		lineno++;
		line = malloc(end - pos + 1);
		if (!line)
			return -1;
		memcpy(line, buf + pos, end - pos);
		line[end - pos] = '\0';
		err = ctl_file_line(f, line, end - pos, lineno);
		free(line);
		if (err)
			return -1;
		pos = end + 1;
	}
	return 0;
}

void ctl_file_free(struct ctl_file *f)
{
	free(f->rules);
	free(f->errs);
	memset(f, 0, sizeof(*f));
}

size_t ctl_rule_line(char *buf, size_t size, const struct ctl_rule *r)
{
	size_t n = tt_format_rule(buf, size, r->name, r->priority, &r->sel,
				  r->cgroup, r->netns, &r->opts);

	if (!r->enabled) {
		if (n + 9 < size)
			memcpy(buf + n, " disabled", 10);
		n += 9;
	}
	return n;
}

void ctl_field_text(const struct ctl_rule *r, enum ctl_field f, char *buf,
		    size_t size)
{
	switch (f) {
	case F_PRIORITY:
		snprintf(buf, size, "%u", r->priority);
		break;
	case F_DIR:
		snprintf(buf, size, "%s", tt_dir_name(r->sel.dir));
		break;
	case F_LPORTS:
		tt_format_ports(buf, size, r->sel.lports, r->sel.n_lports);
		break;
	case F_RPORTS:
		tt_format_ports(buf, size, r->sel.rports, r->sel.n_rports);
		break;
	case F_ADDRS:
		tt_format_cidrs(buf, size, r->sel.addrs, r->sel.n_addrs);
		break;
	case F_CGROUP:
		snprintf(buf, size, "%s", r->cgroup);
		break;
	case F_NETNS:
		snprintf(buf, size, "%u", r->netns);
		break;
	case F_KEEPALIVE:
		snprintf(buf, size, "%u", r->opts.keepalive);
		break;
	case F_IDLE:
		snprintf(buf, size, "%u", r->opts.keepidle);
		break;
	case F_INTVL:
		snprintf(buf, size, "%u", r->opts.keepintvl);
		break;
	case F_CNT:
		snprintf(buf, size, "%u", r->opts.keepcnt);
		break;
	case F_UTO:
		if (r->opts.user_timeout == TCPTIMEO_USER_TIMEOUT_AUTO)
			snprintf(buf, size, "auto");
		else
			snprintf(buf, size, "%u", r->opts.user_timeout);
		break;
	case F_SYN:
		snprintf(buf, size, "%u", r->opts.syn_retries);
		break;
	case F_MODE:
		snprintf(buf, size, "%s", tt_mode_name(r->opts.mode));
		break;
	case F_AUDIT:
		snprintf(buf, size, "%u", r->opts.audit);
		break;
	case F_ENABLED:
		snprintf(buf, size, "%d", r->enabled ? 1 : 0);
		break;
	default:
		if (size)
			buf[0] = '\0';
	}
}

bool ctl_field_equal(const struct ctl_rule *a, const struct ctl_rule *b,
		     enum ctl_field f)
{
	char ta[TT_CIDRS_TEXT_MAX + TCPTIMEO_CGROUP_PATH_MAX];
	char tb[sizeof(ta)];

	ctl_field_text(a, f, ta, sizeof(ta));
	ctl_field_text(b, f, tb, sizeof(tb));
	return !strcmp(ta, tb);
}

bool ctl_rule_equal(const struct ctl_rule *a, const struct ctl_rule *b)
{
	int f;

	if (strcmp(a->name, b->name))
		return false;
	for (f = 0; f < F_NFIELDS; f++)
		if (!ctl_field_equal(a, b, (enum ctl_field)f))
			return false;
	return true;
}

int ctl_rule_order(const void *a, const void *b)
{
	const struct ctl_rule *x = a, *y = b;

	return tt_rule_cmp(x->priority, x->name, y->priority, y->name);
}

/* Next path component: skips repeated slashes. */
static const char *ctl_comp(const char *p, size_t *len)
{
	while (*p == '/')
		p++;
	*len = strcspn(p, "/");
	return p;
}

/*
 * Is cgroup @path @rule_path or below it? Component by component, so that
 * /loadtest2 is not below /loadtest; repeated and trailing slashes do not
 * count (the kernel's path walk ignores them too).
 */
bool ctl_cgroup_under(const char *path, const char *rule_path)
{
	const char *p = path, *q = rule_path;
	size_t lp, lq;

	for (;;) {
		q = ctl_comp(q, &lq);
		if (!lq)
			return true;
		p = ctl_comp(p, &lp);
		if (lp != lq || memcmp(p, q, lq))
			return false;
		p += lp;
		q += lq;
	}
}
