/*
 * atproto JSON <-> data model values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "cid.h"
#include "dm.h"
#include "dmjson.h"
#include "encoding.h"

static int	from_json(struct json_object *, struct dm **, const char **,
		    int);

static int
jfail(const char **errstr, const char *msg)
{
	*errstr = msg;
	return -1;
}

static int
from_number(struct json_object *j, struct dm **out, const char **errstr)
{
	double	d;
	int64_t	i;

	if (json_object_get_type(j) == json_type_double) {
		d = json_object_get_double(j);
		if (!isfinite(d) || d != trunc(d))
			return jfail(errstr, "floats not allowed");
		if (fabs(d) > (double)DM_SAFEINT)
			return jfail(errstr, "integer out of range");
		i = (int64_t)d;
	} else {
		i = json_object_get_int64(j);
		if (i > DM_SAFEINT || i < -DM_SAFEINT)
			return jfail(errstr, "integer out of range");
	}
	*out = dm_int(i);
	return 0;
}

static int
from_string(struct json_object *j, struct dm **out, const char **errstr)
{
	const char	*s = json_object_get_string(j);
	size_t		 len = (size_t)json_object_get_string_len(j);

	if (!dm_utf8_valid((const uint8_t *)s, len))
		return jfail(errstr, "invalid UTF-8");
	*out = dm_strn(s, len);
	return 0;
}

static int
from_link(struct json_object *v, struct dm **out, const char **errstr)
{
	struct cid	c;

	if (json_object_get_type(v) != json_type_string)
		return jfail(errstr, "$link is not a string");
	if (cid_from_str(&c, json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), errstr) == -1)
		return -1;
	*out = dm_link(&c);
	return 0;
}

static int
from_bytes(struct json_object *v, struct dm **out, const char **errstr)
{
	const char	*s;
	size_t		 len;
	uint8_t		*buf;
	int		 n;

	if (json_object_get_type(v) != json_type_string)
		return jfail(errstr, "$bytes is not a string");
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if ((buf = malloc(BASE64_DECLEN(len) + 1)) == NULL)
		return jfail(errstr, "out of memory");
	if ((n = base64_decode(s, len, buf, BASE64_DECLEN(len) + 1)) == -1) {
		free(buf);
		return jfail(errstr, "bad base64 in $bytes");
	}
	*out = dm_bytes(buf, (size_t)n);
	free(buf);
	return 0;
}

/*
 * {"$link": ...} and {"$bytes": ...}: 1 if j was one (result or error in
 * rc), 0 if it is an ordinary object.
 */
static int
from_special(struct json_object *j, struct dm **out, const char **errstr,
    int *rc)
{
	struct json_object	*v;
	int			 n = json_object_object_length(j);

	if (json_object_object_get_ex(j, "$link", &v)) {
		*rc = n != 1 ? jfail(errstr, "$link object with other keys") :
		    from_link(v, out, errstr);
		return 1;
	}
	if (json_object_object_get_ex(j, "$bytes", &v)) {
		*rc = n != 1 ? jfail(errstr, "$bytes object with other keys") :
		    from_bytes(v, out, errstr);
		return 1;
	}
	return 0;
}

static int
from_object(struct json_object *j, struct dm **out, const char **errstr,
    int depth)
{
	struct json_object_iterator	 it, end;
	struct dm			*m, *v;
	const char			*key;
	size_t				 klen;
	int				 rc;

	if (from_special(j, out, errstr, &rc))
		return rc;
	if (json_object_object_length(j) > DM_MAXELEMS)
		return jfail(errstr, "too many elements in object");
	if ((m = dm_map()) == NULL)
		return jfail(errstr, "out of memory");
	it = json_object_iter_begin(j);
	end = json_object_iter_end(j);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		klen = strlen(key);
		if (klen > DM_MAXKEYLEN ||
		    !dm_utf8_valid((const uint8_t *)key, klen)) {
			dm_free(m);
			return jfail(errstr, "bad object key");
		}
		if (from_json(json_object_iter_peek_value(&it), &v, errstr,
		    depth + 1) == -1) {
			dm_free(m);
			return -1;
		}
		if (dm_map_setn(m, key, klen, v) == -1) {
			dm_free(m);
			return jfail(errstr, "out of memory");
		}
	}
	*out = m;
	return 0;
}

static int
from_array(struct json_object *j, struct dm **out, const char **errstr,
    int depth)
{
	struct dm	*a, *v;
	size_t		 i, n = json_object_array_length(j);

	if (n > DM_MAXELEMS)
		return jfail(errstr, "too many elements in array");
	if ((a = dm_array()) == NULL)
		return jfail(errstr, "out of memory");
	for (i = 0; i < n; i++) {
		if (from_json(json_object_array_get_idx(j, i), &v, errstr,
		    depth + 1) == -1) {
			dm_free(a);
			return -1;
		}
		if (dm_array_push(a, v) == -1) {
			dm_free(a);
			return jfail(errstr, "out of memory");
		}
	}
	*out = a;
	return 0;
}

static int
from_json(struct json_object *j, struct dm **out, const char **errstr,
    int depth)
{
	*out = NULL;
	if (depth > DM_MAXDEPTH)
		return jfail(errstr, "nesting too deep");
	switch (json_object_get_type(j)) {
	case json_type_null:
		*out = dm_null();
		break;
	case json_type_boolean:
		*out = dm_bool(json_object_get_boolean(j));
		break;
	case json_type_int:
	case json_type_double:
		if (from_number(j, out, errstr) == -1)
			return -1;
		break;
	case json_type_string:
		if (from_string(j, out, errstr) == -1)
			return -1;
		break;
	case json_type_object:
		return from_object(j, out, errstr, depth);
	case json_type_array:
		return from_array(j, out, errstr, depth);
	}
	return *out == NULL ? jfail(errstr, "out of memory") : 0;
}

int
dmjson_from_object(struct json_object *j, struct dm **out,
    const char **errstr)
{
	const char	*dummy;
	struct dm	*v;

	if (errstr == NULL)
		errstr = &dummy;
	if (from_json(j, &v, errstr, 0) == -1)
		return -1;
	if (dm_check_types(v, errstr) == -1) {
		dm_free(v);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * json-c's strict mode still takes 'single quotes', "1." and raw control
 * characters inside strings; RFC 8259 does not, and neither do we.
 */
static int
json_prescan(const char *p, size_t len)
{
	size_t		i;
	unsigned char	c;
	int		instr = 0;

	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (instr) {
			if (c == '\\')
				i++;
			else if (c == '"')
				instr = 0;
			else if (c < 0x20)
				return -1;
		} else if (c == '"')
			instr = 1;
		else if (c == '\'')
			return -1;
		else if (c == '.' && (i + 1 == len || p[i + 1] < '0' ||
		    p[i + 1] > '9'))
			return -1;
	}
	return 0;
}

int
dmjson_parse(const char *buf, size_t len, struct dm **out,
    const char **errstr)
{
	struct json_tokener	*tok;
	struct json_object	*j;
	const char		*dummy;
	size_t			 end;
	int			 rc;

	if (errstr == NULL)
		errstr = &dummy;
	if (len > DMJSON_MAXLEN)
		return jfail(errstr, "JSON too large");
	if (json_prescan(buf, len) == -1)
		return jfail(errstr, "invalid JSON");
	/* json-c counts the top level as one level of depth. */
	if ((tok = json_tokener_new_ex(DM_MAXDEPTH + 1)) == NULL)
		return jfail(errstr, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	j = json_tokener_parse_ex(tok, buf, (int)len);
	if (j == NULL && json_tokener_get_error(tok) == json_tokener_continue &&
	    json_tokener_get_parse_end(tok) == len) {
		/* A bare number may go on: a NUL tells json-c it ended. */
		j = json_tokener_parse_ex(tok, "", 1);
		end = len;
	} else
		end = json_tokener_get_parse_end(tok);
	if (json_tokener_get_error(tok) != json_tokener_success || end != len) {
		json_tokener_free(tok);
		json_object_put(j);
		return jfail(errstr, "invalid JSON");
	}
	json_tokener_free(tok);
	rc = dmjson_from_object(j, out, errstr);
	json_object_put(j);
	return rc;
}

int
dmjson_parse_record(const char *buf, size_t len, struct dm **out,
    const char **errstr)
{
	struct dm	*v;
	const char	*dummy;

	if (errstr == NULL)
		errstr = &dummy;
	if (dmjson_parse(buf, len, &v, errstr) == -1)
		return -1;
	if (v->type != DM_MAP) {
		dm_free(v);
		return jfail(errstr, "record is not an object");
	}
	*out = v;
	return 0;
}

/*
 * Output.
 */

/*
 * The pieces, shared with the DAG-CBOR decoder's JSON mode (cbor.h):
 * both must write the same text as json-c's plain output of the same
 * value, which the answers were first built with.
 */
/* The bytes a JSON string escapes: controls, quote and backslash. */
static const uint8_t	jesc[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
};

int
dmjson_put_str(struct dm_buf *b, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const uint8_t		*p = (const uint8_t *)s;
	size_t			 i, run;
	char			 esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	for (i = 0; i < len && !jesc[p[i]]; i++)
		;
	if (dm_buf_reserve(b, len + 2) == -1)
		return -1;
	/* Most strings need no escape: one copy. */
	if (i == len) {
		b->p[b->len] = '"';
		memcpy(b->p + b->len + 1, s, len);
		b->p[b->len + 1 + len] = '"';
		b->len += len + 2;
		return 0;
	}
	b->p[b->len++] = '"';
	for (i = 0; i < len; ) {
		for (run = i; run < len && !jesc[p[run]]; run++)
			;
		if (dm_buf_add(b, p + i, run - i) == -1)
			return -1;
		if ((i = run) >= len)
			break;
		switch (p[i]) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		default:
			esc[1] = 'u';
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 15];
			break;
		}
		if (dm_buf_add(b, esc, esc[1] == 'u' ? 6 : 2) == -1)
			return -1;
		i++;
	}
	return dm_buf_add(b, "\"", 1);
}

int
dmjson_put_bytes(struct dm_buf *b, const uint8_t *p, size_t len)
{
	size_t	n = BASE64_ENCLEN(len);

	if (dm_buf_add(b, "{\"$bytes\":\"", 11) == -1 ||
	    dm_buf_reserve(b, n + 1) == -1)
		return -1;
	b->len += base64_encode(p, len, (char *)b->p + b->len, n + 1);
	return dm_buf_add(b, "\"}", 2);
}

int
dmjson_put_link(struct dm_buf *b, const struct cid *c)
{
	char	s[CID_STRSZ];
	int	n;

	if ((n = cid_to_str(c, s, sizeof(s))) == -1)
		return -1;
	if (dm_buf_add(b, "{\"$link\":\"", 10) == -1 ||
	    dm_buf_add(b, s, (size_t)n) == -1)
		return -1;
	return dm_buf_add(b, "\"}", 2);
}

/* What "%" PRId64 prints, without the cost of printf. */
int
dmjson_put_int(struct dm_buf *b, int64_t i)
{
	char		 num[24], *p = num + sizeof(num);
	uint64_t	 u = i < 0 ? -(uint64_t)i : (uint64_t)i;

	do {
		*--p = '0' + u % 10;
		u /= 10;
	} while (u != 0);
	if (i < 0)
		*--p = '-';
	return dm_buf_add(b, p, (size_t)(num + sizeof(num) - p));
}

static int	enc_json(const struct dm *, struct dm_buf *, int);

static int
enc_jcontainer(const struct dm *v, struct dm_buf *b, int depth)
{
	size_t	i, n = dm_len(v);
	int	map = v->type == DM_MAP;

	if (dm_buf_add(b, map ? "{" : "[", 1) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (i > 0 && dm_buf_add(b, ",", 1) == -1)
			return -1;
		if (map && (dmjson_put_str(b, v->u.map.e[i].key,
		    v->u.map.e[i].klen) == -1 || dm_buf_add(b, ":", 1) == -1))
			return -1;
		if (enc_json(map ? v->u.map.e[i].val : v->u.arr.v[i], b,
		    depth + 1) == -1)
			return -1;
	}
	return dm_buf_add(b, map ? "}" : "]", 1);
}

static int
enc_json(const struct dm *v, struct dm_buf *b, int depth)
{
	if (v == NULL || v->broken || depth > DM_MAXDEPTH)
		return -1;
	switch (v->type) {
	case DM_NULL:
		return dm_buf_add(b, "null", 4);
	case DM_BOOL:
		return v->u.b ? dm_buf_add(b, "true", 4) :
		    dm_buf_add(b, "false", 5);
	case DM_INT:
		return dmjson_put_int(b, v->u.i);
	case DM_STR:
		return dmjson_put_str(b, v->u.s.p, v->u.s.len);
	case DM_BYTES:
		return dmjson_put_bytes(b, (const uint8_t *)v->u.s.p, v->u.s.len);
	case DM_LINK:
		return dmjson_put_link(b, &v->u.link);
	case DM_ARRAY:
	case DM_MAP:
		return enc_jcontainer(v, b, depth);
	}
	return -1;
}

int
dmjson_encode(const struct dm *v, struct dm_buf *b)
{
	size_t	start = b->len;

	if (enc_json(v, b, 0) == -1) {
		b->len = start;
		return -1;
	}
	return 0;
}

char *
dmjson_encode_str(const struct dm *v, size_t *len)
{
	struct dm_buf	b = { NULL, 0, 0 };

	if (dmjson_encode(v, &b) == -1 || dm_buf_add(&b, "", 1) == -1) {
		dm_buf_free(&b);
		return NULL;
	}
	if (len != NULL)
		*len = b.len - 1;
	return (char *)b.p;
}

/* A one-key object {key: value-string}, the shape of $link and $bytes. */
static struct json_object *
to_special(const char *key, const char *s, size_t len)
{
	struct json_object	*o, *str;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if ((str = json_object_new_string_len(s, (int)len)) == NULL ||
	    json_object_object_add(o, key, str) != 0) {
		json_object_put(str);
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *
to_bytes(const struct dm *v)
{
	struct json_object	*o;
	char			*s;
	size_t			 n = BASE64_ENCLEN(v->u.s.len);

	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	base64_encode(v->u.s.p, v->u.s.len, s, n + 1);
	o = to_special("$bytes", s, n);
	free(s);
	return o;
}

/*
 * json-c represents JSON null as a NULL pointer, so failure is reported
 * through *err.
 */
static struct json_object	*to_json(const struct dm *, int, int *);

static struct json_object *
to_container(const struct dm *v, int depth, int *err)
{
	struct json_object	*o, *e;
	size_t			 i;
	int			 rc;

	o = v->type == DM_MAP ? json_object_new_object() :
	    json_object_new_array();
	if (o == NULL)
		*err = 1;
	for (i = 0; !*err && i < dm_len(v); i++) {
		if (v->type == DM_MAP) {
			e = to_json(v->u.map.e[i].val, depth + 1, err);
			rc = *err ? -1 : json_object_object_add(o,
			    v->u.map.e[i].key, e);
		} else {
			e = to_json(v->u.arr.v[i], depth + 1, err);
			rc = *err ? -1 : json_object_array_add(o, e);
		}
		if (rc != 0) {
			*err = 1;
			json_object_put(e);
		}
	}
	if (*err) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *
to_json(const struct dm *v, int depth, int *err)
{
	struct json_object	*o = NULL;
	char			 s[CID_STRSZ];
	int			 n;

	if (v == NULL || v->broken || depth > DM_MAXDEPTH) {
		*err = 1;
		return NULL;
	}
	switch (v->type) {
	case DM_NULL:
		return NULL;
	case DM_BOOL:
		o = json_object_new_boolean(v->u.b);
		break;
	case DM_INT:
		o = json_object_new_int64(v->u.i);
		break;
	case DM_STR:
		o = json_object_new_string_len(v->u.s.p, (int)v->u.s.len);
		break;
	case DM_BYTES:
		o = to_bytes(v);
		break;
	case DM_LINK:
		if ((n = cid_to_str(&v->u.link, s, sizeof(s))) != -1)
			o = to_special("$link", s, (size_t)n);
		break;
	case DM_ARRAY:
	case DM_MAP:
		return to_container(v, depth, err);
	}
	if (o == NULL)
		*err = 1;
	return o;
}

int
dmjson_to_object(const struct dm *v, struct json_object **out)
{
	int	err = 0;

	*out = to_json(v, 0, &err);
	return err ? -1 : 0;
}
