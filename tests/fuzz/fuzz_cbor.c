/*
 * Strict DAG-CBOR decoder. Whatever it accepts must re-encode to the
 * very same bytes, and the check-only path must agree with it; so must
 * the JSON writer (dm_cbor_to_json), with the text dmjson_encode makes
 * of the decoded value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "dm.h"
#include "dmjson.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct dm	*v, *w;
	struct dm_buf	 b = { NULL, 0, 0 }, j = { NULL, 0, 0 };
	const char	*err;
	char		*json;
	size_t		 used, jlen;
	int		 rc;

	rc = dm_cbor_decode(data, len, &v, &err);
	if ((dm_cbor_check(data, len, &err) == 0) != (rc == 0))
		abort();
	if ((dm_cbor_to_json(data, len, &j, &err) == 0) != (rc == 0) ||
	    (rc != 0 && j.len != 0))
		abort();
	if (rc == 0) {
		if (dm_cbor_encode(v, &b) == -1 || b.len != len ||
		    memcmp(b.p, data, len) != 0)
			abort();
		if ((json = dmjson_encode_str(v, &jlen)) == NULL ||
		    jlen != j.len || memcmp(json, j.p, jlen) != 0)
			abort();
		free(json);
		dm_buf_free(&b);
		dm_free(v);
	}
	dm_buf_free(&j);
	if (dm_cbor_decode_prefix(data, len, &w, &used, &err) == 0) {
		if (used > len || (rc == 0 && used != len))
			abort();
		dm_free(w);
	}
	return 0;
}
