// SPDX-License-Identifier: GPL-2.0
/* Placeholder: replaced by the real module (issue 8). */
#include <linux/module.h>
#include <linux/kobject.h>
#include <linux/configfs.h>
#include <uapi/tcptimeo.h>

static struct config_item_type tt_root_type = {
	.ct_owner = THIS_MODULE,
};

static struct configfs_subsystem tt_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf = "tcptimeo",
			.ci_type = &tt_root_type,
		},
	},
};

static struct kobject *tt_kobj;

static int __init tt_init(void)
{
	int err;

	tt_kobj = kobject_create_and_add("tcptimeo", kernel_kobj);
	if (!tt_kobj)
		return -ENOMEM;
	config_group_init(&tt_subsys.su_group);
	mutex_init(&tt_subsys.su_mutex);
	err = configfs_register_subsystem(&tt_subsys);
	if (err) {
		kobject_put(tt_kobj);
		return err;
	}
	pr_info("tcptimeo " TCPTIMEO_VERSION " loaded\n");
	return 0;
}

static void __exit tt_exit(void)
{
	configfs_unregister_subsystem(&tt_subsys);
	kobject_put(tt_kobj);
}

module_init(tt_init);
module_exit(tt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TCP timeout policy for matching sockets");
MODULE_VERSION(TCPTIMEO_VERSION);
