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
	u32 rto_max;		/* ms, TCP_RTO_MAX_MS (6.15+) */
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
 * [cnt N] [user-timeout MS|auto] [syn-retries N] [rto-max MS]
 * [force|clamp] [audit]
 * No trailing newline. cgroup may be NULL or "". name NULL: the words
 * after the name only (the module's "line" file).
 */
size_t tt_format_rule(char *buf, size_t size, const char *name, u32 priority,
		      const struct tt_sel *sel, const char *cgroup, u32 netns,
		      const struct tt_opts *opts);

/* Evaluation order: lower priority first, ties broken by name (bytewise). */
int tt_rule_cmp(u32 prio_a, const char *name_a, u32 prio_b, const char *name_b);

/*
 * The rule grammar: the words after a rule's name in the rules file, the
 * options of tcptimeoctl add/set and the module's per-rule "line" file.
 * One table, one value parser per word, for the CLI and the module.
 */
enum tt_field {
	TT_F_PRIORITY,
	TT_F_DIR,
	TT_F_LPORTS,
	TT_F_RPORTS,
	TT_F_ADDRS,
	TT_F_CGROUP,
	TT_F_NETNS,
	TT_F_KEEPALIVE,
	TT_F_IDLE,
	TT_F_INTVL,
	TT_F_CNT,
	TT_F_UTO,
	TT_F_SYN,
	TT_F_RTO_MAX,
	TT_F_MODE,
	TT_F_AUDIT,
	TT_F_ENABLED,		/* the word "disabled" */
	TT_F_NFIELDS
};

struct tt_field_info {
	const char *word;	/* rules-file word, CLI flag without "--" */
	const char *attr;	/* configfs attribute */
	const char *valid;	/* the valid values, for messages */
};

extern const struct tt_field_info tt_fields[TT_F_NFIELDS];

/* Where a word may appear (a word's set of these). */
enum {
	TT_W_FILE = 1,		/* rules file */
	TT_W_ADD = 2,		/* tcptimeoctl add */
	TT_W_SET = 4,		/* tcptimeoctl set */
	TT_W_LINE = 8,		/* the module's "line" file */
};

/* One rule as the words give it; cgroup points into the parsed text. */
struct tt_rule_spec {
	u32 priority;
	u32 netns;		/* inode, 0: any */
	struct tt_sel sel;
	struct tt_opts opts;
	const char *cgroup;	/* NULL or "": any */
	size_t cgroup_len;
	bool disabled;
	u32 given;		/* bit per enum tt_field named */
};

enum tt_rule_fail {
	TT_RF_UNKNOWN = 1,	/* no such word */
	TT_RF_WHERE,		/* a word of another context */
	TT_RF_TWICE,		/* its field is given already */
	TT_RF_NOVALUE,		/* the value is missing */
	TT_RF_VALUE,		/* the value is invalid: see err, why */
};

struct tt_rule_err {
	int err;		/* -TT_EINVAL, -TT_ERANGE, or the netns hook's */
	u8 fail;		/* enum tt_rule_fail */
	u8 field;		/* enum tt_field (not for TT_RF_UNKNOWN) */
	const char *why;	/* what is wrong with the value, or NULL */
	const char *word;
	size_t word_len;
	const char *val;	/* NULL if none */
	size_t val_len;
};

/*
 * Turns a netns value other than 0 and "any" into an inode number:
 * 0 or a negative errno (-TT_EINVAL, -TT_ERANGE, ...). NULL: decimal
 * inode numbers and net:[INODE] only, as the module takes them.
 */
typedef int (*tt_netns_fn)(void *priv, const char *s, size_t len, u32 *ino);

void tt_rule_spec_init(struct tt_rule_spec *r);
bool tt_rule_word_known(const char *word, size_t len);
bool tt_rule_word_takes_value(const char *word, size_t len);
/*
 * Apply one word (and the value after it, NULL if there is none) to @r,
 * allowed in @where (TT_W_*). Returns the number of values consumed (0
 * or 1), or e->err (negative) with @e filled in; @r is unchanged then.
 */
int tt_rule_word(struct tt_rule_spec *r, int where, tt_netns_fn ns,
		 void *priv, const char *word, size_t word_len,
		 const char *val, size_t val_len, struct tt_rule_err *e);
/*
 * A whole rule without its name: words separated by spaces or tabs.
 * Stops at the first error (0 or e->err); @r is left undefined then.
 */
int tt_rule_parse(struct tt_rule_spec *r, int where, tt_netns_fn ns,
		  void *priv, const char *s, size_t len, struct tt_rule_err *e);

/* "7", "7s", "2m", "1h" (and "ms" for tt_parse_ms): at most @max. */
int tt_parse_secs(const char *s, size_t len, u32 max, u32 *out);
int tt_parse_ms(const char *s, size_t len, u32 max, u32 *out);
/* rto_max: 0 (unset) or TCPTIMEO_RTO_MAX_MIN..MAX ms, with a unit. */
int tt_parse_rto_max(const char *s, size_t len, u32 *out);
/* Its lower bound, for a value parsed without a unit: 0 or -TT_ERANGE. */
int tt_check_rto_max(u32 ms);
/* A cgroup path as a rule names it: 0 or -TT_EINVAL with *why. */
int tt_check_cgroup(const char *s, size_t len, const char **why);

#endif /* _TT_PARSE_H */
