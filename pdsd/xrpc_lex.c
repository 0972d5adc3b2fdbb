/*
 * The one Lexicon step of every XRPC call: the query parameters of a
 * method whose schema is known are checked before its handler runs
 * (before authentication, as the reference orders it), and a JSON body
 * is checked once it has been read (after authentication).  Handlers
 * then only check what the schemas cannot say.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "dm.h"
#include "dmjson.h"
#include "http.h"
#include "lexicon.h"
#include "xrpc.h"

/* Pairs in a query string; the URL parser bounds its length. */
static size_t
query_pairs(const char *q)
{
	size_t	n = 1;

	for (; *q != '\0'; q++)
		if (*q == '&')
			n++;
	return n;
}

int
xrpc_lex_params(const char *nsid, const char *query, char *err,
    size_t errlen)
{
	struct lexicon_param	*pv;
	const char		*s, *amp, *eq;
	char			*buf, *o;
	size_t			 n = 0, qlen, klen;
	ssize_t			 kl, vl;
	int			 rv;

	if (!lexicon_has_method(nsid))
		return 1;
	if (query == NULL)
		query = "";
	qlen = strlen(query);
	if ((pv = calloc(query_pairs(query), sizeof(*pv))) == NULL ||
	    (buf = malloc(qlen + 2 * query_pairs(query))) == NULL) {
		free(pv);
		snprintf(err, errlen, "Internal Server Error");
		return -1;
	}
	o = buf;
	for (s = query; *s != '\0'; s = *amp == '&' ? amp + 1 : amp) {
		amp = s + strcspn(s, "&");
		if (amp == s)
			continue;
		eq = memchr(s, '=', (size_t)(amp - s));
		klen = eq != NULL ? (size_t)(eq - s) : (size_t)(amp - s);
		if ((kl = http_pct_decode(s, klen, o, klen + 1, 1)) == -1)
			continue;
		pv[n].name = o;
		pv[n].namelen = (size_t)kl;
		o += kl + 1;
		if (eq == NULL)
			vl = 0, *o = '\0';
		else if ((vl = http_pct_decode(eq + 1, (size_t)(amp - eq - 1),
		    o, (size_t)(amp - eq), 1)) == -1) {
			/* Only a parameter of the method is worth a word. */
			if (lexicon_param_known(nsid, pv[n].name,
			    pv[n].namelen)) {
				snprintf(err, errlen, "Invalid %s params: "
				    "malformed or too long \"%.64s\"", nsid,
				    pv[n].name);
				rv = -1;
				goto done;
			}
			continue;
		}
		pv[n].value = o;
		pv[n].len = (size_t)vl;
		o += vl + 1;
		n++;
	}
	rv = lexicon_validate_params(nsid, pv, n, err, errlen);
 done:
	free(buf);
	free(pv);
	return rv;
}

int
xrpc_lex_input(const char *nsid, struct json_object *o, char *err,
    size_t errlen)
{
	struct dm	*body;
	const char	*why;
	int		 rv;

	if (!lexicon_has_method(nsid))
		return 1;
	/* What is not data model JSON (floats, say) is the handler's. */
	if (dmjson_from_object(o, &body, &why) == -1)
		return 1;
	rv = lexicon_validate_input(nsid, body, err, errlen);
	dm_free(body);
	return rv;
}
