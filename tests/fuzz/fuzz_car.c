/*
 * CAR reader. The input is fed in two chunks split where its first byte
 * says, so partial sections are exercised; every block the reader hands
 * over must hash to its CID.
 */
#include <stdint.h>
#include <stdlib.h>

#include "car.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
on_header(void *arg, const struct cid *roots, size_t n)
{
	if (n > CAR_MAXROOTS)
		abort();
	return 0;
}

static int
on_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	if (!cid_verify(c, p, len))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct car_reader	*r;
	size_t			 split;
	const char		*err;

	if (len == 0)
		return 0;
	split = data[0] % len;
	if ((r = car_reader_new(on_header, on_block, NULL)) == NULL)
		return 0;
	if (car_reader_feed(r, data + 1, split) == 0 &&
	    car_reader_feed(r, data + 1 + split, len - 1 - split) == 0)
		car_reader_end(r);
	car_reader_free(r);
	car_read_mem(data, len, on_header, on_block, NULL, &err);
	return 0;
}
