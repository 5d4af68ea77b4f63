// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: the rule table.
 *
 * Writers (configfs stores, under tt_cfg_mutex) keep the live rules in an
 * rbtree ordered by (priority, name) and mirror that order in an RCU
 * list. A change is therefore visible to the next connection as soon as
 * the write returns, costs O(log n) and never waits for a grace period.
 *
 * Scanning that list costs the probe O(n), so the probe normally uses an
 * index instead: an immutable snapshot of the table, bucketed by the port
 * that names a service (the local port of accepted connections, the
 * remote port of connected ones), plus a wildcard list of rules that
 * select no such port or too many. A worker rebuilds the snapshot at most
 * once per TT_REBUILD_DELAY after a burst of writes. Until it has, a
 * generation number tells the probe that the snapshot is stale and the
 * probe walks the list, so correctness never waits for the worker.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/cgroup.h>
#include <linux/hash.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "compat.h"
#include "tcptimeo.h"

#define TT_HASH_BITS		8
#define TT_NBUCKETS		BIT(TT_HASH_BITS)
#define TT_WILD			TT_NBUCKETS	/* bucket number of the wildcard list */
#define TT_SMALL_PORTS		64	/* rules selecting more go to TT_WILD */
#define TT_REBUILD_DELAY	(HZ / 100 ? HZ / 100 : 1)

enum { TT_IDX_IN, TT_IDX_OUT, TT_IDX_DIRS };

struct tt_slot {
	const struct tt_rule *rule;
	u32 rank;			/* position in evaluation order */
};

/* Bucket b of direction d is slots[start[d][b] .. start[d][b + 1]). */
struct tt_index {
	unsigned long gen;
	struct rcu_work free_work;
	u32 nrules;
	struct tt_rule **rules;		/* one reference on each */
	struct tt_slot *slots;
	u32 start[TT_IDX_DIRS][TT_NBUCKETS + 2];
};

struct workqueue_struct *tt_wq;

static LIST_HEAD(tt_live_rules);	/* RCU readers; written under tt_cfg_mutex */
static struct rb_root tt_order = RB_ROOT;
static unsigned long tt_gen;		/* bumped after each change of tt_live_rules */
static struct tt_index __rcu *tt_index;
static struct delayed_work tt_rebuild_work;

/* Cached text of the sysfs "rules" file, rendered when tt_gen moves. */
static char *tt_text;
static size_t tt_text_len;
static unsigned long tt_text_gen = ~0UL;

void tt_counter_put(struct tt_counter *ctr)
{
	if (refcount_dec_and_test(&ctr->ref))
		kfree(ctr);
}

void tt_cfg_free(struct tt_rule_cfg *cfg)
{
	kfree(cfg->cgroup_path);
	cfg->cgroup_path = NULL;
}

int tt_cfg_copy(struct tt_rule_cfg *dst, const struct tt_rule_cfg *src)
{
	*dst = *src;
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
	kfree(rule->cfg.cgroup_path);
	kfree(rule);
}

/* Softirq context: everything freed here may be freed from there. */
static void tt_rule_free_rcu(struct rcu_head *head)
{
	tt_rule_free(container_of(head, struct tt_rule, rcu));
}

void tt_rule_put(struct tt_rule *rule)
{
	/* Readers may still walk the list or an old index: defer. */
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
		if (IS_ERR(cgrp)) {
			err = PTR_ERR(cgrp);
			goto fail;
		}
		rule->cgrp = cgrp;
	}
	refcount_set(&rule->ref, 1);
	INIT_LIST_HEAD(&rule->live);
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
	struct rb_node **p = &tt_order.rb_node, *parent = NULL, *next;

	while (*p) {
		parent = *p;
		if (tt_rule_order(rule, rb_entry(parent, struct tt_rule, node)) < 0)
			p = &parent->rb_left;
		else
			p = &parent->rb_right;
	}
	rb_link_node(&rule->node, parent, p);
	rb_insert_color(&rule->node, &tt_order);

	next = rb_next(&rule->node);
	if (next)
		list_add_tail_rcu(&rule->live,
				  &rb_entry(next, struct tt_rule, node)->live);
	else
		list_add_tail_rcu(&rule->live, &tt_live_rules);
}

static void tt_order_erase(struct tt_rule *rule)
{
	rb_erase(&rule->node, &tt_order);
	list_del_rcu(&rule->live);
}

static void tt_rules_changed(void)
{
	/* Pairs with smp_load_acquire() in tt_rules_lookup(). */
	smp_store_release(&tt_gen, tt_gen + 1);
	queue_delayed_work(tt_wq, &tt_rebuild_work, TT_REBUILD_DELAY);
}

/* The table takes over the caller's reference. */
void tt_rules_insert(struct tt_rule *rule)
{
	lockdep_assert_held(&tt_cfg_mutex);
	tt_order_insert(rule);
	tt_rules_changed();
}

/*
 * Swap a live rule for its new version. Readers see one or the other;
 * when the position changes, the new one is linked before the old one
 * goes, so a reader never misses both.
 */
void tt_rules_replace(struct tt_rule *old, struct tt_rule *new)
{
	lockdep_assert_held(&tt_cfg_mutex);
	if (!tt_rule_order(old, new)) {
		rb_replace_node(&old->node, &new->node, &tt_order);
		list_replace_rcu(&old->live, &new->live);
	} else {
		tt_order_insert(new);
		tt_order_erase(old);
	}
	tt_rules_changed();
	tt_rule_put(old);
}

void tt_rules_remove(struct tt_rule *rule)
{
	lockdep_assert_held(&tt_cfg_mutex);
	tt_order_erase(rule);
	tt_rules_changed();
	tt_rule_put(rule);
}

bool tt_rules_empty(void)
{
	return list_empty(&tt_live_rules);
}

static u32 tt_bucket(u16 port)
{
	return hash_32(port, TT_HASH_BITS);
}

/*
 * Mark in @seen the buckets of direction @d that @rule belongs in;
 * false if it is not in that direction at all.
 */
static bool tt_rule_buckets(const struct tt_rule *rule, int d,
			    unsigned long *seen)
{
	const struct tt_sel *s = &rule->cfg.sel;
	const struct tt_port_range *r = d == TT_IDX_IN ? s->lports : s->rports;
	u8 n = d == TT_IDX_IN ? s->n_lports : s->n_rports;
	u32 total = 0, port;
	u8 i;

	bitmap_zero(seen, TT_NBUCKETS + 1);
	if (!(s->dir & (d == TT_IDX_IN ? TCPTIMEO_DIR_IN : TCPTIMEO_DIR_OUT)))
		return false;
	for (i = 0; i < n; i++)
		total += r[i].hi - r[i].lo + 1;
	if (!n || total > TT_SMALL_PORTS) {
		__set_bit(TT_WILD, seen);
		return true;
	}
	for (i = 0; i < n; i++)
		for (port = r[i].lo; port <= r[i].hi; port++)
			__set_bit(tt_bucket(port), seen);
	return true;
}

static void tt_index_free(struct tt_index *idx)
{
	u32 i;

	for (i = 0; i < idx->nrules; i++)
		tt_rule_put(idx->rules[i]);
	kvfree(idx->rules);
	kvfree(idx->slots);
	kfree(idx);
}

static void tt_index_free_fn(struct work_struct *work)
{
	tt_index_free(container_of(to_rcu_work(work), struct tt_index,
				   free_work));
}

/* Two passes over the ordered tree: count per bucket, then fill. */
static struct tt_index *tt_index_build(void)
{
	DECLARE_BITMAP(seen, TT_NBUCKETS + 1);
	u32 (*fill)[TT_NBUCKETS + 1];
	struct tt_index *idx;
	struct tt_rule *rule;
	struct rb_node *node;
	u32 n = 0, total = 0, rank, pos, b;
	int d;

	idx = kzalloc(sizeof(*idx), GFP_KERNEL);
	fill = kcalloc(TT_IDX_DIRS, sizeof(*fill), GFP_KERNEL);
	if (!idx || !fill)
		goto fail;
	for (node = rb_first(&tt_order); node; node = rb_next(node), n++) {
		rule = rb_entry(node, struct tt_rule, node);
		for (d = 0; d < TT_IDX_DIRS; d++) {
			if (!tt_rule_buckets(rule, d, seen))
				continue;
			for_each_set_bit(b, seen, TT_NBUCKETS + 1)
				fill[d][b]++;
		}
	}
	for (d = 0; d < TT_IDX_DIRS; d++) {
		for (b = 0; b <= TT_NBUCKETS; b++) {
			idx->start[d][b] = total;
			total += fill[d][b];
			fill[d][b] = idx->start[d][b];
		}
		idx->start[d][TT_NBUCKETS + 1] = total;
	}
	idx->rules = kvmalloc_array(n ? n : 1, sizeof(*idx->rules), GFP_KERNEL);
	idx->slots = kvmalloc_array(total ? total : 1, sizeof(*idx->slots),
				    GFP_KERNEL);
	if (!idx->rules || !idx->slots)
		goto fail;

	rank = 0;
	for (node = rb_first(&tt_order); node; node = rb_next(node), rank++) {
		rule = rb_entry(node, struct tt_rule, node);
		refcount_inc(&rule->ref);
		idx->rules[idx->nrules++] = rule;
		for (d = 0; d < TT_IDX_DIRS; d++) {
			if (!tt_rule_buckets(rule, d, seen))
				continue;
			for_each_set_bit(b, seen, TT_NBUCKETS + 1) {
				pos = fill[d][b]++;
				idx->slots[pos].rule = rule;
				idx->slots[pos].rank = rank;
			}
		}
	}
	idx->gen = tt_gen;
	INIT_RCU_WORK(&idx->free_work, tt_index_free_fn);
	kfree(fill);
	return idx;
fail:
	kfree(fill);
	if (idx)
		tt_index_free(idx);
	return NULL;
}

static void tt_rebuild_fn(struct work_struct *work)
{
	struct tt_index *old, *idx;

	mutex_lock(&tt_cfg_mutex);
	old = rcu_dereference_protected(tt_index,
					lockdep_is_held(&tt_cfg_mutex));
	if (old && old->gen == tt_gen)
		goto out;
	idx = tt_index_build();
	if (!idx) {
		/* The list still serves every lookup; try again later. */
		queue_delayed_work(tt_wq, &tt_rebuild_work, HZ);
		goto out;
	}
	rcu_assign_pointer(tt_index, idx);
	if (old)
		queue_rcu_work(tt_wq, &old->free_work);
out:
	mutex_unlock(&tt_cfg_mutex);
}

/*
 * The probe's view of one rule: the shared selectors, then what only the
 * kernel knows (network namespace, cgroup).
 */
static enum tt_verdict tt_rule_eval(const struct tt_rule *rule,
				    const struct tt_tuple *t,
				    const struct sock *sk)
{
	enum tt_verdict v = tt_sel_match(&rule->cfg.sel, t);

	if (v == TT_NOMATCH)
		return v;
	if (rule->cfg.netns && sock_net(sk)->ns.inum != rule->cfg.netns)
		return TT_NOMATCH;
	if (rule->cgrp && !tt_sk_under_cgroup(sk, rule->cgrp))
		return TT_NOMATCH;
	return v;
}

static const struct tt_rule *tt_index_lookup(const struct tt_index *idx,
					     const struct tt_tuple *t,
					     const struct sock *sk,
					     enum tt_verdict *verdict)
{
	int d = t->dir == TCPTIMEO_DIR_IN ? TT_IDX_IN : TT_IDX_OUT;
	u32 b = tt_bucket(d == TT_IDX_IN ? t->lport : t->rport);
	const struct tt_slot *s, *end, *best = NULL;
	enum tt_verdict v;

	/* First match in the port's bucket ... */
	end = idx->slots + idx->start[d][b + 1];
	for (s = idx->slots + idx->start[d][b]; s < end; s++) {
		v = tt_rule_eval(s->rule, t, sk);
		if (v != TT_NOMATCH) {
			best = s;
			*verdict = v;
			break;
		}
	}
	/* ... unless a wildcard rule comes earlier in the order. */
	end = idx->slots + idx->start[d][TT_WILD + 1];
	for (s = idx->slots + idx->start[d][TT_WILD];
	     s < end && (!best || s->rank < best->rank); s++) {
		v = tt_rule_eval(s->rule, t, sk);
		if (v != TT_NOMATCH) {
			best = s;
			*verdict = v;
			break;
		}
	}
	return best ? best->rule : NULL;
}

/*
 * First rule, in evaluation order, that matches @t (or might, once the
 * local port is known: *verdict == TT_NEED_LPORT). Caller holds RCU.
 */
const struct tt_rule *tt_rules_lookup(const struct tt_tuple *t,
				      const struct sock *sk,
				      enum tt_verdict *verdict)
{
	/* Pairs with smp_store_release() in tt_rules_changed(). */
	unsigned long gen = smp_load_acquire(&tt_gen);
	const struct tt_index *idx = rcu_dereference(tt_index);
	const struct tt_rule *rule;

	*verdict = TT_NOMATCH;
	if (likely(idx && idx->gen == gen))
		return tt_index_lookup(idx, t, sk, verdict);

	list_for_each_entry_rcu(rule, &tt_live_rules, live) {
		*verdict = tt_rule_eval(rule, t, sk);
		if (*verdict != TT_NOMATCH)
			return rule;
	}
	return NULL;
}

static size_t tt_rule_line(char *buf, size_t size, const struct tt_rule *rule)
{
	const struct tt_rule_cfg *cfg = &rule->cfg;

	return tt_format_rule(buf, size, cfg->name, cfg->priority, &cfg->sel,
			      cfg->cgroup_path, cfg->netns, &cfg->opts);
}

static int tt_text_render(void)
{
	struct rb_node *node;
	size_t len = 0, n;
	char *text;

	for (node = rb_first(&tt_order); node; node = rb_next(node))
		len += tt_rule_line(NULL, 0, rb_entry(node, struct tt_rule,
						       node)) + 1;
	text = kvmalloc(len + 1, GFP_KERNEL);
	if (!text)
		return -ENOMEM;
	len = 0;
	for (node = rb_first(&tt_order); node; node = rb_next(node)) {
		n = tt_rule_line(text + len, SIZE_MAX - len,
				 rb_entry(node, struct tt_rule, node));
		len += n;
		text[len++] = '\n';
	}
	kvfree(tt_text);
	tt_text = text;
	tt_text_len = len;
	tt_text_gen = tt_gen;
	return 0;
}

/* The sysfs "rules" file: the live table in evaluation order. */
ssize_t tt_rules_read(char *buf, loff_t off, size_t count)
{
	ssize_t ret = 0;

	mutex_lock(&tt_cfg_mutex);
	if (tt_text_gen != tt_gen)
		ret = tt_text_render();
	if (!ret && off < tt_text_len) {
		ret = min_t(size_t, count, tt_text_len - off);
		memcpy(buf, tt_text + off, ret);
	}
	mutex_unlock(&tt_cfg_mutex);
	return ret;
}

int tt_rules_init(void)
{
	tt_wq = alloc_workqueue("tcptimeo", WQ_UNBOUND, 0);
	if (!tt_wq)
		return -ENOMEM;
	INIT_DELAYED_WORK(&tt_rebuild_work, tt_rebuild_fn);
	return 0;
}

/* Called after the probe is gone and every rule was removed. */
void tt_rules_exit(void)
{
	struct tt_index *idx;

	cancel_delayed_work_sync(&tt_rebuild_work);
	idx = rcu_dereference_protected(tt_index, true);
	RCU_INIT_POINTER(tt_index, NULL);
	if (idx)
		tt_index_free(idx);
	/* Callbacks may queue index frees; those may queue rule frees. */
	rcu_barrier();
	destroy_workqueue(tt_wq);
	rcu_barrier();
	kvfree(tt_text);
}
