/*
 * DNS answers to the _atproto TXT question, as any name server may
 * send them: whatever resolve_txt_did takes must be a DID that fits.
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

	if (resolve_txt_did(data, len, did, sizeof(did)) == 0 &&
	    (strncmp(did, "did:", 4) != 0 || !syntax_is_did(did, strlen(did))))
		abort();
	return 0;
}
