/*
 * The IMSG_SIGN_* payload decoders on arbitrary bytes.  The first byte
 * picks the decoder.  Whatever decodes must hold what the decoder
 * promises: a commit or PLC operation re-encodes to exactly the input
 * (signerd signs the bytes it checked), and strings are bounded and
 * terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "crypto.h"
#include "dm.h"
#include "commit.h"
#include "signer_proto.h"
#include "syntax.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A commit signerd accepts re-encodes to exactly what it was sent. */
static void
check_commit(const uint8_t *p, size_t len)
{
	struct commit	 c;
	uint8_t		*b;
	size_t		 blen;

	if (signer_commit_decode(p, len, &c, NULL) == -1 || c.has_prev)
		return;
	if (!syntax_is_did(c.did, strlen(c.did)) ||
	    !syntax_is_tid(c.rev, strlen(c.rev)) ||
	    commit_unsigned_encode(c.did, &c.data, c.rev, &b, &blen) == -1 ||
	    blen != len || memcmp(b, p, len) != 0)
		abort();
	free(b);
}

static void
check_plc(const uint8_t *p, size_t len)
{
	struct signer_plc	 info;
	struct dm		*op;
	uint8_t			 sig[SIG_LEN], *back;
	char			 did[PLC_DID_BUFSZ];
	size_t			 blen;

	if (signer_plc_decode(p, len, &op, &info, NULL) == -1) {
		if (op != NULL)
			abort();
		return;
	}
	if (info.nrotation == 0 || info.nrotation > PLC_MAX_ROTATION ||
	    strncmp(info.atproto, "did:key:z", 9) != 0)
		abort();
	if ((back = dm_cbor_encode_mem(op, &blen)) == NULL || blen != len ||
	    memcmp(back, p, len) != 0)
		abort();
	free(back);
	memset(sig, 0x5a, sizeof(sig));
	if (signer_plc_signed(op, sig, NULL, did) == -1 ||
	    strlen(did) != PLC_DID_LEN)
		abort();
	dm_free(op);
}

static void
check_jwt(const uint8_t *p, size_t len)
{
	const char	*did, *in;
	size_t		 inlen;

	if (signer_jwt_decode(p, len, &did, &in, &inlen, NULL) == -1)
		return;
	if (!syntax_is_did(did, strlen(did)) || inlen == 0 ||
	    inlen > SIGNER_JWT_MAXLEN || memchr(in, '\0', inlen) != NULL ||
	    (size_t)(in - (const char *)p) + inlen != len)
		abort();
}

static void
check_replies(const uint8_t *p, size_t len)
{
	char	 k[DIDKEY_BUFSZ], did[PLC_DID_BUFSZ], err[SIGNER_ERR_MAX + 1];
	uint8_t	 sig[SIG_LEN];

	if (signer_didkey_decode(p, len, k) == 0 && strlen(k) + 1 != len)
		abort();
	if (signer_plc_reply_decode(p, len, sig, did) == 0 &&
	    strlen(did) != (len == SIG_LEN ? 0 : PLC_DID_LEN))
		abort();
	if (signer_error_decode(p, len, err, sizeof(err)) == 0 &&
	    strlen(err) + 1 != len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (crypto_init() == -1)
		abort();
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		check_commit(data + 1, size - 1);
		break;
	case 1:
		check_plc(data + 1, size - 1);
		break;
	case 2:
		check_jwt(data + 1, size - 1);
		break;
	default:
		check_replies(data + 1, size - 1);
		break;
	}
	return 0;
}
