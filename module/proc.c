// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: /proc/net/tcptimeo, one line per TCP connection of the
 * reader's network namespace with the values the kernel will use and the
 * rule that matches it now.
 *
 * A seq_file iterator over the namespace's ehash, in the manner of the
 * bpf tcp iterator: under one bucket lock at a time it only picks up to
 * TT_PROC_BATCH sockets and takes a reference on each; the lock is dropped
 * before any of them is formatted, so the listener lookup (tt_sk_passive)
 * and the rule lookup run with no lock of ours held (RCU only, per socket).
 * The position is (bucket, sockets of ours in it already shown): each
 * read() resumes there, no RCU section or lock spans a read, and stop()
 * drops every reference before seq_file copies to user space. Memory is
 * the seq_file page and this iterator. As with /proc/net/tcp, a socket
 * hashed or unhashed in a bucket between two reads may be shown twice or
 * missed once.
 *
 * Access: mode 0400 (the netns owner, see proc_net_ns_init()) and
 * CAP_NET_ADMIN over the namespace's user namespace at open().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <net/inet_hashtables.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "compat.h"
#include "tcptimeo.h"

#define TT_PROC_BATCH	16

struct tt_proc_iter {
	struct net *net;	/* a reference, from open() to release() */
	loff_t last_pos;	/* the *pos start() resumes at */
	unsigned int bucket;	/* the bucket batch[] comes from */
	unsigned int offset;	/* its sockets of ours before batch[0] */
	unsigned int cur;	/* batch[cur] is the record at last_pos */
	unsigned int end;	/* batch[cur..end) hold a reference */
	struct sock *batch[TT_PROC_BATCH];
};

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

static struct inet_hashinfo *tt_proc_hash(const struct tt_proc_iter *it)
{
	return it->net->ipv4.tcp_death_row.hashinfo;
}

/*
 * Under the bucket lock. TIME_WAIT and request sockets are not full
 * sockets. A hashed full socket always holds a reference; one whose count
 * is already zero is being freed and counts for neither skip nor pick,
 * so that the position stays exact.
 */
static bool tt_proc_match(const struct sock *sk, const struct net *net)
{
	return sk_fullsock(sk) && net_eq(sock_net(sk), net) &&
	       refcount_read(&sk->sk_refcnt);
}

/*
 * Fill batch[] from (bucket, offset) on: the first bucket at or after
 * it->bucket with a socket of ours past it->offset. Returns the number
 * picked, 0 at the end of the table. Sleeps (cond_resched) between
 * buckets; holds one bucket lock at a time, never across a lookup.
 */
static unsigned int tt_proc_fill(struct tt_proc_iter *it)
{
	struct inet_hashinfo *h = tt_proc_hash(it);
	struct hlist_nulls_node *node;
	unsigned int seen, n = 0;
	struct sock *sk;

	it->cur = 0;
	it->end = 0;
	for (; it->bucket <= h->ehash_mask; it->bucket++, it->offset = 0) {
		cond_resched();
		/* lockless look at an empty bucket, as tcp_seq does */
		if (hlist_nulls_empty(&h->ehash[it->bucket].chain))
			continue;
		seen = 0;
		spin_lock_bh(inet_ehash_lockp(h, it->bucket));
		sk_nulls_for_each(sk, node, &h->ehash[it->bucket].chain) {
			if (!tt_proc_match(sk, it->net) || seen++ < it->offset)
				continue;
			/* zero since the look: freed, like one unhashed */
			if (!refcount_inc_not_zero(&sk->sk_refcnt))
				continue;
			it->batch[n++] = sk;
			if (n == TT_PROC_BATCH)
				break;
		}
		spin_unlock_bh(inet_ehash_lockp(h, it->bucket));
		if (n) {
			it->end = n;
			return n;
		}
	}
	return 0;
}

/* Drop the references not shown yet; the position stays at batch[cur]. */
static void tt_proc_put_batch(struct tt_proc_iter *it)
{
	it->offset += it->cur;
	while (it->cur < it->end)
		sock_gen_put(it->batch[it->cur++]);
	it->cur = 0;
	it->end = 0;
}

/* Position at the @idx-th socket (from 0): count, under each lock, only. */
static void tt_proc_seek(struct tt_proc_iter *it, loff_t idx)
{
	struct inet_hashinfo *h = tt_proc_hash(it);
	struct hlist_nulls_node *node;
	unsigned int seen;
	struct sock *sk;

	for (it->bucket = 0; it->bucket <= h->ehash_mask; it->bucket++) {
		cond_resched();
		if (hlist_nulls_empty(&h->ehash[it->bucket].chain))
			continue;
		seen = 0;
		spin_lock_bh(inet_ehash_lockp(h, it->bucket));
		sk_nulls_for_each(sk, node, &h->ehash[it->bucket].chain) {
			if (tt_proc_match(sk, it->net))
				seen++;
		}
		spin_unlock_bh(inet_ehash_lockp(h, it->bucket));
		if (idx < seen)
			break;
		idx -= seen;
	}
	it->offset = idx;
}

static void *tt_proc_start(struct seq_file *m, loff_t *pos)
{
	struct tt_proc_iter *it = m->private;

	if (!*pos) {
		it->bucket = 0;
		it->offset = 0;
		it->last_pos = 0;
		return SEQ_START_TOKEN;
	}
	/* a read that does not continue the last one (lseek, pread) */
	if (*pos != it->last_pos)
		tt_proc_seek(it, *pos - 1);
	it->last_pos = *pos;
	return tt_proc_fill(it) ? it->batch[0] : NULL;
}

static void *tt_proc_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct tt_proc_iter *it = m->private;

	++*pos;
	it->last_pos = *pos;
	if (v != SEQ_START_TOKEN) {
		sock_gen_put(it->batch[it->cur++]);
		if (it->cur < it->end)
			return it->batch[it->cur];
		it->offset += it->end;
	}
	return tt_proc_fill(it) ? it->batch[0] : NULL;
}

static void tt_proc_stop(struct seq_file *m, void *v)
{
	tt_proc_put_batch(m->private);
}

static void tt_proc_addr(struct seq_file *m, const struct sock *sk, bool local)
{
	const struct inet_sock *inet = inet_sk(sk);
	u16 port = local ? READ_ONCE(inet->inet_num) :
			   ntohs(READ_ONCE(inet->inet_dport));

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

/*
 * Process context, a reference held, no lock: the socket may change or
 * close meanwhile, so each field is one READ_ONCE snapshot (as for
 * /proc/net/tcp). The listener and rule lookups need only RCU.
 */
static int tt_proc_show(struct seq_file *m, void *v)
{
	struct sock *sk = v;
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct tcp_sock *tp = tcp_sk(sk);
	const struct tt_rule *rule;
	enum tt_verdict verdict;
	struct tt_tuple t;
	enum tt_opt opt;
	int state;
	u8 syn;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "local remote state cgroup keepalive idle intvl cnt user_timeout syn_retries rule from rto_max\n");
		return 0;
	}
	/* closed since it was picked: no longer a connection to show */
	if (sk_unhashed(sk))
		return SEQ_SKIP;
	state = READ_ONCE(sk->sk_state);
	syn = READ_ONCE(icsk->icsk_syn_retries);
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
	rcu_read_lock();
	tt_tuple_fill(&t, sk, tt_sk_passive(sk));
	rule = tt_rules_lookup(&t, sk, &verdict);
	seq_printf(m, "%s ", rule ? rule->cfg.name : "-");
	for (opt = TT_OPT_KEEPALIVE; opt <= TT_OPT_SYNCNT; opt++)
		seq_putc(m, tt_opt_from(sk, rule, opt));
	/* appended, so that readers of the older columns read on */
	if (tt_rto_max_supported())
		seq_printf(m, "%c %u\n", tt_opt_from(sk, rule, TT_OPT_RTO_MAX),
			   jiffies_to_msecs(tt_rto_max_get(sk)));
	else
		seq_puts(m, "- -\n");
	rcu_read_unlock();
	return 0;
}

static const struct seq_operations tt_proc_seq_ops = {
	.start = tt_proc_start,
	.next = tt_proc_next,
	.stop = tt_proc_stop,
	.show = tt_proc_show,
};

/*
 * The file's namespace is its proc entry's data. The VFS has already
 * checked mode 0400 against the namespace's owner (EACCES); the
 * capability is checked here, against the user namespace that owns the
 * network namespace, for the opener's credentials (EPERM), as
 * /proc/net files that expose other users' sockets do.
 */
static int tt_proc_open(struct inode *inode, struct file *file)
{
	struct net *net = pde_data(inode);
	struct tt_proc_iter *it;

	if (!file_ns_capable(file, net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	net = maybe_get_net(net);
	if (!net)
		return -ENXIO;	/* the namespace is going away */
	it = __seq_open_private(file, &tt_proc_seq_ops, sizeof(*it));
	if (!it) {
		put_net(net);
		return -ENOMEM;
	}
	it->net = net;
	return 0;
}

static int tt_proc_release(struct inode *inode, struct file *file)
{
	struct seq_file *m = file->private_data;
	struct tt_proc_iter *it = m->private;

	put_net(it->net);
	return seq_release_private(inode, file);
}

static const struct proc_ops tt_proc_fops = {
	.proc_open = tt_proc_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = tt_proc_release,
};

static int __net_init tt_proc_net_init(struct net *net)
{
	/* under net->proc_net: owned by the netns's root, looked up anew
	 * after setns() like every /proc/net entry
	 */
	if (!proc_create_data("tcptimeo", 0400, net->proc_net, &tt_proc_fops,
			      net))
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
