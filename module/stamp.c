// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: write a rule's options onto one socket.
 *
 * Called from the probe, in the socket's owner context (see hook.c), or
 * from process context with lock_sock() held (walk.c): the contexts in
 * which the kernel itself writes these fields, so plain stores are safe;
 * WRITE_ONCE() pairs with the kernel's lockless READ_ONCE() readers
 * (getsockopt, keepalive_*_when()). Never sleeps, never allocates, never
 * takes a lock.
 */
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "tcptimeo.h"

struct tt_put {
	u8 mode;
	unsigned int skipped;
};

/*
 * One option: @raw is the socket's own value (0: unset), @eff what the
 * kernel will use (raw, else the sysctl; for user_timeout 0 is "never").
 * Returns whether @val should be written.
 */
static bool tt_want(struct tt_put *p, u32 raw, u32 eff, u32 val)
{
	bool want;

	switch (p->mode) {
	case TCPTIMEO_MODE_FORCE:
		return true;
	case TCPTIMEO_MODE_CLAMP:
		want = !eff || eff > val;
		break;
	default:
		want = !raw;
		break;
	}
	if (!want && raw)
		p->skipped++;
	return want;
}

/* user_timeout "auto" = keepidle + keepintvl * keepcnt, effective values. */
static u32 tt_user_timeout(const struct tcp_sock *tp, const struct tt_opts *o)
{
	u64 ms;

	if (o->user_timeout != TCPTIMEO_USER_TIMEOUT_AUTO)
		return o->user_timeout;
	ms = jiffies_to_msecs(keepalive_time_when(tp)) +
	     (u64)jiffies_to_msecs(keepalive_intvl_when(tp)) *
	     keepalive_probes(tp);
	return min_t(u64, ms, TCPTIMEO_USER_TIMEOUT_MAX);
}

/*
 * @rearm: the keepalive timer may already run (an accepted socket with
 * values inherited from its listener, or an established one), so a
 * changed idle time or a newly set flag re-arms it through the kernel's
 * own sk_prot->keepalive(): the timer's location changed within stable
 * series and we never touch it. A connecting socket needs no re-arm:
 * tcp_finish_connect() arms the timer right after ESTABLISHED.
 *
 * Returns false when the rule only counted the match (audit).
 */
bool tt_stamp(struct sock *sk, const struct tt_rule *rule, bool rearm)
{
	const struct tt_opts *o = &rule->cfg.opts;
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct tcp_sock *tp = tcp_sk(sk);
	struct tt_put p = { .mode = o->mode };
	u32 old_time = keepalive_time_when(tp);
	u32 v, syn_eff;
	bool arm;

	tt_rule_count(rule, TT_RC_MATCHED);
	if (o->audit || READ_ONCE(tt_audit)) {
		tt_stat_add(TT_STAT_AUDIT_MATCHED, 1);
		return false;
	}

	v = o->keepidle * HZ;
	if (o->keepidle && tt_want(&p, tp->keepalive_time, old_time, v))
		WRITE_ONCE(tp->keepalive_time, v);
	v = o->keepintvl * HZ;
	if (o->keepintvl && tt_want(&p, tp->keepalive_intvl,
				    keepalive_intvl_when(tp), v))
		WRITE_ONCE(tp->keepalive_intvl, v);
	if (o->keepcnt && tt_want(&p, tp->keepalive_probes,
				  keepalive_probes(tp), o->keepcnt))
		WRITE_ONCE(tp->keepalive_probes, o->keepcnt);
	syn_eff = icsk->icsk_syn_retries ? :
		  READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_syn_retries);
	if (o->syn_retries && tt_want(&p, icsk->icsk_syn_retries, syn_eff,
				      o->syn_retries))
		WRITE_ONCE(icsk->icsk_syn_retries, o->syn_retries);
	/* after the keepalive fields: "auto" reads their effective values */
	if (o->user_timeout) {
		v = tt_user_timeout(tp, o);
		if (tt_want(&p, icsk->icsk_user_timeout,
			    icsk->icsk_user_timeout, v))
			WRITE_ONCE(icsk->icsk_user_timeout, v);
	}

	if (sock_flag(sk, SOCK_KEEPOPEN))
		arm = rearm && keepalive_time_when(tp) != old_time;
	else
		arm = o->keepalive;
	if (arm) {
		if (rearm && sk->sk_prot->keepalive) {
			sock_reset_flag(sk, SOCK_KEEPOPEN);
			sk->sk_prot->keepalive(sk, 1);
		}
		sock_set_flag(sk, SOCK_KEEPOPEN);
	}
	if (p.skipped)
		tt_stat_add(TT_STAT_SKIPPED_APP_SET, p.skipped);
	return true;
}
