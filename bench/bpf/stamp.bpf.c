// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF peer of tcptimeo's benchmark: a cgroup sock_ops program that
 * stamps the values of the benchmark's rule with bpf_setsockopt():
 *
 *   TCP_CONNECT_CB           (active side, before the SYN)  TCP_SYNCNT
 *   ACTIVE_ESTABLISHED_CB    (connect() finished)           the rest
 *   PASSIVE_ESTABLISHED_CB   (accepted child)               the rest
 *
 * "The rest" is SO_KEEPALIVE 1, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT
 * and TCP_USER_TIMEOUT: the same six calls per connection pair as the
 * rule stamps (six on the client, five on the server). Like the rule it
 * stamps every TCP socket of the cgroup, here the root cgroup, so it
 * needs no address filter in the benchmark's VM.
 *
 * Only uapi <linux/bpf.h> and libbpf's bpf_helpers.h: struct bpf_sock_ops
 * is uapi, so no vmlinux.h and no CO-RE are needed.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SOL_SOCKET		1
#define SO_KEEPALIVE		9
#define SOL_TCP			6
#define TCP_KEEPIDLE		4
#define TCP_KEEPINTVL		5
#define TCP_KEEPCNT		6
#define TCP_SYNCNT		7
#define TCP_USER_TIMEOUT	18

/* The benchmark rule's values (bench/ttrules.c, BENCH_* there). */
const volatile int keepidle = 10;
const volatile int keepintvl = 5;
const volatile int keepcnt = 3;
const volatile int user_timeout = 30000;
const volatile int syn_retries = 3;

static __always_inline void set(struct bpf_sock_ops *skops, int level,
				int opt, int val)
{
	bpf_setsockopt(skops, level, opt, &val, sizeof(val));
}

SEC("sockops")
int tt_bench_stamp(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		set(skops, SOL_TCP, TCP_SYNCNT, syn_retries);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		set(skops, SOL_SOCKET, SO_KEEPALIVE, 1);
		set(skops, SOL_TCP, TCP_KEEPIDLE, keepidle);
		set(skops, SOL_TCP, TCP_KEEPINTVL, keepintvl);
		set(skops, SOL_TCP, TCP_KEEPCNT, keepcnt);
		set(skops, SOL_TCP, TCP_USER_TIMEOUT, user_timeout);
		break;
	}
	return 1;
}

char _license[] SEC("license") = "GPL";
