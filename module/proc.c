// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: /proc/net/tcptimeo, one line per TCP connection of the
 * reader's network namespace with the values the kernel will use and the
 * rule that matches it now. Read-only and lockless towards the socket
 * (READ_ONCE snapshots under the ehash bucket lock), like /proc/net/tcp.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cgroup.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <net/inet_hashtables.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "tcptimeo.h"

static const char * const tt_state_names[] = {
	[TCP_ESTABLISHED] = "ESTABLISHED",
	[TCP_SYN_SENT] = "SYN_SENT",
	[TCP_SYN_RECV] = "SYN_RECV",
	[TCP_FIN_WAIT1] = "FIN_WAIT1",
	[TCP_FIN_WAIT2] = "FIN_WAIT2",
	[TCP_TIME_WAIT] = "TIME_WAIT",
	[TCP_CLOSE] = "CLOSE",
	[TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCP_LAST_ACK] = "LAST_ACK",
	[TCP_LISTEN] = "LISTEN",
	[TCP_CLOSING] = "CLOSING",
	[TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

static void tt_proc_addr(struct seq_file *m, const struct sock *sk, bool local)
{
	const struct inet_sock *inet = inet_sk(sk);
	u16 port = local ? inet->inet_num : ntohs(inet->inet_dport);

#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		seq_printf(m, "[%pI6c]:%u ", local ? &sk->sk_v6_rcv_saddr :
			   &sk->sk_v6_daddr, port);
		return;
	}
#endif
	seq_printf(m, "%pI4:%u ", local ? &inet->inet_rcv_saddr :
		   &inet->inet_daddr, port);
}

static void tt_proc_sock(struct seq_file *m, struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct tcp_sock *tp = tcp_sk(sk);
	const struct tt_rule *rule;
	int state = READ_ONCE(sk->sk_state);
	u8 syn = READ_ONCE(icsk->icsk_syn_retries);
	enum tt_verdict v;
	struct tt_tuple t;

	tt_proc_addr(m, sk, true);
	tt_proc_addr(m, sk, false);
	seq_printf(m, "%s %llu %d %u %u %u %u %u ",
		   state < ARRAY_SIZE(tt_state_names) && tt_state_names[state] ?
		   tt_state_names[state] : "?",
		   tt_sk_cgroup_id(sk), sock_flag(sk, SOCK_KEEPOPEN),
		   keepalive_time_when(tp) / HZ, keepalive_intvl_when(tp) / HZ,
		   keepalive_probes(tp), READ_ONCE(icsk->icsk_user_timeout),
		   syn ? syn :
		   READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_syn_retries));
	tt_tuple_fill(&t, sk, tt_sk_passive(sk));
	rule = tt_rules_lookup(&t, sk, &v);
	seq_printf(m, "%s\n", rule ? rule->cfg.name : "-");
}

static int tt_proc_show(struct seq_file *m, void *v)
{
	struct net *net = seq_file_single_net(m);
	struct inet_hashinfo *h = net->ipv4.tcp_death_row.hashinfo;
	struct hlist_nulls_node *node;
	struct sock *sk;
	unsigned int i;

	seq_puts(m, "local remote state cgroup keepalive idle intvl cnt user_timeout syn_retries rule\n");
	rcu_read_lock();
	for (i = 0; i <= h->ehash_mask; i++) {
		if (hlist_nulls_empty(&h->ehash[i].chain))
			continue;
		spin_lock_bh(inet_ehash_lockp(h, i));
		sk_nulls_for_each(sk, node, &h->ehash[i].chain) {
			if (sk_fullsock(sk) && net_eq(sock_net(sk), net))
				tt_proc_sock(m, sk);
		}
		spin_unlock_bh(inet_ehash_lockp(h, i));
		/* seq_file re-runs us with a larger buffer on overflow */
		if (seq_has_overflowed(m))
			break;
	}
	rcu_read_unlock();
	return 0;
}

static int __net_init tt_proc_net_init(struct net *net)
{
	if (!proc_create_net_single("tcptimeo", 0444, net->proc_net,
				    tt_proc_show, NULL))
		return -ENOMEM;
	return 0;
}

static void __net_exit tt_proc_net_exit(struct net *net)
{
	remove_proc_entry("tcptimeo", net->proc_net);
}

static struct pernet_operations tt_proc_ops = {
	.init = tt_proc_net_init,
	.exit = tt_proc_net_exit,
};

int tt_proc_init(void)
{
	return register_pernet_subsys(&tt_proc_ops);
}

void tt_proc_exit(void)
{
	unregister_pernet_subsys(&tt_proc_ops);
}
