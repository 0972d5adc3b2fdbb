/*
 * Lexicon schemas and the validation of record data against them.
 *
 * Schema documents (JSON) are parsed once, at load time, into compact
 * structures; validating a record walks those structures and the data
 * model value side by side and never looks at JSON again.  References
 * between documents ("nsid#def") are resolved when a record is
 * validated, so documents may be loaded in any order and a document may
 * name one that is never loaded.
 *
 * Error messages follow the reference PDS word for word where it was
 * captured: "Invalid app.bsky.feed.post record: Expected string value
 * type (got 42) at $.record.text".  One set of schemas per process; not
 * thread-safe.
 */
#ifndef PDS_LEXICON_H
#define PDS_LEXICON_H

#include <stddef.h>

struct dm;

#define LEXICON_MAXDOC	(1024 * 1024)	/* bytes in one schema document */

/* One embedded schema document (tools/embed-lexicons.sh writes them). */
struct lexicon_src {
	const char	*name;		/* path below lexicons/ */
	const char	*json;
	size_t		 len;
};

/* The embedded set; 0, or -1 (logged) if any document fails. */
int	lexicon_load_builtin(void);
/* Every *.json below dir; 0, or -1 (logged) if any document fails. */
int	lexicon_load_dir(const char *);
/*
 * One schema document.  Returns 0, or -1 with the reason in err if the
 * document is not a valid Lexicon or its id is already loaded.
 */
int	lexicon_add_json(const char *, size_t, char *, size_t);

/*
 * Validates a record for a collection.  Returns 0 if valid, -1 if not
 * (reason in err), 1 if no record schema is known for the collection.
 * The record's "$type" must be present and equal the collection (the
 * caller fills in a missing one first, as the reference does).  Error
 * paths start at "$.record".
 */
int	lexicon_validate_record(const char *, const struct dm *, char *,
	    size_t);
/* As above, with the JSON path of the record in its request given. */
int	lexicon_validate_record_at(const char *, const struct dm *,
	    const char *, char *, size_t);

/*
 * XRPC methods (query, procedure, subscription).  Both validators
 * return 0 if valid, -1 if not (the reference's message in err), 1 if
 * no schema applies (no such method, or no JSON input).
 *
 * Query parameters arrive as text, decoded, in the order of the query
 * string; those the schema names are turned into integers and booleans
 * as the reference turns them, repeated ones into lists; empty values
 * count as absent; unknown names are ignored.  Messages read
 * "Invalid <nsid> params: <issue>", with no path.
 *
 * The input of a procedure whose input encoding is application/json
 * is checked against its schema: messages read "<issue> at $.path".
 */
struct lexicon_param {
	const char	*name;
	size_t		 namelen;
	const char	*value;
	size_t		 len;
};
int	lexicon_validate_params(const char *, const struct lexicon_param *,
	    size_t, char *, size_t);
int	lexicon_validate_input(const char *, const struct dm *, char *,
	    size_t);
int	lexicon_has_method(const char *);
/* 1 if the method's schema names the parameter. */
int	lexicon_param_known(const char *, const char *, size_t);

/* 1 if a record schema is loaded for the collection. */
int	lexicon_has_record(const char *);
/* Number of loaded documents. */
size_t	lexicon_count(void);
void	lexicon_free_all(void);

/*
 * Extended grapheme clusters in UTF-8 text, as Lexicon maxGraphemes
 * counts them.  An approximation of UAX #29 (see lexicon_grapheme.c).
 */
size_t	utf8_graphemes(const char *, size_t);

#endif
