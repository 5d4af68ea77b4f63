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

size_t tt_format_rule(char *buf, size_t size, const char *name, u32 priority,
		      const struct tt_sel *sel, const char *cgroup, u32 netns,
		      const struct tt_opts *opts)
{
	struct tt_out o = { buf, size, 0 };
	char tmp[TT_CIDRS_TEXT_MAX];

	if (size)
		buf[0] = '\0';
	tt_puts(&o, name);
	tt_put_word_u32(&o, "priority", priority);
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
	if (opts->keepidle)
		tt_put_word_u32(&o, "idle", opts->keepidle);
	if (opts->keepintvl)
		tt_put_word_u32(&o, "intvl", opts->keepintvl);
	if (opts->keepcnt)
		tt_put_word_u32(&o, "cnt", opts->keepcnt);
	if (opts->user_timeout == TCPTIMEO_USER_TIMEOUT_AUTO)
		tt_puts(&o, " user-timeout auto");
	else if (opts->user_timeout)
		tt_put_word_u32(&o, "user-timeout", opts->user_timeout);
	if (opts->syn_retries)
		tt_put_word_u32(&o, "syn-retries", opts->syn_retries);
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
