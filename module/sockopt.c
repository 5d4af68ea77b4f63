// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: keep a rule in effect after the application's own
 * setsockopt().
 *
 * A socket is decided once, at connect() or accept(); much software sets
 * keepalive options right after that (Go's net.Dialer, hiredis). Two
 * kprobes sit where every such setsockopt() of a TCP socket passes:
 *
 *   tcp_setsockopt()     level IPPROTO_TCP, IPv4 and IPv6: TCP_KEEPIDLE,
 *                        TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT,
 *                        TCP_SYNCNT, TCP_RTO_MAX_MS. Before the kernel
 *                        takes the lock.
 *   tcp_set_keepalive()  sk_prot->keepalive(), SO_KEEPALIVE's TCP part,
 *                        under lock_sock() of the same task.
 *
 * The pre-handler runs in the application's system call with preemption
 * disabled (kprobe), before the option changes. It only reads: the rule
 * that governs the socket now (the lookup the probe makes) and whether
 * the socket carries that rule's values. If so it queues a task_work,
 * which runs before this system call returns to user space, in process
 * context: it takes lock_sock() as setsockopt() does and applies the
 * rule once more (tt_resync()). So the application's getsockopt() right
 * after its own setsockopt() sees the rule's value:
 *
 *   force   every rule value is written back;
 *   clamp   values above the rule's (or "off") are lowered to it;
 *   fill    the application's value stays (counted in skipped_app_set),
 *           but a "user-timeout auto" the socket still holds follows the
 *           new keepalive values.
 *
 * Not covered: setsockopt() from a kernel thread or an io_uring worker
 * (their task_work may not run for a long time), or from BPF
 * (bpf_setsockopt() reaches do_tcp_setsockopt() directly). No probe,
 * task_work or socket reference is left behind at rmmod: tt_sockopt_exit()
 * unregisters the probes, then waits for every queued task_work.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/wait_bit.h>
#include <net/tcp.h>

#include "compat.h"
#include "tcptimeo.h"

struct tt_resync {
	struct callback_head twork;
	struct sock *sk;
	enum tt_opt opt;	/* what the application sets */
	struct tt_check c;	/* the socket before the call */
};

/* Queued and not yet finished task_works; rmmod waits for 0. */
static atomic_t tt_resync_pending = ATOMIC_INIT(0);

/*
 * The rule that governs @sk now, if any: none for a socket not connected
 * or accepted (yet, or any more). Caller holds RCU.
 */
static const struct tt_rule *tt_resync_rule(const struct sock *sk)
{
	const struct tt_rule *rule;
	enum tt_verdict v;
	struct tt_tuple t;

	if (!READ_ONCE(tt_enabled) || tt_rules_empty() ||
	    (1 << READ_ONCE(sk->sk_state)) & (TCPF_CLOSE | TCPF_LISTEN) ||
	    tt_sk_skip_kernel(sk))
		return NULL;
	tt_tuple_fill(&t, sk, tt_sk_passive(sk));
	rule = tt_rules_lookup(&t, sk, &v);
	if (!rule || v != TT_MATCH || rule->cfg.opts.audit ||
	    READ_ONCE(tt_audit))
		return NULL;
	return rule;
}

/* Process context, before the return to user space: see the top. */
static void tt_resync_fn(struct callback_head *head)
{
	struct tt_resync *r = container_of(head, struct tt_resync, twork);
	const struct tt_rule *rule;
	struct sock *sk = r->sk;

	lock_sock(sk);
	rcu_read_lock();
	rule = tt_resync_rule(sk);
	if (rule)
		tt_resync(sk, rule, r->opt, &r->c);
	rcu_read_unlock();
	release_sock(sk);
	sock_put(sk);
	kfree(r);
	/* The last access to anything of ours but this function's text. */
	if (atomic_dec_and_test(&tt_resync_pending))
		wake_up_var(&tt_resync_pending);
}

/*
 * Called by both pre-handlers, in the application's system call,
 * preemption disabled: only reads the socket, allocates atomically.
 */
static void tt_resync_queue(struct sock *sk, enum tt_opt opt)
{
	const struct tt_rule *rule;
	struct tt_resync *r;
	struct tt_check c;

	if (!in_task() || !current->mm ||
	    (current->flags & (PF_KTHREAD | PF_IO_WORKER)))
		return;
	rcu_read_lock();
	rule = tt_resync_rule(sk);
	if (rule)
		tt_check(sk, rule, opt, &c);
	rcu_read_unlock();
	if (!rule || !c.watch)
		return;
	r = kmalloc(sizeof(*r), GFP_ATOMIC | __GFP_NOWARN);
	if (!r)
		return;
	init_task_work(&r->twork, tt_resync_fn);
	r->sk = sk;
	r->opt = opt;
	r->c = c;
	sock_hold(sk);
	atomic_inc(&tt_resync_pending);
	if (task_work_add(current, &r->twork, TWA_RESUME)) {
		/* the task is exiting: it will not return to user space */
		sock_put(sk);
		kfree(r);
		atomic_dec(&tt_resync_pending);
	}
}

static int tt_pre_tcp_setsockopt(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	int level = (int)regs_get_kernel_argument(regs, 1);
	int optname = (int)regs_get_kernel_argument(regs, 2);
	enum tt_opt opt;

	if (level != SOL_TCP)
		return 0;
	switch (optname) {
	case TCP_KEEPIDLE:
		opt = TT_OPT_KEEPIDLE;
		break;
	case TCP_KEEPINTVL:
		opt = TT_OPT_KEEPINTVL;
		break;
	case TCP_KEEPCNT:
		opt = TT_OPT_KEEPCNT;
		break;
	case TCP_USER_TIMEOUT:
		opt = TT_OPT_USER_TIMEOUT;
		break;
	case TCP_SYNCNT:
		opt = TT_OPT_SYNCNT;
		break;
	case TCP_RTO_MAX_MS:
		opt = TT_OPT_RTO_MAX;
		break;
	default:
		return 0;
	}
	tt_resync_queue(sk, opt);
	return 0;
}

/*
 * Only turning keepalive off can undo a rule: turning it on lifts no
 * bound and changes no "auto" value. This also ignores tt_resync()'s own
 * sk_prot->keepalive(sk, 1), which re-arms the timer.
 */
static int tt_pre_tcp_set_keepalive(struct kprobe *kp, struct pt_regs *regs)
{
	if (!regs_get_kernel_argument(regs, 1))
		tt_resync_queue((struct sock *)regs_get_kernel_argument(regs, 0),
				TT_OPT_KEEPALIVE);
	return 0;
}

static struct kprobe tt_kp_setsockopt = {
	.symbol_name = "tcp_setsockopt",
	.pre_handler = tt_pre_tcp_setsockopt,
};

static struct kprobe tt_kp_keepalive = {
	.symbol_name = "tcp_set_keepalive",
	.pre_handler = tt_pre_tcp_set_keepalive,
};

static struct kprobe *tt_kps[] = { &tt_kp_setsockopt, &tt_kp_keepalive };
static bool tt_kps_on;

/* Without the probes rules still apply at connect() and accept(). */
void tt_sockopt_init(void)
{
	int err = register_kprobes(tt_kps, ARRAY_SIZE(tt_kps));

	if (err) {
		pr_warn("cannot probe tcp_setsockopt/tcp_set_keepalive (%d): an application's later setsockopt() overrides force and clamp\n",
			err);
		return;
	}
	tt_kps_on = true;
}

void tt_sockopt_exit(void)
{
	if (!tt_kps_on)
		return;
	/* returns once no CPU runs a pre-handler: none can queue more */
	unregister_kprobes(tt_kps, ARRAY_SIZE(tt_kps));
	wait_var_event(&tt_resync_pending, !atomic_read(&tt_resync_pending));
	/* a task may be between the atomic_dec and the return of tt_resync_fn() */
	synchronize_rcu_tasks();
}
