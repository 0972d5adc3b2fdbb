/*
 * plc.c and the parts of identity.c that do not need a daemon: the
 * directory's JSON form of a signed operation (the spec's worked
 * example), directory URLs, /.well-known/atproto-did answers, and the
 * HTTP client on a real event loop against a one-shot local server:
 * an answer, an answer over the size bound, a refused connection.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event.h>

#include "cbor.h"
#include "crypto.h"
#include "dm.h"
#include "encoding.h"
#include "pdsd.h"

/* did-method-plc's audit_log/valid/log_tombstone.json, first op. */
#define EX_SIG	"ZznbxHinpBI3NgEYWzXUXLA65s2U1ezJooreZlscHYQRfd4EMlijqhpikGMa" \
		"bs-81Tsy4Mt9Iscpmk7Uz13aAg"
#define EX_K1	"did:key:zQ3shmWf4f6ZwzNyjUDYw4oFQjgHWZoYZDjJYtz75YfYYrphB"
#define EX_K2	"did:key:zQ3shr2PwdoF6kbuYYymyZq6YbGWShiTXAkdMioCPdSdPL9NV"
#define EX_DID	"did:plc:6adr3q2labdllanslzhqkqd3"

static void
test_op_json(void **state)
{
	struct dm	*m, *rot, *aka;
	uint8_t		*op, h[SHA256_LEN];
	size_t		 len;
	char		*json, b32[BASE32_ENCLEN(SHA256_LEN) + 1];

	m = dm_map();
	rot = dm_array();
	dm_array_push(rot, dm_str(EX_K1));
	dm_array_push(rot, dm_str(EX_K2));
	aka = dm_array();
	dm_array_push(aka, dm_str("at://op0"));
	dm_map_set(m, "type", dm_str("plc_operation"));
	dm_map_set(m, "rotationKeys", rot);
	dm_map_set(m, "verificationMethods", dm_map());
	dm_map_set(m, "alsoKnownAs", aka);
	dm_map_set(m, "services", dm_map());
	dm_map_set(m, "prev", dm_null());
	dm_map_set(m, "sig", dm_str(EX_SIG));
	op = dm_cbor_encode_mem(m, &len);
	dm_free(m);
	assert_non_null(op);
	/* The bytes are the spec's: they hash to its DID. */
	sha256(op, len, h);
	base32_encode(h, sizeof(h), b32, sizeof(b32));
	assert_memory_equal(b32, &EX_DID[8], 24);

	json = plc_op_json(op, len);
	assert_non_null(json);
	assert_string_equal(json, "{\"sig\":\"" EX_SIG "\",\"prev\":null,"
	    "\"type\":\"plc_operation\",\"services\":{},"
	    "\"alsoKnownAs\":[\"at://op0\"],\"rotationKeys\":[\"" EX_K1
	    "\",\"" EX_K2 "\"],\"verificationMethods\":{}}");
	free(json);
	free(op);
	assert_null(plc_op_json((const uint8_t *)"\xff", 1));
}

static void
test_url(void **state)
{
	char	 u[128];

	strlcpy(fe->cfg.plc, "", sizeof(fe->cfg.plc));
	assert_false(plc_configured());
	assert_int_equal(plc_url(EX_DID, "", u, sizeof(u)), -1);
	strlcpy(fe->cfg.plc, "https://plc.directory//", sizeof(fe->cfg.plc));
	assert_true(plc_configured());
	assert_int_equal(plc_url(EX_DID, "/log", u, sizeof(u)), 0);
	assert_string_equal(u, "https://plc.directory/" EX_DID "/log");
	assert_int_equal(plc_url(EX_DID, "", u, 20), -1);
	fe->cfg.plc[0] = '\0';
}

static void
test_wellknown(void **state)
{
	char	 d[64];
	size_t	 i;
	static const char *const bad[] = {
		"", "\n\n", "not a did", "did:", "DID:plc:abc",
		"did:plc:has space", "<html>did:plc:abc</html>",
	};

	assert_int_equal(identity_wellknown_parse(EX_DID, strlen(EX_DID), d,
	    sizeof(d)), 0);
	assert_string_equal(d, EX_DID);
	assert_int_equal(identity_wellknown_parse("  " EX_DID " \r\nx\n",
	    strlen(EX_DID) + 8, d, sizeof(d)), 0);
	assert_string_equal(d, EX_DID);
	assert_int_equal(identity_wellknown_parse("did:web:example.com\n",
	    20, d, sizeof(d)), 0);
	assert_string_equal(d, "did:web:example.com");
	/* One byte short for the NUL. */
	assert_int_equal(identity_wellknown_parse(EX_DID, strlen(EX_DID), d,
	    strlen(EX_DID)), -1);
	/* A NUL inside the first line is not a DID. */
	assert_int_equal(identity_wellknown_parse("did:plc:a\0b", 11, d,
	    sizeof(d)), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(identity_wellknown_parse(bad[i],
		    strlen(bad[i]), d, sizeof(d)), -1);
}

/* A server that answers one connection with resp, in a child. */
static pid_t
serve_once(const char *resp, size_t len, in_port_t *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	char			 buf[4096];
	pid_t			 pid;
	int			 s, c;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_not_equal(s = socket(AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	if ((pid = fork()) == 0) {
		if ((c = accept(s, NULL, NULL)) != -1) {
			(void)read(c, buf, sizeof(buf));
			(void)write(c, resp, len);
			shutdown(c, SHUT_WR);
			while (read(c, buf, sizeof(buf)) > 0)
				;
		}
		_exit(0);
	}
	close(s);
	return pid;
}

struct got {
	int	 called;
	int	 status;
	char	 body[256];
	char	 err[512];
};

static void
got_cb(void *arg, int status, const char *body, size_t len, const char *err)
{
	struct got	*g = arg;

	g->called++;
	g->status = status;
	snprintf(g->body, sizeof(g->body), "%s", body);
	snprintf(g->err, sizeof(g->err), "%s", err != NULL ? err : "");
	event_base_loopexit(fe->base, NULL);
}

static void
fetch(const char *url, const char *post, size_t max, struct got *g)
{
	memset(g, 0, sizeof(*g));
	assert_int_equal(fetch_buffered(url, post, max, 0, got_cb, g), 0);
	/* Never from inside fetch_buffered: the caller's state is not ready. */
	assert_int_equal(g->called, 0);
	assert_int_equal(fetch_pending(), 1);
	event_base_dispatch(fe->base);
	assert_int_equal(g->called, 1);
	assert_int_equal(fetch_pending(), 0);
}

static void
test_fetch(void **state)
{
	static const char ok[] = "HTTP/1.1 201 Created\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nhello";
	char		 url[64], *big;
	struct got	 g;
	in_port_t	 port;
	pid_t		 pid;
	size_t		 n = 100000, h;

	fe->base = event_base_new();
	pid = serve_once(ok, sizeof(ok) - 1, &port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", port);
	fetch(url, "{}", 1024, &g);
	assert_int_equal(g.status, 201);
	assert_string_equal(g.body, "hello");
	assert_string_equal(g.err, "");
	waitpid(pid, NULL, 0);

	/* Longer than the bound: cut off, with a reason. */
	assert_non_null(big = malloc(n));
	h = (size_t)snprintf(big, n, "HTTP/1.1 200 OK\r\nContent-Length: "
	    "%zu\r\n\r\n", n - 64);
	memset(big + h, 'a', n - h);
	pid = serve_once(big, n - 64 + h, &port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	fetch(url, NULL, 1024, &g);
	assert_int_equal(g.status, 0);
	assert_non_null(strstr(g.err, "answer longer than 1024 bytes"));
	free(big);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);

	/* Nobody listening: status 0 and why. */
	pid = serve_once("", 0, &port);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	fetch(url, NULL, 1024, &g);
	assert_int_equal(g.status, 0);
	assert_true(g.err[0] != '\0');

	/* Only http and https. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(fetch_buffered("file:///etc/passwd", NULL, 1024, 0,
	    got_cb, &g), 0);
	event_base_dispatch(fe->base);
	assert_int_equal(g.called, 1);
	assert_int_equal(g.status, 0);
	fetch_shutdown();
	event_base_free(fe->base);
	fe->base = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_op_json),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_wellknown),
		cmocka_unit_test(test_fetch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
