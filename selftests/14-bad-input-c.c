// SPDX-License-Identifier: GPL-2.0
/*
 * timeout: 120
 * 14-bad-input-c: bad input is refused with the right errno and changes
 * nothing (the table of 14-bad-input.py, in C on kselftest_harness.h).
 *
 * Topology: none. One host (or VM), the initial network namespace, no
 * connection: only the module's files, /sys/kernel/config/tcptimeo/rules/
 * (configfs) and /sys/kernel/tcptimeo/ (sysfs), plus one cgroup v2
 * directory (/tt-bad-c) that a rule may name.
 *
 * What it proves (docs/ABI.md, "General rules for every writable file"):
 *  - every writable rule attribute (line included) and the sysfs switches
 *    enabled, allow_kernel_sockets, hold: after a valid, non-default value
 *    (rules), each malformed write (empty, spaces, tab, sign, 99999999999,
 *    trailing junk, hex, a NUL, one past the range, 4 KiB of junk or of
 *    digits, a wrong keyword, ...) fails in write(2) with EINVAL, or ERANGE
 *    for a well-formed number out of range (ENOENT for a network namespace
 *    that does not exist, ENOTDIR for a cgroup path that names a file), and
 *    the file still reads back the old value;
 *  - sysfs commit refuses anything but "1" (EINVAL) and starts no hold;
 *    "1" without a hold is ENOENT;
 *  - a fresh rule reads back the ABI's defaults and is not live; valid
 *    values read back canonical; a value without its newline is accepted;
 *  - rto_max (TCP_RTO_MAX_MS, Linux 6.15+): the same table where the
 *    kernel has it; elsewhere a non-zero value, written alone or in a
 *    line, is EOPNOTSUPP and changes nothing;
 *  - rule names outside 1-32 characters of [A-Za-z0-9_.-] fail mkdir with
 *    EINVAL (32 characters, and _ . - digits, are accepted);
 *  - a live rule refuses a bad attribute or a bad line whole and stays live
 *    with its old form; a cgroup path naming a file is ENOTDIR for a live
 *    and for a disabled rule, and changes nothing;
 *  - the kernel log gets one line naming the rule and the field, and its
 *    lines are rate-limited.
 *
 * One point per case (fixture.variant.test). Every rule directory is named
 * ksft14c*: each test's teardown removes the ones it made, and main()
 * removes any left over (a crashed test) and counts that as a failure.
 *
 * Run as root. main() loads the module if it is not loaded (modprobe
 * configfs, mount configfs if needed, then insmod $TCPTIMEO_KO, or modprobe
 * tcptimeo without it) and unloads it at the end only then; it exits with
 * KSFT_SKIP (4) if it is not root or cannot load the module.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/ksft_tt.h"

#define CGP		"/tt-bad-c"
#define PREFIX		"ksft14c"
#define BIG		4096
#define NETNS		"@netns"	/* stands for our own namespace's inode */

static char netns_ino[32];	/* set by main() before the tests fork */

static const char *errname(int err)
{
	static char other[16];

	switch (err) {
	case 0:		return "success";
	case EINVAL:	return "EINVAL";
	case ERANGE:	return "ERANGE";
	case ENOENT:	return "ENOENT";
	case ENOTDIR:	return "ENOTDIR";
	case EEXIST:	return "EEXIST";
	case EPERM:	return "EPERM";
	case EACCES:	return "EACCES";
	}
	snprintf(other, sizeof(other), "errno %d", err);
	return other;
}

/* A value for a log line: escaped, at most 40 characters of it. */
static const char *show(const char *v, size_t len)
{
	static char out[200];
	size_t i, o = 0;

	for (i = 0; i < len && i < 40 && o < sizeof(out) - 32; i++) {
		unsigned char c = v[i];

		if (c == '\n')
			o += sprintf(out + o, "\\n");
		else if (c == '\t')
			o += sprintf(out + o, "\\t");
		else if (c < ' ' || c >= 0x7f)
			o += sprintf(out + o, "\\x%02x", c);
		else
			out[o++] = c;
	}
	out[o] = '\0';
	if (len > 40)
		snprintf(out + o, sizeof(out) - o, "...(%zu bytes)", len);
	return out;
}

/* ---- rules ---- */

static void rpath(char *out, size_t n, const char *rule, const char *attr)
{
	snprintf(out, n, RULES "/%s/%s", rule, attr);
}

/* The rule directories a test made, for its teardown. */
struct made {
	int n;
	char name[4][64];
};

static int rule_mk(struct made *m, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), RULES "/%s", name);
	if (mkdir(path, 0755))
		return errno;
	if (m->n < 4)
		snprintf(m->name[m->n++], sizeof(m->name[0]), "%s", name);
	return 0;
}

static void made_cleanup(struct made *m)
{
	char path[256];

	while (m->n > 0) {
		snprintf(path, sizeof(path), RULES "/%s", m->name[--m->n]);
		rmdir(path);
	}
}

/* attr of rule := value + "\n": 0 or the errno. */
static int rule_set(const char *rule, const char *attr, const char *value)
{
	char path[256], buf[512];

	rpath(path, sizeof(path), rule, attr);
	snprintf(buf, sizeof(buf), "%s\n", value);
	return write_str(path, buf);
}

static const char *rule_get(const char *rule, const char *attr, char *buf,
			    size_t size)
{
	char path[256];

	rpath(path, sizeof(path), rule, attr);
	return get(path, buf, size);
}

static bool rule_listed(const char *name)
{
	struct dirent *e;
	bool found = false;
	DIR *d;

	d = opendir(RULES);
	if (!d)
		return false;
	while ((e = readdir(d)))
		if (!strcmp(e->d_name, name))
			found = true;
	closedir(d);
	return found;
}

/*
 * The lines of the live table (sysfs rules) of our rules (ksft14c*),
 * joined by " | "; "" when none is live.
 */
static const char *live_ours(char *out, size_t size)
{
	char buf[65536], *line, *save = NULL;
	size_t o = 0;

	out[0] = '\0';
	get(SYSFS "/rules", buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, PREFIX, strlen(PREFIX)))
			continue;
		o += snprintf(out + o, size - o, "%s%s", o ? " | " : "", line);
		if (o >= size)
			break;
	}
	return out;
}

/* ---- a table of malformed writes ---- */

struct bad {
	const char *attr;	/* rule attribute or sysfs file */
	const char *old;	/* rules: valid value written first */
	const char *back;	/* what old reads back; NULL: as read */
	const char *value;	/* the write (or the prefix of a fill) */
	size_t len;		/* its length (may hold a NUL) */
	char fill;		/* value + nfill x fill + suffix */
	size_t nfill;
	const char *suffix;
	int err;		/* the errno write(2) must fail with */
};

/* The bytes of one malformed write into buf (BIG + 1024 bytes). */
static size_t bad_value(const struct bad *b, char *buf)
{
	size_t len = b->len;

	memcpy(buf, b->value, len);
	if (b->nfill) {
		memset(buf + len, b->fill, b->nfill);
		len += b->nfill;
		if (b->suffix) {
			memcpy(buf + len, b->suffix, strlen(b->suffix));
			len += strlen(b->suffix);
		}
	}
	return len;
}

#define BAD(F, a, tag, o, bk, v, e)					\
	FIXTURE_VARIANT_ADD(F, a##_##tag) {				\
		.b = { .attr = #a, .old = o, .back = bk, .value = v,	\
		       .len = sizeof(v) - 1, .err = e },		\
	};
#define FILL(F, a, tag, o, bk, pre, ch, n, suf, e)			\
	FIXTURE_VARIANT_ADD(F, a##_##tag) {				\
		.b = { .attr = #a, .old = o, .back = bk, .value = pre,	\
		       .len = sizeof(pre) - 1, .fill = ch, .nfill = n,	\
		       .suffix = suf, .err = e },			\
	};

/* Malformed writes for a decimal attribute 0..max (past: max + 1). */
#define NUMERIC(F, a, o, bk, past, kw)					\
	BAD(F, a, empty, o, bk, "\n", EINVAL)				\
	BAD(F, a, space, o, bk, " \n", EINVAL)				\
	BAD(F, a, lead_space, o, bk, " 5\n", EINVAL)			\
	BAD(F, a, trail_space, o, bk, "5 \n", EINVAL)			\
	BAD(F, a, tab, o, bk, "\t1\n", EINVAL)				\
	BAD(F, a, minus, o, bk, "-1\n", EINVAL)				\
	BAD(F, a, plus, o, bk, "+1\n", EINVAL)				\
	BAD(F, a, huge, o, bk, "99999999999\n", ERANGE)			\
	BAD(F, a, junk, o, bk, "1x\n", EINVAL)				\
	BAD(F, a, hex, o, bk, "0x1\n", EINVAL)				\
	BAD(F, a, fraction, o, bk, "1.0\n", EINVAL)			\
	BAD(F, a, two_newlines, o, bk, "1\n\n", EINVAL)			\
	BAD(F, a, nul, o, bk, "1\0", EINVAL)				\
	BAD(F, a, over, o, bk, past "\n", ERANGE)			\
	FILL(F, a, big_junk, o, bk, "", 'A', BIG, NULL, EINVAL)		\
	FILL(F, a, big_digits, o, bk, "", '1', BIG, NULL, ERANGE)	\
	BAD(F, a, keyword, o, bk, kw "\n", EINVAL)

/* What every keyword attribute also refuses. */
#define KEYWORD(F, a, o, bk)						\
	BAD(F, a, empty, o, bk, "\n", EINVAL)				\
	BAD(F, a, minus, o, bk, "-1\n", EINVAL)				\
	BAD(F, a, huge, o, bk, "99999999999\n", EINVAL)			\
	FILL(F, a, big_junk, o, bk, "", 'A', BIG, NULL, EINVAL)

#define PORTS(F, a, o, bk)						\
	BAD(F, a, space, o, bk, " \n", EINVAL)				\
	BAD(F, a, comma_space, o, bk, "80, 443\n", EINVAL)		\
	BAD(F, a, minus, o, bk, "-1\n", EINVAL)				\
	BAD(F, a, huge, o, bk, "99999999999\n", ERANGE)			\
	BAD(F, a, junk, o, bk, "80x\n", EINVAL)				\
	BAD(F, a, zero, o, bk, "0\n", ERANGE)				\
	BAD(F, a, over, o, bk, "65536\n", ERANGE)			\
	BAD(F, a, reversed, o, bk, "90-80\n", EINVAL)			\
	BAD(F, a, trailing_comma, o, bk, "80,\n", EINVAL)		\
	BAD(F, a, leading_comma, o, bk, ",80\n", EINVAL)		\
	BAD(F, a, double_comma, o, bk, "80,,81\n", EINVAL)		\
	BAD(F, a, open_range, o, bk, "80-\n", EINVAL)			\
	BAD(F, a, three_ends, o, bk, "1-2-3\n", EINVAL)			\
	BAD(F, a, seventeen, o, bk, "1,3,5,7,9,11,13,15,17,19,21,23,25,"	\
	    "27,29,31,33\n", EINVAL)					\
	FILL(F, a, big_junk, o, bk, "", 'A', BIG, NULL, EINVAL)		\
	BAD(F, a, keyword, o, bk, "any\n", EINVAL)

/* ---- fixtures, in the order they run ---- */

/*
 * The kernel log first: pr_info_ratelimited() allows a burst of 10 lines
 * per 5 s, and nothing before these two tests has spent any of it.
 */
FIXTURE(klog) {
	struct made m;
	int fd;
};

FIXTURE_SETUP(klog)
{
	self->fd = kmsg_open();
	ASSERT_LE(0, self->fd) TH_LOG("/dev/kmsg: %s", strerror(errno));
}

FIXTURE_TEARDOWN(klog)
{
	made_cleanup(&self->m);
	close(self->fd);
}

TEST_F(klog, names_rule_and_field)
{
	char path[256], first[512];

	ASSERT_EQ(0, rule_mk(&self->m, PREFIX "-log"));
	rpath(path, sizeof(path), PREFIX "-log", "keepidle");
	ASSERT_EQ(EINVAL, write_str(path, "x\n"));
	EXPECT_LT(0, kmsg_ours(self->fd, first, sizeof(first)));
	EXPECT_TRUE(strstr(first, "rule " PREFIX "-log") && strstr(first, "keepidle"))
		TH_LOG("first line: '%s'", first);
}

TEST_F(klog, rate_limited)
{
	char path[256], first[512];
	int i, lines, nbad = 60;

	ASSERT_EQ(0, rule_mk(&self->m, PREFIX "-log"));
	rpath(path, sizeof(path), PREFIX "-log", "keepcnt");
	for (i = 0; i < nbad; i++)
		ASSERT_EQ(EINVAL, write_str(path, i % 2 ? "x\n" : " 1\n"));
	lines = kmsg_ours(self->fd, first, sizeof(first));
	EXPECT_LT(0, lines);
	EXPECT_LT(lines, nbad / 2)
		TH_LOG("%d lines for %d bad writes, the first: '%s'",
		       lines, nbad, first);
}

/* A fresh rule reads back the ABI's defaults. */
FIXTURE(fresh) {
	struct made m;
};

FIXTURE_VARIANT(fresh) {
	const char *attr;
	const char *want;
};

#define FRESH(a, w) FIXTURE_VARIANT_ADD(fresh, a) { .attr = #a, .want = w };
FRESH(priority, "1000")
FRESH(direction, "any")
FRESH(local_ports, "")
FRESH(remote_ports, "")
FRESH(remote_addrs, "")
FRESH(cgroup, "")
FRESH(netns, "0")
FRESH(keepalive, "0")
FRESH(keepidle, "0")
FRESH(keepintvl, "0")
FRESH(keepcnt, "0")
FRESH(user_timeout, "0")
FRESH(syn_retries, "0")
FRESH(rto_max, "0")
FRESH(mode, "fill")
FRESH(enabled, "0")
FRESH(line, "priority 1000 dir any")
FRESH(matched, "0")
FRESH(netns_state, "any")
FRESH(cgroup_state, "any")

FIXTURE_SETUP(fresh)
{
}

FIXTURE_TEARDOWN(fresh)
{
	made_cleanup(&self->m);
}

TEST_F(fresh, reads_default)
{
	char buf[512];

	ASSERT_EQ(0, rule_mk(&self->m, PREFIX "-bad"));
	EXPECT_STREQ(variant->want, rule_get(PREFIX "-bad", variant->attr,
					     buf, sizeof(buf)));
}

/* Single cases on one or two rules of their own. */
FIXTURE(rule) {
	struct made m;
};

FIXTURE_SETUP(rule)
{
}

FIXTURE_TEARDOWN(rule)
{
	made_cleanup(&self->m);
}

TEST_F(rule, fresh_not_live)
{
	char live[4096];

	ASSERT_EQ(0, rule_mk(&self->m, PREFIX "-bad"));
	EXPECT_STREQ("", live_ours(live, sizeof(live)));
}

TEST_F(rule, value_without_newline)
{
	char path[256], buf[64];

	ASSERT_EQ(0, rule_mk(&self->m, PREFIX "-bad"));
	rpath(path, sizeof(path), PREFIX "-bad", "keepidle");
	EXPECT_EQ(0, write_str(path, "9"));
	EXPECT_STREQ("9", get(path, buf, sizeof(buf)));
}

/* A cgroup path that names a file can never be a cgroup. */
TEST_F(rule, live_cgroup_enotdir)
{
	const char *r = PREFIX "-cg-live";
	char path[256], buf[512], live[4096];
	int err;

	ASSERT_EQ(0, rule_mk(&self->m, r));
	ASSERT_EQ(0, rule_set(r, "cgroup", CGP));
	ASSERT_EQ(0, rule_set(r, "enabled", "1"));
	rpath(path, sizeof(path), r, "cgroup");
	err = write_str(path, "/cgroup.procs\n");
	EXPECT_EQ(ENOTDIR, err) TH_LOG("write: %s", errname(err));
	EXPECT_STREQ(CGP, rule_get(r, "cgroup", buf, sizeof(buf)));
	EXPECT_STREQ("1", rule_get(r, "enabled", buf, sizeof(buf)));
	EXPECT_STREQ(PREFIX "-cg-live priority 1000 dir any cgroup " CGP,
		     live_ours(live, sizeof(live)));
}

TEST_F(rule, disabled_cgroup_enotdir)
{
	const char *r = PREFIX "-cg-dead";
	char path[256], buf[512], live[4096];
	int err;

	ASSERT_EQ(0, rule_mk(&self->m, r));
	rpath(path, sizeof(path), r, "cgroup");
	err = write_str(path, "/cgroup.procs\n");
	EXPECT_EQ(ENOTDIR, err) TH_LOG("write: %s", errname(err));
	EXPECT_STREQ("", rule_get(r, "cgroup", buf, sizeof(buf)));
	EXPECT_STREQ("0", rule_get(r, "enabled", buf, sizeof(buf)));
	EXPECT_STREQ("", live_ours(live, sizeof(live)));
}

/* Does this kernel's TCP take TCP_RTO_MAX_MS (6.15+)? Asked of a socket. */
static bool has_rto_max(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = 5000;
	socklen_t len = sizeof(v);
	bool has;

	if (fd < 0)
		return false;
	has = !setsockopt(fd, IPPROTO_TCP, 44, &v, sizeof(v)) &&
	      !getsockopt(fd, IPPROTO_TCP, 44, &v, &len) && v == 5000;
	close(fd);
	return has;
}

/* Without TCP_RTO_MAX_MS only 0 is an rto_max: EOPNOTSUPP, nothing changed. */
TEST_F(rule, rto_max_unsupported)
{
	const char *r = PREFIX "-rto";
	char path[256], buf[512];
	int err;

	if (has_rto_max())
		SKIP(return, "this kernel has TCP_RTO_MAX_MS (rule_bad covers it)");
	ASSERT_EQ(0, rule_mk(&self->m, r));
	rpath(path, sizeof(path), r, "rto_max");
	err = write_str(path, "2000\n");
	EXPECT_EQ(EOPNOTSUPP, err) TH_LOG("write: %s", errname(err));
	EXPECT_STREQ("0", rule_get(r, "rto_max", buf, sizeof(buf)));
	EXPECT_EQ(0, write_str(path, "0\n"));
	rpath(path, sizeof(path), r, "line");
	err = write_str(path, "dir out idle 7 rto-max 2s\n");
	EXPECT_EQ(EOPNOTSUPP, err) TH_LOG("write: %s", errname(err));
	EXPECT_STREQ("priority 1000 dir any", rule_get(r, "line", buf, sizeof(buf)));
}

/* A live rule refuses a bad write and stays live with its old value. */
TEST_F(rule, live_keepidle_erange)
{
	const char *r = PREFIX "-live";
	char path[256], buf[512], live[4096];
	int err;

	ASSERT_EQ(0, rule_mk(&self->m, r));
	ASSERT_EQ(0, rule_set(r, "keepidle", "33"));
	ASSERT_EQ(0, rule_set(r, "enabled", "1"));
	rpath(path, sizeof(path), r, "keepidle");
	err = write_str(path, "32768\n");
	EXPECT_EQ(ERANGE, err) TH_LOG("write: %s", errname(err));
	EXPECT_STREQ("33", rule_get(r, "keepidle", buf, sizeof(buf)));
	EXPECT_STREQ("1", rule_get(r, "enabled", buf, sizeof(buf)));
	EXPECT_STREQ(PREFIX "-live priority 1000 dir any idle 33s",
		     live_ours(live, sizeof(live)));
}

/* A live rule refuses a bad line whole: no field of it changes. */
TEST_F(rule, live_line_erange)
{
	const char *r = PREFIX "-live";
	char path[256], buf[512], live[4096];
	int err;

	ASSERT_EQ(0, rule_mk(&self->m, r));
	ASSERT_EQ(0, rule_set(r, "keepidle", "33"));
	ASSERT_EQ(0, rule_set(r, "enabled", "1"));
	rpath(path, sizeof(path), r, "line");
	err = write_str(path, "priority 5 dir in keepalive idle 32768\n");
	EXPECT_EQ(ERANGE, err) TH_LOG("write: %s", errname(err));
	EXPECT_STREQ("priority 1000 dir any idle 33s",
		     rule_get(r, "line", buf, sizeof(buf)));
	EXPECT_STREQ("1", rule_get(r, "enabled", buf, sizeof(buf)));
	EXPECT_STREQ(PREFIX "-live priority 1000 dir any idle 33s",
		     live_ours(live, sizeof(live)));
}

TEST_F(rule, name_32_chars)
{
	const char *name = PREFIX "_Aaaaaaaaaaaaaaaaaaaaaaaa";

	ASSERT_EQ(32U, strlen(name));
	EXPECT_EQ(0, rule_mk(&self->m, name));
	EXPECT_TRUE(rule_listed(name));
}

TEST_F(rule, name_chars)
{
	EXPECT_EQ(0, rule_mk(&self->m, PREFIX "_Name.1-2"));
	EXPECT_TRUE(rule_listed(PREFIX "_Name.1-2"));
}

/* Rule names mkdir refuses: EINVAL, and no directory. */
FIXTURE(rule_name) {
	struct made m;
};

FIXTURE_VARIANT(rule_name) {
	const char *name;
};

FIXTURE_VARIANT_ADD(rule_name, chars_33) { .name = PREFIX "_Aaaaaaaaaaaaaaaaaaaaaaaaa" };
FIXTURE_VARIANT_ADD(rule_name, colon) { .name = PREFIX ":b" };
FIXTURE_VARIANT_ADD(rule_name, space) { .name = PREFIX " b" };
FIXTURE_VARIANT_ADD(rule_name, non_ascii) { .name = PREFIX "caf\xc3\xa9" };
FIXTURE_VARIANT_ADD(rule_name, star) { .name = PREFIX "*b" };
FIXTURE_VARIANT_ADD(rule_name, tab) { .name = PREFIX "\tb" };
FIXTURE_VARIANT_ADD(rule_name, bang) { .name = PREFIX "!" };
FIXTURE_VARIANT_ADD(rule_name, comma) { .name = PREFIX ",b" };

FIXTURE_SETUP(rule_name)
{
}

FIXTURE_TEARDOWN(rule_name)
{
	made_cleanup(&self->m);
}

TEST_F(rule_name, refused)
{
	int err = rule_mk(&self->m, variant->name);

	EXPECT_EQ(EINVAL, err) TH_LOG("mkdir '%s' (%zu bytes): %s",
				      show(variant->name, strlen(variant->name)),
				      strlen(variant->name), errname(err));
	EXPECT_FALSE(rule_listed(variant->name));
}

/* Valid values read back canonical (pre: written first). */
FIXTURE(canonical) {
	struct made m;
};

FIXTURE_VARIANT(canonical) {
	const char *attr;
	const char *pre;
	const char *value;
	const char *want;	/* NULL: not fixed by the ABI */
};

#define CANON(tag, a, p, v, w)						\
	FIXTURE_VARIANT_ADD(canonical, tag) {				\
		.attr = #a, .pre = p, .value = v, .want = w };
CANON(ports_merged, local_ports, NULL, "8000-8099,443,80,81,82", "80-82,443,8000-8099")
CANON(ports_overlap, local_ports, NULL, "10-20,15-25,26", "10-26")
CANON(ports_sorted, remote_ports, NULL, "65535,1", "1,65535")
CANON(addr_bare, remote_addrs, NULL, "10.0.0.1", "10.0.0.1/32")
CANON(addr_rfc5952, remote_addrs, NULL, "fd00:0:0:0:0:0:0:1/128,FD00::/8",
	"fd00::1/128,fd00::/8")
CANON(addr_mapped, remote_addrs, NULL, "::ffff:10.1.2.0/120", "::ffff:10.1.2.0/120")
CANON(user_timeout_auto, user_timeout, NULL, "auto", "auto")
CANON(ports_cleared, local_ports, "80", "", "")
/* the valid values rule_bad writes first */
CANON(priority, priority, NULL, "77", "77")
CANON(direction, direction, NULL, "in", "in")
CANON(local_ports, local_ports, NULL, "443,80", "80,443")
CANON(remote_ports, remote_ports, NULL, "8000-8099", "8000-8099")
CANON(remote_addrs, remote_addrs, NULL, "fd00::/8,10.96.0.0/12", NULL)
CANON(cgroup, cgroup, NULL, CGP, CGP)
CANON(netns, netns, NULL, NETNS, NETNS)
CANON(keepalive, keepalive, NULL, "1", "1")
CANON(keepidle, keepidle, NULL, "33", "33")
CANON(keepintvl, keepintvl, NULL, "44", "44")
CANON(keepcnt, keepcnt, NULL, "55", "55")
CANON(user_timeout, user_timeout, NULL, "7777", "7777")
CANON(syn_retries, syn_retries, NULL, "66", "66")
CANON(mode, mode, NULL, "force", "force")
CANON(enabled, enabled, NULL, "0", "0")
CANON(line, line, NULL, "dir in local-port 443,80 idle 2m",
	"priority 1000 dir in local-port 80,443 idle 120s")

FIXTURE_SETUP(canonical)
{
}

FIXTURE_TEARDOWN(canonical)
{
	made_cleanup(&self->m);
}

static const char *netns_sub(const char *v)
{
	return v && !strcmp(v, NETNS) ? netns_ino : v;
}

TEST_F(canonical, reads_back)
{
	const char *r = PREFIX "-bad", *want = netns_sub(variant->want);
	char buf[512];
	int err;

	ASSERT_EQ(0, rule_mk(&self->m, r));
	if (variant->pre)
		ASSERT_EQ(0, rule_set(r, variant->attr, variant->pre));
	err = rule_set(r, variant->attr, netns_sub(variant->value));
	ASSERT_EQ(0, err) TH_LOG("write: %s", errname(err));
	rule_get(r, variant->attr, buf, sizeof(buf));
	if (want) {
		EXPECT_STREQ(want, buf);
	} else {
		EXPECT_TRUE(buf[0] && buf[0] != '<') TH_LOG("reads back '%s'", buf);
	}
}

/* Every rule attribute: a valid value, then each malformed write. */
FIXTURE(rule_bad) {
	struct made m;
};

FIXTURE_VARIANT(rule_bad) {
	struct bad b;
};

NUMERIC(rule_bad, priority, "77", "77", "65536", "on")
BAD(rule_bad, direction, lead_space, "in", "in", " in\n", EINVAL)
BAD(rule_bad, direction, trail_space, "in", "in", "in \n", EINVAL)
BAD(rule_bad, direction, upper, "in", "in", "IN\n", EINVAL)
BAD(rule_bad, direction, both, "in", "in", "both\n", EINVAL)
BAD(rule_bad, direction, typo, "in", "in", "inn\n", EINVAL)
BAD(rule_bad, direction, list, "in", "in", "in,out\n", EINVAL)
BAD(rule_bad, direction, number, "in", "in", "0\n", EINVAL)
KEYWORD(rule_bad, direction, "in", "in")
PORTS(rule_bad, local_ports, "443,80", "80,443")
PORTS(rule_bad, remote_ports, "8000-8099", "8000-8099")

#define ADDRS(a, o)							\
	BAD(rule_bad, a, space, o, NULL, " \n", EINVAL)			\
	BAD(rule_bad, a, comma_space, o, NULL, "10.0.0.0/8, fd00::/8\n", EINVAL) \
	BAD(rule_bad, a, minus, o, NULL, "-1\n", EINVAL)		\
	BAD(rule_bad, a, huge, o, NULL, "99999999999\n", EINVAL)	\
	BAD(rule_bad, a, junk, o, NULL, "10.0.0.0/8x\n", EINVAL)	\
	BAD(rule_bad, a, v4_prefix, o, NULL, "10.0.0.0/33\n", ERANGE)	\
	BAD(rule_bad, a, v6_prefix, o, NULL, "fd00::/129\n", ERANGE)	\
	BAD(rule_bad, a, host_bits, o, NULL, "10.0.0.1/8\n", EINVAL)	\
	BAD(rule_bad, a, octet, o, NULL, "256.0.0.0/8\n", EINVAL)	\
	BAD(rule_bad, a, leading_zero, o, NULL, "10.0.0.0/08\n", EINVAL) \
	BAD(rule_bad, a, three_octets, o, NULL, "1.2.3\n", EINVAL)	\
	BAD(rule_bad, a, triple_colon, o, NULL, "fd00:::1\n", EINVAL)	\
	BAD(rule_bad, a, trailing_comma, o, NULL, "10.0.0.0/8,\n", EINVAL) \
	BAD(rule_bad, a, seventeen, o, NULL, "10.0.0.0/24,10.0.1.0/24,"	\
	    "10.0.2.0/24,10.0.3.0/24,10.0.4.0/24,10.0.5.0/24,10.0.6.0/24," \
	    "10.0.7.0/24,10.0.8.0/24,10.0.9.0/24,10.0.10.0/24,"		\
	    "10.0.11.0/24,10.0.12.0/24,10.0.13.0/24,10.0.14.0/24,"	\
	    "10.0.15.0/24,10.0.16.0/24\n", EINVAL)			\
	FILL(rule_bad, a, big_junk, o, NULL, "", 'A', BIG, NULL, EINVAL) \
	BAD(rule_bad, a, keyword, o, NULL, "any\n", EINVAL)
ADDRS(remote_addrs, "fd00::/8,10.96.0.0/12")

#define CG(tag, v, e) BAD(rule_bad, cgroup, tag, CGP, CGP, v, e)
CG(space, " \n", EINVAL)
CG(relative, "tt-bad-c\n", EINVAL)
CG(inner_space, "/tt bad\n", EINVAL)
CG(trail_space, CGP " \n", EINVAL)
FILL(rule_bad, cgroup, too_long, CGP, CGP, "/", 'a', 600, "\n", EINVAL)
CG(two_newlines, CGP "\n\n", EINVAL)
CG(minus, "-1\n", EINVAL)
CG(huge, "99999999999\n", EINVAL)
FILL(rule_bad, cgroup, big_junk, CGP, CGP, "", 'A', BIG, NULL, EINVAL)
CG(keyword, "any\n", EINVAL)
CG(names_a_file, "/cgroup.procs\n", ENOTDIR)

/* a number no live namespace has: ENOENT (docs/ABI.md, netns) */
NUMERIC(rule_bad, netns, NETNS, NETNS, "4294967296", "on")
BAD(rule_bad, netns, absent, NETNS, NETNS, "12345\n", ENOENT)
NUMERIC(rule_bad, keepalive, "1", "1", "2", "on")
NUMERIC(rule_bad, keepidle, "33", "33", "32768", "on")
NUMERIC(rule_bad, keepintvl, "44", "44", "32768", "on")
NUMERIC(rule_bad, keepcnt, "55", "55", "128", "on")
NUMERIC(rule_bad, user_timeout, "7777", "7777", "2147483648", "AUTO")
BAD(rule_bad, user_timeout, auto_space, "7777", "7777", "auto \n", EINVAL)
BAD(rule_bad, user_timeout, auto_junk, "7777", "7777", "auto1\n", EINVAL)
NUMERIC(rule_bad, syn_retries, "66", "66", "128", "on")
/* TCP_RTO_MAX_MS kernels only (6.15+): rule_bad skips them elsewhere */
NUMERIC(rule_bad, rto_max, "1500", "1500", "120001", "on")
BAD(rule_bad, rto_max, below, "1500", "1500", "999\n", ERANGE)
BAD(rule_bad, rto_max, one, "1500", "1500", "1\n", ERANGE)
BAD(rule_bad, rto_max, unit, "1500", "1500", "2s\n", EINVAL)
BAD(rule_bad, mode, lead_space, "force", "force", " fill\n", EINVAL)
BAD(rule_bad, mode, trail_space, "force", "force", "fill \n", EINVAL)
BAD(rule_bad, mode, upper, "force", "force", "FILL\n", EINVAL)
BAD(rule_bad, mode, overwrite, "force", "force", "overwrite\n", EINVAL)
BAD(rule_bad, mode, list, "force", "force", "fill,force\n", EINVAL)
BAD(rule_bad, mode, number, "force", "force", "1\n", EINVAL)
KEYWORD(rule_bad, mode, "force", "force")
NUMERIC(rule_bad, enabled, "0", "0", "2", "on")

/* the whole rule in one write */
#define LINE_OLD "dir in local-port 443,80 idle 2m"
#define LINE_BACK "priority 1000 dir in local-port 80,443 idle 120s"
#define LINE(tag, v, e) BAD(rule_bad, line, tag, LINE_OLD, LINE_BACK, v, e)
LINE(unknown_word, "bogus\n", EINVAL)
LINE(missing_value, "idle\n", EINVAL)
LINE(twice, "idle 7 idle 8\n", EINVAL)
LINE(two_modes, "force clamp\n", EINVAL)
LINE(idle_over, "idle 40000\n", ERANGE)
LINE(priority_over, "priority 65536\n", ERANGE)
LINE(user_timeout_over, "user-timeout 2147483648\n", ERANGE)
LINE(disabled, "disabled\n", EINVAL)
LINE(no_keepalive, "no-keepalive\n", EINVAL)
LINE(dir_sideways, "dir sideways\n", EINVAL)
LINE(two_newlines, "dir in\n\n", EINVAL)
LINE(port_zero, "local-port 0\n", ERANGE)
LINE(host_bits, "remote-addr 10.1.1.1/8\n", EINVAL)
LINE(cgroup_relative, "cgroup tt-bad\n", EINVAL)
LINE(cgroup_file, "cgroup /cgroup.procs\n", ENOTDIR)
LINE(netns_absent, "netns 12345\n", ENOENT)
LINE(netns_path, "netns /proc/1/ns/net\n", EINVAL)
LINE(keepalive_value, "keepalive 1\n", EINVAL)
LINE(nul, "idle 7\0", EINVAL)
LINE(comment, "dir in # c\n", EINVAL)
LINE(rto_max_below, "rto-max 999ms\n", ERANGE)
LINE(rto_max_over, "rto-max 121s\n", ERANGE)
LINE(rto_max_junk, "rto-max 2x\n", EINVAL)
FILL(rule_bad, line, big_junk, LINE_OLD, LINE_BACK, "", 'A', BIG, NULL, EINVAL)

FIXTURE_SETUP(rule_bad)
{
}

FIXTURE_TEARDOWN(rule_bad)
{
	made_cleanup(&self->m);
}

TEST_F(rule_bad, refused)
{
	const struct bad *b = &variant->b;
	const char *r = PREFIX "-bad", *want;
	char path[256], value[BIG + 1024], old[8192], now[8192];
	size_t len;
	int err;

	if (!strcmp(b->attr, "rto_max") && !has_rto_max())
		SKIP(return, "this kernel has no TCP_RTO_MAX_MS (Linux 6.15+)");
	ASSERT_EQ(0, rule_mk(&self->m, r));
	err = rule_set(r, b->attr, netns_sub(b->old));
	ASSERT_EQ(0, err) TH_LOG("valid %s '%s': %s", b->attr, b->old, errname(err));
	rule_get(r, b->attr, old, sizeof(old));
	want = b->back ? netns_sub(b->back) : old;
	ASSERT_STREQ(want, old);

	len = bad_value(b, value);
	rpath(path, sizeof(path), r, b->attr);
	err = write_raw(path, value, len);
	rule_get(r, b->attr, now, sizeof(now));
	EXPECT_EQ(b->err, err) TH_LOG("%s: '%s' -> %s, want %s", b->attr,
				      show(value, len), errname(err),
				      errname(b->err));
	EXPECT_STREQ(want, now);
}

/* The writable sysfs switches: each malformed write, the value kept. */
FIXTURE(sysfs_bad) {
	char old[64];
};

FIXTURE_VARIANT(sysfs_bad) {
	struct bad b;
};

NUMERIC(sysfs_bad, enabled, NULL, NULL, "2", "on")
NUMERIC(sysfs_bad, allow_kernel_sockets, NULL, NULL, "2", "on")
NUMERIC(sysfs_bad, hold, NULL, NULL, "301", "on")
BAD(sysfs_bad, hold, zero, NULL, NULL, "0\n", ERANGE)

FIXTURE_SETUP(sysfs_bad)
{
	char path[256];

	snprintf(path, sizeof(path), SYSFS "/%s", variant->b.attr);
	get(path, self->old, sizeof(self->old));
	ASSERT_NE('<', self->old[0]) TH_LOG("%s: %s", path, self->old);
}

/* If a bad write got through anyway, put the switch back. */
FIXTURE_TEARDOWN(sysfs_bad)
{
	char path[256], buf[80];

	snprintf(path, sizeof(path), SYSFS "/%s", variant->b.attr);
	if (!strcmp(get(path, buf, sizeof(buf)), self->old))
		return;
	if (!strcmp(variant->b.attr, "hold")) {
		write_str(SYSFS "/commit", "1\n");
	} else {
		snprintf(buf, sizeof(buf), "%s\n", self->old);
		write_str(path, buf);
	}
}

TEST_F(sysfs_bad, refused)
{
	const struct bad *b = &variant->b;
	char path[256], value[BIG + 1024], now[64];
	size_t len;
	int err;

	snprintf(path, sizeof(path), SYSFS "/%s", b->attr);
	len = bad_value(b, value);
	err = write_raw(path, value, len);
	EXPECT_EQ(b->err, err) TH_LOG("%s: '%s' -> %s, want %s", b->attr,
				      show(value, len), errname(err),
				      errname(b->err));
	EXPECT_STREQ(self->old, get(path, now, sizeof(now)));
}

/* sysfs commit: only "1", and only during a hold. */
FIXTURE(commit_bad) {
};

FIXTURE_VARIANT(commit_bad) {
	struct bad b;
};

#define COMMIT(tag, v) BAD(commit_bad, commit, tag, NULL, NULL, v, EINVAL)
COMMIT(zero, "0\n")
COMMIT(two, "2\n")
COMMIT(empty, "\n")
COMMIT(trail_space, "1 \n")
COMMIT(lead_space, " 1\n")
COMMIT(eleven, "11\n")
COMMIT(two_newlines, "1\n\n")
FILL(commit_bad, commit, big_junk, NULL, NULL, "", 'A', BIG, NULL, EINVAL)

FIXTURE_SETUP(commit_bad)
{
	char buf[64];

	ASSERT_STREQ("0", get(SYSFS "/hold", buf, sizeof(buf)));
}

FIXTURE_TEARDOWN(commit_bad)
{
	char buf[64];

	if (strcmp(get(SYSFS "/hold", buf, sizeof(buf)), "0"))
		write_str(SYSFS "/commit", "1\n");
}

TEST_F(commit_bad, refused)
{
	const struct bad *b = &variant->b;
	char value[BIG + 1024], buf[64];
	size_t len;
	int err;

	len = bad_value(b, value);
	err = write_raw(SYSFS "/commit", value, len);
	EXPECT_EQ(b->err, err) TH_LOG("commit: '%s' -> %s, want %s",
				      show(value, len), errname(err),
				      errname(b->err));
	EXPECT_STREQ("0", get(SYSFS "/hold", buf, sizeof(buf)));
}

FIXTURE(commit) {
};

FIXTURE_SETUP(commit)
{
}

FIXTURE_TEARDOWN(commit)
{
	char buf[64];

	if (strcmp(get(SYSFS "/hold", buf, sizeof(buf)), "0"))
		write_str(SYSFS "/commit", "1\n");
}

TEST_F(commit, without_hold)
{
	char buf[64];
	int err;

	ASSERT_STREQ("0", get(SYSFS "/hold", buf, sizeof(buf)));
	err = write_str(SYSFS "/commit", "1\n");
	EXPECT_EQ(ENOENT, err) TH_LOG("write: %s", errname(err));
	EXPECT_STREQ("0", get(SYSFS "/hold", buf, sizeof(buf)));
}

/* ---- main: load the module, run the harness in a child, clean up ---- */

int main(int argc, char **argv)
{
	struct ksft_tt k = { .prefix = PREFIX };
	bool made_cg;
	struct stat st;
	char buf[64];
	int rc;

	if (ksft_tt_listing(argc, argv))
		return test_harness_run(argc, argv);
	ksft_tt_setup(&k);
	if (stat("/proc/self/ns/net", &st))
		ksft_tt_skip(&k, "/proc/self/ns/net: %s\n", strerror(errno));
	snprintf(netns_ino, sizeof(netns_ino), "%lu", (unsigned long)st.st_ino);
	/* the cgroup rules name (a path that does not exist is fine too) */
	if (!mounted(CGROOT, "cgroup2"))
		mount("none", CGROOT, "cgroup2", 0, NULL);
	made_cg = !mkdir(CGROOT CGP, 0755);

	rc = ksft_tt_run(&k, argc, argv);

	if (strcmp(get(SYSFS "/hold", buf, sizeof(buf)), "0")) {
		ksft_print_msg("a hold was left on (%s): committed\n", buf);
		write_str(SYSFS "/commit", "1\n");
		if (rc == KSFT_PASS)
			rc = KSFT_FAIL;
	}
	if (made_cg)
		rmdir(CGROOT CGP);
	return ksft_tt_finish(&k, rc);
}
