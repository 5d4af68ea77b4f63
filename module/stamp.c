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
	bool dry;		/* audit: decide, write nothing */
	unsigned int changed;	/* options whose socket value changes */
	unsigned int skipped;	/* left alone: the application's own value */
};

/*
 * One option: @raw is the socket's own value (0: unset), @eff what the
 * kernel will use (raw, else the sysctl; for user_timeout 0 is "never").
 * Returns whether @val should be written. A value the socket already
 * holds (the application's, or ours from an earlier pass) is neither a
 * change nor an application value left alone.
 */
static bool tt_want(struct tt_put *p, u32 raw, u32 eff, u32 val)
{
	bool want;

	switch (p->mode) {
	case TCPTIMEO_MODE_FORCE:
		want = true;
		break;
	case TCPTIMEO_MODE_CLAMP:
		want = !eff || eff > val;
		break;
	default:
		want = !raw;
		break;
	}
	if (raw == val)
		return false;
	if (!want) {
		if (raw)
			p->skipped++;
		return false;
	}
	p->changed++;
	return !p->dry;
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

static void tt_put_opts(struct sock *sk, const struct tt_opts *o,
			struct tt_put *p)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct tcp_sock *tp = tcp_sk(sk);
	u32 v, syn_eff;

	v = o->keepidle * HZ;
	if (o->keepidle && tt_want(p, tp->keepalive_time,
				   keepalive_time_when(tp), v))
		WRITE_ONCE(tp->keepalive_time, v);
	v = o->keepintvl * HZ;
	if (o->keepintvl && tt_want(p, tp->keepalive_intvl,
				    keepalive_intvl_when(tp), v))
		WRITE_ONCE(tp->keepalive_intvl, v);
	if (o->keepcnt && tt_want(p, tp->keepalive_probes,
				  keepalive_probes(tp), o->keepcnt))
		WRITE_ONCE(tp->keepalive_probes, o->keepcnt);
	syn_eff = icsk->icsk_syn_retries ? :
		  READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_syn_retries);
	if (o->syn_retries && tt_want(p, icsk->icsk_syn_retries, syn_eff,
				      o->syn_retries))
		WRITE_ONCE(icsk->icsk_syn_retries, o->syn_retries);
	/*
	 * After the keepalive fields: "auto" reads their effective values.
	 * A dry run reads them unchanged: exact whenever they would not
	 * change, and when they would, the socket changes anyway.
	 */
	if (o->user_timeout) {
		v = tt_user_timeout(tp, o);
		if (tt_want(p, icsk->icsk_user_timeout,
			    icsk->icsk_user_timeout, v))
			WRITE_ONCE(icsk->icsk_user_timeout, v);
	}
	if (o->keepalive && !sock_flag(sk, SOCK_KEEPOPEN))
		p->changed++;
}

/*
 * Stamp @rule onto @sk. @flags:
 *   TT_STAMP_REARM     the keepalive timer may already run (an accepted
 *                      socket with values inherited from its listener),
 *                      so a changed idle time or a newly set flag re-arms
 *                      it through the kernel's own sk_prot->keepalive():
 *                      the timer's location changed within stable series
 *                      and we never touch it. A connecting socket needs
 *                      no re-arm: tcp_finish_connect() arms the timer
 *                      right after ESTABLISHED.
 *   TT_STAMP_EXISTING  apply_existing: the socket may carry the rule
 *                      already (stamped when it was created, or by an
 *                      earlier walk). Only a socket whose options change
 *                      counts (matched, skipped_app_set, the caller's
 *                      existing_stamped), so each is counted once.
 *
 * Returns whether the caller should count the socket as stamped: false
 * for an audit rule (it counts the match alone), or an existing socket
 * that already carries the rule.
 */
bool tt_stamp(struct sock *sk, const struct tt_rule *rule,
	      unsigned int flags)
{
	const struct tt_opts *o = &rule->cfg.opts;
	struct tt_put p = {
		.mode = o->mode,
		.dry = o->audit || READ_ONCE(tt_audit),
	};
	struct tcp_sock *tp = tcp_sk(sk);
	u32 old_time = keepalive_time_when(tp);
	bool existing = flags & TT_STAMP_EXISTING;
	bool arm;

	tt_put_opts(sk, o, &p);
	if (existing && !p.changed)
		return false;
	tt_rule_count(rule, TT_RC_MATCHED);
	if (p.dry) {
		tt_stat_add(TT_STAT_AUDIT_MATCHED, 1);
		return false;
	}

	if (sock_flag(sk, SOCK_KEEPOPEN))
		arm = (flags & TT_STAMP_REARM) &&
		      keepalive_time_when(tp) != old_time;
	else
		arm = o->keepalive;
	if (arm) {
		if ((flags & TT_STAMP_REARM) && sk->sk_prot->keepalive) {
			sock_reset_flag(sk, SOCK_KEEPOPEN);
			sk->sk_prot->keepalive(sk, 1);
		}
		sock_set_flag(sk, SOCK_KEEPOPEN);
	}
	if (p.skipped)
		tt_stat_add(TT_STAT_SKIPPED_APP_SET, p.skipped);
	return true;
}
