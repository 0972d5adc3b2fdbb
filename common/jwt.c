/*
 * Compact JWS: the session tokens' HS256 and the shape every token has.
 * A token is outside input: its size is bounded before anything is
 * decoded, and nothing of it is trusted before the MAC checks out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <sodium.h>

#include "encoding.h"
#include "jwt.h"

#define JWT_JSON_DEPTH	8

static char		*b64url_dup(const void *, size_t);
static char		*dot_join(const char *, const char *);
static struct json_object *part_json(const char *, size_t);
static int		 header_ok(struct json_object *, struct jwt_claims *);
static int		 claim_str(struct json_object *, const char *, char *,
			    size_t);
static int		 claim_num(struct json_object *, const char *,
			    int64_t *);
static int		 claims_parse(struct json_object *,
			    struct jwt_claims *);

static char *
b64url_dup(const void *p, size_t len)
{
	char	*s;

	if ((s = malloc(BASE64_ENCLEN(len) + 1)) == NULL)
		return NULL;
	base64url_encode(p, len, s, BASE64_ENCLEN(len) + 1);
	return s;
}

/* a "." b, malloc'd. */
static char *
dot_join(const char *a, const char *b)
{
	char	*s;
	size_t	 al, bl;

	if (a == NULL || b == NULL)
		return NULL;
	al = strlen(a);
	bl = strlen(b);
	if ((s = malloc(al + 1 + bl + 1)) != NULL) {
		memcpy(s, a, al);
		s[al] = '.';
		memcpy(s + al + 1, b, bl + 1);
	}
	return s;
}

char *
jwt_signing_input(const char *header, const char *payload)
{
	char	*h, *p, *s;

	h = b64url_dup(header, strlen(header));
	p = b64url_dup(payload, strlen(payload));
	s = dot_join(h, p);
	free(h);
	free(p);
	return s;
}

char *
jwt_join(const char *input, const uint8_t *sig, size_t siglen)
{
	char	*s, *tok;

	s = b64url_dup(sig, siglen);
	tok = dot_join(input, s);
	free(s);
	return tok;
}

char *
jwt_hs256_sign(const uint8_t key[JWT_KEYLEN], const char *header,
    const char *payload)
{
	uint8_t	 mac[crypto_auth_hmacsha256_BYTES];
	char	*input, *tok;

	if ((input = jwt_signing_input(header, payload)) == NULL)
		return NULL;
	crypto_auth_hmacsha256(mac, (const uint8_t *)input, strlen(input),
	    key);
	tok = jwt_join(input, mac, sizeof(mac));
	free(input);
	return tok;
}

/* One base64url part decoded and parsed as a JSON object, or NULL. */
static struct json_object *
part_json(const char *p, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	uint8_t			 buf[JWT_MAX];
	int			 n;

	if (memchr(p, '=', len) != NULL ||
	    (n = base64url_decode(p, len, buf, sizeof(buf))) <= 0)
		return NULL;
	if ((tok = json_tokener_new_ex(JWT_JSON_DEPTH)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, (const char *)buf, n);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != (size_t)n ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/*
 * A string claim into buf: 0 if absent (buf ""), 1 if present, -1 if it
 * is not a string or too long.
 */
static int
claim_str(struct json_object *o, const char *key, char *buf, size_t len)
{
	struct json_object	*v;
	size_t			 n;

	buf[0] = '\0';
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	n = (size_t)json_object_get_string_len(v);
	if (n >= len || memchr(json_object_get_string(v), '\0', n) != NULL)
		return -1;
	memcpy(buf, json_object_get_string(v), n + 1);
	return 1;
}

/* A numeric claim (whole seconds): 0 absent, 1 present, -1 bad. */
static int
claim_num(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object	*v;

	*out = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 1;
}

/* alg must be HS256; a crit header asks for what we do not do. */
static int
header_ok(struct json_object *h, struct jwt_claims *c)
{
	char	 alg[16];

	if (claim_str(h, "alg", alg, sizeof(alg)) != 1 ||
	    strcmp(alg, "HS256") != 0)
		return -1;
	if (json_object_object_get_ex(h, "crit", NULL))
		return -1;
	if (claim_str(h, "typ", c->typ, sizeof(c->typ)) == -1)
		return -1;
	return 0;
}

static int
claims_parse(struct json_object *p, struct jwt_claims *c)
{
	if (claim_str(p, "scope", c->scope, sizeof(c->scope)) == -1 ||
	    claim_str(p, "sub", c->sub, sizeof(c->sub)) == -1 ||
	    claim_str(p, "aud", c->aud, sizeof(c->aud)) == -1 ||
	    claim_str(p, "jti", c->jti, sizeof(c->jti)) == -1 ||
	    claim_num(p, "iat", &c->iat) == -1 ||
	    claim_num(p, "exp", &c->exp) != 1)
		return -1;
	c->has_lxm = json_object_object_get_ex(p, "lxm", NULL);
	c->has_cnf = json_object_object_get_ex(p, "cnf", NULL);
	return 0;
}

int
jwt_hs256_verify(const uint8_t key[JWT_KEYLEN], const char *tok,
    size_t len, struct jwt_claims *c)
{
	struct json_object	*h = NULL, *p = NULL;
	const char		*d1, *d2;
	uint8_t			 mac[crypto_auth_hmacsha256_BYTES + 1];
	int			 rc = -1;

	memset(c, 0, sizeof(*c));
	if (len == 0 || len > JWT_MAX || memchr(tok, '\0', len) != NULL)
		return -1;
	if ((d1 = memchr(tok, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (d1 + 1 - tok))) == NULL ||
	    memchr(d2 + 1, '.', len - (d2 + 1 - tok)) != NULL)
		return -1;
	/* The MAC first: nothing else of an unsigned token is read. */
	if (memchr(d2 + 1, '=', len - (d2 + 1 - tok)) != NULL ||
	    base64url_decode(d2 + 1, len - (d2 + 1 - tok), mac,
	    sizeof(mac)) != crypto_auth_hmacsha256_BYTES ||
	    crypto_auth_hmacsha256_verify(mac, (const uint8_t *)tok,
	    d2 - tok, key) != 0)
		return -1;
	if ((h = part_json(tok, d1 - tok)) == NULL ||
	    header_ok(h, c) == -1 ||
	    (p = part_json(d1 + 1, d2 - (d1 + 1))) == NULL ||
	    claims_parse(p, c) == -1)
		goto done;
	rc = 0;
 done:
	json_object_put(h);
	json_object_put(p);
	if (rc == -1)
		memset(c, 0, sizeof(*c));
	return rc;
}

int
jwt_expired(const struct jwt_claims *c, time_t now)
{
	return c->exp <= (int64_t)now;
}
