/*
 * atproto JSON to data model. An accepted value must survive
 * value -> DAG-CBOR -> value and value -> JSON -> value unchanged.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cbor.h"
#include "dm.h"
#include "dmjson.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct dm	*v, *w;
	struct dm_buf	 b = { NULL, 0, 0 };
	const char	*err;
	char		*json;
	size_t		 jlen;

	if (dmjson_parse((const char *)data, len, &v, &err) == -1)
		return 0;
	if (dm_cbor_encode(v, &b) == -1)
		abort();
	if (dm_cbor_decode(b.p, b.len, &w, &err) == -1 || !dm_equal(v, w))
		abort();
	dm_free(w);
	if ((json = dmjson_encode_str(v, &jlen)) == NULL)
		abort();
	if (dmjson_parse(json, jlen, &w, &err) == -1 || !dm_equal(v, w))
		abort();
	dm_free(w);
	free(json);
	dm_buf_free(&b);
	dm_free(v);
	return 0;
}
