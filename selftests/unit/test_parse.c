// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Host unit tests of lib/tt_parse.c, the parser the module and
 * tcptimeoctl share: numbers, port lists, CIDRs, canonical text, selector
 * matching, evaluation order and the one-line rule format.
 */
#include <string.h>

#include "../../lib/tt_parse.h"
#include "unit.h"

static const char *err_name(int e)
{
	return e == 0 ? "0" : e == -TT_EINVAL ? "EINVAL" :
	       e == -TT_ERANGE ? "ERANGE" : "?";
}

struct u32_case {
	const char *s;
	u32 max;
	int err;
	u32 v;
};

static const struct u32_case u32_cases[] = {
	{ "0", 10, 0, 0 },
	{ "10", 10, 0, 10 },
	{ "11", 10, -TT_ERANGE, 0 },
	{ "4294967295", 0xffffffffU, 0, 0xffffffffU },
	{ "4294967296", 0xffffffffU, -TT_ERANGE, 0 },
	{ "99999999999", 0xffffffffU, -TT_ERANGE, 0 },
	{ "99999999999999999999999999", 65535, -TT_ERANGE, 0 },
	{ "007", 10, 0, 7 },
	{ "", 10, -TT_EINVAL, 0 },
	{ "-1", 10, -TT_EINVAL, 0 },
	{ "+1", 10, -TT_EINVAL, 0 },
	{ " 1", 10, -TT_EINVAL, 0 },
	{ "1 ", 10, -TT_EINVAL, 0 },
	{ "0x1", 10, -TT_EINVAL, 0 },
	{ "1e3", 10000, -TT_EINVAL, 0 },
	{ "1\t", 10, -TT_EINVAL, 0 },
	{ "99999999999x", 10, -TT_EINVAL, 0 },
};

static void test_u32(void)
{
	size_t i;

	for (i = 0; i < sizeof(u32_cases) / sizeof(u32_cases[0]); i++) {
		const struct u32_case *c = &u32_cases[i];
		u32 v = 12345;
		int err = tt_parse_u32(c->s, strlen(c->s), c->max, &v);

		unit_ok(err == c->err && (err || v == c->v) &&
			(!err || v == 12345),
			"tt_parse_u32 \"%s\" max %u -> %s %u", c->s, c->max,
			err_name(c->err), c->v);
	}
}

struct ports_case {
	const char *in;
	int err;
	const char *out;
};

static const struct ports_case ports_cases[] = {
	{ "", 0, "" },
	{ "80", 0, "80" },
	{ "443,80", 0, "80,443" },
	{ "8000-8099,80,443", 0, "80,443,8000-8099" },
	{ "1-5,6-10", 0, "1-10" },
	{ "1-10,5-7", 0, "1-10" },
	{ "80,80,80", 0, "80" },
	{ "1-65535", 0, "1-65535" },
	{ "65535,1", 0, "1,65535" },
	{ "10-10", 0, "10" },
	{ "1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31", 0,
	  "1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31" },
	{ "1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33", -TT_EINVAL, NULL },
	{ "0", -TT_ERANGE, NULL },
	{ "65536", -TT_ERANGE, NULL },
	{ "0-10", -TT_ERANGE, NULL },
	{ "10-5", -TT_EINVAL, NULL },
	{ ",80", -TT_EINVAL, NULL },
	{ "80,", -TT_EINVAL, NULL },
	{ "80,,81", -TT_EINVAL, NULL },
	{ "-", -TT_EINVAL, NULL },
	{ "80-", -TT_EINVAL, NULL },
	{ "-80", -TT_EINVAL, NULL },
	{ "80-90-100", -TT_EINVAL, NULL },
	{ " 80", -TT_EINVAL, NULL },
	{ "80 ", -TT_EINVAL, NULL },
	{ "http", -TT_EINVAL, NULL },
	{ "80;81", -TT_EINVAL, NULL },
	{ "99999999999", -TT_ERANGE, NULL },
};

static void test_ports(void)
{
	struct tt_port_range r[TCPTIMEO_MAX_PORT_RANGES];
	char buf[TT_PORTS_TEXT_MAX];
	size_t i;

	for (i = 0; i < sizeof(ports_cases) / sizeof(ports_cases[0]); i++) {
		const struct ports_case *c = &ports_cases[i];
		u8 n = 99;
		int err = tt_parse_ports(c->in, strlen(c->in), r, &n);

		buf[0] = '\0';
		if (!err)
			tt_format_ports(buf, sizeof(buf), r, n);
		unit_ok(err == c->err && (err ? n == 99 : !strcmp(buf, c->out)),
			"ports \"%s\" -> %s%s%s", c->in, err_name(c->err),
			c->out ? " " : "", c->out ? c->out : "");
	}
}

struct cidr_case {
	const char *in;
	int err;
	const char *out;
};

static const struct cidr_case cidr_cases[] = {
	{ "10.96.0.10", 0, "10.96.0.10/32" },
	{ "10.96.0.0/12", 0, "10.96.0.0/12" },
	{ "0.0.0.0/0", 0, "0.0.0.0/0" },
	{ "255.255.255.255/32", 0, "255.255.255.255/32" },
	{ "fd00::/8", 0, "fd00::/8" },
	{ "FD00::/8", 0, "fd00::/8" },
	{ "::/0", 0, "::/0" },
	{ "::", 0, "::/128" },
	{ "::1", 0, "::1/128" },
	{ "1::", 0, "1::/128" },
	{ "2001:DB8:0:0:1:0:0:1", 0, "2001:db8::1:0:0:1/128" },
	{ "2001:db8:0:0:0:0:2:1", 0, "2001:db8::2:1/128" },
	{ "2001:db8:0:1:1:1:1:1", 0, "2001:db8:0:1:1:1:1:1/128" },
	{ "2001:db8::1:1:1:1:1", 0, "2001:db8:0:1:1:1:1:1/128" },
	{ "2001:0:0:1:0:0:0:1", 0, "2001:0:0:1::1/128" },
	{ "1:0:0:2:0:0:3:4", 0, "1::2:0:0:3:4/128" },
	{ "::ffff:10.0.0.1", 0, "::ffff:10.0.0.1/128" },
	{ "::ffff:0:0/96", 0, "::ffff:0.0.0.0/96" },
	{ "1:2:3:4:5:6:7::", 0, "1:2:3:4:5:6:7:0/128" },
	{ "::2:3:4:5:6:7:8", 0, "0:2:3:4:5:6:7:8/128" },
	{ "fe80::/10", 0, "fe80::/10" },
	{ "10.0.0.1/8", -TT_EINVAL, NULL },
	{ "10.0.0.0/33", -TT_ERANGE, NULL },
	{ "fd00::/129", -TT_ERANGE, NULL },
	{ "fd00::1/8", -TT_EINVAL, NULL },
	{ "010.0.0.1", -TT_EINVAL, NULL },
	{ "1.2.3", -TT_EINVAL, NULL },
	{ "1.2.3.4.5", -TT_EINVAL, NULL },
	{ "256.0.0.0", -TT_EINVAL, NULL },
	{ "1..2.3", -TT_EINVAL, NULL },
	{ "1.2.3.4/", -TT_EINVAL, NULL },
	{ "1.2.3.0/024", -TT_EINVAL, NULL },
	{ "/24", -TT_EINVAL, NULL },
	{ "", -TT_EINVAL, NULL },
	{ "1::2::3", -TT_EINVAL, NULL },
	{ ":::", -TT_EINVAL, NULL },
	{ ":1::", -TT_EINVAL, NULL },
	{ "1:2:3:4:5:6:7:8:9", -TT_EINVAL, NULL },
	{ "1:2:3:4:5:6:7", -TT_EINVAL, NULL },
	{ "1:2:3:4:5:6:7:8::", -TT_EINVAL, NULL },
	{ "12345::", -TT_EINVAL, NULL },
	{ "::g", -TT_EINVAL, NULL },
	{ "1:", -TT_EINVAL, NULL },
	{ "fe80::1%eth0", -TT_EINVAL, NULL },
	{ "[::1]", -TT_EINVAL, NULL },
	{ "10.0.0.0/8/8", -TT_EINVAL, NULL },
	{ "1:2:3:4:5:6:7:1.2.3.4", -TT_EINVAL, NULL },
	{ "::1.2.3.4:5", -TT_EINVAL, NULL },
};

static void test_cidrs(void)
{
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(cidr_cases) / sizeof(cidr_cases[0]); i++) {
		const struct cidr_case *c = &cidr_cases[i];
		struct tt_cidr x, y;
		int err = tt_parse_cidr(c->in, strlen(c->in), &x);
		bool rt = true;

		buf[0] = '\0';
		if (!err) {
			tt_format_cidr(buf, sizeof(buf), &x);
			/* the canonical text parses back to the same value */
			rt = !tt_parse_cidr(buf, strlen(buf), &y) &&
			     !memcmp(&x, &y, sizeof(x));
		}
		unit_ok(err == c->err && (err || (!strcmp(buf, c->out) && rt)),
			"cidr \"%s\" -> %s%s%s", c->in, err_name(c->err),
			c->out ? " " : "", c->out ? c->out : "");
	}
}

static void test_cidr_lists(void)
{
	struct tt_cidr c[TCPTIMEO_MAX_CIDRS];
	char buf[TT_CIDRS_TEXT_MAX], big[2048];
	u8 n;
	int err, i;

	err = tt_parse_cidrs("10.96.0.0/12,fd00::/8", 21, c, &n);
	tt_format_cidrs(buf, sizeof(buf), c, n);
	unit_ok(!err && n == 2 && !strcmp(buf, "10.96.0.0/12,fd00::/8"),
		"cidr list keeps order and prints canonically");
	big[0] = '\0';
	for (i = 0; i < 16; i++)
		sprintf(big + strlen(big), "%sffff:ffff:ffff:ffff:ffff:ffff:"
			"ffff:ff%02x", i ? "," : "", i);
	err = tt_parse_cidrs(big, strlen(big), c, &n);
	tt_format_cidrs(buf, sizeof(buf), c, n);
	unit_ok(!err && n == 16 && strlen(buf) == strlen(big) + 16 * 4,
		"16 longest IPv6 addresses fit TT_CIDRS_TEXT_MAX (%zu of %d)",
		strlen(buf), TT_CIDRS_TEXT_MAX);
	strcat(big, ",::1");
	unit_ok(tt_parse_cidrs(big, strlen(big), c, &n) == -TT_EINVAL,
		"17 CIDRs -> EINVAL");
	unit_ok(tt_parse_cidrs("10.0.0.0/8,", 11, c, &n) == -TT_EINVAL,
		"trailing comma in a CIDR list -> EINVAL");
	unit_ok(tt_parse_cidrs(",10.0.0.0/8", 11, c, &n) == -TT_EINVAL,
		"leading comma in a CIDR list -> EINVAL");
	n = 5;
	unit_ok(!tt_parse_cidrs("", 0, c, &n) && n == 0,
		"empty CIDR list clears");
}

/* Random port lists and CIDRs: parse(format(x)) == x. */
static void test_roundtrip(void)
{
	int i, bad = 0, j;

	for (i = 0; i < 20000; i++) {
		struct tt_port_range r[16], r2[16];
		struct tt_cidr c, c2;
		char text[512], again[512];
		u8 n, n2;
		int k, cnt = (int)(unit_rand() % 16) + 1;

		text[0] = '\0';
		for (k = 0; k < cnt; k++) {
			unsigned lo = unit_rand() % 65535 + 1;
			unsigned hi = lo + unit_rand() % 100;

			if (hi > 65535)
				hi = 65535;
			if (unit_rand() & 1)
				sprintf(text + strlen(text), "%s%u", k ? "," : "",
					lo);
			else
				sprintf(text + strlen(text), "%s%u-%u",
					k ? "," : "", lo, hi);
		}
		if (tt_parse_ports(text, strlen(text), r, &n)) {
			bad++;
			continue;
		}
		tt_format_ports(again, sizeof(again), r, n);
		if (tt_parse_ports(again, strlen(again), r2, &n2) || n2 != n ||
		    memcmp(r, r2, n * sizeof(r[0])))
			bad++;
		for (k = 1; k < n; k++)
			if (r[k - 1].hi + 1 >= r[k].lo)
				bad++;	/* not merged */

		memset(&c, 0, sizeof(c));
		c.family = unit_rand() & 1 ? 4 : 6;
		c.plen = (u8)(unit_rand() % (c.family == 4 ? 33 : 129));
		for (j = 0; j < (c.family == 4 ? 4 : 16); j++) {
			/* sparse words make :: compression interesting */
			c.addr[j] = unit_rand() % 3 ? 0 : (u8)unit_rand();
		}
		for (j = 0; j < 16; j++) {
			int keep = (int)c.plen - 8 * j;

			if (keep <= 0)
				c.addr[j] = 0;
			else if (keep < 8)
				c.addr[j] &= (u8)(0xff << (8 - keep));
		}
		if (c.family == 4)
			memset(c.addr + 4, 0, 12);
		tt_format_cidr(again, sizeof(again), &c);
		if (tt_parse_cidr(again, strlen(again), &c2) ||
		    memcmp(&c, &c2, sizeof(c))) {
			if (bad < 5)
				unit_diag("cidr round trip failed: %s", again);
			bad++;
		}
	}
	unit_ok(!bad, "20000 random port lists and CIDRs round-trip through "
		"the canonical text (%d failures)", bad);
}

static struct tt_sel sel(u8 dir, const char *lp, const char *rp,
			 const char *addrs)
{
	struct tt_sel s;

	memset(&s, 0, sizeof(s));
	s.dir = dir;
	tt_parse_ports(lp, strlen(lp), s.lports, &s.n_lports);
	tt_parse_ports(rp, strlen(rp), s.rports, &s.n_rports);
	tt_parse_cidrs(addrs, strlen(addrs), s.addrs, &s.n_addrs);
	return s;
}

static struct tt_tuple tup(u8 dir, const char *addr, int lport, u16 rport)
{
	struct tt_tuple t;
	struct tt_cidr c;

	memset(&t, 0, sizeof(t));
	t.dir = dir;
	tt_parse_cidr(addr, strlen(addr), &c);
	t.family = c.family;
	memcpy(t.raddr, c.addr, 16);
	t.lport_known = lport >= 0;
	t.lport = lport >= 0 ? (u16)lport : 0;
	t.rport = rport;
	return t;
}

static void test_match(void)
{
	struct tt_sel s;
	struct tt_tuple t;
	struct tt_cidr m;

	s = sel(TCPTIMEO_DIR_IN, "8080", "", "");
	unit_ok(tt_sel_match(&s, &(struct tt_tuple){ 0 }) == TT_NOMATCH ||
		1, "zero tuple does not crash");
	t = tup(TCPTIMEO_DIR_IN, "10.0.0.1", 8080, 40000);
	unit_ok(tt_sel_match(&s, &t) == TT_MATCH, "dir in, local port 8080: match");
	t = tup(TCPTIMEO_DIR_OUT, "10.0.0.1", 8080, 40000);
	unit_ok(tt_sel_match(&s, &t) == TT_NOMATCH, "dir in rule, outgoing: no match");
	t = tup(TCPTIMEO_DIR_IN, "10.0.0.1", 8081, 40000);
	unit_ok(tt_sel_match(&s, &t) == TT_NOMATCH, "other local port: no match");
	s = sel(TCPTIMEO_DIR_ANY, "", "6379", "");
	t = tup(TCPTIMEO_DIR_OUT, "10.0.0.1", -1, 6379);
	unit_ok(tt_sel_match(&s, &t) == TT_MATCH, "dir any matches out");
	t.dir = TCPTIMEO_DIR_IN;
	unit_ok(tt_sel_match(&s, &t) == TT_MATCH, "dir any matches in");
	s = sel(TCPTIMEO_DIR_OUT, "10000-20000", "6379", "");
	t = tup(TCPTIMEO_DIR_OUT, "10.0.0.1", -1, 6379);
	unit_ok(tt_sel_match(&s, &t) == TT_NEED_LPORT,
		"local-port rule, port not known yet: TT_NEED_LPORT");
	t = tup(TCPTIMEO_DIR_OUT, "10.0.0.1", -1, 6380);
	unit_ok(tt_sel_match(&s, &t) == TT_NOMATCH,
		"local-port rule, other remote port: no match before the local port");
	t = tup(TCPTIMEO_DIR_OUT, "10.0.0.1", 15000, 6379);
	unit_ok(tt_sel_match(&s, &t) == TT_MATCH, "local port known, in range");
	t = tup(TCPTIMEO_DIR_OUT, "10.0.0.1", 25000, 6379);
	unit_ok(tt_sel_match(&s, &t) == TT_NOMATCH, "local port known, outside");
	s = sel(TCPTIMEO_DIR_ANY, "", "", "10.96.0.0/12,fd00::/8");
	t = tup(TCPTIMEO_DIR_OUT, "10.100.1.1", -1, 1);
	unit_ok(tt_sel_match(&s, &t) == TT_MATCH, "IPv4 in 10.96.0.0/12");
	t = tup(TCPTIMEO_DIR_OUT, "10.112.0.0", -1, 1);
	unit_ok(tt_sel_match(&s, &t) == TT_NOMATCH, "10.112.0.0 outside /12");
	t = tup(TCPTIMEO_DIR_OUT, "fd12::1", -1, 1);
	unit_ok(tt_sel_match(&s, &t) == TT_MATCH, "IPv6 in fd00::/8");
	t = tup(TCPTIMEO_DIR_OUT, "fe00::1", -1, 1);
	unit_ok(tt_sel_match(&s, &t) == TT_NOMATCH, "fe00::1 outside fd00::/8");
	/* an IPv4-mapped peer is passed as family 4 by the callers */
	tt_parse_cidr("::ffff:10.96.0.1", 16, &m);
	t = tup(TCPTIMEO_DIR_OUT, "::ffff:10.96.0.1", -1, 1);
	unit_ok(tt_sel_match(&s, &t) == TT_NOMATCH,
		"a mapped address given as family 6 does not match IPv4 CIDRs");
	t.family = 4;
	memset(t.raddr, 0, 16);
	memcpy(t.raddr, m.addr + 12, 4);
	unit_ok(tt_sel_match(&s, &t) == TT_MATCH,
		"a mapped peer as family 4 matches 10.96.0.0/12");
	s = sel(TCPTIMEO_DIR_ANY, "", "", "0.0.0.0/0");
	t = tup(TCPTIMEO_DIR_OUT, "::1", -1, 1);
	unit_ok(tt_sel_match(&s, &t) == TT_NOMATCH, "0.0.0.0/0 does not match IPv6");
	s = sel(TCPTIMEO_DIR_ANY, "", "", "::/0");
	unit_ok(tt_sel_match(&s, &t) == TT_MATCH, "::/0 matches IPv6");
	s = sel(TCPTIMEO_DIR_ANY, "", "", "10.0.0.0/31");
	t = tup(TCPTIMEO_DIR_OUT, "10.0.0.1", -1, 1);
	unit_ok(tt_sel_match(&s, &t) == TT_MATCH, "/31 matches .1");
	t = tup(TCPTIMEO_DIR_OUT, "10.0.0.2", -1, 1);
	unit_ok(tt_sel_match(&s, &t) == TT_NOMATCH, "/31 does not match .2");
}

static int sgn(int x)
{
	return (x > 0) - (x < 0);
}

static void test_order(void)
{
	unit_ok(sgn(tt_rule_cmp(10, "z", 20, "a")) < 0, "priority 10 before 20");
	unit_ok(sgn(tt_rule_cmp(1000, "a", 1000, "b")) < 0, "tie: a before b");
	unit_ok(sgn(tt_rule_cmp(1000, "B", 1000, "a")) < 0,
		"tie: bytewise, B (0x42) before a (0x61)");
	unit_ok(sgn(tt_rule_cmp(1000, "a", 1000, "a-")) < 0,
		"tie: a prefix comes first");
	unit_ok(sgn(tt_rule_cmp(1000, "a-b", 1000, "a.b")) < 0,
		"tie: - (0x2d) before . (0x2e)");
	unit_ok(tt_rule_cmp(5, "x", 5, "x") == 0, "equal");
	unit_ok(sgn(tt_rule_cmp(65535, "a", 0, "z")) > 0, "65535 after 0");
}

static void test_format_rule(void)
{
	struct tt_sel s = sel(TCPTIMEO_DIR_IN, "8080", "", "");
	struct tt_opts o = { 0 };
	char buf[1024], small[40];
	size_t n, i;
	int ok = 1;

	o.keepalive = 1;
	o.keepidle = 7;
	o.keepintvl = 5;
	o.keepcnt = 2;
	o.user_timeout = TCPTIMEO_USER_TIMEOUT_AUTO;
	n = tt_format_rule(buf, sizeof(buf), "istio-gateway", 1000, &s, NULL,
			   0, &o);
	unit_ok(!strcmp(buf, "istio-gateway priority 1000 dir in local-port "
			"8080 keepalive idle 7s intvl 5s cnt 2 user-timeout auto") &&
		n == strlen(buf), "format: the issue's istio-gateway line");
	s = sel(TCPTIMEO_DIR_OUT, "1-2,5", "6379", "10.96.0.10/32,fd00::/8");
	memset(&o, 0, sizeof(o));
	o.user_timeout = 10000;
	o.syn_retries = 3;
	o.rto_max = 1500;
	o.mode = TCPTIMEO_MODE_CLAMP;
	o.audit = 1;
	tt_format_rule(buf, sizeof(buf), "r", 7, &s, "/loadtest", 4026531840U,
		       &o);
	unit_ok(!strcmp(buf, "r priority 7 dir out local-port 1-2,5 "
			"remote-port 6379 remote-addr 10.96.0.10/32,fd00::/8 "
			"cgroup /loadtest netns 4026531840 user-timeout 10s "
			"syn-retries 3 rto-max 1500ms clamp audit"),
		"format: every selector, clamp and audit");
	{
		/* rto_max: 0 or 1000..120000 ms, a bare number is ms */
		static const struct {
			const char *s;
			int err;
			u32 v;
		} rt[] = {
			{ "2s", 0, 2000 }, { "1500ms", 0, 1500 },
			{ "1500", 0, 1500 }, { "0", 0, 0 }, { "1000", 0, 1000 },
			{ "120000", 0, 120000 }, { "2m", 0, 120000 },
			{ "999ms", -TT_ERANGE, 0 }, { "999", -TT_ERANGE, 0 },
			{ "1", -TT_ERANGE, 0 }, { "120001", -TT_ERANGE, 0 },
			{ "3m", -TT_ERANGE, 0 }, { "2x", -TT_EINVAL, 0 },
			{ "", -TT_EINVAL, 0 }, { "-1000", -TT_EINVAL, 0 },
		};
		struct tt_opts o2 = { 0 };
		char b2[1024];
		u32 v;

		for (i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
			int e;

			v = 77;
			e = tt_parse_rto_max(rt[i].s, strlen(rt[i].s), &v);
			if (e != rt[i].err || (!e && v != rt[i].v))
				break;
		}
		unit_ok(i == sizeof(rt) / sizeof(rt[0]),
			"tt_parse_rto_max: 0, 1000..120000 ms, units, bare ms, "
			"999 and 120001 out of range");
		o2.rto_max = 2000;
		tt_format_rule(b2, sizeof(b2), NULL, 1000, &s, NULL, 0, &o2);
		unit_ok(strstr(b2, " rto-max 2s") != NULL,
			"format: rto-max 2s");
		o2.rto_max = 120000;
		tt_format_rule(b2, sizeof(b2), NULL, 1000, &s, NULL, 0, &o2);
		unit_ok(strstr(b2, " rto-max 120s") != NULL,
			"format: rto-max 120s");
	}
	/* every truncation is NUL-terminated and stays inside the buffer */
	for (i = 0; i <= sizeof(small) - 8; i++) {
		memset(small, 'X', sizeof(small));
		n = tt_format_rule(small, i, "r", 7, &s, "/loadtest",
				   4026531840U, &o);
		if (n != strlen(buf) || (i && strlen(small) != i - 1) ||
		    small[sizeof(small) - 1] != 'X' ||
		    (i < sizeof(small) && small[i] != 'X' && i))
			ok = 0;
		if (i && memcmp(small, buf, i - 1))
			ok = 0;
	}
	unit_ok(ok, "format into 0..32 byte buffers truncates safely and "
		"returns the full length");
}

/* tt_rule_parse(): the module's "line" file, the rules file's words. */
static void test_rule_parse(void)
{
	static const struct {
		const char *in;
		int err;
		int fail;
		int field;
		const char *out;	/* canonical line, if it parses */
	} c[] = {
		{ "", 0, 0, 0, "priority 1000 dir any" },
		{ "  \t ", 0, 0, 0, "priority 1000 dir any" },
		{ "dir in local-port 443,80 keepalive idle 2m intvl 5s cnt 2 user-timeout auto",
		  0, 0, 0, "priority 1000 dir in local-port 80,443 keepalive idle 120s intvl 5s cnt 2 user-timeout auto" },
		{ "remote-addr 10.0.0.0/8 user-timeout 10m", 0, 0, 0,
		  "priority 1000 dir any remote-addr 10.0.0.0/8 user-timeout 600s" },
		{ "cgroup /x user-timeout 5000 force priority 7", 0, 0, 0,
		  "priority 7 dir any cgroup /x user-timeout 5s force" },
		{ "netns net:[4026532000] mode clamp audit remote-port any", 0, 0, 0,
		  "priority 1000 dir any netns 4026532000 clamp audit" },
		{ "netns 4026532000 cgroup any syn-retries 3", 0, 0, 0,
		  "priority 1000 dir any netns 4026532000 syn-retries 3" },
		{ "bogus 1", -TT_EINVAL, TT_RF_UNKNOWN, 0, NULL },
		{ "disabled", -TT_EINVAL, TT_RF_WHERE, TT_F_ENABLED, NULL },
		{ "no-keepalive", -TT_EINVAL, TT_RF_WHERE, TT_F_KEEPALIVE, NULL },
		{ "idle 7 idle 8", -TT_EINVAL, TT_RF_TWICE, TT_F_IDLE, NULL },
		{ "force clamp", -TT_EINVAL, TT_RF_TWICE, TT_F_MODE, NULL },
		{ "dir", -TT_EINVAL, TT_RF_NOVALUE, TT_F_DIR, NULL },
		{ "idle 40000", -TT_ERANGE, TT_RF_VALUE, TT_F_IDLE, NULL },
		{ "priority 65536", -TT_ERANGE, TT_RF_VALUE, TT_F_PRIORITY, NULL },
		{ "user-timeout 2147483648", -TT_ERANGE, TT_RF_VALUE, TT_F_UTO, NULL },
		{ "local-port 0", -TT_ERANGE, TT_RF_VALUE, TT_F_LPORTS, NULL },
		{ "remote-addr 10.1.1.1/8", -TT_EINVAL, TT_RF_VALUE, TT_F_ADDRS, NULL },
		{ "cgroup x", -TT_EINVAL, TT_RF_VALUE, TT_F_CGROUP, NULL },
		{ "cgroup /a/../b", -TT_EINVAL, TT_RF_VALUE, TT_F_CGROUP, NULL },
		{ "netns /proc/1/ns/net", -TT_EINVAL, TT_RF_VALUE, TT_F_NETNS, NULL },
		{ "netns 99999999999", -TT_ERANGE, TT_RF_VALUE, TT_F_NETNS, NULL },
		{ "dir in\n", -TT_EINVAL, TT_RF_VALUE, TT_F_DIR, NULL },
		{ "dir in # comment", -TT_EINVAL, TT_RF_UNKNOWN, 0, NULL },
		{ "keepalive 1", -TT_EINVAL, TT_RF_UNKNOWN, 0, NULL },
	};
	char buf[512];
	struct tt_rule_spec r;
	struct tt_rule_err e;
	char cg[TCPTIMEO_CGROUP_PATH_MAX];
	size_t i;
	int err;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		err = tt_rule_parse(&r, TT_W_LINE, NULL, NULL, c[i].in,
				    strlen(c[i].in), &e);
		buf[0] = '\0';
		if (!err) {
			snprintf(cg, sizeof(cg), "%.*s", (int)r.cgroup_len,
				 r.cgroup ? r.cgroup : "");
			tt_format_rule(buf, sizeof(buf), NULL, r.priority,
				       &r.sel, cg, r.netns, &r.opts);
		}
		unit_ok(err == c[i].err &&
			(err ? e.fail == c[i].fail &&
			 (c[i].fail == TT_RF_UNKNOWN || e.field == c[i].field) :
			 !strcmp(buf, c[i].out)),
			"line '%s': %s", c[i].in, c[i].out ? c[i].out : "refused");
		if (err)
			unit_diag("err %d fail %d field %d", err, e.fail, e.field);
		else if (c[i].out && strcmp(buf, c[i].out))
			unit_diag("got '%s'", buf);
	}
	/* what the module reads back parses back to itself */
	err = tt_rule_parse(&r, TT_W_LINE, NULL, NULL, c[2].out,
			    strlen(c[2].out), &e);
	tt_format_rule(buf, sizeof(buf), NULL, r.priority, &r.sel, NULL,
		       r.netns, &r.opts);
	unit_ok(!err && !strcmp(buf, c[2].out),
		"a canonical line parses back to itself");
	/* the file's context takes "disabled", a line does not */
	err = tt_rule_parse(&r, TT_W_FILE, NULL, NULL, "idle 7 disabled", 15, &e);
	unit_ok(!err && r.disabled && r.opts.keepidle == 7,
		"rules-file context: disabled is a word");
}

int main(void)
{
	test_u32();
	test_ports();
	test_cidrs();
	test_cidr_lists();
	test_roundtrip();
	test_match();
	test_order();
	test_format_rule();
	test_rule_parse();
	return unit_failed ? 1 : 0;
}
