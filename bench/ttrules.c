// SPDX-License-Identifier: GPL-2.0
/*
 * ttrules: the rule sets of tcptimeo's benchmark.
 *
 *   ttrules create [--random N] [--match] [--seed S] [--root DIR]
 *       One burst from one process: for each rule mkdir, write its
 *       attributes, write enabled=1. Random rules first (r00000 ...),
 *       then the matching rule (zz-bench). Prints JSON with the time.
 *   ttrules file [--random N] [--match] [--seed S]
 *       The same rules in tcptimeoctl's rules-file syntax, on stdout.
 *   ttrules clear [--prefix P] [--root DIR]
 *       rmdir every rule (whose name starts with P). Prints JSON.
 *   ttrules create --disabled ...  /  ttrules enable [--prefix P]
 *       The burst in two halves: the rules created but left disabled
 *       (nothing reaches the live table), then enabled=1 on each. Tells
 *       configfs's cost from the live table's.
 *   ttrules disable [--prefix P]
 *       enabled=0 on each: the rules leave the live table and stay in
 *       configfs, so the shape phase can switch a set on and off
 *       between the runs of a pair without making it again.
 *
 * Random rules never match the benchmark's traffic, and each is indexed
 * by the port the module buckets on (the local port of accepted
 * connections, the remote port of connected ones):
 *   direction  in / out / any, uniformly;
 *   ports      in: local_ports; out: remote_ports; any: both; 1-3 entries,
 *              80 % single ports, 20 % ranges of 2-16 ports, never in
 *              5200-5299 (the benchmark's servers);
 *   addresses  0-3 CIDRs, 70 % IPv4 (prefix 8-32), 30 % IPv6 (prefix
 *              16-128), never overlapping 127.0.0.0/8, 10.200.0.0/16 or ::1;
 *   priority   0-65534, so the matching rule (65535) is evaluated last;
 *   options    keepalive with random idle/intvl/cnt, half with a
 *              user_timeout above idle + intvl * cnt, half of those
 *              without local_ports with syn_retries.
 *
 * --shape S: instead, N rules of one selector shape, none matching the
 * benchmark's traffic (the rule-shape matrix of docs/performance.md):
 *   svc       the random rules above (the default)
 *   rport-any dir any remote-port P: distinct single ports 1-32767 (below
 *             the clients' ephemeral ports), never 5200-5299
 *   lport-out dir out local-port P, the same ports
 *   cidr4     dir any remote-addr: one random IPv4 CIDR, as above
 *   cidr6     dir any remote-addr: one random IPv6 CIDR, as above
 *   cgroup    dir any cgroup /ttshape/cNNNNN (ttrules cgroups N makes them)
 *   netns     dir any netns: one of the namespaces named in $TTRULES_NETNS
 *             (inode numbers, space-separated; none of them the benchmark's)
 *   mix       each rule one of the seven shapes above, in turn
 * The matching rule: priority 65535, direction any, remote_addrs
 * 127.0.0.0/8,10.200.0.0/16,::1/128, keepalive 1, keepidle 10,
 * keepintvl 5, keepcnt 3, user_timeout 30000, syn_retries 3 (mode fill).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BENCH_KEEPIDLE		10
#define BENCH_KEEPINTVL		5
#define BENCH_KEEPCNT		3
#define BENCH_USER_TIMEOUT	30000
#define BENCH_SYN_RETRIES	3
#define MATCH_NAME		"zz-bench"

struct rule {
	char name[33];
	unsigned priority;
	const char *dir;
	char lports[128], rports[128], addrs[512], cgroup[64];
	unsigned long netns;
	int keepalive, keepidle, keepintvl, keepcnt, syn_retries;
	unsigned user_timeout;
};

static uint64_t rng;

static uint32_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ULL) >> 32);
}

static uint32_t rnd_in(uint32_t lo, uint32_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

/*
 * --far: an investigation aid. The module indexes rules by port in 256
 * buckets, hash_32(port, 8) (module/rules.c); --far keeps every random
 * port out of the buckets of the benchmark's ports, so the lookups of the
 * benchmark's connections meet none of the 9,999 rules. Comparing the two
 * sets tells the cost of the rule count from the cost of bucket sharing.
 */
static int far;

static uint32_t bucket(uint32_t port)
{
	return (port * 0x61C88647u) >> (32 - 8);
}

static int near_bench(uint32_t lo, uint32_t hi)
{
	uint32_t p;

	if (hi >= 5200 && lo <= 5299)
		return 1;
	if (!far)
		return 0;
	for (p = lo; p <= hi; p++)
		if (bucket(p) == bucket(5201) || bucket(p) == bucket(5202) ||
		    bucket(p) == bucket(5203))
			return 1;
	return 0;
}

static void gen_ports(char *out, size_t size)
{
	int n = rnd_in(1, 3), i, len = 0;
	uint32_t lo, hi;

	for (i = 0; i < n; i++) {
		do {
			lo = rnd_in(1, 65535);
			hi = rnd() % 5 ? lo : lo + rnd_in(1, 15);
		} while (hi > 65535 || near_bench(lo, hi));
		if (hi == lo)
			len += snprintf(out + len, size - len, "%s%u",
					i ? "," : "", lo);
		else
			len += snprintf(out + len, size - len, "%s%u-%u",
					i ? "," : "", lo, hi);
	}
}

static void gen_v4(char *out, size_t size)
{
	uint32_t a, plen, mask;

	for (;;) {
		a = rnd();
		plen = rnd_in(8, 32);
		mask = plen == 32 ? ~0U : ~(~0U >> plen);
		a &= mask;
		/* the first octet decides 127/8; 10.200/16 needs two */
		if ((a >> 24) == 127 || (a >> 24) == 0)
			continue;
		if ((a >> 24) == 10 && (plen < 16 || ((a >> 16) & 0xff) == 200))
			continue;
		break;
	}
	snprintf(out, size, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 0xff,
		 (a >> 8) & 0xff, a & 0xff, plen);
}

static void gen_v6(char *out, size_t size)
{
	uint16_t w[8];
	uint32_t plen = rnd_in(16, 128), bits;
	int i, len = 0;

	for (i = 0; i < 8; i++)
		w[i] = rnd();
	w[0] = 0x2001 + (rnd() % 2) * (0xfd00 - 0x2001);	/* 2001:: or fd00:: */
	for (i = 0; i < 8; i++) {
		bits = plen > 16u * i ? plen - 16u * i : 0;
		if (bits < 16)
			w[i] &= bits ? (uint16_t)(0xffff << (16 - bits)) : 0;
	}
	/* full form, no "::" compression: the module canonicalises */
	for (i = 0; i < 8; i++)
		len += snprintf(out + len, size - len, "%s%x", i ? ":" : "", w[i]);
	snprintf(out + len, size - len, "/%u", plen);
}

static void gen_random(struct rule *r, int idx)
{
	static const char *dirs[] = { "in", "out", "any" };
	int n, i, len = 0;
	char one[64];

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "r%05d", idx);
	r->priority = rnd_in(0, 65534);
	r->dir = dirs[rnd() % 3];
	if (strcmp(r->dir, "out"))
		gen_ports(r->lports, sizeof(r->lports));
	if (strcmp(r->dir, "in"))
		gen_ports(r->rports, sizeof(r->rports));
	n = rnd() % 4;
	for (i = 0; i < n; i++) {
		if (rnd() % 10 < 7)
			gen_v4(one, sizeof(one));
		else
			gen_v6(one, sizeof(one));
		len += snprintf(r->addrs + len, sizeof(r->addrs) - len, "%s%s",
				i ? "," : "", one);
	}
	r->keepalive = 1;
	r->keepidle = rnd_in(1, 7200);
	r->keepintvl = rnd_in(1, 600);
	r->keepcnt = rnd_in(1, 20);
	/* sane, as tcptimeoctl check wants: user_timeout outlasts the
	 * probes, syn_retries only where the decision is made at connect */
	r->user_timeout = rnd() % 2 ? 0 : (r->keepidle + r->keepintvl *
			  r->keepcnt) * 1000u + rnd_in(0, 60000);
	r->syn_retries = r->lports[0] || rnd() % 2 ? 0 : rnd_in(1, 10);
}

/* The I-th port of 1-32767 without 5200-5299. */
static unsigned int shape_port(int i)
{
	unsigned int p = 1 + (unsigned int)i % 32667;

	return p >= 5200 ? p + 100 : p;
}

static const char *const shapes[] = {
	"svc", "rport-any", "lport-out", "cidr4", "cidr6", "cgroup", "netns",
};
#define NSHAPES ((int)(sizeof(shapes) / sizeof(shapes[0])))
static int shape;		/* an index into shapes[], or NSHAPES: mix */
static unsigned long netns_ids[64];
static int n_netns;

static void gen_shape(struct rule *r, int idx)
{
	int sh = shape == NSHAPES ? idx % NSHAPES : shape;

	gen_random(r, idx);
	if (!sh)
		return;
	r->dir = "any";
	r->lports[0] = r->rports[0] = r->addrs[0] = 0;
	r->syn_retries = 0;
	switch (sh) {
	case 1:
		snprintf(r->rports, sizeof(r->rports), "%u", shape_port(idx));
		break;
	case 2:
		r->dir = "out";
		snprintf(r->lports, sizeof(r->lports), "%u", shape_port(idx));
		break;
	case 3:
		gen_v4(r->addrs, sizeof(r->addrs));
		break;
	case 4:
		gen_v6(r->addrs, sizeof(r->addrs));
		break;
	case 5:
		snprintf(r->cgroup, sizeof(r->cgroup), "/ttshape/c%05d", idx);
		break;
	default:
		r->netns = n_netns ? netns_ids[idx % n_netns] : 0;
	}
}

static void gen_match(struct rule *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->name, MATCH_NAME);
	r->priority = 65535;
	r->dir = "any";
	strcpy(r->addrs, "127.0.0.0/8,10.200.0.0/16,::1/128");
	r->keepalive = 1;
	r->keepidle = BENCH_KEEPIDLE;
	r->keepintvl = BENCH_KEEPINTVL;
	r->keepcnt = BENCH_KEEPCNT;
	r->user_timeout = BENCH_USER_TIMEOUT;
	r->syn_retries = BENCH_SYN_RETRIES;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *root = "/sys/kernel/config/tcptimeo/rules";

static int put(const char *dir, const char *attr, const char *val)
{
	char path[512];
	size_t len = strlen(val);
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, len) != (ssize_t)len) {
		fprintf(stderr, "ttrules: %s <- %s: %s\n", path, val,
			strerror(errno));
		ret = -1;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

static int put_u(const char *dir, const char *attr, unsigned v)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", v);
	return put(dir, attr, s);
}

static int disabled;
static double mkdir_s;		/* time spent in mkdir() alone */

static int create(const struct rule *r)
{
	char dir[512];
	int err = 0, ret;
	double t0;

	snprintf(dir, sizeof(dir), "%s/%s", root, r->name);
	t0 = now();
	ret = mkdir(dir, 0755);
	mkdir_s += now() - t0;
	if (ret) {
		fprintf(stderr, "ttrules: mkdir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	err |= put_u(dir, "priority", r->priority);
	if (strcmp(r->dir, "any"))
		err |= put(dir, "direction", r->dir);
	if (r->lports[0])
		err |= put(dir, "local_ports", r->lports);
	if (r->rports[0])
		err |= put(dir, "remote_ports", r->rports);
	if (r->addrs[0])
		err |= put(dir, "remote_addrs", r->addrs);
	if (r->cgroup[0])
		err |= put(dir, "cgroup", r->cgroup);
	if (r->netns)
		err |= put_u(dir, "netns", r->netns);
	if (r->keepalive)
		err |= put(dir, "keepalive", "1");
	if (r->keepidle)
		err |= put_u(dir, "keepidle", r->keepidle);
	if (r->keepintvl)
		err |= put_u(dir, "keepintvl", r->keepintvl);
	if (r->keepcnt)
		err |= put_u(dir, "keepcnt", r->keepcnt);
	if (r->user_timeout)
		err |= put_u(dir, "user_timeout", r->user_timeout);
	if (r->syn_retries)
		err |= put_u(dir, "syn_retries", r->syn_retries);
	if (!disabled)
		err |= put(dir, "enabled", "1");
	return err;
}

static void print_file_line(const struct rule *r)
{
	printf("%s priority %u dir %s", r->name, r->priority, r->dir);
	if (r->lports[0])
		printf(" local-port %s", r->lports);
	if (r->rports[0])
		printf(" remote-port %s", r->rports);
	if (r->addrs[0])
		printf(" remote-addr %s", r->addrs);
	if (r->keepalive)
		printf(" keepalive");
	if (r->keepidle)
		printf(" idle %d", r->keepidle);
	if (r->keepintvl)
		printf(" intvl %d", r->keepintvl);
	if (r->keepcnt)
		printf(" cnt %d", r->keepcnt);
	if (r->user_timeout)
		printf(" user-timeout %u", r->user_timeout);
	if (r->syn_retries)
		printf(" syn-retries %d", r->syn_retries);
	putchar('\n');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* rmdir (clear), enabled=1 (enable) or enabled=0 (disable) on every rule
 * whose name has @prefix */
static int for_each_rule(const char *op, const char *prefix)
{
	char path[512], **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	int errs = 0;
	double t0;
	DIR *d;

	d = opendir(root);
	if (!d) {
		fprintf(stderr, "ttrules: %s: %s\n", root, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, names[i]);
		if (!strcmp(op, "enable")) {
			errs += put(path, "enabled", "1") != 0;
		} else if (!strcmp(op, "disable")) {
			errs += put(path, "enabled", "0") != 0;
		} else if (rmdir(path)) {
			fprintf(stderr, "ttrules: rmdir %s: %s\n", path,
				strerror(errno));
			errs++;
		}
	}
	printf("{\"op\":\"%s\",\"rules\":%zu,\"seconds\":%.4f,\"errors\":%d}\n",
	       op, n, now() - t0, errs);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return errs != 0;
}

static int shape_of(const char *name)
{
	int i;

	if (!strcmp(name, "mix"))
		return NSHAPES;
	for (i = 0; i < NSHAPES; i++)
		if (!strcmp(name, shapes[i]))
			return i;
	fprintf(stderr, "ttrules: --shape %s: one of svc rport-any lport-out "
		"cidr4 cidr6 cgroup netns mix\n", name);
	exit(2);
}

/* ttrules cgroups N: /ttshape/c00000 ... for --shape cgroup */
static int make_cgroups(int n)
{
	char path[128];
	int i;

	mkdir("/sys/fs/cgroup/ttshape", 0755);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/ttshape/c%05d", i);
		if (mkdir(path, 0755) && errno != EEXIST) {
			fprintf(stderr, "ttrules: mkdir %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int nrandom = 0, match = 0, i, errs = 0;
	const char *prefix = "", *cmd;
	unsigned long long seed = 1;
	double t0, tenth, tenths[10];
	int ntenths = 0;
	struct rule r;

	if (argc < 2)
		goto usage;
	cmd = argv[1];
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--match"))
			match = 1;
		else if (!strcmp(argv[i], "--disabled"))
			disabled = 1;
		else if (!strcmp(argv[i], "--far"))
			far = 1;
		else if (i + 1 >= argc)
			goto usage;
		else if (!strcmp(argv[i], "--random"))
			nrandom = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--root"))
			root = argv[++i];
		else if (!strcmp(argv[i], "--prefix"))
			prefix = argv[++i];
		else if (!strcmp(argv[i], "--shape"))
			shape = shape_of(argv[++i]);
		else
			goto usage;
	}
	rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	if (getenv("TTRULES_NETNS")) {
		char *list = strdup(getenv("TTRULES_NETNS")), *tok, *save;

		for (tok = strtok_r(list, " ", &save); tok && n_netns < 64;
		     tok = strtok_r(NULL, " ", &save))
			netns_ids[n_netns++] = strtoul(tok, NULL, 10);
		free(list);
	}
	if (!strcmp(cmd, "cgroups"))
		return make_cgroups(nrandom);

	if (!strcmp(cmd, "clear") || !strcmp(cmd, "enable") ||
	    !strcmp(cmd, "disable"))
		return for_each_rule(cmd, prefix);
	if (!strcmp(cmd, "file")) {
		for (i = 0; i < nrandom; i++) {
			gen_random(&r, i);
			print_file_line(&r);
		}
		if (match) {
			gen_match(&r);
			print_file_line(&r);
		}
		return 0;
	}
	if (strcmp(cmd, "create"))
		goto usage;
	/* each tenth of the burst timed: flat if a rule costs the same
	 * however many exist, rising if something walks them all */
	t0 = now();
	tenth = t0;
	for (i = 0; i < nrandom + match; i++) {
		if (i < nrandom)
			gen_shape(&r, i);
		else
			gen_match(&r);
		if (create(&r))
			errs++;
		if (nrandom + match >= 10 && (i + 1) % ((nrandom + match) / 10) == 0 &&
		    ntenths < 10) {
			tenths[ntenths++] = now() - tenth;
			tenth = now();
		}
	}
	printf("{\"op\":\"create%s\",\"rules\":%d,\"seconds\":%.4f,"
	       "\"mkdir_seconds\":%.4f,\"tenths\":[",
	       disabled ? "-disabled" : "", nrandom + match, now() - t0, mkdir_s);
	for (i = 0; i < ntenths; i++)
		printf("%s%.4f", i ? "," : "", tenths[i]);
	printf("],\"errors\":%d}\n", errs);
	return errs != 0;
usage:
	fprintf(stderr, "usage: ttrules create|file [--random N] [--match] "
		"[--disabled] [--far] [--shape S] [--seed S] [--root DIR]\n"
		"       ttrules clear|enable|disable [--prefix P] [--root DIR]\n"
		"       ttrules cgroups --random N\n");
	return 2;
}
