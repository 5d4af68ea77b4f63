// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: write a rule's options onto one socket.
 *
 * Called only from the probe, in the socket's owner context (see hook.c):
 * the same context in which the kernel itself writes these fields, so
 * plain stores are safe; WRITE_ONCE() pairs with the kernel's lockless
 * READ_ONCE() readers (getsockopt, keepalive_*_when()). Never sleeps,
 * never allocates, never takes a lock.
 */
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "tcptimeo.h"

/* Stamp @val into @field unless the application set it (mode fill). */
static void tt_put32(u32 *field, u32 val, bool force, unsigned int *skipped)
{
	if (force || !*field)
		WRITE_ONCE(*field, val);
	else
		(*skipped)++;
}

static void tt_put8(u8 *field, u8 val, bool force, unsigned int *skipped)
{
	if (force || !*field)
		WRITE_ONCE(*field, val);
	else
		(*skipped)++;
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
 * @passive: an accepted socket at SYN_RECV -> ESTABLISHED. Its keepalive
 * timer may already run with values inherited from the listener, so a
 * changed idle time or a newly set flag re-arms it through the kernel's
 * own sk_prot->keepalive() (the timer's location changed within stable
 * series; we never touch it). A connecting socket needs no re-arm:
 * tcp_finish_connect() arms the timer right after this transition.
 */
void tt_stamp(struct sock *sk, const struct tt_rule *rule, bool passive)
{
	const struct tt_opts *o = &rule->cfg.opts;
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct tcp_sock *tp = tcp_sk(sk);
	bool force = o->mode == TCPTIMEO_MODE_FORCE;
	u32 old_time = tp->keepalive_time;
	unsigned int skipped = 0;
	bool arm;

	if (o->keepidle)
		tt_put32(&tp->keepalive_time, o->keepidle * HZ, force, &skipped);
	if (o->keepintvl)
		tt_put32(&tp->keepalive_intvl, o->keepintvl * HZ, force,
			 &skipped);
	if (o->keepcnt)
		tt_put8(&tp->keepalive_probes, o->keepcnt, force, &skipped);
	if (o->syn_retries)
		tt_put8(&icsk->icsk_syn_retries, o->syn_retries, force,
			&skipped);
	/* after the keepalive fields: "auto" reads their effective values */
	if (o->user_timeout)
		tt_put32(&icsk->icsk_user_timeout, tt_user_timeout(tp, o),
			 force, &skipped);

	if (sock_flag(sk, SOCK_KEEPOPEN))
		arm = passive && tp->keepalive_time != old_time;
	else
		arm = o->keepalive;
	if (arm) {
		if (passive && sk->sk_prot->keepalive) {
			sock_reset_flag(sk, SOCK_KEEPOPEN);
			sk->sk_prot->keepalive(sk, 1);
		}
		sock_set_flag(sk, SOCK_KEEPOPEN);
	}

	atomic64_inc(&rule->ctr->matched);
	tt_stat_add(passive ? TT_STAT_STAMPED_IN : TT_STAT_STAMPED_OUT, 1);
	if (skipped)
		tt_stat_add(TT_STAT_SKIPPED_APP_SET, skipped);
}
