/*
 * AT Protocol identifier and string-format syntax.
 *
 * Every validator takes a pointer and a byte length; the string need not
 * be NUL-terminated and an embedded NUL is simply an invalid character.
 * Each returns true only for strings the atproto specs (and the interop
 * fixtures) accept.  Nothing here allocates.
 */
#ifndef PDS_SYNTAX_H
#define PDS_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>

#define HANDLE_MAX	253
#define DID_MAX		2048
#define NSID_MAX	317
#define RKEY_MAX	512
#define TID_LEN		13
#define ATURI_MAX	8192
#define DATETIME_MAX	64
#define LANGUAGE_MAX	128
#define CIDSTR_MIN	8
#define CIDSTR_MAX	256
#define URI_MAX		8192

bool	syntax_is_handle(const char *, size_t);
bool	syntax_is_did(const char *, size_t);
bool	syntax_is_nsid(const char *, size_t);
bool	syntax_is_rkey(const char *, size_t);
bool	syntax_is_tid(const char *, size_t);
bool	syntax_is_aturi(const char *, size_t);
bool	syntax_is_atid(const char *, size_t);
bool	syntax_is_datetime(const char *, size_t);
bool	syntax_is_language(const char *, size_t);
bool	syntax_is_cid(const char *, size_t);
bool	syntax_is_uri(const char *, size_t);

/*
 * The parts of a valid AT-URI, pointing into the caller's string.
 * Absent parts have a NULL pointer and length 0.
 */
struct aturi {
	const char	*authority;
	size_t		 authority_len;
	const char	*collection;
	size_t		 collection_len;
	const char	*rkey;
	size_t		 rkey_len;
};

int	aturi_parse(const char *, size_t, struct aturi *);

/*
 * Writes the lower-case form of a valid handle, NUL-terminated, into a
 * buffer of the given size (HANDLE_MAX + 1 always suffices).
 * Returns 0, or -1 if the handle is invalid or the buffer too small.
 */
int	handle_normalize(const char *, size_t, char *, size_t);

/*
 * True if the handle is valid and ends in one of the NUL-terminated
 * domain suffixes (".test" or "test"; compared case-insensitively) with
 * at least one label before it.
 */
bool	handle_has_suffix(const char *, size_t, const char *const *, size_t);

#endif
