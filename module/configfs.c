// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: rule directories in configfs, /sys/kernel/config/tcptimeo/rules/.
 *
 * Each directory holds a staged configuration. A rule is created disabled;
 * writing 1 to "enabled" compiles it and publishes it in the live table.
 * Every store parses into a copy, compiles the copy when the rule is live,
 * and only then swaps it in: a bad value, a missing cgroup or a failed
 * allocation changes nothing. All of it under tt_cfg_mutex.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/configfs.h>
#include <linux/hashtable.h>
#include <linux/jhash.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "compat.h"
#include "tcptimeo.h"

struct tt_item {
	struct config_item item;
	struct list_head node;		/* tt_items, under tt_cfg_mutex */
	struct tt_rule_cfg cfg;		/* staged; what the files show */
	struct tt_rule *live;		/* compiled copy while enabled */
	struct tt_counter *ctr;
	/* The live rule's cgroup path, watched for mkdir (tt_watch_lock): */
	struct hlist_node watch;	/* in tt_watch while watch_path */
	struct list_head pending;	/* in tt_watch_pending, or empty */
	const char *watch_path;		/* live->cfg.cgroup_path, or NULL */
	u32 watch_hash;
};

static LIST_HEAD(tt_items);
static struct delayed_work tt_cgroup_work;

/*
 * Live rules with a cgroup, by the hash of its path; items whose path was
 * just created, for tt_cgroup_refresh(). Taken with interrupts disabled:
 * the mkdir probe runs under a spinlock that disabled them.
 */
#define TT_WATCH_BITS	10
static DEFINE_HASHTABLE(tt_watch, TT_WATCH_BITS);
static LIST_HEAD(tt_watch_pending);
static DEFINE_SPINLOCK(tt_watch_lock);
static struct tracepoint *tt_mkdir_tp;

static struct tt_item *to_tt_item(struct config_item *ci)
{
	return container_of(ci, struct tt_item, item);
}

static int tt_bad(const struct tt_item *it, const char *field, int err,
		  const char *valid)
{
	const char *what = err == -ERANGE ? "out of range" :
			   err == -EOPNOTSUPP ? "not supported by this kernel" :
			   err != -ENOENT ? "invalid value" :
			   !strcmp(field, "netns") ? "no such network namespace" :
			   "no such cgroup";

	if (err != -ENOMEM)
		pr_info_ratelimited("rule %s: %s: %s; valid: %s\n",
				    it->cfg.name, field, what, valid);
	return err;
}

/*
 * A path's next component and its length; kernfs skips empty ones, so
 * "/a//b/" names the cgroup that the kernel calls "/a/b".
 */
static const char *tt_path_next(const char *p, size_t *len)
{
	while (*p == '/')
		p++;
	*len = strchrnul(p, '/') - p;
	return p;
}

static u32 tt_path_hash(const char *p)
{
	u32 h = 0;
	size_t n;

	for (p = tt_path_next(p, &n); n; p = tt_path_next(p + n, &n))
		h = jhash(p, n, h);
	return h;
}

static bool tt_path_eq(const char *a, const char *b)
{
	size_t m, n;

	a = tt_path_next(a, &m);
	b = tt_path_next(b, &n);
	while (m && m == n && !memcmp(a, b, n)) {
		a = tt_path_next(a + m, &m);
		b = tt_path_next(b + n, &n);
	}
	return !m && !n;
}

static void tt_watch_kick_locked(struct tt_item *it)
{
	lockdep_assert_held(&tt_watch_lock);
	if (list_empty(&it->pending))
		list_add_tail(&it->pending, &tt_watch_pending);
	mod_delayed_work(tt_wq, &tt_cgroup_work, 0);
}

/*
 * Probe on cgroup:cgroup_mkdir: cgroup_mkdir() calls it with cgroup_mutex
 * held and interrupts disabled (trace_cgroup_path_lock), once the new
 * cgroup can be found by its path, which it gets as cgroup_path() gives
 * it: from the hierarchy's root, whatever the caller's cgroup namespace,
 * as rules name cgroups. Only flags the rules that name this path: no
 * sleeping, no allocation, no work for rules that name other paths.
 */
static void tt_cgroup_created(void *data, struct cgroup *cgrp,
			      const char *path)
{
	unsigned long flags;
	struct tt_item *it;
	u32 h;

	if (cgrp->root != &cgrp_dfl_root)
		return;		/* a cgroup v1 hierarchy */
	h = tt_path_hash(path);
	spin_lock_irqsave(&tt_watch_lock, flags);
	hash_for_each_possible(tt_watch, it, watch, h)
		if (it->watch_hash == h && tt_path_eq(it->watch_path, path))
			tt_watch_kick_locked(it);
	spin_unlock_irqrestore(&tt_watch_lock, flags);
}

/*
 * cgroup_destroy_locked() clears CSS_ONLINE on the cgroup's own css on
 * every kernel we support; css_is_dying() looks at CSS_DYING, which 6.12
 * sets only on subsystem states, never on cgrp->self.
 */
static bool tt_cgroup_removed(const struct cgroup *cgrp)
{
	return !(READ_ONCE(cgrp->self.flags) & CSS_ONLINE);
}

/*
 * Does @rule's cgroup exist? False for a path that did not exist when it
 * compiled, or whose cgroup was removed since: either way the rule
 * matches nothing until the path is created (again).
 */
static bool tt_cgroup_present(const struct tt_rule *rule)
{
	return rule->cgrp && !tt_cgroup_removed(rule->cgrp);
}

/*
 * @rule is about to become the item's live rule (NULL: none): watch its
 * cgroup's path instead of the old rule's. Called before the old rule is
 * put, so the probe never compares against a freed path. If the cgroup
 * was removed before the path was watched (while the rule compiled), a
 * mkdir of the path may have been missed: check now. Either the probe
 * finds the path watched, or, taking tt_watch_lock after it, we see the
 * flag that the removal cleared before the mkdir (ordered by
 * cgroup_mutex).
 */
static void tt_watch_set(struct tt_item *it, struct tt_rule *rule)
{
	const char *path = rule ? rule->cfg.cgroup_path : NULL;

	lockdep_assert_held(&tt_cfg_mutex);
	spin_lock_irq(&tt_watch_lock);
	if (it->watch_path) {
		hash_del(&it->watch);
		list_del_init(&it->pending);
	}
	it->watch_path = path;
	if (path) {
		it->watch_hash = tt_path_hash(path);
		hash_add(tt_watch, &it->watch, it->watch_hash);
		if (!tt_cgroup_present(rule))
			tt_watch_kick_locked(it);
	}
	spin_unlock_irq(&tt_watch_lock);
}

/*
 * A rule whose cgroup was removed keeps a pinned, dying cgroup that no new
 * socket can be in; a rule whose cgroup did not exist yet has none. When
 * the path is created (tt_cgroup_created()), recompile it against the new
 * cgroup. Only the rules of created paths
 * are visited, one per hold of tt_cfg_mutex: nothing runs while nothing
 * changes, and a writer waits for at most one rule's compile.
 */
static void tt_cgroup_refresh(struct work_struct *work)
{
	struct tt_rule *rule;
	struct tt_item *it;

	for (;;) {
		mutex_lock(&tt_cfg_mutex);
		spin_lock_irq(&tt_watch_lock);
		it = list_first_entry_or_null(&tt_watch_pending, struct tt_item,
					      pending);
		if (it)
			list_del_init(&it->pending);
		spin_unlock_irq(&tt_watch_lock);
		if (!it) {
			mutex_unlock(&tt_cfg_mutex);
			return;
		}
		/* Still watched (tt_drop_item() unlinks under the mutex). */
		if (it->live && it->live->cfg.cgroup_path &&
		    !tt_cgroup_present(it->live)) {
			rule = tt_rule_compile(&it->cfg, it->ctr);
			if (IS_ERR(rule) && PTR_ERR(rule) == -ENOMEM) {
				spin_lock_irq(&tt_watch_lock);
				list_add_tail(&it->pending, &tt_watch_pending);
				spin_unlock_irq(&tt_watch_lock);
				queue_delayed_work(tt_wq, &tt_cgroup_work, HZ);
				mutex_unlock(&tt_cfg_mutex);
				return;
			}
			if (!IS_ERR(rule) && !tt_cgroup_present(rule)) {
				/*
				 * Not there, or found on its way out: the
				 * next mkdir of the path tells.
				 */
				tt_rule_put(rule);
			} else if (!IS_ERR(rule)) {
				tt_watch_set(it, rule);
				tt_rules_replace(it->live, rule);
				it->live = rule;
			}
		}
		mutex_unlock(&tt_cfg_mutex);
		cond_resched();
	}
}

/* Free what @cfg holds and @keep does not share (a shallow copy's own). */
static void tt_cfg_drop_unshared(struct tt_rule_cfg *cfg,
				 const struct tt_rule_cfg *keep)
{
	if (cfg->cgroup_path != keep->cgroup_path)
		kfree(cfg->cgroup_path);
	if (cfg->ns != keep->ns)
		tt_netns_put(cfg->ns);
}

/* Make @cfg the item's configuration; on success the item owns its strings. */
static int tt_item_commit(struct tt_item *it, struct tt_rule_cfg *cfg)
{
	struct tt_rule *rule;

	lockdep_assert_held(&tt_cfg_mutex);
	if (it->live) {
		rule = tt_rule_compile(cfg, it->ctr);
		if (IS_ERR(rule))
			return PTR_ERR(rule);
		tt_watch_set(it, rule);
		tt_rules_replace(it->live, rule);
		it->live = rule;
	}
	tt_cfg_drop_unshared(&it->cfg, cfg);
	it->cfg = *cfg;
	return 0;
}

typedef int (*tt_parse_fn)(struct tt_rule_cfg *cfg, const void *ctx,
			   const char *s, size_t len);

static ssize_t tt_store(struct config_item *ci, const char *page, size_t len,
			const char *field, const char *valid, tt_parse_fn parse,
			const void *ctx)
{
	struct tt_item *it = to_tt_item(ci);
	struct tt_rule_cfg cfg;
	size_t n;
	int err;

	err = tt_store_input(page, len, &n);
	if (err)
		return err;
	mutex_lock(&tt_cfg_mutex);
	cfg = it->cfg;
	err = parse(&cfg, ctx, page, n);
	if (err) {
		err = tt_bad(it, field, err, valid);
	} else {
		err = tt_item_commit(it, &cfg);
		if (err) {
			tt_cfg_drop_unshared(&cfg, &it->cfg);
			tt_bad(it, field, err, valid);
		}
	}
	mutex_unlock(&tt_cfg_mutex);
	return err ? err : len;
}

typedef ssize_t (*tt_show_fn)(const struct tt_item *it, char *page);

static ssize_t tt_show(struct config_item *ci, char *page, tt_show_fn show)
{
	ssize_t ret;

	mutex_lock(&tt_cfg_mutex);
	ret = show(to_tt_item(ci), page);
	mutex_unlock(&tt_cfg_mutex);
	return ret;
}

/* A numeric attribute of the rule: 0..max, one byte or four. */
struct tt_num {
	size_t off;
	size_t size;
	u32 max;
	const char *valid;
};

static const struct tt_num tt_num_priority = {
	.off = offsetof(struct tt_rule_cfg, priority),
	.size = sizeof_field(struct tt_rule_cfg, priority),
	.max = TCPTIMEO_PRIORITY_MAX,
	.valid = "0..65535",
};

static const struct tt_num tt_num_keepalive = {
	.off = offsetof(struct tt_rule_cfg, opts.keepalive),
	.size = sizeof_field(struct tt_rule_cfg, opts.keepalive),
	.max = 1,
	.valid = "0 (leave alone) or 1 (on)",
};

static const struct tt_num tt_num_audit = {
	.off = offsetof(struct tt_rule_cfg, opts.audit),
	.size = sizeof_field(struct tt_rule_cfg, opts.audit),
	.max = 1,
	.valid = "0 or 1 (match and count, stamp nothing)",
};

static const struct tt_num tt_num_keepidle = {
	.off = offsetof(struct tt_rule_cfg, opts.keepidle),
	.size = sizeof_field(struct tt_rule_cfg, opts.keepidle),
	.max = TCPTIMEO_KEEPIDLE_MAX,
	.valid = "0 (unset) or 1..32767 seconds",
};

static const struct tt_num tt_num_keepintvl = {
	.off = offsetof(struct tt_rule_cfg, opts.keepintvl),
	.size = sizeof_field(struct tt_rule_cfg, opts.keepintvl),
	.max = TCPTIMEO_KEEPINTVL_MAX,
	.valid = "0 (unset) or 1..32767 seconds",
};

static const struct tt_num tt_num_keepcnt = {
	.off = offsetof(struct tt_rule_cfg, opts.keepcnt),
	.size = sizeof_field(struct tt_rule_cfg, opts.keepcnt),
	.max = TCPTIMEO_KEEPCNT_MAX,
	.valid = "0 (unset) or 1..127",
};

static const struct tt_num tt_num_syn_retries = {
	.off = offsetof(struct tt_rule_cfg, opts.syn_retries),
	.size = sizeof_field(struct tt_rule_cfg, opts.syn_retries),
	.max = TCPTIMEO_SYN_RETRIES_MAX,
	.valid = "0 (unset) or 1..127",
};

static ssize_t tt_num_show(struct config_item *ci, char *page,
			   const struct tt_num *num)
{
	const void *p;
	u32 v;

	mutex_lock(&tt_cfg_mutex);
	p = (const char *)&to_tt_item(ci)->cfg + num->off;
	v = num->size == sizeof(u8) ? *(const u8 *)p : *(const u32 *)p;
	mutex_unlock(&tt_cfg_mutex);
	return sprintf(page, "%u\n", v);
}

static int tt_num_parse(struct tt_rule_cfg *cfg, const void *ctx,
			const char *s, size_t len)
{
	const struct tt_num *num = ctx;
	void *p = (char *)cfg + num->off;
	u32 v;
	int err;

	err = tt_parse_u32(s, len, num->max, &v);
	if (err)
		return err;
	if (num->size == sizeof(u8))
		*(u8 *)p = v;
	else
		*(u32 *)p = v;
	return 0;
}

#define TT_NUM_ATTR(attr)						\
static ssize_t tt_rule_##attr##_show(struct config_item *ci, char *page) \
{									\
	return tt_num_show(ci, page, &tt_num_##attr);			\
}									\
static ssize_t tt_rule_##attr##_store(struct config_item *ci,		\
				      const char *page, size_t len)	\
{									\
	return tt_store(ci, page, len, #attr, tt_num_##attr.valid,	\
			tt_num_parse, &tt_num_##attr);			\
}									\
CONFIGFS_ATTR(tt_rule_, attr)

TT_NUM_ATTR(priority);
TT_NUM_ATTR(keepalive);
TT_NUM_ATTR(audit);
TT_NUM_ATTR(keepidle);
TT_NUM_ATTR(keepintvl);
TT_NUM_ATTR(keepcnt);
TT_NUM_ATTR(syn_retries);

/* An attribute with its own parser and printer. */
#define TT_ATTR(attr, valid)						\
static ssize_t tt_rule_##attr##_show(struct config_item *ci, char *page) \
{									\
	return tt_show(ci, page, tt_attr_fmt_##attr);			\
}									\
static ssize_t tt_rule_##attr##_store(struct config_item *ci,		\
				      const char *page, size_t len)	\
{									\
	return tt_store(ci, page, len, #attr, valid,			\
			tt_attr_parse_##attr, NULL);			\
}									\
CONFIGFS_ATTR(tt_rule_, attr)

static int tt_attr_parse_direction(struct tt_rule_cfg *cfg, const void *ctx,
				   const char *s, size_t len)
{
	return tt_parse_dir(s, len, &cfg->sel.dir);
}

static ssize_t tt_attr_fmt_direction(const struct tt_item *it, char *page)
{
	return sprintf(page, "%s\n", tt_dir_name(it->cfg.sel.dir));
}

TT_ATTR(direction, "in, out or any");

static int tt_attr_parse_mode(struct tt_rule_cfg *cfg, const void *ctx,
			      const char *s, size_t len)
{
	return tt_parse_mode(s, len, &cfg->opts.mode);
}

static ssize_t tt_attr_fmt_mode(const struct tt_item *it, char *page)
{
	return sprintf(page, "%s\n", tt_mode_name(it->cfg.opts.mode));
}

TT_ATTR(mode, "fill, force or clamp");

static int tt_attr_parse_local_ports(struct tt_rule_cfg *cfg, const void *ctx,
				     const char *s, size_t len)
{
	return tt_parse_ports(s, len, cfg->sel.lports, &cfg->sel.n_lports);
}

static ssize_t tt_attr_fmt_local_ports(const struct tt_item *it, char *page)
{
	size_t n = tt_format_ports(page, PAGE_SIZE - 1, it->cfg.sel.lports,
				   it->cfg.sel.n_lports);

	page[n] = '\n';
	return n + 1;
}

TT_ATTR(local_ports,
	"empty or up to 16 comma-separated N or N-M, 1 <= N <= M <= 65535");

static int tt_attr_parse_remote_ports(struct tt_rule_cfg *cfg, const void *ctx,
				      const char *s, size_t len)
{
	return tt_parse_ports(s, len, cfg->sel.rports, &cfg->sel.n_rports);
}

static ssize_t tt_attr_fmt_remote_ports(const struct tt_item *it, char *page)
{
	size_t n = tt_format_ports(page, PAGE_SIZE - 1, it->cfg.sel.rports,
				   it->cfg.sel.n_rports);

	page[n] = '\n';
	return n + 1;
}

TT_ATTR(remote_ports,
	"empty or up to 16 comma-separated N or N-M, 1 <= N <= M <= 65535");

static int tt_attr_parse_remote_addrs(struct tt_rule_cfg *cfg, const void *ctx,
				      const char *s, size_t len)
{
	return tt_parse_cidrs(s, len, cfg->sel.addrs, &cfg->sel.n_addrs);
}

static ssize_t tt_attr_fmt_remote_addrs(const struct tt_item *it, char *page)
{
	size_t n = tt_format_cidrs(page, PAGE_SIZE - 1, it->cfg.sel.addrs,
				   it->cfg.sel.n_addrs);

	page[n] = '\n';
	return n + 1;
}

TT_ATTR(remote_addrs,
	"empty or up to 16 comma-separated IPv4/IPv6 CIDRs without host bits");

static int tt_attr_parse_user_timeout(struct tt_rule_cfg *cfg, const void *ctx,
				      const char *s, size_t len)
{
	u32 v;
	int err;

	if (len == 4 && !memcmp(s, "auto", 4)) {
		cfg->opts.user_timeout = TCPTIMEO_USER_TIMEOUT_AUTO;
		return 0;
	}
	err = tt_parse_u32(s, len, TCPTIMEO_USER_TIMEOUT_MAX, &v);
	if (!err)
		cfg->opts.user_timeout = v;
	return err;
}

static ssize_t tt_attr_fmt_user_timeout(const struct tt_item *it, char *page)
{
	if (it->cfg.opts.user_timeout == TCPTIMEO_USER_TIMEOUT_AUTO)
		return sprintf(page, "auto\n");
	return sprintf(page, "%u\n", it->cfg.opts.user_timeout);
}

TT_ATTR(user_timeout, "0 (unset), 1..2147483647 ms or auto");

/* Only 0 on kernels without TCP_RTO_MAX_MS: see tt_rto_max_supported(). */
static int tt_rto_max_refused(u32 ms)
{
	return ms && !tt_rto_max_supported() ? -EOPNOTSUPP : 0;
}

#define TT_RTO_MAX_VALID						\
	(tt_rto_max_supported() ? "0 (unset) or 1000..120000 ms" :	\
	 "0: rto_max needs Linux 6.15 or later (TCP_RTO_MAX_MS)")

static int tt_attr_parse_rto_max(struct tt_rule_cfg *cfg, const void *ctx,
				 const char *s, size_t len)
{
	u32 v;
	int err;

	err = tt_parse_u32(s, len, TCPTIMEO_RTO_MAX_MAX, &v);
	if (!err)
		err = tt_check_rto_max(v);
	if (!err)
		err = tt_rto_max_refused(v);
	if (!err)
		cfg->opts.rto_max = v;
	return err;
}

static ssize_t tt_attr_fmt_rto_max(const struct tt_item *it, char *page)
{
	return sprintf(page, "%u\n", it->cfg.opts.rto_max);
}

TT_ATTR(rto_max, TT_RTO_MAX_VALID);

static int tt_attr_parse_cgroup(struct tt_rule_cfg *cfg, const void *ctx,
				const char *s, size_t len)
{
	struct cgroup *cgrp;
	char *path;
	size_t i;

	if (!len) {
		cfg->cgroup_path = NULL;
		return 0;
	}
	if (len >= TCPTIMEO_CGROUP_PATH_MAX || s[0] != '/')
		return -EINVAL;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return -EINVAL;
	path = kmemdup_nul(s, len, GFP_KERNEL);
	if (!path)
		return -ENOMEM;
	/*
	 * A cgroup that does not exist yet is fine (a unit or a pod not
	 * started): the rule matches nothing until it does. A path that
	 * names a file can never be one.
	 */
	cgrp = tt_cgroup_lookup(path);
	if (IS_ERR(cgrp) && PTR_ERR(cgrp) != -ENOENT) {
		kfree(path);
		return PTR_ERR(cgrp);
	}
	if (!IS_ERR(cgrp))
		cgroup_put(cgrp);
	cfg->cgroup_path = path;
	return 0;
}

/*
 * A namespace is bound when written (netns.c): the number must name a live
 * one now, and the rule follows that namespace only, never a later one
 * that the kernel gives the same number.
 */
static int tt_attr_parse_netns(struct tt_rule_cfg *cfg, const void *ctx,
			       const char *s, size_t len)
{
	struct tt_netns *ns = NULL;
	u32 v;
	int err;

	err = tt_parse_u32(s, len, TCPTIMEO_NETNS_MAX, &v);
	if (err)
		return err;
	if (v) {
		ns = tt_netns_bind(v);
		if (IS_ERR(ns))
			return PTR_ERR(ns);
	}
	cfg->netns = v;
	cfg->ns = ns;
	return 0;
}

static ssize_t tt_attr_fmt_netns(const struct tt_item *it, char *page)
{
	return sprintf(page, "%u\n", it->cfg.netns);
}

TT_ATTR(netns, "0 (any) or the inode number of a live network namespace");

static ssize_t tt_attr_fmt_netns_state(const struct tt_item *it, char *page)
{
	const struct tt_netns *ns = it->cfg.ns;

	return sprintf(page, "%s\n",
		       !ns ? "any" : tt_netns_gone(ns) ? "gone" : "live");
}

static ssize_t tt_rule_netns_state_show(struct config_item *ci, char *page)
{
	return tt_show(ci, page, tt_attr_fmt_netns_state);
}

CONFIGFS_ATTR_RO(tt_rule_, netns_state);

static ssize_t tt_attr_fmt_cgroup(const struct tt_item *it, char *page)
{
	return sprintf(page, "%s\n",
		       it->cfg.cgroup_path ? it->cfg.cgroup_path : "");
}

TT_ATTR(cgroup,
	"empty or an absolute cgroup v2 path (it may not exist yet), < 512 bytes, no spaces");

/*
 * "any" (no cgroup selector), "present", or "absent": the rule matches
 * nothing until the path is created. A live rule answers for itself; a
 * disabled one is looked up now.
 */
static ssize_t tt_attr_fmt_cgroup_state(const struct tt_item *it, char *page)
{
	struct cgroup *cgrp;
	bool present;

	if (!it->cfg.cgroup_path)
		return sprintf(page, "any\n");
	if (it->live) {
		present = tt_cgroup_present(it->live);
	} else {
		cgrp = tt_cgroup_lookup(it->cfg.cgroup_path);
		present = !IS_ERR(cgrp);
		if (present)
			cgroup_put(cgrp);
	}
	return sprintf(page, "%s\n", present ? "present" : "absent");
}

static ssize_t tt_rule_cgroup_state_show(struct config_item *ci, char *page)
{
	return tt_show(ci, page, tt_attr_fmt_cgroup_state);
}

CONFIGFS_ATTR_RO(tt_rule_, cgroup_state);

/*
 * The whole rule in one write: the words of the rules file after the
 * name (lib/tt_parse.c, the grammar tcptimeoctl uses). Parsed and
 * validated whole, then swapped in like any other store: a live rule goes
 * from its old form to its new one in one step.
 */
static ssize_t tt_attr_fmt_line(const struct tt_item *it, char *page)
{
	const struct tt_rule_cfg *c = &it->cfg;
	size_t n = tt_format_rule(page, PAGE_SIZE - 1, NULL, c->priority,
				  &c->sel, c->cgroup_path, c->netns, &c->opts);

	page[n] = '\n';
	return n + 1;
}

static ssize_t tt_rule_line_show(struct config_item *ci, char *page)
{
	return tt_show(ci, page, tt_attr_fmt_line);
}

#define TT_LINE_NETNS_VALID \
	"0 (any), any, or the inode number of a live network namespace " \
	"(4026532000 or net:[4026532000])"

static int tt_line_bad(const struct tt_item *it, const struct tt_rule_err *e)
{
	const char *valid = e->field == TT_F_NETNS ? TT_LINE_NETNS_VALID :
			    e->field < TT_F_NFIELDS ? tt_fields[e->field].valid :
			    "the words of a rules-file line after the name";
	int len = (int)min_t(size_t, e->word_len, 32);
	int vlen = (int)min_t(size_t, e->val_len, 64);
	int err = e->err;

	switch (e->fail) {
	case TT_RF_UNKNOWN:
		pr_info_ratelimited("rule %s: line: unknown word '%*pE'; valid: priority dir local-port remote-port remote-addr cgroup netns keepalive idle intvl cnt user-timeout syn-retries rto-max mode fill force clamp audit\n",
				    it->cfg.name, len, e->word);
		break;
	case TT_RF_WHERE:
		pr_info_ratelimited("rule %s: line: %*pE: not in a line; valid: write enabled\n",
				    it->cfg.name, len, e->word);
		break;
	case TT_RF_TWICE:
		pr_info_ratelimited("rule %s: line: %*pE: %s given twice; valid: each field once\n",
				    it->cfg.name, len, e->word,
				    tt_fields[e->field].word);
		break;
	case TT_RF_NOVALUE:
		pr_info_ratelimited("rule %s: line: %*pE: missing value; valid: %s\n",
				    it->cfg.name, len, e->word, valid);
		break;
	default:
		pr_info_ratelimited("rule %s: line: %*pE '%*pE': %s; valid: %s\n",
				    it->cfg.name, len, e->word, vlen, e->val,
				    e->why ? e->why :
				    err == -ERANGE ? "out of range" :
				    err == -ENOENT ? "does not exist" :
				    "invalid value", valid);
		break;
	}
	return err;
}

static ssize_t tt_rule_line_store(struct config_item *ci, const char *page,
				  size_t len)
{
	struct tt_item *it = to_tt_item(ci);
	struct tt_rule_spec *sp;
	struct tt_rule_err e;
	struct tt_rule_cfg cfg;
	struct tt_netns *ns;
	size_t n;
	int err;

	err = tt_store_input(page, len, &n);
	if (err)
		return err;
	sp = kmalloc(sizeof(*sp), GFP_KERNEL);
	if (!sp)
		return -ENOMEM;
	err = tt_rule_parse(sp, TT_W_LINE, NULL, NULL, page, n, &e);
	if (err) {
		tt_line_bad(it, &e);
		goto out;
	}
	/* the parser checked the range */
	err = tt_rto_max_refused(sp->opts.rto_max);
	if (err) {
		tt_bad(it, "line: rto-max", err, TT_RTO_MAX_VALID);
		goto out;
	}
	mutex_lock(&tt_cfg_mutex);
	cfg = it->cfg;
	cfg.priority = sp->priority;
	cfg.sel = sp->sel;
	cfg.opts = sp->opts;
	cfg.cgroup_path = NULL;
	err = tt_attr_parse_cgroup(&cfg, NULL, sp->cgroup, sp->cgroup_len);
	if (err) {
		err = tt_bad(it, "line: cgroup", err, tt_fields[TT_F_CGROUP].valid);
		goto unlock;
	}
	/*
	 * The namespace the rule is bound to already stays bound, gone or
	 * not: a line that repeats the number never binds a namespace that
	 * got it since (write netns to bind again).
	 */
	if (sp->netns != it->cfg.netns) {
		ns = NULL;
		if (sp->netns) {
			ns = tt_netns_bind(sp->netns);
			if (IS_ERR(ns)) {
				err = PTR_ERR(ns);
				kfree(cfg.cgroup_path);
				if (err == -ENOENT)
					pr_info_ratelimited("rule %s: line: netns %u: no such network namespace; valid: %s\n",
							    it->cfg.name, sp->netns,
							    TT_LINE_NETNS_VALID);
				goto unlock;
			}
		}
		cfg.netns = sp->netns;
		cfg.ns = ns;
	}
	err = tt_item_commit(it, &cfg);
	if (err) {
		tt_cfg_drop_unshared(&cfg, &it->cfg);
		tt_bad(it, "line: cgroup", err, tt_fields[TT_F_CGROUP].valid);
	}
unlock:
	mutex_unlock(&tt_cfg_mutex);
out:
	kfree(sp);
	return err ? err : len;
}

CONFIGFS_ATTR(tt_rule_, line);

static ssize_t tt_attr_fmt_enabled(const struct tt_item *it, char *page)
{
	return sprintf(page, "%d\n", !!it->live);
}

static ssize_t tt_rule_enabled_show(struct config_item *ci, char *page)
{
	return tt_show(ci, page, tt_attr_fmt_enabled);
}

/* Writing 1 validates the whole rule and publishes it; 0 withdraws it. */
static ssize_t tt_rule_enabled_store(struct config_item *ci, const char *page,
				     size_t len)
{
	struct tt_item *it = to_tt_item(ci);
	struct tt_rule *rule;
	size_t n;
	int err;
	u32 on;

	err = tt_store_input(page, len, &n);
	if (err)
		return err;
	err = tt_parse_u32(page, n, 1, &on);
	if (err)
		return tt_bad(it, "enabled", err, "0 or 1");

	mutex_lock(&tt_cfg_mutex);
	if (on && !it->live) {
		rule = tt_rule_compile(&it->cfg, it->ctr);
		if (IS_ERR(rule)) {
			err = tt_bad(it, "cgroup", PTR_ERR(rule),
				     "a cgroup v2 directory path");
		} else {
			tt_watch_set(it, rule);
			tt_rules_insert(rule);
			it->live = rule;
		}
	} else if (!on && it->live) {
		tt_watch_set(it, NULL);
		tt_rules_remove(it->live);
		it->live = NULL;
	}
	mutex_unlock(&tt_cfg_mutex);
	return err ? err : len;
}

CONFIGFS_ATTR(tt_rule_, enabled);

static ssize_t tt_ctr_show(struct config_item *ci, char *page,
			   enum tt_rule_ctr c)
{
	return sprintf(page, "%llu\n",
		       (unsigned long long)tt_counter_read(to_tt_item(ci)->ctr,
							   c));
}

static ssize_t tt_rule_matched_show(struct config_item *ci, char *page)
{
	return tt_ctr_show(ci, page, TT_RC_MATCHED);
}

CONFIGFS_ATTR_RO(tt_rule_, matched);

static ssize_t tt_rule_timeouts_idle_show(struct config_item *ci, char *page)
{
	return tt_ctr_show(ci, page, TT_RC_TIMEOUTS_IDLE);
}

CONFIGFS_ATTR_RO(tt_rule_, timeouts_idle);

static ssize_t tt_rule_timeouts_busy_show(struct config_item *ci, char *page)
{
	return tt_ctr_show(ci, page, TT_RC_TIMEOUTS_BUSY);
}

CONFIGFS_ATTR_RO(tt_rule_, timeouts_busy);

static struct configfs_attribute *tt_rule_attrs[] = {
	&tt_rule_attr_enabled,
	&tt_rule_attr_priority,
	&tt_rule_attr_direction,
	&tt_rule_attr_local_ports,
	&tt_rule_attr_remote_ports,
	&tt_rule_attr_remote_addrs,
	&tt_rule_attr_cgroup,
	&tt_rule_attr_netns,
	&tt_rule_attr_netns_state,
	&tt_rule_attr_cgroup_state,
	&tt_rule_attr_keepalive,
	&tt_rule_attr_keepidle,
	&tt_rule_attr_keepintvl,
	&tt_rule_attr_keepcnt,
	&tt_rule_attr_user_timeout,
	&tt_rule_attr_syn_retries,
	&tt_rule_attr_rto_max,
	&tt_rule_attr_mode,
	&tt_rule_attr_audit,
	&tt_rule_attr_line,
	&tt_rule_attr_matched,
	&tt_rule_attr_timeouts_idle,
	&tt_rule_attr_timeouts_busy,
	NULL,
};

static void tt_rule_release(struct config_item *ci)
{
	struct tt_item *it = to_tt_item(ci);

	tt_counter_put(it->ctr);
	tt_cfg_free(&it->cfg);
	kfree(it);
}

/* Not const: 7.x constified these members, older kernels take non-const. */
static struct configfs_item_operations tt_rule_item_ops = {
	.release = tt_rule_release,
};

static const struct config_item_type tt_rule_type = {
	.ct_item_ops = &tt_rule_item_ops,
	.ct_attrs = tt_rule_attrs,
	.ct_owner = THIS_MODULE,
};

static struct config_item *tt_make_item(struct config_group *group,
					const char *name)
{
	struct tt_item *it;

	if (!capable(CAP_NET_ADMIN))
		return ERR_PTR(-EPERM);
	if (!tt_valid_name(name, strlen(name))) {
		pr_info_ratelimited("rule name: invalid; valid: 1-32 characters of A-Z a-z 0-9 _ . -\n");
		return ERR_PTR(-EINVAL);
	}
	it = kzalloc(sizeof(*it), GFP_KERNEL);
	if (!it)
		return ERR_PTR(-ENOMEM);
	it->ctr = tt_counter_alloc();
	if (!it->ctr) {
		kfree(it);
		return ERR_PTR(-ENOMEM);
	}
	INIT_LIST_HEAD(&it->pending);
	strscpy(it->cfg.name, name, sizeof(it->cfg.name));
	it->cfg.priority = TCPTIMEO_PRIORITY_DEFAULT;
	it->cfg.sel.dir = TCPTIMEO_DIR_ANY;
	it->cfg.opts.mode = TCPTIMEO_MODE_FILL;
	config_item_init_type_name(&it->item, name, &tt_rule_type);

	mutex_lock(&tt_cfg_mutex);
	list_add_tail(&it->node, &tt_items);
	mutex_unlock(&tt_cfg_mutex);
	return &it->item;
}

static void tt_drop_item(struct config_group *group, struct config_item *ci)
{
	struct tt_item *it = to_tt_item(ci);

	mutex_lock(&tt_cfg_mutex);
	if (it->live) {
		tt_watch_set(it, NULL);
		tt_rules_remove(it->live);
		it->live = NULL;
	}
	list_del(&it->node);
	mutex_unlock(&tt_cfg_mutex);
	config_item_put(ci);
}

static struct configfs_group_operations tt_rules_group_ops = {
	.make_item = tt_make_item,
	.drop_item = tt_drop_item,
};

static const struct config_item_type tt_rules_type = {
	.ct_group_ops = &tt_rules_group_ops,
	.ct_owner = THIS_MODULE,
};

static const struct config_item_type tt_root_type = {
	.ct_owner = THIS_MODULE,
};

static struct config_group tt_rules_group;

static struct configfs_subsystem tt_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf = "tcptimeo",
			.ci_type = &tt_root_type,
		},
	},
};

static void tt_find_mkdir_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "cgroup_mkdir"))
		*(struct tracepoint **)priv = tp;
}

/*
 * Not exported either, like sock:inet_sock_set_state (hook.c): found by
 * name. While attached, cgroup_mkdir() formats each new cgroup's path
 * for us, a cost only mkdir pays.
 */
static int tt_mkdir_hook_init(void)
{
	int err;

	for_each_kernel_tracepoint(tt_find_mkdir_tp, &tt_mkdir_tp);
	if (!tt_mkdir_tp) {
		pr_err("tracepoint cgroup:cgroup_mkdir not found; this kernel cannot run tcptimeo\n");
		return -ENOENT;
	}
	err = tracepoint_probe_register(tt_mkdir_tp, (void *)tt_cgroup_created,
					NULL);
	if (err)
		pr_err("cannot attach to cgroup:cgroup_mkdir: %d\n", err);
	return err;
}

static void tt_mkdir_hook_exit(void)
{
	tracepoint_probe_unregister(tt_mkdir_tp, (void *)tt_cgroup_created,
				    NULL);
	/* No CPU is inside tt_cgroup_created() after this. */
	tracepoint_synchronize_unregister();
}

int tt_configfs_init(void)
{
	int err;

	INIT_DELAYED_WORK(&tt_cgroup_work, tt_cgroup_refresh);
	err = tt_mkdir_hook_init();
	if (err)
		return err;
	config_group_init(&tt_subsys.su_group);
	mutex_init(&tt_subsys.su_mutex);
	config_group_init_type_name(&tt_rules_group, "rules", &tt_rules_type);
	configfs_add_default_group(&tt_rules_group, &tt_subsys.su_group);
	err = configfs_register_subsystem(&tt_subsys);
	if (err) {
		pr_err("cannot register configfs subsystem: %d\n", err);
		tt_mkdir_hook_exit();
	}
	return err;
}

/*
 * configfs pins the module while rule directories exist: none are left,
 * so nothing is watched and nothing pending; the probe may still have
 * queued the work before the last rule went.
 */
void tt_configfs_exit(void)
{
	configfs_unregister_subsystem(&tt_subsys);
	tt_mkdir_hook_exit();
	cancel_delayed_work_sync(&tt_cgroup_work);
}
