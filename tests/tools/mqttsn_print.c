/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Printing messages for -v: one line per message, either
 *   > PUBLISH dup=0 qos=1 retain=0 topic_type=normal topic_id=5 msg_id=2 data="hello"
 * or, with --json,
 *   {"dir":"tx","type":"publish","dup":0,"qos":1,...}
 * Both come from the same field list per type (the one in proto/mqttsn.h), so
 * text and JSON cannot disagree.
 */

#include <string.h>

#include "mqttsn_client.h"

/* Payloads longer than this are cut in -v lines (the length is printed whole). */
#define PRINT_DATA_MAX 256

struct line {
	FILE *f;
	bool json;
};

static void
fld_u(struct line *l, const char *name, unsigned int v)
{
	fprintf(l->f, l->json ? ",\"%s\":%u" : " %s=%u", name, v);
}

static void
fld_s(struct line *l, const char *name, const char *s)
{
	if (l->json) {
		fprintf(l->f, ",\"%s\":", name);
		tmq_json_str(l->f, (const uint8_t *)s, strlen(s));
	} else {
		fprintf(l->f, " %s=%s", name, s);
	}
}

static void
fld_bytes(struct line *l, const char *name, const struct mqttsn_view *v)
{
	size_t n = v->len > PRINT_DATA_MAX ? PRINT_DATA_MAX : v->len;

	if (l->json) {
		fprintf(l->f, ",\"%s\":", name);
		tmq_json_str(l->f, v->p, n);
	} else {
		fprintf(l->f, " %s=\"", name);
		tmq_text_bytes(l->f, v->p, n);
		fputc('"', l->f);
	}
	if (n < v->len)
		fld_u(l, "truncated_at", PRINT_DATA_MAX);
}

static void
fld_rc(struct line *l, unsigned int rc)
{
	fld_s(l, "rc", tmq_rc_name(rc));
}

static void
fld_topic(struct line *l, uint8_t flags, uint16_t id)
{
	static const char *const types[] = { "normal", "predefined", "short", "reserved" };
	unsigned int tt = flags & MQTTSN_FLAG_TOPIC_MASK;

	fld_s(l, "topic_type", types[tt]);
	if (tt == MQTTSN_TOPIC_SHORT) {
		char s[3] = { (char)(id >> 8), (char)(id & 0xff), 0 };
		struct mqttsn_view v = { (const uint8_t *)s, 2 };

		fld_bytes(l, "topic", &v);
	} else {
		fld_u(l, "topic_id", id);
	}
}

static void
fld_qos(struct line *l, uint8_t flags)
{
	int q = mqttsn_flags_qos(flags);

	if (l->json)
		fprintf(l->f, ",\"qos\":%d", q);
	else
		fprintf(l->f, " qos=%d", q);
}

void
tmq_print_msg(const struct tmq_client *c, FILE *f, const char *dir, const struct mqttsn_msg *m)
{
	struct line l = { f, c->json };
	const char *name = mqttsn_type_name(m->type);

	if (l.json) {
		fprintf(f, "{\"dir\":\"%s\"", dir);
		if (c->tag != NULL)
			fld_s(&l, "client", c->tag);
		fld_s(&l, "type", name ? name : "unknown");
	} else {
		fprintf(f, "%s%s%s %s", c->tag ? c->tag : "", c->tag ? ": " : "",
			dir[0] == 't' ? ">" : "<", tmq_type_upper(m->type));
	}
	switch (m->type) {
	case MQTTSN_ADVERTISE:
		fld_u(&l, "gw_id", m->gw_id);
		fld_u(&l, "duration", m->duration);
		break;
	case MQTTSN_SEARCHGW:
		fld_u(&l, "radius", m->radius);
		break;
	case MQTTSN_GWINFO:
		fld_u(&l, "gw_id", m->gw_id);
		fld_u(&l, "gw_addr_len", (unsigned int)m->gw_addr.len);
		break;
	case MQTTSN_CONNECT:
		fld_u(&l, "will", !!(m->flags & MQTTSN_FLAG_WILL));
		fld_u(&l, "clean", !!(m->flags & MQTTSN_FLAG_CLEAN));
		fld_u(&l, "protocol_id", m->protocol_id);
		fld_u(&l, "duration", m->duration);
		fld_bytes(&l, "client_id", &m->client_id);
		break;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		fld_rc(&l, m->return_code);
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		fld_qos(&l, m->flags);
		fld_u(&l, "retain", !!(m->flags & MQTTSN_FLAG_RETAIN));
		fld_bytes(&l, "will_topic", &m->will_topic);
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		fld_bytes(&l, "will_msg", &m->will_msg);
		break;
	case MQTTSN_REGISTER:
		fld_u(&l, "topic_id", m->topic_id);
		fld_u(&l, "msg_id", m->msg_id);
		fld_bytes(&l, "topic_name", &m->topic_name);
		break;
	case MQTTSN_REGACK:
	case MQTTSN_PUBACK:
		fld_u(&l, "topic_id", m->topic_id);
		fld_u(&l, "msg_id", m->msg_id);
		fld_rc(&l, m->return_code);
		break;
	case MQTTSN_PUBLISH:
		fld_u(&l, "dup", !!(m->flags & MQTTSN_FLAG_DUP));
		fld_qos(&l, m->flags);
		fld_u(&l, "retain", !!(m->flags & MQTTSN_FLAG_RETAIN));
		fld_topic(&l, m->flags, m->topic_id);
		fld_u(&l, "msg_id", m->msg_id);
		fld_u(&l, "len", (unsigned int)m->data.len);
		fld_bytes(&l, "data", &m->data);
		break;
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_UNSUBACK:
		fld_u(&l, "msg_id", m->msg_id);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		fld_u(&l, "dup", !!(m->flags & MQTTSN_FLAG_DUP));
		fld_qos(&l, m->flags);
		if ((m->flags & MQTTSN_FLAG_TOPIC_MASK) == MQTTSN_TOPIC_NORMAL) {
			fld_s(&l, "topic_type", "name");
			fld_bytes(&l, "topic", &m->topic_name);
		} else {
			fld_topic(&l, m->flags, m->topic_id);
		}
		fld_u(&l, "msg_id", m->msg_id);
		break;
	case MQTTSN_SUBACK:
		fld_qos(&l, m->flags);
		fld_u(&l, "topic_id", m->topic_id);
		fld_u(&l, "msg_id", m->msg_id);
		fld_rc(&l, m->return_code);
		break;
	case MQTTSN_PINGREQ:
		if (m->client_id.len > 0)
			fld_bytes(&l, "client_id", &m->client_id);
		break;
	case MQTTSN_DISCONNECT:
		if (m->has_duration)
			fld_u(&l, "duration", m->duration);
		break;
	default:
		break;
	}
	if (m->encap.present)
		fld_u(&l, "encap_node_id_len", (unsigned int)m->encap.node_id.len);
	fputs(l.json ? "}\n" : "\n", f);
	fflush(f);
}

/* Length of the UTF-8 sequence at p (1..4), or 0 if it is not valid UTF-8. */
static size_t
utf8_seq(const uint8_t *p, size_t len)
{
	uint32_t cp;
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool
tmq_utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

void
tmq_json_str(FILE *f, const uint8_t *p, size_t len)
{
	size_t i = 0;

	fputc('"', f);
	while (i < len) {
		uint8_t b = p[i];
		size_t n;

		if (b == '"' || b == '\\') {
			fputc('\\', f);
			fputc(b, f);
			i++;
			continue;
		}
		if (b < 0x20 || b == 0x7f) {
			fprintf(f, "\\u%04x", b);
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i);
		if (n == 0) {
			/* Not UTF-8: the byte as the code point of the same value. */
			fprintf(f, "\\u%04x", b);
			i++;
			continue;
		}
		fwrite(p + i, 1, n, f);
		i += n;
	}
	fputc('"', f);
}

void
tmq_text_bytes(FILE *f, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\\')
			fputs("\\\\", f);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			fprintf(f, "\\x%02x", p[i]);
		else
			fputc(p[i], f);
	}
}
