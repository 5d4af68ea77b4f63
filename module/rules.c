// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: the rule table.
 *
 * Readers (the probe, the walks, /proc) see one immutable table object:
 * the live rules in evaluation order, published with one RCU pointer
 * swap. Writers (configfs stores, under tt_cfg_mutex) keep the rules that
 * are to be live in an rbtree ordered by (priority, name) and publish a
 * new table after each change, so every lookup is decided by one table,
 * the old one or the new one, never a mix. A hold (sysfs hold/commit)
 * defers the publishing: changes made meanwhile accumulate in the tree
 * and go live together, in one swap, on commit (or when the hold runs
 * out, so that a writer that died can never freeze policy).
 *
 * A table is a base and an overlay. The base is a snapshot of the rules in
 * evaluation order with its index (index.c), whose lookup cost does not
 * grow with the number of rules; tables share it by reference. The
 * overlay is what changed since the base was taken: the live rules it
 * lacks, in evaluation order, and the ranks of its rules that are no
 * longer live; at most TT_OVERLAY_MAX of each. A write publishes the base
 * with a new overlay, O(overlay); the worker takes a new base once after a
 * burst of writes (at least every TT_REBUILD_MAX_WAIT), and so does a
 * write whose overlay would outgrow TT_OVERLAY_MAX, so that a lookup never
 * walks more than the overlay besides its index, and a write costs O(n)
 * only once in TT_OVERLAY_MAX writes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cgroup.h>
#include <linux/debugfs.h>
#include <linux/math64.h>
#include <linux/net.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "compat.h"
#include "tcptimeo.h"

#define TT_OVERLAY_MAX		256
/* A burst of writes gets a new base once, TT_REBUILD_DELAY after its last
 * write, but the overlay is never more than TT_REBUILD_MAX_WAIT old.
 */
#define TT_REBUILD_DELAY	(HZ / 20 ? HZ / 20 : 1)
#define TT_REBUILD_MAX_WAIT	HZ

/* A snapshot of the live rules and their index; shared by tables. */
struct tt_base {
	refcount_t ref;			/* tables, and the writers' tt_wbase */
	struct rcu_work free_work;
	struct tt_index *index;
	u32 n;
	struct tt_rule *rules[];	/* evaluation order, a reference each */
};

/* What readers use: immutable once published. */
struct tt_table {
	refcount_t ref;			/* the published pointer */
	struct rcu_work free_work;
	struct tt_base *base;		/* a reference; NULL: no base rule */
	bool out_lports;		/* an outgoing rule selects local ports */
	unsigned long gen;		/* tt_pub_gen when published; never 0 */
	u32 n;				/* live rules */
	u32 nadd;
	u32 nrm;
	struct tt_rule **add;		/* live, not in base: in order, a ref each */
	u32 *rm;			/* ranks in base no longer live, ascending */
	void *area[];			/* add, then rm */
};

struct workqueue_struct *tt_wq;

static struct rb_root tt_order = RB_ROOT;	/* the rules to be live */
static u32 tt_nlive;			/* rules in tt_order */
static u32 tt_nout_lports;		/* of those, outgoing with local ports */
static struct tt_table __rcu *tt_table;	/* NULL: no live rule */
static unsigned long tt_pub_gen;	/* bumped at each publish */
static bool tt_dirty;			/* tt_order differs from tt_table */
static bool tt_rebuild_pending;		/* an overlay since the last base */
static unsigned long tt_rebuild_deadline;	/* jiffies, if pending */
static struct delayed_work tt_rebuild_work;
static bool tt_held;			/* a hold is on: do not publish */
static unsigned long tt_hold_until;	/* jiffies, if held */
static struct delayed_work tt_hold_work;
static struct dentry *tt_debugfs;

/*
 * The writers' base and overlay: tt_order is tt_wbase minus the ranks in
 * tt_wrm plus the rules in tt_wadd, unless tt_wlost (the overlay outgrew
 * TT_OVERLAY_MAX, or a hold is on): then the next publish takes a new base.
 * A rule's base_rank is its rank in tt_wbase if its base_gen is
 * tt_wbase_gen. All of it under tt_cfg_mutex.
 */
static struct tt_base *tt_wbase;
static u32 tt_wbase_gen = 1;
static struct tt_rule *tt_wadd[TT_OVERLAY_MAX];
static u32 tt_nwadd;
static u32 tt_wrm[TT_OVERLAY_MAX];
static u32 tt_nwrm;
static bool tt_wlost;

/* Cached text of the sysfs "rules" file, rendered when tt_pub_gen moves. */
static char *tt_text;
static size_t tt_text_len;
static unsigned long tt_text_gen = ~0UL;

struct tt_counter *tt_counter_alloc(void)
{
	struct tt_counter *ctr = kzalloc(sizeof(*ctr), GFP_KERNEL);

	if (!ctr)
		return NULL;
	ctr->cpu = alloc_percpu(struct tt_counter_cpu);
	if (!ctr->cpu) {
		kfree(ctr);
		return NULL;
	}
	refcount_set(&ctr->ref, 1);
	return ctr;
}

/* Also from tt_rule_free_rcu(): free_percpu() may be called from there. */
void tt_counter_put(struct tt_counter *ctr)
{
	if (refcount_dec_and_test(&ctr->ref)) {
		free_percpu(ctr->cpu);
		kfree(ctr);
	}
}

/* A sum of per-CPU counts, each read whole, as they are being added to. */
u64 tt_counter_read(const struct tt_counter *ctr, enum tt_rule_ctr c)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(ctr->cpu, cpu)->v[c]);
	return sum;
}

void tt_cfg_free(struct tt_rule_cfg *cfg)
{
	kfree(cfg->cgroup_path);
	cfg->cgroup_path = NULL;
	tt_netns_put(cfg->ns);
	cfg->ns = NULL;
}

int tt_cfg_copy(struct tt_rule_cfg *dst, const struct tt_rule_cfg *src)
{
	*dst = *src;
	tt_netns_get(dst->ns);
	if (src->cgroup_path) {
		dst->cgroup_path = kstrdup(src->cgroup_path, GFP_KERNEL);
		if (!dst->cgroup_path)
			return -ENOMEM;
	}
	return 0;
}

struct tt_cg_lookup {
	struct work_struct work;
	const char *path;
	struct cgroup *cgrp;
};

static void tt_cg_lookup_fn(struct work_struct *work)
{
	struct tt_cg_lookup *l = container_of(work, struct tt_cg_lookup, work);

	l->cgrp = cgroup_get_from_path(l->path);
}

/*
 * cgroup_get_from_path() resolves relative to the caller's cgroup
 * namespace. Rules name cgroups as seen from the root namespace, so the
 * lookup runs in a kworker, which lives there. Returns a pinned cgroup or
 * an ERR_PTR (-ENOENT when there is no such cgroup).
 */
struct cgroup *tt_cgroup_lookup(const char *path)
{
	struct tt_cg_lookup l = { .path = path };

	INIT_WORK_ONSTACK(&l.work, tt_cg_lookup_fn);
	queue_work(system_unbound_wq, &l.work);
	flush_work(&l.work);
	destroy_work_on_stack(&l.work);
	return l.cgrp;
}

static void tt_rule_free(struct tt_rule *rule)
{
	if (rule->cgrp)
		cgroup_put(rule->cgrp);
	tt_counter_put(rule->ctr);
	tt_cfg_free(&rule->cfg);
	kfree(rule);
}

/* Softirq context: everything freed here may be freed from there. */
static void tt_rule_free_rcu(struct rcu_head *head)
{
	tt_rule_free(container_of(head, struct tt_rule, rcu));
}

void tt_rule_put(struct tt_rule *rule)
{
	/* Readers may still hold it (a table, the probe): defer. */
	if (refcount_dec_and_test(&rule->ref))
		call_rcu(&rule->rcu, tt_rule_free_rcu);
}

struct tt_rule *tt_rule_compile(const struct tt_rule_cfg *cfg,
				struct tt_counter *ctr)
{
	struct tt_rule *rule;
	struct cgroup *cgrp;
	int err;

	rule = kzalloc(sizeof(*rule), GFP_KERNEL);
	if (!rule)
		return ERR_PTR(-ENOMEM);
	refcount_inc(&ctr->ref);
	rule->ctr = ctr;
	err = tt_cfg_copy(&rule->cfg, cfg);
	if (err)
		goto fail;
	if (cfg->cgroup_path) {
		cgrp = tt_cgroup_lookup(cfg->cgroup_path);
		if (IS_ERR(cgrp) && PTR_ERR(cgrp) != -ENOENT) {
			err = PTR_ERR(cgrp);
			goto fail;
		}
		/* ENOENT: not there (yet), matches nothing (tt_rule_eval()) */
		rule->cgrp = IS_ERR(cgrp) ? NULL : cgrp;
	}
	refcount_set(&rule->ref, 1);
	RB_CLEAR_NODE(&rule->node);
	return rule;
fail:
	tt_rule_free(rule);
	return ERR_PTR(err);
}

static int tt_rule_order(const struct tt_rule *a, const struct tt_rule *b)
{
	return tt_rule_cmp(a->cfg.priority, a->cfg.name,
			   b->cfg.priority, b->cfg.name);
}

static void tt_order_insert(struct tt_rule *rule)
{
	struct rb_node **p = &tt_order.rb_node, *parent = NULL;

	while (*p) {
		parent = *p;
		if (tt_rule_order(rule, rb_entry(parent, struct tt_rule, node)) < 0)
			p = &parent->rb_left;
		else
			p = &parent->rb_right;
	}
	rb_link_node(&rule->node, parent, p);
	rb_insert_color(&rule->node, &tt_order);
}

static void tt_base_free_fn(struct work_struct *work)
{
	struct tt_base *b = container_of(to_rcu_work(work), struct tt_base,
					 free_work);
	u32 i;

	tt_index_free(b->index);
	for (i = 0; i < b->n; i++)
		tt_rule_put(b->rules[i]);
	kvfree(b);
}

/* The last reference: freed after a grace period, in process context. */
static void tt_base_put(struct tt_base *b)
{
	if (b && refcount_dec_and_test(&b->ref))
		queue_rcu_work(tt_wq, &b->free_work);
}

static void tt_table_free_fn(struct work_struct *work)
{
	struct tt_table *t = container_of(to_rcu_work(work), struct tt_table,
					  free_work);
	u32 i;

	for (i = 0; i < t->nadd; i++)
		tt_rule_put(t->add[i]);
	tt_base_put(t->base);
	kvfree(t);
}

static void tt_table_put(struct tt_table *t)
{
	if (t && refcount_dec_and_test(&t->ref))
		queue_rcu_work(tt_wq, &t->free_work);
}

/* A new base soon: once after a burst, at most MAX_WAIT late. */
static void tt_rebuild_soon(void)
{
	if (!tt_rebuild_pending) {
		tt_rebuild_pending = true;
		tt_rebuild_deadline = jiffies + TT_REBUILD_MAX_WAIT;
	}
	if (time_before(jiffies + TT_REBUILD_DELAY, tt_rebuild_deadline))
		mod_delayed_work(tt_wq, &tt_rebuild_work, TT_REBUILD_DELAY);
	else
		queue_delayed_work(tt_wq, &tt_rebuild_work, TT_REBUILD_DELAY);
}

/*
 * Take the rules of tt_order as the writers' new base, with its index:
 * O(n), in the writer or the worker, under tt_cfg_mutex. On allocation
 * failure nothing changes and -ENOMEM is returned.
 */
static int tt_rebase(void)
{
	struct tt_base *b = NULL;
	struct rb_node *node;
	u32 i = 0;

	lockdep_assert_held(&tt_cfg_mutex);
	if (tt_nlive) {
		b = kvzalloc(struct_size(b, rules, tt_nlive), GFP_KERNEL);
		if (!b)
			return -ENOMEM;
		for (node = rb_first(&tt_order); node; node = rb_next(node))
			b->rules[i++] = rb_entry(node, struct tt_rule, node);
		b->n = i;
		b->index = tt_index_build(b->rules, b->n);
		if (!b->index) {
			kvfree(b);
			return -ENOMEM;
		}
		refcount_set(&b->ref, 1);
		INIT_RCU_WORK(&b->free_work, tt_base_free_fn);
	}
	tt_wbase_gen++;
	for (i = 0; b && i < b->n; i++) {
		refcount_inc(&b->rules[i]->ref);
		b->rules[i]->base_rank = i;
		b->rules[i]->base_gen = tt_wbase_gen;
	}
	tt_base_put(tt_wbase);
	tt_wbase = b;
	tt_nwadd = 0;
	tt_nwrm = 0;
	tt_wlost = false;
	return 0;
}

/*
 * Make the rules of tt_order the table readers use, in one pointer swap.
 * On allocation failure the old table stays and the worker tries again.
 */
static void tt_table_publish(void)
{
	struct tt_table *t = NULL, *old;
	u32 i;

	lockdep_assert_held(&tt_cfg_mutex);
	if (tt_wlost && tt_rebase())
		goto retry;
	if (tt_nlive) {
		t = kvzalloc(struct_size(t, area, tt_nwadd) +
			     tt_nwrm * sizeof(u32), GFP_KERNEL);
		if (!t)
			goto retry;
		refcount_set(&t->ref, 1);
		INIT_RCU_WORK(&t->free_work, tt_table_free_fn);
		t->n = tt_nlive;
		t->out_lports = tt_nout_lports;
		t->base = tt_wbase;
		if (t->base)
			refcount_inc(&t->base->ref);
		t->add = (struct tt_rule **)t->area;
		t->nadd = tt_nwadd;
		for (i = 0; i < tt_nwadd; i++) {
			refcount_inc(&tt_wadd[i]->ref);
			t->add[i] = tt_wadd[i];
		}
		t->rm = (u32 *)(t->add + tt_nwadd);
		t->nrm = tt_nwrm;
		memcpy(t->rm, tt_wrm, tt_nwrm * sizeof(u32));
	}
	old = rcu_dereference_protected(tt_table,
					lockdep_is_held(&tt_cfg_mutex));
	tt_pub_gen++;
	if (t)
		t->gen = tt_pub_gen;	/* from 1: 0 is "none" (tt_waits) */
	rcu_assign_pointer(tt_table, t);
	tt_dirty = false;
	tt_table_put(old);
	if (tt_nwadd || tt_nwrm)
		tt_rebuild_soon();
	return;
retry:
	tt_dirty = true;
	queue_delayed_work(tt_wq, &tt_rebuild_work, HZ);
}

static bool tt_rule_out_lports(const struct tt_rule *rule)
{
	return (rule->cfg.sel.dir & TCPTIMEO_DIR_OUT) && rule->cfg.sel.n_lports;
}

/* Where @rule goes in tt_wadd, by evaluation order. */
static u32 tt_wadd_pos(const struct tt_rule *rule)
{
	u32 lo = 0, hi = tt_nwadd, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (tt_rule_order(tt_wadd[mid], rule) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void tt_overlay_add(struct tt_rule *rule)
{
	u32 i;

	if (tt_wlost || tt_held || tt_nwadd == TT_OVERLAY_MAX) {
		tt_wlost = true;
		return;
	}
	i = tt_wadd_pos(rule);
	memmove(&tt_wadd[i + 1], &tt_wadd[i],
		(tt_nwadd - i) * sizeof(tt_wadd[0]));
	tt_wadd[i] = rule;
	tt_nwadd++;
}

static void tt_overlay_del(struct tt_rule *rule)
{
	u32 i;

	if (tt_wlost || tt_held)
		goto lost;
	if (rule->base_gen != tt_wbase_gen) {
		/* not in the base: in the overlay */
		i = tt_wadd_pos(rule);
		if (WARN_ON_ONCE(i == tt_nwadd || tt_wadd[i] != rule))
			goto lost;
		memmove(&tt_wadd[i], &tt_wadd[i + 1],
			(tt_nwadd - i - 1) * sizeof(tt_wadd[0]));
		tt_nwadd--;
		return;
	}
	if (tt_nwrm == TT_OVERLAY_MAX)
		goto lost;
	for (i = tt_nwrm; i && tt_wrm[i - 1] > rule->base_rank; i--)
		tt_wrm[i] = tt_wrm[i - 1];
	tt_wrm[i] = rule->base_rank;
	tt_nwrm++;
	return;
lost:
	tt_wlost = true;
}

/* After a change of tt_order: publish it, unless a hold is on. */
static void tt_rules_changed(void)
{
	if (tt_held)
		tt_dirty = true;
	else
		tt_table_publish();
}

static void tt_order_add(struct tt_rule *rule)
{
	tt_order_insert(rule);
	tt_nlive++;
	tt_nout_lports += tt_rule_out_lports(rule);
	tt_overlay_add(rule);
}

static void tt_order_del(struct tt_rule *rule)
{
	rb_erase(&rule->node, &tt_order);
	tt_nlive--;
	tt_nout_lports -= tt_rule_out_lports(rule);
	tt_overlay_del(rule);
}

/* The table takes over the caller's reference. */
void tt_rules_insert(struct tt_rule *rule)
{
	lockdep_assert_held(&tt_cfg_mutex);
	tt_order_add(rule);
	tt_rules_changed();
}

/* Swap a live rule for its new version: readers see one or the other. */
void tt_rules_replace(struct tt_rule *old, struct tt_rule *new)
{
	lockdep_assert_held(&tt_cfg_mutex);
	tt_order_del(old);
	tt_order_add(new);
	tt_rules_changed();
	tt_rule_put(old);
}

void tt_rules_remove(struct tt_rule *rule)
{
	lockdep_assert_held(&tt_cfg_mutex);
	tt_order_del(rule);
	tt_rules_changed();
	tt_rule_put(rule);
}

/* Any context; no RCU needed: the pointer is only compared. */
bool tt_rules_empty(void)
{
	return !rcu_access_pointer(tt_table);
}

/*
 * sysfs "hold": changes made from now on are staged, not published,
 * until tt_rules_commit() or @secs from now (writing again moves the
 * deadline). Returns 0.
 */
int tt_rules_hold(u32 secs)
{
	mutex_lock(&tt_cfg_mutex);
	tt_held = true;
	tt_hold_until = jiffies + secs * HZ;
	mod_delayed_work(tt_wq, &tt_hold_work, secs * HZ);
	mutex_unlock(&tt_cfg_mutex);
	return 0;
}

/* sysfs "commit": publish what the hold staged; -ENOENT if none is on. */
int tt_rules_commit(void)
{
	int err = 0;

	mutex_lock(&tt_cfg_mutex);
	if (!tt_held) {
		err = -ENOENT;
	} else {
		tt_held = false;
		/* not _sync: the work takes the mutex; it finds no hold */
		cancel_delayed_work(&tt_hold_work);
		if (tt_dirty)
			tt_table_publish();
	}
	mutex_unlock(&tt_cfg_mutex);
	return err;
}

/* Seconds left of the hold, rounded up; 0: none is on. */
u32 tt_rules_hold_left(void)
{
	long left;
	u32 ret = 0;

	mutex_lock(&tt_cfg_mutex);
	if (tt_held) {
		left = (long)(tt_hold_until - jiffies);
		ret = left > 0 ? DIV_ROUND_UP(left, HZ) : 1;
	}
	mutex_unlock(&tt_cfg_mutex);
	return ret;
}

/* A hold ran out: its writer is gone or too slow. Publish what it staged. */
static void tt_hold_expired(struct work_struct *work)
{
	mutex_lock(&tt_cfg_mutex);
	if (tt_held && !time_before(jiffies, tt_hold_until)) {
		tt_held = false;
		pr_warn("hold ran out without commit: publishing the staged rule changes\n");
		if (tt_dirty)
			tt_table_publish();
	}
	mutex_unlock(&tt_cfg_mutex);
}

/*
 * After a burst of writes: a new base for the rules of tt_order, published
 * with an empty overlay. Also retries a publish that had no memory.
 */
static void tt_rebuild_fn(struct work_struct *work)
{
	mutex_lock(&tt_cfg_mutex);
	tt_rebuild_pending = false;
	if (!tt_held && (tt_dirty || tt_nwadd || tt_nwrm || tt_wlost ||
			 (tt_wbase && tt_wbase->n != tt_nlive))) {
		tt_wlost = true;
		tt_table_publish();
	}
	mutex_unlock(&tt_cfg_mutex);
}

/*
 * The probe's view of one rule: the shared selectors, then what only the
 * kernel knows (network namespace, cgroup).
 */
enum tt_verdict tt_rule_eval(const struct tt_rule *rule,
			     const struct tt_tuple *t, const struct sock *sk)
{
	enum tt_verdict v = tt_sel_match(&rule->cfg.sel, t);

	if (v == TT_NOMATCH)
		return v;
	if (rule->cfg.ns && !tt_netns_match(rule->cfg.ns, sock_net(sk)))
		return TT_NOMATCH;
	if (rule->cfg.cgroup_path &&
	    (!rule->cgrp || !tt_sk_under_cgroup(sk, rule->cgrp)))
		return TT_NOMATCH;
	return v;
}

/*
 * Would @rule, which does not match a connection, have answered
 * TT_NEED_LPORT for it at connect(), without the local port (@tu: the
 * connection's tuple, lport_known false)? Caller holds RCU.
 */
bool tt_rule_waits_lport(const struct tt_rule *rule,
			 const struct tt_tuple *tu, const struct sock *sk)
{
	return rule->cfg.sel.n_lports &&
	       tt_rule_eval(rule, tu, sk) == TT_NEED_LPORT;
}

/*
 * Could a rule's decision at connect() have waited for the local port?
 * Only if some outgoing rule selects local ports. Caller holds RCU.
 */
bool tt_rules_may_defer(void)
{
	const struct tt_table *t = rcu_dereference(tt_table);

	return t && t->out_lports;
}

/*
 * First rule, in evaluation order, that matches @t (or might, once the
 * local port is known: *verdict == TT_NEED_LPORT), in the one table
 * published now: the best of the base's index (less the rules no longer
 * live) and the overlay's first match. With @defer, also the first rule
 * before it that waited for the local port (tt_index_lookup()). Caller
 * holds RCU; any context.
 */
static const struct tt_rule *tt_lookup(const struct tt_tuple *t,
				       const struct sock *sk,
				       enum tt_verdict *verdict,
				       const struct tt_rule **defer)
{
	const struct tt_table *tab = rcu_dereference(tt_table);
	const struct tt_rule *best = NULL, *r;
	struct tt_tuple tu;
	enum tt_verdict v;
	u32 i;

	*verdict = TT_NOMATCH;
	if (defer)
		*defer = NULL;
	if (!tab)
		return NULL;
	if (defer) {
		tu = *t;
		tu.lport_known = false;
	}
	if (tab->base)
		best = tt_index_lookup(tab->base->index, t, sk, tab->rm,
				       tab->nrm, verdict, &tu, defer, NULL);
	for (i = 0; i < tab->nadd; i++) {
		r = tab->add[i];
		if (best && tt_rule_order(r, best) > 0)
			break;
		v = tt_rule_eval(r, t, sk);
		if (v != TT_NOMATCH) {
			*verdict = v;
			best = r;
			break;
		}
		if (defer && (!*defer || tt_rule_order(r, *defer) < 0) &&
		    tt_rule_waits_lport(r, &tu, sk))
			*defer = r;
	}
	if (defer && *defer && best && tt_rule_order(*defer, best) > 0)
		*defer = NULL;
	return best;
}

const struct tt_rule *tt_rules_lookup(const struct tt_tuple *t,
				      const struct sock *sk,
				      enum tt_verdict *verdict)
{
	return tt_lookup(t, sk, verdict, NULL);
}

/*
 * connect() of an unbound socket (@t without its local port): what
 * tt_rules_lookup() finds, and in @w what the decision, if it waits for
 * the port, needs to be finished without a second full lookup once the
 * connection is established: the first rule that matches (rules that wait
 * are passed over) and the rules before it that wait (tt_index_lookup()).
 * w->gen is 0 when no outgoing rule selects local ports: nothing can
 * wait. Caller holds RCU; any context.
 */
const struct tt_rule *tt_rules_lookup_unbound(const struct tt_tuple *t,
					      const struct sock *sk,
					      enum tt_verdict *verdict,
					      struct tt_waits *w)
{
	const struct tt_table *tab = rcu_dereference(tt_table);
	const struct tt_rule *match = NULL, *r;
	enum tt_verdict v;
	u32 i;

	memset(w, 0, sizeof(*w));
	if (!tab || !tab->out_lports)
		return tt_lookup(t, sk, verdict, NULL);
	w->gen = tab->gen;
	if (tab->base)
		match = tt_index_lookup(tab->base->index, t, sk, tab->rm,
					tab->nrm, &v, NULL, NULL, w);
	for (i = 0; i < tab->nadd; i++) {
		r = tab->add[i];
		if (match && tt_rule_order(r, match) > 0)
			break;
		v = tt_rule_eval(r, t, sk);
		if (v == TT_MATCH) {
			match = r;
			break;
		}
		if (v == TT_NEED_LPORT &&
		    (!w->wait || tt_rule_order(r, w->wait) < 0))
			w->wait = r;
	}
	/* an overlay rule matched before some of the base's: drop those */
	while (w->n && match && tt_rule_order(w->rule[w->n - 1], match) > 0) {
		w->n--;
		w->more = false;
	}
	if (w->wait && match && tt_rule_order(w->wait, match) > 0)
		w->wait = NULL;
	w->match = match;
	w->deferred = !!w->wait;
	*verdict = w->deferred ? TT_NEED_LPORT : match ? TT_MATCH : TT_NOMATCH;
	return w->deferred ? w->wait : match;
}

/*
 * The first of the @n rules @rules, in evaluation order, that matches @t,
 * into *@best if it ranks before it. Returns how many were tried: @n
 * when none matched and none ranked after *@best.
 */
static u32 tt_first_match(const struct tt_rule *const *rules, u32 n,
			  const struct tt_tuple *t, const struct sock *sk,
			  const struct tt_rule **best)
{
	u32 i;

	for (i = 0; i < n; i++) {
		if (*best && tt_rule_order(rules[i], *best) > 0)
			break;
		if (tt_rule_eval(rules[i], t, sk) == TT_MATCH) {
			*best = rules[i];
			break;
		}
	}
	return i;
}

/*
 * Finish connect()'s decision @w, which waited for the local port, in the
 * table it was made in, @tab, for @t with the port. The result is the
 * first rule that matches @t. Before @w->match, only a rule that waited
 * can: one that does not select local ports matches @t as it matched
 * without them, so it would be @w->match. Those that waited are the rules
 * filed under nothing but their local ports, the indexed ones @w lists,
 * and the overlay's. NULL with *done false: @w lists too few (w->more),
 * look the connection up in full.
 */
static const struct tt_rule *tt_rules_finish(const struct tt_table *tab,
					     const struct tt_tuple *t,
					     const struct sock *sk,
					     const struct tt_waits *w,
					     bool *done)
{
	const struct tt_rule *best = w->match, *r;

	*done = true;
	if (tab->base) {
		r = tt_index_lookup_lports(tab->base->index, t, sk, tab->rm,
					   tab->nrm);
		if (r && (!best || tt_rule_order(r, best) < 0))
			best = r;
	}
	/* the rules past the list rank after its last one */
	if (tt_first_match(w->rule, w->n, t, sk, &best) == w->n && w->more &&
	    (!best || tt_rule_order(w->rule[w->n - 1], best) < 0)) {
		*done = false;
		return NULL;
	}
	tt_first_match((const struct tt_rule *const *)tab->add, tab->nadd, t,
		       sk, &best);
	return best;
}

/*
 * An outgoing connection just established (@t with its local port):
 * the rule that matches it, and in *deferred whether connect()'s lookup,
 * without the local port, answered TT_NEED_LPORT, i.e. stamped nothing
 * and left the decision to now. That is so if the first rule that
 * could match without the port selects local ports: the result itself,
 * or a rule before it that the port rules out. One pass where a replay
 * of connect()'s lookup and a second lookup took two. Caller holds RCU.
 */
const struct tt_rule *tt_rules_lookup_connected(const struct tt_tuple *t,
						const struct sock *sk,
						const struct tt_waits *w,
						bool *deferred)
{
	const struct tt_table *tab = rcu_dereference(tt_table);
	const struct tt_rule *rule, *defer;
	enum tt_verdict v;
	bool done;

	/* connect() kept its decision (pending.c), in the table live now */
	if (w && tab && w->gen == tab->gen) {
		*deferred = w->deferred;
		if (!w->deferred)
			return NULL;
		rule = tt_rules_finish(tab, t, sk, w, &done);
		if (done) {
			tt_pend_count(true);
			return rule;
		}
	}
	tt_pend_count(false);
	rule = tt_lookup(t, sk, &v, &defer);
	*deferred = defer || (rule && rule->cfg.sel.n_lports);
	return rule;
}

static size_t tt_rule_line(char *buf, size_t size, const struct tt_rule *rule)
{
	const struct tt_rule_cfg *cfg = &rule->cfg;

	return tt_format_rule(buf, size, cfg->name, cfg->priority, &cfg->sel,
			      cfg->cgroup_path, cfg->netns, &cfg->opts);
}

/* The live rules of @t in evaluation order into @out (t->n of them). */
static void tt_table_rules(const struct tt_table *t,
			   const struct tt_rule **out)
{
	u32 nb = t->base ? t->base->n : 0, b = 0, a = 0, rm = 0, n = 0;
	struct tt_rule *const *base = t->base ? t->base->rules : NULL;

	while (b < nb || a < t->nadd) {
		if (b < nb && rm < t->nrm && t->rm[rm] == b) {
			b++;
			rm++;
		} else if (b < nb && (a == t->nadd ||
				      tt_rule_order(base[b], t->add[a]) < 0)) {
			out[n++] = base[b++];
		} else {
			out[n++] = t->add[a++];
		}
	}
	WARN_ON_ONCE(n != t->n);
}

static int tt_text_render(void)
{
	const struct tt_rule **rules = NULL;
	const struct tt_table *t;
	size_t len = 0, n;
	char *text;
	u32 i, cnt;

	t = rcu_dereference_protected(tt_table, lockdep_is_held(&tt_cfg_mutex));
	cnt = t ? t->n : 0;
	if (cnt) {
		rules = kvmalloc_array(cnt, sizeof(*rules), GFP_KERNEL);
		if (!rules)
			return -ENOMEM;
		tt_table_rules(t, rules);
	}
	for (i = 0; i < cnt; i++)
		len += tt_rule_line(NULL, 0, rules[i]) + 1;
	text = kvmalloc(len + 1, GFP_KERNEL);
	if (!text) {
		kvfree(rules);
		return -ENOMEM;
	}
	len = 0;
	for (i = 0; i < cnt; i++) {
		n = tt_rule_line(text + len, SIZE_MAX - len, rules[i]);
		len += n;
		text[len++] = '\n';
	}
	kvfree(rules);
	kvfree(tt_text);
	tt_text = text;
	tt_text_len = len;
	tt_text_gen = tt_pub_gen;
	return 0;
}

/* The sysfs "rules" file: the published table in evaluation order. */
ssize_t tt_rules_read(char *buf, loff_t off, size_t count)
{
	ssize_t ret = 0;

	mutex_lock(&tt_cfg_mutex);
	if (tt_text_gen != tt_pub_gen)
		ret = tt_text_render();
	if (!ret && off < tt_text_len) {
		ret = min_t(size_t, count, tt_text_len - off);
		memcpy(buf, tt_text + off, ret);
	}
	mutex_unlock(&tt_cfg_mutex);
	return ret;
}

/*
 * debugfs tcptimeo/index: the probe's index, for tests and for the curious
 * (not ABI). "current 1" once the base holds every live rule (an empty
 * overlay).
 */
static int tt_index_debug_show(struct seq_file *m, void *v)
{
	const struct tt_table *t;

	rcu_read_lock();
	t = rcu_dereference(tt_table);
	seq_printf(m, "current %d\n", !t || (!t->nadd && !t->nrm));
	tt_pend_show(m);
	if (t) {
		seq_printf(m, "out_local_ports %d\noverlay_added %u\noverlay_removed %u\n",
			   t->out_lports, t->nadd, t->nrm);
		if (t->base)
			tt_index_show(m, t->base->index);
	}
	rcu_read_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tt_index_debug);

/*
 * debugfs tcptimeo/lookup_bench, for bench/ (not ABI): writing "FD COUNT"
 * runs the rule lookup COUNT times for the writer's TCP socket FD, its
 * direction as the hook decides it, and a read says how long one lookup
 * took on average: the lookup's own cost, without a tracer's and without
 * the rest of a connection. Process context: RCU is held per batch of
 * TT_BENCH_BATCH lookups, with cond_resched() between batches; the file
 * reference keeps the socket, whose fields are read as the hook does.
 */
#define TT_BENCH_MAX		10000000
#define TT_BENCH_BATCH		256

static DEFINE_MUTEX(tt_bench_mutex);
static char tt_bench_out[96 + TCPTIMEO_NAME_MAX];

static int tt_bench_run(struct socket *sock, u32 count)
{
	struct sock *sk = sock->sk;
	const struct tt_rule *rule = NULL;
	enum tt_verdict verdict = TT_NOMATCH;
	char name[TCPTIMEO_NAME_MAX + 1] = "-";
	struct tt_tuple t;
	u64 ns = 0, t0;
	u32 done = 0, i;

	if (!sk || sk->sk_protocol != IPPROTO_TCP ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6))
		return -EPROTONOSUPPORT;
	while (done < count) {
		rcu_read_lock();
		tt_tuple_fill(&t, sk, tt_sk_passive(sk));
		t0 = local_clock();
		for (i = 0; i < TT_BENCH_BATCH && done < count; i++, done++)
			rule = tt_rules_lookup(&t, sk, &verdict);
		ns += local_clock() - t0;
		if (done == count && rule)
			strscpy(name, rule->cfg.name, sizeof(name));
		rcu_read_unlock();
		cond_resched();
	}
	scnprintf(tt_bench_out, sizeof(tt_bench_out),
		  "lookups %u ns %llu ns_per_lookup %llu rule %s verdict %d\n",
		  count, ns, div_u64(ns, count), name, verdict);
	return 0;
}

static ssize_t tt_bench_write(struct file *file, const char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	struct socket *sock;
	char buf[32];
	int fd, err;
	u32 count;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%d %u", &fd, &count) != 2 || !count ||
	    count > TT_BENCH_MAX)
		return -EINVAL;
	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return err;
	mutex_lock(&tt_bench_mutex);
	err = tt_bench_run(sock, count);
	mutex_unlock(&tt_bench_mutex);
	sockfd_put(sock);
	return err ? err : len;
}

static ssize_t tt_bench_read(struct file *file, char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&tt_bench_mutex);
	ret = simple_read_from_buffer(ubuf, len, ppos, tt_bench_out,
				      strlen(tt_bench_out));
	mutex_unlock(&tt_bench_mutex);
	return ret;
}

static const struct file_operations tt_bench_fops = {
	.owner = THIS_MODULE,
	.read = tt_bench_read,
	.write = tt_bench_write,
	.llseek = default_llseek,
};

int tt_rules_init(void)
{
	tt_wq = alloc_workqueue("tcptimeo", WQ_UNBOUND, 0);
	if (!tt_wq)
		return -ENOMEM;
	INIT_DELAYED_WORK(&tt_rebuild_work, tt_rebuild_fn);
	INIT_DELAYED_WORK(&tt_hold_work, tt_hold_expired);
	/* Optional: without debugfs these are error pointers, ignored. */
	tt_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("index", 0400, tt_debugfs, NULL, &tt_index_debug_fops);
	debugfs_create_file("lookup_bench", 0600, tt_debugfs, NULL, &tt_bench_fops);
	return 0;
}

/* Called after the probe is gone and every rule was removed. */
void tt_rules_exit(void)
{
	struct tt_table *t;

	debugfs_remove_recursive(tt_debugfs);
	cancel_delayed_work_sync(&tt_hold_work);
	cancel_delayed_work_sync(&tt_rebuild_work);
	t = rcu_dereference_protected(tt_table, true);
	RCU_INIT_POINTER(tt_table, NULL);
	tt_table_put(t);
	tt_base_put(tt_wbase);
	tt_wbase = NULL;
	/* Callbacks may queue table frees; those may queue rule frees. */
	rcu_barrier();
	destroy_workqueue(tt_wq);
	rcu_barrier();
	kvfree(tt_text);
}
