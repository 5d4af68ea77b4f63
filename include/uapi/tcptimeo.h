/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * tcptimeo: names, limits and defaults shared by the kernel module,
 * tcptimeoctl and the tests. One source of truth for the ABI described
 * in docs/ABI.md.
 */
#ifndef _UAPI_TCPTIMEO_H
#define _UAPI_TCPTIMEO_H

#define TCPTIMEO_VERSION		"0.1.0"

#define TCPTIMEO_CONFIGFS_ROOT		"/sys/kernel/config/tcptimeo"
#define TCPTIMEO_CONFIGFS_RULES		TCPTIMEO_CONFIGFS_ROOT "/rules"
#define TCPTIMEO_SYSFS_ROOT		"/sys/kernel/tcptimeo"

/* Rule names: 1..32 characters of A-Z a-z 0-9 _ . - */
#define TCPTIMEO_NAME_MAX		32

#define TCPTIMEO_MAX_PORT_RANGES	16
#define TCPTIMEO_MAX_CIDRS		16
#define TCPTIMEO_CGROUP_PATH_MAX	512

#define TCPTIMEO_PRIORITY_MAX		65535
#define TCPTIMEO_PRIORITY_DEFAULT	1000

/* Same limits as the kernel's setsockopt() (include/net/tcp.h). */
#define TCPTIMEO_KEEPIDLE_MAX		32767	/* seconds, MAX_TCP_KEEPIDLE */
#define TCPTIMEO_KEEPINTVL_MAX		32767	/* seconds, MAX_TCP_KEEPINTVL */
#define TCPTIMEO_KEEPCNT_MAX		127	/* MAX_TCP_KEEPCNT */
#define TCPTIMEO_SYN_RETRIES_MAX	127	/* MAX_TCP_SYNCNT */
#define TCPTIMEO_USER_TIMEOUT_MAX	2147483647U	/* milliseconds, INT_MAX */
/* TCP_RTO_MAX_MS (Linux 6.15): milliseconds, the kernel's own range */
#define TCPTIMEO_RTO_MAX_MIN		1000
#define TCPTIMEO_RTO_MAX_MAX		120000
#define TCPTIMEO_NETNS_MAX		4294967295U

/* user_timeout value meaning (keepidle + keepintvl * keepcnt) * 1000 */
#define TCPTIMEO_USER_TIMEOUT_AUTO	0xffffffffU

enum tcptimeo_dir {
	TCPTIMEO_DIR_IN = 1,	/* accepted */
	TCPTIMEO_DIR_OUT = 2,	/* connected */
	TCPTIMEO_DIR_ANY = 3,
};

enum tcptimeo_mode {
	TCPTIMEO_MODE_FILL = 0,	/* set only what the application left unset */
	TCPTIMEO_MODE_FORCE = 1,	/* overwrite */
	TCPTIMEO_MODE_CLAMP = 2,	/* lower values above the rule's (a ceiling) */
};

#endif /* _UAPI_TCPTIMEO_H */
