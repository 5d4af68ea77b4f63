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
 * index instead: an immutable snapshot of the table, with a slot per
 * (rule, port) for the port that names a service (the local port of
 * accepted connections, the remote port of connected ones) in a hash
 * table sized to the slots, plus a wildcard list of rules that select no
 * such port or too many. A lookup evaluates only the rules of its exact
 * port and the wildcard rules before them. A worker rebuilds the snapshot
 * once after a burst of writes (at least every TT_REBUILD_MAX_WAIT),
 * without holding up writers. Until it has, a generation number tells
 * the probe that the snapshot is stale and the probe walks the list, so
 * correctness never waits for the worker.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cgroup.h>
#include <linux/debugfs.h>
#include <linux/hash.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "compat.h"
#include "tcptimeo.h"

#define TT_MIN_HASH_BITS	8
#define TT_MAX_HASH_BITS	16
#define TT_SMALL_PORTS		64	/* rules selecting more are wildcards */
#define TT_ANY_PORT		U32_MAX	/* a wildcard slot's port */
/* A burst of writes is indexed once, TT_REBUILD_DELAY after its last
 * write, but the index is never more than TT_REBUILD_MAX_WAIT behind.
 */
#define TT_REBUILD_DELAY	(HZ / 20 ? HZ / 20 : 1)
#define TT_REBUILD_MAX_WAIT	HZ

enum { TT_IDX_IN, TT_IDX_OUT, TT_IDX_DIRS };

struct tt_slot {
	const struct tt_rule *rule;
	u32 port;			/* the port it indexes, or TT_ANY_PORT */
	u32 rank;			/* position in evaluation order */
};

struct tt_index {
	unsigned long gen;
	struct rcu_work free_work;
	u32 nrules;
	u8 bits;			/* 2^bits port buckets per direction */
	bool out_lports;		/* an outgoing rule selects local ports */
	struct tt_rule **rules;		/* one reference on each */
	struct tt_slot *slots;
	u32 *start;			/* per direction: see tt_start() */
};

struct workqueue_struct *tt_wq;

static LIST_HEAD(tt_live_rules);	/* RCU readers; written under tt_cfg_mutex */
static struct rb_root tt_order = RB_ROOT;
static unsigned long tt_gen;		/* bumped after each change of tt_live_rules */
static u32 tt_nlive;			/* rules in tt_order */
static bool tt_rebuild_pending;		/* a change since the last snapshot */
static unsigned long tt_rebuild_deadline;	/* jiffies, if pending */
static struct tt_index __rcu *tt_index;
static struct delayed_work tt_rebuild_work;
static struct dentry *tt_debugfs;

/* Cached text of the sysfs "rules" file, rendered when tt_gen moves. */
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
	if (!tt_rebuild_pending) {
		tt_rebuild_pending = true;
		tt_rebuild_deadline = jiffies + TT_REBUILD_MAX_WAIT;
	}
	/* Postpone the rebuild while the burst goes on, up to the deadline. */
	if (time_before(jiffies + TT_REBUILD_DELAY, tt_rebuild_deadline))
		mod_delayed_work(tt_wq, &tt_rebuild_work, TT_REBUILD_DELAY);
	else
		queue_delayed_work(tt_wq, &tt_rebuild_work, TT_REBUILD_DELAY);
}

/* The table takes over the caller's reference. */
void tt_rules_insert(struct tt_rule *rule)
{
	lockdep_assert_held(&tt_cfg_mutex);
	tt_order_insert(rule);
	tt_nlive++;
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
	tt_nlive--;
	tt_rules_changed();
	tt_rule_put(rule);
}

bool tt_rules_empty(void)
{
	return list_empty(&tt_live_rules);
}

static u32 tt_bucket(u32 port, u8 bits)
{
	return hash_32(port, bits);
}

/*
 * Direction @d's bucket bounds: bucket b (the wildcard list is bucket
 * 2^bits) is slots[start[b] .. start[b + 1]).
 */
static u32 *tt_start(const struct tt_index *idx, int d)
{
	return idx->start + d * (BIT(idx->bits) + 3);
}

/*
 * The port ranges that index @rule in direction @d, in *@r: their number,
 * 0 if the rule belongs in the wildcard list, -1 if not in @d at all;
 * *@nports: how many ports they hold (the rule's slots), if any.
 */
static int tt_rule_ports(const struct tt_rule *rule, int d,
			 const struct tt_port_range **r, u32 *nports)
{
	const struct tt_sel *s = &rule->cfg.sel;
	u8 n = d == TT_IDX_IN ? s->n_lports : s->n_rports;
	u32 total = 0;
	u8 i;

	if (!(s->dir & (d == TT_IDX_IN ? TCPTIMEO_DIR_IN : TCPTIMEO_DIR_OUT)))
		return -1;
	*r = d == TT_IDX_IN ? s->lports : s->rports;
	for (i = 0; i < n; i++)
		total += (*r)[i].hi - (*r)[i].lo + 1;
	*nports = total;
	return total > TT_SMALL_PORTS ? 0 : n;
}

/*
 * A counting sort in two passes over the rules: the first counts bucket
 * b's slots in start[b + 2]; after the prefix sums start[b + 1] is bucket
 * b's first slot, and the second pass advances it to the bucket's end,
 * which is where bucket b + 1 starts.
 */
static void tt_index_slot(struct tt_index *idx, int d, u32 b, u32 port,
			  u32 rank, const struct tt_rule *rule, bool fill)
{
	u32 *start = tt_start(idx, d);
	struct tt_slot *s;

	if (!fill) {
		start[b + 2]++;
		return;
	}
	s = &idx->slots[start[b + 1]++];
	s->rule = rule;
	s->port = port;
	s->rank = rank;
}

/* One slot per selected port in its bucket, or one wildcard slot. */
static void tt_index_add(struct tt_index *idx, const struct tt_rule *rule,
			 u32 rank, bool fill)
{
	const struct tt_port_range *r;
	u32 nb = BIT(idx->bits), p, nports;
	int d, n, i;

	for (d = 0; d < TT_IDX_DIRS; d++) {
		n = tt_rule_ports(rule, d, &r, &nports);
		if (!n)
			tt_index_slot(idx, d, nb, TT_ANY_PORT, rank, rule, fill);
		for (i = 0; i < n; i++)
			for (p = r[i].lo; p <= r[i].hi; p++)
				tt_index_slot(idx, d, tt_bucket(p, idx->bits),
					      p, rank, rule, fill);
	}
}

static void tt_index_free(struct tt_index *idx)
{
	u32 i;

	for (i = 0; i < idx->nrules; i++)
		tt_rule_put(idx->rules[i]);
	kvfree(idx->rules);
	kvfree(idx->slots);
	kvfree(idx->start);
	kfree(idx);
}

static void tt_index_free_fn(struct work_struct *work)
{
	tt_index_free(container_of(to_rcu_work(work), struct tt_index,
				   free_work));
}

/*
 * Index @n rules, given in evaluation order with a reference on each,
 * which the index takes over (on failure they are put). Runs in the
 * worker without tt_cfg_mutex: compiled rules never change.
 */
static struct tt_index *tt_index_build(struct tt_rule **rules, u32 n,
				       unsigned long gen)
{
	u32 i, b, nb, nports, base = 0, ports[TT_IDX_DIRS] = { 0, 0 };
	const struct tt_port_range *r;
	struct tt_index *idx;
	u32 *start;
	int d;

	idx = kzalloc(sizeof(*idx), GFP_KERNEL);
	if (!idx) {
		for (i = 0; i < n; i++)
			tt_rule_put(rules[i]);
		kvfree(rules);
		return NULL;
	}
	idx->rules = rules;
	idx->nrules = n;
	for (i = 0; i < n; i++) {
		for (d = 0; d < TT_IDX_DIRS; d++)
			if (tt_rule_ports(rules[i], d, &r, &nports) > 0)
				ports[d] += nports;
		if ((rules[i]->cfg.sel.dir & TCPTIMEO_DIR_OUT) &&
		    rules[i]->cfg.sel.n_lports)
			idx->out_lports = true;
	}
	/*
	 * About one exact-port slot per bucket, in 2^8 .. 2^16 buckets
	 * (fls(n - 1) is order_base_2(n) without 7.x's minmax expansion,
	 * which sparse finds too long).
	 */
	nb = ports[0] > ports[1] ? ports[0] : ports[1];
	idx->bits = nb > BIT(TT_MIN_HASH_BITS) ? fls(nb - 1) : TT_MIN_HASH_BITS;
	if (idx->bits > TT_MAX_HASH_BITS)
		idx->bits = TT_MAX_HASH_BITS;
	nb = BIT(idx->bits);
	idx->start = kvcalloc(TT_IDX_DIRS * (nb + 3), sizeof(u32), GFP_KERNEL);
	if (!idx->start)
		goto fail;
	for (i = 0; i < n; i++)
		tt_index_add(idx, rules[i], i, false);
	for (d = 0; d < TT_IDX_DIRS; d++) {
		start = tt_start(idx, d);
		start[0] = base;
		start[1] = base;
		for (b = 2; b < nb + 3; b++)
			start[b] += start[b - 1];
		base = start[nb + 2];
	}
	idx->slots = kvmalloc_array(base ? base : 1, sizeof(*idx->slots),
				    GFP_KERNEL);
	if (!idx->slots)
		goto fail;
	for (i = 0; i < n; i++)
		tt_index_add(idx, rules[i], i, true);
	idx->gen = gen;
	INIT_RCU_WORK(&idx->free_work, tt_index_free_fn);
	return idx;
fail:
	tt_index_free(idx);
	return NULL;
}

/*
 * Snapshot the table under the mutex (a reference per rule: O(n), no
 * allocation per rule), index it without the mutex so that writers are
 * never held up by a build, and publish it if no write came meanwhile;
 * otherwise the write has queued the next rebuild already.
 */
static void tt_rebuild_fn(struct work_struct *work)
{
	struct tt_index *old, *idx;
	struct tt_rule **rules;
	struct rb_node *node;
	unsigned long gen;
	u32 n = 0;

	mutex_lock(&tt_cfg_mutex);
	tt_rebuild_pending = false;
	gen = tt_gen;
	old = rcu_dereference_protected(tt_index,
					lockdep_is_held(&tt_cfg_mutex));
	if (old && old->gen == gen) {
		mutex_unlock(&tt_cfg_mutex);
		return;
	}
	rules = kvmalloc_array(tt_nlive ? tt_nlive : 1, sizeof(*rules),
			       GFP_KERNEL);
	if (rules) {
		for (node = rb_first(&tt_order); node; node = rb_next(node)) {
			rules[n] = rb_entry(node, struct tt_rule, node);
			refcount_inc(&rules[n++]->ref);
		}
	}
	mutex_unlock(&tt_cfg_mutex);

	idx = rules ? tt_index_build(rules, n, gen) : NULL;

	mutex_lock(&tt_cfg_mutex);
	if (!idx) {
		/* The list still serves every lookup; try again later. */
		queue_delayed_work(tt_wq, &tt_rebuild_work, HZ);
	} else if (gen != tt_gen) {
		tt_index_free(idx);	/* never published */
	} else {
		old = rcu_dereference_protected(tt_index,
						lockdep_is_held(&tt_cfg_mutex));
		rcu_assign_pointer(tt_index, idx);
		if (old)
			queue_rcu_work(tt_wq, &old->free_work);
	}
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
	if (rule->cfg.ns && !tt_netns_match(rule->cfg.ns, sock_net(sk)))
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
	u32 port = d == TT_IDX_IN ? t->lport : t->rport;
	const u32 *start = tt_start(idx, d);
	u32 b = tt_bucket(port, idx->bits), wild = BIT(idx->bits);
	const struct tt_slot *s, *end, *best = NULL;
	enum tt_verdict v;

	/* First match among the rules that select this very port ... */
	end = idx->slots + start[b + 1];
	for (s = idx->slots + start[b]; s < end; s++) {
		if (s->port != port)
			continue;
		v = tt_rule_eval(s->rule, t, sk);
		if (v != TT_NOMATCH) {
			best = s;
			*verdict = v;
			break;
		}
	}
	/* ... unless a wildcard rule comes earlier in the order. */
	end = idx->slots + start[wild + 1];
	for (s = idx->slots + start[wild];
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
 * Could a rule's decision at connect() have waited for the local port?
 * Only if some outgoing rule selects local ports; if the index is stale,
 * assume so. Caller holds RCU.
 */
bool tt_rules_may_defer(void)
{
	/* Pairs with smp_store_release() in tt_rules_changed(). */
	unsigned long gen = smp_load_acquire(&tt_gen);
	const struct tt_index *idx = rcu_dereference(tt_index);

	return !idx || idx->gen != gen || idx->out_lports;
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

/*
 * debugfs tcptimeo/index: the probe's index, for tests and for the curious
 * (not ABI). "current 1" once it reflects every write.
 */
static int tt_index_show(struct seq_file *m, void *v)
{
	const struct tt_index *idx;
	unsigned long gen;
	const u32 *start;
	int d;

	/* Pairs with smp_store_release() in tt_rules_changed(). */
	gen = smp_load_acquire(&tt_gen);
	rcu_read_lock();
	idx = rcu_dereference(tt_index);
	seq_printf(m, "current %d\n", idx && idx->gen == gen);
	if (idx) {
		seq_printf(m, "rules %u\nbuckets %lu\nout_local_ports %d\n",
			   idx->nrules, BIT(idx->bits), idx->out_lports);
		for (d = 0; d < TT_IDX_DIRS; d++) {
			start = tt_start(idx, d);
			seq_printf(m, "%s port_slots %u wildcard_slots %u\n",
				   d == TT_IDX_IN ? "in" : "out",
				   start[BIT(idx->bits)] - start[0],
				   start[BIT(idx->bits) + 1] -
				   start[BIT(idx->bits)]);
		}
	}
	rcu_read_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tt_index);

int tt_rules_init(void)
{
	tt_wq = alloc_workqueue("tcptimeo", WQ_UNBOUND, 0);
	if (!tt_wq)
		return -ENOMEM;
	INIT_DELAYED_WORK(&tt_rebuild_work, tt_rebuild_fn);
	/* Optional: without debugfs these are error pointers, ignored. */
	tt_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("index", 0400, tt_debugfs, NULL, &tt_index_fops);
	return 0;
}

/* Called after the probe is gone and every rule was removed. */
void tt_rules_exit(void)
{
	struct tt_index *idx;

	debugfs_remove_recursive(tt_debugfs);
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
