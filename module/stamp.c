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
#include <linux/bitops.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "tcptimeo.h"
#include "tt_trace.h"

struct tt_put {
	u8 mode;
	bool dry;		/* audit: decide, write nothing */
	u32 changed;		/* BIT(enum tt_opt): the socket value changes */
	u32 skipped;		/* left alone: the application's own value */
};

/*
 * One option: @raw is the socket's own value (0: unset), @eff what the
 * kernel will use (raw, else the sysctl; for user_timeout 0 is "never").
 * Returns whether @val should be written. A value the socket already
 * holds (the application's, or ours from an earlier pass) is neither a
 * change nor an application value left alone.
 */
static bool tt_want(struct tt_put *p, enum tt_opt opt, u32 raw, u32 eff,
		    u32 val)
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
			p->skipped |= BIT(opt);
		return false;
	}
	p->changed |= BIT(opt);
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

/*
 * A socket's RTO ceiling has no "unset": it starts at its namespace's
 * sysctl (an accepted one at its listener's). That value reads as unset,
 * so a fill rule lowers it and any other is the application's own.
 */
static u32 tt_rto_max_raw(const struct sock *sk)
{
	u32 cur = tt_rto_max_get(sk);

	return cur == tt_rto_max_default(sk) ? 0 : cur;
}

/* The raw socket value of @opt, as tt_put_opts() compares it. */
u32 tt_opt_raw(const struct sock *sk, enum tt_opt opt)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct tcp_sock *tp = tcp_sk(sk);

	switch (opt) {
	case TT_OPT_KEEPALIVE:
		return sock_flag(sk, SOCK_KEEPOPEN);
	case TT_OPT_KEEPIDLE:
		return READ_ONCE(tp->keepalive_time);
	case TT_OPT_KEEPINTVL:
		return READ_ONCE(tp->keepalive_intvl);
	case TT_OPT_KEEPCNT:
		return READ_ONCE(tp->keepalive_probes);
	case TT_OPT_USER_TIMEOUT:
		return READ_ONCE(icsk->icsk_user_timeout);
	case TT_OPT_RTO_MAX:
		return tt_rto_max_raw(sk);
	default:
		return READ_ONCE(icsk->icsk_syn_retries);
	}
}

/* What @o writes into @opt (in tt_opt_raw()'s units), 0: nothing. */
static u32 tt_rule_val(const struct tt_opts *o, enum tt_opt opt,
		       const struct tcp_sock *tp)
{
	switch (opt) {
	case TT_OPT_KEEPALIVE:
		return o->keepalive ? 1 : 0;
	case TT_OPT_KEEPIDLE:
		return o->keepidle * HZ;
	case TT_OPT_KEEPINTVL:
		return o->keepintvl * HZ;
	case TT_OPT_KEEPCNT:
		return o->keepcnt;
	case TT_OPT_USER_TIMEOUT:
		return o->user_timeout ? tt_user_timeout(tp, o) : 0;
	case TT_OPT_RTO_MAX:
		return o->rto_max ? msecs_to_jiffies(o->rto_max) : 0;
	default:
		return o->syn_retries;
	}
}

/*
 * Where @opt's value on @sk comes from, for the per-socket view: 'r' it
 * is what @rule (NULL: none) writes, 'd' unset (the node's sysctl or the
 * kernel's default; keepalive off), 'a' the application's (or its
 * listener's) own. A value the application set equal to the rule's
 * reads as the rule's. Lockless reads.
 */
char tt_opt_from(const struct sock *sk, const struct tt_rule *rule,
		 enum tt_opt opt)
{
	u32 raw = tt_opt_raw(sk, opt);

	if (!raw)
		return 'd';
	if (rule && raw == tt_rule_val(&rule->cfg.opts, opt, tcp_sk(sk)))
		return 'r';
	return 'a';
}

/*
 * Turn keepalive on, or re-arm its timer, after tt_put_opts(): @old_time
 * is keepalive_time_when() before it. See tt_stamp() for @flags.
 */
static void tt_arm(struct sock *sk, const struct tt_opts *o, u32 old_time,
		   unsigned int flags)
{
	bool arm;

	if (sock_flag(sk, SOCK_KEEPOPEN))
		arm = (flags & TT_STAMP_REARM) &&
		      keepalive_time_when(tcp_sk(sk)) != old_time;
	else
		arm = o->keepalive;
	if (!arm)
		return;
	if ((flags & TT_STAMP_REARM) && sk->sk_prot->keepalive) {
		sock_reset_flag(sk, SOCK_KEEPOPEN);
		sk->sk_prot->keepalive(sk, 1);
	}
	sock_set_flag(sk, SOCK_KEEPOPEN);
}

static void tt_put_opts(struct sock *sk, const struct tt_opts *o,
			struct tt_put *p)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct tcp_sock *tp = tcp_sk(sk);
	u32 v, syn_eff, rto_max;

	v = o->keepidle * HZ;
	if (o->keepidle && tt_want(p, TT_OPT_KEEPIDLE, tp->keepalive_time,
				   keepalive_time_when(tp), v))
		WRITE_ONCE(tp->keepalive_time, v);
	v = o->keepintvl * HZ;
	if (o->keepintvl && tt_want(p, TT_OPT_KEEPINTVL, tp->keepalive_intvl,
				    keepalive_intvl_when(tp), v))
		WRITE_ONCE(tp->keepalive_intvl, v);
	if (o->keepcnt && tt_want(p, TT_OPT_KEEPCNT, tp->keepalive_probes,
				  keepalive_probes(tp), o->keepcnt))
		WRITE_ONCE(tp->keepalive_probes, o->keepcnt);
	syn_eff = icsk->icsk_syn_retries ? :
		  READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_syn_retries);
	if (o->syn_retries && tt_want(p, TT_OPT_SYNCNT, icsk->icsk_syn_retries,
				      syn_eff, o->syn_retries))
		WRITE_ONCE(icsk->icsk_syn_retries, o->syn_retries);
	/*
	 * Not in the middle of a loss episode (apply_existing, a force
	 * rule's restamp): a lower ceiling shortens the tcp_retries2 budget
	 * that episode already spent, which could end it at once (the
	 * kernel's own warning for TCP_RTO_MAX_MS on a live socket).
	 */
	v = tt_rule_val(o, TT_OPT_RTO_MAX, tp);
	rto_max = tt_rto_max_get(sk);
	if (v && v != rto_max && !READ_ONCE(icsk->icsk_retransmits) &&
	    tt_want(p, TT_OPT_RTO_MAX, tt_rto_max_raw(sk), rto_max, v))
		tt_rto_max_set(sk, v);
	/*
	 * After the keepalive fields: "auto" reads their effective values.
	 * A dry run reads them unchanged: exact whenever they would not
	 * change, and when they would, the socket changes anyway.
	 */
	if (o->user_timeout) {
		v = tt_user_timeout(tp, o);
		if (tt_want(p, TT_OPT_USER_TIMEOUT, icsk->icsk_user_timeout,
			    icsk->icsk_user_timeout, v))
			WRITE_ONCE(icsk->icsk_user_timeout, v);
	}
	if (o->keepalive && !sock_flag(sk, SOCK_KEEPOPEN))
		p->changed |= BIT(TT_OPT_KEEPALIVE);
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
 *   TT_STAMP_IN        an accepted socket (the direction tcptimeo:stamp
 *                      reports).
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
	u32 old_time = keepalive_time_when(tcp_sk(sk));
	bool existing = flags & TT_STAMP_EXISTING;

	tt_put_opts(sk, o, &p);
	if (existing && !p.changed)
		return false;
	tt_rule_count(rule, TT_RC_MATCHED);
	if (p.dry) {
		tt_stat_add(TT_STAT_AUDIT_MATCHED, 1);
	} else {
		tt_arm(sk, o, old_time, flags);
		if (p.skipped)
			tt_stat_add(TT_STAT_SKIPPED_APP_SET,
				    hweight32(p.skipped));
	}
	trace_stamp(sk, rule, existing ? TT_ORIGIN_EXISTING : TT_ORIGIN_NEW,
		    flags & TT_STAMP_IN ? TCPTIMEO_DIR_IN : TCPTIMEO_DIR_OUT,
		    o->mode, p.dry, p.changed, p.skipped);
	return !p.dry;
}

/*
 * What tt_resync() needs to know of @sk before the application's
 * setsockopt() of @opt changes it: whether @sk carries @rule (force,
 * clamp: nothing would change), whether its user timeout is the rule's
 * "auto" value, whether @opt holds the rule's value. Lockless reads, in
 * the application's system call (sockopt.c).
 */
void tt_check(const struct sock *sk, const struct tt_rule *rule,
	      enum tt_opt opt, struct tt_check *c)
{
	const struct tt_opts *o = &rule->cfg.opts;
	struct tt_put p = { .mode = o->mode, .dry = true };
	const struct tcp_sock *tp = tcp_sk(sk);
	u32 ut = READ_ONCE(inet_csk(sk)->icsk_user_timeout);
	u32 val;

	tt_put_opts((struct sock *)sk, o, &p);
	c->ut_before = ut;
	c->ut_auto = o->user_timeout == TCPTIMEO_USER_TIMEOUT_AUTO &&
		     ut == tt_user_timeout(tp, o);
	c->val_before = tt_opt_raw(sk, opt);
	val = tt_rule_val(o, opt, tp);
	c->was_rule = val && c->val_before == val;
	if (o->mode == TCPTIMEO_MODE_FILL)
		c->watch = c->ut_auto || c->was_rule;
	else
		c->watch = !p.changed;
}

/*
 * The application has just set @opt on @sk, which carried @rule as @c
 * says. Put the rule back as its mode says (see sockopt.c). Process
 * context, lock_sock() held.
 */
void tt_resync(struct sock *sk, const struct tt_rule *rule, enum tt_opt opt,
	       const struct tt_check *c)
{
	const struct tt_opts *o = &rule->cfg.opts;
	struct tt_put p = { .mode = o->mode };
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct tcp_sock *tp = tcp_sk(sk);
	u32 old_time = keepalive_time_when(tp);
	u32 v;

	if (o->mode != TCPTIMEO_MODE_FILL) {
		tt_put_opts(sk, o, &p);
		tt_arm(sk, o, old_time, TT_STAMP_REARM);
		if (!p.changed)
			return;
		tt_stat_add(TT_STAT_RESTAMPED, hweight32(p.changed));
		/* RCU held (sockopt.c): tt_sk_passive() may look up a listener */
		if (trace_stamp_enabled())
			trace_stamp(sk, rule, TT_ORIGIN_RESTAMP,
				    tt_sk_passive(sk) ? TCPTIMEO_DIR_IN :
							TCPTIMEO_DIR_OUT,
				    o->mode, false, p.changed, p.skipped);
		return;
	}
	/* fill: the application's value stays ... */
	if (c->was_rule && tt_opt_raw(sk, opt) != c->val_before)
		tt_stat_add(TT_STAT_SKIPPED_APP_SET, 1);
	/* ... and an "auto" user timeout it did not set follows it */
	if (c->ut_auto && opt != TT_OPT_USER_TIMEOUT &&
	    icsk->icsk_user_timeout == c->ut_before) {
		v = tt_user_timeout(tp, o);
		if (v != c->ut_before)
			WRITE_ONCE(icsk->icsk_user_timeout, v);
	}
}
