/*
 * pdsctl: talk to pdsd over its control socket, or work on files
 * offline.  A command table in the manner of smtpctl.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsgev.h"
#include "pds_imsg.h"
#include "pdsctl.h"

#define PDSD_CONF_FILE		"/etc/pdsd.conf"
#define PDSD_DEFAULT_SOCK	"./var/pdsd.sock"
#define PDSD_SYSTEM_SOCK	"/var/run/pdsd.sock"

static const struct cmd cmds[] = {
	{ "account",	"create | list | show | disable | enable | password |"
	    " delete-token ...", 1, 8, 1, cmd_account },
	{ "blob",	"gc [-j] [-e seconds]", 1, 4, 0, cmd_blob },
	{ "cbor2json",	"",		0, 0, 0, cmd_cbor2json },
	{ "crawl",	"",		0, 0, 1, cmd_crawl },
	{ "import",	"[--did did | --handle handle] file.car",
	    1, 3, 0, cmd_import },
	{ "index",	"rebuild",	1, 1, 1, cmd_index },
	{ "inspect",	"[--verify] [--key did:key | --did-doc file] file.car",
	    1, 4, 0, cmd_inspect },
	{ "invite",	"create [-j] [-n uses] | list [-j]", 1, 4, 1,
	    cmd_invite },
	{ "json2cbor",	"",		0, 0, 0, cmd_json2cbor },
	{ "log",	"verbose | brief", 1, 1, 1, cmd_log },
	{ "pack",	"dir out.car [-k keyfile]", 2, 4, 0, cmd_pack },
	{ "relay",	"list",		1, 1, 1, cmd_relay },
	{ "reload",	"",		0, 0, 1, cmd_reload },
	{ "status",	"",		0, 0, 1, cmd_status },
	{ "unpack",	"file.car dir",	2, 2, 0, cmd_unpack },
};

static const char	*sockpath;
struct imsgbuf		 ibuf;

__dead static void	 usage(void);

__dead static void
usage(void)
{
	size_t	 i;

	fprintf(stderr, "usage: pdsctl [-s socket] command [argument ...]\n"
	    "commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "\t%s%s%s\n", cmds[i].name,
		    cmds[i].args[0] != '\0' ? " " : "", cmds[i].args);
	exit(1);
}

/* Connect to the control socket, or say plainly why not. */
int
ctl_connect(void)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockpath, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket path too long: %s", sockpath);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		errx(1, "cannot connect to %s: %s (is pdsd running?)",
		    sockpath, strerror(errno));
	if (imsgbuf_init(&ibuf, fd) == -1)
		err(1, "imsgbuf_init");
	imsgbuf_set_maxsize(&ibuf, 64 * 1024);
	return fd;
}

/* Read one message, blocking; dies on a dead or broken daemon. */
int
ctl_next(struct imsg *imsg)
{
	ssize_t	 n;

	for (;;) {
		if ((n = imsg_get(&ibuf, imsg)) == -1)
			errx(1, "bad message from pdsd");
		if (n > 0)
			return 0;
		switch (imsgbuf_read(&ibuf)) {
		case -1:
			err(1, "read from pdsd");
		case 0:
			errx(1, "pdsd closed the connection");
		}
	}
}

void
ctl_send(int type, const void *data, size_t len)
{
	ctl_send_fd(type, -1, data, len);
}

/* Sends with a file descriptor (or -1), which is closed once sent. */
void
ctl_send_fd(int type, int fd, const void *data, size_t len)
{
	if (imsg_compose(&ibuf, type, PDS_IMSG_VERSION, 0, fd, data,
	    len) == -1)
		err(1, "imsg_compose");
	if (imsgbuf_flush(&ibuf) == -1)
		err(1, "write to pdsd");
}

/* For requests answered by OK or FAIL: print any text, return 0 or 1. */
int
ctl_wait_ok(void)
{
	struct imsg	 imsg;
	char		 msg[512];
	int		 type;

	ctl_next(&imsg);
	type = imsg_get_type(&imsg);
	if (imsg_get_len(&imsg) == 0)
		msg[0] = '\0';
	else if (imsg_get_string(&imsg, msg, sizeof(msg)) == -1)
		errx(1, "bad answer from pdsd");
	imsg_free(&imsg);
	switch (type) {
	case IMSG_CTL_OK:
		if (msg[0] != '\0')
			printf("%s\n", msg);
		return 0;
	case IMSG_CTL_FAIL:
		fprintf(stderr, "pdsctl: %s\n", msg[0] != '\0' ? msg :
		    "request failed");
		return 1;
	default:
		errx(1, "unexpected answer %d from pdsd", type);
	}
}

int
main(int argc, char *argv[])
{
	const struct cmd	*c = NULL;
	size_t			 i;
	int			 ch;

	/* "+": stop at the command; its options (inspect's) are its own. */
	while ((ch = getopt(argc, argv, "+s:")) != -1) {
		switch (ch) {
		case 's':
			sockpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			c = &cmds[i];
	if (c == NULL) {
		fprintf(stderr, "pdsctl: unknown command: %s\n", argv[0]);
		usage();
	}
	if (argc - 1 < c->minargs || argc - 1 > c->maxargs) {
		fprintf(stderr, "usage: pdsctl %s %s\n", c->name, c->args);
		exit(1);
	}
	if (sockpath == NULL)
		sockpath = access(PDSD_CONF_FILE, F_OK) == 0 ?
		    PDSD_SYSTEM_SOCK : PDSD_DEFAULT_SOCK;
	if (c->online)
		ctl_connect();
	return c->fn(argc, argv);
}
