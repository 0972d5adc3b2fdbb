/*
 * gzip.c: any Accept-Encoding value gets an answer, 0 or 1; any
 * Content-Type gets a zlib level, 0 (not compressed) to 9; and any bytes
 * compress and inflate back unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
roundtrip(const uint8_t *data, size_t len)
{
	struct http_gzip	*gz;
	struct evbuffer		*in, *z;
	uint8_t			*out;
	uLongf			 outlen = len;
	z_stream		 s;

	if ((in = evbuffer_new()) == NULL || (z = evbuffer_new()) == NULL ||
	    (gz = http_gzip_new(len % 2 ? 1 : 6)) == NULL ||
	    (out = malloc(len + 1)) == NULL)
		abort();
	evbuffer_add(in, data, len / 2);
	if (http_gzip_write(gz, in, z, 0) == -1)
		abort();
	evbuffer_add(in, data + len / 2, len - len / 2);
	if (http_gzip_write(gz, in, z, 1) == -1)
		abort();
	memset(&s, 0, sizeof(s));
	if (inflateInit2(&s, 15 + 16) != Z_OK)
		abort();
	s.next_in = evbuffer_pullup(z, -1);
	s.avail_in = evbuffer_get_length(z);
	s.next_out = out;
	s.avail_out = len + 1;
	if (inflate(&s, Z_FINISH) != Z_STREAM_END)
		abort();
	outlen = len + 1 - s.avail_out;
	if (outlen != len || memcmp(out, data, len) != 0)
		abort();
	inflateEnd(&s);
	free(out);
	http_gzip_free(gz);
	evbuffer_free(in);
	evbuffer_free(z);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*s;
	int	 r;

	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	r = http_gzip_accepted(s);
	if (r != 0 && r != 1)
		abort();
	r = http_gzip_type(s);
	if (r < 0 || r > 9)
		abort();
	free(s);
	roundtrip(data, len);
	return 0;
}
