/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptimeo's own tracepoints, category "tcptimeo" (docs/ABI.md, Events):
 *
 *   tcptimeo:stamp    a rule's options written onto a socket (or, for an
 *                     audit rule, what would have been)
 *   tcptimeo:timeout  a connection ended by a timeout, and why
 *   tcptimeo:abort    a connection aborted by abort_peers
 *
 * Fields are fixed-size and typed (addresses as sockaddr, printed with
 * %pISpc) so that perf, trace-cmd and bpftrace print and filter them.
 * Disabled, each call site is a patched-out static branch; the fields are
 * filled in TP_fast_assign(), which runs only when the event is on (see
 * trace.c for the helpers it calls).
 */
/* Not part of the multiply-read section below: once per unit. */
#ifndef _TT_TRACE_DEFS_H
#define _TT_TRACE_DEFS_H

#include <linux/in6.h>
#include <linux/types.h>

struct sock;
struct tt_rule;

/* tcptimeo:stamp origin */
#define TT_ORIGIN_NEW		0	/* the probe: connect, accept */
#define TT_ORIGIN_EXISTING	1	/* apply_existing */
#define TT_ORIGIN_RESTAMP	2	/* after the application's setsockopt() */

/* tcptimeo:timeout cause */
#define TT_CAUSE_UNKNOWN	0
#define TT_CAUSE_KEEPALIVE	1	/* idle: keepalive probes unanswered */
#define TT_CAUSE_RETRANS	2	/* busy: retransmissions unanswered */
#define TT_CAUSE_ZERO_WINDOW	3	/* the peer's window stayed closed */
#define TT_CAUSE_SYN		4	/* connect(): SYN retries */

/*
 * Array sizes as numbers, so that every kernel's format file shows them
 * so (trace.c checks them): a sockaddr_in6, which holds a sockaddr_in
 * too, and a rule name with its NUL.
 */
#define TT_SA_SIZE		28
#define TT_RULE_SIZE		33

void tt_trace_sock(char *name, u8 *saddr, u8 *daddr, u32 *netns,
		   u64 *cgroup, const struct sock *sk,
		   const struct tt_rule *rule);
void tt_trace_values(const struct sock *sk, u8 *keepalive, u32 *idle,
		     u32 *intvl, u8 *cnt, u32 *user_timeout, u8 *syn_retries,
		     u32 *rto_max);

#endif /* _TT_TRACE_DEFS_H */

#undef TRACE_SYSTEM
#define TRACE_SYSTEM tcptimeo

#if !defined(_TT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TT_TRACE_H

#include <linux/tracepoint.h>
#include <net/tcp_states.h>

#include "../include/uapi/tcptimeo.h"

#define tt_show_dir(d)							\
	__print_symbolic(d, { TCPTIMEO_DIR_IN, "in" },			\
			 { TCPTIMEO_DIR_OUT, "out" })

#define tt_show_state(s)						\
	__print_symbolic(s, { TCP_ESTABLISHED, "ESTABLISHED" },		\
			 { TCP_SYN_SENT, "SYN_SENT" },			\
			 { TCP_SYN_RECV, "SYN_RECV" },			\
			 { TCP_FIN_WAIT1, "FIN_WAIT1" },		\
			 { TCP_FIN_WAIT2, "FIN_WAIT2" },		\
			 { TCP_TIME_WAIT, "TIME_WAIT" },		\
			 { TCP_CLOSE, "CLOSE" },			\
			 { TCP_CLOSE_WAIT, "CLOSE_WAIT" },		\
			 { TCP_LAST_ACK, "LAST_ACK" },			\
			 { TCP_LISTEN, "LISTEN" },			\
			 { TCP_CLOSING, "CLOSING" },			\
			 { TCP_NEW_SYN_RECV, "NEW_SYN_RECV" })

TRACE_EVENT(stamp,
	    TP_PROTO(const struct sock *sk, const struct tt_rule *rule, u8 origin,
		     u8 dir, u8 mode, bool audit, u32 set, u32 skipped),
	    TP_ARGS(sk, rule, origin, dir, mode, audit, set, skipped),

	    TP_STRUCT__entry(/* tt_trace_sock() */
			     __array(char, rule, TT_RULE_SIZE)
			     __array(__u8, saddr, TT_SA_SIZE)
			     __array(__u8, daddr, TT_SA_SIZE)
			     __field(__u64, cgroup)
			     __field(__u32, netns)
			     __field(__u32, idle)
			     __field(__u32, intvl)
			     __field(__u32, user_timeout)
			     __field(__u32, rto_max)
			     __field(__u16, set)
			     __field(__u16, skipped)
			     __field(__u8, origin)
			     __field(__u8, dir)
			     __field(__u8, mode)
			     __field(__u8, audit)
			     __field(__u8, keepalive)
			     __field(__u8, cnt)
			     __field(__u8, syn_retries)
	    ),

	    TP_fast_assign(tt_trace_sock(__entry->rule, __entry->saddr,
					 __entry->daddr, &__entry->netns,
					 &__entry->cgroup, sk, rule);
			   tt_trace_values(sk, &__entry->keepalive,
					   &__entry->idle, &__entry->intvl,
					   &__entry->cnt, &__entry->user_timeout,
					   &__entry->syn_retries, &__entry->rto_max);
			   __entry->set = set;
			   __entry->skipped = skipped;
			   __entry->origin = origin;
			   __entry->dir = dir;
			   __entry->mode = mode;
			   __entry->audit = audit;
	    ),

	    TP_printk("rule=%s dir=%s origin=%s mode=%s audit=%u src=%pISpc dst=%pISpc netns=%u cgroup=%llu set=%s skipped=%s keepalive=%u idle=%u intvl=%u cnt=%u user_timeout=%u syn_retries=%u rto_max=%u",
		      __entry->rule, tt_show_dir(__entry->dir),
		      __print_symbolic(__entry->origin,
				       { TT_ORIGIN_NEW, "new" },
				       { TT_ORIGIN_EXISTING, "existing" },
				       { TT_ORIGIN_RESTAMP, "restamp" }),
		      __print_symbolic(__entry->mode,
				       { TCPTIMEO_MODE_FILL, "fill" },
				       { TCPTIMEO_MODE_FORCE, "force" },
				       { TCPTIMEO_MODE_CLAMP, "clamp" }),
		      __entry->audit, __entry->saddr, __entry->daddr,
		      __entry->netns, __entry->cgroup,
		      (__entry->set ? __print_flags(__entry->set, ",",
						    { 1, "keepalive" },
						    { 2, "idle" }, { 4, "intvl" },
						    { 8, "cnt" }, { 16, "user_timeout" },
						    { 32, "syn_retries" },
						    { 64, "rto_max" }) :
						   "none"),
		      (__entry->skipped ? __print_flags(__entry->skipped, ",",
							{ 1, "keepalive" },
							{ 2, "idle" }, { 4, "intvl" },
							{ 8, "cnt" }, { 16, "user_timeout" },
							{ 32, "syn_retries" },
							{ 64, "rto_max" }) :
						   "none"),
		      __entry->keepalive, __entry->idle, __entry->intvl,
		      __entry->cnt, __entry->user_timeout, __entry->syn_retries,
		      __entry->rto_max)
);

TRACE_EVENT(timeout,
	    TP_PROTO(const struct sock *sk, const struct tt_rule *rule, u8 dir,
		     u8 cause, int state, u32 heard_ms),
	    TP_ARGS(sk, rule, dir, cause, state, heard_ms),

	    TP_STRUCT__entry(/* tt_trace_sock() */
			     __array(char, rule, TT_RULE_SIZE)
			     __array(__u8, saddr, TT_SA_SIZE)
			     __array(__u8, daddr, TT_SA_SIZE)
			     __field(__u64, cgroup)
			     __field(__u32, netns)
			     __field(__u32, heard_ms)
			     __field(__u32, user_timeout)
			     __field(int, err)
			     __field(__u8, dir)
			     __field(__u8, cause)
			     __field(__u8, state)
			     __field(__u8, retransmits)
			     __field(__u8, probes)
	    ),

	    TP_fast_assign(tt_trace_sock(__entry->rule, __entry->saddr,
					 __entry->daddr, &__entry->netns,
					 &__entry->cgroup, sk, rule);
			   __entry->heard_ms = heard_ms;
			   __entry->user_timeout =
				READ_ONCE(inet_csk(sk)->icsk_user_timeout);
			   __entry->err = READ_ONCE(sk->sk_err);
			   __entry->dir = dir;
			   __entry->cause = cause;
			   __entry->state = state;
			   __entry->retransmits =
				READ_ONCE(inet_csk(sk)->icsk_retransmits);
			   __entry->probes = READ_ONCE(inet_csk(sk)->icsk_probes_out);
	    ),

	    TP_printk("rule=%s dir=%s cause=%s src=%pISpc dst=%pISpc netns=%u cgroup=%llu state=%s err=%d heard_ms=%u retransmits=%u probes=%u user_timeout=%u",
		      __entry->rule, tt_show_dir(__entry->dir),
		      __print_symbolic(__entry->cause,
				       { TT_CAUSE_UNKNOWN, "unknown" },
				       { TT_CAUSE_KEEPALIVE, "keepalive" },
				       { TT_CAUSE_RETRANS, "retransmission" },
				       { TT_CAUSE_ZERO_WINDOW, "zero_window" },
				       { TT_CAUSE_SYN, "syn" }),
		      __entry->saddr, __entry->daddr, __entry->netns,
		      __entry->cgroup, tt_show_state(__entry->state),
		      __entry->err, __entry->heard_ms, __entry->retransmits,
		      __entry->probes, __entry->user_timeout)
);

TRACE_EVENT(abort,
	    TP_PROTO(const struct sock *sk, const struct tt_rule *rule, u8 dir,
		     int state),
	    TP_ARGS(sk, rule, dir, state),

	    TP_STRUCT__entry(/* tt_trace_sock() */
			     __array(char, rule, TT_RULE_SIZE)
			     __array(__u8, saddr, TT_SA_SIZE)
			     __array(__u8, daddr, TT_SA_SIZE)
			     __field(__u64, cgroup)
			     __field(__u32, netns)
			     __field(__u8, dir)
			     __field(__u8, state)
	    ),

	    TP_fast_assign(tt_trace_sock(__entry->rule, __entry->saddr,
					 __entry->daddr, &__entry->netns,
					 &__entry->cgroup, sk, rule);
			   __entry->dir = dir;
			   __entry->state = state;
	    ),

	    TP_printk("rule=%s dir=%s state=%s src=%pISpc dst=%pISpc netns=%u cgroup=%llu",
		      __entry->rule, tt_show_dir(__entry->dir),
		      tt_show_state(__entry->state), __entry->saddr,
		      __entry->daddr, __entry->netns, __entry->cgroup)
);

#endif /* _TT_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE tt_trace
#include <trace/define_trace.h>
