/*
 * The configuration in memory: defaults, listen addresses as the parent
 * will bind them, the printer, -D macros.  The grammar itself is tested
 * by tests/config/run.sh through pdsd -nv.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "pdsd.h"

static const char defaults_text[] =
    "hostname \"localhost\"\n"
    "listen on 127.0.0.1 port 2583\n"
    "data directory \"./var\"\n"
    "key directory \"./var/keys\"\n"
    "control socket \"./var/pdsd.sock\"\n"
    "user none\n"
    "signer user none\n"
    "handle domains { \".test\" }\n"
    "registration open\n"
    "plc directory none\n";

static char *
printed(const struct pdsd_conf *c)
{
	FILE	*fp;
	char	*buf = NULL;
	size_t	 len;

	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	print_config(fp, c);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

/* Write text to a temporary file and parse it. */
static struct pdsd_conf *
parse_text(const char *text)
{
	struct pdsd_conf	*c;
	char			 path[] = "/tmp/test_config.XXXXXX";
	int			 fd;

	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	c = parse_config(path);
	unlink(path);
	return c;
}

static void
test_defaults(void **state)
{
	struct pdsd_conf	*c;
	struct listen_addr	*la;
	struct sockaddr_in	*sin;
	char			*text;

	c = parse_config(NULL);
	assert_non_null(c);
	assert_string_equal(c->hostname, "localhost");
	assert_string_equal(c->datadir, PDSD_DEFAULT_DIR);
	assert_string_equal(c->keydir, PDSD_DEFAULT_KEYDIR);
	assert_string_equal(c->ctlsock, PDSD_DEFAULT_SOCK);
	assert_string_equal(c->user, "");
	assert_string_equal(c->signer_user, "");
	assert_string_equal(c->plc, "");
	assert_int_equal(c->registration, REG_OPEN);
	assert_int_equal(c->ctlfd, -1);
	assert_true(TAILQ_EMPTY(&c->relays));
	assert_string_equal(TAILQ_FIRST(&c->domains)->str, ".test");
	assert_null(TAILQ_NEXT(TAILQ_FIRST(&c->domains), entry));

	la = TAILQ_FIRST(&c->listens);
	assert_non_null(la);
	assert_null(TAILQ_NEXT(la, entry));
	assert_int_equal(la->fd, -1);
	assert_int_equal(la->port, PDSD_DEFAULT_PORT);
	assert_string_equal(la->host, "127.0.0.1");
	assert_int_equal(la->sslen, sizeof(struct sockaddr_in));
	sin = (struct sockaddr_in *)&la->ss;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), PDSD_DEFAULT_PORT);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);

	text = printed(c);
	assert_string_equal(text, defaults_text);
	free(text);
	config_free(c);
}

/* An empty file and no file give the same configuration. */
static void
test_empty_file(void **state)
{
	struct pdsd_conf	*c;
	char			*text;

	c = parse_text("# nothing\n");
	assert_non_null(c);
	text = printed(c);
	assert_string_equal(text, defaults_text);
	free(text);
	config_free(c);
}

static void
test_listen(void **state)
{
	struct pdsd_conf	*c;
	struct listen_addr	*la;
	struct sockaddr_in6	*sin6;
	const char		*errstr = NULL;

	c = config_new();
	assert_non_null(c);
	assert_int_equal(config_add_listen(c, "::1", 8080, &errstr), 0);
	la = TAILQ_FIRST(&c->listens);
	assert_int_equal(la->sslen, sizeof(struct sockaddr_in6));
	sin6 = (struct sockaddr_in6 *)&la->ss;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 8080);
	assert_memory_equal(&sin6->sin6_addr, &in6addr_loopback,
	    sizeof(in6addr_loopback));
	assert_string_equal(la->host, "::1");

	/* The same address spelt differently is still a duplicate. */
	assert_int_equal(config_add_listen(c, "0:0::1", 8080, &errstr), -1);
	assert_string_equal(errstr, "duplicate listen address");
	assert_int_equal(config_add_listen(c, "::1", 8081, &errstr), 0);
	assert_int_equal(config_add_listen(c, "localhost", 80, &errstr), -1);
	assert_string_equal(errstr, "numeric address required");
	assert_int_equal(config_add_listen(c, "127.0.0.1 ", 80, &errstr), -1);
	assert_int_equal(config_add_listen(c, "127.0.0.1", 0, &errstr), -1);

	/* One listen statement replaces the default address. */
	config_defaults(c);
	la = TAILQ_FIRST(&c->listens);
	assert_string_equal(la->host, "::1");
	assert_string_equal(TAILQ_NEXT(la, entry)->host, "::1");
	assert_null(TAILQ_NEXT(TAILQ_NEXT(la, entry), entry));
	config_free(c);
}

static void
test_registration_name(void **state)
{
	assert_string_equal(registration_name(REG_OPEN), "open");
	assert_string_equal(registration_name(REG_INVITE), "invite");
	assert_string_equal(registration_name(REG_CLOSED), "closed");
}

/* The printer quotes so that the lexer reads the same bytes back. */
static void
test_quoting(void **state)
{
	struct pdsd_conf	*c, *again;
	char			*text, *text2;

	c = config_new();
	assert_non_null(c);
	strlcpy(c->datadir, "a \"b\" \\c\\", sizeof(c->datadir));
	config_defaults(c);
	text = printed(c);
	assert_non_null(strstr(text,
	    "data directory \"a \\\"b\\\" \\\\c\\\\\"\n"));
	again = parse_text(text);
	assert_non_null(again);
	assert_string_equal(again->datadir, c->datadir);
	text2 = printed(again);
	assert_string_equal(text, text2);
	free(text);
	free(text2);
	config_free(c);
	config_free(again);
}

static void
test_cmdline_symset(void **state)
{
	struct pdsd_conf	*c;
	char			 good[] = "tcfg_host=cmd.example.com";
	char			 noeq[] = "tcfg_noeq";
	char			 badname[] = "1x=y";
	char			 dash[] = "a-b=c";

	assert_int_equal(cmdline_symset(noeq), -1);
	assert_int_equal(cmdline_symset(badname), -1);
	assert_int_equal(cmdline_symset(dash), -1);
	assert_int_equal(cmdline_symset(good), 0);
	/* The file's own definition does not override -D. */
	c = parse_text("tcfg_host = \"file.example.com\"\n"
	    "hostname $tcfg_host\n");
	assert_non_null(c);
	assert_string_equal(c->hostname, "cmd.example.com");
	config_free(c);
	/* And it survives for the next parse (a reload). */
	c = parse_text("hostname $tcfg_host\n");
	assert_non_null(c);
	assert_string_equal(c->hostname, "cmd.example.com");
	config_free(c);
}

/* A file's macros do not leak into the next parse. */
static void
test_macros_forgotten(void **state)
{
	struct pdsd_conf	*c;

	c = parse_text("tcfg_m = \"a.example\"\nhostname $tcfg_m\n");
	assert_non_null(c);
	config_free(c);
	assert_null(parse_text("hostname $tcfg_m\n"));
}

static void
test_errors(void **state)
{
	assert_null(parse_config("/nonexistent/pdsd.conf"));
	assert_null(parse_text("hostname \"a.example\"\nhostname \"b\"\n"));
	assert_null(parse_text("listen on 127.0.0.1 port 70000\n"));
	assert_null(parse_text("handle domains { }\n"));
	/* A good statement after a bad one does not rescue the file. */
	assert_null(parse_text("bogus\nhostname \"a.example\"\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_registration_name),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_cmdline_symset),
		cmocka_unit_test(test_macros_forgotten),
		cmocka_unit_test(test_errors),
	};

	/* Parse errors on stderr, not syslog. */
	log_init(1, 0, LOG_DAEMON);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
