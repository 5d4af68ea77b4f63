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
 *                             The source port may not be chosen yet: a
 *                             decision that waits for it is kept until
 *                             the socket leaves SYN_SENT (pending.c).
 *   SYN_SENT -> ESTABLISHED   tcp_finish_connect(): softirq under
 *                             bh_lock_sock() with no owner, or the owner
 *                             processing its backlog in release_sock().
 *   SYN_SENT -> SYN_RECV      simultaneous open (connect-to-self too):
 *                             the same context as SYN_SENT -> ESTABLISHED;
 *                             the socket stays outgoing (tt_connected()).
 *   SYN_RECV -> ESTABLISHED   an accepted child, bh-locked since its clone
 *                             until tcp_child_process() has run, so
 *                             accept() (which takes lock_sock()) cannot
 *                             return it sooner. Not for a simultaneous
 *                             open, nor for a Fast Open child, which is
 *                             decided when it is created (tt_tfo_ret()).
 *   any -> CLOSE              only when it timed out: counted, not
 *                             written (timer softirq, bh-locked). From
 *                             SYN_SENT, always: connect()'s kept decision
 *                             is given back, as when it goes on to
 *                             ESTABLISHED or SYN_RECV.
 *
 * In each case we run in the socket's owner context, exactly where the
 * kernel writes these fields itself; preemption is disabled by the
 * tracepoint. So: no sleeping, no locks, no allocation. Everything else
 * returns after two integer compares.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/kprobes.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/inet_sock.h>
#include <net/tcp.h>
#include <net/ipv6.h>
#include <net/mptcp.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "compat.h"
#include "tcptimeo.h"
#include "tt_trace.h"

static struct tracepoint *tt_tp;

/* Kernel sockets (NFS, iSCSI, ...) and MPTCP subflows manage their own. */
bool tt_sk_skip_kernel(const struct sock *sk)
{
	return unlikely(sk->sk_kern_sock || sk_is_mptcp(sk)) &&
	       !READ_ONCE(tt_allow_kernel_sockets);
}

/*
 * The local port, from inet_sport: inet_put_port() zeroes inet_num of a
 * socket without SOCK_BINDPORT_LOCK in tcp_set_state(TCP_CLOSE), before
 * the tracepoint fires, while inet_sport keeps the port to the end.
 */
static u16 tt_sk_lport(const struct sock *sk)
{
	return ntohs(inet_sk(sk)->inet_sport);
}

/*
 * Was an established socket accepted? For sockets found after the fact:
 * the walk, the per-socket view, timeout attribution. sk_clone_lock()
 * copies the listener's sk_max_ack_backlog into every child, and no
 * socket that connect()ed ever listened, so a non-zero backlog marks an
 * accepted one however long ago its listener closed. Only a child of a
 * listen(fd, 0) carries 0: for those, a listener that still serves the
 * local address and port decides. Caller holds RCU.
 */
bool tt_sk_passive(const struct sock *sk)
{
	const struct inet_sock *inet = inet_sk(sk);
	struct sock *l;

	if (READ_ONCE(sk->sk_max_ack_backlog))
		return true;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 &&
	    !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		l = tt_lookup_listener6(sock_net(sk), &sk->sk_v6_daddr,
					inet->inet_dport, &sk->sk_v6_rcv_saddr,
					tt_sk_lport(sk), sk->sk_bound_dev_if);
		return !IS_ERR_OR_NULL(l);
	}
#endif
	l = tt_lookup_listener4(sock_net(sk), inet->inet_daddr,
				inet->inet_dport, inet->inet_rcv_saddr,
				tt_sk_lport(sk), sk->sk_bound_dev_if);
	return !IS_ERR_OR_NULL(l);
}

void tt_tuple_fill(struct tt_tuple *t, const struct sock *sk, bool passive)
{
	const struct inet_sock *inet = inet_sk(sk);

	t->dir = passive ? TCPTIMEO_DIR_IN : TCPTIMEO_DIR_OUT;
	t->lport_known = true;
	t->lport = tt_sk_lport(sk);
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

	struct tt_waits w;

	tt_tuple_fill(&t, sk, false);
	t.lport_known = tt_lport_bound(sk);
	if (t.lport_known) {
		rule = tt_rules_lookup(&t, sk, &v);
	} else {
		/* kept for tt_connected(), if some rule could wait */
		rule = tt_rules_lookup_unbound(&t, sk, &v, &w);
		if (w.gen)
			tt_pend_keep(sk, &w);
	}
	if (rule && v == TT_MATCH && tt_stamp(sk, rule, 0))
		tt_stat_add(TT_STAT_STAMPED_OUT, 1);
	/* TT_NEED_LPORT: decided in tt_connected() */
}

/* @w: what connect() kept (pending.c), or NULL */
static void tt_connected(struct sock *sk, const struct tt_waits *w)
{
	const struct tt_rule *rule;
	struct tt_tuple t;
	bool deferred;

	if (tt_lport_bound(sk) || !tt_rules_may_defer())
		return;		/* decided at connect() */
	/* Act only if connect()'s decision waited for the local port. */
	tt_tuple_fill(&t, sk, false);
	rule = tt_rules_lookup_connected(&t, sk, w, &deferred);
	if (rule && deferred && tt_stamp(sk, rule, 0))
		tt_stat_add(TT_STAT_STAMPED_OUT, 1);
}

static void tt_accepted(struct sock *sk)
{
	const struct tt_rule *rule;
	enum tt_verdict v;
	struct tt_tuple t;

	tt_tuple_fill(&t, sk, true);
	rule = tt_rules_lookup(&t, sk, &v);
	if (rule && tt_stamp(sk, rule, TT_STAMP_REARM | TT_STAMP_IN))
		tt_stat_add(TT_STAT_STAMPED_IN, 1);
}

/* Is tt_tfo_ret() attached? Then it decides every Fast Open child. */
static bool tt_tfo_hooked;

/*
 * SYN_RECV -> ESTABLISHED: is this a child still to be decided? A socket
 * that has a struct socket already, or lost it (SOCK_DEAD), is either a
 * simultaneous open, decided as outgoing at connect(), or a Fast Open
 * child that accept() returned while it was in SYN_RECV. A Fast Open
 * child whose SYN carried data (syn_data_acked: what Linux clients send)
 * was decided at creation when tt_tfo_ret() is attached; a child made
 * from a cookie-only SYN cannot be told from an ordinary one and is
 * decided again here, to the same rule.
 */
static bool tt_child_undecided(const struct sock *sk)
{
	if (tcp_sk(sk)->syn_data_acked)
		return !tt_tfo_hooked;
	return !sk->sk_socket && !sock_flag(sk, SOCK_DEAD);
}

/*
 * The connection timed out (tcp_write_err() sets sk_err before tcp_done():
 * ETIMEDOUT, or the soft error that stood for it; see tt_sk_timed_out()).
 * Count it for the rule that matches it now: "busy" if the
 * application had data unacked or unsent (retransmission, zero window,
 * SYN retries: bounded by user_timeout/retries), "idle" otherwise (only
 * keepalive can have found it). write_seq and snd_una survive the
 * write-queue purge that precedes this transition. An orphan (SOCK_DEAD:
 * the application closed it, e.g. FIN_WAIT1 with data unacked) had no
 * one waiting on it: not counted.
 */
/*
 * Why it timed out, for tcptimeo:timeout, from what tcp_write_err() left:
 * the write queue is purged and icsk_backoff reset, but the counts of
 * the last episode stay. A closed peer window (snd_wnd 0) is a
 * zero-window episode, whichever timer ended it (the probe timer on the
 * user timeout, with icsk_probes_out reset by every ACK of a live peer,
 * or the RTX timer); otherwise retransmissions count in icsk_retransmits
 * and keepalive probes in icsk_probes_out.
 */
static u8 tt_timeout_cause(const struct sock *sk, int oldstate)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);

	if (oldstate == TCP_SYN_SENT)
		return TT_CAUSE_SYN;
	if (!READ_ONCE(tcp_sk(sk)->snd_wnd))
		return TT_CAUSE_ZERO_WINDOW;
	if (READ_ONCE(icsk->icsk_retransmits))
		return TT_CAUSE_RETRANS;
	if (READ_ONCE(icsk->icsk_probes_out))
		return TT_CAUSE_KEEPALIVE;
	return TT_CAUSE_UNKNOWN;
}

static void tt_timed_out(struct sock *sk, int oldstate)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	const struct tt_rule *rule;
	enum tt_verdict v;
	struct tt_tuple t;
	bool busy;

	if (sock_flag(sk, SOCK_DEAD))
		return;
	busy = oldstate == TCP_SYN_SENT ||
	       READ_ONCE(tp->write_seq) != READ_ONCE(tp->snd_una);
	tt_tuple_fill(&t, sk, oldstate != TCP_SYN_SENT && tt_sk_passive(sk));
	rule = tt_rules_lookup(&t, sk, &v);
	/* in SYN_SENT nothing was ever heard: 0 */
	if (trace_timeout_enabled())
		trace_timeout(sk, rule, t.dir, tt_timeout_cause(sk, oldstate),
			      oldstate, oldstate == TCP_SYN_SENT ? 0 :
			      jiffies_to_msecs(keepalive_time_elapsed(tp)));
	if (!rule)
		tt_stat_add(TT_STAT_TIMEOUTS_UNMATCHED, 1);
	else if (busy)
		tt_rule_count(rule, TT_RC_TIMEOUTS_BUSY);
	else
		tt_rule_count(rule, TT_RC_TIMEOUTS_IDLE);
}

/*
 * Did the connection end by timing out? tcp_write_err() reports the last
 * soft error (an ICMP unreachable from a router on the way, say) if there
 * was one, ETIMEDOUT otherwise: sk_err == sk_err_soft only then, as a hard
 * error (a RST, an ICMP error in SYN_SENT) sets sk_err alone (an ICMP in
 * SYN_SENT that came while the owner held the lock is kept as soft and
 * the SYN retries go on).
 */
static bool tt_sk_timed_out(const struct sock *sk)
{
	int err = READ_ONCE(sk->sk_err);

	return err == ETIMEDOUT || (err && err == READ_ONCE(sk->sk_err_soft));
}

static void tt_probe(void *data, const struct sock *csk, const int oldstate,
		     const int newstate)
{
	/* Owner context (see top of file): we may write this socket. */
	struct sock *sk = (struct sock *)csk;
	struct tt_waits w;
	bool kept = false;

	/* Leaving SYN_SENT, whatever follows: connect()'s slot back. */
	if (oldstate == TCP_SYN_SENT && newstate != TCP_SYN_SENT)
		kept = tt_pend_take(sk, &w);
	switch (newstate) {
	case TCP_SYN_SENT:
		if (oldstate != TCP_CLOSE)
			return;
		break;
	case TCP_SYN_RECV:
		/* not a child's LISTEN -> SYN_RECV: that is a simultaneous open */
		if (oldstate != TCP_SYN_SENT)
			return;
		break;
	case TCP_ESTABLISHED:
		if (oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV)
			return;
		break;
	case TCP_CLOSE:
		if (!tt_sk_timed_out(sk))
			return;
		break;
	default:
		return;
	}
	if (!READ_ONCE(tt_enabled) || sk->sk_protocol != IPPROTO_TCP ||
	    !sk_fullsock(sk))
		return;

	rcu_read_lock();
	if (newstate == TCP_CLOSE) {
		if (!tt_sk_skip_kernel(sk))
			tt_timed_out(sk, oldstate);
	} else if (tt_rules_empty()) {
		/* nothing to do */
	} else if (tt_sk_skip_kernel(sk)) {
		tt_stat_add(TT_STAT_SKIPPED_KERNEL, 1);
	} else if (newstate == TCP_SYN_SENT) {
		tt_connect(sk);
	} else if (oldstate == TCP_SYN_SENT) {
		tt_connected(sk, kept ? &w : NULL);
	} else if (tt_child_undecided(sk)) {
		tt_accepted(sk);
	}
	rcu_read_unlock();
}

/*
 * A Fast Open child is in the listener's accept queue as soon as its SYN
 * is processed, in SYN_RECV, so accept() can return it long before the
 * SYN_RECV -> ESTABLISHED transition (and a FIN in the SYN takes it to
 * CLOSE_WAIT without one). tcp_try_fastopen() returns it with its
 * addresses set, bh-locked since sk_clone_lock(), not yet queued: the
 * owner context of a new child, in softirq, like tt_accepted()'s. A
 * kretprobe is the only hook there; without one (no CONFIG_KRETPROBES,
 * or it failed to attach) such children are decided at ESTABLISHED.
 */
#ifdef CONFIG_KRETPROBES
static int tt_tfo_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_return_value(regs);

	if (!sk || !READ_ONCE(tt_enabled) || tt_rules_empty())
		return 0;
	rcu_read_lock();
	if (tt_sk_skip_kernel(sk))
		tt_stat_add(TT_STAT_SKIPPED_KERNEL, 1);
	else
		tt_accepted(sk);
	rcu_read_unlock();
	return 0;
}

static struct kretprobe tt_tfo_probe = {
	.kp.symbol_name = "tcp_try_fastopen",
	.handler = tt_tfo_ret,
};

static void tt_tfo_init(void)
{
	int err = register_kretprobe(&tt_tfo_probe);

	if (err) {
		pr_warn("cannot probe tcp_try_fastopen (%d): Fast Open children are stamped when established\n",
			err);
		return;
	}
	tt_tfo_hooked = true;
}

static void tt_tfo_exit(void)
{
	if (tt_tfo_hooked)
		unregister_kretprobe(&tt_tfo_probe);
}
#else
static void tt_tfo_init(void)
{
}

static void tt_tfo_exit(void)
{
}
#endif

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
	/* before the tracepoint, so no Fast Open child is decided twice */
	tt_tfo_init();
	err = tracepoint_probe_register(tt_tp, (void *)tt_probe, NULL);
	if (err) {
		pr_err("cannot attach to sock:inet_sock_set_state: %d\n", err);
		tt_tfo_exit();
	}
	return err;
}

void tt_hook_exit(void)
{
	/* returns once no CPU runs tt_tfo_ret() */
	tt_tfo_exit();
	tracepoint_probe_unregister(tt_tp, (void *)tt_probe, NULL);
	/* No CPU is inside tt_probe() after this. */
	tracepoint_synchronize_unregister();
}
