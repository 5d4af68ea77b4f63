// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: the tracepoints of tt_trace.h, instantiated here, and the
 * helpers their TP_fast_assign() calls. These run only while an event is
 * enabled, in the context of the call site (the probe: softirq or
 * process context, socket owned; walk.c and sockopt.c: process context,
 * socket locked), under RCU where a rule is passed: lockless reads only.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/build_bug.h>
#include <linux/jiffies.h>
#include <linux/string.h>
#include <net/inet_connection_sock.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "tcptimeo.h"
#include "tt_trace.h"

static void tt_trace_sa4(u8 *buf, __be32 addr, __be16 port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)buf;

	sin->sin_family = AF_INET;
	sin->sin_port = port;
	sin->sin_addr.s_addr = addr;
}

/*
 * The fields every event starts with: the rule's name ("-": none), the
 * local and remote endpoint (IPv4-mapped peers as IPv4, as
 * tt_tuple_fill()), the network namespace and the cgroup.
 */
void tt_trace_sock(char *name, u8 *saddr, u8 *daddr, u32 *netns,
		   u64 *cgroup, const struct sock *sk,
		   const struct tt_rule *rule)
{
	const struct inet_sock *inet = inet_sk(sk);

	BUILD_BUG_ON(sizeof(struct sockaddr_in6) != TT_SA_SIZE);
	BUILD_BUG_ON(sizeof(rule->cfg.name) != TT_RULE_SIZE);
	strscpy(name, rule ? rule->cfg.name : "-", TT_RULE_SIZE);
	*netns = sock_net(sk)->ns.inum;
	*cgroup = tt_sk_cgroup_id(sk);
	memset(saddr, 0, TT_SA_SIZE);
	memset(daddr, 0, TT_SA_SIZE);
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 &&
	    !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)saddr;
		struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)daddr;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = inet->inet_sport;
		s6->sin6_addr = sk->sk_v6_rcv_saddr;
		d6->sin6_family = AF_INET6;
		d6->sin6_port = inet->inet_dport;
		d6->sin6_addr = sk->sk_v6_daddr;
		return;
	}
#endif
	tt_trace_sa4(saddr, inet->inet_saddr, inet->inet_sport);
	tt_trace_sa4(daddr, inet->inet_daddr, inet->inet_dport);
}

/* The socket's effective values, as getsockopt() would report them. */
void tt_trace_values(const struct sock *sk, u8 *keepalive, u32 *idle,
		     u32 *intvl, u8 *cnt, u32 *user_timeout, u8 *syn_retries,
		     u32 *rto_max)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct tcp_sock *tp = tcp_sk(sk);
	u8 syn = READ_ONCE(icsk->icsk_syn_retries);

	*keepalive = sock_flag(sk, SOCK_KEEPOPEN);
	*idle = keepalive_time_when(tp) / HZ;
	*intvl = keepalive_intvl_when(tp) / HZ;
	*cnt = keepalive_probes(tp);
	*user_timeout = READ_ONCE(icsk->icsk_user_timeout);
	*syn_retries = syn ? : READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_syn_retries);
	*rto_max = tt_rto_max_supported() ? jiffies_to_msecs(tt_rto_max_get(sk)) : 0;
}

#define CREATE_TRACE_POINTS
#include "tt_trace.h"
