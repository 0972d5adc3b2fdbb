/*
 * Record data against Lexicon schemas.
 *
 * The walk stops at the first problem and reports it the way the
 * reference PDS does: "<message> at <JSON path>", the message worded as
 * @atproto/lex words its issues ("Expected string value type (got 42)",
 * "Missing required key \"createdAt\"", "string too big (maximum 3000,
 * got 204800)").  The path is kept as a stack of segments and only
 * rendered when there is an error to report.
 *
 * Beyond the reference: blob "accept" and "maxSize" are enforced here
 * (the interop fixtures require it; the reference checks them later,
 * when a blob is attached to the write).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "lexicon.h"
#include "lexicon_int.h"
#include "syntax.h"

#define V_MAXDEPTH	256	/* path segments: data nesting plus refs */
#define V_PREVIEW	256	/* UTF-16 units of a string shown in errors */

struct seg {
	const char	*key;		/* NULL: an array index */
	size_t		 klen;
	size_t		 idx;
};

struct vctx {
	const char	*prefix;	/* before every message */
	const char	*root;		/* NULL: no path in messages */
	char		*err;
	size_t		 errlen;
	int		 depth;
	struct seg	 path[V_MAXDEPTH];
};

struct sbuf {
	char	*p;
	size_t	 cap, len;
};

static int	v_type(struct vctx *, struct lex_type *, const struct dm *);
static void	sb_printf(struct sbuf *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static int	fail(struct vctx *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	size_t	room;

	if (b->cap == 0)
		return;
	room = b->cap - 1 - b->len;
	if (n > room)
		n = room;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char	tmp[256];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
		    sizeof(tmp) - 1);
}

/* Bytes of the longest prefix within max UTF-16 code units. */
static size_t
utf16_prefix(const char *s, size_t len, size_t max, size_t *units)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, n = 0, w, cl;

	while (i < len) {
		cl = u[i] >= 0xF0 ? 4 : u[i] >= 0xE0 ? 3 : u[i] >= 0xC0 ? 2 : 1;
		w = cl == 4 ? 2 : 1;
		if (n + w > max || cl > len - i)
			break;
		n += w;
		i += cl;
	}
	if (units != NULL)
		*units = n;
	return i;
}

static size_t
utf16_len(const char *s, size_t len)
{
	size_t	n;

	(void)utf16_prefix(s, len, SIZE_MAX, &n);
	return n;
}

/* The inside of a JSON string literal, as JSON.stringify writes it. */
static void
sb_json_body(struct sbuf *b, const char *s, size_t len)
{
	size_t	i, start = 0;
	char	esc[8];

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_add(b, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"':	sb_add(b, "\\\"", 2); break;
		case '\\':	sb_add(b, "\\\\", 2); break;
		case '\b':	sb_add(b, "\\b", 2); break;
		case '\f':	sb_add(b, "\\f", 2); break;
		case '\n':	sb_add(b, "\\n", 2); break;
		case '\r':	sb_add(b, "\\r", 2); break;
		case '\t':	sb_add(b, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			sb_add(b, esc, 6);
		}
	}
	sb_add(b, s + start, len - start);
}

static void
sb_json_str(struct sbuf *b, const char *s, size_t len)
{
	sb_add(b, "\"", 1);
	sb_json_body(b, s, len);
	sb_add(b, "\"", 1);
}

/* Long strings are cut, with an ellipsis inside the quotes. */
static void
sb_preview_str(struct sbuf *b, const char *s, size_t len)
{
	if (utf16_len(s, len) < V_PREVIEW) {
		sb_json_str(b, s, len);
		return;
	}
	sb_add(b, "\"", 1);
	sb_json_body(b, s, utf16_prefix(s, len, V_PREVIEW - 1, NULL));
	sb_add(b, "\xe2\x80\xa6\"", 4);
}

/* A short picture of a value for "(got ...)", as the reference draws it. */
static void
sb_value(struct sbuf *b, const struct dm *v, int deep)
{
	size_t	i, n;

	if (v == NULL) {
		sb_add(b, "undefined", 9);
		return;
	}
	switch (v->type) {
	case DM_NULL:
		sb_add(b, "null", 4);
		break;
	case DM_BOOL:
		sb_add(b, v->u.b ? "true" : "false", v->u.b ? 4 : 5);
		break;
	case DM_INT:
		sb_printf(b, "%" PRId64, v->u.i);
		break;
	case DM_STR:
		sb_preview_str(b, v->u.s.p, v->u.s.len);
		break;
	case DM_BYTES:
		sb_add(b, "object", 6);
		break;
	case DM_LINK:
		sb_add(b, "cid", 3);
		break;
	case DM_ARRAY:
		n = v->u.arr.n;
		sb_add(b, "[", 1);
		for (i = 0; i < n && i < 2; i++) {
			if (i > 0)
				sb_add(b, ", ", 2);
			if (deep)
				sb_value(b, v->u.arr.v[i], 0);
			else
				sb_add(b, "...", 3);
		}
		sb_add(b, n > 2 ? ", ...]" : "]", n > 2 ? 6 : 1);
		break;
	case DM_MAP:
		n = v->u.map.n;
		sb_add(b, "{", 1);
		for (i = 0; i < n && i < 2; i++) {
			if (i > 0)
				sb_add(b, ", ", 2);
			sb_json_str(b, v->u.map.e[i].key, v->u.map.e[i].klen);
			sb_add(b, ": ...", 5);
		}
		sb_add(b, n > 2 ? ", ...}" : "}", n > 2 ? 6 : 1);
		break;
	}
}

static int
is_ident(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' &&
	    s[0] <= 'Z') || s[0] == '_' || s[0] == '$'))
		return 0;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_'))
			return 0;
	return 1;
}

static void
sb_path(struct sbuf *b, const struct vctx *c)
{
	int	i;

	if (c->root == NULL)
		return;
	sb_add(b, " at ", 4);
	sb_add(b, c->root, strlen(c->root));
	for (i = 0; i < c->depth; i++) {
		if (c->path[i].key == NULL)
			sb_printf(b, "[%zu]", c->path[i].idx);
		else if (is_ident(c->path[i].key, c->path[i].klen)) {
			sb_add(b, ".", 1);
			sb_add(b, c->path[i].key, c->path[i].klen);
		} else {
			sb_add(b, "[", 1);
			sb_json_str(b, c->path[i].key, c->path[i].klen);
			sb_add(b, "]", 1);
		}
	}
}

static void
sb_start(struct sbuf *b, const struct vctx *c)
{
	b->p = c->err;
	b->cap = c->errlen;
	b->len = 0;
	if (b->cap > 0)
		b->p[0] = '\0';
	sb_add(b, c->prefix, strlen(c->prefix));
}

/* "<message> at <path>"; always returns -1. */
static int
fail(struct vctx *c, const char *fmt, ...)
{
	struct sbuf	b;
	char		msg[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sb_start(&b, c);
	sb_add(&b, msg, strlen(msg));
	sb_path(&b, c);
	return -1;
}

/* "Expected <type> value type (got <value>) at <path>". */
static int
fail_type(struct vctx *c, const char *type, const struct dm *v)
{
	struct sbuf	b;

	sb_start(&b, c);
	sb_printf(&b, "Expected %s value type (got ", type);
	sb_value(&b, v, 1);
	sb_add(&b, ")", 1);
	sb_path(&b, c);
	return -1;
}

/* "Expected one of A, B or C (got <value>) at <path>". */
static int
fail_value(struct vctx *c, const struct dm *v, const char **svals,
    const int64_t *ivals, size_t n)
{
	struct sbuf	b;
	size_t		i;

	sb_start(&b, c);
	sb_add(&b, n > 1 ? "Expected one of " : "Expected ",
	    n > 1 ? 16 : 9);
	for (i = 0; i < n; i++) {
		if (i > 0)
			sb_add(&b, i + 1 == n ? " or " : ", ", i + 1 == n ?
			    4 : 2);
		if (svals != NULL)
			sb_preview_str(&b, svals[i], strlen(svals[i]));
		else
			sb_printf(&b, "%" PRId64, ivals[i]);
	}
	sb_add(&b, " (got ", 6);
	sb_value(&b, v, 1);
	sb_add(&b, ")", 1);
	sb_path(&b, c);
	return -1;
}

static int
push_key(struct vctx *c, const char *key, size_t klen)
{
	if (c->depth >= V_MAXDEPTH)
		return fail(c, "Value nested too deeply");
	c->path[c->depth].key = key;
	c->path[c->depth].klen = klen;
	c->depth++;
	return 0;
}

static int
push_idx(struct vctx *c, size_t idx)
{
	if (c->depth >= V_MAXDEPTH)
		return fail(c, "Value nested too deeply");
	c->path[c->depth].key = NULL;
	c->path[c->depth].idx = idx;
	c->depth++;
	return 0;
}

static int
is_typed_blob(const struct dm *v)
{
	const char	*t;
	size_t		 len;
	int64_t		 size;

	if (v->type != DM_MAP || v->u.map.n != 4)
		return 0;
	t = dm_map_get_str(v, "$type", &len);
	return t != NULL && len == 4 && memcmp(t, "blob", 4) == 0 &&
	    dm_map_get_link(v, "ref") != NULL &&
	    dm_map_get_str(v, "mimeType", &len) != NULL &&
	    dm_map_get_int(v, "size", &size) == 0 && size >= 0;
}

/* The old untyped form, {"cid": "...", "mimeType": "..."}. */
static int
is_legacy_blob(const struct dm *v)
{
	const char	*cid;
	size_t		 len;

	return v->type == DM_MAP && v->u.map.n == 2 &&
	    (cid = dm_map_get_str(v, "cid", &len)) != NULL &&
	    syntax_is_cid(cid, len) &&
	    dm_map_get_str(v, "mimeType", &len) != NULL;
}

static int
is_blobish(const struct dm *v)
{
	const char	*t;
	size_t		 len;

	t = dm_map_get_str(v, "$type", &len);
	return t != NULL && len == 4 && memcmp(t, "blob", 4) == 0;
}

static int
v_object(struct vctx *c, struct lex_type *t, const struct dm *v)
{
	struct lex_prop	*p;
	struct dm	*pv;
	size_t		 i;

	if (v->type != DM_MAP || is_blobish(v))
		return fail_type(c, "object", v);
	for (i = 0; i < t->u.o.nprops; i++) {
		p = &t->u.o.props[i];
		if ((pv = dm_map_getn(v, p->name, p->namelen)) == NULL) {
			if (p->required && !p->type->has_default)
				return fail(c, "Missing required key \"%s\"",
				    p->name);
			continue;
		}
		if (pv->type == DM_NULL && p->nullable)
			continue;
		if (push_key(c, p->name, p->namelen) == -1 ||
		    v_type(c, p->type, pv) == -1)
			return -1;
		c->depth--;
	}
	return 0;
}

static int
v_bool(struct vctx *c, struct lex_type *t, const struct dm *v)
{
	struct sbuf	b;

	if (!t->u.b.has_const)
		return v->type == DM_BOOL ? 0 : fail_type(c, "boolean", v);
	if (v->type == DM_BOOL && !v->u.b == !t->u.b.cval)
		return 0;
	sb_start(&b, c);
	sb_printf(&b, "Expected %s (got ", t->u.b.cval ? "true" : "false");
	sb_value(&b, v, 1);
	sb_add(&b, ")", 1);
	sb_path(&b, c);
	return -1;
}

static int
v_int(struct vctx *c, struct lex_type *t, const struct dm *v)
{
	size_t	i;

	if (v->type != DM_INT || v->u.i > DM_SAFEINT || v->u.i < -DM_SAFEINT) {
		if (t->u.i.nvals > 0)
			return fail_value(c, v, NULL, t->u.i.vals,
			    t->u.i.nvals);
		return fail_type(c, "integer", v);
	}
	if (t->u.i.nvals > 0) {
		for (i = 0; i < t->u.i.nvals; i++)
			if (t->u.i.vals[i] == v->u.i)
				return 0;
		return fail_value(c, v, NULL, t->u.i.vals, t->u.i.nvals);
	}
	if (t->u.i.has_min && v->u.i < t->u.i.min)
		return fail(c, "integer too small (minimum %" PRId64 ", got %"
		    PRId64 ")", t->u.i.min, v->u.i);
	if (t->u.i.has_max && v->u.i > t->u.i.max)
		return fail(c, "integer too big (maximum %" PRId64 ", got %"
		    PRId64 ")", t->u.i.max, v->u.i);
	return 0;
}

static int
format_ok(enum lex_format f, const char *s, size_t len)
{
	switch (f) {
	case LEXF_DATETIME:	return syntax_is_datetime(s, len);
	case LEXF_URI:		return syntax_is_uri(s, len);
	case LEXF_ATURI:	return syntax_is_aturi(s, len);
	case LEXF_DID:		return syntax_is_did(s, len);
	case LEXF_HANDLE:	return syntax_is_handle(s, len);
	case LEXF_ATID:		return syntax_is_atid(s, len);
	case LEXF_NSID:		return syntax_is_nsid(s, len);
	case LEXF_CID:		return syntax_is_cid(s, len);
	case LEXF_LANGUAGE:	return syntax_is_language(s, len);
	case LEXF_TID:		return syntax_is_tid(s, len);
	case LEXF_RKEY:		return syntax_is_rkey(s, len);
	default:		return 1;
	}
}

static const char *
format_desc(enum lex_format f)
{
	static const char *const desc[] = {
		[LEXF_NONE] = "string",		[LEXF_DATETIME] = "datetime",
		[LEXF_URI] = "uri",		[LEXF_ATURI] = "at-uri",
		[LEXF_DID] = "DID",		[LEXF_HANDLE] = "handle",
		[LEXF_ATID] = "AT identifier",	[LEXF_NSID] = "NSID",
		[LEXF_CID] = "CID string",	[LEXF_LANGUAGE] = "language",
		[LEXF_TID] = "TID string",	[LEXF_RKEY] = "record key",
	};

	return desc[f];
}

static int
fail_format(struct vctx *c, enum lex_format f, const struct dm *v)
{
	struct sbuf	b;

	sb_start(&b, c);
	sb_printf(&b, "Invalid %s (got ", format_desc(f));
	sb_value(&b, v, 1);
	sb_add(&b, ")", 1);
	sb_path(&b, c);
	return -1;
}

static int
v_graphemes(struct vctx *c, struct lex_type *t, const struct dm *v)
{
	size_t	len = v->u.s.len, u16, g = 0;
	int	counted = 0;

	if (t->u.s.ming != LEX_NOLIMIT) {
		/* Fewer UTF-16 units than the minimum: no need to count. */
		if ((u16 = utf16_len(v->u.s.p, len)) < (size_t)t->u.s.ming)
			return fail(c, "grapheme too small (minimum %" PRId64
			    ", got %zu)", t->u.s.ming, u16);
		g = utf8_graphemes(v->u.s.p, len);
		counted = 1;
		if (g < (size_t)t->u.s.ming)
			return fail(c, "grapheme too small (minimum %" PRId64
			    ", got %zu)", t->u.s.ming, g);
	}
	/* A cluster has at least one byte: short strings are in range. */
	if (t->u.s.maxg != LEX_NOLIMIT && len > (size_t)t->u.s.maxg) {
		if (!counted)
			g = utf8_graphemes(v->u.s.p, len);
		if (g > (size_t)t->u.s.maxg)
			return fail(c, "grapheme too big (maximum %" PRId64
			    ", got %zu)", t->u.s.maxg, g);
	}
	return 0;
}

static int
v_string(struct vctx *c, struct lex_type *t, const struct dm *v)
{
	size_t	i, len;

	if (t->u.s.nvals > 0) {
		for (i = 0; v->type == DM_STR && i < t->u.s.nvals; i++)
			if (strlen(t->u.s.vals[i]) == v->u.s.len &&
			    memcmp(t->u.s.vals[i], v->u.s.p, v->u.s.len) == 0)
				return 0;
		return fail_value(c, v, t->u.s.vals, NULL, t->u.s.nvals);
	}
	if (v->type != DM_STR)
		return fail_type(c, "string", v);
	len = v->u.s.len;
	if (t->u.s.minlen != LEX_NOLIMIT && len < (size_t)t->u.s.minlen)
		return fail(c, "string too small (minimum %" PRId64 ", got %zu)",
		    t->u.s.minlen, len);
	if (t->u.s.maxlen != LEX_NOLIMIT && len > (size_t)t->u.s.maxlen)
		return fail(c, "string too big (maximum %" PRId64 ", got %zu)",
		    t->u.s.maxlen, len);
	if (v_graphemes(c, t, v) == -1)
		return -1;
	if (!format_ok(t->u.s.format, v->u.s.p, len))
		return fail_format(c, t->u.s.format, v);
	return 0;
}

static int
v_bytes(struct vctx *c, struct lex_type *t, const struct dm *v)
{
	if (v->type != DM_BYTES)
		return fail_type(c, "bytes", v);
	if (t->u.by.minlen != LEX_NOLIMIT && v->u.s.len <
	    (size_t)t->u.by.minlen)
		return fail(c, "bytes too small (minimum %" PRId64 ", got %zu)",
		    t->u.by.minlen, v->u.s.len);
	if (t->u.by.maxlen != LEX_NOLIMIT && v->u.s.len >
	    (size_t)t->u.by.maxlen)
		return fail(c, "bytes too big (maximum %" PRId64 ", got %zu)",
		    t->u.by.maxlen, v->u.s.len);
	return 0;
}

/* A pattern ending in a slash and star takes any subtype of its type. */
static int
mime_accepted(const char *pat, const char *m, size_t mlen)
{
	size_t	plen = strlen(pat);

	if (strcmp(pat, "*/*") == 0)
		return 1;
	if (plen >= 2 && strcmp(pat + plen - 2, "/*") == 0)
		return mlen > plen - 1 && memcmp(pat, m, plen - 1) == 0;
	return plen == mlen && memcmp(pat, m, mlen) == 0;
}

static int
v_blob(struct vctx *c, struct lex_type *t, const struct dm *v)
{
	const char	*mime;
	size_t		 i, mlen;
	int64_t		 size;

	if (!is_typed_blob(v) && !is_legacy_blob(v))
		return fail_type(c, "blob", v);
	if (t->u.bl.maxsize != LEX_NOLIMIT && dm_map_get_int(v, "size",
	    &size) == 0 && size > t->u.bl.maxsize)
		return fail(c, "blob too big (maximum %" PRId64 ", got %"
		    PRId64 ")", t->u.bl.maxsize, size);
	if (t->u.bl.naccept == 0)
		return 0;
	mime = dm_map_get_str(v, "mimeType", &mlen);
	for (i = 0; i < t->u.bl.naccept; i++)
		if (mime_accepted(t->u.bl.accept[i], mime, mlen))
			return 0;
	if (push_key(c, "mimeType", 8) == -1)
		return -1;
	return fail_value(c, dm_map_get(v, "mimeType"), t->u.bl.accept, NULL,
	    t->u.bl.naccept);
}

static int
v_array(struct vctx *c, struct lex_type *t, const struct dm *v)
{
	size_t	i, n;

	if (v->type != DM_ARRAY)
		return fail_type(c, "array", v);
	n = v->u.arr.n;
	if (t->u.a.minlen != LEX_NOLIMIT && n < (size_t)t->u.a.minlen)
		return fail(c, "array too small (minimum %" PRId64 ", got %zu)",
		    t->u.a.minlen, n);
	if (t->u.a.maxlen != LEX_NOLIMIT && n > (size_t)t->u.a.maxlen)
		return fail(c, "array too big (maximum %" PRId64 ", got %zu)",
		    t->u.a.maxlen, n);
	for (i = 0; i < n; i++) {
		if (push_idx(c, i) == -1 ||
		    v_type(c, t->u.a.items, v->u.arr.v[i]) == -1)
			return -1;
		c->depth--;
	}
	return 0;
}

static int
v_ref(struct vctx *c, struct lex_ref *r, const struct dm *v)
{
	struct lex_type	*t;

	if ((t = lex_resolve(r)) == NULL)
		return fail(c, "Lexicon definition not found: %s#%s", r->nsid,
		    r->name);
	return v_type(c, t, v);
}

/* A $type names a union member with or without an explicit "#main". */
static int
ref_matches(const struct lex_ref *r, const char *s, size_t len)
{
	size_t	dl = strlen(r->dollar);

	if (dl == len && memcmp(r->dollar, s, len) == 0)
		return 1;
	return r->dollar == r->nsid && len == dl + 5 &&
	    memcmp(s, r->nsid, dl) == 0 && memcmp(s + dl, "#main", 5) == 0;
}

static int
v_union(struct vctx *c, struct lex_type *t, const struct dm *v)
{
	const char	*ty, *list[64];
	size_t		 i, len;

	if (v->type != DM_MAP || (ty = dm_map_get_str(v, "$type", &len)) ==
	    NULL)
		return fail_type(c,
		    "an object which includes the \"$type\" property", v);
	for (i = 0; i < t->u.u.nrefs; i++)
		if (ref_matches(&t->u.u.refs[i], ty, len))
			return v_ref(c, &t->u.u.refs[i], v);
	if (!t->u.u.closed)
		return 0;
	for (i = 0; i < t->u.u.nrefs && i < 64; i++)
		list[i] = t->u.u.refs[i].dollar;
	if (push_key(c, "$type", 5) == -1)
		return -1;
	return fail_value(c, dm_map_get(v, "$type"), list, NULL, i);
}

static int
v_type(struct vctx *c, struct lex_type *t, const struct dm *v)
{
	switch (t->kind) {
	case LEX_BOOLEAN:
		return v_bool(c, t, v);
	case LEX_INTEGER:
		return v_int(c, t, v);
	case LEX_STRING:
		return v_string(c, t, v);
	case LEX_BYTES:
		return v_bytes(c, t, v);
	case LEX_CIDLINK:
		return v->type == DM_LINK ? 0 : fail_type(c, "cid", v);
	case LEX_BLOB:
		return v_blob(c, t, v);
	case LEX_ARRAY:
		return v_array(c, t, v);
	case LEX_OBJECT:
	case LEX_PARAMS:
		return v_object(c, t, v);
	case LEX_REF:
		return v_ref(c, &t->u.ref, v);
	case LEX_UNION:
		return v_union(c, t, v);
	case LEX_UNKNOWN:
		/* Any map that is not a blob; never a scalar or bytes. */
		return v->type == DM_MAP && !is_blobish(v) ? 0 :
		    fail_type(c, "object", v);
	case LEX_RECORD:
		return v_object(c, t->u.r.record, v);
	case LEX_TOKEN:
		return fail(c, "Unexpected lexicon type: token");
	default:
		return fail(c, "Unexpected lexicon type");
	}
}

int
lexicon_validate_record_at(const char *coll, const struct dm *rec,
    const char *root, char *err, size_t errlen)
{
	struct vctx	 c;
	struct lex_type	*t;
	struct dm	*ty;
	struct sbuf	 b;
	char		 prefix[NSID_MAX + 32];

	if ((t = lex_lookup(coll, "main")) == NULL || t->kind != LEX_RECORD)
		return 1;
	memset(&c, 0, sizeof(c));
	snprintf(prefix, sizeof(prefix), "Invalid %s record: ", coll);
	c.prefix = prefix;
	c.root = root != NULL ? root : "$";
	c.err = err;
	c.errlen = err != NULL ? errlen : 0;
	if (rec == NULL || rec->type != DM_MAP)
		return fail_type(&c, "object", rec);
	if ((ty = dm_map_get(rec, "$type")) == NULL)
		return fail(&c, "Missing required key \"$type\"");
	if (ty->type != DM_STR || strlen(coll) != ty->u.s.len ||
	    memcmp(coll, ty->u.s.p, ty->u.s.len) != 0) {
		b.p = c.err;
		b.cap = c.errlen;
		b.len = 0;
		sb_printf(&b, "Invalid $type: expected %s, got ", coll);
		if (ty->type == DM_STR)
			sb_add(&b, ty->u.s.p, ty->u.s.len);
		else
			sb_value(&b, ty, 0);
		return -1;
	}
	return v_object(&c, t->u.r.record, rec);
}

int
lexicon_validate_record(const char *coll, const struct dm *rec, char *err,
    size_t errlen)
{
	return lexicon_validate_record_at(coll, rec, "$.record", err, errlen);
}

/*
 * XRPC methods.
 */

static struct lex_type *
method_def(const char *nsid)
{
	struct lex_type	*t;

	if ((t = lex_lookup(nsid, "main")) == NULL || (t->kind != LEX_QUERY &&
	    t->kind != LEX_PROCEDURE && t->kind != LEX_SUBSCRIPTION))
		return NULL;
	return t;
}

int
lexicon_has_method(const char *nsid)
{
	return method_def(nsid) != NULL;
}

int
lexicon_validate_input(const char *nsid, const struct dm *body, char *err,
    size_t errlen)
{
	struct vctx	 c;
	struct lex_type	*t;

	if ((t = method_def(nsid)) == NULL || t->kind != LEX_PROCEDURE ||
	    t->u.m.input == NULL || t->u.m.inenc == NULL ||
	    strcmp(t->u.m.inenc, "application/json") != 0)
		return 1;
	memset(&c, 0, sizeof(c));
	c.prefix = "";
	c.root = "$";
	c.err = err;
	c.errlen = err != NULL ? errlen : 0;
	return v_type(&c, t->u.m.input, body);
}

static struct lex_prop *
param_prop(struct lex_type *ps, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < ps->u.o.nprops; i++)
		if (ps->u.o.props[i].namelen == len &&
		    memcmp(ps->u.o.props[i].name, name, len) == 0)
			return &ps->u.o.props[i];
	return NULL;
}

int
lexicon_param_known(const char *nsid, const char *name, size_t len)
{
	struct lex_type	*t;

	return (t = method_def(nsid)) != NULL && t->u.m.params != NULL &&
	    param_prop(t->u.m.params, name, len) != NULL;
}

static int
is_decimal(const char *s, size_t len)
{
	size_t	i = len > 0 && s[0] == '-';

	if (i == len)
		return 0;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * A query string value as the type of its parameter wants it; the
 * reference turns text into integers and booleans before it validates,
 * and rejects here what cannot be turned.  NULL (reported) on failure.
 */
static struct dm *
coerce_param(struct vctx *c, struct lex_type *t, const char *s, size_t len)
{
	struct dm	 sv, *v;
	char		 num[32];
	int64_t		 n;
	size_t		 i;

	memset(&sv, 0, sizeof(sv));
	sv.type = DM_STR;
	sv.u.s.p = (char *)s;
	sv.u.s.len = len;
	if (t->kind == LEX_STRING && t->u.s.nvals > 0) {
		for (i = 0; i < t->u.s.nvals; i++)
			if (strlen(t->u.s.vals[i]) == len &&
			    memcmp(t->u.s.vals[i], s, len) == 0)
				break;
		if (i == t->u.s.nvals) {
			fail_value(c, &sv, t->u.s.vals, NULL, t->u.s.nvals);
			return NULL;
		}
	}
	if (t->kind == LEX_INTEGER && t->u.i.nvals > 0) {
		for (i = 0; i < t->u.i.nvals; i++) {
			snprintf(num, sizeof(num), "%" PRId64, t->u.i.vals[i]);
			if (strlen(num) == len && memcmp(num, s, len) == 0)
				break;
		}
		if (i == t->u.i.nvals) {
			fail_value(c, &sv, NULL, t->u.i.vals, t->u.i.nvals);
			return NULL;
		}
	}
	switch (t->kind) {
	case LEX_INTEGER:
		if (!is_decimal(s, len) || len > 17) {
			fail_type(c, "integer", &sv);
			return NULL;
		}
		memcpy(num, s, len);
		num[len] = '\0';
		n = strtoll(num, NULL, 10);
		if (n > DM_SAFEINT || n < -DM_SAFEINT) {
			fail_type(c, "integer", &sv);
			return NULL;
		}
		v = dm_int(n);
		break;
	case LEX_BOOLEAN:
		if ((len != 4 || memcmp(s, "true", 4) != 0) &&
		    (len != 5 || memcmp(s, "false", 5) != 0)) {
			fail_type(c, "boolean", &sv);
			return NULL;
		}
		v = dm_bool(len == 4);
		break;
	default:
		v = dm_strn(s, len);
		break;
	}
	if (v == NULL)
		fail(c, "out of memory");
	return v;
}

/* Adds one coerced value under its name, arrays as the reference does. */
static int
param_add(struct vctx *c, struct dm *map, struct lex_prop *p, struct dm *v)
{
	struct dm	*cur, *arr;

	if ((cur = dm_map_getn(map, p->name, p->namelen)) == NULL) {
		if (p->type->kind != LEX_ARRAY)
			return dm_map_setn(map, p->name, p->namelen, v) == 0 ?
			    0 : fail(c, "out of memory");
		if ((arr = dm_array()) == NULL) {
			dm_free(v);
			return fail(c, "out of memory");
		}
		if (dm_array_push(arr, v) == -1 ||
		    dm_map_setn(map, p->name, p->namelen, arr) == -1)
			return fail(c, "out of memory");
		return 0;
	}
	if (cur->type == DM_ARRAY)
		return dm_array_push(cur, v) == 0 ? 0 : fail(c, "out of memory");
	/* A scalar given twice: a list, which the scalar type refuses. */
	if ((arr = dm_array()) == NULL || (cur = dm_copy(cur)) == NULL ||
	    dm_array_push(arr, cur) == -1 || dm_array_push(arr, v) == -1 ||
	    dm_map_setn(map, p->name, p->namelen, arr) == -1)
		return fail(c, "out of memory");
	return 0;
}

int
lexicon_validate_params(const char *nsid, const struct lexicon_param *q,
    size_t nq, char *err, size_t errlen)
{
	struct vctx	 c;
	struct lex_type	*t, *ps, *it;
	struct lex_prop	*p;
	struct dm	*map, *v;
	char		 prefix[NSID_MAX + 32];
	size_t		 i;
	int		 rv = -1;

	if ((t = method_def(nsid)) == NULL)
		return 1;
	if ((ps = t->u.m.params) == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	snprintf(prefix, sizeof(prefix), "Invalid %s params: ", nsid);
	c.prefix = prefix;
	c.root = NULL;
	c.err = err;
	c.errlen = err != NULL ? errlen : 0;
	if ((map = dm_map()) == NULL)
		return fail(&c, "out of memory");
	/* Text becomes typed values in the order of the query... */
	for (i = 0; i < nq; i++) {
		if (q[i].len == 0 || (p = param_prop(ps, q[i].name,
		    q[i].namelen)) == NULL)
			continue;
		it = p->type->kind == LEX_ARRAY ? p->type->u.a.items : p->type;
		if ((v = coerce_param(&c, it, q[i].value, q[i].len)) == NULL ||
		    param_add(&c, map, p, v) == -1)
			goto done;
	}
	/* ... then is checked in the order of the schema. */
	for (i = 0; i < ps->u.o.nprops; i++) {
		p = &ps->u.o.props[i];
		if ((v = dm_map_getn(map, p->name, p->namelen)) == NULL) {
			if (p->required && !p->type->has_default) {
				fail(&c, "Missing required key \"%s\"", p->name);
				goto done;
			}
			continue;
		}
		if (push_key(&c, p->name, p->namelen) == -1 ||
		    v_type(&c, p->type, v) == -1)
			goto done;
		c.depth--;
	}
	rv = 0;
 done:
	dm_free(map);
	return rv;
}
