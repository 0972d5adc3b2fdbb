/*
 * Lexicon internals shared by the schema loader (lexicon_schema.c) and
 * the validator (lexicon_validate.c).  Nothing else includes this.
 */
#ifndef PDS_LEXICON_INT_H
#define PDS_LEXICON_INT_H

#include <stddef.h>
#include <stdint.h>

enum lex_kind {
	LEX_NULL,		/* not a data type */
	LEX_BOOLEAN,
	LEX_INTEGER,
	LEX_STRING,
	LEX_BYTES,
	LEX_CIDLINK,
	LEX_BLOB,
	LEX_ARRAY,
	LEX_OBJECT,
	LEX_PARAMS,
	LEX_REF,
	LEX_UNION,
	LEX_UNKNOWN,
	LEX_TOKEN,
	LEX_RECORD,
	LEX_QUERY,
	LEX_PROCEDURE,
	LEX_SUBSCRIPTION,
	LEX_PERMSET,
};

enum lex_format {
	LEXF_NONE,
	LEXF_DATETIME,
	LEXF_URI,
	LEXF_ATURI,
	LEXF_DID,
	LEXF_HANDLE,
	LEXF_ATID,
	LEXF_NSID,
	LEXF_CID,
	LEXF_LANGUAGE,
	LEXF_TID,
	LEXF_RKEY,
};

#define LEX_NOLIMIT	(-1)

struct lex_type;

struct lex_prop {
	const char	*name;
	size_t		 namelen;
	struct lex_type	*type;
	unsigned	 required:1;
	unsigned	 nullable:1;
};

/* A reference to "nsid#name"; the target is looked up when first used. */
struct lex_ref {
	const char	*nsid;		/* NUL-terminated */
	const char	*name;		/* "main" when the reference had no # */
	const char	*dollar;	/* the $type a value of it carries */
	struct lex_type	*target;	/* cache, NULL until resolved */
};

struct lex_type {
	enum lex_kind	 kind;
	int		 has_default;	/* a missing value takes it */
	union {
		struct {
			int		 has_const;
			int		 cval;
		} b;
		struct {
			int64_t		 min, max;
			int		 has_min, has_max;
			int64_t		*vals;	/* const (1) or enum */
			size_t		 nvals;
		} i;
		struct {
			enum lex_format	 format;
			int64_t		 minlen, maxlen, ming, maxg;
			const char	**vals;	/* const (1) or enum */
			size_t		 nvals;
		} s;
		struct {
			int64_t		 minlen, maxlen;
		} by;
		struct {
			const char	**accept;
			size_t		 naccept;
			int64_t		 maxsize;
		} bl;
		struct {
			struct lex_type	*items;
			int64_t		 minlen, maxlen;
		} a;
		struct {
			struct lex_prop	*props;
			size_t		 nprops;
		} o;
		struct lex_ref	 ref;
		struct {
			struct lex_ref	*refs;
			size_t		 nrefs;
			int		 closed;
		} u;
		struct {
			struct lex_type	*record;	/* an object */
		} r;
		struct {
			struct lex_type	*params;	/* NULL: none */
			const char	*inenc;		/* NULL: no input */
			struct lex_type	*input;		/* NULL: no schema */
		} m;
	} u;
};

/* Looks up "nsid" + "#name"; NULL if unknown. */
struct lex_type	*lex_lookup(const char *, const char *);
/* Resolves a reference, caching the answer. */
struct lex_type	*lex_resolve(struct lex_ref *);

#endif
