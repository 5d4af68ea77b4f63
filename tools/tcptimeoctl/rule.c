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

/* The grammar is lib/tt_parse.c's; the CLI's fields are its fields. */
_Static_assert((int)F_NFIELDS == (int)TT_F_NFIELDS, "fields");
_Static_assert((int)F_NETNS == (int)TT_F_NETNS, "fields");
_Static_assert((int)F_ENABLED == (int)TT_F_ENABLED, "fields");
_Static_assert((int)F_RTO_MAX == (int)TT_F_RTO_MAX, "fields");

bool ctl_word_takes_value(const char *word)
{
	return tt_rule_word_takes_value(word, strlen(word));
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

int ctl_parse_secs(const char *s, u32 max, u32 *out)
{
	return tt_parse_secs(s, strlen(s), max, out);
}

int ctl_parse_ms(const char *s, u32 max, u32 *out)
{
	return tt_parse_ms(s, strlen(s), max, out);
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

struct ctl_nsmsg {
	char *buf;
	size_t size;
};

/* lib's netns hook: the CLI also takes PIDs, files and names. */
static int ctl_ns_hook(void *priv, const char *s, size_t len, u32 *ino)
{
	struct ctl_nsmsg *m = priv;

	(void)len;		/* s is the NUL-terminated argument */
	return ctl_netns_resolve(s, ino, m->buf, m->size);
}

int ctl_rule_word(struct ctl_rule *r, enum ctl_ctx ctx, const char *word,
		  const char *val, char *msg, size_t size)
{
	const char *dash = ctx == CTX_FILE ? "" : "--";
	int where = ctx == CTX_FILE ? TT_W_FILE : ctx == CTX_ADD ? TT_W_ADD :
		    TT_W_SET;
	char q[80], nsmsg[CTL_MSG_MAX / 2];
	struct ctl_nsmsg m = { nsmsg, sizeof(nsmsg) };
	struct tt_rule_spec sp;
	struct tt_rule_err e;
	const char *fw;
	int used;

	sp.priority = r->priority;
	sp.netns = r->netns;
	sp.sel = r->sel;
	sp.opts = r->opts;
	sp.cgroup = r->cgroup;
	sp.cgroup_len = strlen(r->cgroup);
	sp.disabled = !r->enabled;
	sp.given = r->given;
	nsmsg[0] = '\0';
	used = tt_rule_word(&sp, where, ctl_ns_hook, &m, word, strlen(word),
			    val, val ? strlen(val) : 0, &e);
	if (used >= 0) {
		r->priority = sp.priority;
		r->netns = sp.netns;
		r->sel = sp.sel;
		r->opts = sp.opts;
		if (!sp.cgroup)
			r->cgroup[0] = '\0';
		else if (sp.cgroup != r->cgroup)
			memcpy(r->cgroup, sp.cgroup, sp.cgroup_len + 1);
		r->enabled = !sp.disabled;
		r->given = sp.given;
		if (!strcmp(word, "user-timeout") && val)
			r->uto_bare = val[strspn(val, "0123456789")] == '\0';
		return used;
	}
	fw = e.field < TT_F_NFIELDS ? ctl_fields[e.field].word : "";
	switch (e.fail) {
	case TT_RF_UNKNOWN:
		if (ctx == CTX_FILE)
			msgf(msg, size, "unknown word '%s'; expected a rule name, "
			     "then: priority dir local-port remote-port "
			     "remote-addr cgroup netns keepalive idle intvl cnt "
			     "user-timeout syn-retries rto-max fill force clamp "
			     "audit "
			     "disabled",
			     ctl_quote(word, strlen(word), q, sizeof(q)));
		else
			msgf(msg, size, "unknown option '--%s'; see "
			     "'tcptimeoctl --help'",
			     ctl_quote(word, strlen(word), q, sizeof(q)));
		break;
	case TT_RF_WHERE:
		if (e.field == F_ENABLED)
			msgf(msg, size, "--%s: not for set; use 'tcptimeoctl "
			     "disable NAME'", word);
		else
			msgf(msg, size, "%s%s: only for 'tcptimeoctl set'; "
			     "leave the word out instead", dash, word);
		break;
	case TT_RF_TWICE:
		if (e.field == F_MODE)
			msgf(msg, size, "%s%s: the mode is already given; "
			     "valid: one of %sfill, %sforce, %sclamp", dash,
			     word, dash, dash, dash);
		else if (!strcmp(word, fw))
			msgf(msg, size, "%s%s: given twice", dash, word);
		else
			msgf(msg, size, "%s%s: %s%s is already given", dash,
			     word, dash, fw);
		break;
	case TT_RF_NOVALUE:
		msgf(msg, size, "%s%s: missing value; valid: %s", dash, word,
		     ctl_fields[e.field].valid);
		break;
	default:
		if (e.field == F_NETNS && nsmsg[0])
			msgf(msg, size, "%s%s %s; valid: %s", dash, word, nsmsg,
			     ctl_fields[e.field].valid);
		else
			msgf(msg, size, "%s%s '%s': %s; valid: %s", dash, word,
			     ctl_quote(val, strlen(val), q, sizeof(q)),
			     e.why ? e.why : e.err == -TT_ERANGE ?
			     "out of range" : "invalid",
			     ctl_fields[e.field].valid);
		break;
	}
	return -1;
}

bool ctl_rule_sets_option(const struct ctl_rule *r)
{
	const struct tt_opts *o = &r->opts;

	return o->keepalive || o->keepidle || o->keepintvl || o->keepcnt ||
	       o->user_timeout || o->syn_retries || o->rto_max || o->audit;
}

/*
 * A rule that sets nothing would claim every connection it matches and
 * stamp nothing: rules after it never apply to them. Refused (set checks
 * the rule it would leave behind, cmd_set()).
 */
int ctl_rule_finish(struct ctl_rule *r, enum ctl_ctx ctx, char *msg,
		    size_t size)
{
	if (ctx == CTX_SET || ctl_rule_sets_option(r))
		return 0;
	snprintf(msg, size, "rule '%s' sets no option; valid: at least one of "
		 "%s, or %s (a rule that sets nothing claims the connections "
		 "it matches and stamps nothing)", r->name,
		 ctx == CTX_FILE ? "keepalive, idle, intvl, cnt, user-timeout, "
		 "syn-retries, rto-max" : "--keepalive, --idle, --intvl, "
		 "--cnt, --user-timeout, --syn-retries, --rto-max",
		 ctx == CTX_FILE ? "audit" : "--audit");
	return -1;
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

		if (skipping && !tt_rule_word_known(words[i], strlen(words[i])))
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
			if (!tt_rule_word_known(words[i], strlen(words[i])))
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
	case F_RTO_MAX:
		snprintf(buf, size, "%u", r->opts.rto_max);
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
