/*
 * The frontend: pdsd re-executed with -T frontend.  It receives its
 * configuration and bound sockets from the parent, opens the database,
 * chroots into the data directory and drops to its user when one is
 * configured, then serves HTTP and the control socket.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/resource.h>

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
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "auth.h"
#include "blob.h"
#include "cid.h"
#include "firehose.h"
#include "imsgev.h"
#include "lexicon.h"
#include "log.h"
#include "pds_imsg.h"
#include "privdrop.h"
#include "pdsd.h"

static struct frontend	 frontend;
struct frontend		*fe = &frontend;

static struct imsgev	 iev_parent, iev_signer;

static void	frontend_sig(int, short, void *);
static void	frontend_dispatch_parent(int, short, void *);
static void	frontend_dispatch_signer(int, short, void *);
static void	frontend_configure(void);
static void	frontend_lag(int, short, void *);
static void	str_list_clear(struct conf_str_list *);
static void	str_list_add(struct conf_str_list *, struct imsg *);

/*
 * At -vv, a timer every LAG_PERIOD_MS logs when it ran more than
 * LAG_WARN_MS late: every request in flight waited that long.  The
 * thread's CPU time and sleeps over the period tell a long callback
 * (CPU), a blocking call (sleeps: a lock, a sync) and a busy machine
 * (neither) apart.
 */
#define LAG_PERIOD_MS	10
#define LAG_WARN_MS	5

static struct event	 ev_lag;

static long long
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

static void
frontend_lag(int fd, short event, void *arg)
{
	static struct timespec	 due, lastcpu;
	static long		 lastsleeps;
	struct timeval		 tv = { 0, LAG_PERIOD_MS * 1000 };
	struct timespec		 now, cpu;
	struct rusage		 ru;
	long long		 late;

	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	getrusage(RUSAGE_THREAD, &ru);
	if (due.tv_sec != 0 && (late = ms_between(&due, &now)) > LAG_WARN_MS)
		log_debug("loop held %lld ms: %lld ms on CPU, %ld sleeps",
		    late, ms_between(&lastcpu, &cpu),
		    ru.ru_nvcsw - lastsleeps);
	lastcpu = cpu;
	lastsleeps = ru.ru_nvcsw;
	due = now;
	due.tv_nsec += LAG_PERIOD_MS * 1000000L;
	if (due.tv_nsec >= 1000000000L) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000L;
	}
	evtimer_add(&ev_lag, &tv);
}

void
frontend_main(int debug, int verbose)
{
	struct event	 ev_sigint, ev_sigterm, ev_sighup;

	log_init(debug, verbose, LOG_DAEMON);
	log_procinit("frontend");
	setproctitle("frontend");
	if (fcntl(PDSD_PARENT_FD, F_GETFD) == -1 ||
	    fcntl(PDSD_PEER_FD, F_GETFD) == -1)
		fatalx("must be started by pdsd");

	TAILQ_INIT(&fe->domains);
	TAILQ_INIT(&fe->relays);
	TAILQ_INIT(&fe->listens);
	fe->ctlfd = -1;
	fe->base = event_init();

	signal_set(&ev_sigint, SIGINT, frontend_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, frontend_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, frontend_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sighup, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (imsgev_init(&iev_parent, PDSD_PARENT_FD, 1,
	    frontend_dispatch_parent, NULL) == -1 ||
	    imsgev_init(&iev_signer, PDSD_PEER_FD, 0,
	    frontend_dispatch_signer, NULL) == -1)
		fatal("imsgev_init");
	imsgbuf_set_maxsize(&iev_parent.ibuf, PDS_IMSG_MAXSIZE);
	imsgbuf_set_maxsize(&iev_signer.ibuf, PDS_IMSG_MAXSIZE);
	signer_init(&iev_signer);
	if (verbose >= 2) {
		evtimer_set(&ev_lag, frontend_lag, NULL);
		frontend_lag(-1, 0, NULL);
	}

	event_dispatch();
	control_cleanup();
	db_checkpointer_stop();
	db_close(fe->db);
	log_debug("exiting");
	exit(0);
}

void
frontend_to_parent(uint32_t type, uint32_t id, const void *data, size_t len)
{
	imsgev_compose(&iev_parent, type, id, 0, -1, data, len);
}

static void
frontend_sig(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		event_loopexit(NULL);
		break;
	default:
		/* SIGHUP is the parent's business. */
		break;
	}
}

static void
str_list_clear(struct conf_str_list *l)
{
	struct conf_str	*cs;

	while ((cs = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, cs, entry);
		free(cs);
	}
}

static void
str_list_add(struct conf_str_list *l, struct imsg *imsg)
{
	struct conf_str	*cs;

	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		fatal(NULL);
	if (imsg_get_string(imsg, cs->str, sizeof(cs->str)) == -1)
		fatalx("bad string in imsg %u", imsg_get_type(imsg));
	TAILQ_INSERT_TAIL(l, cs, entry);
}

static void
frontend_configure(void)
{
	char	 err[512], blobdir[PATH_MAX];

	if (fe->running) {
		log_info("configuration reloaded");
		return;
	}
	/* The CA roots for outbound HTTPS are read before any chroot. */
	if (fetch_init() == -1)
		fatalx("cannot start the outbound HTTP client");
	/* So are the system's name servers. */
	if (resolve_init(fe->base) == -1)
		fatalx("cannot start the DNS lookup threads");
	cid_init();	/* OpenSSL's configuration, for hashing uploads */
	if (fe->cfg.user[0] != '\0') {
		/* The data directory becomes our root: the db and blobs. */
		privdrop(fe->cfg.datadir, fe->cfg.user);
		strlcpy(fe->dbpath, "/" PDSD_DB_FILE, sizeof(fe->dbpath));
		strlcpy(blobdir, "/" BLOB_DIR, sizeof(blobdir));
	} else if (snprintf(fe->dbpath, sizeof(fe->dbpath), "%s/%s",
	    fe->cfg.datadir, PDSD_DB_FILE) >= (int)sizeof(fe->dbpath) ||
	    snprintf(blobdir, sizeof(blobdir), "%s/%s", fe->cfg.datadir,
	    BLOB_DIR) >= (int)sizeof(blobdir))
		fatalx("data directory path too long");
	if ((fe->db = db_open(fe->dbpath, err, sizeof(err))) == NULL ||
	    db_checkpointer_start(fe->db, fe->dbpath, err, sizeof(err)) == -1)
		fatalx("database: %s", err);
	if (blob_init(blobdir) == -1)
		fatalx("cannot set up the blob directory");
	blob_gc_start(fe->base);
	if (pwhash_init(fe->base) == -1)
		fatalx("cannot start the password hashing threads");
	if (xrpc_sync_init(fe->base) == -1)
		fatalx("cannot start the repository export threads");
	if (auth_init(fe->cfg.user[0] != '\0' ? "/" : fe->cfg.datadir) == -1)
		fatalx("cannot load or create the session key");
	if (control_listen(fe->ctlfd) == -1)
		fatalx("control socket");
	if (lexicon_load_builtin() == -1)
		fatalx("cannot load the built-in Lexicon schemas");
	if (firehose_init() == -1)
		fatalx("cannot start the firehose");
	if (xrpc_start() == -1)
		fatalx("cannot start the HTTP server");
	if (relay_start() == -1)
		fatalx("cannot start the relay requests");
	fe->running = 1;
	log_info("serving, database %s", fe->dbpath);
}

static void
frontend_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct imsg		 imsg;
	struct cfg_listen	 cl;
	struct listen_addr	*la;
	char			 msg[256];
	ssize_t			 n;

	if (imsgev_handle_io(iev, event) == -1) {
		/* The parent is gone: so are we. */
		event_loopexit(NULL);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from parent");
		if (n == 0)
			break;
		switch (imsg_get_type(&imsg)) {
		case IMSG_CFG_START:
			if (imsg_get_data(&imsg, &fe->cfg,
			    sizeof(fe->cfg)) == -1)
				fatalx("bad IMSG_CFG_START");
			fe->cfg.hostname[sizeof(fe->cfg.hostname) - 1] = '\0';
			fe->cfg.datadir[sizeof(fe->cfg.datadir) - 1] = '\0';
			fe->cfg.plc[sizeof(fe->cfg.plc) - 1] = '\0';
			fe->cfg.appview[sizeof(fe->cfg.appview) - 1] = '\0';
			fe->cfg.appview_did[sizeof(fe->cfg.appview_did) - 1] =
			    '\0';
			fe->cfg.user[sizeof(fe->cfg.user) - 1] = '\0';
			fe->cfg.resolver[sizeof(fe->cfg.resolver) - 1] = '\0';
			fe->cfg.resolver_http[sizeof(fe->cfg.resolver_http) -
			    1] = '\0';
			str_list_clear(&fe->domains);
			str_list_clear(&fe->relays);
			break;
		case IMSG_CFG_LISTEN:
			if (fe->running || imsg_get_data(&imsg, &cl,
			    sizeof(cl)) == -1)
				fatalx("bad IMSG_CFG_LISTEN");
			if ((la = calloc(1, sizeof(*la))) == NULL)
				fatal(NULL);
			cl.host[sizeof(cl.host) - 1] = '\0';
			strlcpy(la->host, cl.host, sizeof(la->host));
			la->port = cl.port;
			if ((la->fd = imsg_get_fd(&imsg)) == -1)
				fatalx("IMSG_CFG_LISTEN without a socket");
			TAILQ_INSERT_TAIL(&fe->listens, la, entry);
			break;
		case IMSG_CFG_CTLSOCK:
			if (fe->running || fe->ctlfd != -1 ||
			    (fe->ctlfd = imsg_get_fd(&imsg)) == -1)
				fatalx("bad IMSG_CFG_CTLSOCK");
			break;
		case IMSG_CFG_DOMAIN:
			str_list_add(&fe->domains, &imsg);
			break;
		case IMSG_CFG_RELAY:
			str_list_add(&fe->relays, &imsg);
			break;
		case IMSG_CFG_PIDS:
			if (imsg_get_data(&imsg, &fe->pids,
			    sizeof(fe->pids)) == -1)
				fatalx("bad IMSG_CFG_PIDS");
			break;
		case IMSG_CFG_DONE:
			frontend_configure();
			break;
		case IMSG_SIGNER_READY:
			if (imsg_get_string(&imsg, fe->rotation_key,
			    sizeof(fe->rotation_key)) == -1)
				fatalx("bad IMSG_SIGNER_READY");
			break;
		case IMSG_RELOAD_RESULT:
			if (imsg_get_string(&imsg, msg, sizeof(msg)) == -1)
				fatalx("bad IMSG_RELOAD_RESULT");
			control_reload_done(imsg_get_id(&imsg), msg);
			break;
		default:
			fatalx("unexpected imsg %u from parent",
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
}

static void
frontend_dispatch_signer(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_handle_io(iev, event) == -1) {
		log_warnx("lost connection to signerd");
		signer_lost();
		event_loopexit(NULL);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from signerd");
		if (n == 0)
			break;
		switch (imsg_get_type(&imsg)) {
		case IMSG_SIGN_RESULT:
		case IMSG_SIGN_ERROR:
		case IMSG_SIGN_FLOOR:
			signer_dispatch(&imsg);
			break;
		default:
			fatalx("unexpected imsg %u from signerd",
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
}
