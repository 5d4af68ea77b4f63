// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: the probe on the sock:inet_sock_set_state tracepoint.
 *
 * We hook TCP state changes, not packets: established flows pay nothing.
 * The tracepoint's symbol is not exported, so it is found by name with
 * for_each_kernel_tracepoint(). It fires before the new state is stored,
 * so sk->sk_state is still the old one. Three transitions matter:
 *
 *   CLOSE -> SYN_SENT         connect(), before the first SYN. Process
 *                             context; connect() owns the socket lock.
 *                             The source port may not be chosen yet.
 *   SYN_SENT -> ESTABLISHED   tcp_finish_connect(): softirq under
 *                             bh_lock_sock() with no owner, or the owner
 *                             processing its backlog in release_sock().
 *   SYN_RECV -> ESTABLISHED   an accepted child, before accept() can see
 *                             it: bh-locked in tcp_child_process(), or
 *                             via the backlog likewise.
 *
 * In each case we run in the socket's owner context, exactly where the
 * kernel writes these fields itself; preemption is disabled by the
 * tracepoint. So: no sleeping, no locks, no allocation. Everything else
 * returns after two integer compares.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/mptcp.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "compat.h"
#include "tcptimeo.h"

static struct tracepoint *tt_tp;

static void tt_tuple_fill(struct tt_tuple *t, const struct sock *sk, u8 dir)
{
	const struct inet_sock *inet = inet_sk(sk);

	t->dir = dir;
	t->lport = inet->inet_num;
	t->rport = ntohs(inet->inet_dport);
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 &&
	    !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		t->family = 6;
		memcpy(t->raddr, &sk->sk_v6_daddr, sizeof(struct in6_addr));
		return;
	}
#endif
	/* IPv4, or an IPv4-mapped peer of an IPv6 socket */
	t->family = 4;
	memcpy(t->raddr, &sk->sk_daddr, sizeof(sk->sk_daddr));
}

/*
 * Was the local port known at connect()? Only if the application bound
 * one explicitly; a bind to port 0 counts as unbound (see docs/ABI.md).
 */
static bool tt_lport_bound(const struct sock *sk)
{
	return sk->sk_userlocks & SOCK_BINDPORT_LOCK;
}

static void tt_connect(struct sock *sk)
{
	const struct tt_rule *rule;
	enum tt_verdict v;
	struct tt_tuple t;

	tt_tuple_fill(&t, sk, TCPTIMEO_DIR_OUT);
	t.lport_known = tt_lport_bound(sk);
	rule = tt_rules_lookup(&t, sk, &v);
	if (rule && v == TT_MATCH)
		tt_stamp(sk, rule, false);
	/* TT_NEED_LPORT: decided in tt_connected() */
}

static void tt_connected(struct sock *sk)
{
	const struct tt_rule *rule;
	enum tt_verdict v;
	struct tt_tuple t;

	if (tt_lport_bound(sk))
		return;		/* decided at connect() */
	/* Replay connect()'s decision; act only if it was deferred. */
	tt_tuple_fill(&t, sk, TCPTIMEO_DIR_OUT);
	t.lport_known = false;
	rule = tt_rules_lookup(&t, sk, &v);
	if (!rule || v != TT_NEED_LPORT)
		return;
	t.lport_known = true;
	rule = tt_rules_lookup(&t, sk, &v);
	if (rule)
		tt_stamp(sk, rule, false);
}

static void tt_accepted(struct sock *sk)
{
	const struct tt_rule *rule;
	enum tt_verdict v;
	struct tt_tuple t;

	tt_tuple_fill(&t, sk, TCPTIMEO_DIR_IN);
	t.lport_known = true;
	rule = tt_rules_lookup(&t, sk, &v);
	if (rule)
		tt_stamp(sk, rule, true);
}

static void tt_probe(void *data, const struct sock *csk, const int oldstate,
		     const int newstate)
{
	/* Owner context (see top of file): we may write this socket. */
	struct sock *sk = (struct sock *)csk;

	if (newstate == TCP_SYN_SENT) {
		if (oldstate != TCP_CLOSE)
			return;
	} else if (newstate != TCP_ESTABLISHED ||
		   (oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV)) {
		return;
	}
	if (!READ_ONCE(tt_enabled) || tt_rules_empty())
		return;
	if (sk->sk_protocol != IPPROTO_TCP || !sk_fullsock(sk))
		return;
	if (unlikely(sk->sk_kern_sock || sk_is_mptcp(sk)) &&
	    !READ_ONCE(tt_allow_kernel_sockets)) {
		tt_stat_add(TT_STAT_SKIPPED_KERNEL, 1);
		return;
	}

	rcu_read_lock();
	if (newstate == TCP_SYN_SENT)
		tt_connect(sk);
	else if (oldstate == TCP_SYN_SENT)
		tt_connected(sk);
	else
		tt_accepted(sk);
	rcu_read_unlock();
}

static void tt_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "inet_sock_set_state"))
		*(struct tracepoint **)priv = tp;
}

int tt_hook_init(void)
{
	int err;

	for_each_kernel_tracepoint(tt_find_tp, &tt_tp);
	if (!tt_tp) {
		pr_err("tracepoint sock:inet_sock_set_state not found; this kernel cannot run tcptimeo\n");
		return -ENOENT;
	}
	err = tracepoint_probe_register(tt_tp, (void *)tt_probe, NULL);
	if (err)
		pr_err("cannot attach to sock:inet_sock_set_state: %d\n", err);
	return err;
}

void tt_hook_exit(void)
{
	tracepoint_probe_unregister(tt_tp, (void *)tt_probe, NULL);
	/* No CPU is inside tt_probe() after this. */
	tracepoint_synchronize_unregister();
}
