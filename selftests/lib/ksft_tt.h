/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksft_tt.h: what every C test of tcptimeo's selftests shares: the
 * module's file paths, raw reads and writes of its files (the errno is
 * the point), the kernel log since a mark, and main()'s frame around
 * kselftest_harness.h:
 *
 *	int main(int argc, char **argv)
 *	{
 *		struct ksft_tt k = { .prefix = "ksftNNc" };
 *		int rc;
 *
 *		if (ksft_tt_listing(argc, argv))
 *			return test_harness_run(argc, argv);
 *		ksft_tt_setup(&k);	// root, the module loaded, or a skip
 *		... the test's own setup (ksft_tt_skip() to give up) ...
 *		rc = ksft_tt_run(&k, argc, argv);
 *		... the test's own checks of what was left (rc = KSFT_FAIL) ...
 *		return ksft_tt_finish(&k, rc);
 *	}
 *
 * ksft_tt_setup() loads the module if it is not loaded (modprobe
 * configfs, mount configfs if needed, then insmod $TCPTIMEO_KO, or
 * modprobe tcptimeo without it), and ksft_tt_finish() unloads it then
 * only. ksft_tt_run() runs the harness in a child, so that main() still
 * cleans up when a test crashes it, and removes the rule directories
 * named k->prefix* that a test left behind, which fails the run.
 */
#ifndef KSFT_TT_H
#define KSFT_TT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * kselftest_harness.h is not -Wextra clean: __timeout_handler() has an
 * unused parameter, and -O2 warns that the setjmp() of every TEST_F()
 * wrapper may clobber its "child" (it is not used after a longjmp()).
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wclobbered"

#define CONFIGFS	"/sys/kernel/config"
#define RULES		CONFIGFS "/tcptimeo/rules"
#define SYSFS		"/sys/kernel/tcptimeo"
#define DEBUGFS		"/sys/kernel/debug"
#define CGROOT		"/sys/fs/cgroup"

/* ---- raw file access: errno matters ---- */

/* One write(2) of @len bytes on a fresh fd: 0 or the errno. */
static inline int write_raw(const char *path, const char *buf, size_t len)
{
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (write(fd, buf, len) < 0)
		err = errno;
	close(fd);
	return err;
}

static inline int write_str(const char *path, const char *s)
{
	return write_raw(path, s, strlen(s));
}

/* The file without its one trailing newline; "<error>" if unreadable. */
static inline const char *get(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(buf, size, "<open: %s>", strerror(errno));
		return buf;
	}
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			snprintf(buf, size, "<read: %s>", strerror(errno));
			close(fd);
			return buf;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return buf;
}

/* A number read from a file; -1 if it is not one. */
static inline long long get_num(const char *path)
{
	char buf[64], *end;
	long long v;

	get(path, buf, sizeof(buf));
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || *end)
		return -1;
	return v;
}

static inline bool mounted(const char *where, const char *fstype)
{
	char line[1024], dev[256], mnt[512], type[64];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %511s %63s", dev, mnt, type) == 3 &&
		    !strcmp(mnt, where) && !strcmp(type, fstype))
			found = true;
	fclose(f);
	return found;
}

static inline bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* ---- the kernel log ---- */

/* /dev/kmsg, to be read from its end on (an fd, or -1 and errno). */
static inline int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The module's lines logged since the last read of @fd (not the kernel's
 * taint notices of an unsigned module); the first one in @first.
 */
static inline int kmsg_ours(int fd, char *first, size_t size)
{
	char rec[8192], *msg, *end;
	int lines = 0;
	ssize_t n;

	first[0] = '\0';
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		end = strchr(msg, '\n');
		if (end)
			*end = '\0';
		if (!strstr(msg, "tcptimeo") || strstr(msg, "taints kernel") ||
		    strstr(msg, "module verification failed"))
			continue;
		if (!lines++)
			snprintf(first, size, "%s", msg);
	}
	return lines;
}

/* ---- main()'s frame ---- */

struct ksft_tt {
	const char *prefix;	/* the rule directories the tests make */
	bool loaded;		/* ksft_tt_setup() loaded the module */
};

/* Runs @argv (PATH has the sbin folders); its stdout goes to our stderr. */
static inline int ksft_tt_exec(const char *const argv[])
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Listing the tests (-l) or asking for help (-h) needs nothing else. */
static inline bool ksft_tt_listing(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/* Unloads the module if ksft_tt_setup() loaded it; false if it would not. */
static inline bool ksft_tt_unload(struct ksft_tt *k)
{
	const char *rmmod[] = { "rmmod", "tcptimeo", NULL };
	int i;

	if (!k->loaded)
		return true;
	/* sockets closed by the tests may hold it for a moment */
	for (i = 0; i < 10 && ksft_tt_exec(rmmod); i++)
		sleep(1);
	k->loaded = i == 10;
	return i < 10;
}

/* Gives up before the tests: unloads what setup loaded, exits KSFT_SKIP. */
#define ksft_tt_skip(k, ...) do {					\
		ksft_tt_unload(k);					\
		ksft_print_header();					\
		ksft_exit_skip(__VA_ARGS__);				\
	} while (0)

/*
 * Loads the module under test: insmod $TCPTIMEO_KO, or without it the
 * installed one (modprobe). 0; KSFT_SKIP when there is nothing to test
 * (no configfs, no module installed and none named); KSFT_FAIL when the
 * named or installed module does not load. Why, in why.
 */
static inline int ksft_tt_load(char *why, size_t size)
{
	const char *ko = getenv("TCPTIMEO_KO");
	const char *modprobe_configfs[] = { "modprobe", "configfs", NULL };
	const char *modinfo[] = { "modinfo", "-F", "filename", "tcptimeo", NULL };
	const char *modprobe[] = { "modprobe", "tcptimeo", NULL };
	const char *insmod[] = { "insmod", ko, NULL };
	bool use_ko = ko && *ko;
	int rc;

	if (use_ko && access(ko, R_OK)) {
		snprintf(why, size, "TCPTIMEO_KO=%s: %s", ko, strerror(errno));
		return KSFT_FAIL;
	}
	if (!use_ko && ksft_tt_exec(modinfo)) {
		snprintf(why, size, "not installed (modinfo tcptimeo failed), no TCPTIMEO_KO");
		return KSFT_SKIP;
	}
	ksft_tt_exec(modprobe_configfs);	/* may be built in */
	if (!mounted(CONFIGFS, "configfs") &&
	    mount("none", CONFIGFS, "configfs", 0, NULL)) {
		snprintf(why, size, "cannot mount configfs on " CONFIGFS ": %s",
			 strerror(errno));
		return KSFT_SKIP;
	}
	rc = ksft_tt_exec(use_ko ? insmod : modprobe);
	if (rc) {
		snprintf(why, size, "%s %s exited %d", use_ko ? "insmod" : "modprobe",
			 use_ko ? ko : "tcptimeo", rc);
		return KSFT_FAIL;
	}
	return 0;
}

/*
 * Root, the module loaded and its rules directory there; else a skip (not
 * root, nothing to test) or, for a module that does not load, a failure.
 */
static inline void ksft_tt_setup(struct ksft_tt *k)
{
	const char *path = getenv("PATH");
	char why[512], *newpath;

	if (geteuid()) {
		ksft_print_header();
		ksft_exit_skip("must be run as root\n");
	}
	/* modprobe, insmod and rmmod live in sbin */
	if (asprintf(&newpath, "%s:/usr/sbin:/sbin:/usr/bin:/bin",
		     path ? path : "") > 0)
		setenv("PATH", newpath, 1);
	if (!is_dir("/sys/module/tcptimeo")) {
		switch (ksft_tt_load(why, sizeof(why))) {
		case 0:
			break;
		case KSFT_SKIP:
			ksft_print_header();
			ksft_exit_skip("no tcptimeo to test: %s\n", why);
			break;
		default:
			/* a module to test that does not load: a failure */
			ksft_print_header();
			ksft_exit_fail_msg("cannot load tcptimeo: %s\n", why);
		}
		k->loaded = true;
	}
	if (!is_dir(RULES))
		ksft_tt_skip(k, "tcptimeo is loaded but " RULES " is missing\n");
}

/* Removes the rule directories (prefix*) the tests left; how many. */
static inline int ksft_tt_sweep(const struct ksft_tt *k)
{
	char path[512];
	struct dirent *e;
	int n = 0;
	DIR *d;

	d = opendir(RULES);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, k->prefix, strlen(k->prefix)))
			continue;
		snprintf(path, sizeof(path), RULES "/%s", e->d_name);
		ksft_print_msg("a test left rule %s behind: %s\n", e->d_name,
			       rmdir(path) ? strerror(errno) : "removed");
		n++;
	}
	closedir(d);
	return n;
}

/* The harness in a child; its exit code, KSFT_FAIL if rules were left. */
static inline int ksft_tt_run(struct ksft_tt *k, int argc, char **argv)
{
	int status, rc;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		ksft_tt_unload(k);
		ksft_print_header();
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	}
	if (!pid)
		exit(test_harness_run(argc, argv));
	if (waitpid(pid, &status, 0) != pid)
		status = KSFT_FAIL << 8;
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : KSFT_FAIL;
	if (ksft_tt_sweep(k) && rc == KSFT_PASS)
		rc = KSFT_FAIL;
	return rc;
}

/* Unloads what setup loaded; @rc, or KSFT_FAIL if that failed. */
static inline int ksft_tt_finish(struct ksft_tt *k, int rc)
{
	if (!ksft_tt_unload(k)) {
		ksft_print_msg("rmmod tcptimeo failed\n");
		if (rc == KSFT_PASS)
			rc = KSFT_FAIL;
	}
	return rc;
}

#endif /* KSFT_TT_H */
