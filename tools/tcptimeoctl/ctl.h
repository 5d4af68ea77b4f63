/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * tcptimeoctl: shared declarations.
 *
 * rule.c   one rule: the words of the CLI and the rules file, their
 *          values, messages and the rules-file parser (no I/O but the
 *          netns resolver hook)
 * kernel.c configfs/sysfs I/O
 * out.c    tables and JSON
 * sock.c   the per-socket view and abort-peer's selection (no I/O)
 * monitor.c the module's tracepoints: one line of trace text parsed (no
 *          I/O), a tracefs instance of its own, the stream
 * apply.c, explain.c, check.c, incident.c, main.c: commands
 */
#ifndef _TT_CTL_H
#define _TT_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../lib/tt_parse.h"

/* Exit codes (documented in tcptimeoctl.8). */
enum {
	EXIT_OK = 0,
	EXIT_INPUT = 1,		/* bad input; the message names field and range */
	EXIT_NOMOD = 2,		/* module not loaded */
	EXIT_PERM = 3,		/* EACCES/EPERM from the kernel */
	EXIT_PENDING = 5,	/* apply --dry-run: the file differs from live */
};

/* The fields of a rule (enum tt_field); the order attributes are written. */
enum ctl_field {
	F_PRIORITY,
	F_DIR,
	F_LPORTS,
	F_RPORTS,
	F_ADDRS,
	F_CGROUP,
	F_NETNS,
	F_KEEPALIVE,
	F_IDLE,
	F_INTVL,
	F_CNT,
	F_UTO,
	F_SYN,
	F_RTO_MAX,
	F_MODE,
	F_AUDIT,
	F_ENABLED,
	F_NFIELDS
};

/* The fields' words, attributes and valid values: lib/tt_parse.c's. */
#define ctl_field_info tt_field_info
#define ctl_fields tt_fields

struct ctl_rule {
	char name[TCPTIMEO_NAME_MAX + 1];
	u32 priority;
	struct tt_sel sel;
	char cgroup[TCPTIMEO_CGROUP_PATH_MAX];
	u32 netns;
	struct tt_opts opts;
	bool enabled;
	u32 given;		/* bit per enum ctl_field named by the input */
	int line;		/* rules file: line number */
	bool uto_bare;		/* user-timeout given as a bare number (ms) */
	/* read back from the kernel only */
	unsigned long long matched, timeouts_idle, timeouts_busy;
	bool netns_gone;	/* netns_state "gone": its namespace died */
	bool cgroup_absent;	/* cgroup_state "absent": not created (yet) */
};

/* Where a word comes from: changes which words are accepted and the prefix. */
enum ctl_ctx {
	CTX_FILE,		/* rules file: "idle 7" */
	CTX_ADD,		/* tcptimeoctl add: "--idle 7" */
	CTX_SET,		/* tcptimeoctl set */
};

#define CTL_MSG_MAX	1024
/* A rule's line: every field at its longest, with its word. */
#define CTL_LINE_TEXT_MAX	(2 * TT_PORTS_TEXT_MAX + TT_CIDRS_TEXT_MAX + \
				 TCPTIMEO_CGROUP_PATH_MAX + 256)

void ctl_rule_init(struct ctl_rule *r);

/*
 * Netns argument resolver: PATH, PID or INODE (or "net:[INODE]", or a
 * name under /run/netns) to an inode. Replaceable so that the fuzzer and
 * unit tests need no /proc. Returns 0 or -errno and writes a message.
 */
typedef int (*ctl_netns_fn)(const char *arg, u32 *ino, char *msg, size_t size);
extern ctl_netns_fn ctl_netns_resolve;
int ctl_netns_resolve_proc(const char *arg, u32 *ino, char *msg, size_t size);

/*
 * Apply one word (and its value, or NULL if the input has none) to @r.
 * Returns the number of values consumed (0 or 1) or -1 with a message in
 * @msg that names the field and its valid values.
 */
int ctl_rule_word(struct ctl_rule *r, enum ctl_ctx ctx, const char *word,
		  const char *val, char *msg, size_t size);
bool ctl_word_takes_value(const char *word);
int ctl_rule_finish(struct ctl_rule *r, enum ctl_ctx ctx, char *msg,
		    size_t size);

/* Durations and numbers as the CLI and the file accept them. */
int ctl_parse_secs(const char *s, u32 max, u32 *out);
int ctl_parse_ms(const char *s, u32 max, u32 *out);

/* Printable, bounded copy of untrusted text for messages. */
const char *ctl_quote(const char *s, size_t len, char *buf, size_t size);

/* A parsed rules file. */
struct ctl_err {
	int line;
	char msg[CTL_MSG_MAX];
};

struct ctl_file {
	struct ctl_rule *rules;
	size_t n, cap;
	struct ctl_err *errs;
	size_t nerr, errcap;
};

/* Parse a whole rules file held in memory (any bytes). Never fails hard:
 * errors are collected in f->errs. Returns 0, or -1 on allocation failure. */
int ctl_file_parse(struct ctl_file *f, const char *buf, size_t len);
void ctl_file_free(struct ctl_file *f);

/* One rule as a rules-file line (no newline); adds "disabled" if so. */
size_t ctl_rule_line(char *buf, size_t size, const struct ctl_rule *r);
/* Configuration equality (ignores counters, line, given). */
bool ctl_field_equal(const struct ctl_rule *a, const struct ctl_rule *b,
		     enum ctl_field f);
bool ctl_rule_equal(const struct ctl_rule *a, const struct ctl_rule *b);
/* The canonical text of one field as configfs reads it back. */
void ctl_field_text(const struct ctl_rule *r, enum ctl_field f, char *buf,
		    size_t size);
/* Evaluation order (tt_rule_cmp), for qsort. */
int ctl_rule_order(const void *a, const void *b);

/* cgroup path helpers: compare modulo repeated and trailing slashes. */
bool ctl_cgroup_under(const char *path, const char *rule_path);

/* kernel.c */
extern const char *ctl_sysroot;		/* "" or TCPTIMEO_SYSROOT for tests */
int ctl_kernel_check(void);		/* 0 or EXIT_NOMOD with a message */
void ctl_version_warn(void);	/* warns if the module's version differs */
int ctl_module_check(void);		/* the same, sysfs only */
int ctl_module_check_quiet(void);	/* ctl_module_check(), no message */
int ctl_kernel_list(struct ctl_rule **rules, size_t *n);	/* sorted */
int ctl_kernel_read(const char *name, struct ctl_rule *r);	/* -errno */
int ctl_kernel_create(const struct ctl_rule *r);		/* exit code */
int ctl_kernel_update(const struct ctl_rule *r, const struct ctl_rule *old);
int ctl_kernel_write(const char *name, enum ctl_field f,
		     const struct ctl_rule *r);			/* exit code */
int ctl_kernel_write_line(const struct ctl_rule *r);		/* exit code */
/* A transaction over the live table (sysfs hold/commit): exit codes. */
int ctl_kernel_hold(void);
int ctl_kernel_commit(void);
int ctl_kernel_delete(const char *name);			/* exit code */
int ctl_kernel_exists(const char *name);
int ctl_sysfs_read(const char *rel, char *buf, size_t size);	/* -errno */
int ctl_sysfs_write(const char *rel, const char *val);		/* -errno */
int ctl_stat_read(const char *name, unsigned long long *v);	/* -errno */
int ctl_sysctl_read(const char *name, unsigned long *v);
int ctl_read_file(const char *path, char **buf, size_t *len);	/* "-": stdin */
/* Read and parse a rules file ("-": stdin), named @shown in messages:
 * EXIT_OK, or an exit code after saying why. The contents' errors are
 * left in f->errs for the caller. */
int ctl_file_load(struct ctl_file *f, const char *path, const char *shown);
/*
 * apply.c: what the module would refuse of a loaded file's cgroups (a
 * path naming a file) goes into f->errs; with @notes, an absent cgroup is
 * a note on stderr. 0, or -1 out of memory.
 */
int ctl_file_cgroups(struct ctl_file *f, const char *shown, bool notes);
int ctl_err_order(const void *a, const void *b);	/* by line, for qsort */
int ctl_errno_exit(int err);
/*
 * The rule options the kernel supports: /sys/kernel/tcptimeo/features
 * (configfs attribute names); a module without the file has every option
 * but rto_max. ctl_feature(): 1 listed, 0 not.
 */
int ctl_feature(const char *attr);
/* rto_max without TCP_RTO_MAX_MS: say so for rule @name (EXIT_INPUT). */
int ctl_rto_max_unsupported(const char *name);
/* The same, as a message (for the rules file's FILE:LINE: list). */
void ctl_rto_max_msg(char *buf, size_t size, const char *name);
/* Refuse rule @r if it sets an option this kernel lacks: an exit code. */
int ctl_kernel_supports(const struct ctl_rule *r);

/* out.c */
void json_str(FILE *f, const char *s);
void json_rule(FILE *f, const struct ctl_rule *r, bool counters);
const char *ctl_netns_state(const struct ctl_rule *r);
const char *ctl_cgroup_state(const struct ctl_rule *r);
bool ctl_rule_sets_option(const struct ctl_rule *r);
void ctl_cgroup_mount(char *out, size_t size);
int ctl_cgroup_exists(const char *mnt, const char *cg);
void ctl_print_list(FILE *f, const struct ctl_rule *r, size_t n);
void ctl_print_show(FILE *f, const struct ctl_rule *r);

/* sock.c: one line of /proc/net/tcptimeo (docs/ABI.md) */
#define TCPTIMEO_PROC_NET	"/proc/net/tcptimeo"

#define CTL_NOPTS	7	/* keepalive .. syn_retries, rto_max */
extern const char *const ctl_opt_names[CTL_NOPTS];

struct ctl_sock {
	char local[64], remote[64];	/* as the module prints them */
	char state[16];
	u8 family;		/* the peer's: 4 (also IPv4-mapped) or 6 */
	u8 raddr[16];
	u16 lport, rport;
	u8 keepalive;
	unsigned long long cgroup;
	u32 idle, intvl, cnt, user_timeout, syn_retries;
	u32 rto_max;		/* ms; 0: not known (older module, or '-') */
	char rule[TCPTIMEO_NAME_MAX + 1];	/* "" if none matches */
	/* per option (ctl_opt_names order): 'r' the rule's value, 'a' the
	 * application's, 'd' the node default, for rto_max '-' a kernel
	 * without it; "" from an older module, 6 characters (no rto_max)
	 * from one before rto_max */
	char from[CTL_NOPTS + 1];
	unsigned long netns;	/* its namespace's inode; 0: the caller's */
};

/* Peers to abort: what the module's abort_peers file takes. */
struct ctl_peers {
	struct tt_cidr addrs[TCPTIMEO_MAX_CIDRS];
	struct tt_port_range ports[TCPTIMEO_MAX_PORT_RANGES];
	u8 n_addrs, n_ports;
};

int ctl_sock_parse(const char *line, size_t len, struct ctl_sock *s);
/* "A.B.C.D:P" or "[IPv6]:P" as the kernel's %pISpc prints it: 0 or -TT_E* */
int ctl_sock_addr(const char *s, size_t len, u8 *family, u8 *addr, u16 *port);
bool ctl_sock_abortable(const struct ctl_sock *s);
bool ctl_sock_peer_in(const struct ctl_sock *s, const struct ctl_peers *p);
int ctl_peers_parse(struct ctl_peers *p, const char *cidrs, const char *ports,
		    char *msg, size_t size);
size_t ctl_peers_text(char *buf, size_t size, const struct ctl_peers *p);
void prom_label(FILE *f, const char *s);

/*
 * monitor.c: one line of trace_pipe or of the trace file, with the
 * module's events (TRACE_SYSTEM tcptimeo; docs/ABI.md), e.g.
 *   "  <idle>-0  [001] ..s1. 123.456789: timeout: rule=web dir=out ..."
 * ctl_mon_parse() keeps pointers into the line and copies nothing.
 */
#define CTL_MON_NEVENTS		3	/* stamp, timeout, abort */
#define CTL_MON_FIELDS_MAX	32
#define CTL_MON_TEXT_MAX	4095	/* longer lines are not understood */
extern const char *const ctl_mon_events[CTL_MON_NEVENTS];

enum ctl_mon_kind {
	MON_SKIP,		/* blank, or a '#' header line of the trace file */
	MON_EVENT,		/* one of ctl_mon_events, every field checked */
	MON_LOST,		/* "CPU:N [LOST N EVENTS]" or "CPU:N [LOST EVENTS]" */
	MON_OTHER,		/* an event of another name */
	MON_BAD,		/* not understood: why says what */
};

/* How a field is checked and printed in JSON (one type per key). */
enum ctl_mon_type {
	MT_TEXT,		/* a word: in, ESTABLISHED, keepalive... */
	MT_RULE,		/* a rule name, or - (JSON null) */
	MT_BOOL,		/* 0 or 1 */
	MT_U32,
	MT_U64,
	MT_INT,			/* signed: err */
	MT_ADDR,		/* ADDR:PORT or [ADDR]:PORT, in JSON two keys */
	MT_LIST,		/* a,b,c or none, in JSON an array */
	MT_UNKNOWN,		/* a key of a newer module: a JSON string */
};

struct ctl_mon_field {
	const char *key, *val;	/* into the line; not NUL-terminated */
	size_t klen, vlen;
	enum ctl_mon_type type;
};

struct ctl_mon_line {
	enum ctl_mon_kind kind;
	int event;		/* index into ctl_mon_events, or -1 */
	unsigned int cpu;
	const char *ts, *name, *text;	/* timestamp, event name, its fields */
	size_t ts_len, name_len, text_len;
	const char *rule;	/* MON_EVENT: the rule field's value */
	size_t rule_len;
	bool count_known;	/* MON_LOST */
	unsigned long long count;
	struct ctl_mon_field f[CTL_MON_FIELDS_MAX];
	size_t nf;
	char why[128];		/* MON_BAD */
};

enum ctl_mon_kind ctl_mon_parse(const char *line, size_t len,
				struct ctl_mon_line *l);

/* commands */
int cmd_apply(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_sockets(int argc, char **argv);
int cmd_abort_peer(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int ctl_print_prometheus(FILE *f, const struct ctl_rule *r, size_t n);
int ctl_apply_existing(bool quiet);

/* messages */
extern const char *ctl_prog;
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
