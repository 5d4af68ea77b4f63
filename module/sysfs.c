// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: /sys/kernel/tcptimeo/ — global switches, the live table and
 * counters. Counters are per-CPU and summed on read.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "compat.h"
#include "tcptimeo.h"

bool tt_enabled = true;
bool tt_allow_kernel_sockets;
bool tt_audit;
DEFINE_PER_CPU(struct tt_stats, tt_stats);

static struct kobject *tt_kobj;

/*
 * Every store, here and in configfs: CAP_NET_ADMIN, then the value
 * without one trailing newline.
 */
int tt_store_input(const char *buf, size_t count, size_t *len)
{
	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	*len = count && buf[count - 1] == '\n' ? count - 1 : count;
	return 0;
}

static ssize_t tt_bool_store(bool *knob, const char *name, const char *buf,
			     size_t count)
{
	size_t n;
	u32 v;
	int err;

	err = tt_store_input(buf, count, &n);
	if (err)
		return err;
	err = tt_parse_u32(buf, n, 1, &v);
	if (err) {
		pr_info_ratelimited("%s: %s; valid: 0 or 1\n", name,
				    err == -ERANGE ? "out of range" :
				    "invalid value");
		return err;
	}
	WRITE_ONCE(*knob, v);
	return count;
}

#define TT_BOOL_ATTR(knob)						\
static ssize_t knob##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%d\n", READ_ONCE(tt_##knob));		\
}									\
static ssize_t knob##_store(struct kobject *kobj,			\
			    struct kobj_attribute *attr,		\
			    const char *buf, size_t count)		\
{									\
	return tt_bool_store(&tt_##knob, #knob, buf, count);		\
}									\
static struct kobj_attribute knob##_attr = __ATTR_RW(knob)

TT_BOOL_ATTR(enabled);
TT_BOOL_ATTR(allow_kernel_sockets);
TT_BOOL_ATTR(audit);

/* A write-only trigger: the input must be "1" (a newline may follow). */
static int tt_store_trigger(const char *name, const char *buf, size_t count)
{
	size_t n;
	int err;

	err = tt_store_input(buf, count, &n);
	if (err)
		return err;
	if (n != 1 || buf[0] != '1') {
		pr_info_ratelimited("%s: invalid value; valid: 1\n", name);
		return -EINVAL;
	}
	return 0;
}

/* Writing "1" stamps established sockets per the rules; returns when done. */
static ssize_t apply_existing_store(struct kobject *kobj,
				    struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	int err;

	err = tt_store_trigger("apply_existing", buf, count);
	if (err)
		return err;
	err = tt_apply_existing();
	return err ? err : count;
}

static struct kobj_attribute apply_existing_attr = __ATTR_WO(apply_existing);

/* "CIDR[,CIDR...] [ports LIST]": abort matching connections now. */
static ssize_t abort_peers_store(struct kobject *kobj,
				 struct kobj_attribute *attr,
				 const char *buf, size_t count)
{
	size_t n;
	int err;

	err = tt_store_input(buf, count, &n);
	if (err)
		return err;
	err = tt_abort_peers(buf, n);
	return err ? err : count;
}

static struct kobj_attribute abort_peers_attr = __ATTR_WO(abort_peers);

/*
 * A transaction over the live table: writing N (1..TT_HOLD_MAX seconds)
 * to "hold" stages every rule change from then on; "commit" publishes
 * them all in one swap. A hold not committed in N seconds commits itself
 * (and says so in the kernel log). Reads: the seconds left, 0 if none.
 */
#define TT_HOLD_MAX	300

static ssize_t hold_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%u\n", tt_rules_hold_left());
}

static ssize_t hold_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	size_t n;
	u32 v;
	int err;

	err = tt_store_input(buf, count, &n);
	if (err)
		return err;
	err = tt_parse_u32(buf, n, TT_HOLD_MAX, &v);
	if (!err && !v)
		err = -ERANGE;
	if (err) {
		pr_info_ratelimited("hold: %s; valid: 1..%d seconds\n",
				    err == -ERANGE ? "out of range" :
				    "invalid value", TT_HOLD_MAX);
		return err;
	}
	err = tt_rules_hold(v);
	return err ? err : count;
}

static struct kobj_attribute hold_attr = __ATTR_RW(hold);

static ssize_t commit_store(struct kobject *kobj, struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	int err;

	err = tt_store_trigger("commit", buf, count);
	if (err)
		return err;
	err = tt_rules_commit();
	if (err == -ENOENT)
		pr_info_ratelimited("commit: no hold is on (one that ran out has committed itself); valid: 1 after writing hold\n");
	return err ? err : count;
}

static struct kobj_attribute commit_attr = __ATTR_WO(commit);

static ssize_t version_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", TCPTIMEO_VERSION);
}

static struct kobj_attribute version_attr = __ATTR_RO(version);

/* The rule options (configfs attributes) this kernel lets a rule set. */
static ssize_t features_show(struct kobject *kobj,
			     struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "keepalive keepidle keepintvl keepcnt user_timeout syn_retries%s\n",
			  tt_rto_max_supported() ? " rto_max" : "");
}

static struct kobj_attribute features_attr = __ATTR_RO(features);

static ssize_t rules_read(struct file *file, struct kobject *kobj,
			  TT_BIN_ATTR_CONST struct bin_attribute *attr,
			  char *buf, loff_t off, size_t count)
{
	return tt_rules_read(buf, off, count);
}

static TT_BIN_ATTR_CONST BIN_ATTR_RO(rules, 0);

static struct attribute *tt_attrs[] = {
	&enabled_attr.attr,
	&allow_kernel_sockets_attr.attr,
	&audit_attr.attr,
	&apply_existing_attr.attr,
	&abort_peers_attr.attr,
	&hold_attr.attr,
	&commit_attr.attr,
	&version_attr.attr,
	&features_attr.attr,
	NULL,
};

static TT_BIN_ATTR_CONST struct bin_attribute *tt_bin_attrs[] = {
	&bin_attr_rules,
	NULL,
};

static const struct attribute_group tt_group = {
	.attrs = tt_attrs,
	.bin_attrs = tt_bin_attrs,
};

struct tt_stat_attr {
	struct kobj_attribute attr;
	enum tt_stat stat;
};

static ssize_t tt_stat_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	enum tt_stat stat = container_of(attr, struct tt_stat_attr, attr)->stat;
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(tt_stats.v[stat], cpu);
	return sysfs_emit(buf, "%llu\n", sum);
}

#define TT_STAT_ATTR(name, id) \
	{ .attr = __ATTR(name, 0444, tt_stat_show, NULL), .stat = (id) }

static struct tt_stat_attr tt_stat_attr[] = {
	TT_STAT_ATTR(stamped_in, TT_STAT_STAMPED_IN),
	TT_STAT_ATTR(stamped_out, TT_STAT_STAMPED_OUT),
	TT_STAT_ATTR(skipped_app_set, TT_STAT_SKIPPED_APP_SET),
	TT_STAT_ATTR(skipped_kernel, TT_STAT_SKIPPED_KERNEL),
	TT_STAT_ATTR(audit_matched, TT_STAT_AUDIT_MATCHED),
	TT_STAT_ATTR(existing_stamped, TT_STAT_EXISTING_STAMPED),
	TT_STAT_ATTR(timeouts_unmatched, TT_STAT_TIMEOUTS_UNMATCHED),
	TT_STAT_ATTR(peers_aborted, TT_STAT_PEERS_ABORTED),
	TT_STAT_ATTR(restamped, TT_STAT_RESTAMPED),
};

static struct attribute *tt_stat_attrs[] = {
	&tt_stat_attr[0].attr.attr,
	&tt_stat_attr[1].attr.attr,
	&tt_stat_attr[2].attr.attr,
	&tt_stat_attr[3].attr.attr,
	&tt_stat_attr[4].attr.attr,
	&tt_stat_attr[5].attr.attr,
	&tt_stat_attr[6].attr.attr,
	&tt_stat_attr[7].attr.attr,
	&tt_stat_attr[8].attr.attr,
	NULL,
};

static const struct attribute_group tt_stat_group = {
	.name = "stats",
	.attrs = tt_stat_attrs,
};

static const struct attribute_group *tt_groups[] = {
	&tt_group,
	&tt_stat_group,
	NULL,
};

int tt_sysfs_init(void)
{
	int err;

	tt_kobj = kobject_create_and_add("tcptimeo", kernel_kobj);
	if (!tt_kobj)
		return -ENOMEM;
	err = sysfs_create_groups(tt_kobj, tt_groups);
	if (err) {
		kobject_put(tt_kobj);
		pr_err("cannot create /sys/kernel/tcptimeo: %d\n", err);
	}
	return err;
}

void tt_sysfs_exit(void)
{
	sysfs_remove_groups(tt_kobj, tt_groups);
	kobject_put(tt_kobj);
}
