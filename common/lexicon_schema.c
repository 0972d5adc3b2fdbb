/*
 * Lexicon schema documents: parsed with json-c once, at load time, into
 * the structures of lexicon_int.h.  Each document owns one arena, so a
 * document is freed in one pass however many nodes it has.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "lexicon.h"
#include "lexicon_int.h"
#include "log.h"
#include "syntax.h"

#define LEX_CHUNK	16384
#define LEX_MAXDEPTH	32	/* nesting of types inside one document */
#define LEX_MAXJSON	64	/* nesting of the document's JSON */
#define LEX_MAXDIR	8	/* directory levels below the top */
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

struct lex_chunk {
	struct lex_chunk	*next;
	size_t			 used, cap;
	max_align_t		 data[];
};

struct lex_def {
	const char	*name;
	struct lex_type	*type;
};

struct lex_doc {
	RB_ENTRY(lex_doc)	 entry;
	const char		*id;
	struct lex_def		*defs;
	size_t			 ndefs;
	struct lex_chunk	*arena;
};

struct pctx {
	struct lex_doc	*doc;
	char		*err;
	size_t		 errlen;
	int		 depth;
};

RB_HEAD(lex_docs, lex_doc);

static int	docs_cmp(struct lex_doc *, struct lex_doc *);
RB_GENERATE_INTERNAL(lex_docs, lex_doc, entry, docs_cmp,
    __attribute__((__unused__)) static)

static struct lex_docs	docs = RB_INITIALIZER(&docs);
static size_t		ndocs;

static struct lex_type	*parse_type(struct pctx *, const char *,
			    struct json_object *, int);
static int		 perr(struct pctx *, const char *, const char *, ...)
			    __attribute__((__format__(__printf__, 3, 4)));

static int
docs_cmp(struct lex_doc *a, struct lex_doc *b)
{
	return strcmp(a->id, b->id);
}

static void *
arena_alloc(struct lex_doc *doc, size_t len)
{
	struct lex_chunk	*c = doc->arena;
	size_t			 al = sizeof(max_align_t), cap;
	void			*p;

	len = (len + al - 1) / al * al;
	if (c == NULL || c->cap - c->used < len) {
		cap = len > LEX_CHUNK ? len : LEX_CHUNK;
		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = doc->arena;
		doc->arena = c;
	}
	p = (char *)c->data + c->used;
	c->used += len;
	memset(p, 0, len);
	return p;
}

static char *
arena_strndup(struct lex_doc *doc, const char *s, size_t len)
{
	char	*p;

	if ((p = arena_alloc(doc, len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void
doc_free(struct lex_doc *doc)
{
	struct lex_chunk	*c, *n;

	for (c = doc->arena; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	free(doc);
}

static int
perr(struct pctx *p, const char *where, const char *fmt, ...)
{
	char	 msg[256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err != NULL && p->errlen > 0)
		snprintf(p->err, p->errlen, "%s%s%s: %s",
		    p->doc->id != NULL ? p->doc->id : "lexicon",
		    where != NULL ? " " : "", where != NULL ? where : "", msg);
	return -1;
}

/* Optional member of a JSON type; -1 (reported) if present but not. */
static int
get_opt(struct pctx *p, const char *where, struct json_object *o,
    const char *key, enum json_type t, struct json_object **out)
{
	*out = NULL;
	if (!json_object_object_get_ex(o, key, out) || *out == NULL) {
		*out = NULL;
		return 0;
	}
	if (!json_object_is_type(*out, t))
		return perr(p, where, "\"%s\" has the wrong type", key);
	return 1;
}

static int
get_limit(struct pctx *p, const char *where, struct json_object *o,
    const char *key, int64_t *out)
{
	struct json_object	*v;
	int			 r;

	*out = LEX_NOLIMIT;
	if ((r = get_opt(p, where, o, key, json_type_int, &v)) <= 0)
		return r;
	if ((*out = json_object_get_int64(v)) < 0)
		return perr(p, where, "\"%s\" is negative", key);
	return 0;
}

/* A JSON array of strings, copied into the arena. */
static int
get_strings(struct pctx *p, const char *where, struct json_object *o,
    const char *key, const char ***out, size_t *n)
{
	struct json_object	*a, *s;
	size_t			 i, len;
	int			 r;

	*out = NULL;
	*n = 0;
	if ((r = get_opt(p, where, o, key, json_type_array, &a)) <= 0)
		return r;
	len = json_object_array_length(a);
	if (len > 0 && (*out = arena_alloc(p->doc, len * sizeof(char *))) ==
	    NULL)
		return perr(p, where, "out of memory");
	for (i = 0; i < len; i++) {
		s = json_object_array_get_idx(a, i);
		if (!json_object_is_type(s, json_type_string))
			return perr(p, where, "\"%s\" holds a non-string", key);
		if (((*out)[i] = arena_strndup(p->doc, json_object_get_string(s),
		    json_object_get_string_len(s))) == NULL)
			return perr(p, where, "out of memory");
	}
	*n = len;
	return 1;
}

struct name_val {
	const char	*name;
	int		 val;
};

static const struct name_val formats[] = {
	{ "datetime", LEXF_DATETIME },	{ "uri", LEXF_URI },
	{ "at-uri", LEXF_ATURI },	{ "did", LEXF_DID },
	{ "handle", LEXF_HANDLE },	{ "at-identifier", LEXF_ATID },
	{ "nsid", LEXF_NSID },		{ "cid", LEXF_CID },
	{ "language", LEXF_LANGUAGE },	{ "tid", LEXF_TID },
	{ "record-key", LEXF_RKEY },
};

static const struct name_val kinds[] = {
	{ "boolean", LEX_BOOLEAN },	{ "integer", LEX_INTEGER },
	{ "string", LEX_STRING },	{ "bytes", LEX_BYTES },
	{ "cid-link", LEX_CIDLINK },	{ "blob", LEX_BLOB },
	{ "array", LEX_ARRAY },		{ "object", LEX_OBJECT },
	{ "params", LEX_PARAMS },	{ "ref", LEX_REF },
	{ "union", LEX_UNION },		{ "unknown", LEX_UNKNOWN },
	{ "token", LEX_TOKEN },		{ "record", LEX_RECORD },
	{ "query", LEX_QUERY },		{ "procedure", LEX_PROCEDURE },
	{ "subscription", LEX_SUBSCRIPTION },
	{ "permission-set", LEX_PERMSET },
};

/* The value named s in a table, or -1. */
static int
name_lookup(const struct name_val *tab, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(s, tab[i].name) == 0)
			return tab[i].val;
	return -1;
}

static int
parse_bool(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	struct json_object	*v;
	int			 r;

	if ((t->has_default = get_opt(p, w, o, "default", json_type_boolean, &v)) ==
	    -1)
		return -1;
	if ((r = get_opt(p, w, o, "const", json_type_boolean, &v)) == -1)
		return -1;
	if (r == 1) {
		t->u.b.has_const = 1;
		t->u.b.cval = json_object_get_boolean(v);
	}
	return 0;
}

static int
parse_int_vals(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	struct json_object	*v, *e;
	size_t			 i, n;
	int			 r;

	if ((r = get_opt(p, w, o, "const", json_type_int, &v)) == -1)
		return -1;
	if (r == 1) {
		if ((t->u.i.vals = arena_alloc(p->doc, sizeof(int64_t))) ==
		    NULL)
			return perr(p, w, "out of memory");
		t->u.i.vals[0] = json_object_get_int64(v);
		t->u.i.nvals = 1;
		return 0;
	}
	if ((r = get_opt(p, w, o, "enum", json_type_array, &v)) <= 0)
		return r;
	n = json_object_array_length(v);
	if ((t->u.i.vals = arena_alloc(p->doc, (n + 1) * sizeof(int64_t))) ==
	    NULL)
		return perr(p, w, "out of memory");
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_int))
			return perr(p, w, "\"enum\" holds a non-integer");
		t->u.i.vals[i] = json_object_get_int64(e);
	}
	t->u.i.nvals = n;
	return 0;
}

static int
parse_int(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	struct json_object	*v;
	int			 r;

	if ((t->has_default = get_opt(p, w, o, "default", json_type_int, &v)) ==
	    -1)
		return -1;
	if ((r = get_opt(p, w, o, "minimum", json_type_int, &v)) == -1)
		return -1;
	if ((t->u.i.has_min = r) == 1)
		t->u.i.min = json_object_get_int64(v);
	if ((r = get_opt(p, w, o, "maximum", json_type_int, &v)) == -1)
		return -1;
	if ((t->u.i.has_max = r) == 1)
		t->u.i.max = json_object_get_int64(v);
	return parse_int_vals(p, w, o, t);
}

static int
parse_string(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	struct json_object	*v;
	const char		**known;
	size_t			 nknown;
	int			 r, f;

	if ((t->has_default = get_opt(p, w, o, "default", json_type_string, &v)) ==
	    -1)
		return -1;
	if (get_opt(p, w, o, "format", json_type_string, &v) == -1)
		return -1;
	if (v != NULL && (f = name_lookup(formats, nitems(formats),
	    json_object_get_string(v))) == -1)
		return perr(p, w, "unknown string format \"%s\"",
		    json_object_get_string(v));
	if (v != NULL)
		t->u.s.format = (enum lex_format)f;
	if (get_limit(p, w, o, "minLength", &t->u.s.minlen) == -1 ||
	    get_limit(p, w, o, "maxLength", &t->u.s.maxlen) == -1 ||
	    get_limit(p, w, o, "minGraphemes", &t->u.s.ming) == -1 ||
	    get_limit(p, w, o, "maxGraphemes", &t->u.s.maxg) == -1)
		return -1;
	/* knownValues is advice to clients, never enforced. */
	if (get_strings(p, w, o, "knownValues", &known, &nknown) == -1)
		return -1;
	if ((r = get_opt(p, w, o, "const", json_type_string, &v)) == -1)
		return -1;
	if (r == 1) {
		if ((t->u.s.vals = arena_alloc(p->doc, sizeof(char *))) ==
		    NULL || (t->u.s.vals[0] = arena_strndup(p->doc,
		    json_object_get_string(v), json_object_get_string_len(v))) ==
		    NULL)
			return perr(p, w, "out of memory");
		t->u.s.nvals = 1;
		return 0;
	}
	if (get_strings(p, w, o, "enum", &t->u.s.vals, &t->u.s.nvals) == -1)
		return -1;
	return 0;
}

static int
parse_bytes(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	if (get_limit(p, w, o, "minLength", &t->u.by.minlen) == -1 ||
	    get_limit(p, w, o, "maxLength", &t->u.by.maxlen) == -1)
		return -1;
	return 0;
}

static int
parse_blob(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	if (get_strings(p, w, o, "accept", &t->u.bl.accept,
	    &t->u.bl.naccept) == -1 ||
	    get_limit(p, w, o, "maxSize", &t->u.bl.maxsize) == -1)
		return -1;
	return 0;
}

static int
parse_array(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	struct json_object	*v;

	if (get_opt(p, w, o, "items", json_type_object, &v) != 1)
		return v == NULL ? perr(p, w, "array without \"items\"") : -1;
	if ((t->u.a.items = parse_type(p, w, v, 0)) == NULL)
		return -1;
	if (get_limit(p, w, o, "minLength", &t->u.a.minlen) == -1 ||
	    get_limit(p, w, o, "maxLength", &t->u.a.maxlen) == -1)
		return -1;
	return 0;
}

static struct lex_prop *
find_prop(struct lex_type *t, const char *name)
{
	size_t	i;

	for (i = 0; i < t->u.o.nprops; i++)
		if (strcmp(t->u.o.props[i].name, name) == 0)
			return &t->u.o.props[i];
	return NULL;
}

/* "required" and "nullable" must name declared properties. */
static int
mark_props(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t, const char *key)
{
	struct lex_prop	 *pr;
	const char	**names;
	size_t		  i, n;

	if (get_strings(p, w, o, key, &names, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((pr = find_prop(t, names[i])) == NULL)
			return perr(p, w, "%s property \"%s\" is not defined",
			    key, names[i]);
		if (key[0] == 'r')
			pr->required = 1;
		else
			pr->nullable = 1;
	}
	return 0;
}

static int
parse_object(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	struct json_object	*props;
	struct lex_prop		*pr;
	size_t			 n;

	if (get_opt(p, w, o, "properties", json_type_object, &props) == -1)
		return -1;
	n = props != NULL ? (size_t)json_object_object_length(props) : 0;
	if (n > 0 && (t->u.o.props = arena_alloc(p->doc,
	    n * sizeof(*t->u.o.props))) == NULL)
		return perr(p, w, "out of memory");
	if (props != NULL) {
		/* json-c keeps insertion order: errors come in schema order. */
		json_object_object_foreach(props, key, val) {
			pr = &t->u.o.props[t->u.o.nprops++];
			pr->namelen = strlen(key);
			if ((pr->name = arena_strndup(p->doc, key,
			    pr->namelen)) == NULL)
				return perr(p, w, "out of memory");
			if (!json_object_is_type(val, json_type_object))
				return perr(p, key, "not an object");
			if ((pr->type = parse_type(p, key, val, 0)) == NULL)
				return -1;
			if (t->kind == LEX_PARAMS && pr->type->kind !=
			    LEX_BOOLEAN && pr->type->kind != LEX_INTEGER &&
			    pr->type->kind != LEX_STRING &&
			    pr->type->kind != LEX_ARRAY &&
			    pr->type->kind != LEX_UNKNOWN)
				return perr(p, key, "not a parameter type");
		}
	}
	if (mark_props(p, w, o, t, "required") == -1 ||
	    mark_props(p, w, o, t, "nullable") == -1)
		return -1;
	return 0;
}

/* "#name", "nsid" or "nsid#name", relative to the document. */
static int
parse_ref(struct pctx *p, const char *w, const char *s, struct lex_ref *r)
{
	const char	*hash, *nsid;
	char		*dollar;
	size_t		 nlen, dlen;

	hash = strchr(s, '#');
	nsid = hash == s ? p->doc->id : s;
	nlen = hash == s ? strlen(nsid) : hash != NULL ? (size_t)(hash - s) :
	    strlen(s);
	if (!syntax_is_nsid(nsid, nlen) || (hash != NULL && hash[1] == '\0'))
		return perr(p, w, "bad reference \"%s\"", s);
	if ((r->nsid = arena_strndup(p->doc, nsid, nlen)) == NULL ||
	    (r->name = arena_strndup(p->doc, hash != NULL ? hash + 1 : "main",
	    hash != NULL ? strlen(hash + 1) : 4)) == NULL)
		return perr(p, w, "out of memory");
	if (strcmp(r->name, "main") == 0)
		r->dollar = r->nsid;
	else {
		dlen = nlen + strlen(r->name) + 2;
		if ((dollar = arena_alloc(p->doc, dlen)) == NULL)
			return perr(p, w, "out of memory");
		snprintf(dollar, dlen, "%s#%s", r->nsid, r->name);
		r->dollar = dollar;
	}
	return 0;
}

static int
parse_union(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	const char		**refs;
	struct json_object	 *v;
	size_t			  i, n;
	int			  r;

	if ((r = get_strings(p, w, o, "refs", &refs, &n)) == -1)
		return -1;
	if (r == 0)
		return perr(p, w, "union without \"refs\"");
	if (n > 0 && (t->u.u.refs = arena_alloc(p->doc,
	    n * sizeof(*t->u.u.refs))) == NULL)
		return perr(p, w, "out of memory");
	for (i = 0; i < n; i++)
		if (parse_ref(p, w, refs[i], &t->u.u.refs[i]) == -1)
			return -1;
	t->u.u.nrefs = n;
	if (get_opt(p, w, o, "closed", json_type_boolean, &v) == -1)
		return -1;
	t->u.u.closed = v != NULL && json_object_get_boolean(v);
	return 0;
}

static int
parse_record(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	struct json_object	*v, *ty;
	const char		*key;

	if (get_opt(p, w, o, "key", json_type_string, &v) == -1)
		return -1;
	if (v != NULL) {
		key = json_object_get_string(v);
		if (strcmp(key, "any") != 0 && strcmp(key, "tid") != 0 &&
		    strcmp(key, "nsid") != 0 && (strncmp(key, "literal:", 8) !=
		    0 || !syntax_is_rkey(key + 8, strlen(key + 8))))
			return perr(p, w, "bad record key type \"%s\"", key);
	}
	if (get_opt(p, w, o, "record", json_type_object, &v) != 1)
		return v == NULL ? perr(p, w, "record without \"record\"") : -1;
	if (!json_object_object_get_ex(v, "type", &ty) ||
	    !json_object_is_type(ty, json_type_string) ||
	    strcmp(json_object_get_string(ty), "object") != 0)
		return perr(p, w, "record schema is not an object");
	if ((t->u.r.record = parse_type(p, w, v, 0)) == NULL)
		return -1;
	return 0;
}

/*
 * Input, output and message bodies: an object, a ref or a union.  The
 * encoding and schema of the input are kept (*enc, *out); the others
 * are only checked.
 */
static int
parse_body(struct pctx *p, const char *w, struct json_object *o,
    const char *key, const char **enc, struct lex_type **out)
{
	struct json_object	*b, *s, *e;
	struct lex_type		*t;

	if (get_opt(p, w, o, key, json_type_object, &b) != 1)
		return b == NULL ? 0 : -1;
	if (get_opt(p, w, b, "encoding", json_type_string, &e) == -1)
		return -1;
	if (enc != NULL && e != NULL && (*enc = arena_strndup(p->doc,
	    json_object_get_string(e), json_object_get_string_len(e))) ==
	    NULL)
		return perr(p, w, "out of memory");
	if (get_opt(p, w, b, "schema", json_type_object, &s) != 1)
		return s == NULL ? 0 : -1;
	if ((t = parse_type(p, w, s, 0)) == NULL)
		return -1;
	if (t->kind != LEX_OBJECT && t->kind != LEX_REF && t->kind !=
	    LEX_UNION)
		return perr(p, w, "%s schema must be an object, ref or union",
		    key);
	if (out != NULL)
		*out = t;
	return 0;
}

static int
parse_method(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	struct json_object	*v, *ty;

	if (get_opt(p, w, o, "parameters", json_type_object, &v) == -1)
		return -1;
	if (v != NULL) {
		if (!json_object_object_get_ex(v, "type", &ty) ||
		    !json_object_is_type(ty, json_type_string) ||
		    strcmp(json_object_get_string(ty), "params") != 0)
			return perr(p, w, "parameters are not of type params");
		if ((t->u.m.params = parse_type(p, w, v, 0)) == NULL)
			return -1;
	}
	if (parse_body(p, w, o, "input", &t->u.m.inenc, &t->u.m.input) ==
	    -1 || parse_body(p, w, o, "output", NULL, NULL) == -1 ||
	    parse_body(p, w, o, "message", NULL, NULL) == -1)
		return -1;
	return 0;
}

/* Which kinds may stand where: a named def (top) or inside a type. */
static int
kind_allowed(enum lex_kind k, int top)
{
	switch (k) {
	case LEX_REF:
	case LEX_UNION:
	case LEX_UNKNOWN:
		return !top;
	case LEX_TOKEN:
	case LEX_RECORD:
	case LEX_QUERY:
	case LEX_PROCEDURE:
	case LEX_SUBSCRIPTION:
	case LEX_PERMSET:
		return top;
	default:
		return 1;
	}
}

static int
parse_body_of(struct pctx *p, const char *w, struct json_object *o,
    struct lex_type *t)
{
	struct json_object	*v;

	switch (t->kind) {
	case LEX_BOOLEAN:
		return parse_bool(p, w, o, t);
	case LEX_INTEGER:
		return parse_int(p, w, o, t);
	case LEX_STRING:
		return parse_string(p, w, o, t);
	case LEX_BYTES:
		return parse_bytes(p, w, o, t);
	case LEX_BLOB:
		return parse_blob(p, w, o, t);
	case LEX_ARRAY:
		return parse_array(p, w, o, t);
	case LEX_OBJECT:
	case LEX_PARAMS:
		return parse_object(p, w, o, t);
	case LEX_REF:
		if (get_opt(p, w, o, "ref", json_type_string, &v) != 1)
			return v == NULL ? perr(p, w, "ref without \"ref\"") :
			    -1;
		return parse_ref(p, w, json_object_get_string(v), &t->u.ref);
	case LEX_UNION:
		return parse_union(p, w, o, t);
	case LEX_RECORD:
		return parse_record(p, w, o, t);
	case LEX_QUERY:
	case LEX_PROCEDURE:
	case LEX_SUBSCRIPTION:
		return parse_method(p, w, o, t);
	case LEX_PERMSET:
		return get_opt(p, w, o, "permissions", json_type_array, &v) ==
		    -1 ? -1 : 0;
	default:
		return 0;
	}
}

static struct lex_type *
parse_type(struct pctx *p, const char *w, struct json_object *o, int top)
{
	struct json_object	*ty;
	struct lex_type		*t;
	int			 k, r;

	if (!json_object_object_get_ex(o, "type", &ty) ||
	    !json_object_is_type(ty, json_type_string)) {
		perr(p, w, "no \"type\"");
		return NULL;
	}
	if ((k = name_lookup(kinds, nitems(kinds),
	    json_object_get_string(ty))) == -1 ||
	    !kind_allowed((enum lex_kind)k, top)) {
		perr(p, w, "type \"%s\" not allowed here",
		    json_object_get_string(ty));
		return NULL;
	}
	if (++p->depth > LEX_MAXDEPTH) {
		perr(p, w, "types nested too deeply");
		return NULL;
	}
	if ((t = arena_alloc(p->doc, sizeof(*t))) == NULL) {
		perr(p, w, "out of memory");
		return NULL;
	}
	t->kind = (enum lex_kind)k;
	r = parse_body_of(p, w, o, t);
	p->depth--;
	return r == -1 ? NULL : t;
}

static int
defcmp(const void *a, const void *b)
{
	return strcmp(((const struct lex_def *)a)->name,
	    ((const struct lex_def *)b)->name);
}

static int
parse_defs(struct pctx *p, struct json_object *defs)
{
	struct lex_doc	*doc = p->doc;
	struct lex_def	*d;
	size_t		 n;

	n = (size_t)json_object_object_length(defs);
	if (n > 0 && (doc->defs = arena_alloc(doc, n * sizeof(*doc->defs))) ==
	    NULL)
		return perr(p, NULL, "out of memory");
	json_object_object_foreach(defs, key, val) {
		d = &doc->defs[doc->ndefs++];
		if ((d->name = arena_strndup(doc, key, strlen(key))) == NULL)
			return perr(p, NULL, "out of memory");
		if (key[0] == '\0' || strchr(key, '#') != NULL)
			return perr(p, NULL, "bad def name \"%s\"", key);
		if (!json_object_is_type(val, json_type_object))
			return perr(p, key, "not an object");
		if ((d->type = parse_type(p, key, val, 1)) == NULL)
			return -1;
		if (d->type->kind >= LEX_RECORD && strcmp(key, "main") != 0)
			return perr(p, key, "a primary type must be main");
	}
	if (doc->ndefs > 1)
		qsort(doc->defs, doc->ndefs, sizeof(*doc->defs), defcmp);
	return 0;
}

static int
parse_doc(struct pctx *p, struct json_object *root)
{
	struct json_object	*v, *defs;

	if (!json_object_is_type(root, json_type_object))
		return perr(p, NULL, "not a JSON object");
	if (!json_object_object_get_ex(root, "lexicon", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 1)
		return perr(p, NULL, "\"lexicon\" is not 1");
	if (!json_object_object_get_ex(root, "id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !syntax_is_nsid(json_object_get_string(v),
	    json_object_get_string_len(v)))
		return perr(p, NULL, "\"id\" is not an NSID");
	if ((p->doc->id = arena_strndup(p->doc, json_object_get_string(v),
	    json_object_get_string_len(v))) == NULL)
		return perr(p, NULL, "out of memory");
	if (!json_object_object_get_ex(root, "defs", &defs) ||
	    !json_object_is_type(defs, json_type_object))
		return perr(p, NULL, "no \"defs\" object");
	return parse_defs(p, defs);
}

static struct json_object *
parse_json(const char *json, size_t len, char *err, size_t errlen)
{
	struct json_tokener	*tok;
	struct json_object	*root;

	if (len > LEXICON_MAXDOC) {
		snprintf(err, errlen, "lexicon document too large");
		return NULL;
	}
	if ((tok = json_tokener_new_ex(LEX_MAXJSON)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (root != NULL && json_tokener_get_parse_end(tok) != len) {
		json_object_put(root);
		root = NULL;
	}
	if (root == NULL)
		snprintf(err, errlen, "lexicon document is not JSON: %s",
		    json_tokener_error_desc(json_tokener_get_error(tok)));
	json_tokener_free(tok);
	return root;
}

int
lexicon_add_json(const char *json, size_t len, char *err, size_t errlen)
{
	struct json_object	*root;
	struct lex_doc		*doc;
	struct pctx		 p;
	char			 dummy[1];

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if ((root = parse_json(json, len, err, errlen)) == NULL)
		return -1;
	if ((doc = calloc(1, sizeof(*doc))) == NULL) {
		json_object_put(root);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.doc = doc;
	p.err = err;
	p.errlen = errlen;
	if (parse_doc(&p, root) == -1 || RB_INSERT(lex_docs, &docs, doc) !=
	    NULL) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: already loaded", doc->id);
		json_object_put(root);
		doc_free(doc);
		return -1;
	}
	ndocs++;
	json_object_put(root);
	return 0;
}

static int
load_file(int dfd, const char *name, const char *path)
{
	struct stat	 st;
	char		 err[256], *buf;
	ssize_t		 n;
	int		 fd, rv = -1;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("lexicon %s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_size > LEXICON_MAXDOC) {
		log_warnx("lexicon %s: unreadable or too large", path);
		close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	n = read(fd, buf, (size_t)st.st_size + 1);
	if (n != st.st_size)
		log_warnx("lexicon %s: short read", path);
	else if (lexicon_add_json(buf, (size_t)n, err, sizeof(err)) == -1)
		log_warnx("lexicon %s: %s", path, err);
	else
		rv = 0;
	free(buf);
	close(fd);
	return rv;
}

static int
is_json_name(const char *s)
{
	size_t	len = strlen(s);

	return len > 5 && strcmp(s + len - 5, ".json") == 0;
}

static int
load_tree(int dfd, const char *path, int level)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		 sub[1024];
	int		 fd, rv = 0;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		log_warn("lexicon directory %s", path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub) || fstatat(dirfd(d), de->d_name, &st, 0) ==
		    -1) {
			rv = -1;
			continue;
		}
		if (S_ISDIR(st.st_mode) && level < LEX_MAXDIR) {
			fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd == -1 || load_tree(fd, sub, level + 1) == -1)
				rv = -1;
		} else if (S_ISREG(st.st_mode) && is_json_name(de->d_name) &&
		    load_file(dirfd(d), de->d_name, sub) == -1)
			rv = -1;
	}
	closedir(d);
	return rv;
}

int
lexicon_load_dir(const char *dir)
{
	int	fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("lexicon directory %s", dir);
		return -1;
	}
	return load_tree(fd, dir, 0);
}

struct lex_type *
lex_lookup(const char *nsid, const char *name)
{
	struct lex_doc	 key, *doc;
	struct lex_def	 dk, *d;

	key.id = nsid;
	if ((doc = RB_FIND(lex_docs, &docs, &key)) == NULL || doc->ndefs == 0)
		return NULL;
	dk.name = name;
	d = bsearch(&dk, doc->defs, doc->ndefs, sizeof(*doc->defs), defcmp);
	return d != NULL ? d->type : NULL;
}

struct lex_type *
lex_resolve(struct lex_ref *r)
{
	if (r->target == NULL)
		r->target = lex_lookup(r->nsid, r->name);
	return r->target;
}

int
lexicon_has_record(const char *nsid)
{
	struct lex_type	*t;

	return (t = lex_lookup(nsid, "main")) != NULL && t->kind == LEX_RECORD;
}

size_t
lexicon_count(void)
{
	return ndocs;
}

void
lexicon_free_all(void)
{
	struct lex_doc	*doc, *next;

	RB_FOREACH_SAFE(doc, lex_docs, &docs, next) {
		RB_REMOVE(lex_docs, &docs, doc);
		doc_free(doc);
	}
	ndocs = 0;
}
