// SPDX-License-Identifier: GPL-2.0
/* /sys/kernel/imwire/protocols/<name>/: enabled (0/1, read-write), ports
 * (comma-separated, read-write), flows, marked and passed (read-only). */
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "imwire.h"

static struct kobject *imwire_kobj;
static struct kobject *protocols_kobj;

static struct imw_kproto *proto_of(struct kobject *kobj)
{
	int i;

	for (i = IMW_PROTO_NONE + 1; i < IMW_PROTO_MAX; i++)
		if (imw_protos[i].kobj == kobj)
			return &imw_protos[i];
	return NULL;
}

static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct imw_kproto *p = proto_of(kobj);

	return p ? sysfs_emit(buf, "%d\n", READ_ONCE(p->enabled) ? 1 : 0) : -ENODEV;
}

static ssize_t enabled_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf,
			     size_t count)
{
	struct imw_kproto *p = proto_of(kobj);
	bool on;
	int err;

	if (!p)
		return -ENODEV;
	err = kstrtobool(buf, &on);
	if (err)
		return err;
	WRITE_ONCE(p->enabled, on);
	return count;
}

static ssize_t ports_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct imw_kproto *p = proto_of(kobj);
	ssize_t n = 0;
	unsigned int i;

	if (!p)
		return -ENODEV;
	spin_lock_bh(&imw_conf_lock);
	for (i = 0; i < p->n_ports; i++)
		n += sysfs_emit_at(buf, n, "%s%u", i ? "," : "", p->ports[i]);
	spin_unlock_bh(&imw_conf_lock);
	n += sysfs_emit_at(buf, n, "\n");
	return n;
}

/* "6667,7000" replaces the list; an empty line clears it. */
static ssize_t ports_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf,
			   size_t count)
{
	struct imw_kproto *p = proto_of(kobj);
	u16 ports[IMW_KMOD_MAX_PORTS];
	unsigned int n = 0;
	char *copy, *cur, *tok;
	int err = 0;

	if (!p)
		return -ENODEV;
	copy = kstrndup(buf, count, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	cur = strim(copy);
	while ((tok = strsep(&cur, ",")) != NULL) {
		tok = strim(tok);
		if (!*tok)
			continue;
		if (n == IMW_KMOD_MAX_PORTS) {
			err = -E2BIG;
			break;
		}
		err = kstrtou16(tok, 10, &ports[n]);
		if (err || ports[n] == 0) {
			err = -EINVAL;
			break;
		}
		n++;
	}
	kfree(copy);
	if (err)
		return err;
	spin_lock_bh(&imw_conf_lock);
	memcpy(p->ports, ports, n * sizeof(ports[0]));
	p->n_ports = n;
	spin_unlock_bh(&imw_conf_lock);
	return count;
}

#define COUNTER_SHOW(field)                                                              \
	static ssize_t field##_show(struct kobject *kobj, struct kobj_attribute *attr,     \
				    char *buf)                                             \
	{                                                                                \
		struct imw_kproto *p = proto_of(kobj);                                   \
		return p ? sysfs_emit(buf, "%lld\n", atomic64_read(&p->field)) : -ENODEV; \
	}

COUNTER_SHOW(flows)
COUNTER_SHOW(marked)
COUNTER_SHOW(passed)

static struct kobj_attribute enabled_attr = __ATTR_RW(enabled);
static struct kobj_attribute ports_attr = __ATTR_RW(ports);
static struct kobj_attribute flows_attr = __ATTR_RO(flows);
static struct kobj_attribute marked_attr = __ATTR_RO(marked);
static struct kobj_attribute passed_attr = __ATTR_RO(passed);

static struct attribute *proto_attrs[] = {
	&enabled_attr.attr, &ports_attr.attr, &flows_attr.attr,
	&marked_attr.attr,  &passed_attr.attr, NULL,
};

static const struct attribute_group proto_group = {
	.attrs = proto_attrs,
};

/* Flows that belong to no protocol: /sys/kernel/imwire/other_flows and
 * other_packets. */
static ssize_t other_flows_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(&imw_protos[IMW_PROTO_NONE].flows));
}

static ssize_t other_packets_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(&imw_protos[IMW_PROTO_NONE].passed));
}

static struct kobj_attribute other_flows_attr = __ATTR_RO(other_flows);
static struct kobj_attribute other_packets_attr = __ATTR_RO(other_packets);

/* /sys/kernel/imwire/expect: connections file offers announced. */
static ssize_t expect_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return imw_expect_show(buf);
}

static ssize_t expect_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf,
			    size_t count)
{
	return imw_expect_store(buf, count);
}

static struct kobj_attribute expect_attr = __ATTR(expect, 0600, expect_show, expect_store);

static struct attribute *top_attrs[] = {
	&other_flows_attr.attr,
	&other_packets_attr.attr,
	&expect_attr.attr,
	NULL,
};

static const struct attribute_group top_group = {
	.attrs = top_attrs,
};

void imw_sysfs_exit(void)
{
	int i;

	for (i = IMW_PROTO_NONE + 1; i < IMW_PROTO_MAX; i++) {
		if (imw_protos[i].kobj) {
			sysfs_remove_group(imw_protos[i].kobj, &proto_group);
			kobject_put(imw_protos[i].kobj);
			imw_protos[i].kobj = NULL;
		}
	}
	kobject_put(protocols_kobj);
	protocols_kobj = NULL;
	if (imwire_kobj) {
		sysfs_remove_group(imwire_kobj, &top_group);
		kobject_put(imwire_kobj);
		imwire_kobj = NULL;
	}
}

int imw_sysfs_init(void)
{
	struct kobject *k;
	int i, err;

	imwire_kobj = kobject_create_and_add("imwire", kernel_kobj);
	if (!imwire_kobj)
		return -ENOMEM;
	err = sysfs_create_group(imwire_kobj, &top_group);
	if (err) {
		kobject_put(imwire_kobj);
		imwire_kobj = NULL;
		return err;
	}
	protocols_kobj = kobject_create_and_add("protocols", imwire_kobj);
	if (!protocols_kobj) {
		imw_sysfs_exit();
		return -ENOMEM;
	}
	for (i = IMW_PROTO_NONE + 1; i < IMW_PROTO_MAX; i++) {
		k = kobject_create_and_add(imw_protos[i].name, protocols_kobj);
		if (!k) {
			imw_sysfs_exit();
			return -ENOMEM;
		}
		err = sysfs_create_group(k, &proto_group);
		if (err) {
			kobject_put(k);
			imw_sysfs_exit();
			return err;
		}
		imw_protos[i].kobj = k;
	}
	return 0;
}
