// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeoctl check: lint the live rules or a rules file.
 *
 * - user-timeout below keepidle + keepintvl * keepcnt: user-timeout ends
 *   an idle connection with a dead peer before keepalive's probe count
 *   runs out; far above it (> 3x): with TCP_USER_TIMEOUT set the kernel
 *   ignores keepcnt, so a dead idle peer is only found after user-timeout.
 * - a rule that can never match: an enabled rule earlier in evaluation
 *   order (tt_rule_cmp) selects everything it selects.
 * - keepalive on without idle: the node's net.ipv4.tcp_keepalive_time
 *   (7200 s by default) decides when the first probe goes out.
 * - user-timeout auto computed from sysctls, syn-retries that cannot apply,
 *   rules that set nothing, a user-timeout under a second ("10" is ms).
 * - rto-max at or above user-timeout: the user timeout caps every RTO
 *   first, so rto-max changes nothing; rto-max on a kernel without
 *   TCP_RTO_MAX_MS (a note: apply refuses it on this node).
 * - errors: everything apply --dry-run refuses (the parser's, a cgroup
 *   path naming a file).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/*
 * Severities, as a compiler's: an error is what apply refuses (exit 1); a
 * warning is advice about a rule that works (exit 0, 1 with --strict); a
 * note is about this node, not the rules (never fails: the same file is
 * right on a node where the cgroup exists).
 */
enum sev { SEV_NOTE, SEV_WARN, SEV_ERR };
static const char *const sev_tag[] = { "note", "warning", "error" };
static size_t nsev[3];
static const char *src;

static void report(const struct ctl_rule *r, enum sev s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(const struct ctl_rule *r, enum sev s, const char *fmt, ...)
{
	va_list ap;

	if (src)
		printf("%s:%d: ", src, r->line);
	printf("%s: %s: ", r->name, sev_tag[s]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	nsev[s]++;
}

static bool ports_cover(const struct tt_port_range *a, u8 na,
			const struct tt_port_range *b, u8 nb)
{
	u8 i, j;

	if (!na)
		return true;
	if (!nb)
		return false;
	/* canonical lists are merged, so a covered range lies in one range */
	for (i = 0; i < nb; i++) {
		for (j = 0; j < na; j++)
			if (a[j].lo <= b[i].lo && b[i].hi <= a[j].hi)
				break;
		if (j == na)
			return false;
	}
	return true;
}

static bool cidrs_cover(const struct tt_cidr *a, u8 na,
			const struct tt_cidr *b, u8 nb)
{
	u8 i, j;

	if (!na)
		return true;
	if (!nb)
		return false;
	for (i = 0; i < nb; i++) {
		for (j = 0; j < na; j++) {
			struct tt_cidr one = a[j];

			if (a[j].family == b[i].family && a[j].plen <= b[i].plen &&
			    tt_cidrs_contain(&one, 1, b[i].family, b[i].addr))
				break;
		}
		if (j == na)
			return false;
	}
	return true;
}

/* Does every connection @b selects also satisfy @a's selectors? */
static bool covers(const struct ctl_rule *a, const struct ctl_rule *b)
{
	if ((a->sel.dir & b->sel.dir) != b->sel.dir)
		return false;
	if (!ports_cover(a->sel.lports, a->sel.n_lports, b->sel.lports,
			 b->sel.n_lports))
		return false;
	if (!ports_cover(a->sel.rports, a->sel.n_rports, b->sel.rports,
			 b->sel.n_rports))
		return false;
	if (!cidrs_cover(a->sel.addrs, a->sel.n_addrs, b->sel.addrs,
			 b->sel.n_addrs))
		return false;
	if (a->cgroup[0] && (!b->cgroup[0] ||
			     !ctl_cgroup_under(b->cgroup, a->cgroup)))
		return false;
	if (a->netns && a->netns != b->netns)
		return false;
	return true;
}

/*
 * Is @r's cgroup absent? Live rules: as the module says (cgroup_state);
 * a file: looked up under this node's cgroup v2 mount, if it has one.
 */
static bool cgroup_absent(const struct ctl_rule *r, bool from_file,
			  const char *mnt)
{
	if (!r->cgroup[0])
		return false;
	if (!from_file)
		return r->cgroup_absent;
	return mnt[0] && ctl_cgroup_exists(mnt, r->cgroup) == 0;
}

static void lint(const struct ctl_rule *r, size_t n, bool from_file)
{
	unsigned long idle, intvl, cnt, syn;
	bool rto_unsupported;
	char mnt[1024] = "";
	size_t i, j;

	if (ctl_sysctl_read("net/ipv4/tcp_keepalive_time", &idle))
		idle = 7200;
	if (ctl_sysctl_read("net/ipv4/tcp_keepalive_intvl", &intvl))
		intvl = 75;
	if (ctl_sysctl_read("net/ipv4/tcp_keepalive_probes", &cnt))
		cnt = 9;
	if (ctl_sysctl_read("net/ipv4/tcp_syn_retries", &syn))
		syn = 6;
	if (from_file)
		ctl_cgroup_mount(mnt, sizeof(mnt));
	/* only where a module runs: a file is often linted elsewhere */
	rto_unsupported = !ctl_module_check_quiet() &&
			  !ctl_feature(ctl_fields[F_RTO_MAX].attr);

	for (i = 0; i < n; i++) {
		const struct tt_opts *o = &r[i].opts;
		unsigned long ei = o->keepidle ? o->keepidle : idle;
		unsigned long ev = o->keepintvl ? o->keepintvl : intvl;
		unsigned long ec = o->keepcnt ? o->keepcnt : cnt;
		unsigned long long total = (unsigned long long)ei + ev * ec;
		bool ka = o->keepalive || o->keepidle || o->keepintvl ||
			  o->keepcnt;

		if (!r[i].enabled)
			continue;
		if (!ctl_rule_sets_option(&r[i]))
			report(&r[i], SEV_WARN, "sets no option: connections "
			       "it matches are claimed by it and get nothing "
			       "(rules after it do not apply to them)");
		if (cgroup_absent(&r[i], from_file, mnt))
			report(&r[i], SEV_NOTE, "cgroup %s is not present on "
			       "this node: the rule matches nothing until it "
			       "is created (a unit or pod not started yet, or "
			       "a typo?)", r[i].cgroup);
		if (o->keepalive && !o->keepidle)
			report(&r[i], SEV_WARN, "keepalive is on but idle is "
			       "unset: the node's net.ipv4.tcp_keepalive_time "
			       "gives %lu s before the first probe%s", idle,
			       idle >= 7200 ? " (2 hours)" : "");
		/* "user-timeout 10" is 10 ms where "idle 10" is 10 s */
		if (o->user_timeout && o->user_timeout < 1000)
			report(&r[i], SEV_WARN, "user-timeout %u%s is %u ms, "
			       "under a second: a connection with unacked data "
			       "ends after %u ms; if seconds were meant, write "
			       "user-timeout %us", o->user_timeout,
			       r[i].uto_bare ? " (a bare number: milliseconds)"
			       : "ms", o->user_timeout, o->user_timeout,
			       o->user_timeout);
		if (ka && o->user_timeout >= 1000 &&
		    o->user_timeout != TCPTIMEO_USER_TIMEOUT_AUTO) {
			if (o->user_timeout < total * 1000)
				report(&r[i], SEV_WARN, "user-timeout %u ms is "
				       "below idle + intvl * cnt = %lu + %lu * "
				       "%lu = %llu s: an idle connection to a "
				       "dead peer ends at the first probe after "
				       "%u ms, before keepcnt runs out",
				       o->user_timeout, ei, ev, ec, total,
				       o->user_timeout);
			else if (o->user_timeout > total * 3000)
				report(&r[i], SEV_WARN, "user-timeout %u ms is "
				       "more than 3x idle + intvl * cnt = %llu "
				       "s: with TCP_USER_TIMEOUT set the kernel "
				       "ignores keepcnt, so a dead idle peer is "
				       "found only after %u ms (consider "
				       "user-timeout auto)", o->user_timeout,
				       total, o->user_timeout);
		}
		if (o->user_timeout == TCPTIMEO_USER_TIMEOUT_AUTO &&
		    (!o->keepidle || !o->keepintvl || !o->keepcnt))
			report(&r[i], SEV_NOTE, "user-timeout auto with %s%s%s"
			       "unset: this node's sysctls make it (%lu + %lu * "
			       "%lu) s = %llu ms", !o->keepidle ? "idle " : "",
			       !o->keepintvl ? "intvl " : "",
			       !o->keepcnt ? "cnt " : "", ei, ev, ec,
			       total * 1000);
		if (o->rto_max && o->user_timeout &&
		    o->user_timeout != TCPTIMEO_USER_TIMEOUT_AUTO &&
		    o->rto_max >= o->user_timeout)
			report(&r[i], SEV_WARN, "rto-max %u ms is not below "
			       "user-timeout %u ms: the user timeout caps every "
			       "RTO first, so rto-max changes nothing",
			       o->rto_max, o->user_timeout);
		if (o->rto_max && rto_unsupported)
			report(&r[i], SEV_NOTE, "rto-max: this node's kernel "
			       "or module has no TCP_RTO_MAX_MS (Linux 6.15 or "
			       "later): apply refuses the rule here");
		if (o->syn_retries && r[i].sel.n_lports &&
		    (r[i].sel.dir & TCPTIMEO_DIR_OUT))
			report(&r[i], SEV_WARN, "syn-retries %u cannot apply to "
			       "outgoing connections whose application does "
			       "not bind the local port: with local-port the "
			       "decision waits until the connection is "
			       "established (docs/ABI.md, Semantics)",
			       o->syn_retries);
		for (j = 0; j < i; j++) {
			if (!r[j].enabled || !covers(&r[j], &r[i]))
				continue;
			report(&r[i], SEV_WARN, "can never match: rule %s "
			       "(priority %u) comes first in evaluation order "
			       "and selects every connection this one does",
			       r[j].name, r[j].priority);
			break;
		}
	}
	(void)syn;
}

static void plural(size_t n, const char *what, bool *first)
{
	if (!n)
		return;
	printf("%s%zu %s%s", *first ? "" : ", ", n, what, n == 1 ? "" : "s");
	*first = false;
}

int cmd_check(int argc, char **argv)
{
	const char *path = NULL;
	struct ctl_rule *r = NULL;
	bool strict = false, first = true;
	struct ctl_file f;
	size_t n = 0, i;
	int ret, k;

	for (k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--strict")) {
			strict = true;
		} else if (!path && (argv[k][0] != '-' || !argv[k][1])) {
			path = argv[k];
		} else {
			ctl_err("check: unexpected argument '%s'; usage: "
				"tcptimeoctl check [FILE|-] [--strict]",
				argv[k]);
			return EXIT_INPUT;
		}
	}
	if (path) {
		src = strcmp(path, "-") ? path : "<stdin>";
		ret = ctl_file_load(&f, path, src);
		if (ret)
			return ret;
		/* what apply --dry-run refuses, found the way it finds it */
		if (ctl_file_cgroups(&f, src, false)) {
			ctl_file_free(&f);
			ctl_err("out of memory");
			return EXIT_INPUT;
		}
		if (f.nerr)
			qsort(f.errs, f.nerr, sizeof(f.errs[0]), ctl_err_order);
		for (i = 0; i < f.nerr; i++)
			printf("%s:%d: error: %s\n", src, f.errs[i].line,
			       f.errs[i].msg);
		nsev[SEV_ERR] += f.nerr;
		r = f.rules;
		n = f.n;
		f.rules = NULL;
		ctl_file_free(&f);
		if (n)
			qsort(r, n, sizeof(*r), ctl_rule_order);
	} else {
		if ((ret = ctl_kernel_check()) || (ret = ctl_kernel_list(&r, &n)))
			return ret;
	}
	lint(r, n, path != NULL);
	free(r);
	/* "3 rules checked, no findings[, 1 note]" or "...: 1 error, ..." */
	printf("%zu rule%s checked", n, n == 1 ? "" : "s");
	if (!nsev[SEV_ERR] && !nsev[SEV_WARN]) {
		printf(", no findings");
		first = false;
	} else {
		printf(": ");
	}
	plural(nsev[SEV_ERR], "error", &first);
	plural(nsev[SEV_WARN], "warning", &first);
	plural(nsev[SEV_NOTE], "note", &first);
	putchar('\n');
	if (nsev[SEV_ERR])
		return EXIT_INPUT;
	if (strict && nsev[SEV_WARN]) {
		fprintf(stderr, "%s: --strict: warnings fail the check\n",
			ctl_prog);
		return EXIT_INPUT;
	}
	return EXIT_OK;
}
