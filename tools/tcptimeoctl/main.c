// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeoctl: operator's CLI for the tcptimeo module. See tcptimeoctl.8.
 * Exit codes: 0 ok, 1 bad input, 2 module not loaded, 3 permission,
 * 5 apply --dry-run found changes pending.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

const char *ctl_prog = "tcptimeoctl";

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", ctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ctl_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", ctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char usage_text[] =
"usage: tcptimeoctl [-j] COMMAND [ARGS]   (COMMAND --help: its own usage)\n"
"\n"
"  add NAME [SELECTORS] [OPTIONS] [--disabled]  create a rule (enabled)\n"
"  set NAME [SELECTORS] [OPTIONS]   change a rule (each write is atomic)\n"
"  del NAME...                      delete rules\n"
"  enable NAME... | disable NAME... switch rules on or off\n"
"  list [-j]                        all rules in evaluation order\n"
"  show NAME [-j]                   one rule with its counters\n"
"  stats [-j | --prometheus]        global switches and counters, per rule\n"
"  apply FILE|- [--dry-run] [--existing]\n"
"                                   make the live rules equal to FILE;\n"
"                                   --existing: then stamp open connections\n"
"  save                             print the live rules as a rules file\n"
"  explain --dir in|out --remote ADDR:PORT [--local-port P] [--bound]\n"
"          [--cgroup PATH | --pid PID] [--netns NS] [--rules FILE] [-j]\n"
"                                   which rule wins and the socket values\n"
"  check [FILE]                     lint the live rules or a rules file\n"
"  sockets [-j] [--rule NAME|-]     this namespace's connections, their\n"
"                                   values and the rule matching each\n"
"  abort-peer CIDR[,CIDR] [--port LIST] [--dry-run]\n"
"                                   abort connections to dead peers now\n"
"                                   (ECONNABORTED), in every namespace\n"
"  monitor [-j] [--rule NAME|-] [--event stamp|timeout|abort[,...]]\n"
"          [--input FILE|-] [--buffer-kb N]\n"
"                                   the module's events as they happen\n"
"                                   (stamps, timeouts, aborts), from its\n"
"                                   own tracefs instance or a saved trace\n"
"  version [-j]                     versions of tcptimeoctl and the module\n"
"\n"
"global:    -j (JSON, before the command), -V (--version), -h (--help)\n"
"\n"
"selectors: --dir in|out|any  --local-port LIST  --remote-port LIST\n"
"           --remote-addr CIDR[,CIDR]  --cgroup PATH  --netns PATH|PID|INODE\n"
"           --priority N (0..65535, lower first, default 1000)\n"
"options:   --keepalive  --idle S  --intvl S  --cnt N\n"
"           --user-timeout MS|auto  --syn-retries N  --rto-max MS\n"
"           --force | --clamp | --fill (or --mode MODE)  --audit\n"
"           set only: --no-keepalive --no-audit; any selector 'any' clears it\n"
"durations: --idle/--intvl 7, 7s, 2m, 1h (bare: seconds); --user-timeout\n"
"           10000, 10000ms, 10s, 2m (bare: MILLIseconds, 10 is 10 ms);\n"
"           --rto-max 1000..120000 ms: 1500ms, 2s, 2m (bare: ms; Linux 6.15+)\n"
"exit codes: 0 ok, 1 bad input, 2 module not loaded, 3 permission,\n"
"            5 apply --dry-run: changes pending\n";

static int usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

/* "--idle=7" or "--idle 7"; fills @r. Returns an exit code. */
static int parse_rule_args(struct ctl_rule *r, enum ctl_ctx ctx, int argc,
			   char **argv)
{
	char msg[CTL_MSG_MAX], word[64], q[80];
	int i, used;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		size_t wl;

		if (strncmp(a, "--", 2) || !a[2]) {
			ctl_err("unexpected argument '%s'; options start with "
				"--, see 'tcptimeoctl --help'",
				ctl_quote(a, strlen(a), q, sizeof(q)));
			return EXIT_INPUT;
		}
		a += 2;
		eq = strchr(a, '=');
		wl = eq ? (size_t)(eq - a) : strlen(a);
		if (wl >= sizeof(word))
			wl = sizeof(word) - 1;
		memcpy(word, a, wl);
		word[wl] = '\0';
		if (eq)
			val = eq + 1;
		else if (ctl_word_takes_value(word))
			val = i + 1 < argc ? argv[i + 1] : NULL;
		else
			val = NULL;
		if (eq && !ctl_word_takes_value(word)) {
			ctl_err("--%s takes no value", word);
			return EXIT_INPUT;
		}
		used = ctl_rule_word(r, ctx, word, val, msg, sizeof(msg));
		if (used < 0) {
			ctl_err("%s", msg);
			return EXIT_INPUT;
		}
		if (!eq)
			i += used;
	}
	if (ctl_rule_finish(r, ctx, msg, sizeof(msg))) {
		ctl_err("%s", msg);
		return EXIT_INPUT;
	}
	if (r->uto_bare && r->opts.user_timeout &&
	    r->opts.user_timeout < 1000)
		ctl_warn("--user-timeout %u is %u ms (a bare number is "
			 "milliseconds); if seconds were meant, write %us",
			 r->opts.user_timeout, r->opts.user_timeout,
			 r->opts.user_timeout);
	return EXIT_OK;
}

static int check_name(const char *name)
{
	char q[80];

	if (!tt_valid_name(name, strlen(name))) {
		ctl_err("rule name '%s': invalid; valid: 1-32 characters of "
			"A-Z a-z 0-9 _ . -", ctl_quote(name, strlen(name), q,
							sizeof(q)));
		return EXIT_INPUT;
	}
	return EXIT_OK;
}

static int cmd_add(int argc, char **argv)
{
	struct ctl_rule r;
	int ret;

	if (argc < 2 || !strncmp(argv[1], "--", 2)) {
		ctl_err("add: missing NAME; usage: tcptimeoctl add NAME "
			"[selectors] [options]");
		return EXIT_INPUT;
	}
	if ((ret = check_name(argv[1])))
		return ret;
	ctl_rule_init(&r);
	memcpy(r.name, argv[1], strlen(argv[1]) + 1);
	if ((ret = parse_rule_args(&r, CTX_ADD, argc - 2, argv + 2)))
		return ret;
	if ((ret = ctl_kernel_check()) || (ret = ctl_kernel_supports(&r)))
		return ret;
	return ctl_kernel_create(&r);
}

static int cmd_set(int argc, char **argv)
{
	struct ctl_rule r, old, given;
	int ret, err;

	if (argc < 2 || !strncmp(argv[1], "--", 2)) {
		ctl_err("set: missing NAME; usage: tcptimeoctl set NAME "
			"[selectors] [options]");
		return EXIT_INPUT;
	}
	if ((ret = check_name(argv[1])))
		return ret;
	if (argc < 3) {
		ctl_err("set %s: nothing to change; give selectors or options",
			argv[1]);
		return EXIT_INPUT;
	}
	ctl_rule_init(&r);
	if ((ret = parse_rule_args(&r, CTX_SET, argc - 2, argv + 2)))
		return ret;
	if ((ret = ctl_kernel_check()))
		return ret;
	err = ctl_kernel_read(argv[1], &old);
	if (err) {
		if (err == -ENOENT) {
			ctl_err("no rule named '%s'; create it with "
				"'tcptimeoctl add'", argv[1]);
			return EXIT_INPUT;
		}
		ctl_err("reading rule %s: %s", argv[1], strerror(-err));
		return ctl_errno_exit(-err);
	}
	/* the given words over the rule as it is, then one write */
	given = old;
	given.given = 0;
	if ((ret = parse_rule_args(&given, CTX_SET, argc - 2, argv + 2)))
		return ret;
	if (!ctl_rule_sets_option(&given)) {
		ctl_err("set %s: the rule would set no option; valid: keep at "
			"least one of --keepalive, --idle, --intvl, --cnt, "
			"--user-timeout, --syn-retries, --rto-max, or --audit",
			argv[1]);
		return EXIT_INPUT;
	}
	if ((ret = ctl_kernel_supports(&given)))
		return ret;
	return ctl_kernel_write_line(&given);
}

static int cmd_del(int argc, char **argv)
{
	int i, ret, worst = EXIT_OK;

	if (argc < 2) {
		ctl_err("del: missing NAME");
		return EXIT_INPUT;
	}
	for (i = 1; i < argc; i++)
		if ((ret = check_name(argv[i])))
			return ret;
	if ((ret = ctl_kernel_check()))
		return ret;
	for (i = 1; i < argc; i++) {
		ret = ctl_kernel_delete(argv[i]);
		if (ret > worst)
			worst = ret;
	}
	return worst;
}

static int cmd_enable(int argc, char **argv, bool on)
{
	struct ctl_rule r;
	int i, ret, worst = EXIT_OK;

	if (argc < 2) {
		ctl_err("%s: missing NAME", argv[0]);
		return EXIT_INPUT;
	}
	for (i = 1; i < argc; i++)
		if ((ret = check_name(argv[i])))
			return ret;
	if ((ret = ctl_kernel_check()))
		return ret;
	ctl_rule_init(&r);
	r.enabled = on;
	for (i = 1; i < argc; i++) {
		if (!ctl_kernel_exists(argv[i])) {
			ctl_err("no rule named '%s'", argv[i]);
			ret = EXIT_INPUT;
		} else {
			ret = ctl_kernel_write(argv[i], F_ENABLED, &r);
		}
		if (ret > worst)
			worst = ret;
	}
	return worst;
}

/* Only -j may follow; returns 0/1 for json, or -1 after an error. */
static int json_flag(int argc, char **argv, int from)
{
	int i, json = 0;

	for (i = from; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = 1;
		} else {
			ctl_err("%s: unexpected argument '%s'", argv[0],
				argv[i]);
			return -1;
		}
	}
	return json;
}

static int cmd_list(int argc, char **argv)
{
	struct ctl_rule *r;
	size_t n, i;
	int json = json_flag(argc, argv, 1), ret;

	if (json < 0)
		return EXIT_INPUT;
	if ((ret = ctl_kernel_check()) || (ret = ctl_kernel_list(&r, &n)))
		return ret;
	if (json) {
		fputc('[', stdout);
		for (i = 0; i < n; i++) {
			if (i)
				fputc(',', stdout);
			json_rule(stdout, &r[i], true);
		}
		fputs("]\n", stdout);
	} else {
		ctl_print_list(stdout, r, n);
	}
	free(r);
	return EXIT_OK;
}

static int cmd_show(int argc, char **argv)
{
	struct ctl_rule r;
	const char *name = NULL;
	int i, json = 0, ret, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			json = 1;
		else if (!name)
			name = argv[i];
		else {
			ctl_err("show: unexpected argument '%s'", argv[i]);
			return EXIT_INPUT;
		}
	}
	if (!name) {
		ctl_err("show: missing NAME");
		return EXIT_INPUT;
	}
	if ((ret = check_name(name)) || (ret = ctl_kernel_check()))
		return ret;
	err = ctl_kernel_read(name, &r);
	if (err) {
		if (err == -ENOENT) {
			ctl_err("no rule named '%s'", name);
			return EXIT_INPUT;
		}
		ctl_err("reading rule %s: %s", name, strerror(-err));
		return ctl_errno_exit(-err);
	}
	if (json) {
		json_rule(stdout, &r, true);
		fputc('\n', stdout);
	} else {
		ctl_print_show(stdout, &r);
	}
	return EXIT_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_stats(int argc, char **argv)
{
	static const char *const knobs[] = {
		"version", "enabled", "allow_kernel_sockets", "audit",
	};
	char path[1024], buf[256], *names[64];
	struct ctl_rule *r;
	struct dirent *de;
	size_t n, i, ns = 0;
	int json = 0, prom = 0, ret, shown = 0;
	DIR *d;

	for (i = 1; i < (size_t)argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--prometheus")) {
			prom = 1;
		} else {
			ctl_err("stats: unexpected argument '%s'; usage: "
				"tcptimeoctl stats [-j | --prometheus]", argv[i]);
			return EXIT_INPUT;
		}
	}
	if (json && prom) {
		ctl_err("stats: -j and --prometheus exclude each other");
		return EXIT_INPUT;
	}
	if (prom) {
		/*
		 * A textfile collector must not keep stale numbers: without
		 * the module this is tcptimeo_up 0, a valid reading (exit 0).
		 */
		if (ctl_sysfs_read("version", buf, sizeof(buf)) < 0) {
			fputs("# HELP tcptimeo_up 1 if the tcptimeo module is "
			      "loaded.\n# TYPE tcptimeo_up gauge\n"
			      "tcptimeo_up 0\n", stdout);
			return EXIT_OK;
		}
		if (ctl_kernel_check() || ctl_kernel_list(&r, &n)) {
			r = NULL;
			n = 0;
		}
		ret = ctl_print_prometheus(stdout, r, n);
		free(r);
		return ret;
	}
	if ((ret = ctl_kernel_check()) || (ret = ctl_kernel_list(&r, &n)))
		return ret;
	snprintf(path, sizeof(path), "%s%s/stats", ctl_sysroot,
		 TCPTIMEO_SYSFS_ROOT);
	d = opendir(path);
	while (d && (de = readdir(d)) && ns < 64)
		if (de->d_name[0] != '.')
			names[ns++] = strdup(de->d_name);
	if (d)
		closedir(d);
	qsort(names, ns, sizeof(names[0]), cmp_str);

	if (json)
		fputc('{', stdout);
	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		if (ctl_sysfs_read(knobs[i], buf, sizeof(buf)) < 0)
			continue;
		if (json) {
			fprintf(stdout, "%s\"%s\":", shown++ ? "," : "",
				knobs[i]);
			if (i)
				fprintf(stdout, "%s", strcmp(buf, "1") ?
					"false" : "true");
			else
				json_str(stdout, buf);
		} else {
			printf("%-20s %s\n", knobs[i], buf);
		}
	}
	if (json)
		fprintf(stdout, "%s\"stats\":{", shown ? "," : "");
	for (i = 0; i < ns; i++) {
		char rel[300];

		snprintf(rel, sizeof(rel), "stats/%s", names[i] ? names[i] : "");
		if (!names[i] || ctl_sysfs_read(rel, buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "0");
		if (json) {
			fprintf(stdout, "%s", i ? "," : "");
			json_str(stdout, names[i] ? names[i] : "");
			fprintf(stdout, ":%llu", strtoull(buf, NULL, 10));
		} else {
			printf("%-20s %s\n", names[i] ? names[i] : "", buf);
		}
		free(names[i]);
	}
	if (json) {
		fputs("},\"rules\":[", stdout);
		for (i = 0; i < n; i++) {
			fprintf(stdout, "%s{\"name\":", i ? "," : "");
			json_str(stdout, r[i].name);
			fprintf(stdout, ",\"enabled\":%s,\"matched\":%llu,"
				"\"timeouts_idle\":%llu,\"timeouts_busy\":%llu}",
				r[i].enabled ? "true" : "false", r[i].matched,
				r[i].timeouts_idle, r[i].timeouts_busy);
		}
		fputs("]}\n", stdout);
	} else {
		size_t w = 4;

		for (i = 0; i < n; i++)
			if (strlen(r[i].name) > w)
				w = strlen(r[i].name);
		printf("\n%-*s %-8s %9s %13s %13s\n", (int)w, "RULE", "STATE",
		       "MATCHED", "TIMEOUTS_IDLE", "TIMEOUTS_BUSY");
		for (i = 0; i < n; i++)
			printf("%-*s %-8s %9llu %13llu %13llu\n", (int)w,
			       r[i].name, r[i].enabled ? "enabled" : "disabled",
			       r[i].matched, r[i].timeouts_idle,
			       r[i].timeouts_busy);
	}
	free(r);
	return EXIT_OK;
}

static int cmd_save(int argc, char **argv)
{
	char buf[4096];
	struct ctl_rule *r;
	size_t n, i;
	int ret;

	if (argc > 1) {
		ctl_err("save: unexpected argument '%s'", argv[1]);
		return EXIT_INPUT;
	}
	if ((ret = ctl_kernel_check()) || (ret = ctl_kernel_list(&r, &n)))
		return ret;
	printf("# tcptimeo rules, written by 'tcptimeoctl save'; restore with "
	       "'tcptimeoctl apply FILE'\n");
	for (i = 0; i < n; i++) {
		ctl_rule_line(buf, sizeof(buf), &r[i]);
		printf("%s\n", buf);
	}
	free(r);
	return EXIT_OK;
}

static int cmd_enable_on(int argc, char **argv)
{
	return cmd_enable(argc, argv, true);
}

static int cmd_disable(int argc, char **argv)
{
	return cmd_enable(argc, argv, false);
}

static int cmd_version(int argc, char **argv);

/* Each command's --help: its synopsis and what it does. */
static const struct {
	const char *cmd, *alias, *text;
	bool json;		/* takes -j (also given before the command) */
	int (*run)(int argc, char **argv);	/* argv[0] is the command */
} cmds[] = {
	{ "add", NULL,
	  "usage: tcptimeoctl add NAME [SELECTORS] [OPTIONS] [--disabled]\n"
	  "Create rule NAME, enabled unless --disabled. It must set at least\n"
	  "one option or be --audit. SELECTORS and OPTIONS: see below.\n", false, cmd_add },
	{ "set", NULL,
	  "usage: tcptimeoctl set NAME [SELECTORS] [OPTIONS]\n"
	  "Change rule NAME in one atomic write; unnamed fields stay. A\n"
	  "selector given as 'any' clears it; --no-keepalive, --no-audit.\n",
	  false, cmd_set },
	{ "del", "delete",
	  "usage: tcptimeoctl del NAME...\nDelete the named rules.\n", false, cmd_del },
	{ "enable", NULL,
	  "usage: tcptimeoctl enable NAME...\nSwitch the named rules on.\n",
	  false, cmd_enable_on },
	{ "disable", NULL,
	  "usage: tcptimeoctl disable NAME...\nSwitch the named rules off; "
	  "they stay configured.\n", false, cmd_disable },
	{ "list", "ls",
	  "usage: tcptimeoctl list [-j]\nAll rules in evaluation order "
	  "(priority, then name), durations with units.\n", true, cmd_list },
	{ "show", NULL,
	  "usage: tcptimeoctl show NAME [-j]\nOne rule with its counters.\n",
	  true, cmd_show },
	{ "stats", NULL,
	  "usage: tcptimeoctl stats [-j | --prometheus]\nGlobal switches and "
	  "counters, and per rule. --prometheus: node-exporter\ntextfile "
	  "format; with the module not loaded it prints tcptimeo_up 0.\n",
	  true, cmd_stats },
	{ "apply", NULL,
	  "usage: tcptimeoctl apply FILE|- [--dry-run] [--existing] [-q]\n"
	  "Make the live rules equal to FILE, all or nothing.\n"
	  "  --dry-run, -n  print what would change; exit 0 in sync, 5 "
	  "changes pending\n"
	  "  --existing     then stamp the connections already open\n"
	  "  -q, --quiet    print nothing on success\n", false, cmd_apply },
	{ "save", NULL,
	  "usage: tcptimeoctl save\nPrint the live rules as a rules file "
	  "(apply reads it back).\n", false, cmd_save },
	{ "explain", NULL,
	  "usage: tcptimeoctl explain --dir in|out --remote ADDR:PORT "
	  "[--local-port P]\n"
	  "         [--bound] [--cgroup PATH | --pid PID] [--netns NS] "
	  "[--rules FILE] [-j]\n"
	  "Which rule wins for such a connection and the values its socket "
	  "gets.\n", true, cmd_explain },
	{ "check", NULL,
	  "usage: tcptimeoctl check [FILE|-] [--strict]\n"
	  "Lint the live rules or a rules file: errors (what apply refuses) "
	  "exit 1;\nwarnings exit 0, or 1 with --strict; notes never fail.\n",
	  false, cmd_check },
	{ "sockets", NULL,
	  "usage: tcptimeoctl sockets [-j] [--rule NAME|-]\n"
	  "This network namespace's connections, their values and the rule "
	  "matching\neach; --rule - shows those no rule matches.\n", true, cmd_sockets },
	{ "abort-peer", NULL,
	  "usage: tcptimeoctl abort-peer CIDR[,CIDR...] [--port LIST] "
	  "[--dry-run]\n"
	  "Abort the connections to dead peers now (ECONNABORTED), in every "
	  "network\nnamespace; --dry-run lists them and changes nothing.\n",
	  false, cmd_abort_peer },
	{ "monitor", NULL,
	  "usage: tcptimeoctl monitor [-j] [--rule NAME|-] "
	  "[--event stamp|timeout|abort]...\n"
	  "         [--input FILE|-] [--buffer-kb N]\n"
	  "Print the module's events (tcptimeo:stamp, timeout, abort) as they "
	  "happen, one\nline each (-j: one JSON object each), until Ctrl-C; "
	  "lost events are reported.\n"
	  "  --rule NAME|-   only that rule's events (-: those of no rule), "
	  "filtered in\n                  the kernel\n"
	  "  --event LIST    only these events (default: all three); repeat "
	  "it, or\n                  give a comma-separated list\n"
	  "  --input FILE|-  parse a saved trace (trace_pipe or trace file "
	  "text) instead\n"
	  "  --buffer-kb N   trace buffer per CPU, 4..65536 KiB (default 512)\n"
	  "Live it needs root and uses a tracefs instance of its own, removed "
	  "at the end\n(TCPTIMEO_TRACEFS=DIR: tracefs elsewhere).\n",
	  true, cmd_monitor },
	{ "version", NULL,
	  "usage: tcptimeoctl version [-j]   (also -V, --version)\n"
	  "Print the versions of tcptimeoctl and of the loaded module; warn "
	  "when they\ndiffer.\n", true, cmd_version },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static int cmd_index(const char *cmd)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmd, cmds[i].cmd) ||
		    (cmds[i].alias && !strcmp(cmd, cmds[i].alias)))
			return (int)i;
	return -1;
}

static int cmd_help(int k)
{
	fputs(cmds[k].text, stdout);
	if (!strcmp(cmds[k].cmd, "add") || !strcmp(cmds[k].cmd, "set"))
		fputs(strstr(usage_text, "\nselectors:") + 1, stdout);
	return EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	char mod[64];
	int json = json_flag(argc, argv, 1);
	bool have;

	if (json < 0)
		return EXIT_INPUT;
	have = ctl_sysfs_read("version", mod, sizeof(mod)) >= 0;
	if (json) {
		printf("{\"cli\":");
		json_str(stdout, TCPTIMEO_VERSION);
		printf(",\"module\":");
		if (have)
			json_str(stdout, mod);
		else
			fputs("null", stdout);
		printf("}\n");
	} else {
		printf("tcptimeoctl %s\nmodule %s\n", TCPTIMEO_VERSION,
		       have ? mod : "not loaded");
	}
	ctl_version_warn();
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const char *cmd, *root = getenv("TCPTIMEO_SYSROOT");
	char **av, *dash_j = "-j";
	int k, i, ac, json = 0, ret;

	if (root)
		ctl_sysroot = root;
	/* global options before the command, as with ip(8) */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			return usage(stdout, EXIT_OK);
		} else if (!strcmp(argv[i], "-V") ||
			   !strcmp(argv[i], "--version")) {
			break;
		} else {
			ctl_err("unknown option '%s'; global options: -j, -V, "
				"-h; see 'tcptimeoctl --help'", argv[i]);
			return EXIT_INPUT;
		}
	}
	if (i >= argc)
		return usage(stderr, EXIT_INPUT);
	cmd = argv[i];
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version"))
		cmd = "version";
	else if (!strcmp(cmd, "help"))
		return i + 1 < argc && cmd_index(argv[i + 1]) >= 0 ?
		       cmd_help(cmd_index(argv[i + 1])) : usage(stdout, EXIT_OK);
	k = cmd_index(cmd);
	if (k < 0) {
		ctl_err("unknown command '%s'; see 'tcptimeoctl --help'", cmd);
		return EXIT_INPUT;
	}
	/* COMMAND --help, wherever it stands among the arguments */
	for (ac = i + 1; ac < argc; ac++)
		if (!strcmp(argv[ac], "--help") || !strcmp(argv[ac], "-h"))
			return cmd_help(k);
	if (json && !cmds[k].json) {
		ctl_err("-j: '%s' has no JSON output; these do: list, show, "
			"stats, explain, sockets, monitor, version", cmds[k].cmd);
		return EXIT_INPUT;
	}
	/* the command sees argv[0] = its name, then its arguments (+ -j) */
	ac = argc - i;
	av = calloc((size_t)ac + 2, sizeof(*av));
	if (!av) {
		ctl_err("out of memory");
		return EXIT_INPUT;
	}
	memcpy(av, argv + i, (size_t)ac * sizeof(*av));
	if (json)
		av[ac++] = dash_j;
	ret = cmds[k].run(ac, av);
	free(av);
	return ret;
}
