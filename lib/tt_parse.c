// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeo: parsers, printers and selector matching shared by the kernel
 * module and tcptimeoctl. See tt_parse.h.
 */
#include "tt_parse.h"

static bool tt_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static int tt_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool tt_streq(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!word[i] || word[i] != s[i])
			return false;
	return !word[len];
}

static size_t tt_find(const char *s, size_t len, char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == c)
			return i;
	return len;
}

/*
 * Decimal digits only: no sign, no spaces, no base prefix. A number made
 * of digits that is too large is ERANGE; anything else is EINVAL.
 */
int tt_parse_u32(const char *s, size_t len, u32 max, u32 *out)
{
	u64 v = 0;
	size_t i;
	bool big = false;

	if (!len)
		return -TT_EINVAL;
	for (i = 0; i < len; i++) {
		if (!tt_isdigit(s[i]))
			return -TT_EINVAL;
		if (!big) {
			v = v * 10 + (u64)(s[i] - '0');
			if (v > max)
				big = true;
		}
	}
	if (big)
		return -TT_ERANGE;
	*out = (u32)v;
	return 0;
}

static int tt_parse_port(const char *s, size_t len, u16 *port)
{
	u32 v;
	int err;

	err = tt_parse_u32(s, len, 65535, &v);
	if (err)
		return err;
	if (!v)
		return -TT_ERANGE;
	*port = (u16)v;
	return 0;
}

/* Sort by start and merge overlapping or adjacent ranges. */
static u8 tt_ports_canon(struct tt_port_range *r, u8 n)
{
	struct tt_port_range t;
	u8 i, j, out;

	for (i = 1; i < n; i++) {
		t = r[i];
		for (j = i; j > 0 && r[j - 1].lo > t.lo; j--)
			r[j] = r[j - 1];
		r[j] = t;
	}
	out = 0;
	for (i = 0; i < n; i++) {
		if (out && (u32)r[out - 1].hi + 1 >= r[i].lo) {
			if (r[i].hi > r[out - 1].hi)
				r[out - 1].hi = r[i].hi;
			continue;
		}
		r[out++] = r[i];
	}
	return out;
}

int tt_parse_ports(const char *s, size_t len, struct tt_port_range *out, u8 *n)
{
	struct tt_port_range r[TCPTIMEO_MAX_PORT_RANGES];
	size_t pos = 0, end, dash;
	u8 cnt = 0, i;
	int err;

	while (pos < len) {
		end = pos + tt_find(s + pos, len - pos, ',');
		if (cnt == TCPTIMEO_MAX_PORT_RANGES || end == pos)
			return -TT_EINVAL;
		dash = pos + tt_find(s + pos, end - pos, '-');
		err = tt_parse_port(s + pos, dash - pos, &r[cnt].lo);
		if (err)
			return err;
		if (dash < end) {
			err = tt_parse_port(s + dash + 1, end - dash - 1,
					    &r[cnt].hi);
			if (err)
				return err;
			if (r[cnt].hi < r[cnt].lo)
				return -TT_EINVAL;
		} else {
			r[cnt].hi = r[cnt].lo;
		}
		cnt++;
		if (end == len)
			break;
		pos = end + 1;
		if (pos == len)		/* trailing comma */
			return -TT_EINVAL;
	}
	cnt = tt_ports_canon(r, cnt);
	for (i = 0; i < cnt; i++)
		out[i] = r[i];
	*n = cnt;
	return 0;
}

static int tt_parse_ipv4(const char *s, size_t len, u8 *addr)
{
	size_t pos = 0, end;
	u32 v;
	int part, err;

	for (part = 0; part < 4; part++) {
		end = pos + tt_find(s + pos, len - pos, '.');
		if (part < 3 && end == len)
			return -TT_EINVAL;
		if (part == 3 && end != len)
			return -TT_EINVAL;
		/* no leading zeros: 010 is octal to inet_aton() */
		if (end - pos > 3 || (end - pos > 1 && s[pos] == '0'))
			return -TT_EINVAL;
		err = tt_parse_u32(s + pos, end - pos, 255, &v);
		if (err)
			return -TT_EINVAL;
		addr[part] = (u8)v;
		pos = end + 1;
	}
	return 0;
}

static int tt_parse_ipv6(const char *s, size_t len, u8 *addr)
{
	u8 a[16] = { 0 };
	size_t pos = 0, end;
	int words = 0, gap = -1, i, digit;
	u32 w;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		pos = 2;
	} else if (len && s[0] == ':') {
		return -TT_EINVAL;
	}
	while (pos < len) {
		end = pos + tt_find(s + pos, len - pos, ':');
		if (end == pos)
			return -TT_EINVAL;
		if (tt_find(s + pos, end - pos, '.') < end - pos) {
			/* trailing dotted quad */
			if (end != len || words > 6)
				return -TT_EINVAL;
			if (tt_parse_ipv4(s + pos, end - pos, a + 2 * words))
				return -TT_EINVAL;
			words += 2;
			pos = len;
			break;
		}
		if (end - pos > 4 || words == 8)
			return -TT_EINVAL;
		w = 0;
		for (i = 0; i < (int)(end - pos); i++) {
			digit = tt_hexval(s[pos + i]);
			if (digit < 0)
				return -TT_EINVAL;
			w = w * 16 + (u32)digit;
		}
		a[2 * words] = (u8)(w >> 8);
		a[2 * words + 1] = (u8)w;
		words++;
		if (end == len) {
			pos = len;
			break;
		}
		if (end + 1 < len && s[end + 1] == ':') {
			if (gap >= 0)
				return -TT_EINVAL;
			gap = words;
			pos = end + 2;
		} else {
			pos = end + 1;
			if (pos == len)		/* trailing single colon */
				return -TT_EINVAL;
		}
	}
	if (gap < 0 && words != 8)
		return -TT_EINVAL;
	if (gap >= 0) {
		if (words > 7)
			return -TT_EINVAL;
		for (i = 0; i < 16; i++)
			addr[i] = 0;
		for (i = 0; i < 2 * gap; i++)
			addr[i] = a[i];
		for (i = 0; i < 2 * (words - gap); i++)
			addr[16 - 2 * (words - gap) + i] = a[2 * gap + i];
	} else {
		for (i = 0; i < 16; i++)
			addr[i] = a[i];
	}
	return 0;
}

static bool tt_host_bits_clear(const u8 *addr, u8 plen, u8 bytes)
{
	u8 i;

	for (i = 0; i < bytes; i++) {
		int keep = (int)plen - 8 * i;
		u8 mask;

		if (keep >= 8)
			continue;
		mask = keep <= 0 ? 0 : (u8)(0xff << (8 - keep));
		if (addr[i] & (u8)~mask)
			return false;
	}
	return true;
}

/*
 * "A.B.C.D[/N]" or an IPv6 address "[/N]". A bare address is a host
 * route; host bits beyond the prefix are an error, as for `ip route`.
 */
int tt_parse_cidr(const char *s, size_t len, struct tt_cidr *out)
{
	struct tt_cidr c = { 0 };
	size_t slash = tt_find(s, len, '/');
	u32 plen;
	int err;

	if (!len || slash == 0)
		return -TT_EINVAL;
	if (tt_find(s, slash, ':') < slash) {
		c.family = 6;
		err = tt_parse_ipv6(s, slash, c.addr);
		plen = 128;
	} else {
		c.family = 4;
		err = tt_parse_ipv4(s, slash, c.addr);
		plen = 32;
	}
	if (err)
		return err;
	if (slash < len) {
		if (slash + 1 == len || (len - slash > 2 && s[slash + 1] == '0'))
			return -TT_EINVAL;
		err = tt_parse_u32(s + slash + 1, len - slash - 1, plen, &plen);
		if (err)
			return err;
	}
	c.plen = (u8)plen;
	if (!tt_host_bits_clear(c.addr, c.plen, c.family == 4 ? 4 : 16))
		return -TT_EINVAL;
	*out = c;
	return 0;
}

int tt_parse_cidrs(const char *s, size_t len, struct tt_cidr *out, u8 *n)
{
	struct tt_cidr c[TCPTIMEO_MAX_CIDRS];
	size_t pos = 0, end;
	u8 cnt = 0, i;
	int err;

	while (pos < len) {
		end = pos + tt_find(s + pos, len - pos, ',');
		if (cnt == TCPTIMEO_MAX_CIDRS || end == pos)
			return -TT_EINVAL;
		err = tt_parse_cidr(s + pos, end - pos, &c[cnt]);
		if (err)
			return err;
		cnt++;
		if (end == len)
			break;
		pos = end + 1;
		if (pos == len)
			return -TT_EINVAL;
	}
	for (i = 0; i < cnt; i++)
		out[i] = c[i];
	*n = cnt;
	return 0;
}

int tt_parse_dir(const char *s, size_t len, u8 *dir)
{
	if (tt_streq(s, len, "in"))
		*dir = TCPTIMEO_DIR_IN;
	else if (tt_streq(s, len, "out"))
		*dir = TCPTIMEO_DIR_OUT;
	else if (tt_streq(s, len, "any"))
		*dir = TCPTIMEO_DIR_ANY;
	else
		return -TT_EINVAL;
	return 0;
}

int tt_parse_mode(const char *s, size_t len, u8 *mode)
{
	if (tt_streq(s, len, "fill"))
		*mode = TCPTIMEO_MODE_FILL;
	else if (tt_streq(s, len, "force"))
		*mode = TCPTIMEO_MODE_FORCE;
	else if (tt_streq(s, len, "clamp"))
		*mode = TCPTIMEO_MODE_CLAMP;
	else
		return -TT_EINVAL;
	return 0;
}

const char *tt_dir_name(u8 dir)
{
	switch (dir) {
	case TCPTIMEO_DIR_IN:
		return "in";
	case TCPTIMEO_DIR_OUT:
		return "out";
	default:
		return "any";
	}
}

const char *tt_mode_name(u8 mode)
{
	switch (mode) {
	case TCPTIMEO_MODE_FORCE:
		return "force";
	case TCPTIMEO_MODE_CLAMP:
		return "clamp";
	default:
		return "fill";
	}
}

bool tt_valid_name(const char *s, size_t len)
{
	size_t i;

	if (!len || len > TCPTIMEO_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      tt_isdigit(c) || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Bounded appender: output is always NUL-terminated, never overflows. */
struct tt_out {
	char *buf;
	size_t size;
	size_t len;
};

static void tt_putc(struct tt_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
	if (o->size)
		o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
}

static void tt_putu(struct tt_out *o, u32 v)
{
	char tmp[10];
	int i = 0;

	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		tt_putc(o, tmp[--i]);
}

static void tt_putx(struct tt_out *o, u32 v)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[4];
	int i = 0;

	do {
		tmp[i++] = hex[v & 15];
		v >>= 4;
	} while (v);
	while (i)
		tt_putc(o, tmp[--i]);
}

size_t tt_format_ports(char *buf, size_t size,
		       const struct tt_port_range *r, u8 n)
{
	struct tt_out o = { buf, size, 0 };
	u8 i;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			tt_putc(&o, ',');
		tt_putu(&o, r[i].lo);
		if (r[i].hi != r[i].lo) {
			tt_putc(&o, '-');
			tt_putu(&o, r[i].hi);
		}
	}
	return o.len;
}

static void tt_put_ipv4(struct tt_out *o, const u8 *a)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i)
			tt_putc(o, '.');
		tt_putu(o, a[i]);
	}
}

/* RFC 5952: lowercase, longest run (>= 2) of zero words as "::". */
static void tt_put_ipv6(struct tt_out *o, const u8 *a)
{
	int best = -1, best_len = 0, run, i, j;
	bool v4tail;

	for (i = 0; i < 8; i = j + 1) {
		for (j = i; j < 8 && !a[2 * j] && !a[2 * j + 1]; j++)
			;
		run = j - i;
		if (run > best_len && run >= 2) {
			best = i;
			best_len = run;
		}
	}
	/* RFC 5952 section 5: mixed notation for IPv4-mapped addresses only */
	v4tail = best == 0 && best_len == 5 && a[10] == 0xff && a[11] == 0xff;
	for (i = 0; i < 8; i++) {
		if (i == best) {
			tt_putc(o, ':');
			tt_putc(o, ':');
			i += best_len - 1;
			continue;
		}
		if (v4tail && i == 6) {
			if (i != best + best_len)
				tt_putc(o, ':');
			tt_put_ipv4(o, a + 12);
			break;
		}
		if (i && i != best + best_len)
			tt_putc(o, ':');
		tt_putx(o, (u32)a[2 * i] << 8 | a[2 * i + 1]);
	}
}

size_t tt_format_cidr(char *buf, size_t size, const struct tt_cidr *c)
{
	struct tt_out o = { buf, size, 0 };

	if (size)
		buf[0] = '\0';
	if (c->family == 4)
		tt_put_ipv4(&o, c->addr);
	else
		tt_put_ipv6(&o, c->addr);
	tt_putc(&o, '/');
	tt_putu(&o, c->plen);
	return o.len;
}

size_t tt_format_cidrs(char *buf, size_t size,
		       const struct tt_cidr *c, u8 n)
{
	size_t len = 0;
	u8 i;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i) {
			if (len + 1 < size) {
				buf[len] = ',';
				buf[len + 1] = '\0';
			}
			len++;
		}
		len += tt_format_cidr(len < size ? buf + len : NULL,
				      len < size ? size - len : 0, &c[i]);
	}
	return len;
}

static void tt_puts(struct tt_out *o, const char *s)
{
	while (*s)
		tt_putc(o, *s++);
}

static void tt_put_word_u32(struct tt_out *o, const char *word, u32 v)
{
	tt_putc(o, ' ');
	tt_puts(o, word);
	tt_putc(o, ' ');
	tt_putu(o, v);
}

/* " WORD Ns", or " WORD Nms" when @ms is not whole seconds; nothing for 0. */
static void tt_put_word_ms(struct tt_out *o, const char *word, u32 ms)
{
	if (!ms)
		return;
	if (ms % 1000 == 0) {
		tt_put_word_u32(o, word, ms / 1000);
		tt_putc(o, 's');
	} else {
		tt_put_word_u32(o, word, ms);
		tt_puts(o, "ms");
	}
}

size_t tt_format_rule(char *buf, size_t size, const char *name, u32 priority,
		      const struct tt_sel *sel, const char *cgroup, u32 netns,
		      const struct tt_opts *opts)
{
	struct tt_out o = { buf, size, 0 };
	char tmp[TT_CIDRS_TEXT_MAX];

	if (size)
		buf[0] = '\0';
	if (name) {
		tt_puts(&o, name);
		tt_putc(&o, ' ');
	}
	tt_puts(&o, "priority ");
	tt_putu(&o, priority);
	tt_puts(&o, " dir ");
	tt_puts(&o, tt_dir_name(sel->dir));
	if (sel->n_lports) {
		tt_format_ports(tmp, sizeof(tmp), sel->lports, sel->n_lports);
		tt_puts(&o, " local-port ");
		tt_puts(&o, tmp);
	}
	if (sel->n_rports) {
		tt_format_ports(tmp, sizeof(tmp), sel->rports, sel->n_rports);
		tt_puts(&o, " remote-port ");
		tt_puts(&o, tmp);
	}
	if (sel->n_addrs) {
		tt_format_cidrs(tmp, sizeof(tmp), sel->addrs, sel->n_addrs);
		tt_puts(&o, " remote-addr ");
		tt_puts(&o, tmp);
	}
	if (cgroup && cgroup[0]) {
		tt_puts(&o, " cgroup ");
		tt_puts(&o, cgroup);
	}
	if (netns)
		tt_put_word_u32(&o, "netns", netns);
	if (opts->keepalive)
		tt_puts(&o, " keepalive");
	/*
	 * Durations carry their unit: "user-timeout 10" was 10 ms where
	 * "idle 10" is 10 s. The parser reads both forms back.
	 */
	if (opts->keepidle) {
		tt_put_word_u32(&o, "idle", opts->keepidle);
		tt_putc(&o, 's');
	}
	if (opts->keepintvl) {
		tt_put_word_u32(&o, "intvl", opts->keepintvl);
		tt_putc(&o, 's');
	}
	if (opts->keepcnt)
		tt_put_word_u32(&o, "cnt", opts->keepcnt);
	if (opts->user_timeout == TCPTIMEO_USER_TIMEOUT_AUTO)
		tt_puts(&o, " user-timeout auto");
	else
		tt_put_word_ms(&o, "user-timeout", opts->user_timeout);
	if (opts->syn_retries)
		tt_put_word_u32(&o, "syn-retries", opts->syn_retries);
	tt_put_word_ms(&o, "rto-max", opts->rto_max);
	if (opts->mode != TCPTIMEO_MODE_FILL) {
		tt_putc(&o, ' ');
		tt_puts(&o, tt_mode_name(opts->mode));
	}
	if (opts->audit)
		tt_puts(&o, " audit");
	return o.len;
}

bool tt_ports_contain(const struct tt_port_range *r, u8 n, u16 port)
{
	u8 i;

	for (i = 0; i < n; i++)
		if (port >= r[i].lo && port <= r[i].hi)
			return true;
	return false;
}

static bool tt_prefix_eq(const u8 *a, const u8 *b, u8 plen)
{
	u8 i, full = plen / 8, rest = plen % 8;

	for (i = 0; i < full; i++)
		if (a[i] != b[i])
			return false;
	if (rest) {
		u8 mask = (u8)(0xff << (8 - rest));

		if ((a[full] ^ b[full]) & mask)
			return false;
	}
	return true;
}

bool tt_cidrs_contain(const struct tt_cidr *c, u8 n, u8 family, const u8 *addr)
{
	u8 i;

	for (i = 0; i < n; i++)
		if (c[i].family == family &&
		    tt_prefix_eq(c[i].addr, addr, c[i].plen))
			return true;
	return false;
}

/*
 * The one place that says what a rule's selectors mean. The caller
 * checks direction-independent extras (cgroup, netns) only when this
 * does not return TT_NOMATCH.
 */
enum tt_verdict tt_sel_match(const struct tt_sel *s, const struct tt_tuple *t)
{
	if (!(s->dir & t->dir))
		return TT_NOMATCH;
	if (s->n_rports && !tt_ports_contain(s->rports, s->n_rports, t->rport))
		return TT_NOMATCH;
	if (s->n_addrs &&
	    !tt_cidrs_contain(s->addrs, s->n_addrs, t->family, t->raddr))
		return TT_NOMATCH;
	if (s->n_lports) {
		if (!t->lport_known)
			return TT_NEED_LPORT;
		if (!tt_ports_contain(s->lports, s->n_lports, t->lport))
			return TT_NOMATCH;
	}
	return TT_MATCH;
}

int tt_rule_cmp(u32 prio_a, const char *name_a, u32 prio_b, const char *name_b)
{
	const unsigned char *a = (const unsigned char *)name_a;
	const unsigned char *b = (const unsigned char *)name_b;

	if (prio_a != prio_b)
		return prio_a < prio_b ? -1 : 1;
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (int)*a - (int)*b;
}

/* ---- the rule grammar ---- */

#define TT_PORTS_VALID \
	"up to 16 comma-separated ports N or ranges N-M, 1 <= N <= M <= 65535, or any"
#define TT_ADDRS_VALID \
	"up to 16 comma-separated IPv4/IPv6 CIDRs without host bits (10.96.0.0/12,fd00::/8), or any"
#define TT_CGROUP_VALID \
	"an absolute cgroup v2 path (/loadtest; it may not exist yet), < 512 bytes, no spaces, or any"
#define TT_NETNS_VALID \
	"a PID, a namespace file (/proc/PID/ns/net, /run/netns/NAME), a name in /run/netns, an inode (net:[4026532000]), or 0 (any)"
#define TT_UTO_VALID \
	"0 (unset), 1..2147483647 ms (10000, 10000ms, 10s, 2m) or auto"
#define TT_RTO_MAX_VALID \
	"0 (unset) or 1000..120000 ms (1000, 1500ms, 2s, 2m)"
#define TT_SECS_VALID(max) "0 (unset) or 1.." #max " seconds (7, 7s, 2m, 1h)"

const struct tt_field_info tt_fields[TT_F_NFIELDS] = {
	[TT_F_PRIORITY] = { "priority", "priority",
			    "0..65535, lower is evaluated first (default 1000)" },
	[TT_F_DIR] = { "dir", "direction", "in, out or any" },
	[TT_F_LPORTS] = { "local-port", "local_ports", TT_PORTS_VALID },
	[TT_F_RPORTS] = { "remote-port", "remote_ports", TT_PORTS_VALID },
	[TT_F_ADDRS] = { "remote-addr", "remote_addrs", TT_ADDRS_VALID },
	[TT_F_CGROUP] = { "cgroup", "cgroup", TT_CGROUP_VALID },
	[TT_F_NETNS] = { "netns", "netns", TT_NETNS_VALID },
	[TT_F_KEEPALIVE] = { "keepalive", "keepalive",
			     "keepalive, no-keepalive" },
	[TT_F_IDLE] = { "idle", "keepidle", TT_SECS_VALID(32767) },
	[TT_F_INTVL] = { "intvl", "keepintvl", TT_SECS_VALID(32767) },
	[TT_F_CNT] = { "cnt", "keepcnt", "0 (unset) or 1..127" },
	[TT_F_UTO] = { "user-timeout", "user_timeout", TT_UTO_VALID },
	[TT_F_SYN] = { "syn-retries", "syn_retries", "0 (unset) or 1..127" },
	[TT_F_RTO_MAX] = { "rto-max", "rto_max", TT_RTO_MAX_VALID },
	[TT_F_MODE] = { "mode", "mode", "fill, force or clamp" },
	[TT_F_AUDIT] = { "audit", "audit", "audit, no-audit" },
	[TT_F_ENABLED] = { "disabled", "enabled", "disabled" },
};

struct tt_word {
	const char *word;
	u8 field;
	bool value;		/* takes a value */
	u8 flag;		/* value of a flag word */
	u8 where;		/* TT_W_* */
};

#define TT_W_RULE	(TT_W_FILE | TT_W_ADD | TT_W_SET | TT_W_LINE)

static const struct tt_word tt_words[] = {
	{ "priority", TT_F_PRIORITY, true, 0, TT_W_RULE },
	{ "dir", TT_F_DIR, true, 0, TT_W_RULE },
	{ "local-port", TT_F_LPORTS, true, 0, TT_W_RULE },
	{ "remote-port", TT_F_RPORTS, true, 0, TT_W_RULE },
	{ "remote-addr", TT_F_ADDRS, true, 0, TT_W_RULE },
	{ "cgroup", TT_F_CGROUP, true, 0, TT_W_RULE },
	{ "netns", TT_F_NETNS, true, 0, TT_W_RULE },
	{ "keepalive", TT_F_KEEPALIVE, false, 1, TT_W_RULE },
	{ "no-keepalive", TT_F_KEEPALIVE, false, 0, TT_W_SET },
	{ "idle", TT_F_IDLE, true, 0, TT_W_RULE },
	{ "intvl", TT_F_INTVL, true, 0, TT_W_RULE },
	{ "cnt", TT_F_CNT, true, 0, TT_W_RULE },
	{ "user-timeout", TT_F_UTO, true, 0, TT_W_RULE },
	{ "syn-retries", TT_F_SYN, true, 0, TT_W_RULE },
	{ "rto-max", TT_F_RTO_MAX, true, 0, TT_W_RULE },
	{ "mode", TT_F_MODE, true, 0, TT_W_RULE },
	{ "fill", TT_F_MODE, false, TCPTIMEO_MODE_FILL, TT_W_RULE },
	{ "force", TT_F_MODE, false, TCPTIMEO_MODE_FORCE, TT_W_RULE },
	{ "clamp", TT_F_MODE, false, TCPTIMEO_MODE_CLAMP, TT_W_RULE },
	{ "audit", TT_F_AUDIT, false, 1, TT_W_RULE },
	{ "no-audit", TT_F_AUDIT, false, 0, TT_W_SET },
	{ "disabled", TT_F_ENABLED, false, 1, TT_W_FILE | TT_W_ADD },
	{ NULL, 0, false, 0, 0 },
};

static const struct tt_word *tt_word_find(const char *w, size_t len)
{
	size_t i;

	for (i = 0; tt_words[i].word; i++)
		if (tt_streq(w, len, tt_words[i].word))
			return &tt_words[i];
	return NULL;
}

bool tt_rule_word_known(const char *word, size_t len)
{
	return tt_word_find(word, len);
}

bool tt_rule_word_takes_value(const char *word, size_t len)
{
	const struct tt_word *w = tt_word_find(word, len);

	return w && w->value;
}

void tt_rule_spec_init(struct tt_rule_spec *r)
{
	u8 *p = (u8 *)r;
	size_t i;

	for (i = 0; i < sizeof(*r); i++)
		p[i] = 0;
	r->cgroup = NULL;
	r->priority = TCPTIMEO_PRIORITY_DEFAULT;
	r->sel.dir = TCPTIMEO_DIR_ANY;
	r->opts.mode = TCPTIMEO_MODE_FILL;
}

static int tt_parse_unit(const char *s, size_t len, u32 max, u32 *out, bool ms)
{
	size_t n = 0;
	u32 mult, v;
	int err;

	while (n < len && tt_isdigit(s[n]))
		n++;
	if (n == len)
		mult = 1;
	else if (ms && tt_streq(s + n, len - n, "ms"))
		mult = 1;
	else if (tt_streq(s + n, len - n, "s"))
		mult = ms ? 1000 : 1;
	else if (tt_streq(s + n, len - n, "m"))
		mult = ms ? 60000 : 60;
	else if (tt_streq(s + n, len - n, "h"))
		mult = ms ? 3600000 : 3600;
	else
		return -TT_EINVAL;
	err = tt_parse_u32(s, n, max / mult, &v);
	if (err)
		return err;
	*out = v * mult;
	return 0;
}

int tt_parse_secs(const char *s, size_t len, u32 max, u32 *out)
{
	return tt_parse_unit(s, len, max, out, false);
}

int tt_parse_ms(const char *s, size_t len, u32 max, u32 *out)
{
	return tt_parse_unit(s, len, max, out, true);
}

int tt_check_rto_max(u32 ms)
{
	return ms && ms < TCPTIMEO_RTO_MAX_MIN ? -TT_ERANGE : 0;
}

int tt_parse_rto_max(const char *s, size_t len, u32 *out)
{
	u32 v;
	int err;

	err = tt_parse_ms(s, len, TCPTIMEO_RTO_MAX_MAX, &v);
	if (!err)
		err = tt_check_rto_max(v);
	if (!err)
		*out = v;
	return err;
}

int tt_check_cgroup(const char *s, size_t len, const char **why)
{
	size_t i, n;

	if (!len || s[0] != '/') {
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
		if (s[i] != '/')
			continue;
		for (n = 0; i + 1 + n < len && s[i + 1 + n] != '/'; n++)
			;
		if ((n == 1 && s[i + 1] == '.') ||
		    (n == 2 && s[i + 1] == '.' && s[i + 2] == '.')) {
			*why = "has a . or .. component";
			return -TT_EINVAL;
		}
	}
	return 0;
}

static bool tt_is_any(const char *v, size_t len)
{
	return !len || tt_streq(v, len, "any");
}

/* The module's netns values: an inode number or net:[INODE]. */
static int tt_netns_inode(const char *s, size_t len, u32 *ino)
{
	if (len > 6 && tt_streq(s, 5, "net:[") && s[len - 1] == ']')
		return tt_parse_u32(s + 5, len - 6, TCPTIMEO_NETNS_MAX, ino);
	return tt_parse_u32(s, len, TCPTIMEO_NETNS_MAX, ino);
}

static size_t tt_count_commas(const char *s, size_t len)
{
	size_t i, n = 1;

	for (i = 0; i < len; i++)
		n += s[i] == ',';
	return n;
}

/* Parse @val for field @f into @r: 0 or -TT_E* (*why may say why). */
static int tt_field_parse(struct tt_rule_spec *r, u8 f, const char *val,
			  size_t len, tt_netns_fn ns, void *priv,
			  const char **why)
{
	u32 v;
	u8 n;
	int err;

	switch (f) {
	case TT_F_PRIORITY:
		err = tt_parse_u32(val, len, TCPTIMEO_PRIORITY_MAX, &v);
		if (!err)
			r->priority = v;
		return err;
	case TT_F_DIR:
		return tt_parse_dir(val, len, &r->sel.dir);
	case TT_F_MODE:
		return tt_parse_mode(val, len, &r->opts.mode);
	case TT_F_LPORTS:
	case TT_F_RPORTS: {
		struct tt_port_range *pr = f == TT_F_LPORTS ? r->sel.lports :
							      r->sel.rports;
		u8 *pn = f == TT_F_LPORTS ? &r->sel.n_lports : &r->sel.n_rports;

		if (tt_is_any(val, len)) {
			*pn = 0;
			return 0;
		}
		err = tt_parse_ports(val, len, pr, &n);
		if (err) {
			if (tt_count_commas(val, len) > TCPTIMEO_MAX_PORT_RANGES)
				*why = "more than 16 entries";
			return err;
		}
		*pn = n;
		return 0;
	}
	case TT_F_ADDRS:
		if (tt_is_any(val, len)) {
			r->sel.n_addrs = 0;
			return 0;
		}
		err = tt_parse_cidrs(val, len, r->sel.addrs, &n);
		if (err) {
			if (tt_count_commas(val, len) > TCPTIMEO_MAX_CIDRS)
				*why = "more than 16 entries";
			return err;
		}
		r->sel.n_addrs = n;
		return 0;
	case TT_F_CGROUP:
		if (tt_is_any(val, len)) {
			r->cgroup = NULL;
			r->cgroup_len = 0;
			return 0;
		}
		err = tt_check_cgroup(val, len, why);
		if (!err) {
			r->cgroup = val;
			r->cgroup_len = len;
		}
		return err;
	case TT_F_NETNS:
		if (tt_is_any(val, len)) {
			r->netns = 0;
			return 0;
		}
		err = ns ? ns(priv, val, len, &v) : tt_netns_inode(val, len, &v);
		if (!err)
			r->netns = v;
		return err;
	case TT_F_IDLE:
	case TT_F_INTVL:
		err = tt_parse_secs(val, len, f == TT_F_IDLE ?
				    TCPTIMEO_KEEPIDLE_MAX :
				    TCPTIMEO_KEEPINTVL_MAX, &v);
		if (!err) {
			if (f == TT_F_IDLE)
				r->opts.keepidle = v;
			else
				r->opts.keepintvl = v;
		}
		return err;
	case TT_F_CNT:
	case TT_F_SYN:
		err = tt_parse_u32(val, len, f == TT_F_CNT ?
				   TCPTIMEO_KEEPCNT_MAX :
				   TCPTIMEO_SYN_RETRIES_MAX, &v);
		if (!err) {
			if (f == TT_F_CNT)
				r->opts.keepcnt = (u8)v;
			else
				r->opts.syn_retries = (u8)v;
		}
		return err;
	case TT_F_UTO:
		if (tt_streq(val, len, "auto")) {
			r->opts.user_timeout = TCPTIMEO_USER_TIMEOUT_AUTO;
			return 0;
		}
		err = tt_parse_ms(val, len, TCPTIMEO_USER_TIMEOUT_MAX, &v);
		if (!err)
			r->opts.user_timeout = v;
		return err;
	case TT_F_RTO_MAX:
		err = tt_parse_rto_max(val, len, &v);
		if (!err)
			r->opts.rto_max = v;
		return err;
	default:
		return -TT_EINVAL;
	}
}

static int tt_rule_fail(struct tt_rule_err *e, u8 fail, int err)
{
	e->fail = fail;
	e->err = err;
	return err;
}

int tt_rule_word(struct tt_rule_spec *r, int where, tt_netns_fn ns,
		 void *priv, const char *word, size_t word_len,
		 const char *val, size_t val_len, struct tt_rule_err *e)
{
	const struct tt_word *w = tt_word_find(word, word_len);
	struct tt_rule_spec t;
	int err;

	e->word = word;
	e->word_len = word_len;
	e->val = NULL;
	e->val_len = 0;
	e->why = NULL;
	e->field = w ? w->field : TT_F_NFIELDS;
	if (!w)
		return tt_rule_fail(e, TT_RF_UNKNOWN, -TT_EINVAL);
	if (!(w->where & where))
		return tt_rule_fail(e, TT_RF_WHERE, -TT_EINVAL);
	if (r->given & (1u << w->field))
		return tt_rule_fail(e, TT_RF_TWICE, -TT_EINVAL);
	if (!w->value) {
		switch (w->field) {
		case TT_F_KEEPALIVE:
			r->opts.keepalive = w->flag;
			break;
		case TT_F_MODE:
			r->opts.mode = w->flag;
			break;
		case TT_F_AUDIT:
			r->opts.audit = w->flag;
			break;
		case TT_F_ENABLED:
			r->disabled = w->flag;
			break;
		default:
			break;
		}
		r->given |= 1u << w->field;
		return 0;
	}
	if (!val)
		return tt_rule_fail(e, TT_RF_NOVALUE, -TT_EINVAL);
	e->val = val;
	e->val_len = val_len;
	/* a copy: a parser that fails half way leaves @r as it was */
	t = *r;
	err = tt_field_parse(&t, w->field, val, val_len, ns, priv, &e->why);
	if (err)
		return tt_rule_fail(e, TT_RF_VALUE, err);
	*r = t;
	r->given |= 1u << w->field;
	return 1;
}

static bool tt_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next word of s[*pos..len): its start and length (0 at the end). */
static size_t tt_next_word(const char *s, size_t len, size_t *pos,
			   const char **word)
{
	size_t n = 0;

	while (*pos < len && tt_blank(s[*pos]))
		(*pos)++;
	*word = s + *pos;
	while (*pos < len && !tt_blank(s[*pos])) {
		(*pos)++;
		n++;
	}
	return n;
}

int tt_rule_parse(struct tt_rule_spec *r, int where, tt_netns_fn ns,
		  void *priv, const char *s, size_t len, struct tt_rule_err *e)
{
	const char *word, *val;
	size_t pos = 0, wl, vl, save;
	int used;

	tt_rule_spec_init(r);
	for (;;) {
		wl = tt_next_word(s, len, &pos, &word);
		if (!wl)
			return 0;
		save = pos;
		vl = 0;
		val = NULL;
		if (tt_rule_word_takes_value(word, wl)) {
			vl = tt_next_word(s, len, &pos, &val);
			if (!vl) {
				val = NULL;
				pos = save;
			}
		}
		used = tt_rule_word(r, where, ns, priv, word, wl, val, vl, e);
		if (used < 0)
			return used;
	}
}
