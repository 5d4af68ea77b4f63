/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Minimal TAP for host unit tests: each check prints "ok - what" or
 * "not ok - what"; run_tap.py numbers the points of every program and
 * prints the plan. Diagnostics start with "#".
 */
#ifndef _TT_UNIT_H
#define _TT_UNIT_H

#include <stdarg.h>
#include <stdio.h>

static int unit_failed;

static inline int unit_ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline int unit_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	fputs(cond ? "ok - " : "not ok - ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		unit_failed++;
	return cond;
}

static inline void unit_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static inline void unit_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A tiny deterministic PRNG (xorshift64*), so failures reproduce. */
static unsigned long long unit_seed = 0x9e3779b97f4a7c15ULL;

static inline unsigned int unit_rand(void)
{
	unit_seed ^= unit_seed >> 12;
	unit_seed ^= unit_seed << 25;
	unit_seed ^= unit_seed >> 27;
	return (unsigned int)((unit_seed * 0x2545f4914f6cdd1dULL) >> 32);
}

#endif
