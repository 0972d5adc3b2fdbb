/*
 * The HTTP request parser: the input is split in two at a position
 * taken from its first byte, so that the fuzzer also explores requests
 * cut at every point.  Pipelined messages are parsed one after another;
 * each head is then queried the way handlers will.
 */
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
use_head(const struct http_head *h)
{
	char	 buf[64];
	size_t	 it = 0;
	int	 i = 0;

	(void)http_head_get(h, "content-type");
	while (http_head_next(h, "x", &i) != NULL)
		;
	while (http_query_next(h->query, "a", &it, buf, sizeof(buf)) == 1)
		;
	(void)http_pct_decode(h->path, strlen(h->path), buf, sizeof(buf), 0);
}

/* Returns 0 when the input is used up or the parser has given up. */
static int
feed(struct http_parser *p, const char *in, size_t len)
{
	const char	*data;
	size_t		 used, dlen, off = 0;
	int		 msgs = 0;

	for (;;) {
		switch (http_parse(p, in + off, len - off, &used, &data,
		    &dlen)) {
		case HTTP_PEV_MORE:
			if (off + used != len)
				__builtin_trap();
			return 1;
		case HTTP_PEV_ERROR:
			if (p->status < 400 || p->status > 599)
				__builtin_trap();
			return 0;
		case HTTP_PEV_HEAD:
			use_head(&p->head);
			break;
		case HTTP_PEV_DATA:
			if (dlen == 0 || data < in + off ||
			    data + dlen > in + off + used)
				__builtin_trap();
			break;
		case HTTP_PEV_DONE:
			http_parser_free(p);
			if (++msgs > 64)
				return 0;
			break;
		}
		off += used;
		if (off > len)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_parser	 p;
	const char		*in = (const char *)data;
	size_t			 cut;

	if (size == 0)
		return 0;
	cut = data[0] % size;
	in++;
	size--;
	if (cut > size)
		cut = size;
	http_parser_init(&p);
	if (feed(&p, in, cut))
		feed(&p, in + cut, size - cut);
	http_parser_free(&p);
	return 0;
}
