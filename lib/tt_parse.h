/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * tcptimeo: one parser, built twice.
 *
 * Port lists, CIDR lists, bounded numbers and rule names are parsed and
 * printed here, and rule selectors are matched here, by the same code in
 * the kernel module and in tcptimeoctl. Plain C: no kernel or libc calls.
 * Every parser takes a string and its length (no NUL needed), changes
 * nothing on error and returns 0, -TT_EINVAL or -TT_ERANGE.
 */
#ifndef _TT_PARSE_H
#define _TT_PARSE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
#endif

#include "../include/uapi/tcptimeo.h"

#define TT_EINVAL	22	/* == EINVAL on Linux */
#define TT_ERANGE	34	/* == ERANGE on Linux */

/* Longest canonical text of a port list / CIDR list, NUL included. */
#define TT_PORTS_TEXT_MAX	(TCPTIMEO_MAX_PORT_RANGES * 12 + 1)
#define TT_CIDRS_TEXT_MAX	(TCPTIMEO_MAX_CIDRS * 44 + 1)

struct tt_port_range {
	u16 lo;
	u16 hi;
};

struct tt_cidr {
	u8 family;		/* 4 or 6 */
	u8 plen;		/* 0..32 or 0..128 */
	u8 addr[16];		/* network byte order; IPv4 in addr[0..3] */
};

/* The selectors every matcher agrees on (cgroup and netns live beside). */
struct tt_sel {
	u8 dir;			/* enum tcptimeo_dir */
	u8 n_lports;
	u8 n_rports;
	u8 n_addrs;
	struct tt_port_range lports[TCPTIMEO_MAX_PORT_RANGES];
	struct tt_port_range rports[TCPTIMEO_MAX_PORT_RANGES];
	struct tt_cidr addrs[TCPTIMEO_MAX_CIDRS];
};

/* The options a rule stamps; 0 means unset (leave alone). */
struct tt_opts {
	u8 keepalive;		/* 1: turn SO_KEEPALIVE on */
	u8 keepcnt;
	u8 syn_retries;
	u8 mode;		/* enum tcptimeo_mode */
	u8 audit;		/* 1: match and count, stamp nothing */
	u32 keepidle;		/* seconds */
	u32 keepintvl;		/* seconds */
	u32 user_timeout;	/* ms, or TCPTIMEO_USER_TIMEOUT_AUTO */
};

/* What is known of a connection when a rule is evaluated. */
struct tt_tuple {
	u8 dir;			/* TCPTIMEO_DIR_IN or TCPTIMEO_DIR_OUT */
	u8 family;		/* 4 (also IPv4-mapped IPv6 peers) or 6 */
	bool lport_known;	/* false for a connect() before the port is picked */
	u16 lport;
	u16 rport;
	u8 raddr[16];
};

enum tt_verdict {
	TT_NOMATCH = 0,
	TT_MATCH,
	TT_NEED_LPORT,		/* everything else matches; local port unknown */
};

int tt_parse_u32(const char *s, size_t len, u32 max, u32 *out);
int tt_parse_ports(const char *s, size_t len,
		   struct tt_port_range *r, u8 *n);
int tt_parse_cidrs(const char *s, size_t len, struct tt_cidr *c, u8 *n);
int tt_parse_cidr(const char *s, size_t len, struct tt_cidr *c);
int tt_parse_dir(const char *s, size_t len, u8 *dir);
int tt_parse_mode(const char *s, size_t len, u8 *mode);
bool tt_valid_name(const char *s, size_t len);

/* Canonical text; return the length written (without NUL). */
size_t tt_format_ports(char *buf, size_t size,
		       const struct tt_port_range *r, u8 n);
size_t tt_format_cidrs(char *buf, size_t size,
		       const struct tt_cidr *c, u8 n);
size_t tt_format_cidr(char *buf, size_t size, const struct tt_cidr *c);
const char *tt_dir_name(u8 dir);
const char *tt_mode_name(u8 mode);

bool tt_ports_contain(const struct tt_port_range *r, u8 n, u16 port);
bool tt_cidrs_contain(const struct tt_cidr *c, u8 n,
		      u8 family, const u8 *addr);
enum tt_verdict tt_sel_match(const struct tt_sel *s, const struct tt_tuple *t);

/*
 * One rule as one line of the rules-file syntax (also the sysfs "rules"
 * file): NAME priority P dir D [local-port L] [remote-port R]
 * [remote-addr A] [cgroup C] [netns N] [keepalive] [idle S] [intvl S]
 * [cnt N] [user-timeout MS|auto] [syn-retries N] [force|clamp] [audit]
 * No trailing newline. cgroup may be NULL or "".
 */
size_t tt_format_rule(char *buf, size_t size, const char *name, u32 priority,
		      const struct tt_sel *sel, const char *cgroup, u32 netns,
		      const struct tt_opts *opts);

/* Evaluation order: lower priority first, ties broken by name (bytewise). */
int tt_rule_cmp(u32 prio_a, const char *name_a, u32 prio_b, const char *name_b);

#endif /* _TT_PARSE_H */
