// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: connect()'s decisions, kept until the connection is established.
 *
 * An unbound outgoing connection is decided at connect() before its local
 * port is chosen, so a rule that selects local ports can only answer "wait"
 * (TT_NEED_LPORT) then, and the decision is finished once established
 * (hook.c). To finish it without a second full lookup, connect() keeps
 * what it found (struct tt_waits: the first rule that matched without the
 * port, the rules before it that wait for it) per socket, here, and the
 * established-time decision only tries the rules that waited
 * (tt_rules_finish()). A connection connect() did not decide in full is
 * then not looked up again at all.
 *
 * A fixed table of TT_PEND_SLOTS slots, open addressing over TT_PEND_PROBE
 * neighbours, keyed by the socket's address. A slot belongs to its socket
 * from connect() (CLOSE -> SYN_SENT) until the socket leaves SYN_SENT:
 * every way out (ESTABLISHED, SYN_RECV, CLOSE) goes through tcp_set_state()
 * and so through the probe, which takes the slot back before any of its
 * early returns (tt_probe()). A socket is freed only in CLOSE, so a slot
 * never outlives its socket, and the table dies with the module.
 *
 * Only the socket's owner context touches its slot: connect() under
 * lock_sock(), the transitions out of SYN_SENT under bh_lock_sock() or by
 * the owner, so the socket lock orders a slot's contents between them.
 * Between sockets, an empty slot is claimed with cmpxchg() and given back
 * with a release store after its contents are read. No lock, no
 * allocation: a full neighbourhood keeps nothing, and the connection is
 * then decided by a full lookup, as if the module had been loaded after
 * its connect().
 */
#include <linux/atomic.h>
#include <linux/hash.h>
#include <linux/percpu.h>
#include <linux/seq_file.h>
#include <net/sock.h>

#include "compat.h"
#include "tcptimeo.h"

#define TT_PEND_BITS		11
#define TT_PEND_SLOTS		BIT(TT_PEND_BITS)
#define TT_PEND_PROBE		8

struct tt_pend {
	const struct sock *sk;		/* NULL: free */
	struct tt_waits w;
};

static struct tt_pend tt_pend[TT_PEND_SLOTS];
static atomic_t tt_npend;		/* slots in use */

/* debugfs only: how established-time decisions were made */
struct tt_pend_stats {
	unsigned long unkept;		/* no free slot at connect() */
	unsigned long finished;		/* from the slot */
	unsigned long full;		/* a full lookup */
};

static DEFINE_PER_CPU(struct tt_pend_stats, tt_pend_stats);

static struct tt_pend *tt_pend_slot(u32 h, u32 i)
{
	return &tt_pend[(h + i) & (TT_PEND_SLOTS - 1)];
}

/* connect(): keep @w for @sk. Owner context, preemption disabled. */
void tt_pend_keep(struct sock *sk, const struct tt_waits *w)
{
	u32 h = hash_ptr(sk, TT_PEND_BITS), i;
	struct tt_pend *p;

	for (i = 0; i < TT_PEND_PROBE; i++) {
		p = tt_pend_slot(h, i);
		if (!READ_ONCE(p->sk) && !cmpxchg(&p->sk, NULL, sk)) {
			p->w = *w;
			atomic_inc(&tt_npend);
			return;
		}
	}
	this_cpu_inc(tt_pend_stats.unkept);
}

/*
 * @sk leaves SYN_SENT: its slot's contents into @w, and the slot freed.
 * False if it has none. Owner context, preemption disabled.
 */
bool tt_pend_take(const struct sock *sk, struct tt_waits *w)
{
	u32 h, i;
	struct tt_pend *p;

	if (!atomic_read(&tt_npend))
		return false;
	h = hash_ptr(sk, TT_PEND_BITS);
	for (i = 0; i < TT_PEND_PROBE; i++) {
		p = tt_pend_slot(h, i);
		if (READ_ONCE(p->sk) == sk) {
			*w = p->w;
			/* the copy is read before another socket claims it */
			smp_store_release(&p->sk, NULL);
			atomic_dec(&tt_npend);
			return true;
		}
	}
	return false;
}

/* An established-time decision: @finished from its slot, or in full. */
void tt_pend_count(bool finished)
{
	if (finished)
		this_cpu_inc(tt_pend_stats.finished);
	else
		this_cpu_inc(tt_pend_stats.full);
}

/* debugfs tcptimeo/index's "pending" line (not ABI). */
void tt_pend_show(struct seq_file *m)
{
	struct tt_pend_stats sum = { 0 }, *s;
	int cpu;

	for_each_possible_cpu(cpu) {
		s = per_cpu_ptr(&tt_pend_stats, cpu);
		sum.unkept += READ_ONCE(s->unkept);
		sum.finished += READ_ONCE(s->finished);
		sum.full += READ_ONCE(s->full);
	}
	seq_printf(m, "pending slots %lu kept %d unkept %lu finished %lu full %lu\n",
		   TT_PEND_SLOTS, atomic_read(&tt_npend), sum.unkept,
		   sum.finished, sum.full);
}
