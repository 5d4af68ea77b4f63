// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeoctl: the commands for after an incident (see docs/incident.md).
 *
 *   sockets [-j] [--rule NAME|-]          /proc/net/tcptimeo as a table/JSON
 *   abort-peer CIDR[,CIDR] [--port LIST] [--dry-run]
 *                                         sysfs abort_peers
 *   stats --prometheus                    node-exporter textfile format
 *   apply FILE --existing                 sysfs apply_existing (apply.c)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ctl.h"

struct ctl_socks {
	struct ctl_sock *v;
	size_t n, bad;
};

/* The reader's namespace's view; an exit code. */
static int ctl_socks_read(struct ctl_socks *out)
{
	char path[1024], *buf, *line, *nl;
	size_t len, cap = 0;
	int err;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s%s", ctl_sysroot, TCPTIMEO_PROC_NET);
	err = ctl_read_file(path, &buf, &len);
	if (err == -ENOENT) {
		if ((err = ctl_module_check()))
			return err;
		ctl_err("%s is missing: this tcptimeo module has no per-socket "
			"view (older than 0.1.0?)", path);
		return EXIT_NOMOD;
	}
	if (err) {
		ctl_err("reading %s: %s", path, strerror(-err));
		return ctl_errno_exit(-err);
	}
	line = buf;
	/* the first line is the header */
	nl = memchr(line, '\n', len);
	line = nl ? nl + 1 : buf + len;
	while (line < buf + len) {
		size_t l;

		nl = memchr(line, '\n', (size_t)(buf + len - line));
		l = nl ? (size_t)(nl - line) : (size_t)(buf + len - line);
		if (l) {
			if (out->n == cap) {
				struct ctl_sock *nv;

				cap = cap ? cap * 2 : 256;
				nv = realloc(out->v, cap * sizeof(*nv));
				if (!nv) {
					free(buf);
					free(out->v);
					ctl_err("out of memory");
					return EXIT_INPUT;
				}
				out->v = nv;
			}
			if (ctl_sock_parse(line, l, &out->v[out->n]))
				out->bad++;
			else
				out->n++;
		}
		line += l + 1;
	}
	free(buf);
	if (out->bad)
		ctl_warn("%zu line%s of %s not understood and left out", out->bad,
			 out->bad == 1 ? "" : "s", path);
	return EXIT_OK;
}

/* The sockets, and beside them a pick[] to mark the ones to show. */
/* Append @add's sockets, tagged with namespace @ino, to @out. */
static int ctl_socks_append(struct ctl_socks *out, struct ctl_socks *add,
			    unsigned long ino)
{
	struct ctl_sock *nv;
	size_t i;

	nv = realloc(out->v, (out->n + add->n + 1) * sizeof(*nv));
	if (!nv) {
		free(add->v);
		ctl_err("out of memory");
		return EXIT_INPUT;
	}
	out->v = nv;
	for (i = 0; i < add->n; i++) {
		out->v[out->n] = add->v[i];
		out->v[out->n++].netns = ino;
	}
	out->bad += add->bad;
	free(add->v);
	return EXIT_OK;
}

/*
 * Every network namespace's view, as abort_peers acts on them all: each
 * namespace a process lives in and each one bound under /run/netns, once
 * each, entered with setns(). The caller's namespace is entered again at
 * the end. Without CAP_SYS_ADMIN (setns refused), or under a test sysroot,
 * only the caller's namespace is read, and *all is false.
 */
static int ctl_socks_read_all(struct ctl_socks *out, bool *all)
{
	static const char *const dirs[] = { "/proc", "/run/netns" };
	unsigned long *seen = NULL;
	size_t nseen = 0, k;
	struct stat st;
	int self, ret = EXIT_OK;

	*all = false;
	if (ctl_sysroot[0] || stat("/proc/self/ns/net", &st))
		return ctl_socks_read(out);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(self, CLONE_NEWNET)) {
		if (self >= 0)
			close(self);
		return ctl_socks_read(out);
	}
	memset(out, 0, sizeof(*out));
	*all = true;
	for (k = 0; k < sizeof(dirs) / sizeof(dirs[0]) && !ret; k++) {
		DIR *d = opendir(dirs[k]);
		struct dirent *de;

		while (d && !ret && (de = readdir(d))) {
			char p[300];
			struct ctl_socks one;
			unsigned long *ns;
			size_t i;
			int fd;

			if (de->d_name[0] == '.' || (!k && (de->d_name[0] < '0' ||
							    de->d_name[0] > '9')))
				continue;
			snprintf(p, sizeof(p), k ? "%s/%s" : "%s/%s/ns/net",
				 dirs[k], de->d_name);
			if (stat(p, &st))
				continue;	/* the process is gone */
			for (i = 0; i < nseen && seen[i] != st.st_ino; i++)
				;
			if (i < nseen)
				continue;
			ns = realloc(seen, (nseen + 1) * sizeof(*ns));
			if (!ns) {
				ctl_err("out of memory");
				ret = EXIT_INPUT;
				break;
			}
			seen = ns;
			seen[nseen++] = st.st_ino;
			fd = open(p, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (setns(fd, CLONE_NEWNET)) {
				close(fd);
				continue;
			}
			close(fd);
			if (ctl_socks_read(&one) == EXIT_OK)
				ret = ctl_socks_append(out, &one, st.st_ino);
		}
		if (d)
			closedir(d);
	}
	if (setns(self, CLONE_NEWNET)) {
		ctl_err("setns back into the caller's network namespace: %s",
			strerror(errno));
		ret = EXIT_INPUT;
	}
	close(self);
	free(seen);
	if (ret)
		free(out->v);
	return ret;
}

static int ctl_socks_pick(struct ctl_socks *ss, bool **pick, bool every_ns,
			  bool *all)
{
	int ret;

	*all = false;
	ret = every_ns ? ctl_socks_read_all(ss, all) : ctl_socks_read(ss);
	if (ret)
		return ret;
	*pick = calloc(ss->n + 1, sizeof(**pick));
	if (!*pick) {
		free(ss->v);
		ctl_err("out of memory");
		return EXIT_INPUT;
	}
	return EXIT_OK;
}

static void ctl_socks_json(FILE *f, const struct ctl_sock *s, size_t n,
			   const bool *pick)
{
	size_t i;
	int first = 1;

	fputc('[', f);
	for (i = 0; i < n; i++) {
		if (pick && !pick[i])
			continue;
		fprintf(f, "%s{\"local\":", first ? "" : ",");
		first = 0;
		json_str(f, s[i].local);
		fputs(",\"remote\":", f);
		json_str(f, s[i].remote);
		fputs(",\"state\":", f);
		json_str(f, s[i].state);
		fprintf(f, ",\"cgroup\":%llu,\"keepalive\":%s,\"keepidle\":%u,"
			"\"keepintvl\":%u,\"keepcnt\":%u,\"user_timeout\":%u,"
			"\"syn_retries\":%u,\"rule\":", s[i].cgroup,
			s[i].keepalive ? "true" : "false", s[i].idle,
			s[i].intvl, s[i].cnt, s[i].user_timeout,
			s[i].syn_retries);
		if (s[i].rule[0])
			json_str(f, s[i].rule);
		else
			fputs("null", f);
		/* TCP_RTO_MAX_MS: null on a kernel (or module) without it */
		if (s[i].rto_max)
			fprintf(f, ",\"rto_max\":%u", s[i].rto_max);
		else
			fputs(",\"rto_max\":null", f);
		if (s[i].from[0]) {
			int k;

			fputs(",\"from\":{", f);
			for (k = 0; k < CTL_NOPTS; k++) {
				if (!s[i].from[k] || s[i].from[k] == '-')
					continue;	/* no such option here */
				fprintf(f, "%s\"%s\":\"%s\"", k ? "," : "",
					ctl_opt_names[k],
					s[i].from[k] == 'r' ? "rule" :
					s[i].from[k] == 'a' ? "application" :
					"default");
			}
			fputc('}', f);
		}
		fputc('}', f);
	}
	fputs("]\n", f);
}

static void ctl_socks_table(FILE *f, const struct ctl_sock *s, size_t n,
			    const bool *pick, bool netns)
{
	size_t i, wl = 5, wr = 6;

	for (i = 0; i < n; i++) {
		if (pick && !pick[i])
			continue;
		if (strlen(s[i].local) > wl)
			wl = strlen(s[i].local);
		if (strlen(s[i].remote) > wr)
			wr = strlen(s[i].remote);
	}
	if (netns)
		fprintf(f, "%-10s ", "NETNS");
	fprintf(f, "%-*s %-*s %-11s %2s %5s %5s %3s %12s %3s %7s %-10s %-6s %s\n",
		(int)wl, "LOCAL", (int)wr, "REMOTE", "STATE", "KA", "IDLE",
		"INTVL", "CNT", "USER_TIMEOUT", "SYN", "RTO_MAX", "RULE",
		"CGROUP", "FROM");
	for (i = 0; i < n; i++) {
		char rto[16];

		if (pick && !pick[i])
			continue;
		if (netns)
			fprintf(f, "%-10lu ", s[i].netns);
		if (s[i].rto_max)
			snprintf(rto, sizeof(rto), "%u", s[i].rto_max);
		else
			snprintf(rto, sizeof(rto), "-");
		fprintf(f, "%-*s %-*s %-11s %2s %5u %5u %3u %12u %3u %7s %-10s %-6llu %s\n",
			(int)wl, s[i].local, (int)wr, s[i].remote, s[i].state,
			s[i].keepalive ? "on" : "-", s[i].idle, s[i].intvl,
			s[i].cnt, s[i].user_timeout, s[i].syn_retries, rto,
			s[i].rule[0] ? s[i].rule : "-", s[i].cgroup,
			s[i].from[0] ? s[i].from : "-");
	}
}

int cmd_sockets(int argc, char **argv)
{
	const char *rule = NULL;
	struct ctl_socks ss;
	bool *pick, all;
	size_t i, shown = 0;
	int json = 0, ret;
	char q[80];

	for (i = 1; i < (size_t)argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--rule") || !strncmp(a, "--rule=", 7)) {
			rule = a[6] == '=' ? a + 7 : i + 1 < (size_t)argc ?
			       argv[++i] : NULL;
			if (!rule || (strcmp(rule, "-") &&
				      !tt_valid_name(rule, strlen(rule)))) {
				ctl_err("sockets: --rule '%s': invalid; valid: a "
					"rule name (1-32 characters of A-Z a-z "
					"0-9 _ . -) or - (sockets no rule "
					"matches)", rule ? ctl_quote(rule,
					strlen(rule), q, sizeof(q)) : "");
				return EXIT_INPUT;
			}
		} else {
			ctl_err("sockets: unexpected argument '%s'; usage: "
				"tcptimeoctl sockets [-j] [--rule NAME|-]",
				ctl_quote(a, strlen(a), q, sizeof(q)));
			return EXIT_INPUT;
		}
	}
	if ((ret = ctl_module_check()) ||
	    (ret = ctl_socks_pick(&ss, &pick, false, &all)))
		return ret;
	for (i = 0; i < ss.n; i++) {
		pick[i] = !rule || (!strcmp(rule, "-") ? !ss.v[i].rule[0] :
				    !strcmp(rule, ss.v[i].rule));
		shown += pick[i];
	}
	/* a name no rule has and no socket carries is a typo, not "none" */
	if (rule && strcmp(rule, "-") && !shown && !ctl_kernel_exists(rule)) {
		ctl_err("sockets: --rule '%s': no such rule; 'tcptimeoctl "
			"list' shows the rules, --rule - the sockets no rule "
			"matches", rule);
		free(pick);
		free(ss.v);
		return EXIT_INPUT;
	}
	if (json)
		ctl_socks_json(stdout, ss.v, ss.n, pick);
	else
		ctl_socks_table(stdout, ss.v, ss.n, pick, false);
	free(pick);
	free(ss.v);
	return EXIT_OK;
}

int cmd_abort_peer(int argc, char **argv)
{
	const char *cidrs = NULL, *ports = NULL;
	char msg[CTL_MSG_MAX], text[TT_CIDRS_TEXT_MAX + TT_PORTS_TEXT_MAX + 8];
	char q[80];
	unsigned long long before = 0, after = 0;
	struct ctl_peers peers;
	struct ctl_socks ss;
	bool dry = false, *pick, all;
	size_t i, hit = 0;
	int ret, err;

	for (i = 1; i < (size_t)argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--dry-run") || !strcmp(a, "-n")) {
			dry = true;
		} else if (!strcmp(a, "--port") || !strncmp(a, "--port=", 7)) {
			if (ports) {
				ctl_err("abort-peer: --port given twice; give "
					"one list: --port 80,443,8000-8099");
				return EXIT_INPUT;
			}
			ports = a[6] == '=' ? a + 7 : i + 1 < (size_t)argc ?
				argv[++i] : "";
		} else if (a[0] == '-' && a[1]) {
			ctl_err("abort-peer: unknown option '%s'; usage: "
				"tcptimeoctl abort-peer CIDR[,CIDR...] "
				"[--port LIST] [--dry-run]",
				ctl_quote(a, strlen(a), q, sizeof(q)));
			return EXIT_INPUT;
		} else if (!cidrs) {
			cidrs = a;
		} else {
			ctl_err("abort-peer: unexpected argument '%s'; give "
				"one comma-separated CIDR list",
				ctl_quote(a, strlen(a), q, sizeof(q)));
			return EXIT_INPUT;
		}
	}
	if (!cidrs) {
		ctl_err("abort-peer: missing CIDR; usage: tcptimeoctl "
			"abort-peer CIDR[,CIDR...] [--port LIST] [--dry-run]");
		return EXIT_INPUT;
	}
	if (ctl_peers_parse(&peers, cidrs, ports, msg, sizeof(msg))) {
		ctl_err("abort-peer: %s", msg);
		return EXIT_INPUT;
	}
	ctl_peers_text(text, sizeof(text), &peers);
	if ((ret = ctl_module_check()))
		return ret;

	if (dry) {
		if ((ret = ctl_socks_pick(&ss, &pick, true, &all)))
			return ret;
		for (i = 0; i < ss.n; i++) {
			pick[i] = ctl_sock_abortable(&ss.v[i]) &&
				  ctl_sock_peer_in(&ss.v[i], &peers);
			hit += pick[i];
		}
		ctl_socks_table(stdout, ss.v, ss.n, pick, all);
		if (all)
			printf("dry run, nothing changed: %zu socket%s would be "
			       "aborted (peer %s), in every network "
			       "namespace\n", hit, hit == 1 ? "" : "s", text);
		else
			printf("dry run, nothing changed: %zu socket%s of this "
			       "network namespace would be aborted (peer %s); "
			       "the other namespaces need CAP_SYS_ADMIN to "
			       "list, the real run acts on them all\n", hit,
			       hit == 1 ? "" : "s", text);
		free(pick);
		free(ss.v);
		return EXIT_OK;
	}

	ctl_stat_read("peers_aborted", &before);
	err = ctl_sysfs_write("abort_peers", text);
	if (err) {
		err = -err;
		if (err == EACCES || err == EPERM) {
			ctl_err("abort-peer: writing %s/abort_peers: %s: needs "
				"root with CAP_NET_ADMIN", TCPTIMEO_SYSFS_ROOT,
				strerror(err));
			return EXIT_PERM;
		}
		if (err == EINVAL || err == ERANGE) {
			ctl_err("abort-peer: the module refused '%s': %s; "
				"valid: CIDR[,CIDR...] [ports N[-M][,...]], up "
				"to 16 each", text, strerror(err));
			return EXIT_INPUT;
		}
		if (err == ENOENT) {
			ctl_err("abort-peer: %s/abort_peers is missing: this "
				"tcptimeo module cannot abort connections",
				TCPTIMEO_SYSFS_ROOT);
			return EXIT_NOMOD;
		}
		ctl_err("abort-peer: writing '%s' to %s/abort_peers: %s", text,
			TCPTIMEO_SYSFS_ROOT, strerror(err));
		return ctl_errno_exit(err);
	}
	ctl_stat_read("peers_aborted", &after);
	printf("aborted %llu socket%s whose peer is in %s, in every network "
	       "namespace\n", after - before, after - before == 1 ? "" : "s",
	       text);
	return EXIT_OK;
}

/* Write 1 to apply_existing; report what it stamped. An exit code. */
int ctl_apply_existing(bool quiet)
{
	unsigned long long before = 0, after = 0;
	struct timespec t0, t1;
	int err;

	ctl_stat_read("existing_stamped", &before);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = ctl_sysfs_write("apply_existing", "1");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (err) {
		err = -err;
		if (err == EACCES || err == EPERM) {
			ctl_err("apply --existing: writing %s/apply_existing: "
				"%s: needs root with CAP_NET_ADMIN",
				TCPTIMEO_SYSFS_ROOT, strerror(err));
			return EXIT_PERM;
		}
		if (err == ENOENT) {
			ctl_err("apply --existing: %s/apply_existing is "
				"missing: this tcptimeo module cannot stamp "
				"existing connections", TCPTIMEO_SYSFS_ROOT);
			return EXIT_NOMOD;
		}
		ctl_err("apply --existing: writing %s/apply_existing: %s",
			TCPTIMEO_SYSFS_ROOT, strerror(err));
		return ctl_errno_exit(err);
	}
	ctl_stat_read("existing_stamped", &after);
	if (!quiet)
		printf("existing connections: %llu stamped (%.3f s)\n",
		       after - before, (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return EXIT_OK;
}

/* ---- stats --prometheus ---- */

static const struct {
	const char *name, *help;
} prom_help[] = {
	{ "stamped_in", "Accepted sockets stamped by a rule." },
	{ "stamped_out", "Connected sockets stamped by a rule." },
	{ "skipped_app_set", "Options left alone (mode fill) because the "
	  "application or its listener had set them, or set them later." },
	{ "skipped_kernel", "Kernel sockets and MPTCP subflows left alone." },
	{ "audit_matched", "Matches counted instead of stamped (audit)." },
	{ "existing_stamped", "Sockets stamped by apply_existing." },
	{ "timeouts_unmatched", "Connections that ended with ETIMEDOUT and "
	  "matched no rule." },
	{ "peers_aborted", "Sockets aborted through abort_peers." },
	{ "restamped", "Options put back (force, clamp) after the "
	  "application's own setsockopt()." },
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A stats file name as a metric name: [a-z0-9_] only. */
static bool prom_name_ok(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return true;
}

int ctl_print_prometheus(FILE *f, const struct ctl_rule *r, size_t n)
{
	static const char *const knobs[][2] = {
		{ "enabled", "1 if the module stamps sockets (global switch)." },
		{ "audit", "1 if every rule only counts (global audit)." },
		{ "allow_kernel_sockets", "1 if rules may stamp kernel sockets." },
	};
	char path[1024], buf[256], *names[64];
	struct dirent *de;
	size_t ns = 0, i, k;
	DIR *d;

	fputs("# HELP tcptimeo_up 1 if the tcptimeo module is loaded.\n"
	      "# TYPE tcptimeo_up gauge\ntcptimeo_up 1\n", f);
	if (ctl_sysfs_read("version", buf, sizeof(buf)) >= 0) {
		fputs("# HELP tcptimeo_info The tcptimeo module version.\n"
		      "# TYPE tcptimeo_info gauge\ntcptimeo_info{version=", f);
		prom_label(f, buf);
		fputs("} 1\n", f);
	}
	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		if (ctl_sysfs_read(knobs[i][0], buf, sizeof(buf)) < 0)
			continue;
		fprintf(f, "# HELP tcptimeo_%s %s\n# TYPE tcptimeo_%s gauge\n"
			"tcptimeo_%s %d\n", knobs[i][0], knobs[i][1],
			knobs[i][0], knobs[i][0], !strcmp(buf, "1"));
	}
	snprintf(path, sizeof(path), "%s%s/stats", ctl_sysroot,
		 TCPTIMEO_SYSFS_ROOT);
	d = opendir(path);
	while (d && (de = readdir(d)) && ns < 64)
		if (prom_name_ok(de->d_name) && (names[ns] = strdup(de->d_name)))
			ns++;
	if (d)
		closedir(d);
	qsort(names, ns, sizeof(names[0]), cmp_name);
	for (i = 0; i < ns; i++) {
		unsigned long long v;
		const char *help = "A tcptimeo counter (see tcptimeo(4)).";

		if (ctl_stat_read(names[i], &v) == 0) {
			for (k = 0; k < sizeof(prom_help) / sizeof(prom_help[0]); k++)
				if (!strcmp(prom_help[k].name, names[i]))
					help = prom_help[k].help;
			fprintf(f, "# HELP tcptimeo_%s_total %s\n"
				"# TYPE tcptimeo_%s_total counter\n"
				"tcptimeo_%s_total %llu\n", names[i], help,
				names[i], names[i], v);
		}
		free(names[i]);
	}
	if (!n)
		return EXIT_OK;
	fputs("# HELP tcptimeo_rule_enabled 1 if the rule is live.\n"
	      "# TYPE tcptimeo_rule_enabled gauge\n", f);
	for (i = 0; i < n; i++) {
		fputs("tcptimeo_rule_enabled{rule=", f);
		prom_label(f, r[i].name);
		fprintf(f, "} %d\n", r[i].enabled);
	}
	fputs("# HELP tcptimeo_rule_audit 1 if the rule only counts (audit).\n"
	      "# TYPE tcptimeo_rule_audit gauge\n", f);
	for (i = 0; i < n; i++) {
		fputs("tcptimeo_rule_audit{rule=", f);
		prom_label(f, r[i].name);
		fprintf(f, "} %d\n", r[i].opts.audit);
	}
	fputs("# HELP tcptimeo_rule_matched_total Sockets the rule matched "
	      "(stamped, or counted in audit).\n"
	      "# TYPE tcptimeo_rule_matched_total counter\n", f);
	for (i = 0; i < n; i++) {
		fputs("tcptimeo_rule_matched_total{rule=", f);
		prom_label(f, r[i].name);
		fprintf(f, "} %llu\n", r[i].matched);
	}
	fputs("# HELP tcptimeo_rule_timeouts_total Connections the rule "
	      "matched that ended with ETIMEDOUT, by cause: idle (keepalive "
	      "found the dead peer) or busy (unacked data, zero window or "
	      "SYN retries).\n"
	      "# TYPE tcptimeo_rule_timeouts_total counter\n", f);
	for (i = 0; i < n; i++) {
		fputs("tcptimeo_rule_timeouts_total{rule=", f);
		prom_label(f, r[i].name);
		fprintf(f, ",cause=\"idle\"} %llu\n", r[i].timeouts_idle);
		fputs("tcptimeo_rule_timeouts_total{rule=", f);
		prom_label(f, r[i].name);
		fprintf(f, ",cause=\"busy\"} %llu\n", r[i].timeouts_busy);
	}
	return EXIT_OK;
}
