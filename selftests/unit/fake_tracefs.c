// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * LD_PRELOAD for test_cli.py: tcptimeoctl monitor's live path without a
 * kernel. TCPTIMEO_TRACEFS names a plain directory with instances/; when
 * monitor makes instances/tcptimeoctl-monitor.PID there, this fills it as
 * tracefs does with the tcptimeo module loaded:
 *   events/tcptimeo/{stamp,timeout,abort}/{enable,filter}, buffer_size_kb,
 *   tracing_on, per_cpu/cpu{0,1}/stats (37 events lost in all) and
 *   trace_pipe, a FIFO the test writes trace lines into.
 * rmdir of the instance renames it NAME.removed, so that the test reads
 * what monitor wrote and sees that it removed the instance.
 *   TT_FAKE_OMIT=REL   leave that file or directory out (an error path)
 *   TT_FAKE_EBUSY=N    the first N rmdir calls fail with EBUSY
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INSTANCE "/instances/tcptimeoctl-monitor."

static int (*real_mkdir)(const char *, mode_t);
static int (*real_rmdir)(const char *);
static int ebusy = -1;

static int omitted(const char *rel)
{
	const char *o = getenv("TT_FAKE_OMIT");

	return o && !strcmp(o, rel);
}

static void fake_dir(const char *inst, const char *rel)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", inst, rel);
	if (!omitted(rel))
		real_mkdir(p, 0755);
}

static void fake_file(const char *inst, const char *rel, const char *text)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", inst, rel);
	if (omitted(rel))
		return;
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror(p);
		close(fd);
	}
}

static void fake_instance(const char *inst)
{
	static const char *const ev[] = { "stamp", "timeout", "abort" };
	char rel[128], p[4096];
	size_t i;

	fake_dir(inst, "events");
	fake_dir(inst, "events/tcptimeo");
	for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		snprintf(rel, sizeof(rel), "events/tcptimeo/%s", ev[i]);
		fake_dir(inst, rel);
		snprintf(rel, sizeof(rel), "events/tcptimeo/%s/enable", ev[i]);
		fake_file(inst, rel, "0\n");
		snprintf(rel, sizeof(rel), "events/tcptimeo/%s/filter", ev[i]);
		fake_file(inst, rel, "none\n");
	}
	fake_file(inst, "buffer_size_kb", "1408\n");
	fake_file(inst, "tracing_on", "1\n");
	fake_dir(inst, "per_cpu");
	fake_dir(inst, "per_cpu/cpu0");
	fake_dir(inst, "per_cpu/cpu1");
	fake_file(inst, "per_cpu/cpu0/stats", "entries: 0\noverrun: 5\n"
		  "commit overrun: 7\nbytes: 0\noldest event ts: 0.000000\n"
		  "now ts: 1.000000\ndropped events: 2\nread events: 3\n");
	fake_file(inst, "per_cpu/cpu1/stats", "entries: 0\noverrun: 30\n"
		  "commit overrun: 0\ndropped events: 0\nread events: 0\n");
	snprintf(p, sizeof(p), "%s/trace_pipe", inst);
	if (!omitted("trace_pipe"))
		mkfifo(p, 0600);
}

int mkdir(const char *path, mode_t mode)
{
	int r;

	if (!real_mkdir)
		real_mkdir = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT,
								  "mkdir");
	r = real_mkdir(path, mode);
	if (!r && strstr(path, INSTANCE))
		fake_instance(path);
	return r;
}

int rmdir(const char *path)
{
	char p[4096];

	if (!real_rmdir)
		real_rmdir = (int (*)(const char *))dlsym(RTLD_NEXT, "rmdir");
	if (!strstr(path, INSTANCE))
		return real_rmdir(path);
	if (ebusy < 0)
		ebusy = getenv("TT_FAKE_EBUSY") ? atoi(getenv("TT_FAKE_EBUSY")) : 0;
	if (ebusy > 0) {
		ebusy--;
		errno = EBUSY;
		return -1;
	}
	snprintf(p, sizeof(p), "%s.removed", path);
	return rename(path, p);
}
