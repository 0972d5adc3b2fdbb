/*
 * Every syntax validator on arbitrary bytes: no crash, no read past the
 * given length, and the AT-URI parts of an accepted URI are themselves
 * valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "syntax.h"
#include "tid.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_aturi(const char *s, size_t len)
{
	struct aturi u;

	if (aturi_parse(s, len, &u) == -1) {
		if (u.authority != NULL || syntax_is_aturi(s, len))
			abort();
		return;
	}
	if (!syntax_is_atid(u.authority, u.authority_len))
		abort();
	if (u.collection != NULL &&
	    !syntax_is_nsid(u.collection, u.collection_len))
		abort();
	if (u.rkey != NULL && (u.collection == NULL ||
	    !syntax_is_rkey(u.rkey, u.rkey_len)))
		abort();
}

static void
check_handle(const char *s, size_t len)
{
	static const char *const doms[] = { ".test", "example.com" };
	char norm[HANDLE_MAX + 1];

	if (handle_normalize(s, len, norm, sizeof(norm)) == 0) {
		if (!syntax_is_handle(s, len) || strlen(norm) != len ||
		    !syntax_is_handle(norm, len))
			abort();
	} else if (syntax_is_handle(s, len))
		abort();
	if (handle_has_suffix(s, len, doms, 2) && !syntax_is_handle(s, len))
		abort();
}

static void
check_tid(const char *s, size_t len)
{
	char back[TID_BUFSZ];
	uint64_t v;

	if (tid_parse(s, len, &v) == -1)
		return;
	tid_encode(v, back);
	if (memcmp(back, s, TID_STRLEN) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	/* A copy of exactly size bytes, so ASan catches over-reads. */
	if ((s = malloc(size == 0 ? 1 : size)) == NULL)
		return 0;
	memcpy(s, data, size);
	(void)syntax_is_did(s, size);
	(void)syntax_is_nsid(s, size);
	(void)syntax_is_rkey(s, size);
	(void)syntax_is_datetime(s, size);
	(void)syntax_is_language(s, size);
	(void)syntax_is_cid(s, size);
	(void)syntax_is_uri(s, size);
	check_aturi(s, size);
	check_handle(s, size);
	check_tid(s, size);
	free(s);
	return 0;
}
