// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeoctl apply: make the live rules equal to a rules file.
 *
 * 1. Parse and validate the whole file; on any error print every one as
 *    FILE:LINE: message and change nothing (exit 1).
 * 2. Plan against the live rules: create, update (only the attributes
 *    that differ), delete (live rules the file does not name).
 * 3. Execute creates and updates in file order, then deletes, so a
 *    renamed rule never leaves a gap, all inside one hold of the module
 *    (sysfs hold/commit): the connections see the old table until the
 *    commit and the new one after it, never a mix. Each update is one
 *    write of the rule's line. If the module refuses a write, undo what
 *    was done (the plan run backwards) and report it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl.h"

/* Renew the module's hold (60 s) when this much of it has passed. */
#define CTL_HOLD_RENEW	20

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* PROC_CGROUP_INIT_INO (include/linux/proc_ns.h): the initial namespace */
#define CTL_CGROUP_INIT_INO	0xEFFFFFFBU

enum act_kind { ACT_NONE, ACT_CREATE, ACT_UPDATE, ACT_DELETE };

struct act {
	enum act_kind kind;
	const struct ctl_rule *want;	/* file rule (create/update) */
	const struct ctl_rule *live;	/* live rule (update/delete) */
};

/*
 * Where cgroup v2 is mounted with its root visible, or "" if unknown or
 * not there.
 */
void ctl_cgroup_mount(char *out, size_t size)
{
	char line[4096], root[1024], mnt[1024], *dash;
	FILE *f;

	struct stat st;

	out[0] = '\0';
	if (*ctl_sysroot) {
		snprintf(out, size, "%s/sys/fs/cgroup", ctl_sysroot);
		if (stat(out, &st))
			out[0] = '\0';
		return;
	}
	/*
	 * Rules name cgroups as seen from the initial cgroup namespace; in
	 * another one (a container) our view differs: leave it to the module.
	 */
	if (stat("/proc/self/ns/cgroup", &st) || st.st_ino != CTL_CGROUP_INIT_INO)
		return;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		dash = strstr(line, " - ");
		if (!dash || strncmp(dash, " - cgroup2 ", 11))
			continue;
		if (sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2)
			continue;
		if (strcmp(root, "/"))
			continue;
		snprintf(out, size, "%s", mnt);
		break;
	}
	fclose(f);
	if (out[0] && stat(out, &st))
		out[0] = '\0';
}

/*
 * Is @cg a cgroup under the mount @mnt (ctl_cgroup_mount())? 1: yes, 0:
 * nothing there (yet), -1: something that is not a directory, which can
 * never become a cgroup.
 */
int ctl_cgroup_exists(const char *mnt, const char *cg)
{
	char path[2048];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", mnt, cg);
	if (stat(path, &st))
		return 0;
	return S_ISDIR(st.st_mode) ? 1 : -1;
}

/*
 * A cgroup that does not exist yet is no error: the rule matches nothing
 * until it does (a unit or a pod not started yet), which a note says. A
 * path to a file is refused here, before anything changes, as the module
 * would refuse it.
 */
int ctl_file_cgroups(struct ctl_file *f, const char *shown, bool notes)
{
	char mnt[1024], msg[CTL_MSG_MAX], q[80];
	size_t i;
	int e;

	ctl_cgroup_mount(mnt, sizeof(mnt));
	if (!mnt[0])
		return 0;
	for (i = 0; i < f->n; i++) {
		const struct ctl_rule *r = &f->rules[i];

		if (!r->cgroup[0])
			continue;
		e = ctl_cgroup_exists(mnt, r->cgroup);
		ctl_quote(r->cgroup, strlen(r->cgroup), q, sizeof(q));
		if (e > 0)
			continue;
		if (!e) {
			if (r->enabled && notes)
				fprintf(stderr, "%s:%d: note: rule %s: cgroup "
					"'%s' is not present (under %.200s): "
					"the rule matches nothing until it is "
					"created\n", shown, r->line, r->name, q,
					mnt);
			continue;
		}
		snprintf(msg, sizeof(msg), "cgroup '%s': not a cgroup directory "
			 "(under %.200s); valid: %s", q, mnt,
			 ctl_fields[F_CGROUP].valid);
		if (f->nerr == f->errcap) {
			size_t cap = f->errcap ? f->errcap * 2 : 8;
			struct ctl_err *e = realloc(f->errs, cap * sizeof(*e));

			if (!e)
				return -1;
			f->errs = e;
			f->errcap = cap;
		}
		f->errs[f->nerr].line = r->line;
		snprintf(f->errs[f->nerr].msg, sizeof(f->errs[0].msg), "%s",
			 msg);
		f->nerr++;
	}
	return 0;
}

int ctl_err_order(const void *a, const void *b)
{
	const struct ctl_err *x = a, *y = b;

	return (x->line > y->line) - (x->line < y->line);
}

static int cmp_name(const void *a, const void *b)
{
	const struct ctl_rule *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Pointers to @n rules, sorted by name for find_name(); NULL: no memory. */
static const struct ctl_rule **by_name(const struct ctl_rule *r, size_t n)
{
	const struct ctl_rule **v = calloc(n + 1, sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = &r[i];
	qsort(v, n, sizeof(*v), cmp_name);
	return v;
}

static const struct ctl_rule *find_name(const struct ctl_rule **v, size_t n,
					const struct ctl_rule *key)
{
	const struct ctl_rule **hit = bsearch(&key, v, n, sizeof(*v), cmp_name);

	return hit ? *hit : NULL;
}

static void field_display(const struct ctl_rule *r, enum ctl_field f,
			  char *buf, size_t size)
{
	if (f == F_ENABLED) {
		snprintf(buf, size, "%s", r->enabled ? "enabled" : "disabled");
		return;
	}
	ctl_field_text(r, f, buf, size);
	if (!buf[0] || (f == F_NETNS && !strcmp(buf, "0")))
		snprintf(buf, size, "any");
}

static void print_act(FILE *out, const struct act *a)
{
	char buf[4096], o[TT_CIDRS_TEXT_MAX + TCPTIMEO_CGROUP_PATH_MAX];
	char n[sizeof(o)];
	const char *sep = "";
	int f;

	switch (a->kind) {
	case ACT_CREATE:
		ctl_rule_line(buf, sizeof(buf), a->want);
		fprintf(out, "create %s: %s\n", a->want->name, buf);
		break;
	case ACT_DELETE:
		ctl_rule_line(buf, sizeof(buf), a->live);
		fprintf(out, "delete %s: %s\n", a->live->name, buf);
		break;
	case ACT_UPDATE:
		fprintf(out, "update %s:", a->want->name);
		for (f = 0; f < F_NFIELDS; f++) {
			if (ctl_field_equal(a->want, a->live, (enum ctl_field)f))
				continue;
			field_display(a->live, (enum ctl_field)f, o, sizeof(o));
			field_display(a->want, (enum ctl_field)f, n, sizeof(n));
			fprintf(out, "%s %s %s -> %s", sep,
				f == F_ENABLED ? "state" : ctl_fields[f].word,
				o, n);
			sep = ",";
		}
		fputc('\n', out);
		break;
	default:
		break;
	}
}

static int run_act(const struct act *a)
{
	switch (a->kind) {
	case ACT_CREATE:
		return ctl_kernel_create(a->want);
	case ACT_UPDATE:
		return ctl_kernel_update(a->want, a->live);
	case ACT_DELETE:
		return ctl_kernel_delete(a->live->name);
	default:
		return 0;
	}
}

/* The inverse of an action that was carried out. */
static int undo_act(const struct act *a)
{
	switch (a->kind) {
	case ACT_CREATE:
		return ctl_kernel_delete(a->want->name);
	case ACT_UPDATE: {
		struct ctl_rule now;

		/* part of the update may have happened: compare with now */
		if (ctl_kernel_read(a->want->name, &now))
			return ctl_kernel_create(a->live);
		return ctl_kernel_update(a->live, &now);
	}
	case ACT_DELETE:
		return ctl_kernel_create(a->live);
	default:
		return 0;
	}
}

int cmd_apply(int argc, char **argv)
{
	const char *path = NULL, *shown;
	bool dry = false, quiet = false, existing = false;
	const struct ctl_rule **live_names = NULL, **file_names = NULL;
	struct ctl_rule *live = NULL;
	struct ctl_file f;
	struct act *acts = NULL;
	size_t nlive = 0, nacts = 0, i, j, ncreate = 0, nupdate = 0, ndel = 0;
	size_t done, nref = 0;
	time_t since = 0;
	bool held;
	int ret;

	for (i = 1; i < (size_t)argc; i++) {
		if (!strcmp(argv[i], "--dry-run") || !strcmp(argv[i], "-n"))
			dry = true;
		else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			quiet = true;
		else if (!strcmp(argv[i], "--existing"))
			existing = true;
		else if (!path)
			path = argv[i];
		else {
			ctl_err("apply: unexpected argument '%s'", argv[i]);
			return EXIT_INPUT;
		}
	}
	if (!path) {
		ctl_err("apply: missing FILE (or - for standard input)");
		return EXIT_INPUT;
	}
	shown = strcmp(path, "-") ? path : "<stdin>";
	ret = ctl_file_load(&f, path, shown);
	if (ret)
		return ret;
	if (ctl_file_cgroups(&f, shown, true)) {
		ctl_file_free(&f);
		ctl_err("out of memory");
		return EXIT_INPUT;
	}
	if (f.nerr) {
		qsort(f.errs, f.nerr, sizeof(f.errs[0]), ctl_err_order);
		for (i = 0; i < f.nerr; i++)
			fprintf(stderr, "%s:%d: %s\n", shown, f.errs[i].line,
				f.errs[i].msg);
		fprintf(stderr, "%s: %zu error%s in %s; nothing changed\n",
			ctl_prog, f.nerr, f.nerr == 1 ? "" : "s", shown);
		ctl_file_free(&f);
		return EXIT_INPUT;
	}
	if ((ret = ctl_kernel_check()) || (ret = ctl_kernel_list(&live, &nlive))) {
		ctl_file_free(&f);
		return ret;
	}
	ctl_version_warn();
	/* options this kernel lacks: refused before anything changes */
	for (i = 0; i < f.n; i++) {
		char msg[CTL_MSG_MAX];

		if (!f.rules[i].opts.rto_max ||
		    ctl_feature(ctl_fields[F_RTO_MAX].attr))
			continue;
		ctl_rto_max_msg(msg, sizeof(msg), f.rules[i].name);
		fprintf(stderr, "%s:%d: %s\n", shown, f.rules[i].line, msg);
		nref++;
	}
	if (nref) {
		fprintf(stderr, "%s: %zu error%s in %s; nothing changed\n",
			ctl_prog, nref, nref == 1 ? "" : "s", shown);
		ret = EXIT_INPUT;
		goto out;
	}

	/* by name, so that 10,000 rules against 10,000 cost no 10^8 compares */
	acts = calloc(f.n + nlive + 1, sizeof(*acts));
	live_names = by_name(live, nlive);
	file_names = by_name(f.rules, f.n);
	if (!acts || !live_names || !file_names) {
		ctl_err("out of memory");
		ret = EXIT_INPUT;
		goto out;
	}
	for (i = 0; i < f.n; i++) {
		const struct ctl_rule *l = find_name(live_names, nlive,
						     &f.rules[i]);

		if (!l) {
			acts[nacts++] = (struct act){ ACT_CREATE, &f.rules[i], NULL };
			ncreate++;
		} else if (!ctl_rule_equal(&f.rules[i], l)) {
			acts[nacts++] = (struct act){ ACT_UPDATE, &f.rules[i], l };
			nupdate++;
		}
	}
	for (j = 0; j < nlive; j++) {
		if (!find_name(file_names, f.n, &live[j])) {
			acts[nacts++] = (struct act){ ACT_DELETE, NULL, &live[j] };
			ndel++;
		}
	}

	if (dry || !quiet)
		for (i = 0; i < nacts; i++)
			print_act(stdout, &acts[i]);
	ret = EXIT_OK;
	held = !dry && nacts;
	if (held) {
		ret = ctl_kernel_hold();
		if (ret)
			goto out;
		since = mono_now();
	}
	for (done = 0; !dry && done < nacts; done++) {
		if (mono_now() - since >= CTL_HOLD_RENEW) {
			ret = ctl_kernel_hold();
			if (ret)
				break;
			since = mono_now();
		}
		ret = run_act(&acts[done]);
		if (ret)
			break;
	}
	if (ret) {
		int uret = 0;

		/*
		 * A failed create removed its own directory and a failed
		 * delete did nothing, but a failed update may be half done.
		 */
		if (acts[done].kind == ACT_UPDATE && undo_act(&acts[done]))
			uret = 1;
		for (i = done; i-- > 0;)
			if (undo_act(&acts[i]))
				uret = 1;
		/* the old rules, restored, go live as they were */
		if (held && ctl_kernel_commit())
			uret = 1;
		if (uret)
			ctl_err("apply %s failed and could not be undone "
				"completely: compare 'tcptimeoctl save' with the "
				"file", shown);
		else
			ctl_err("apply %s failed; the previous rules were "
				"restored", shown);
	} else if (held && (ret = ctl_kernel_commit())) {
		/* said why */
	} else if (dry || !quiet) {
		printf("%s%zu to create, %zu to update, %zu to delete, %zu "
		       "unchanged\n", dry ? "dry run, nothing changed: " : "",
		       ncreate, nupdate, ndel, f.n - ncreate - nupdate);
		if (dry && existing)
			printf("then connections already open would be stamped "
			       "per the new rules (apply_existing)\n");
	}
	/* scripts reconcile on this: 0 in sync, 5 the file differs */
	if (!ret && dry && nacts)
		ret = EXIT_PENDING;
	/* the rules are in place: now the connections opened before them */
	if (!ret && !dry && existing)
		ret = ctl_apply_existing(quiet);
out:
	free(acts);
	free(live_names);
	free(file_names);
	free(live);
	ctl_file_free(&f);
	return ret;
}
