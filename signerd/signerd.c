/*
 * signerd: holds the PDS rotation key and every account's repo key, and
 * signs on request.  Started by pdsd with its parent channel on fd 3 and
 * the frontend's on fd 4; never opens a network socket.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "cid.h"
#include "crypto.h"
#include "imsgev.h"
#include "log.h"
#include "pds_imsg.h"
#include "privdrop.h"
#include "signerd.h"

#define PARENT_FD	3
#define FRONTEND_FD	4

static struct imsgev	 iev_parent, iev_frontend;
static struct key	 rotation;

__dead static void	 usage(void);
static void		 signerd_sig(int, short, void *);
static void		 dispatch_parent(int, short, void *);
static void		 dispatch_frontend(int, short, void *);
__dead static void	 signerd_shutdown(int);

__dead static void
usage(void)
{
	fprintf(stderr, "usage: signerd [-dv] -K keydir [-u user]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct event	 ev_sigint, ev_sigterm, ev_sighup;
	const char	*keydir = NULL, *user = NULL;
	int		 ch, debug = 0, verbose = 0;

	while ((ch = getopt(argc, argv, "dK:u:v")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'K':
			keydir = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || keydir == NULL)
		usage();
	log_init(debug, verbose, LOG_DAEMON);
	log_procinit("signerd");
	if (fcntl(PARENT_FD, F_GETFD) == -1 || fcntl(FRONTEND_FD,
	    F_GETFD) == -1)
		fatalx("must be started by pdsd");
	if (sodium_init() == -1 || crypto_init() == -1)
		fatalx("crypto init failed");
	cid_init();	/* OpenSSL reads its configuration: before the sandbox */
	if (user != NULL && geteuid() != 0)
		fatalx("need root privileges to become %s", user);

	if (keystore_open(keydir, user) == -1)
		fatalx("cannot use key directory %s", keydir);
	/* Keys are read and made as the signer user, through the dir fd. */
	if (user != NULL)
		privdrop(keydir, user);
	if (keystore_load_or_create(SIGNERD_ROTATION_KEY, &rotation) == -1)
		fatalx("cannot load the rotation key");
	keystore_load_all();
	state_load_all();
	journal_init();
	sign_init(&rotation);

	setproctitle("signer");
	event_init();	/* its epoll set and getenv checks, before seccomp */
	sandbox_signerd(user != NULL ? "/" : keydir);

	signal_set(&ev_sigint, SIGINT, signerd_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, signerd_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, signerd_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sighup, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (imsgev_init(&iev_parent, PARENT_FD, 0, dispatch_parent,
	    NULL) == -1 || imsgev_init(&iev_frontend, FRONTEND_FD, 0,
	    dispatch_frontend, NULL) == -1)
		fatal("imsgev_init");
	imsgbuf_set_maxsize(&iev_parent.ibuf, PDS_IMSG_MAXSIZE);
	imsgbuf_set_maxsize(&iev_frontend.ibuf, PDS_IMSG_MAXSIZE);

	imsgev_compose(&iev_parent, IMSG_SIGNER_READY, 0, 0, -1,
	    rotation.didkey, strlen(rotation.didkey) + 1);
	log_debug("ready, rotation key %s", rotation.didkey);

	event_dispatch();
	signerd_shutdown(0);
}

static void
signerd_sig(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		signerd_shutdown(0);
	default:
		/* SIGHUP: the parent reloads; nothing of ours changes. */
		break;
	}
}

__dead static void
signerd_shutdown(int failed)
{
	key_free(&rotation);
	state_free_all();
	keystore_free_all();
	log_debug("exiting");
	exit(failed);
}

static void
dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 v;

	if (imsgev_handle_io(iev, event) == -1)
		signerd_shutdown(0);	/* the parent went away */
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from parent");
		if (n == 0)
			break;
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_LOG_VERBOSE:
			if (imsg_get_data(&imsg, &v, sizeof(v)) == -1)
				fatalx("bad IMSG_CTL_LOG_VERBOSE");
			log_setverbose(v);
			break;
		default:
			fatalx("unexpected imsg %u from parent",
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
}

void
signerd_reply(uint32_t id, const void *data, size_t len)
{
	if (imsgev_compose(&iev_frontend, IMSG_SIGN_RESULT, id, 0, -1, data,
	    len) == -1)
		fatal("imsgev_compose");
}

void
signerd_refuse(uint32_t id, const char *reason)
{
	char	 buf[SIGNER_ERR_MAX + 1];

	log_debug("request %u refused: %s", id, reason);
	strlcpy(buf, reason, sizeof(buf));
	if (imsgev_compose(&iev_frontend, IMSG_SIGN_ERROR, id, 0, -1, buf,
	    strlen(buf) + 1) == -1)
		fatal("imsgev_compose");
}

/*
 * The frontend faces the network: everything it sends is checked, and
 * a request we cannot honour gets IMSG_SIGN_ERROR, never a signature.
 * A broken stream means a broken (or hostile) frontend: we stop, and the
 * parent stops the rest.
 */
static void
dispatch_frontend(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_handle_io(iev, event) == -1)
		signerd_shutdown(1);
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1) {
			log_warn("imsg_get from frontend");
			signerd_shutdown(1);
		}
		if (n == 0)
			break;
		sign_dispatch(imsg_get_type(&imsg), imsg_get_id(&imsg),
		    imsg.data, imsg_get_len(&imsg));
		imsg_free(&imsg);
	}
	/* Every commit read in this turn shares one sync. */
	journal_flush();
}
