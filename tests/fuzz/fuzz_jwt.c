/*
 * JWT checking.  The input is tried as a token as it is (the MAC stops
 * it, but the splitting and base64url run first), then split at its
 * first newline into a header and a payload that are signed with the
 * key, so that the header and claims parsers see arbitrary JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t	key[JWT_KEYLEN] = "fuzz fuzz fuzz fuzz fuzz fuzz f";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct jwt_claims	 c;
	char			*s, *nl, *tok;

	(void)jwt_hs256_verify(key, (const char *)data, len, &c);
	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		if ((tok = jwt_hs256_sign(key, s, nl + 1)) != NULL) {
			if (jwt_hs256_verify(key, tok, strlen(tok), &c) == 0 &&
			    (strlen(c.sub) >= sizeof(c.sub) ||
			    strlen(c.aud) >= sizeof(c.aud)))
				abort();
			free(tok);
		}
	}
	free(s);
	return 0;
}
