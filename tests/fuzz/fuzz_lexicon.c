/*
 * Arbitrary DAG-CBOR records against the project's lexicons: whatever
 * decodes must validate or be refused with a message, never crash, and
 * give the same verdict twice (the reference cache must not change it).
 * Schemas come from lexicons/ (PDS_LEXICONS names another directory).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "dm.h"
#include "lexicon.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *colls[] = {
	"app.bsky.feed.post", "app.bsky.actor.profile", "app.bsky.feed.like",
	"app.bsky.graph.follow", "app.bsky.feed.repost",
	"app.bsky.feed.threadgate", "app.bsky.graph.list",
	"app.bsky.feed.generator", "com.atproto.lexicon.schema",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*dir = getenv("PDS_LEXICONS");

	if (lexicon_load_dir(dir != NULL ? dir : "lexicons") == -1 ||
	    lexicon_count() == 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct dm	*v;
	const char	*errstr;
	char		 err[512];
	size_t		 i;
	int		 r;

	if (len < 1 || dm_cbor_decode(data + 1, len - 1, &v, &errstr) == -1)
		return 0;
	/* The first byte picks the collection, as $type would. */
	i = data[0] % (sizeof(colls) / sizeof(colls[0]));
	err[0] = '\0';
	r = lexicon_validate_record(colls[i], v, err, sizeof(err));
	if (r == 1 || (r == -1 && err[0] == '\0'))
		abort();
	if (lexicon_validate_record(colls[i], v, NULL, 0) != r)
		abort();
	dm_free(v);
	return 0;
}
