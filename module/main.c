// SPDX-License-Identifier: GPL-2.0
/*
 * tcptimeo: TCP timeout policy for matching sockets.
 *
 * Operators write rules in configfs; a probe on TCP state changes stamps
 * SO_KEEPALIVE, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, TCP_USER_TIMEOUT and
 * TCP_SYNCNT onto the sockets they match. This file only wires the parts
 * together; see tcptimeo.h for the map.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "tcptimeo.h"

/* Serialises all configuration: configfs, rebuilds, the rules file. */
DEFINE_MUTEX(tt_cfg_mutex);

static int __init tt_init(void)
{
	int err;

	err = tt_rules_init();
	if (err)
		return err;
	err = tt_sysfs_init();
	if (err)
		goto err_rules;
	err = tt_proc_init();
	if (err)
		goto err_sysfs;
	err = tt_netns_init();
	if (err)
		goto err_proc;
	err = tt_configfs_init();
	if (err)
		goto err_netns;
	/* Last: the probes may run as soon as they are attached. */
	err = tt_hook_init();
	if (err)
		goto err_configfs;
	tt_sockopt_init();
	pr_info("version %s loaded; rules in /sys/kernel/config/tcptimeo/rules\n",
		TCPTIMEO_VERSION);
	return 0;

err_configfs:
	tt_configfs_exit();
err_netns:
	tt_netns_exit();
err_proc:
	tt_proc_exit();
err_sysfs:
	tt_sysfs_exit();
err_rules:
	tt_rules_exit();
	return err;
}

/*
 * Nothing in any socket points into this module: we only ever wrote plain
 * fields and SOCK_KEEPOPEN, and timers run the kernel's own callbacks.
 */
static void __exit tt_exit(void)
{
	tt_sockopt_exit();
	tt_hook_exit();
	tt_configfs_exit();
	tt_netns_exit();
	tt_proc_exit();
	tt_sysfs_exit();
	tt_rules_exit();
}

module_init(tt_init);
module_exit(tt_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TCP keepalive, user-timeout and SYN-retry policy for matching sockets");
MODULE_VERSION(TCPTIMEO_VERSION);
MODULE_SOFTDEP("pre: configfs");
