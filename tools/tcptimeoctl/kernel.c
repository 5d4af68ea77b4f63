// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeoctl: the only code that talks to the module, through files:
 * configfs /sys/kernel/config/tcptimeo/rules/<name>/<attr> and sysfs
 * /sys/kernel/tcptimeo/. TCPTIMEO_SYSROOT (tests only) prefixes both, and
 * then attribute files are created on write since no module backs them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ctl.h"

const char *ctl_sysroot = "";

static void ctl_path(char *buf, size_t size, const char *base,
		     const char *name, const char *attr)
{
	snprintf(buf, size, "%s%s%s%s%s%s", ctl_sysroot, base,
		 name ? "/" : "", name ? name : "", attr ? "/" : "",
		 attr ? attr : "");
}

/*
 * sysfs only: enough for the commands that need no rules (sockets,
 * abort-peer), which then also work under 'ip netns exec', whose private
 * mount namespace has a fresh /sys without configfs.
 */
int ctl_module_check(void)
{
	char p[1024];
	struct stat st;

	ctl_path(p, sizeof(p), TCPTIMEO_SYSFS_ROOT, NULL, NULL);
	if (stat(p, &st)) {
		ctl_err("the tcptimeo module is not loaded (no %s): run "
			"'modprobe tcptimeo'", p);
		return EXIT_NOMOD;
	}
	return 0;
}

/* The same, silent: 0 if the module's sysfs directory is there. */
int ctl_module_check_quiet(void)
{
	char p[1024];
	struct stat st;

	ctl_path(p, sizeof(p), TCPTIMEO_SYSFS_ROOT, NULL, NULL);
	return stat(p, &st) ? EXIT_NOMOD : 0;
}

int ctl_kernel_check(void)
{
	char p[1024];
	struct stat st;

	if (ctl_module_check())
		return EXIT_NOMOD;
	ctl_path(p, sizeof(p), TCPTIMEO_CONFIGFS_RULES, NULL, NULL);
	if (stat(p, &st)) {
		ctl_err("%s is missing: configfs is not mounted; run 'mount -t "
			"configfs none /sys/kernel/config' (or 'modprobe "
			"tcptimeo' if the module is not loaded)", p);
		return EXIT_NOMOD;
	}
	return 0;
}

/*
 * The module and this tool share one ABI version: a node that runs another
 * module than its tools (an upgrade that did not reload the module) is
 * worth one line on stderr.
 */
void ctl_version_warn(void)
{
	char mod[64];

	if (ctl_sysfs_read("version", mod, sizeof(mod)) < 0 ||
	    !strcmp(mod, TCPTIMEO_VERSION))
		return;
	ctl_warn("module %s differs from tcptimeoctl %s: the node runs "
		 "another module than its tools; reload the module (save, "
		 "rmmod, modprobe, apply --existing) or install the matching "
		 "tools", mod, TCPTIMEO_VERSION);
}

/* Read a small file; strips one trailing newline. -errno on failure. */
static int ctl_read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return (int)n;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return (int)len;
}

int ctl_sysfs_read(const char *rel, char *buf, size_t size)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s%s/%s", ctl_sysroot, TCPTIMEO_SYSFS_ROOT,
		 rel);
	return ctl_read_small(p, buf, size);
}

/* One write of @val plus a newline to a sysfs file; -errno on failure. */
int ctl_sysfs_write(const char *rel, const char *val)
{
	char p[1024];
	size_t len = strlen(val);
	char *buf = malloc(len + 2);
	ssize_t n;
	int fd, err = 0, flags = O_WRONLY | O_CLOEXEC;

	if (!buf)
		return -ENOMEM;
	if (*ctl_sysroot)
		flags |= O_CREAT | O_TRUNC;
	snprintf(p, sizeof(p), "%s%s/%s", ctl_sysroot, TCPTIMEO_SYSFS_ROOT,
		 rel);
	memcpy(buf, val, len);
	buf[len] = '\n';
	fd = open(p, flags, 0644);
	if (fd < 0) {
		err = -errno;
	} else {
		n = write(fd, buf, len + 1);
		if (n < 0)
			err = -errno;
		close(fd);
	}
	free(buf);
	return err;
}

/* How long a hold lasts; apply renews it while it works. */
#define CTL_HOLD_SECS	"60"

static int ctl_txn_fail(const char *what, int err)
{
	if (err == EACCES || err == EPERM) {
		ctl_err("writing %s%s/%s: %s: needs root with CAP_NET_ADMIN",
			ctl_sysroot, TCPTIMEO_SYSFS_ROOT, what, strerror(err));
		return EXIT_PERM;
	}
	ctl_err("writing %s%s/%s: %s", ctl_sysroot, TCPTIMEO_SYSFS_ROOT, what,
		strerror(err));
	return ctl_errno_exit(err);
}

/* Stage rule changes from now on (or renew the hold): an exit code. */
int ctl_kernel_hold(void)
{
	char p[1024];
	struct stat st;
	int err = ctl_sysfs_write("hold", CTL_HOLD_SECS);

	if (!err)
		return EXIT_OK;
	ctl_path(p, sizeof(p), TCPTIMEO_SYSFS_ROOT, NULL, "hold");
	if (err == -ENOENT && stat(p, &st)) {
		if (ctl_module_check())
			return EXIT_NOMOD;
		ctl_err("the module has no %s: it is older than this "
			"tcptimeoctl; install the module of the same version",
			p);
		return EXIT_INPUT;
	}
	return ctl_txn_fail("hold", -err);
}

/* Publish what the hold staged, in one step: an exit code. */
int ctl_kernel_commit(void)
{
	int err = ctl_sysfs_write("commit", "1");

	if (!err)
		return EXIT_OK;
	if (err == -ENOENT) {
		ctl_err("the module's hold ran out before commit: it published "
			"the changes made until then (see the kernel log); "
			"compare 'tcptimeoctl save' with the file");
		return EXIT_INPUT;
	}
	return ctl_txn_fail("commit", -err);
}

/* A counter of /sys/kernel/tcptimeo/stats/; -errno on failure. */
int ctl_stat_read(const char *name, unsigned long long *v)
{
	char rel[256], buf[64], *end;
	int n;

	snprintf(rel, sizeof(rel), "stats/%s", name);
	n = ctl_sysfs_read(rel, buf, sizeof(buf));
	if (n < 0)
		return n;
	*v = strtoull(buf, &end, 10);
	return n && !*end ? 0 : -EPROTO;
}

int ctl_sysctl_read(const char *name, unsigned long *v)
{
	char p[256], buf[64], *end;
	int n;

	snprintf(p, sizeof(p), "/proc/sys/%s", name);
	n = ctl_read_small(p, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	errno = 0;
	*v = strtoul(buf, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

static int ctl_attr_u32(const char *dir, const char *attr, u32 max, u32 *out)
{
	char p[1100], buf[64];
	int n;

	snprintf(p, sizeof(p), "%s/%s", dir, attr);
	n = ctl_read_small(p, buf, sizeof(buf));
	if (n == -ENOENT) {
		struct stat st;

		/* gone with its rule, or not there (older module, tests) */
		return stat(dir, &st) ? -ENOENT : 0;
	}
	if (n < 0)
		return n;
	return tt_parse_u32(buf, (size_t)n, max, out) ? -EPROTO : 0;
}

static int ctl_attr_u64(const char *dir, const char *attr,
			unsigned long long *out)
{
	char p[1100], buf[64], *end;
	int n;

	snprintf(p, sizeof(p), "%s/%s", dir, attr);
	n = ctl_read_small(p, buf, sizeof(buf));
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return n;
	*out = strtoull(buf, &end, 10);
	return 0;
}

/*
 * The rule's configuration from its "line" file, in one read (one
 * snapshot of the rule), parsed by lib/ as the module wrote it.
 * -ENOENT: no such file (a module without it), or the rule is gone.
 */
static int ctl_read_line(const char *dir, struct ctl_rule *r)
{
	char p[1100], buf[CTL_LINE_TEXT_MAX];
	struct tt_rule_spec sp;
	struct tt_rule_err e;
	int n;

	snprintf(p, sizeof(p), "%s/line", dir);
	n = ctl_read_small(p, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (tt_rule_parse(&sp, TT_W_LINE, NULL, NULL, buf, (size_t)n, &e) ||
	    sp.cgroup_len >= sizeof(r->cgroup))
		return -EPROTO;
	r->priority = sp.priority;
	r->netns = sp.netns;
	r->sel = sp.sel;
	r->opts = sp.opts;
	if (sp.cgroup)
		memcpy(r->cgroup, sp.cgroup, sp.cgroup_len);
	r->cgroup[sp.cgroup ? sp.cgroup_len : 0] = '\0';
	return 0;
}

/* Read one rule back from configfs; every value is parsed by lib/. */
int ctl_kernel_read(const char *name, struct ctl_rule *r)
{
	char dir[1024], p[1100];
	char buf[TT_CIDRS_TEXT_MAX + TCPTIMEO_CGROUP_PATH_MAX];
	u32 v;
	int n, err = 0;

	if (!tt_valid_name(name, strlen(name)))
		return -EINVAL;
	ctl_rule_init(r);
	r->enabled = false;
	memcpy(r->name, name, strlen(name) + 1);
	ctl_path(dir, sizeof(dir), TCPTIMEO_CONFIGFS_RULES, name, NULL);

#define RD(attr) (snprintf(p, sizeof(p), "%s/%s", dir, attr), \
		  n = ctl_read_small(p, buf, sizeof(buf)), \
		  n == -ENOENT ? (buf[0] = '\0', n = 0) : n)
	v = 0;
	if ((err = ctl_attr_u32(dir, "enabled", 1, &v)))
		return err;
	r->enabled = v;
	err = ctl_read_line(dir, r);
	if (err != -ENOENT) {
		if (err)
			return err;
		if (RD("netns_state") < 0)
			return n;
		r->netns_gone = !strcmp(buf, "gone");
		if (RD("cgroup_state") < 0)
			return n;
		r->cgroup_absent = !strcmp(buf, "absent");
		goto counters;
	}
	v = TCPTIMEO_PRIORITY_DEFAULT;
	if ((err = ctl_attr_u32(dir, "priority", TCPTIMEO_PRIORITY_MAX, &v)))
		return err;
	r->priority = v;
	if (RD("direction") < 0)
		return n;
	if (n && tt_parse_dir(buf, (size_t)n, &r->sel.dir))
		return -EPROTO;
	if (RD("local_ports") < 0)
		return n;
	if (tt_parse_ports(buf, (size_t)n, r->sel.lports, &r->sel.n_lports))
		return -EPROTO;
	if (RD("remote_ports") < 0)
		return n;
	if (tt_parse_ports(buf, (size_t)n, r->sel.rports, &r->sel.n_rports))
		return -EPROTO;
	if (RD("remote_addrs") < 0)
		return n;
	if (tt_parse_cidrs(buf, (size_t)n, r->sel.addrs, &r->sel.n_addrs))
		return -EPROTO;
	if (RD("cgroup") < 0)
		return n;
	if ((size_t)n >= sizeof(r->cgroup))
		return -EPROTO;
	memcpy(r->cgroup, buf, (size_t)n + 1);
	if ((err = ctl_attr_u32(dir, "netns", TCPTIMEO_NETNS_MAX, &r->netns)))
		return err;
	if (RD("netns_state") < 0)
		return n;
	r->netns_gone = !strcmp(buf, "gone");
	if (RD("cgroup_state") < 0)
		return n;
	r->cgroup_absent = !strcmp(buf, "absent");
	v = 0;
	if ((err = ctl_attr_u32(dir, "keepalive", 1, &v)))
		return err;
	r->opts.keepalive = (u8)v;
	if ((err = ctl_attr_u32(dir, "keepidle", TCPTIMEO_KEEPIDLE_MAX,
				&r->opts.keepidle)))
		return err;
	if ((err = ctl_attr_u32(dir, "keepintvl", TCPTIMEO_KEEPINTVL_MAX,
				&r->opts.keepintvl)))
		return err;
	v = 0;
	if ((err = ctl_attr_u32(dir, "keepcnt", TCPTIMEO_KEEPCNT_MAX, &v)))
		return err;
	r->opts.keepcnt = (u8)v;
	v = 0;
	if ((err = ctl_attr_u32(dir, "syn_retries", TCPTIMEO_SYN_RETRIES_MAX,
				&v)))
		return err;
	r->opts.syn_retries = (u8)v;
	/* absent on a module before rto_max: unset */
	if ((err = ctl_attr_u32(dir, "rto_max", TCPTIMEO_RTO_MAX_MAX,
				&r->opts.rto_max)))
		return err;
	if (RD("user_timeout") < 0)
		return n;
	if (!strcmp(buf, "auto"))
		r->opts.user_timeout = TCPTIMEO_USER_TIMEOUT_AUTO;
	else if (n && tt_parse_u32(buf, (size_t)n, TCPTIMEO_USER_TIMEOUT_MAX,
				   &r->opts.user_timeout))
		return -EPROTO;
	if (RD("mode") < 0)
		return n;
	if (n && tt_parse_mode(buf, (size_t)n, &r->opts.mode))
		return -EPROTO;
	v = 0;
	if ((err = ctl_attr_u32(dir, "audit", 1, &v)))
		return err;
	r->opts.audit = (u8)v;
#undef RD
counters:
	ctl_attr_u64(dir, "matched", &r->matched);
	ctl_attr_u64(dir, "timeouts_idle", &r->timeouts_idle);
	ctl_attr_u64(dir, "timeouts_busy", &r->timeouts_busy);
	return 0;
}

int ctl_kernel_exists(const char *name)
{
	char dir[1024];
	struct stat st;

	ctl_path(dir, sizeof(dir), TCPTIMEO_CONFIGFS_RULES, name, NULL);
	return !stat(dir, &st) && S_ISDIR(st.st_mode);
}

int ctl_kernel_list(struct ctl_rule **rules, size_t *n)
{
	char dir[1024];
	struct ctl_rule *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int err;

	ctl_path(dir, sizeof(dir), TCPTIMEO_CONFIGFS_RULES, NULL, NULL);
	d = opendir(dir);
	if (!d) {
		err = errno;
		ctl_err("cannot read %s: %s", dir, strerror(err));
		return err == ENOENT ? EXIT_NOMOD : ctl_errno_exit(err);
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				closedir(d);
				free(v);
				ctl_err("out of memory");
				return EXIT_INPUT;
			}
			v = nv;
		}
		err = ctl_kernel_read(de->d_name, &v[cnt]);
		if (err == -ENOENT || err == -EINVAL)
			continue;	/* removed meanwhile, or not a rule */
		if (err) {
			ctl_err("cannot read rule %s: %s", de->d_name,
				strerror(-err));
			closedir(d);
			free(v);
			return ctl_errno_exit(-err);
		}
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), ctl_rule_order);
	*rules = v;
	*n = cnt;
	return 0;
}

int ctl_feature(const char *attr)
{
	char buf[512];
	const char *p = buf;
	size_t n, len = strlen(attr);

	if (ctl_sysfs_read("features", buf, sizeof(buf)) < 0)
		return strcmp(attr, "rto_max") != 0;	/* an older module */
	for (;;) {
		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		if (!n)
			return 0;
		if (n == len && !memcmp(p, attr, len))
			return 1;
		p += n;
	}
}

void ctl_rto_max_msg(char *buf, size_t size, const char *name)
{
	struct utsname u;

	snprintf(buf, size, "rule %s: %s: not supported by this kernel "
		 "(TCP_RTO_MAX_MS needs Linux 6.15 or later; running %s)",
		 name, ctl_fields[F_RTO_MAX].word,
		 uname(&u) ? "an unknown release" : u.release);
}

int ctl_rto_max_unsupported(const char *name)
{
	char msg[CTL_MSG_MAX];

	ctl_rto_max_msg(msg, sizeof(msg), name);
	ctl_err("%s", msg);
	return EXIT_INPUT;
}

/* Before anything is written: the options the kernel cannot stamp. */
int ctl_kernel_supports(const struct ctl_rule *r)
{
	if (r->opts.rto_max && !ctl_feature(ctl_fields[F_RTO_MAX].attr))
		return ctl_rto_max_unsupported(r->name);
	return EXIT_OK;
}

int ctl_errno_exit(int err)
{
	if (err == EACCES || err == EPERM)
		return EXIT_PERM;
	if (err == ENODEV)
		return EXIT_NOMOD;
	return EXIT_INPUT;
}

static int ctl_write_fail(const char *name, enum ctl_field f, const char *val,
			  const char *path, int err)
{
	const struct ctl_field_info *fi = &ctl_fields[f];
	char q[80];

	ctl_quote(val, strlen(val), q, sizeof(q));
	switch (err) {
	case EACCES:
	case EPERM:
		ctl_err("rule %s: writing %s: %s: needs root with "
			"CAP_NET_ADMIN", name, path, strerror(err));
		return EXIT_PERM;
	case EINVAL:
	case ERANGE:
		ctl_err("rule %s: the module refused %s '%s': %s; valid: %s",
			name, f == F_ENABLED ? "enabled" : fi->word, q,
			err == ERANGE ? "out of range" : "invalid", fi->valid);
		return EXIT_INPUT;
	case ENOTDIR:
		ctl_err("rule %s: cgroup '%s': not a cgroup directory; "
			"valid: %s", name, q, ctl_fields[F_CGROUP].valid);
		return EXIT_INPUT;
	case EOPNOTSUPP:
		if (f == F_RTO_MAX)
			return ctl_rto_max_unsupported(name);
		ctl_err("rule %s: %s '%s': not supported by this kernel", name,
			fi->word, q);
		return EXIT_INPUT;
	case ENOENT:
		if (f == F_NETNS) {
			struct stat st;

			/* the file is there: the kernel looked the namespace up */
			if (!stat(path, &st)) {
				ctl_err("rule %s: netns: no such network "
					"namespace; valid: %s", name,
					ctl_fields[F_NETNS].valid);
				return EXIT_INPUT;
			}
		}
		if (ctl_kernel_check())
			return EXIT_NOMOD;
		ctl_err("rule %s: no such rule (%s)", name, path);
		return EXIT_INPUT;
	default:
		ctl_err("rule %s: writing %s '%s' to %s: %s", name,
			fi->attr, q, path, strerror(err));
		return ctl_errno_exit(err);
	}
}

/* Write one attribute as the kernel reads it back; returns an exit code. */
int ctl_kernel_write(const char *name, enum ctl_field f,
		     const struct ctl_rule *r)
{
	char path[1024], val[TT_CIDRS_TEXT_MAX + TCPTIMEO_CGROUP_PATH_MAX + 2];
	size_t len;
	ssize_t n;
	int fd, flags = O_WRONLY | O_CLOEXEC;

	if (*ctl_sysroot)
		flags |= O_CREAT | O_TRUNC;
	ctl_path(path, sizeof(path), TCPTIMEO_CONFIGFS_RULES, name,
		 ctl_fields[f].attr);
	ctl_field_text(r, f, val, sizeof(val) - 1);
	len = strlen(val);
	val[len] = '\n';
	fd = open(path, flags, 0644);
	if (fd < 0) {
		int err = errno;

		val[len] = '\0';
		return ctl_write_fail(name, f, val, path, err);
	}
	n = write(fd, val, len + 1);
	if (n < 0) {
		int err = errno;

		close(fd);
		val[len] = '\0';
		return ctl_write_fail(name, f, val, path, err);
	}
	close(fd);
	return EXIT_OK;
}

/*
 * The whole configuration of rule @r in one write of its "line" file:
 * the module swaps a live rule from its old form to the new one at once.
 */
int ctl_kernel_write_line(const struct ctl_rule *r)
{
	char path[1024], val[CTL_LINE_TEXT_MAX], q[80];
	struct stat st;
	size_t len;
	ssize_t n = -1;
	int fd, err, flags = O_WRONLY | O_CLOEXEC;

	if (*ctl_sysroot)
		flags |= O_CREAT | O_TRUNC;
	ctl_path(path, sizeof(path), TCPTIMEO_CONFIGFS_RULES, r->name, "line");
	len = tt_format_rule(val, sizeof(val) - 1, NULL, r->priority, &r->sel,
			     r->cgroup, r->netns, &r->opts);
	val[len] = '\n';
	fd = open(path, flags, 0644);
	if (fd >= 0) {
		n = write(fd, val, len + 1);
		err = errno;
		close(fd);
		if (n >= 0)
			return EXIT_OK;
	} else {
		err = errno;
	}
	val[len] = '\0';
	ctl_quote(val, len, q, sizeof(q));
	switch (err) {
	case EACCES:
	case EPERM:
		ctl_err("rule %s: writing %s: %s: needs root with "
			"CAP_NET_ADMIN", r->name, path, strerror(err));
		return EXIT_PERM;
	case EINVAL:
	case ERANGE:
		ctl_err("rule %s: the module refused line '%s': %s (the kernel "
			"log names the field)", r->name, q, strerror(err));
		return EXIT_INPUT;
	case ENOTDIR:
		ctl_err("rule %s: cgroup '%s': not a cgroup directory; valid: %s",
			r->name, r->cgroup, ctl_fields[F_CGROUP].valid);
		return EXIT_INPUT;
	case EOPNOTSUPP:
		/* the module lacks an option the line sets: rto_max (6.15) */
		if (r->opts.rto_max)
			return ctl_rto_max_unsupported(r->name);
		ctl_err("rule %s: the module refused line '%s': %s (the kernel "
			"log names the field)", r->name, q, strerror(err));
		return EXIT_INPUT;
	case ENOENT:
		if (ctl_kernel_check())
			return EXIT_NOMOD;
		ctl_path(path, sizeof(path), TCPTIMEO_CONFIGFS_RULES, r->name,
			 NULL);
		if (stat(path, &st)) {
			ctl_err("rule %s: no such rule (%s)", r->name, path);
		} else if (fd < 0) {
			ctl_err("rule %s: the module has no 'line' file: it is "
				"older than this tcptimeoctl; install the module "
				"of the same version", r->name);
		} else {
			ctl_err("rule %s: netns: no such network namespace; "
				"valid: %s", r->name, ctl_fields[F_NETNS].valid);
		}
		return EXIT_INPUT;
	default:
		ctl_err("rule %s: writing line '%s' to %s: %s", r->name, q,
			path, strerror(err));
		return ctl_errno_exit(err);
	}
}

/* A fake tree (TCPTIMEO_SYSROOT) holds real files: remove them first. */
static void ctl_fake_empty(const char *dir)
{
	char p[1400];
	struct dirent *de;
	DIR *d;

	if (!*ctl_sysroot || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
}

static void ctl_rmdir_quiet(const char *name)
{
	char dir[1024];

	ctl_path(dir, sizeof(dir), TCPTIMEO_CONFIGFS_RULES, name, NULL);
	ctl_fake_empty(dir);
	rmdir(dir);
}

int ctl_kernel_delete(const char *name)
{
	char dir[1024];
	int err;

	ctl_path(dir, sizeof(dir), TCPTIMEO_CONFIGFS_RULES, name, NULL);
	ctl_fake_empty(dir);
	if (!rmdir(dir))
		return EXIT_OK;
	err = errno;
	if (err == ENOENT) {
		if (ctl_kernel_check())
			return EXIT_NOMOD;
		ctl_err("no rule named '%s'", name);
		return EXIT_INPUT;
	}
	ctl_err("deleting rule %s (%s): %s%s", name, dir, strerror(err),
		err == EACCES || err == EPERM ? ": needs root" : "");
	return ctl_errno_exit(err);
}

/*
 * mkdir, write the rule's line unless it is all defaults, then enabled=1
 * last. On any failure the half-made rule is removed.
 */
int ctl_kernel_create(const struct ctl_rule *r)
{
	struct ctl_rule def;
	char dir[1024];
	int ret, err;

	ctl_path(dir, sizeof(dir), TCPTIMEO_CONFIGFS_RULES, r->name, NULL);
	if (mkdir(dir, 0755)) {
		err = errno;
		switch (err) {
		case EEXIST:
			ctl_err("rule '%s' already exists; change it with "
				"'tcptimeoctl set'", r->name);
			return EXIT_INPUT;
		case ENOENT:
			return ctl_kernel_check() ? EXIT_NOMOD : EXIT_INPUT;
		case EINVAL:
			ctl_err("rule name '%s': invalid; valid: 1-32 "
				"characters of A-Z a-z 0-9 _ . -", r->name);
			return EXIT_INPUT;
		default:
			ctl_err("creating rule %s (%s): %s%s", r->name, dir,
				strerror(err), err == EACCES || err == EPERM ?
				": needs root with CAP_NET_ADMIN" : "");
			return ctl_errno_exit(err);
		}
	}
	ctl_rule_init(&def);
	def.enabled = r->enabled;
	memcpy(def.name, r->name, sizeof(def.name));
	if (!ctl_rule_equal(r, &def)) {
		ret = ctl_kernel_write_line(r);
		if (ret)
			goto undo;
	}
	if (r->enabled) {
		ret = ctl_kernel_write(r->name, F_ENABLED, r);
		if (ret)
			goto undo;
	}
	return EXIT_OK;
undo:
	ctl_rmdir_quiet(r->name);
	return ret;
}

/*
 * Change a rule in place: its configuration in one write of "line", which
 * the module swaps in at once. A rule being disabled is taken out first,
 * one being enabled goes live last.
 */
int ctl_kernel_update(const struct ctl_rule *r, const struct ctl_rule *old)
{
	struct ctl_rule a = *r, b = *old;
	int ret;

	if (old->enabled && !r->enabled) {
		ret = ctl_kernel_write(r->name, F_ENABLED, r);
		if (ret)
			return ret;
	}
	a.enabled = b.enabled = true;
	if (!ctl_rule_equal(&a, &b)) {
		ret = ctl_kernel_write_line(r);
		if (ret)
			return ret;
	}
	if (!old->enabled && r->enabled)
		return ctl_kernel_write(r->name, F_ENABLED, r);
	return EXIT_OK;
}

int ctl_read_file(const char *path, char **out, size_t *outlen)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nb;
	ssize_t n;
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;

	if (!buf)
		return -ENOMEM;
	if (fd < 0) {
		int err = errno;

		free(buf);
		return -err;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= (64u << 20)) {
				n = -1;
				errno = EFBIG;
				break;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				n = -1;
				errno = ENOMEM;
				break;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n < 0) {
		int err = errno;

		if (fd)
			close(fd);
		free(buf);
		return -err;
	}
	if (fd)
		close(fd);
	*out = buf;
	*outlen = len;
	return 0;
}

int ctl_file_load(struct ctl_file *f, const char *path, const char *shown)
{
	size_t len;
	char *buf;
	int err;

	err = ctl_read_file(path, &buf, &len);
	if (err) {
		ctl_err("%s: %s", shown, strerror(-err));
		return ctl_errno_exit(-err) == EXIT_PERM ? EXIT_PERM : EXIT_INPUT;
	}
	err = ctl_file_parse(f, buf, len);
	free(buf);
	if (err) {
		ctl_err("out of memory");
		return EXIT_INPUT;
	}
	return EXIT_OK;
}
