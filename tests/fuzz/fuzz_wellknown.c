/*
 * /.well-known/atproto-did answers, as a host on the Internet may send
 * them: whatever comes back must be a DID that fits the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pdsd.h"
#include "syntax.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	 did[DID_MAX + 1];

	if (identity_wellknown_parse((const char *)data, len, did,
	    sizeof(did)) == 0 && (strncmp(did, "did:", 4) != 0 ||
	    !syntax_is_did(did, strlen(did))))
		abort();
	return 0;
}
