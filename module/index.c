// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: the rule index, a tuple space search.
 *
 * A lookup must find the first rule, in evaluation order, that matches a
 * connection, at a cost that does not grow with the number of rules. Each
 * rule is filed, per direction, under one of its selectors: the one that
 * gives it the fewest slots. A selector value becomes a key of a "shape":
 *
 *   local-port/k, remote-port/k   a block of 2^k ports (a port range is cut
 *                                 into aligned blocks: at most 2 per bit)
 *   remote-addr4/p, remote-addr6/p  a CIDR of prefix length p
 *   cgroup                        the rule's cgroup
 *   netns                         the namespace's inode number
 *
 * A lookup probes every shape present, so the shapes are coarse: a block
 * is filed under the aligned block of 2^k' ports that holds it, k' = k
 * rounded up to a multiple of TT_PORT_STRIDE, and a CIDR under its prefix
 * of p' bits, p' = p rounded down to a multiple of TT_ADDR4_STRIDE or
 * TT_ADDR6_STRIDE. A bucket may then hold a rule that the connection's key
 * does not satisfy; the full evaluation of each candidate (tt_rule_eval)
 * tells, as it does for hash collisions. Without it, random prefixes and
 * ranges made 148 shapes out of 10,000 rules, and a lookup computed 35.
 *
 * All keys of both directions share one hash table (bucket = hash of
 * direction, shape and key), whose buckets hold their slots in evaluation
 * order. A rule without a usable selector in a direction is a wildcard
 * there. A lookup computes, for every shape present in its direction, the
 * connection's key (for cgroups: its cgroup and each ancestor) and probes
 * that one bucket, then the wildcard list, keeping the best rank: a bucket
 * is left at the first slot that cannot beat the best so far. The cost
 * grows with the number of distinct shapes, never with the number of rules.
 *
 * Most shapes have no key that a given connection satisfies, so a lookup
 * does not probe them all: per direction, each port and address field has
 * a filter, one small hashed table of shape masks read with the field's
 * value, that names the shapes of the field with a key near that value
 * (struct tt_filter). A cgroup is probed only at the levels of the rules'
 * cgroups, a netns only when a 64-bit bloom of the rules' netns keys has
 * its bit. A filter may let a shape through in vain, never hold one back.
 *
 * The local port of an outgoing connection may not be known yet when it is
 * decided at connect() (tt_tuple.lport_known false); a rule that selects
 * it then answers TT_NEED_LPORT, and the decision is taken again once the
 * connection is established. So an outgoing rule is filed under its local
 * ports only when it has no other selector, and is also listed, in rank
 * order, in its direction's "deferred" bin: a lookup that does not know
 * the local port walks that bin instead of the local-port buckets, and
 * stops at the first rule whose other selectors match (for a rule with
 * none, the first rule of the bin).
 *
 * An index is built for one immutable table (rules.c) in process context
 * and read under RCU, in any context, with no allocation and no lock.
 */
#include <linux/bitmap.h>
#include <linux/hash.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "compat.h"
#include "tcptimeo.h"

#define TT_MIN_HASH_BITS	8
#define TT_MAX_HASH_BITS	20

/* The shapes' granularity: at most 5 port, 5 IPv4 and 9 IPv6 shapes. */
#define TT_PORT_STRIDE		4
#define TT_ADDR4_STRIDE		8
#define TT_ADDR6_STRIDE		16

/*
 * The shapes, numbered: a port field's blocks, prefix lengths, the rest.
 * SPORT is the service port (local for accepted connections, remote for
 * connected ones), OPORT the other one.
 */
enum {
	TT_SH_SPORT = 0,			/* + k, 0..16 */
	TT_SH_OPORT = TT_SH_SPORT + 17,		/* + k, 0..16 */
	TT_SH_ADDR4 = TT_SH_OPORT + 17,		/* + p, 0..32 */
	TT_SH_ADDR6 = TT_SH_ADDR4 + 33,		/* + p, 0..128 */
	TT_SH_CGROUP = TT_SH_ADDR6 + 129,
	TT_SH_NETNS,
	TT_SH_MAX,
};

struct tt_slot {
	const struct tt_rule *rule;
	u32 rank;			/* position in evaluation order */
	u32 key;			/* hash of direction, shape and key */
};

/*
 * The fields whose shapes a filter covers. Shape j of a field (bit j of
 * its masks) is the field's first shape + j * its stride.
 */
enum { TT_KF_SPORT, TT_KF_OPORT, TT_KF_ADDR4, TT_KF_ADDR6, TT_KF_N };

/*
 * A field's filter: which of its shapes have a key that the connection's
 * value of the field can satisfy, so that a lookup probes those and skips
 * the rest without computing their keys. It is indexed by an "anchor" of
 * the value (a port; an IPv4 address's top 16 bits; an IPv6 address's top
 * 24 bits), hashed: a key sets its shape's bit at every anchor it covers,
 * or in @always when that is more than TT_FILTER_SPAN anchors. A hash
 * collision only makes a lookup probe a shape in vain. A mask has 8 bits:
 * a field has at most 8 shapes whose keys span few enough anchors (IPv6
 * has 9, but /0 is always probed), numbered from the field's @first (tt_key_fields).
 */
#define TT_FILTER_SPAN		256
#define TT_FILTER_MIN_BITS	6
#define TT_FILTER_MAX_BITS	16

struct tt_filter {
	u16 always;			/* shapes probed whatever the value */
	u8 bits;			/* 2^bits masks, if any */
	u32 set;			/* counting pass: anchors to set */
	u8 *masks;			/* bit i: the field's shape first + i */
};

struct tt_index_dir {
	u16 nshapes;
	u8 shapes[TT_SH_MAX];		/* the shapes present, ascending */
	u32 slots;			/* slots in buckets */
	struct tt_filter filter[TT_KF_N];
	/* the levels of the rules' cgroups: other ancestors are not probed */
	int cg_min, cg_max;
	u64 netns_bloom;		/* bit hash_32(inum, 6) per netns key */
};

/*
 * Per field: its first shape, the shapes' stride, its anchor's width in
 * bits (the value's top bits) and the first shape its filter's masks hold
 * (IPv6's /0 is always probed).
 */
static const struct {
	u8 shape, stride, abits, first;
} tt_key_fields[TT_KF_N] = {
	[TT_KF_SPORT] = { TT_SH_SPORT, TT_PORT_STRIDE, 16, 0 },
	[TT_KF_OPORT] = { TT_SH_OPORT, TT_PORT_STRIDE, 16, 0 },
	[TT_KF_ADDR4] = { TT_SH_ADDR4, TT_ADDR4_STRIDE, 16, 0 },
	[TT_KF_ADDR6] = { TT_SH_ADDR6, TT_ADDR6_STRIDE, 24, 1 },
};

static int tt_addr_field(u8 family)
{
	return family == 4 ? TT_KF_ADDR4 : TT_KF_ADDR6;
}

struct tt_index {
	u32 nrules;
	u8 bits;			/* 2^bits buckets */
	u32 *start;			/* bin b is slots[start[b] .. start[b + 1]) */
	struct tt_slot *slots;
	size_t bytes;
	struct tt_index_dir dir[TT_IDX_DIRS];
};

/* The bins: 2^bits buckets, each direction's wildcards, the deferred. */
#define TT_NBINS(bits)		(BIT(bits) + TT_IDX_DIRS + 1)

static u32 tt_wild_bin(const struct tt_index *idx, int d)
{
	return BIT(idx->bits) + d;
}

static u32 tt_deferred_bin(const struct tt_index *idx)
{
	return BIT(idx->bits) + TT_IDX_DIRS;
}

/*
 * A key's hash: hash_64() of the key's value, with its shape and direction
 * in the low bits, where a multiplicative hash spreads them over every
 * bucket. Two keys may share a hash as they may share a bucket: each
 * candidate is evaluated in full (tt_rule_eval()). A multiply is a tenth
 * of jhash's work, and a lookup hashes up to 17 keys.
 */
static u32 tt_key(int d, u8 shape, u64 v)
{
	return hash_64((v << 9) | ((u32)shape << 1) | d, 32);
}

static u32 tt_port_key(int d, u8 shape, u8 k, u16 port)
{
	return tt_key(d, shape + k, port >> k);
}

/* The prefix length a CIDR of @plen bits is filed under. */
static u8 tt_addr_shape_len(u8 family, u8 plen)
{
	return rounddown(plen, tt_key_fields[tt_addr_field(family)].stride);
}

/* The block size (bits) a block of 2^@k ports is filed under. */
static u8 tt_port_shape_bits(u8 k)
{
	return roundup(k, TT_PORT_STRIDE);
}

/* The top @bits bits of a u64, the rest clear. */
static u64 tt_mask64(u8 bits)
{
	return bits ? ~0ULL << (64 - bits) : 0;
}

/* @addr masked to @plen bits, as the rules store their CIDRs. */
static u32 tt_addr_key(int d, u8 family, u8 plen, const u8 *addr)
{
	__be64 w[2];
	__be32 a4;
	u64 hi, lo;

	if (family == 4) {
		memcpy(&a4, addr, sizeof(a4));
		return tt_key(d, TT_SH_ADDR4 + plen,
			      be32_to_cpu(a4) & (u32)(tt_mask64(plen) >> 32));
	}
	memcpy(w, addr, sizeof(w));
	hi = be64_to_cpu(w[0]);
	lo = be64_to_cpu(w[1]);
	if (plen <= 64) {
		hi &= tt_mask64(plen);
		lo = 0;
	} else {
		lo &= tt_mask64(plen - 64);
	}
	return tt_key(d, TT_SH_ADDR6 + plen, hi ^ (lo * GOLDEN_RATIO_64));
}

static u32 tt_ptr_key(int d, u8 shape, const void *p)
{
	return tt_key(d, shape, (unsigned long)p);
}

/* The largest aligned block of 2^k ports that starts at @lo, within @hi. */
static u8 tt_block_bits(u32 lo, u32 hi)
{
	u8 k;

	for (k = 16; k; k--)
		if (!(lo & (BIT(k) - 1)) && lo + BIT(k) - 1 <= hi)
			break;
	return k;
}

/* How many aligned blocks cover the ranges. */
static u32 tt_port_blocks(const struct tt_port_range *r, u8 n)
{
	u32 lo, cnt = 0;
	u8 i;

	for (i = 0; i < n; i++)
		for (lo = r[i].lo; lo <= r[i].hi;
		     lo += BIT(tt_block_bits(lo, r[i].hi)))
			cnt++;
	return cnt;
}

enum tt_pick { TT_PICK_NONE, TT_PICK_SPORT, TT_PICK_OPORT, TT_PICK_ADDR,
	       TT_PICK_CGROUP, TT_PICK_NETNS };

/*
 * Which selector files @rule in direction @d: the one with fewest slots,
 * but an outgoing rule's local ports only when nothing else is there.
 */
static enum tt_pick tt_rule_pick(const struct tt_rule *rule, int d)
{
	const struct tt_sel *s = &rule->cfg.sel;
	enum tt_pick pick = TT_PICK_NONE;
	u32 best = U32_MAX, n;

	if (d == TT_IDX_IN && s->n_lports) {
		best = tt_port_blocks(s->lports, s->n_lports);
		pick = TT_PICK_SPORT;
	}
	if (s->n_rports) {
		n = tt_port_blocks(s->rports, s->n_rports);
		if (n < best) {
			best = n;
			pick = d == TT_IDX_IN ? TT_PICK_OPORT : TT_PICK_SPORT;
		}
	}
	if (s->n_addrs && s->n_addrs < best) {
		best = s->n_addrs;
		pick = TT_PICK_ADDR;
	}
	if (rule->cfg.cgroup_path && best > 1) {
		best = 1;
		pick = TT_PICK_CGROUP;
	}
	if (rule->cfg.netns && best > 1)
		pick = TT_PICK_NETNS;
	if (pick == TT_PICK_NONE && d == TT_IDX_OUT && s->n_lports)
		pick = TT_PICK_OPORT;
	return pick;
}

struct tt_fill {
	struct tt_index *idx;
	unsigned long *present;		/* per direction, counting pass only */
	bool fill;
};

static void tt_put(struct tt_fill *f, int d, u32 bin, u8 shape, u32 key,
		   const struct tt_rule *rule, u32 rank)
{
	struct tt_index *idx = f->idx;
	struct tt_slot *s;

	if (!f->fill) {
		idx->start[bin + 2]++;
		if (bin < BIT(idx->bits)) {
			__set_bit(shape, f->present + d * BITS_TO_LONGS(TT_SH_MAX));
			idx->dir[d].slots++;
		}
		return;
	}
	s = &idx->slots[idx->start[bin + 1]++];
	s->rule = rule;
	s->rank = rank;
	s->key = key;
}

/*
 * Note a key of shape @j of @field in its filter: it covers @span anchors
 * from @anchor. The counting pass counts them, the filling pass sets them.
 */
static void tt_filter_note(struct tt_fill *f, int d, int field, u8 j,
			   u32 anchor, u32 span)
{
	struct tt_filter *flt = &f->idx->dir[d].filter[field];
	u32 a;

	if (span > TT_FILTER_SPAN) {
		flt->always |= BIT(j);
		return;
	}
	if (!f->fill) {
		flt->set += span;
		return;
	}
	for (a = anchor; a < anchor + span; a++)
		flt->masks[hash_32(a, flt->bits)] |= BIT(j - tt_key_fields[field].first);
}

/* An address's anchor in the filter of address field @field. */
static u32 tt_addr_anchor(int field, const u8 *addr)
{
	__be32 w;

	memcpy(&w, addr, sizeof(w));
	return be32_to_cpu(w) >> (32 - tt_key_fields[field].abits);
}

/* Note the CIDR @addr/@plen (@plen a shape's length) in its filter. */
static void tt_filter_addr(struct tt_fill *f, int d, u8 family, u8 plen,
			   const u8 *addr)
{
	int field = tt_addr_field(family);
	u8 abits = tt_key_fields[field].abits;

	/* the rules store their CIDRs masked: the bits past @plen are 0 */
	tt_filter_note(f, d, field, plen / tt_key_fields[field].stride,
		       tt_addr_anchor(field, addr),
		       plen >= abits ? 1 : BIT(abits - plen));
}

static void tt_put_key(struct tt_fill *f, int d, u8 shape, u32 key,
		       const struct tt_rule *rule, u32 rank)
{
	tt_put(f, d, key & (BIT(f->idx->bits) - 1), shape, key, rule, rank);
}

static void tt_put_ports(struct tt_fill *f, int d, u8 shape,
			 const struct tt_port_range *r, u8 n,
			 const struct tt_rule *rule, u32 rank)
{
	u32 lo, key, last = 0;
	u8 i, k, ks, last_ks = U8_MAX;

	for (i = 0; i < n; i++) {
		for (lo = r[i].lo; lo <= r[i].hi; lo += BIT(k)) {
			k = tt_block_bits(lo, r[i].hi);
			ks = tt_port_shape_bits(k);
			key = tt_port_key(d, shape, ks, lo);
			/* neighbouring blocks often share the coarser one */
			if (ks == last_ks && key == last)
				continue;
			tt_put_key(f, d, shape + ks, key, rule, rank);
			tt_filter_note(f, d, shape == TT_SH_SPORT ? TT_KF_SPORT :
				       TT_KF_OPORT, ks / TT_PORT_STRIDE,
				       lo & ~(BIT(ks) - 1), BIT(ks));
			last_ks = ks;
			last = key;
		}
	}
}

static void tt_note_cgroup(struct tt_index_dir *di, const struct cgroup *cg)
{
	di->cg_min = min(di->cg_min, cg->level);
	di->cg_max = max(di->cg_max, cg->level);
}

/* @rule's slots in both directions (none: it can match nothing). */
static void tt_index_add(struct tt_fill *f, const struct tt_rule *rule,
			 u32 rank)
{
	const struct tt_sel *s = &rule->cfg.sel;
	const struct tt_cidr *c;
	int d, field;
	u8 i, plen;

	/* a cgroup that does not exist (yet): the rule is recompiled */
	if (rule->cfg.cgroup_path && !rule->cgrp)
		return;
	for (d = 0; d < TT_IDX_DIRS; d++) {
		if (!(s->dir & (d == TT_IDX_IN ? TCPTIMEO_DIR_IN :
						 TCPTIMEO_DIR_OUT)))
			continue;
		switch (tt_rule_pick(rule, d)) {
		case TT_PICK_SPORT:
			if (d == TT_IDX_IN)
				tt_put_ports(f, d, TT_SH_SPORT, s->lports,
					     s->n_lports, rule, rank);
			else
				tt_put_ports(f, d, TT_SH_SPORT, s->rports,
					     s->n_rports, rule, rank);
			break;
		case TT_PICK_OPORT:
			if (d == TT_IDX_IN) {
				tt_put_ports(f, d, TT_SH_OPORT, s->rports,
					     s->n_rports, rule, rank);
				break;
			}
			tt_put_ports(f, d, TT_SH_OPORT, s->lports, s->n_lports,
				     rule, rank);
			tt_put(f, d, tt_deferred_bin(f->idx), 0, 0, rule, rank);
			break;
		case TT_PICK_ADDR:
			for (i = 0; i < s->n_addrs; i++) {
				c = &s->addrs[i];
				field = tt_addr_field(c->family);
				plen = tt_addr_shape_len(c->family, c->plen);
				tt_put_key(f, d, tt_key_fields[field].shape + plen,
					   tt_addr_key(d, c->family, plen,
						       c->addr), rule, rank);
				tt_filter_addr(f, d, c->family, plen, c->addr);
			}
			break;
		case TT_PICK_CGROUP:
			tt_note_cgroup(&f->idx->dir[d], rule->cgrp);
			tt_put_key(f, d, TT_SH_CGROUP,
				   tt_ptr_key(d, TT_SH_CGROUP, rule->cgrp),
				   rule, rank);
			break;
		case TT_PICK_NETNS:
			f->idx->dir[d].netns_bloom |=
				BIT_ULL(hash_32(rule->cfg.netns, 6));
			tt_put_key(f, d, TT_SH_NETNS,
				   tt_key(d, TT_SH_NETNS, rule->cfg.netns),
				   rule, rank);
			break;
		default:
			tt_put(f, d, tt_wild_bin(f->idx, d), 0, 0, rule, rank);
		}
	}
}

void tt_index_free(struct tt_index *idx)
{
	int d, i;

	if (!idx)
		return;
	for (d = 0; d < TT_IDX_DIRS; d++)
		for (i = 0; i < TT_KF_N; i++)
			kvfree(idx->dir[d].filter[i].masks);
	kvfree(idx->slots);
	kvfree(idx->start);
	kfree(idx);
}

/*
 * The filters' masks, each sized for its anchors at an eighth of its
 * entries at most: a value that no key covers meets a set entry (and
 * probes in vain) one time in eight at worst. Their bytes are counted
 * in idx->bytes.
 */
static int tt_filters_alloc(struct tt_index *idx)
{
	struct tt_filter *flt;
	u64 want;
	int d, i;

	for (d = 0; d < TT_IDX_DIRS; d++) {
		for (i = 0; i < TT_KF_N; i++) {
			flt = &idx->dir[d].filter[i];
			if (!flt->set)
				continue;
			want = 8ULL * flt->set;
			flt->bits = want > BIT(TT_FILTER_MIN_BITS) ?
				    fls64(want - 1) : TT_FILTER_MIN_BITS;
			if (flt->bits > TT_FILTER_MAX_BITS)
				flt->bits = TT_FILTER_MAX_BITS;
			flt->masks = kvzalloc(BIT(flt->bits), GFP_KERNEL);
			if (!flt->masks)
				return -ENOMEM;
			idx->bytes += BIT(flt->bits);
		}
	}
	return 0;
}

/* Upper bound of the slots @rule takes, to size the hash table. */
static u32 tt_rule_slots(const struct tt_rule *rule)
{
	const struct tt_sel *s = &rule->cfg.sel;

	return tt_port_blocks(s->lports, s->n_lports) +
	       tt_port_blocks(s->rports, s->n_rports) + s->n_addrs + 2;
}

/*
 * Index @n rules in evaluation order: a counting sort in two passes, the
 * first counts bin b's slots in start[b + 2]; after the prefix sums
 * start[b + 1] is bin b's first slot, and the second pass advances it to
 * the bin's end, where bin b + 1 starts. Process context, GFP_KERNEL.
 */
struct tt_index *tt_index_build(struct tt_rule *const *rules, u32 n)
{
	unsigned long present[TT_IDX_DIRS * BITS_TO_LONGS(TT_SH_MAX)] = { 0 };
	struct tt_fill f = { .present = present };
	struct tt_index *idx;
	u32 i, nbins, total = 0;
	u64 want = 0;
	unsigned int sh;
	int d;

	idx = kzalloc(sizeof(*idx), GFP_KERNEL);
	if (!idx)
		return NULL;
	f.idx = idx;
	idx->nrules = n;
	for (i = 0; i < n; i++)
		want += tt_rule_slots(rules[i]);
	/* about one slot per bucket (fls(): order_base_2 without minmax) */
	idx->bits = want > BIT(TT_MIN_HASH_BITS) ? fls64(want - 1) :
						   TT_MIN_HASH_BITS;
	if (idx->bits > TT_MAX_HASH_BITS)
		idx->bits = TT_MAX_HASH_BITS;
	nbins = TT_NBINS(idx->bits);
	idx->start = kvcalloc(nbins + 2, sizeof(u32), GFP_KERNEL);
	if (!idx->start)
		goto fail;
	for (d = 0; d < TT_IDX_DIRS; d++) {
		idx->dir[d].cg_min = INT_MAX;
		idx->dir[d].cg_max = -1;
	}
	for (i = 0; i < n; i++)
		tt_index_add(&f, rules[i], i);
	for (i = 2; i < nbins + 2; i++)
		idx->start[i] += idx->start[i - 1];
	total = idx->start[nbins + 1];
	idx->slots = kvmalloc_array(total ? total : 1, sizeof(*idx->slots),
				    GFP_KERNEL);
	if (!idx->slots)
		goto fail;
	if (tt_filters_alloc(idx))
		goto fail;
	f.fill = true;
	for (i = 0; i < n; i++)
		tt_index_add(&f, rules[i], i);
	for (d = 0; d < TT_IDX_DIRS; d++)
		for_each_set_bit(sh, present + d * BITS_TO_LONGS(TT_SH_MAX),
				 TT_SH_MAX)
			idx->dir[d].shapes[idx->dir[d].nshapes++] = sh;
	idx->bytes += sizeof(*idx) + (nbins + 2) * sizeof(u32) +
		      total * sizeof(*idx->slots);
	return idx;
fail:
	tt_index_free(idx);
	return NULL;
}

struct tt_probe {
	const struct tt_tuple *t;
	const struct sock *sk;
	const struct tt_slot *best;
	u32 best_rank;
	enum tt_verdict verdict;
	const u32 *skip;		/* ranks no longer live, ascending */
	u32 nskip;
	/* tt_index_lookup()'s @tu, with @defer */
	const struct tt_tuple *tu;
	const struct tt_slot *defer;
	/* with @w: the first slot that waits, and the first that wait and
	 * are not in the deferred bin, in rank order
	 */
	struct tt_waits *w;
	const struct tt_slot *wait;
	const struct tt_slot *waits[TT_WAITS];
};

/*
 * @s's rule does not match @p->t: would it have answered TT_NEED_LPORT
 * without the local port? Keep the first such rule (see @defer below).
 */
static void tt_probe_defer(struct tt_probe *p, const struct tt_slot *s)
{
	if ((!p->defer || s->rank < p->defer->rank) &&
	    tt_rule_waits_lport(s->rule, p->tu, p->sk))
		p->defer = s;
}

static bool tt_skipped(const struct tt_probe *p, u32 rank)
{
	u32 lo = 0, hi = p->nskip, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (p->skip[mid] == rank)
			return true;
		if (p->skip[mid] < rank)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * @s's rule waits for the local port (connect() of an unbound socket, with
 * @p->w): note it, in rank order, once, as a probe may meet a rule in
 * more than one bucket. Keep the first TT_WAITS.
 */
static void tt_probe_wait(struct tt_probe *p, const struct tt_slot *s)
{
	struct tt_waits *w = p->w;
	u8 i, j;

	if (!p->wait || s->rank < p->wait->rank)
		p->wait = s;
	for (i = 0; i < w->n && p->waits[i]->rank < s->rank; i++)
		;
	if (i < w->n && p->waits[i]->rank == s->rank)
		return;
	if (i == TT_WAITS) {
		w->more = true;
		return;
	}
	if (w->n == TT_WAITS)
		w->more = true;
	else
		w->n++;
	for (j = w->n - 1; j > i; j--)
		p->waits[j] = p->waits[j - 1];
	p->waits[i] = s;
}

/* The first slot of bin @bin with @key that matches, if it beats the best. */
static void tt_probe_bin(const struct tt_index *idx, struct tt_probe *p,
			 u32 bin, bool any_key, u32 key)
{
	const struct tt_slot *s = idx->slots + idx->start[bin];
	const struct tt_slot *end = idx->slots + idx->start[bin + 1];
	enum tt_verdict v;

	for (; s < end && s->rank < p->best_rank; s++) {
		if (!any_key && s->key != key)
			continue;
		if (p->nskip && tt_skipped(p, s->rank))
			continue;
		v = tt_rule_eval(s->rule, p->t, p->sk);
		if (v == TT_NEED_LPORT && p->w) {
			tt_probe_wait(p, s);
			continue;
		}
		if (v != TT_NOMATCH) {
			p->best = s;
			p->best_rank = s->rank;
			p->verdict = v;
			return;
		}
		if (unlikely(p->tu))
			tt_probe_defer(p, s);
	}
}

static void tt_probe_key(const struct tt_index *idx, struct tt_probe *p,
			 u32 key)
{
	tt_probe_bin(idx, p, key & (BIT(idx->bits) - 1), false, key);
}

/*
 * The shapes of @field in direction @d that its filter lets through for
 * @anchor: a mask of shape numbers within the field.
 */
static u16 tt_filter_mask(const struct tt_index *idx, int d, int field,
			  u32 anchor)
{
	const struct tt_filter *flt = &idx->dir[d].filter[field];
	u16 m = flt->always;

	if (flt->masks)
		m |= (u16)flt->masks[hash_32(anchor, flt->bits)] <<
		     tt_key_fields[field].first;
	return m;
}

/* Probe the port shapes of @field that @port may satisfy. */
static void tt_probe_ports(const struct tt_index *idx, struct tt_probe *p,
			   int d, int field, u16 port)
{
	u16 m = tt_filter_mask(idx, d, field, port);
	u8 k;

	while (m) {
		k = __ffs(m) * TT_PORT_STRIDE;
		m &= m - 1;
		tt_probe_key(idx, p, tt_port_key(d, tt_key_fields[field].shape, k,
						 port));
	}
}

/* Probe the prefix lengths of the connection's family that may match. */
static void tt_probe_addrs(const struct tt_index *idx, struct tt_probe *p,
			   int d)
{
	const struct tt_tuple *t = p->t;
	int field = tt_addr_field(t->family);
	u16 m = tt_filter_mask(idx, d, field, tt_addr_anchor(field, t->raddr));
	u8 plen;

	while (m) {
		plen = __ffs(m) * tt_key_fields[field].stride;
		m &= m - 1;
		tt_probe_key(idx, p, tt_addr_key(d, t->family, plen, t->raddr));
	}
}

/*
 * A cgroup's level. The root's is known without reading the root: under
 * TCG that one load took as long as a whole lookup's probes, for every
 * socket in the root cgroup, while rules select a cgroup.
 */
static int tt_cgroup_level(const struct cgroup *cg)
{
	return cg == &cgrp_dfl_root.cgrp ? 0 : cg->level;
}

/*
 * Probe the buckets of @sk's cgroup and of those of its ancestors whose
 * level some rule's cgroup has.
 */
static void tt_probe_cgroups(const struct tt_index *idx, struct tt_probe *p,
			     int d)
{
	const struct tt_index_dir *di = &idx->dir[d];
	struct cgroup *cg;
	int level;

	for (cg = tt_sk_cgroup(p->sk); cg; cg = cgroup_parent(cg)) {
		level = tt_cgroup_level(cg);
		if (level < di->cg_min)
			break;
		if (level <= di->cg_max)
			tt_probe_key(idx, p, tt_ptr_key(d, TT_SH_CGROUP, cg));
	}
}

/* The first live rule of the deferred bin before @p's best, into @defer. */
static void tt_probe_deferred_bin(const struct tt_index *idx,
				  struct tt_probe *p)
{
	u32 bin = tt_deferred_bin(idx);
	const struct tt_slot *s = idx->slots + idx->start[bin];
	const struct tt_slot *end = idx->slots + idx->start[bin + 1];

	for (; s < end && s->rank < p->best_rank; s++) {
		if (p->defer && s->rank >= p->defer->rank)
			return;
		if (p->nskip && tt_skipped(p, s->rank))
			continue;
		if (tt_rule_waits_lport(s->rule, p->tu, p->sk)) {
			p->defer = s;
			return;
		}
	}
}

/*
 * With @p->w: the first live rule of the deferred bin that waits for the
 * local port, if it ranks before the best and the first wait so far. The
 * bin's rules select nothing but local ports, so none can match.
 */
static void tt_probe_deferred_wait(const struct tt_index *idx,
				   struct tt_probe *p)
{
	u32 bin = tt_deferred_bin(idx);
	const struct tt_slot *s = idx->slots + idx->start[bin];
	const struct tt_slot *end = idx->slots + idx->start[bin + 1];
	u32 stop = p->wait ? min(p->wait->rank, p->best_rank) : p->best_rank;

	for (; s < end && s->rank < stop; s++) {
		if (p->nskip && tt_skipped(p, s->rank))
			continue;
		if (tt_rule_eval(s->rule, p->t, p->sk) != TT_NOMATCH) {
			p->wait = s;
			return;
		}
	}
}

/* @p's waits into @p->w, less those that rank after its best. */
static void tt_probe_waits_out(struct tt_probe *p)
{
	struct tt_waits *w = p->w;
	u8 i;

	while (w->n && p->waits[w->n - 1]->rank > p->best_rank) {
		w->n--;
		w->more = false;
	}
	for (i = 0; i < w->n; i++)
		w->rule[i] = p->waits[i]->rule;
	w->wait = p->wait && p->wait->rank < p->best_rank ? p->wait->rule :
							      NULL;
}

/*
 * The first rule in evaluation order that matches @t (or might, once the
 * local port is known: *verdict == TT_NEED_LPORT), passing over the
 * @nskip ranks in @skip. Caller holds RCU; any context.
 *
 * With @w (an outgoing @t without its local port, at connect()), the
 * result is the first rule that matches: rules that wait for the port
 * are passed over and noted in @w instead (wait: the first of them; rule:
 * the first that select more than local ports, so are filed under their
 * other selectors, where this probe meets them; tt_rules_finish()).
 * @w's n and more start at 0.
 *
 * With @defer (an outgoing @t whose local port is known, once
 * established, and @tu: @t without it), *defer is also the first rule
 * before the result that does not match @t but, without the local port,
 * answered TT_NEED_LPORT at connect(), or NULL: whether connect()'s
 * decision waited for the port, found in the same pass. Every such rule ranks before the result,
 * so the probes that find the result meet it: in the buckets of its
 * other selectors, or, with no other selector, in the deferred bin.
 */
const struct tt_rule *tt_index_lookup(const struct tt_index *idx,
				      const struct tt_tuple *t,
				      const struct sock *sk, const u32 *skip,
				      u32 nskip, enum tt_verdict *verdict,
				      const struct tt_tuple *tu,
				      const struct tt_rule **defer,
				      struct tt_waits *w)
{
	int d = t->dir == TCPTIMEO_DIR_IN ? TT_IDX_IN : TT_IDX_OUT;
	const struct tt_index_dir *di = &idx->dir[d];
	u16 sport = d == TT_IDX_IN ? t->lport : t->rport;
	u16 oport = d == TT_IDX_IN ? t->rport : t->lport;
	struct tt_probe p = { .t = t, .sk = sk, .best_rank = U32_MAX,
			      .skip = skip, .nskip = nskip,
			      .tu = defer ? tu : NULL,
			      .w = d == TT_IDX_OUT && !t->lport_known ? w : NULL };
	u32 inum;

	tt_probe_ports(idx, &p, d, TT_KF_SPORT, sport);
	/* not known: the deferred bin stands in (below) */
	if (d == TT_IDX_IN || t->lport_known)
		tt_probe_ports(idx, &p, d, TT_KF_OPORT, oport);
	tt_probe_addrs(idx, &p, d);
	if (di->cg_max >= 0)
		tt_probe_cgroups(idx, &p, d);
	inum = sock_net(sk)->ns.inum;
	if (di->netns_bloom & BIT_ULL(hash_32(inum, 6)))
		tt_probe_key(idx, &p, tt_key(d, TT_SH_NETNS, inum));
	if (d == TT_IDX_OUT && !t->lport_known && !p.w)
		tt_probe_bin(idx, &p, tt_deferred_bin(idx), true, 0);
	tt_probe_bin(idx, &p, tt_wild_bin(idx, d), true, 0);
	if (p.w) {
		tt_probe_deferred_wait(idx, &p);
		tt_probe_waits_out(&p);
	}
	if (defer) {
		if (d == TT_IDX_OUT)
			tt_probe_deferred_bin(idx, &p);
		*defer = p.defer && p.defer->rank < p.best_rank ?
			 p.defer->rule : NULL;
	}
	*verdict = p.best ? p.verdict : TT_NOMATCH;
	return p.best ? p.best->rule : NULL;
}

/*
 * The first rule, in evaluation order, of those that select nothing but
 * local ports (outgoing: filed under them), that matches @t, an outgoing
 * connection whose local port is known. Caller holds RCU; any context.
 */
const struct tt_rule *tt_index_lookup_lports(const struct tt_index *idx,
					     const struct tt_tuple *t,
					     const struct sock *sk,
					     const u32 *skip, u32 nskip)
{
	struct tt_probe p = { .t = t, .sk = sk, .best_rank = U32_MAX,
			      .skip = skip, .nskip = nskip };

	tt_probe_ports(idx, &p, TT_IDX_OUT, TT_KF_OPORT, t->lport);
	return p.best ? p.best->rule : NULL;
}

static const char *const tt_field_names[] = {
	"local-port", "remote-port", "remote-addr4", "remote-addr6",
};

/* The name of filter @field's field in direction @d (tt_field_names). */
static int tt_filter_field_name(int d, int field)
{
	if (field >= TT_KF_ADDR4)
		return field;
	return (field == TT_KF_SPORT) == (d == TT_IDX_IN) ? 0 : 1;
}

static void tt_shape_name(struct seq_file *m, int d, u8 sh)
{
	u8 sport = d == TT_IDX_IN ? 0 : 1;

	if (sh < TT_SH_OPORT)
		seq_printf(m, " %s/%u", tt_field_names[sport], sh - TT_SH_SPORT);
	else if (sh < TT_SH_ADDR4)
		seq_printf(m, " %s/%u", tt_field_names[!sport], sh - TT_SH_OPORT);
	else if (sh < TT_SH_ADDR6)
		seq_printf(m, " %s/%u", tt_field_names[2], sh - TT_SH_ADDR4);
	else if (sh < TT_SH_CGROUP)
		seq_printf(m, " %s/%u", tt_field_names[3], sh - TT_SH_ADDR6);
	else
		seq_puts(m, sh == TT_SH_CGROUP ? " cgroup" : " netns");
}

/* debugfs (not ABI): the index's sizes and, per direction, its shapes. */
void tt_index_show(struct seq_file *m, const struct tt_index *idx)
{
	const struct tt_index_dir *di;
	u32 w;
	int d;
	u16 i;

	seq_printf(m, "rules %u\nbuckets %lu\nbytes %zu\n", idx->nrules,
		   BIT(idx->bits), idx->bytes);
	for (d = 0; d < TT_IDX_DIRS; d++) {
		di = &idx->dir[d];
		w = tt_wild_bin(idx, d);
		seq_printf(m, "%s slots %u wildcards %u shapes %u\n",
			   d == TT_IDX_IN ? "in" : "out", di->slots,
			   idx->start[w + 1] - idx->start[w], di->nshapes);
	}
	w = tt_deferred_bin(idx);
	seq_printf(m, "out_deferred %u\n", idx->start[w + 1] - idx->start[w]);
	for (d = 0; d < TT_IDX_DIRS; d++) {
		di = &idx->dir[d];
		seq_printf(m, "%s-shapes", d == TT_IDX_IN ? "in" : "out");
		for (i = 0; i < di->nshapes; i++)
			tt_shape_name(m, d, di->shapes[i]);
		seq_putc(m, '\n');
	}
	/* per field: the filter's table size (bits) and its always-mask */
	for (d = 0; d < TT_IDX_DIRS; d++) {
		di = &idx->dir[d];
		seq_printf(m, "%s-filters", d == TT_IDX_IN ? "in" : "out");
		for (i = 0; i < TT_KF_N; i++)
			seq_printf(m, " %s:%u/%#x",
				   tt_field_names[tt_filter_field_name(d, i)],
				   di->filter[i].masks ? di->filter[i].bits : 0,
				   di->filter[i].always);
		seq_printf(m, " cgroup-levels:%d-%d\n", di->cg_min == INT_MAX ?
			   -1 : di->cg_min, di->cg_max);
	}
}
