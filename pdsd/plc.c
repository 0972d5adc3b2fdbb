/*
 * The PLC directory: its URLs, the JSON form of a signed operation,
 * and submitting one (over fetch.c, off the event loop).
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "cbor.h"
#include "dm.h"
#include "dmjson.h"
#include "log.h"
#include "pdsd.h"

struct plc_submit {
	plc_submit_cb		 cb;
	void			*arg;
};

int
plc_configured(void)
{
	return fe->cfg.plc[0] != '\0';
}

/* The directory's URL for a DID, with any trailing slash dropped. */
int
plc_url(const char *did, const char *suffix, char *buf, size_t len)
{
	size_t	 n = strlen(fe->cfg.plc);

	while (n > 0 && fe->cfg.plc[n - 1] == '/')
		n--;
	if (n == 0)
		return -1;
	return snprintf(buf, len, "%.*s/%s%s", (int)n, fe->cfg.plc, did,
	    suffix) >= (int)len ? -1 : 0;
}

/* The JSON the directory takes: the signed operation, field for field. */
char *
plc_op_json(const uint8_t *op, size_t len)
{
	struct dm	*m;
	char		*s;

	if (dm_cbor_decode(op, len, &m, NULL) == -1)
		return NULL;
	s = dmjson_encode_str(m, NULL);
	dm_free(m);
	return s;
}

/* The directory's reason, from its {"message": ...}, bounded. */
void
plc_reason(const char *body, size_t len, char *buf, size_t buflen)
{
	struct json_object	*o, *msg;

	buf[0] = '\0';
	if ((o = json_tokener_parse(body)) != NULL &&
	    json_object_object_get_ex(o, "message", &msg) &&
	    json_object_is_type(msg, json_type_string))
		snprintf(buf, buflen, "%.200s", json_object_get_string(msg));
	json_object_put(o);
	if (buf[0] == '\0')
		snprintf(buf, buflen, "%.*s", len > 200 ? 200 : (int)len,
		    body);
}

static void
plc_submitted(void *arg, int status, const char *body, size_t len,
    const char *err)
{
	struct plc_submit	*s = arg;
	char			 why[512], reason[256];

	if (err != NULL)
		snprintf(why, sizeof(why), "PLC directory unreachable: %s",
		    err);
	else if (status < 200 || status > 299) {
		plc_reason(body, len, reason, sizeof(reason));
		snprintf(why, sizeof(why), "PLC directory refused the "
		    "operation (%d): %s", status, reason);
	}
	s->cb(s->arg, err == NULL && status >= 200 && status <= 299 ?
	    NULL : why);
	free(s);
}

/*
 * POST a signed operation (DAG-CBOR) to the configured directory; the
 * callback gets NULL once the directory took it, else the reason.
 */
int
plc_submit(const char *did, const uint8_t *op, size_t len,
    plc_submit_cb cb, void *arg)
{
	struct plc_submit	*s;
	char			 url[PDSD_URL_MAX + 64], *json;
	int			 rv;

	if (plc_url(did, "", url, sizeof(url)) == -1 ||
	    (json = plc_op_json(op, len)) == NULL)
		return -1;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		free(json);
		return -1;
	}
	s->cb = cb;
	s->arg = arg;
	rv = fetch_buffered(url, json, PLC_ANSWER_MAX, 0, plc_submitted, s);
	free(json);
	if (rv == -1)
		free(s);
	return rv;
}
