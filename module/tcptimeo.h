/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptimeo: declarations shared by the parts of the module.
 *
 *   main.c      init/exit, wires the parts together
 *   hook.c      the inet_sock_set_state probe: which transitions matter
 *   rules.c     compiled rules, the live ordered list
 *   index.c     the lookup index: a tuple space search over the selectors
 *   stamp.c     writes options onto one socket (fill, force, clamp)
 *   walk.c      existing sockets: apply_existing, abort_peers
 *   sockopt.c   the application's later setsockopt(): force, clamp, auto
 *   proc.c      /proc/net/tcptimeo, the per-socket view
 *   netns.c     a rule's binding to a live network namespace
 *   configfs.c  rule directories and their attributes
 *   sysfs.c     global switches, the live table, counters
 *   trace.c     the tracepoints of tt_trace.h (tcptimeo:stamp, ...)
 */
#ifndef _TCPTIMEO_H
#define _TCPTIMEO_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rbtree.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "tt_parse.h"

struct cgroup;
struct net;
struct sock;
struct tt_netns;

enum tt_rule_ctr {
	TT_RC_MATCHED,
	TT_RC_TIMEOUTS_IDLE,	/* ETIMEDOUT with nothing in flight */
	TT_RC_TIMEOUTS_BUSY,	/* ETIMEDOUT with data unacked or unsent */
	TT_RC_MAX,
};

struct tt_counter_cpu {
	u64 v[TT_RC_MAX];
};

/*
 * Per-rule counters: one set per CPU (tt_rule_count()), summed over the
 * possible CPUs on read (tt_counter_read()), like the global stats. The
 * object is shared by reference between the configfs item and every
 * compiled copy of the rule, so the counts survive recompiles; the
 * reference moves only when a copy is compiled or freed, never per
 * connection, and per connection this object is only read.
 */
struct tt_counter {
	refcount_t ref;
	struct tt_counter_cpu __percpu *cpu;
};

/* A rule as configured (the staged copy in configfs, and each compiled copy). */
struct tt_rule_cfg {
	char name[TCPTIMEO_NAME_MAX + 1];
	u32 priority;
	u32 netns;		/* inode number as written, 0: any */
	struct tt_netns *ns;	/* its binding (netns.c), NULL for "any" */
	char *cgroup_path;	/* kmalloc'ed, or NULL for "any" */
	struct tt_sel sel;
	struct tt_opts opts;
};

/*
 * A compiled rule. Immutable once published: a change to a live rule
 * compiles a new one and swaps it in. Readers (the probe) hold only RCU
 * (the published table holds a reference on each of its rules); the
 * memory is freed by an RCU callback after the last reference goes.
 */
struct tt_rule {
	struct rb_node node;		/* order tree, under tt_cfg_mutex */
	refcount_t ref;
	struct rcu_head rcu;
	/*
	 * Pinned; NULL: any cgroup, or, with cfg.cgroup_path set, a cgroup
	 * that does not exist (yet): the rule matches nothing until its
	 * path is created (configfs.c, tt_cgroup_refresh()).
	 */
	struct cgroup *cgrp;
	struct tt_counter *ctr;
	u32 base_rank;			/* rules.c, under tt_cfg_mutex */
	u32 base_gen;
	struct tt_rule_cfg cfg;
};

/* Global switches (sysfs). */
extern bool tt_enabled;
extern bool tt_allow_kernel_sockets;
extern bool tt_audit;

/* Serialises every configuration change; never taken by the probe. */
extern struct mutex tt_cfg_mutex;
extern struct workqueue_struct *tt_wq;

enum tt_stat {
	TT_STAT_STAMPED_IN,
	TT_STAT_STAMPED_OUT,
	TT_STAT_SKIPPED_APP_SET,
	TT_STAT_SKIPPED_KERNEL,
	TT_STAT_AUDIT_MATCHED,
	TT_STAT_EXISTING_STAMPED,
	TT_STAT_TIMEOUTS_UNMATCHED,
	TT_STAT_PEERS_ABORTED,
	TT_STAT_RESTAMPED,
	TT_STAT_MAX,
};

struct tt_stats {
	u64 v[TT_STAT_MAX];
};

DECLARE_PER_CPU(struct tt_stats, tt_stats);

static inline void tt_stat_add(enum tt_stat stat, u64 n)
{
	this_cpu_add(tt_stats.v[stat], n);
}

/*
 * Count one event of @rule on this CPU. Called from the probe, which the
 * tracepoint runs with preemption disabled, in softirq or process
 * context, and from walk.c in process context: this_cpu_inc() is a
 * single per-CPU increment that neither migration nor a softirq on the
 * same CPU can tear, so no cache line shared between CPUs is written.
 */
static inline void tt_rule_count(const struct tt_rule *rule,
				 enum tt_rule_ctr c)
{
	this_cpu_inc(rule->ctr->cpu->v[c]);
}

/* rules.c */
int tt_rules_init(void);
void tt_rules_exit(void);
struct tt_rule *tt_rule_compile(const struct tt_rule_cfg *cfg,
				struct tt_counter *ctr);
void tt_rule_put(struct tt_rule *rule);
struct tt_counter *tt_counter_alloc(void);
void tt_counter_put(struct tt_counter *ctr);
u64 tt_counter_read(const struct tt_counter *ctr, enum tt_rule_ctr c);
void tt_rules_insert(struct tt_rule *rule);
void tt_rules_replace(struct tt_rule *old, struct tt_rule *new);
void tt_rules_remove(struct tt_rule *rule);
const struct tt_rule *tt_rules_lookup(const struct tt_tuple *t,
				      const struct sock *sk,
				      enum tt_verdict *verdict);

/*
 * What connect() learned of an unbound outgoing connection without its
 * local port, kept until it is established (pending.c) so that the
 * decision is finished there without a second full lookup.
 */
#define TT_WAITS		3
struct tt_waits {
	unsigned long gen;		/* the table's (tt_table.gen); 0: none */
	const struct tt_rule *match;	/* first rule that matched, or NULL */
	const struct tt_rule *wait;	/* first rule that waits for the port */
	/* the first indexed rules before @match that wait for the port and
	 * select more than it (so are not filed under their local ports)
	 */
	const struct tt_rule *rule[TT_WAITS];
	u8 n;
	bool more;			/* more of those than @rule holds */
	bool deferred;			/* @wait ranks before @match */
};

const struct tt_rule *tt_rules_lookup_unbound(const struct tt_tuple *t,
					      const struct sock *sk,
					      enum tt_verdict *verdict,
					      struct tt_waits *w);
const struct tt_rule *tt_rules_lookup_connected(const struct tt_tuple *t,
						const struct sock *sk,
						const struct tt_waits *w,
						bool *deferred);
bool tt_rules_empty(void);
bool tt_rules_may_defer(void);
ssize_t tt_rules_read(char *buf, loff_t off, size_t count);
struct cgroup *tt_cgroup_lookup(const char *path);
void tt_cfg_free(struct tt_rule_cfg *cfg);
int tt_cfg_copy(struct tt_rule_cfg *dst, const struct tt_rule_cfg *src);

enum tt_verdict tt_rule_eval(const struct tt_rule *rule,
			     const struct tt_tuple *t, const struct sock *sk);
bool tt_rule_waits_lport(const struct tt_rule *rule,
			 const struct tt_tuple *tu, const struct sock *sk);

/* index.c */
enum { TT_IDX_IN, TT_IDX_OUT, TT_IDX_DIRS };
struct seq_file;
struct tt_index;
struct tt_index *tt_index_build(struct tt_rule *const *rules, u32 n);
void tt_index_free(struct tt_index *idx);
const struct tt_rule *tt_index_lookup(const struct tt_index *idx,
				      const struct tt_tuple *t,
				      const struct sock *sk, const u32 *skip,
				      u32 nskip, enum tt_verdict *verdict,
				      const struct tt_tuple *tu,
				      const struct tt_rule **defer,
				      struct tt_waits *w);
const struct tt_rule *tt_index_lookup_lports(const struct tt_index *idx,
					     const struct tt_tuple *t,
					     const struct sock *sk,
					     const u32 *skip, u32 nskip);
void tt_index_show(struct seq_file *m, const struct tt_index *idx);

/* stamp.c */
#define TT_STAMP_REARM		BIT(0)	/* the keepalive timer may run */
#define TT_STAMP_EXISTING	(BIT(1) | TT_STAMP_REARM)	/* the walk */
#define TT_STAMP_IN		BIT(2)	/* accepted (for tcptimeo:stamp) */
bool tt_stamp(struct sock *sk, const struct tt_rule *rule,
	      unsigned int flags);

/* The options, as the application sets them (sockopt.c). */
enum tt_opt {
	TT_OPT_KEEPALIVE,
	TT_OPT_KEEPIDLE,
	TT_OPT_KEEPINTVL,
	TT_OPT_KEEPCNT,
	TT_OPT_USER_TIMEOUT,
	TT_OPT_SYNCNT,
	TT_OPT_RTO_MAX,		/* 6.15+: tt_rto_max_supported() */
};

/* A socket before the application's setsockopt(): see tt_check(). */
struct tt_check {
	bool watch;		/* put the rule back afterwards */
	bool ut_auto;		/* user timeout is the rule's "auto" value */
	bool was_rule;		/* the option holds the rule's value */
	u32 val_before;		/* the option's tt_opt_raw() */
	u32 ut_before;		/* icsk_user_timeout */
};

u32 tt_opt_raw(const struct sock *sk, enum tt_opt opt);
char tt_opt_from(const struct sock *sk, const struct tt_rule *rule,
		 enum tt_opt opt);
void tt_check(const struct sock *sk, const struct tt_rule *rule,
	      enum tt_opt opt, struct tt_check *c);
void tt_resync(struct sock *sk, const struct tt_rule *rule, enum tt_opt opt,
	       const struct tt_check *c);

/* sockopt.c */
void tt_sockopt_init(void);
void tt_sockopt_exit(void);

/* pending.c */
void tt_pend_keep(struct sock *sk, const struct tt_waits *w);
bool tt_pend_take(const struct sock *sk, struct tt_waits *w);
void tt_pend_count(bool finished);
void tt_pend_show(struct seq_file *m);

/* hook.c */
bool tt_sk_skip_kernel(const struct sock *sk);
bool tt_sk_passive(const struct sock *sk);
void tt_tuple_fill(struct tt_tuple *t, const struct sock *sk, bool passive);
int tt_hook_init(void);
void tt_hook_exit(void);

/* configfs.c */
int tt_configfs_init(void);
void tt_configfs_exit(void);

/* walk.c */
int tt_apply_existing(void);
int tt_abort_peers(const char *buf, size_t len);

/* netns.c */
struct tt_netns *tt_netns_bind(u32 inum);
struct tt_netns *tt_netns_get(struct tt_netns *b);
void tt_netns_put(struct tt_netns *b);
bool tt_netns_match(const struct tt_netns *b, const struct net *net);
bool tt_netns_gone(const struct tt_netns *b);
int tt_netns_init(void);
void tt_netns_exit(void);

/* proc.c */
int tt_proc_init(void);
void tt_proc_exit(void);

/* rules.c: one transaction over the live table (sysfs hold, commit) */
int tt_rules_hold(u32 secs);
int tt_rules_commit(void);
u32 tt_rules_hold_left(void);

/* sysfs.c */
int tt_sysfs_init(void);
int tt_store_input(const char *buf, size_t count, size_t *len);
void tt_sysfs_exit(void);

#endif /* _TCPTIMEO_H */
