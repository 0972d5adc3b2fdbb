/*
 * MST node decoding. No input may crash it, and whatever it accepts
 * must encode back to the very same bytes (the node's CID is a hash of
 * them, so a lenient decoder would let two encodings share one tree).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "mst.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct mst_node	*n;
	struct dm_buf	 b = { NULL, 0, 0 };
	const char	*err;
	size_t		 i;

	if (mst_node_decode(data, len, &n, &err) == -1)
		return 0;
	if (mst_node_encode(n, &b) == -1 || b.len != len ||
	    memcmp(b.p, data, len) != 0)
		abort();
	for (i = 0; i < n->n; i++)
		if (!mst_key_valid(n->e[i].key, n->e[i].klen) ||
		    mst_key_height(n->e[i].key, n->e[i].klen) != n->layer)
			abort();
	dm_buf_free(&b);
	mst_node_free(n);
	return 0;
}
