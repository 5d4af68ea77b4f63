// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeoctl: the per-socket view (/proc/net/tcptimeo) and the peer
 * selection of abort-peer. Parsing and matching only, no I/O, so that
 * the unit tests and the fuzzer can run it. Addresses and ports are
 * parsed and matched by lib/tt_parse.c, as in the module.
 */
#include <string.h>

#include "ctl.h"

static const char *const ctl_sock_states[] = {
	"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
	"NEW_SYN_RECV", "?",
};

/* "A.B.C.D:P" or "[IPv6]:P"; an IPv4-mapped peer counts as IPv4. */
int ctl_sock_addr(const char *s, size_t len, u8 *family, u8 *addr, u16 *port)
{
	struct tt_cidr c;
	size_t colon = len, hs = 0, he;
	u32 p;
	static const u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	while (colon > 0 && s[colon - 1] != ':')
		colon--;
	if (!colon || colon == len)
		return -TT_EINVAL;
	he = colon - 1;
	if (s[0] == '[') {
		if (he < 2 || s[he - 1] != ']')
			return -TT_EINVAL;
		hs = 1;
		he--;
	}
	if (!memchr(s + hs, '/', he - hs) && !tt_parse_cidr(s + hs, he - hs, &c) &&
	    (c.family == 6) == (hs == 1) &&
	    !tt_parse_u32(s + colon, len - colon, 65535, &p)) {
		if (c.family == 6 && !memcmp(c.addr, mapped, sizeof(mapped))) {
			memmove(c.addr, c.addr + 12, 4);
			memset(c.addr + 4, 0, 12);
			c.family = 4;
		}
		*family = c.family;
		memcpy(addr, c.addr, 16);
		*port = (u16)p;
		return 0;
	}
	return -TT_EINVAL;
}

static size_t ctl_field(const char **p, const char *end)
{
	const char *s;

	while (*p < end && **p == ' ')
		(*p)++;
	s = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	return (size_t)(*p - s);
}

int ctl_sock_parse(const char *line, size_t len, struct ctl_sock *s)
{
	const char *p = line, *end = line + len, *f;
	size_t n;
	u32 v[7];
	int i;
	u8 lfam, laddr[16];

	memset(s, 0, sizeof(*s));
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	/* local */
	f = p; n = ctl_field(&p, end); f = p - n;
	if (!n || n >= sizeof(s->local) ||
	    ctl_sock_addr(f, n, &lfam, laddr, &s->lport))
		return -TT_EINVAL;
	memcpy(s->local, f, n);
	n = ctl_field(&p, end); f = p - n;
	if (!n || n >= sizeof(s->remote) ||
	    ctl_sock_addr(f, n, &s->family, s->raddr, &s->rport))
		return -TT_EINVAL;
	memcpy(s->remote, f, n);
	n = ctl_field(&p, end); f = p - n;
	if (!n || n >= sizeof(s->state))
		return -TT_EINVAL;
	memcpy(s->state, f, n);
	for (i = 0; i < (int)(sizeof(ctl_sock_states) /
			      sizeof(ctl_sock_states[0])); i++)
		if (!strcmp(s->state, ctl_sock_states[i]))
			break;
	if (i == sizeof(ctl_sock_states) / sizeof(ctl_sock_states[0]))
		return -TT_EINVAL;
	/* cgroup: a 64-bit id */
	n = ctl_field(&p, end); f = p - n;
	if (!n || n > 20)
		return -TT_EINVAL;
	for (s->cgroup = 0; n; f++, n--) {
		if (*f < '0' || *f > '9' ||
		    s->cgroup > (~0ULL - (unsigned)(*f - '0')) / 10)
			return -TT_EINVAL;
		s->cgroup = s->cgroup * 10 + (unsigned)(*f - '0');
	}
	/* keepalive idle intvl cnt user_timeout syn_retries */
	for (i = 0; i < 6; i++) {
		n = ctl_field(&p, end); f = p - n;
		if (!n || tt_parse_u32(f, n, i == 0 ? 1 : 0xffffffffU, &v[i]))
			return -TT_EINVAL;
	}
	s->keepalive = (u8)v[0];
	s->idle = v[1];
	s->intvl = v[2];
	s->cnt = v[3];
	s->user_timeout = v[4];
	s->syn_retries = v[5];
	n = ctl_field(&p, end); f = p - n;
	if (n == 1 && *f == '-')
		s->rule[0] = '\0';
	else if (n && tt_valid_name(f, n))
		memcpy(s->rule, f, n);
	else
		return -TT_EINVAL;
	/*
	 * from: one of r/a/d per option (absent: a module before it; six
	 * characters and no rto_max column: one before rto_max), then
	 * rto_max in ms or - (a kernel without TCP_RTO_MAX_MS)
	 */
	n = ctl_field(&p, end); f = p - n;
	if (!n)
		return 0;
	if ((n != CTL_NOPTS && n != CTL_NOPTS - 1) ||
	    strspn(f, "rad") < CTL_NOPTS - 1 ||
	    (n == CTL_NOPTS && !strchr("rad-", f[CTL_NOPTS - 1])))
		return -TT_EINVAL;
	memcpy(s->from, f, n);
	n = ctl_field(&p, end); f = p - n;
	if (s->from[CTL_NOPTS - 1] && !n)
		return -TT_EINVAL;	/* a 7th source needs its value */
	if (n) {
		if (!s->from[CTL_NOPTS - 1])
			return -TT_EINVAL;
		if (n == 1 && *f == '-') {
			if (s->from[CTL_NOPTS - 1] != '-')
				return -TT_EINVAL;
		} else if (s->from[CTL_NOPTS - 1] == '-' ||
			   tt_parse_u32(f, n, 0xffffffffU, &s->rto_max) ||
			   !s->rto_max) {
			return -TT_EINVAL;
		}
	}
	if (ctl_field(&p, end))
		return -TT_EINVAL;	/* trailing fields */
	return 0;
}

/* What abort_peers acts on (docs/ABI.md). */
bool ctl_sock_abortable(const struct ctl_sock *s)
{
	return !strcmp(s->state, "ESTABLISHED") ||
	       !strcmp(s->state, "CLOSE_WAIT") ||
	       !strcmp(s->state, "SYN_SENT") || !strcmp(s->state, "SYN_RECV");
}

bool ctl_sock_peer_in(const struct ctl_sock *s, const struct ctl_peers *p)
{
	if (p->n_ports && !tt_ports_contain(p->ports, p->n_ports, s->rport))
		return false;
	return tt_cidrs_contain(p->addrs, p->n_addrs, s->family, s->raddr);
}

/* "CIDR[,CIDR...]" and "N[-M][,...]" (NULL: any port), with messages. */
int ctl_peers_parse(struct ctl_peers *p, const char *cidrs, const char *ports,
		    char *msg, size_t size)
{
	char q[80];
	const char *c;
	size_t cnt = 1;
	int err;

	memset(p, 0, sizeof(*p));
	err = tt_parse_cidrs(cidrs, strlen(cidrs), p->addrs, &p->n_addrs);
	if (!err && !p->n_addrs)
		err = -TT_EINVAL;
	if (err) {
		for (c = cidrs; *c; c++)
			cnt += *c == ',';
		snprintf(msg, size, "peer CIDR list '%s': %s; valid: 1 to 16 "
			 "comma-separated IPv4/IPv6 addresses or CIDRs without "
			 "host bits (10.0.2.7, 10.0.2.0/24, fd00::/8), prefix "
			 "0..32 (IPv4) or 0..128 (IPv6)",
			 ctl_quote(cidrs, strlen(cidrs), q, sizeof(q)),
			 cnt > TCPTIMEO_MAX_CIDRS ? "more than 16 entries" :
			 !*cidrs ? "empty" : err == -TT_ERANGE ?
			 "out of range" : "invalid");
		return err;
	}
	if (!ports)
		return 0;
	err = tt_parse_ports(ports, strlen(ports), p->ports, &p->n_ports);
	if (!err && !p->n_ports)
		err = -TT_EINVAL;
	if (err) {
		cnt = 1;
		for (c = ports; *c; c++)
			cnt += *c == ',';
		snprintf(msg, size, "--port '%s': %s; valid: 1 to 16 "
			 "comma-separated ports N or ranges N-M, 1 <= N <= M "
			 "<= 65535", ctl_quote(ports, strlen(ports), q, sizeof(q)),
			 cnt > TCPTIMEO_MAX_PORT_RANGES ? "more than 16 entries" :
			 !*ports ? "empty" : err == -TT_ERANGE ?
			 "out of range" : "invalid");
		return err;
	}
	return 0;
}

/* The abort_peers line: canonical CIDRs, then " ports LIST" if any. */
size_t ctl_peers_text(char *buf, size_t size, const struct ctl_peers *p)
{
	size_t n = tt_format_cidrs(buf, size, p->addrs, p->n_addrs);

	if (p->n_ports && n + 7 < size) {
		memcpy(buf + n, " ports ", 8);
		n += 7;
		n += tt_format_ports(buf + n, size - n, p->ports, p->n_ports);
	}
	return n;
}

/* Prometheus text format 0.0.4: label values escape \ " and newline. */
void prom_label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}
