// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: act on sockets that already exist, in every network namespace.
 *
 * Process context only (sysfs writes), one walk at a time. The pattern is
 * inet_diag's: under each ehash bucket lock, pick up to TT_BATCH sockets
 * and take a reference; drop the lock; then handle each socket with no
 * lock of ours held (lock_sock() may sleep), and cond_resched() between
 * buckets. tt_cfg_mutex is never held here: rules are read under RCU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <net/inet_hashtables.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "tcptimeo.h"
#include "tt_trace.h"

#define TT_BATCH		16
#define TT_MAX_PASSES		4096	/* per bucket; a bound, never reached */

struct tt_walker {
	/* under the bucket lock: a cheap look, no sleeping */
	bool (*pick)(const struct sock *sk, const struct tt_walker *w);
	/* process context, a reference held, no lock held */
	void (*act)(struct sock *sk, struct tt_walker *w);
	/* act() unhashes the socket: rescan a long bucket from its head */
	bool unhashes;
	/* abort_peers */
	struct tt_cidr addrs[TCPTIMEO_MAX_CIDRS];
	struct tt_port_range ports[TCPTIMEO_MAX_PORT_RANGES];
	u8 n_addrs;
	u8 n_ports;
	u64 count;
};

static DEFINE_MUTEX(tt_walk_mutex);	/* one walk at a time */

/*
 * A kernel socket (sk_net_refcnt == 0: NFS, iSCSI, ... with
 * allow_kernel_sockets) does not pin its namespace, and one of a
 * namespace being dismantled stays in the global table while its owner
 * closes it, so sock_net() could be freed before act() is done with it
 * (tcp_abort() counts in its MIBs). Pin the namespace for act(), or skip
 * the socket if the namespace is already dying. Under the bucket lock:
 * the socket is hashed, so its namespace is not freed yet.
 */
static bool tt_pin_net(struct sock *sk, struct net **pinned)
{
	*pinned = NULL;
	if (sk->sk_net_refcnt)
		return true;
	*pinned = maybe_get_net(sock_net(sk));
	return *pinned;
}

static void tt_walk_bucket(struct inet_hashinfo *h, unsigned int i,
			   const struct net *net, struct tt_walker *w)
{
	struct net *nets[TT_BATCH];
	struct sock *batch[TT_BATCH];
	struct hlist_nulls_node *node;
	unsigned int skip = 0, seen, n, j, pass;
	struct sock *sk;
	bool more;

	for (pass = 0; pass < TT_MAX_PASSES; pass++) {
		n = 0;
		seen = 0;
		more = false;
		spin_lock_bh(inet_ehash_lockp(h, i));
		sk_nulls_for_each(sk, node, &h->ehash[i].chain) {
			/* TIME_WAIT and request sockets are not full sockets */
			if (!sk_fullsock(sk) ||
			    (net && !net_eq(sock_net(sk), net)) ||
			    tt_sk_skip_kernel(sk) || !w->pick(sk, w))
				continue;
			if (seen++ < skip)
				continue;
			if (n == TT_BATCH) {
				more = true;
				break;
			}
			if (!tt_pin_net(sk, &nets[n]))
				continue;
			if (refcount_inc_not_zero(&sk->sk_refcnt))
				batch[n++] = sk;
			else if (nets[n])
				put_net(nets[n]);	/* safe in atomic context */
		}
		spin_unlock_bh(inet_ehash_lockp(h, i));

		for (j = 0; j < n; j++) {
			w->act(batch[j], w);
			sock_gen_put(batch[j]);
			if (nets[j])
				put_net(nets[j]);
		}
		cond_resched();
		if (!more)
			return;
		if (!w->unhashes)
			skip += TT_BATCH;
	}
}

static void tt_walk_table(struct inet_hashinfo *h, const struct net *net,
			  struct tt_walker *w)
{
	unsigned int i;

	for (i = 0; i <= h->ehash_mask; i++) {
		if (hlist_nulls_empty(&h->ehash[i].chain))
			continue;
		tt_walk_bucket(h, i, net, w);
	}
}

/*
 * The global table holds the sockets of every namespace that has no table
 * of its own (net.ipv4.tcp_child_ehash_entries); walk it once, then the
 * private ones. net_rwsem keeps a namespace's table alive while we walk.
 */
static void tt_walk(struct tt_walker *w)
{
	struct inet_hashinfo *global = init_net.ipv4.tcp_death_row.hashinfo;
	struct net *net;

	mutex_lock(&tt_walk_mutex);
	tt_walk_table(global, NULL, w);
	down_read(&net_rwsem);
	for_each_net(net) {
		if (net->ipv4.tcp_death_row.hashinfo != global)
			tt_walk_table(net->ipv4.tcp_death_row.hashinfo, net, w);
	}
	up_read(&net_rwsem);
	mutex_unlock(&tt_walk_mutex);
}

static bool tt_established(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT;
}

static bool tt_pick_established(const struct sock *sk,
				const struct tt_walker *w)
{
	return tt_established(READ_ONCE(sk->sk_state));
}

/*
 * Orphans (SOCK_DEAD) are left alone: in FIN_WAIT2 the keepalive timer is
 * the FIN_WAIT2 timeout, and re-arming it would change how they die.
 */
static void tt_apply_one(struct sock *sk, struct tt_walker *w)
{
	const struct tt_rule *rule;
	enum tt_verdict v;
	struct tt_tuple t;

	lock_sock(sk);
	if (tt_established(sk->sk_state) && !sock_flag(sk, SOCK_DEAD)) {
		rcu_read_lock();
		tt_tuple_fill(&t, sk, tt_sk_passive(sk));
		rule = tt_rules_lookup(&t, sk, &v);
		if (rule && tt_stamp(sk, rule, TT_STAMP_EXISTING |
				     (t.dir == TCPTIMEO_DIR_IN ? TT_STAMP_IN : 0))) {
			tt_stat_add(TT_STAT_EXISTING_STAMPED, 1);
			w->count++;
		}
		rcu_read_unlock();
	}
	release_sock(sk);
}

int tt_apply_existing(void)
{
	struct tt_walker w = {
		.pick = tt_pick_established,
		.act = tt_apply_one,
	};

	if (!READ_ONCE(tt_enabled) || tt_rules_empty())
		return 0;
	tt_walk(&w);
	return 0;
}

static bool tt_pick_peer(const struct sock *sk, const struct tt_walker *w)
{
	int state = READ_ONCE(sk->sk_state);
	struct tt_tuple t;

	if (!tt_established(state) && state != TCP_SYN_SENT &&
	    state != TCP_SYN_RECV)
		return false;
	tt_tuple_fill(&t, sk, false);
	if (w->n_ports && !tt_ports_contain(w->ports, w->n_ports, t.rport))
		return false;
	return tt_cidrs_contain(w->addrs, w->n_addrs, t.family, t.raddr);
}

/*
 * tcptimeo:abort, with the rule that matches the connection now. After
 * tcp_abort() the addresses and ports are still in place (inet_sport
 * outlives inet_put_port()); only the state changed, so it is passed in.
 */
static void tt_trace_abort(struct sock *sk, int state)
{
	const struct tt_rule *rule;
	enum tt_verdict v;
	struct tt_tuple t;

	rcu_read_lock();
	tt_tuple_fill(&t, sk, state != TCP_SYN_SENT && tt_sk_passive(sk));
	rule = tt_rules_lookup(&t, sk, &v);
	trace_abort(sk, rule, t.dir, state);
	rcu_read_unlock();
}

/* tcp_abort() takes the socket lock itself and unhashes the socket. */
static void tt_abort_one(struct sock *sk, struct tt_walker *w)
{
	int state = READ_ONCE(sk->sk_state);

	if (!tt_pick_peer(sk, w))
		return;
	if (tcp_abort(sk, ECONNABORTED))
		return;
	tt_stat_add(TT_STAT_PEERS_ABORTED, 1);
	w->count++;
	if (trace_abort_enabled())
		tt_trace_abort(sk, state);
}

/* "CIDR[,CIDR...] [ports LIST]" */
int tt_abort_peers(const char *buf, size_t len)
{
	static const char kw[] = " ports ";
	struct tt_walker *w;
	size_t cidr_len = len, i;
	int err;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	w->pick = tt_pick_peer;
	w->act = tt_abort_one;
	w->unhashes = true;
	for (i = 0; i + sizeof(kw) - 1 <= len; i++) {
		if (!memcmp(buf + i, kw, sizeof(kw) - 1)) {
			cidr_len = i;
			break;
		}
	}
	err = tt_parse_cidrs(buf, cidr_len, w->addrs, &w->n_addrs);
	if (!err && !w->n_addrs)
		err = -EINVAL;
	if (!err && cidr_len < len) {
		i = cidr_len + sizeof(kw) - 1;
		err = tt_parse_ports(buf + i, len - i, w->ports, &w->n_ports);
		if (!err && !w->n_ports)
			err = -EINVAL;
	}
	if (err) {
		pr_info_ratelimited("abort_peers: %s; valid: CIDR[,CIDR...] [ports N[-M][,...]] (up to 16 each)\n",
				    err == -ERANGE ? "out of range" :
				    "invalid value");
	} else {
		tt_walk(w);
	}
	kfree(w);
	return err;
}
