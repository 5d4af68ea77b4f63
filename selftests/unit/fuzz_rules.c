// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libFuzzer target for the rules-file parser (tools/tcptimeoctl/rule.c on
 * lib/tt_parse.c). Besides memory safety (ASan/UBSan) it checks
 * properties: every rule the parser accepts prints as a canonical line
 * that parses back to the same rule, and printing is idempotent.
 *
 *   make -C selftests/unit fuzz FUZZ_SECONDS=600
 */
#include <stdlib.h>
#include <string.h>

#include "../../tools/tcptimeoctl/ctl.h"

const char *ctl_prog = "fuzz";

void ctl_err(const char *fmt, ...)
{
	(void)fmt;
}

void ctl_warn(const char *fmt, ...)
{
	(void)fmt;
}

/* No /proc: numbers and net:[N] resolve, everything else is an error. */
static int fuzz_netns(const char *arg, u32 *ino, char *msg, size_t size)
{
	size_t len = strlen(arg);
	u32 v;

	if (len > 5 && !strncmp(arg, "net:[", 5) && arg[len - 1] == ']' &&
	    !tt_parse_u32(arg + 5, len - 6, 0xffffffffU, &v)) {
		*ino = v;
		return 0;
	}
	if (!tt_parse_u32(arg, len, 0xffffffffU, &v)) {
		*ino = v;
		return 0;
	}
	snprintf(msg, size, "'%.20s': invalid", arg);
	return -TT_EINVAL;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct ctl_file f, g;
	char line[4096], again[4096];
	size_t i;

	ctl_netns_resolve = fuzz_netns;
	if (ctl_file_parse(&f, (const char *)data, size))
		abort();
	for (i = 0; i < f.nerr; i++)
		if (f.errs[i].line < 1 || !f.errs[i].msg[0])
			abort();
	for (i = 0; i < f.n; i++) {
		size_t n = ctl_rule_line(line, sizeof(line), &f.rules[i]);

		if (n >= sizeof(line))
			abort();	/* a rule always fits one line */
		if (ctl_file_parse(&g, line, n))
			abort();
		if (g.nerr || g.n != 1 || !ctl_rule_equal(&f.rules[i], &g.rules[0]))
			abort();	/* canonical text changed the rule */
		ctl_rule_line(again, sizeof(again), &g.rules[0]);
		if (strcmp(line, again))
			abort();	/* printing is not idempotent */
		ctl_file_free(&g);
	}
	ctl_file_free(&f);
	/* the module's parser of one rule's line: the same grammar */
	{
		struct tt_rule_spec sp, sp2;
		struct tt_rule_err e;
		char cg[TCPTIMEO_CGROUP_PATH_MAX], cg2[sizeof(cg)];
		size_t n;

		if (tt_rule_parse(&sp, TT_W_LINE, NULL, NULL,
				  (const char *)data, size, &e))
			return 0;
		if (sp.cgroup_len >= sizeof(cg))
			abort();
		memcpy(cg, sp.cgroup ? sp.cgroup : "", sp.cgroup_len);
		cg[sp.cgroup_len] = '\0';
		n = tt_format_rule(line, sizeof(line), NULL, sp.priority,
				   &sp.sel, cg, sp.netns, &sp.opts);
		if (n >= sizeof(line) ||
		    tt_rule_parse(&sp2, TT_W_LINE, NULL, NULL, line, n, &e))
			abort();	/* canonical text is a valid line */
		memcpy(cg2, sp2.cgroup ? sp2.cgroup : "", sp2.cgroup_len);
		cg2[sp2.cgroup_len] = '\0';
		tt_format_rule(again, sizeof(again), NULL, sp2.priority,
			       &sp2.sel, cg2, sp2.netns, &sp2.opts);
		if (strcmp(line, again))
			abort();	/* and reads back as itself */
	}
	return 0;
}
