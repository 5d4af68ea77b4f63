// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tcptimeoctl: tables for people, JSON for scripts. JSON strings are
 * escaped per RFC 8259; bytes that are not valid UTF-8 become U+FFFD.
 */
#include <string.h>

#include "ctl.h"

/* Length of the valid UTF-8 sequence at @s (max @n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, l;

	fputc('"', f);
	while (i < n) {
		unsigned char c = p[i];

		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fprintf(f, "\\u%04x", c);
			} else if (c >= 0x80) {
				l = utf8_len(p + i, n - i);
				if (!l) {
					fputs("\\ufffd", f);
				} else {
					fwrite(p + i, 1, l, f);
					i += l;
					continue;
				}
			} else {
				fputc(c, f);
			}
		}
		i++;
	}
	fputc('"', f);
}

static void json_kv_str(FILE *f, const char *k, const char *v, bool comma)
{
	fprintf(f, "%s\"%s\":", comma ? "," : "", k);
	json_str(f, v);
}

/* Keys are the configfs attribute names (docs/ABI.md). */
void json_rule(FILE *f, const struct ctl_rule *r, bool counters)
{
	char buf[TT_CIDRS_TEXT_MAX + TCPTIMEO_CGROUP_PATH_MAX];

	fputc('{', f);
	json_kv_str(f, "name", r->name, false);
	fprintf(f, ",\"enabled\":%s", r->enabled ? "true" : "false");
	fprintf(f, ",\"priority\":%u", r->priority);
	json_kv_str(f, "direction", tt_dir_name(r->sel.dir), true);
	ctl_field_text(r, F_LPORTS, buf, sizeof(buf));
	json_kv_str(f, "local_ports", buf, true);
	ctl_field_text(r, F_RPORTS, buf, sizeof(buf));
	json_kv_str(f, "remote_ports", buf, true);
	ctl_field_text(r, F_ADDRS, buf, sizeof(buf));
	json_kv_str(f, "remote_addrs", buf, true);
	json_kv_str(f, "cgroup", r->cgroup, true);
	fprintf(f, ",\"netns\":%u", r->netns);
	json_kv_str(f, "netns_state", ctl_netns_state(r), true);
	json_kv_str(f, "cgroup_state", ctl_cgroup_state(r), true);
	fprintf(f, ",\"keepalive\":%s", r->opts.keepalive ? "true" : "false");
	fprintf(f, ",\"keepidle\":%u,\"keepintvl\":%u,\"keepcnt\":%u",
		r->opts.keepidle, r->opts.keepintvl, r->opts.keepcnt);
	/* one JSON type per key: auto is a flag of its own, not a string */
	fprintf(f, ",\"user_timeout\":%u,\"user_timeout_auto\":%s",
		r->opts.user_timeout == TCPTIMEO_USER_TIMEOUT_AUTO ? 0 :
		r->opts.user_timeout,
		r->opts.user_timeout == TCPTIMEO_USER_TIMEOUT_AUTO ?
		"true" : "false");
	fprintf(f, ",\"syn_retries\":%u", r->opts.syn_retries);
	fprintf(f, ",\"rto_max\":%u", r->opts.rto_max);
	json_kv_str(f, "mode", tt_mode_name(r->opts.mode), true);
	fprintf(f, ",\"audit\":%s", r->opts.audit ? "true" : "false");
	if (counters)
		fprintf(f, ",\"matched\":%llu,\"timeouts_idle\":%llu,"
			"\"timeouts_busy\":%llu", r->matched,
			r->timeouts_idle, r->timeouts_busy);
	ctl_rule_line(buf, sizeof(buf), r);
	json_kv_str(f, "line", buf, true);
	fputc('}', f);
}

/* The rule's words after "NAME priority P dir D". */
static const char *ctl_rule_rest(const struct ctl_rule *r, char *buf,
				 size_t size)
{
	struct ctl_rule c = *r;
	const char *p;

	c.enabled = true;
	ctl_rule_line(buf, size, &c);
	p = strstr(buf, " dir ");
	if (!p)
		return "";
	p += 5;
	p += strcspn(p, " ");
	while (*p == ' ')
		p++;
	return p;
}

const char *ctl_netns_state(const struct ctl_rule *r)
{
	return !r->netns ? "any" : r->netns_gone ? "gone" : "live";
}

const char *ctl_cgroup_state(const struct ctl_rule *r)
{
	return !r->cgroup[0] ? "any" : r->cgroup_absent ? "absent" : "present";
}

void ctl_print_list(FILE *f, const struct ctl_rule *r, size_t n)
{
	char buf[4096];
	size_t i, w = 4;

	for (i = 0; i < n; i++)
		if (strlen(r[i].name) > w)
			w = strlen(r[i].name);
	fprintf(f, "%-*s %5s %-8s %-3s %9s  %s\n", (int)w, "NAME", "PRIO",
		"STATE", "DIR", "MATCHED", "SELECTORS AND OPTIONS");
	for (i = 0; i < n; i++)
		fprintf(f, "%-*s %5u %-8s %-3s %9llu  %s%s%s\n", (int)w,
			r[i].name, r[i].priority,
			r[i].enabled ? "enabled" : "disabled",
			tt_dir_name(r[i].sel.dir), r[i].matched,
			ctl_rule_rest(&r[i], buf, sizeof(buf)),
			r[i].netns_gone ? "  (netns gone: matches nothing)" : "",
			r[i].cgroup_absent ?
			"  (cgroup absent: matches nothing until it is created)" :
			"");
}

void ctl_print_show(FILE *f, const struct ctl_rule *r)
{
	char buf[TT_CIDRS_TEXT_MAX + TCPTIMEO_CGROUP_PATH_MAX];
	int i;

	fprintf(f, "%-14s %s\n", "name", r->name);
	for (i = 0; i < F_NFIELDS; i++) {
		enum ctl_field fl = i == 0 ? F_ENABLED : (enum ctl_field)(i - 1);

		ctl_field_text(r, fl, buf, sizeof(buf));
		fprintf(f, "%-14s %s\n", ctl_fields[fl].attr, buf);
	}
	fprintf(f, "%-14s %s\n", "netns_state", ctl_netns_state(r));
	fprintf(f, "%-14s %s\n", "cgroup_state", ctl_cgroup_state(r));
	fprintf(f, "%-14s %llu\n", "matched", r->matched);
	fprintf(f, "%-14s %llu\n", "timeouts_idle", r->timeouts_idle);
	fprintf(f, "%-14s %llu\n", "timeouts_busy", r->timeouts_busy);
	ctl_rule_line(buf, sizeof(buf), r);
	fprintf(f, "%-14s %s\n", "line", buf);
}
