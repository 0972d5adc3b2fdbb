/*
 * The configuration in memory: creation, built-in defaults, freeing and
 * the canonical printer behind "pdsd -nv" (and the config regress tests).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pdsd.h"

static int	same_address(const struct listen_addr *,
		    const struct listen_addr *);
static void	print_quoted(FILE *, const char *);
static void	print_user(FILE *, const char *, const char *);

struct pdsd_conf *
config_new(void)
{
	struct pdsd_conf	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	TAILQ_INIT(&c->listens);
	TAILQ_INIT(&c->domains);
	TAILQ_INIT(&c->relays);
	c->registration = REG_OPEN;
	c->blob_max_size = PDSD_BLOB_MAX_DEFAULT;
	c->blob_expiry = PDSD_BLOB_EXPIRY_DEFAULT;
	c->fh_retention = PDSD_RETENTION_DEFAULT;
	c->ctlfd = -1;
	return c;
}

/*
 * Fill in whatever the configuration left unset.  Lists get their default
 * only when empty: one listen statement replaces the default address.
 */
void
config_defaults(struct pdsd_conf *c)
{
	const char	*errstr;

	if (c->hostname[0] == '\0')
		strlcpy(c->hostname, "localhost", sizeof(c->hostname));
	if (c->datadir[0] == '\0')
		strlcpy(c->datadir, PDSD_DEFAULT_DIR, sizeof(c->datadir));
	if (c->keydir[0] == '\0')
		strlcpy(c->keydir, PDSD_DEFAULT_KEYDIR, sizeof(c->keydir));
	if (c->ctlsock[0] == '\0')
		strlcpy(c->ctlsock, PDSD_DEFAULT_SOCK, sizeof(c->ctlsock));
	if (TAILQ_EMPTY(&c->listens) && config_add_listen(c, "127.0.0.1",
	    PDSD_DEFAULT_PORT, &errstr) == -1)
		fatalx("default listen address: %s", errstr);
	if (TAILQ_EMPTY(&c->domains) && config_add_str(&c->domains,
	    ".test") == -1)
		fatal("default handle domain");
}

/* Sockets are not closed here: they belong to whoever bound them. */
void
config_free(struct pdsd_conf *c)
{
	struct listen_addr	*la;
	struct conf_str		*cs;

	if (c == NULL)
		return;
	while ((la = TAILQ_FIRST(&c->listens)) != NULL) {
		TAILQ_REMOVE(&c->listens, la, entry);
		free(la);
	}
	while ((cs = TAILQ_FIRST(&c->domains)) != NULL) {
		TAILQ_REMOVE(&c->domains, cs, entry);
		free(cs);
	}
	while ((cs = TAILQ_FIRST(&c->relays)) != NULL) {
		TAILQ_REMOVE(&c->relays, cs, entry);
		free(cs);
	}
	explicit_bzero(c->admin_password, sizeof(c->admin_password));
	free(c);
}

const char *
registration_name(enum registration r)
{
	switch (r) {
	case REG_OPEN:
		return "open";
	case REG_INVITE:
		return "invite";
	case REG_CLOSED:
		return "closed";
	}
	return "unknown";
}

static int
same_address(const struct listen_addr *a, const struct listen_addr *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss.ss_family != b->ss.ss_family || a->port != b->port)
		return 0;
	if (a->ss.ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)&a->ss;
		b4 = (const struct sockaddr_in *)&b->ss;
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	a6 = (const struct sockaddr_in6 *)&a->ss;
	b6 = (const struct sockaddr_in6 *)&b->ss;
	return memcmp(&a6->sin6_addr, &b6->sin6_addr,
	    sizeof(a6->sin6_addr)) == 0 &&
	    a6->sin6_scope_id == b6->sin6_scope_id;
}

/*
 * Add a listen address.  Only numeric addresses: a name would make the
 * bound sockets depend on the resolver at start.  host is kept in its
 * numeric canonical form ("127.1" becomes "127.0.0.1").
 */
int
config_add_listen(struct pdsd_conf *c, const char *host, in_port_t port,
    const char **errstr)
{
	struct addrinfo		 hints, *res;
	struct listen_addr	*la, *o;

	if (strcspn(host, " \t\r\n") != strlen(host) || port == 0) {
		*errstr = port == 0 ? "bad port" : "numeric address required";
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
		*errstr = "numeric address required";
		return -1;
	}
	if ((res->ai_family != AF_INET && res->ai_family != AF_INET6) ||
	    res->ai_addrlen > sizeof(la->ss)) {
		freeaddrinfo(res);
		*errstr = "unsupported address family";
		return -1;
	}
	if ((la = calloc(1, sizeof(*la))) == NULL) {
		freeaddrinfo(res);
		*errstr = "out of memory";
		return -1;
	}
	memcpy(&la->ss, res->ai_addr, res->ai_addrlen);
	la->sslen = res->ai_addrlen;
	freeaddrinfo(res);
	la->port = port;
	la->fd = -1;
	if (la->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&la->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&la->ss)->sin6_port = htons(port);
	if (getnameinfo((struct sockaddr *)&la->ss, la->sslen, la->host,
	    sizeof(la->host), NULL, 0, NI_NUMERICHOST) != 0) {
		free(la);
		*errstr = "numeric address required";
		return -1;
	}
	TAILQ_FOREACH(o, &c->listens, entry) {
		if (same_address(o, la)) {
			free(la);
			*errstr = "duplicate listen address";
			return -1;
		}
	}
	TAILQ_INSERT_TAIL(&c->listens, la, entry);
	return 0;
}

/* Append a string; -1 with errno ENAMETOOLONG or ENOMEM. */
int
config_add_str(struct conf_str_list *l, const char *s)
{
	struct conf_str	*cs;

	if (strlen(s) >= sizeof(cs->str)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return -1;
	strlcpy(cs->str, s, sizeof(cs->str));
	TAILQ_INSERT_TAIL(l, cs, entry);
	return 0;
}

/* Quote so that the lexer reads back exactly s. */
static void
print_quoted(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
print_user(FILE *fp, const char *kw, const char *user)
{
	fprintf(fp, "%s ", kw);
	if (user[0] == '\0')
		fputs("none", fp);
	else
		print_quoted(fp, user);
	fputc('\n', fp);
}

/*
 * The canonical form: one statement per line in a fixed order, every
 * setting spelled out.  Parsing this output prints it again unchanged.
 */
void
print_config(FILE *fp, const struct pdsd_conf *c)
{
	struct listen_addr	*la;
	struct conf_str		*cs;

	fputs("hostname ", fp);
	print_quoted(fp, c->hostname);
	fputc('\n', fp);
	TAILQ_FOREACH(la, &c->listens, entry)
		fprintf(fp, "listen on %s port %u\n", la->host, la->port);
	fputs("data directory ", fp);
	print_quoted(fp, c->datadir);
	fputs("\nkey directory ", fp);
	print_quoted(fp, c->keydir);
	fputs("\ncontrol socket ", fp);
	print_quoted(fp, c->ctlsock);
	fputc('\n', fp);
	print_user(fp, "user", c->user);
	print_user(fp, "signer user", c->signer_user);
	fputs("handle domains {", fp);
	TAILQ_FOREACH(cs, &c->domains, entry) {
		fputc(' ', fp);
		print_quoted(fp, cs->str);
	}
	fputs(" }\n", fp);
	fprintf(fp, "registration %s\n", registration_name(c->registration));
	if (c->admin_password[0] != '\0') {
		fputs("admin password ", fp);
		print_quoted(fp, c->admin_password);
		fputc('\n', fp);
	}
	fputs("plc directory ", fp);
	if (c->plc[0] == '\0')
		fputs("none", fp);
	else
		print_quoted(fp, c->plc);
	fputc('\n', fp);
	if (c->appview[0] != '\0') {
		fputs("appview ", fp);
		print_quoted(fp, c->appview);
		fputs(" did ", fp);
		print_quoted(fp, c->appview_did);
		fputc('\n', fp);
	}
	if (c->ratelimit_off)
		fputs("rate limits off\n", fp);
	if (c->blob_max_size != PDSD_BLOB_MAX_DEFAULT)
		fprintf(fp, "blob max size %lld\n", c->blob_max_size);
	if (c->blob_expiry != PDSD_BLOB_EXPIRY_DEFAULT)
		fprintf(fp, "blob unreferenced expiry %lld\n", c->blob_expiry);
	if (c->blob_quota != 0)
		fprintf(fp, "blob quota %lld\n", c->blob_quota);
	if (c->fh_retention != PDSD_RETENTION_DEFAULT)
		fprintf(fp, "firehose retention %d hour%s\n", c->fh_retention,
		    c->fh_retention == 1 ? "" : "s");
	TAILQ_FOREACH(cs, &c->relays, entry) {
		fputs("relay ", fp);
		print_quoted(fp, cs->str);
		fputc('\n', fp);
	}
}
