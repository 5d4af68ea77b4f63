/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptimeo: every difference between the kernels we build for, and
 * nothing else, so the rest of the module reads as written for the
 * newest one.
 */
#ifndef _TCPTIMEO_COMPAT_H
#define _TCPTIMEO_COMPAT_H

#include <linux/cgroup.h>
#include <linux/proc_fs.h>
#include <net/inet6_hashtables.h>
#include <net/inet_hashtables.h>
#include <net/sock.h>
#include <net/tcp.h>

/* Is the socket's cgroup (v2) @ancestor or below it? */
static inline bool tt_sk_under_cgroup(const struct sock *sk,
				      struct cgroup *ancestor)
{
#ifdef CONFIG_SOCK_CGROUP_DATA
	/* sock_cgroup_ptr() only reads, but its argument is not const */
	struct sock_cgroup_data *skcd = (struct sock_cgroup_data *)&sk->sk_cgrp_data;

	return cgroup_is_descendant(sock_cgroup_ptr(skcd), ancestor);
#else
	return false;
#endif
}

/* The socket's cgroup (v2), or NULL where sockets carry none. */
static inline struct cgroup *tt_sk_cgroup(const struct sock *sk)
{
#ifdef CONFIG_SOCK_CGROUP_DATA
	struct sock_cgroup_data *skcd = (struct sock_cgroup_data *)&sk->sk_cgrp_data;

	return sock_cgroup_ptr(skcd);
#else
	return NULL;
#endif
}

static inline u64 tt_sk_cgroup_id(const struct sock *sk)
{
#ifdef CONFIG_SOCK_CGROUP_DATA
	struct sock_cgroup_data *skcd = (struct sock_cgroup_data *)&sk->sk_cgrp_data;

	return cgroup_id(sock_cgroup_ptr(skcd));
#else
	return 0;
#endif
}

/*
 * Listener lookups lost their hashinfo argument in 7.x (the table is found
 * from the netns). Kbuild defines TT_LOOKUP_TAKES_HASHINFO for older ones.
 */
#ifdef TT_LOOKUP_TAKES_HASHINFO
#define tt_hashinfo(net)	((net)->ipv4.tcp_death_row.hashinfo)

static inline struct sock *tt_lookup_listener4(struct net *net, __be32 saddr,
					       __be16 sport, __be32 daddr,
					       u16 hnum, int dif)
{
	return __inet_lookup_listener(net, tt_hashinfo(net), NULL, 0, saddr,
				      sport, daddr, hnum, dif, 0);
}

static inline struct sock *tt_lookup_listener6(struct net *net,
					       const struct in6_addr *saddr,
					       __be16 sport,
					       const struct in6_addr *daddr,
					       u16 hnum, int dif)
{
	return inet6_lookup_listener(net, tt_hashinfo(net), NULL, 0, saddr,
				     sport, daddr, hnum, dif, 0);
}
#else
static inline struct sock *tt_lookup_listener4(struct net *net, __be32 saddr,
					       __be16 sport, __be32 daddr,
					       u16 hnum, int dif)
{
	return __inet_lookup_listener(net, NULL, 0, saddr, sport, daddr, hnum,
				      dif, 0);
}

static inline struct sock *tt_lookup_listener6(struct net *net,
					       const struct in6_addr *saddr,
					       __be16 sport,
					       const struct in6_addr *daddr,
					       u16 hnum, int dif)
{
	return inet6_lookup_listener(net, NULL, 0, saddr, sport, daddr, hnum,
				     dif, 0);
}
#endif

/*
 * The attribute argument of a bin_attribute's ->read() became const in
 * 6.13 (stable backports make version numbers unreliable, so Kbuild
 * probes the header and defines TT_HAVE_CONST_BIN_READ).
 */
#ifdef TT_HAVE_CONST_BIN_READ
#define TT_BIN_ATTR_CONST const
#else
#define TT_BIN_ATTR_CONST
#endif

/* PDE_DATA() became pde_data() in 5.17 (Kbuild: TT_HAVE_PDE_DATA). */
#ifndef TT_HAVE_PDE_DATA
#define pde_data(inode)		PDE_DATA(inode)
#endif

/*
 * A per-socket ceiling on the retransmission timeout (TCP_RTO_MAX_MS,
 * icsk_rto_max, net.ipv4.tcp_rto_max_ms) came in 6.15 (Kbuild:
 * TT_HAVE_RTO_MAX). Before, every socket's ceiling is TCP_RTO_MAX and a
 * rule cannot set one (configfs refuses it, so the stores below are never
 * reached there). Values in jiffies; the writes are lockless in the
 * kernel's own setsockopt() too, and every reader uses READ_ONCE().
 */
#ifdef TT_HAVE_RTO_MAX
static inline bool tt_rto_max_supported(void)
{
	return true;
}

static inline u32 tt_rto_max_get(const struct sock *sk)
{
	return READ_ONCE(inet_csk(sk)->icsk_rto_max);
}

static inline void tt_rto_max_set(struct sock *sk, u32 val)
{
	WRITE_ONCE(inet_csk(sk)->icsk_rto_max, val);
}

/* What tcp_init_sock() gives a new socket of @sk's namespace. */
static inline u32 tt_rto_max_default(const struct sock *sk)
{
	return msecs_to_jiffies(READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_rto_max_ms));
}
#else
#ifndef TCP_RTO_MAX_MS
#define TCP_RTO_MAX_MS		44	/* an unknown option before 6.15 */
#endif

static inline bool tt_rto_max_supported(void)
{
	return false;
}

static inline u32 tt_rto_max_get(const struct sock *sk)
{
	return TCP_RTO_MAX;
}

static inline void tt_rto_max_set(struct sock *sk, u32 val)
{
}

static inline u32 tt_rto_max_default(const struct sock *sk)
{
	return TCP_RTO_MAX;
}
#endif

/* io_uring's workers are marked since 5.12; before, they are kthreads. */
#ifndef PF_IO_WORKER
#define PF_IO_WORKER		0
#endif

#endif /* _TCPTIMEO_COMPAT_H */
