// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: a rule's binding to one network namespace.
 *
 * Rules name a namespace by its inode number, but the kernel hands a freed
 * inode number to the next namespace it creates (proc_alloc_inum() takes
 * the lowest free one), so a rule must never be matched by number. Writing
 * the number binds the rule to the live struct net that has it now; the
 * namespace's pernet exit unbinds it, and from then on the rule matches
 * nothing (netns_state reads "gone") until the operator writes it again.
 *
 * A binding is shared, refcounted, by the staged configuration and every
 * compiled copy of the rule; its last reference may go from an RCU
 * callback (softirq), hence the irqsave lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rtnetlink.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <net/net_namespace.h>

#include "tcptimeo.h"

struct tt_netns {
	struct list_head node;		/* tt_netns_list, under tt_netns_lock */
	refcount_t ref;
	struct net *net;		/* not pinned; NULL once it is gone */
};

static LIST_HEAD(tt_netns_list);
static DEFINE_SPINLOCK(tt_netns_lock);

/*
 * The live namespace with inode number @inum, bound: ERR_PTR(-ENOENT) if
 * there is none. Process context. The binding joins the list while
 * net_rwsem is held: a namespace found on net_namespace_list has not been
 * unlinked by cleanup_net() yet, so its pernet exit, which runs after the
 * unlink, will find the binding.
 */
struct tt_netns *tt_netns_bind(u32 inum)
{
	struct tt_netns *b;
	unsigned long flags;
	struct net *net;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return ERR_PTR(-ENOMEM);
	refcount_set(&b->ref, 1);
	down_read(&net_rwsem);
	for_each_net(net) {
		if (net->ns.inum == inum) {
			b->net = net;
			break;
		}
	}
	if (b->net) {
		spin_lock_irqsave(&tt_netns_lock, flags);
		list_add(&b->node, &tt_netns_list);
		spin_unlock_irqrestore(&tt_netns_lock, flags);
	}
	up_read(&net_rwsem);
	if (!b->net) {
		kfree(b);
		return ERR_PTR(-ENOENT);
	}
	return b;
}

struct tt_netns *tt_netns_get(struct tt_netns *b)
{
	if (b)
		refcount_inc(&b->ref);
	return b;
}

/* Any context. */
void tt_netns_put(struct tt_netns *b)
{
	unsigned long flags;

	if (!b || !refcount_dec_and_lock_irqsave(&b->ref, &tt_netns_lock, &flags))
		return;
	list_del(&b->node);
	spin_unlock_irqrestore(&tt_netns_lock, flags);
	kfree(b);
}

/*
 * Does @net match the binding? Only compares pointers, never dereferences
 * the bound namespace. Caller holds RCU (the probe, the walks): a namespace
 * is unbound before it is freed and a grace period passes in between (see
 * tt_netns_pernet_exit()), so a namespace later allocated at the same
 * address is never taken for it.
 */
bool tt_netns_match(const struct tt_netns *b, const struct net *net)
{
	return READ_ONCE(b->net) == net;
}

bool tt_netns_gone(const struct tt_netns *b)
{
	return !READ_ONCE(b->net);
}

static void __net_exit tt_netns_pernet_exit(struct net *net)
{
	struct tt_netns *b;
	unsigned long flags;
	bool unbound = false;

	spin_lock_irqsave(&tt_netns_lock, flags);
	list_for_each_entry(b, &tt_netns_list, node) {
		if (b->net == net) {
			WRITE_ONCE(b->net, NULL);
			unbound = true;
		}
	}
	spin_unlock_irqrestore(&tt_netns_lock, flags);
	/* No reader may still hold the old pointer when @net is freed. */
	if (unbound)
		synchronize_rcu();
}

static struct pernet_operations tt_netns_ops = {
	.exit = tt_netns_pernet_exit,
};

int tt_netns_init(void)
{
	return register_pernet_subsys(&tt_netns_ops);
}

void tt_netns_exit(void)
{
	unregister_pernet_subsys(&tt_netns_ops);
}
