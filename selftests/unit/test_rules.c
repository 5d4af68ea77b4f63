// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Host unit tests of tcptimeoctl's rule words and rules-file parser
 * (tools/tcptimeoctl/rule.c over lib/tt_parse.c): a table of malformed
 * lines and arguments, each with the exact message an operator sees;
 * valid lines and their canonical form; round trips; durations; cgroup
 * subtree matching; JSON string escaping.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../tools/tcptimeoctl/ctl.h"
#include "unit.h"

const char *ctl_prog = "tcptimeoctl";

void ctl_err(const char *fmt, ...)
{
	(void)fmt;
}

void ctl_warn(const char *fmt, ...)
{
	(void)fmt;
}

#define V_PORTS "up to 16 comma-separated ports N or ranges N-M, 1 <= N <= M <= 65535, or any"
#define V_ADDRS "up to 16 comma-separated IPv4/IPv6 CIDRs without host bits (10.96.0.0/12,fd00::/8), or any"
#define V_SECS "0 (unset) or 1..32767 seconds (7, 7s, 2m, 1h)"
#define V_127 "0 (unset) or 1..127"
#define V_UTO "0 (unset), 1..2147483647 ms (10000, 10000ms, 10s, 2m) or auto"
#define V_RTO "0 (unset) or 1000..120000 ms (1000, 1500ms, 2s, 2m)"
#define V_PRIO "0..65535, lower is evaluated first (default 1000)"
#define V_CG "an absolute cgroup v2 path (/loadtest; it may not exist yet), < 512 bytes, no spaces, or any"
#define V_NS "a PID, a namespace file (/proc/PID/ns/net, /run/netns/NAME), a name in /run/netns, an inode (net:[4026532000]), or 0 (any)"
#define V_NAME "1-32 characters of A-Z a-z 0-9 _ . - (the first word of a line)"
#define UNKNOWN "; expected a rule name, then: priority dir local-port remote-port remote-addr cgroup netns keepalive idle intvl cnt user-timeout syn-retries rto-max fill force clamp audit disabled"

#define V_NOOPT "at least one of keepalive, idle, intvl, cnt, user-timeout, syn-retries, rto-max, or audit (a rule that sets nothing claims the connections it matches and stamps nothing)"

struct bad_line {
	const char *line;
	const char *msg;	/* the first message for the line */
	int nerr;		/* how many messages the line gives */
};

static const struct bad_line bad_lines[] = {
	/* names */
	{ "bad:name dir in", "rule name 'bad:name': invalid; valid: " V_NAME, 1 },
	{ "123456789012345678901234567890123 dir in",
	  "rule name '123456789012345678901234567890123': invalid; valid: " V_NAME, 1 },
	{ "caf\xc3\xa9 dir in", "rule name 'caf\\xc3\\xa9': invalid; valid: " V_NAME, 1 },
	{ "a/b", "rule name 'a/b': invalid; valid: " V_NAME, 1 },
	{ "a\"b", "rule name 'a\"b': invalid; valid: " V_NAME, 1 },
	{ "x\\y", "rule name 'x\\x5cy': invalid; valid: " V_NAME, 1 },
	{ "x\x01y", "rule name 'x\\x01y': invalid; valid: " V_NAME, 1 },
	/* unknown words */
	{ "r idel 7", "unknown word 'idel'" UNKNOWN, 1 },
	{ "r --idle 7", "unknown word '--idle'" UNKNOWN, 1 },
	{ "r keepalive frob", "unknown word 'frob'" UNKNOWN, 1 },
	{ "r Dir in", "unknown word 'Dir'" UNKNOWN, 1 },
	{ "r idle=7", "unknown word 'idle=7'" UNKNOWN, 1 },
	{ "r no-keepalive", "no-keepalive: only for 'tcptimeoctl set'; leave the word out instead", 1 },
	{ "r no-audit", "no-audit: only for 'tcptimeoctl set'; leave the word out instead", 1 },
	/* missing values */
	{ "r idle", "idle: missing value; valid: " V_SECS, 1 },
	{ "r dir", "dir: missing value; valid: in, out or any", 1 },
	{ "r keepalive user-timeout", "user-timeout: missing value; valid: " V_UTO, 1 },
	{ "r priority", "priority: missing value; valid: " V_PRIO, 1 },
	{ "r local-port", "local-port: missing value; valid: " V_PORTS, 1 },
	{ "r cgroup", "cgroup: missing value; valid: " V_CG, 1 },
	/* a rule that sets nothing (it would claim and stamp nothing) */
	{ "r", "rule 'r' sets no option; valid: " V_NOOPT, 1 },
	{ "r dir in local-port 80 disabled", "rule 'r' sets no option; valid: " V_NOOPT, 1 },
	{ "r idle 0 force", "rule 'r' sets no option; valid: " V_NOOPT, 1 },
	/* twice */
	{ "r idle 7 idle 8", "idle: given twice", 1 },
	{ "r keepalive keepalive", "keepalive: given twice", 1 },
	{ "r force clamp", "clamp: the mode is already given; valid: one of fill, force, clamp", 1 },
	{ "r mode fill force", "force: the mode is already given; valid: one of fill, force, clamp", 1 },
	{ "r disabled disabled", "disabled: given twice", 1 },
	/* dir and mode */
	{ "r dir sideways", "dir 'sideways': invalid; valid: in, out or any", 1 },
	{ "r dir IN", "dir 'IN': invalid; valid: in, out or any", 1 },
	{ "r dir inbound", "dir 'inbound': invalid; valid: in, out or any", 1 },
	{ "r mode strict", "mode 'strict': invalid; valid: fill, force or clamp", 1 },
	/* priority */
	{ "r priority 65536", "priority '65536': out of range; valid: " V_PRIO, 1 },
	{ "r priority -1", "priority '-1': invalid; valid: " V_PRIO, 1 },
	{ "r priority 1e3", "priority '1e3': invalid; valid: " V_PRIO, 1 },
	{ "r priority 99999999999", "priority '99999999999': out of range; valid: " V_PRIO, 1 },
	/* ports */
	{ "r local-port 0", "local-port '0': out of range; valid: " V_PORTS, 1 },
	{ "r local-port 65536", "local-port '65536': out of range; valid: " V_PORTS, 1 },
	{ "r remote-port 90-80", "remote-port '90-80': invalid; valid: " V_PORTS, 1 },
	{ "r remote-port 80,", "remote-port '80,': invalid; valid: " V_PORTS, 1 },
	{ "r remote-port ,80", "remote-port ',80': invalid; valid: " V_PORTS, 1 },
	{ "r remote-port 80,,81", "remote-port '80,,81': invalid; valid: " V_PORTS, 1 },
	{ "r remote-port http", "remote-port 'http': invalid; valid: " V_PORTS, 1 },
	{ "r remote-port 1-2-3", "remote-port '1-2-3': invalid; valid: " V_PORTS, 1 },
	{ "r local-port 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
	  "local-port '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17': more than 16 entries; valid: " V_PORTS, 1 },
	/* addresses */
	{ "r remote-addr 10.0.0.1/8", "remote-addr '10.0.0.1/8': invalid; valid: " V_ADDRS, 1 },
	{ "r remote-addr 10.0.0.0/33", "remote-addr '10.0.0.0/33': out of range; valid: " V_ADDRS, 1 },
	{ "r remote-addr 10.0.0", "remote-addr '10.0.0': invalid; valid: " V_ADDRS, 1 },
	{ "r remote-addr 300.1.1.1", "remote-addr '300.1.1.1': invalid; valid: " V_ADDRS, 1 },
	{ "r remote-addr 010.1.1.1", "remote-addr '010.1.1.1': invalid; valid: " V_ADDRS, 1 },
	{ "r remote-addr fd00::1::2", "remote-addr 'fd00::1::2': invalid; valid: " V_ADDRS, 1 },
	{ "r remote-addr fd00::/129", "remote-addr 'fd00::/129': out of range; valid: " V_ADDRS, 1 },
	{ "r remote-addr [fd00::1]", "remote-addr '[fd00::1]': invalid; valid: " V_ADDRS, 1 },
	{ "r remote-addr 10.0.0.0/8;fd00::/8", "remote-addr '10.0.0.0/8;fd00::/8': invalid; valid: " V_ADDRS, 1 },
	{ "r remote-addr example.com", "remote-addr 'example.com': invalid; valid: " V_ADDRS, 1 },
	/* cgroup */
	{ "r cgroup loadtest", "cgroup 'loadtest': not an absolute path; valid: " V_CG, 1 },
	{ "r cgroup ./x", "cgroup './x': not an absolute path; valid: " V_CG, 1 },
	{ "r cgroup /a\x7f", "cgroup '/a\\x7f': contains a space or control character; valid: " V_CG, 1 },
	{ "r cgroup /loadtest/.", "cgroup '/loadtest/.': has a . or .. component; valid: " V_CG, 1 },
	{ "r cgroup /a/../b", "cgroup '/a/../b': has a . or .. component; valid: " V_CG, 1 },
	/* netns */
	{ "r netns 4294967296", "netns '4294967296': out of range; valid: " V_NS, 1 },
	{ "r netns net:[abc]", "netns 'net:[abc]': invalid; valid: " V_NS, 1 },
	{ "r netns -1", "netns '-1': No such file or directory (/run/netns/-1); valid: " V_NS, 1 },
	{ "r netns /etc/hostname", "netns '/etc/hostname': not a namespace file (/etc/hostname); valid: " V_NS, 1 },
	{ "r netns /nonexistent/ns", "netns '/nonexistent/ns': No such file or directory (/nonexistent/ns); valid: " V_NS, 1 },
	/* durations and counts */
	{ "r idle 32768", "idle '32768': out of range; valid: " V_SECS, 1 },
	{ "r idle 10h", "idle '10h': out of range; valid: " V_SECS, 1 },
	{ "r idle 547m", "idle '547m': out of range; valid: " V_SECS, 1 },
	{ "r idle 500ms", "idle '500ms': invalid; valid: " V_SECS, 1 },
	{ "r idle 1.5", "idle '1.5': invalid; valid: " V_SECS, 1 },
	{ "r idle -7", "idle '-7': invalid; valid: " V_SECS, 1 },
	{ "r idle 7S", "idle '7S': invalid; valid: " V_SECS, 1 },
	{ "r idle s", "idle 's': invalid; valid: " V_SECS, 1 },
	{ "r intvl 7d", "intvl '7d': invalid; valid: " V_SECS, 1 },
	{ "r intvl 99999999999", "intvl '99999999999': out of range; valid: " V_SECS, 1 },
	{ "r cnt 128", "cnt '128': out of range; valid: " V_127, 1 },
	{ "r cnt 0x10", "cnt '0x10': invalid; valid: " V_127, 1 },
	{ "r cnt 2s", "cnt '2s': invalid; valid: " V_127, 1 },
	{ "r syn-retries 200", "syn-retries '200': out of range; valid: " V_127, 1 },
	{ "r syn-retries three", "syn-retries 'three': invalid; valid: " V_127, 1 },
	{ "r rto-max 999ms", "rto-max '999ms': out of range; valid: " V_RTO, 1 },
	{ "r rto-max 999", "rto-max '999': out of range; valid: " V_RTO, 1 },
	{ "r rto-max 120001", "rto-max '120001': out of range; valid: " V_RTO, 1 },
	{ "r rto-max 121s", "rto-max '121s': out of range; valid: " V_RTO, 1 },
	{ "r rto-max 2x", "rto-max '2x': invalid; valid: " V_RTO, 1 },
	{ "r rto-max 1.5s", "rto-max '1.5s': invalid; valid: " V_RTO, 1 },
	{ "r rto-max", "rto-max: missing value; valid: " V_RTO, 1 },
	{ "r rto-max 2s rto-max 3s", "rto-max: given twice", 1 },
	{ "r rto-max 0", "rule 'r' sets no option; valid: " V_NOOPT, 1 },
	{ "r user-timeout 2147483648", "user-timeout '2147483648': out of range; valid: " V_UTO, 1 },
	{ "r user-timeout 2147484s", "user-timeout '2147484s': out of range; valid: " V_UTO, 1 },
	{ "r user-timeout 597h", "user-timeout '597h': out of range; valid: " V_UTO, 1 },
	{ "r user-timeout AUTO", "user-timeout 'AUTO': invalid; valid: " V_UTO, 1 },
	{ "r user-timeout 10 s", "unknown word 's'" UNKNOWN, 1 },
	{ "r user-timeout 10sec", "user-timeout '10sec': invalid; valid: " V_UTO, 1 },
	{ "r user-timeout 1.5s", "user-timeout '1.5s': invalid; valid: " V_UTO, 1 },
	/* several errors on one line are all reported */
	{ "r dir sideways idle 99999 cnt 0x10", "dir 'sideways': invalid; valid: in, out or any", 3 },
	{ "bad! idel 7 keepalive frob 9", "rule name 'bad!': invalid; valid: " V_NAME, 3 },
	/* long and odd input stays bounded */
	{ "r remote-port 11111111111111111111111111111111111111111111111111111111111111111111111111111111",
	  "remote-port '1111111111111111111111111111111111111111111111111111111111111111...': out of range; valid: " V_PORTS, 1 },
};

static void test_bad_lines(void)
{
	size_t i;
	int total = 0;

	for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		const struct bad_line *b = &bad_lines[i];
		struct ctl_file f;
		char q[200];
		int ok;

		ctl_file_parse(&f, b->line, strlen(b->line));
		ok = f.nerr == (size_t)b->nerr && f.n == 0 &&
		     !strcmp(f.errs[0].msg, b->msg) && f.errs[0].line == 1;
		unit_ok(ok, "malformed line: %s",
			ctl_quote(b->line, strlen(b->line), q, sizeof(q)));
		if (!ok) {
			unit_diag("want (%d): %s", b->nerr, b->msg);
			unit_diag("got  (%zu): %s", f.nerr,
				  f.nerr ? f.errs[0].msg : "(no error)");
		}
		total++;
		ctl_file_free(&f);
	}
	unit_diag("%d malformed lines", total);
}

struct bad_arg {
	enum ctl_ctx ctx;
	const char *word, *val;
	const char *msg;
};

static const struct bad_arg bad_args[] = {
	{ CTX_ADD, "idle", "40000", "--idle '40000': out of range; valid: " V_SECS },
	{ CTX_ADD, "idle", NULL, "--idle: missing value; valid: " V_SECS },
	{ CTX_ADD, "user-timeout", "10x", "--user-timeout '10x': invalid; valid: " V_UTO },
	{ CTX_ADD, "local-port", "0", "--local-port '0': out of range; valid: " V_PORTS },
	{ CTX_ADD, "remote-addr", "10.0.0.1/8", "--remote-addr '10.0.0.1/8': invalid; valid: " V_ADDRS },
	{ CTX_ADD, "dir", "both", "--dir 'both': invalid; valid: in, out or any" },
	{ CTX_ADD, "priority", "70000", "--priority '70000': out of range; valid: " V_PRIO },
	{ CTX_ADD, "cnt", "", "--cnt '': invalid; valid: " V_127 },
	{ CTX_ADD, "syn-retries", "128", "--syn-retries '128': out of range; valid: " V_127 },
	{ CTX_ADD, "rto-max", "999ms", "--rto-max '999ms': out of range; valid: " V_RTO },
	{ CTX_ADD, "rto-max", "120001", "--rto-max '120001': out of range; valid: " V_RTO },
	{ CTX_ADD, "rto-max", NULL, "--rto-max: missing value; valid: " V_RTO },
	{ CTX_SET, "rto-max", "-1", "--rto-max '-1': invalid; valid: " V_RTO },
	{ CTX_ADD, "cgroup", "x/y", "--cgroup 'x/y': not an absolute path; valid: " V_CG },
	{ CTX_ADD, "cgroup", "/a b", "--cgroup '/a b': contains a space or control character; valid: " V_CG },
	{ CTX_ADD, "no-keepalive", NULL, "--no-keepalive: only for 'tcptimeoctl set'; leave the word out instead" },
	{ CTX_ADD, "frobnicate", NULL, "unknown option '--frobnicate'; see 'tcptimeoctl --help'" },
	{ CTX_SET, "disabled", NULL, "--disabled: not for set; use 'tcptimeoctl disable NAME'" },
	{ CTX_SET, "mode", "fast", "--mode 'fast': invalid; valid: fill, force or clamp" },
	{ CTX_SET, "intvl", "1h1m", "--intvl '1h1m': invalid; valid: " V_SECS },
	{ CTX_SET, "netns", "net:[1", "--netns 'net:[1': No such file or directory (/run/netns/net:[1); valid: " V_NS },
	{ CTX_SET, "remote-port", "65535-1", "--remote-port '65535-1': invalid; valid: " V_PORTS },
};

static void test_bad_args(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
		const struct bad_arg *b = &bad_args[i];
		struct ctl_rule r;
		char msg[CTL_MSG_MAX];
		int ret;

		ctl_rule_init(&r);
		msg[0] = '\0';
		ret = ctl_rule_word(&r, b->ctx, b->word, b->val, msg, sizeof(msg));
		unit_ok(ret < 0 && !strcmp(msg, b->msg),
			"malformed argument: --%s %s", b->word,
			b->val ? b->val : "");
		if (ret >= 0 || strcmp(msg, b->msg)) {
			unit_diag("want: %s", b->msg);
			unit_diag("got:  %s", msg);
		}
	}
	/* set-only words are fine in set; clearing selectors with any */
	{
		struct ctl_rule r;
		char msg[CTL_MSG_MAX];

		ctl_rule_init(&r);
		r.sel.n_lports = 3;
		unit_ok(ctl_rule_word(&r, CTX_SET, "no-keepalive", NULL, msg,
				      sizeof(msg)) == 0 &&
			ctl_rule_word(&r, CTX_SET, "local-port", "any", msg,
				      sizeof(msg)) == 1 && !r.sel.n_lports &&
			r.given == ((1u << F_KEEPALIVE) | (1u << F_LPORTS)),
			"set: --no-keepalive and --local-port any are accepted");
	}
}

struct good_line {
	const char *line;
	const char *canon;
};

static const struct good_line good_lines[] = {
	{ "istio-gateway dir in local-port 8080 keepalive idle 7 intvl 5 cnt 2 user-timeout auto",
	  "istio-gateway priority 1000 dir in local-port 8080 keepalive idle 7s intvl 5s cnt 2 user-timeout auto" },
	{ "redis dir out remote-port 6379 keepalive idle 60 intvl 20 cnt 4",
	  "redis priority 1000 dir out remote-port 6379 keepalive idle 60s intvl 20s cnt 4" },
	{ "up\tdir out  remote-port 12345 user-timeout 10s # trailing comment",
	  "up priority 1000 dir out remote-port 12345 user-timeout 10s" },
	{ "r idle 2m intvl 1h user-timeout 2m",
	  "r priority 1000 dir any idle 120s intvl 3600s user-timeout 120s" },
	{ "r idle 7s user-timeout 10000ms",
	  "r priority 1000 dir any idle 7s user-timeout 10s" },
	{ "r idle 9h user-timeout 596h",
	  "r priority 1000 dir any idle 32400s user-timeout 2145600s" },
	{ "r priority 0 local-port 8000-8099,443,80 remote-addr FD00::/8,10.96.0.0/12 keepalive",
	  "r priority 0 dir any local-port 80,443,8000-8099 remote-addr fd00::/8,10.96.0.0/12 keepalive" },
	{ "r cgroup /a/.b/..c/b.. keepalive",
	  "r priority 1000 dir any cgroup /a/.b/..c/b.. keepalive" },
	{ "r netns net:[4026531840] cgroup /a/b mode clamp audit disabled",
	  "r priority 1000 dir any cgroup /a/b netns 4026531840 clamp audit disabled" },
	{ "r netns 4026531840 force syn-retries 127 cnt 127",
	  "r priority 1000 dir any netns 4026531840 cnt 127 syn-retries 127 force" },
	{ "r local-port any remote-port any remote-addr any cgroup any netns any audit",
	  "r priority 1000 dir any audit" },
	{ "r rto-max 2s", "r priority 1000 dir any rto-max 2s" },
	{ "r rto-max 1500ms", "r priority 1000 dir any rto-max 1500ms" },
	{ "r rto-max 1500", "r priority 1000 dir any rto-max 1500ms" },
	{ "r rto-max 1000", "r priority 1000 dir any rto-max 1s" },
	{ "r rto-max 2m", "r priority 1000 dir any rto-max 120s" },
	{ "r rto-max 120000ms clamp user-timeout 10s",
	  "r priority 1000 dir any user-timeout 10s rto-max 120s clamp" },
	{ "r keepalive rto-max 0", "r priority 1000 dir any keepalive" },
	{ "r idle 0 intvl 0s cnt 0 user-timeout 0 syn-retries 1 fill",
	  "r priority 1000 dir any syn-retries 1" },
	{ "A.b_c-9 priority 65535 keepalive", "A.b_c-9 priority 65535 dir any keepalive" },
	{ "12345678901234567890123456789012 keepalive",
	  "12345678901234567890123456789012 priority 1000 dir any keepalive" },
	{ "r keepalive\r", "r priority 1000 dir any keepalive" },
};

static void test_good_lines(void)
{
	size_t i;

	for (i = 0; i < sizeof(good_lines) / sizeof(good_lines[0]); i++) {
		const struct good_line *g = &good_lines[i];
		struct ctl_file f, f2;
		char buf[4096], q[200];
		int ok;

		ctl_file_parse(&f, g->line, strlen(g->line));
		buf[0] = '\0';
		if (f.n == 1)
			ctl_rule_line(buf, sizeof(buf), &f.rules[0]);
		ok = !f.nerr && f.n == 1 && !strcmp(buf, g->canon);
		/* the canonical line parses back to the same rule */
		ctl_file_parse(&f2, buf, strlen(buf));
		ok = ok && !f2.nerr && f2.n == 1 &&
		     ctl_rule_equal(&f.rules[0], &f2.rules[0]);
		unit_ok(ok, "valid line: %s",
			ctl_quote(g->line, strlen(g->line), q, sizeof(q)));
		if (!ok) {
			unit_diag("want: %s", g->canon);
			unit_diag("got:  %s (%zu errors%s%s)", buf, f.nerr,
				  f.nerr ? ": " : "", f.nerr ? f.errs[0].msg : "");
		}
		ctl_file_free(&f);
		ctl_file_free(&f2);
	}
}

static void test_file(void)
{
	const char *text =
		"# comment\n"
		"\n"
		"   \t\n"
		"a dir in local-port 80 keepalive\n"
		"b dir sideways\n"
		"a dir out keepalive\n"
		"c keepalive   # comment\n"
		"#d dir in\n"
		"e idle 99999";	/* no final newline */
	struct ctl_file f;

	ctl_file_parse(&f, text, strlen(text));
	unit_ok(f.n == 2 && !strcmp(f.rules[0].name, "a") &&
		f.rules[0].line == 4 && !strcmp(f.rules[1].name, "c") &&
		f.rules[1].line == 7, "file: comments, blank lines, line numbers");
	unit_ok(f.nerr == 3 && f.errs[0].line == 5 && f.errs[1].line == 6 &&
		!strcmp(f.errs[1].msg, "rule 'a' is already defined at line 4") &&
		f.errs[2].line == 9,
		"file: every error with its line, duplicate names refer to the first");
	ctl_file_free(&f);
	ctl_file_parse(&f, "a\0b\n", 4);
	unit_ok(f.nerr == 1 && !strcmp(f.errs[0].msg, "line contains a NUL byte"),
		"file: a NUL byte is an error");
	ctl_file_free(&f);
	ctl_file_parse(&f, "", 0);
	unit_ok(!f.nerr && !f.n, "file: empty file means no rules");
	ctl_file_free(&f);
	{
		char *big = malloc(20000);

		memset(big, 'a', 19999);
		big[0] = 'r';
		big[1] = ' ';
		big[19999] = '\0';
		ctl_file_parse(&f, big, strlen(big));
		unit_ok(f.nerr == 1 && !strncmp(f.errs[0].msg, "line too long", 13),
			"file: a 20000-byte line is refused");
		ctl_file_free(&f);
		free(big);
	}
	{
		char line[2048] = "r";
		int i;

		for (i = 0; i < 70; i++)
			strcat(line, " keepalive");
		ctl_file_parse(&f, line, strlen(line));
		unit_ok(f.nerr == 1 && !strcmp(f.errs[0].msg,
					       "too many words (at most 64)"),
			"file: more than 64 words is refused");
		ctl_file_free(&f);
	}
}

static void test_durations(void)
{
	static const struct {
		const char *s;
		bool ms;
		u32 max;
		int err;
		u32 v;
	} d[] = {
		{ "7", false, 32767, 0, 7 },
		{ "7s", false, 32767, 0, 7 },
		{ "2m", false, 32767, 0, 120 },
		{ "1h", false, 32767, 0, 3600 },
		{ "546m", false, 32767, 0, 32760 },
		{ "547m", false, 32767, -TT_ERANGE, 0 },
		{ "32767s", false, 32767, 0, 32767 },
		{ "1ms", false, 32767, -TT_EINVAL, 0 },
		{ "10000", true, 2147483647U, 0, 10000 },
		{ "10000ms", true, 2147483647U, 0, 10000 },
		{ "10s", true, 2147483647U, 0, 10000 },
		{ "2m", true, 2147483647U, 0, 120000 },
		{ "1h", true, 2147483647U, 0, 3600000 },
		{ "2147483647", true, 2147483647U, 0, 2147483647U },
		{ "2147483s", true, 2147483647U, 0, 2147483000U },
		{ "2147484s", true, 2147483647U, -TT_ERANGE, 0 },
		{ "m", true, 2147483647U, -TT_EINVAL, 0 },
		{ "", true, 2147483647U, -TT_EINVAL, 0 },
		{ "10 s", true, 2147483647U, -TT_EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		u32 v = 0;
		int err = d[i].ms ? ctl_parse_ms(d[i].s, d[i].max, &v) :
				    ctl_parse_secs(d[i].s, d[i].max, &v);

		unit_ok(err == d[i].err && (err || v == d[i].v),
			"duration %s \"%s\" -> %d %u", d[i].ms ? "ms" : "s",
			d[i].s, d[i].err, d[i].v);
	}
}

static void test_cgroup_under(void)
{
	static const struct {
		const char *path, *rule;
		bool under;
	} c[] = {
		{ "/loadtest", "/loadtest", true },
		{ "/loadtest/worker1", "/loadtest", true },
		{ "/loadtest2", "/loadtest", false },
		{ "/load", "/loadtest", false },
		{ "/loadtest", "/loadtest/", true },
		{ "//loadtest//w/", "/loadtest", true },
		{ "/a/b/c", "/", true },
		{ "/", "/a", false },
		{ "/a", "/a/b", false },
		{ "/system.slice/x.service", "/system.slice", true },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		unit_ok(ctl_cgroup_under(c[i].path, c[i].rule) == c[i].under,
			"cgroup %s %s %s", c[i].path,
			c[i].under ? "is under" : "is not under", c[i].rule);
}

static void test_json(void)
{
	static const struct {
		const char *in, *out;
	} j[] = {
		{ "plain", "\"plain\"" },
		{ "q\"b\\", "\"q\\\"b\\\\\"" },
		{ "\n\t\r\b\f\x01\x1f\x7f", "\"\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "bad\xff\xc3", "\"bad\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(j) / sizeof(j[0]); i++) {
		char *buf = NULL, q[100];
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		json_str(f, j[i].in);
		fclose(f);
		unit_ok(!strcmp(buf, j[i].out), "json string %s",
			ctl_quote(j[i].in, strlen(j[i].in), q, sizeof(q)));
		free(buf);
	}
}

static void test_netns(void)
{
	char msg[CTL_MSG_MAX];
	struct stat st;
	u32 ino = 1;

	unit_ok(!ctl_netns_resolve_proc("net:[4026531840]", &ino, msg,
					sizeof(msg)) && ino == 4026531840U,
		"netns net:[4026531840] is an inode");
	unit_ok(!ctl_netns_resolve_proc("4026532000", &ino, msg, sizeof(msg)) &&
		ino == 4026532000U, "netns above PID_MAX_LIMIT is an inode");
	if (!stat("/proc/self/ns/net", &st)) {
		unit_ok(!ctl_netns_resolve_proc("/proc/self/ns/net", &ino, msg,
						sizeof(msg)) &&
			ino == (u32)st.st_ino,
			"netns /proc/self/ns/net resolves to its inode");
		unit_ok(ctl_netns_resolve_proc("/proc/self/ns/uts", &ino, msg,
					       sizeof(msg)) < 0 &&
			strstr(msg, "not a network namespace"),
			"netns /proc/self/ns/uts is refused: %s", msg);
	}
}

int main(void)
{
	test_bad_lines();
	test_bad_args();
	test_good_lines();
	test_file();
	test_durations();
	test_cgroup_under();
	test_json();
	test_netns();
	return unit_failed ? 1 : 0;
}
