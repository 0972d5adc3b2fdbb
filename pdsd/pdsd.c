/*
 * pdsd: the parent.  It reads the configuration, binds every socket,
 * starts the frontend (pdsd re-executed with -T frontend) and signerd,
 * passes them what they need, and supervises them: if one dies, all stop.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

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
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "imsgev.h"
#include "pds_imsg.h"
#include "pdsd.h"

enum child_id {
	CHILD_FRONTEND,
	CHILD_SIGNERD,
	CHILD_MAX,
};

struct child {
	const char	*name;
	pid_t		 pid;
	struct imsgev	 iev;
};

static struct child	 children[CHILD_MAX] = {
	[CHILD_FRONTEND] = { "frontend", -1, { .ibuf.fd = -1 } },
	[CHILD_SIGNERD] = { "signerd", -1, { .ibuf.fd = -1 } },
};
static struct pdsd_conf	*conf;
static const char	*conffile;
static char		 selfpath[PATH_MAX];
static int		 debug, verbose;
static int		 stopping;
static time_t		 started;
static char		 rotation_key[128];

__dead static void	 usage(void);
static struct pdsd_conf	*load_config(const char *);
static void		 parent_sig(int, short, void *);
static void		 parent_dispatch(int, short, void *);
static void		 parent_reload(void);
static void		 child_lost(struct child *);
static void		 log_child_status(struct child *, int);
static void		 parent_shutdown(int);
static void		 bind_sockets(struct pdsd_conf *);
static int		 bind_control(const char *, const char *);
static pid_t		 start_child(const char *, char **, int, int);
static void		 send_config(struct pdsd_conf *, int);
static void		 find_self(const char *);
static void		 make_dirs(struct pdsd_conf *);
static char		*signerd_path(const char *);
static int		 listens_equal(struct listen_list *,
			    struct listen_list *);

__dead static void
usage(void)
{
	fprintf(stderr, "usage: pdsd [-dnv] [-D macro=value] [-f file]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct event	 ev_sigint, ev_sigterm, ev_sighup, ev_sigchld;
	const char	*role = NULL;
	int		 ch, noaction = 0;
	int		 fe_sp[2], sg_sp[2], peer_sp[2];
	char		*fe_argv[8], *sg_argv[12], vflag[8];
	int		 i, n;

	log_init(1, 0, LOG_DAEMON);
	while ((ch = getopt(argc, argv, "D:df:nT:v")) != -1) {
		switch (ch) {
		case 'D':
			if (cmdline_symset(optarg) < 0)
				errx(1, "could not parse macro definition %s",
				    optarg);
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'T':
			role = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc > 0)
		usage();

	if (role != NULL) {
		if (strcmp(role, "frontend") == 0)
			frontend_main(debug, verbose);
		errx(1, "unknown role %s", role);
	}

	if (conffile == NULL && access(PDSD_CONF_FILE, F_OK) == 0)
		conffile = PDSD_CONF_FILE;
	if ((conf = load_config(conffile)) == NULL)
		exit(1);
	if (noaction) {
		if (verbose)
			print_config(stdout, conf);
		else
			fprintf(stderr, "configuration OK\n");
		config_free(conf);
		exit(0);
	}
	if ((conf->user[0] != '\0' || conf->signer_user[0] != '\0') &&
	    geteuid() != 0)
		errx(1, "need root privileges to run as user %s",
		    conf->user[0] != '\0' ? conf->user : conf->signer_user);
	find_self(argv[0]);

	make_dirs(conf);
	bind_sockets(conf);

	log_init(debug, verbose, LOG_DAEMON);
	log_procinit("pdsd");
	if (!debug && daemon(1, 0) == -1)
		fatal("daemon");
	started = time(NULL);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fe_sp) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sg_sp) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, peer_sp) == -1)
		fatal("socketpair");

	snprintf(vflag, sizeof(vflag), "-%.*s", verbose > 5 ? 5 : verbose,
	    "vvvvv");
	n = 0;
	fe_argv[n++] = selfpath;
	fe_argv[n++] = "-T";
	fe_argv[n++] = "frontend";
	if (debug)
		fe_argv[n++] = "-d";
	if (verbose)
		fe_argv[n++] = vflag;
	fe_argv[n] = NULL;
	children[CHILD_FRONTEND].pid = start_child(selfpath, fe_argv,
	    fe_sp[1], peer_sp[0]);

	n = 0;
	sg_argv[n++] = signerd_path(selfpath);
	sg_argv[n++] = "-K";
	sg_argv[n++] = conf->keydir;
	if (conf->signer_user[0] != '\0') {
		sg_argv[n++] = "-u";
		sg_argv[n++] = conf->signer_user;
	}
	if (debug)
		sg_argv[n++] = "-d";
	if (verbose)
		sg_argv[n++] = vflag;
	sg_argv[n] = NULL;
	children[CHILD_SIGNERD].pid = start_child(sg_argv[0], sg_argv,
	    sg_sp[1], peer_sp[1]);

	close(fe_sp[1]);
	close(sg_sp[1]);
	close(peer_sp[0]);
	close(peer_sp[1]);

	setproctitle("parent");
	event_init();
	signal_set(&ev_sigint, SIGINT, parent_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, parent_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, parent_sig, NULL);
	signal_set(&ev_sigchld, SIGCHLD, parent_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sighup, NULL);
	signal_add(&ev_sigchld, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (imsgev_init(&children[CHILD_FRONTEND].iev, fe_sp[0], 1,
	    parent_dispatch, &children[CHILD_FRONTEND]) == -1 ||
	    imsgev_init(&children[CHILD_SIGNERD].iev, sg_sp[0], 1,
	    parent_dispatch, &children[CHILD_SIGNERD]) == -1)
		fatal("imsgev_init");
	for (i = 0; i < CHILD_MAX; i++)
		imsgbuf_set_maxsize(&children[i].iev.ibuf, PDS_IMSG_MAXSIZE);

	send_config(conf, 1);
	log_info("startup: version %s, frontend %d, signerd %d",
	    PDS_VERSION, (int)children[CHILD_FRONTEND].pid,
	    (int)children[CHILD_SIGNERD].pid);

	event_dispatch();
	parent_shutdown(1);
	/* NOTREACHED */
	return 1;
}

static struct pdsd_conf *
load_config(const char *file)
{
	return parse_config(file);
}

/*
 * Re-execute ourselves and signerd from where we were started: the
 * kernel knows the binary's real path, argv[0] may be relative.
 */
static void
find_self(const char *argv0)
{
	ssize_t	 n;

	n = readlink("/proc/self/exe", selfpath, sizeof(selfpath) - 1);
	if (n > 0) {
		selfpath[n] = '\0';
		return;
	}
	if (argv0[0] != '/' && strchr(argv0, '/') == NULL)
		errx(1, "cannot find my own path (run with a path)");
	if (realpath(argv0, selfpath) == NULL)
		err(1, "realpath %s", argv0);
}

/*
 * signerd sits beside pdsd once installed, or in ../signerd/ in the
 * build tree; else where "make install" put it.
 */
static char *
signerd_path(const char *self)
{
	static char	 path[PATH_MAX];
	char		 dir[PATH_MAX], *p;

	strlcpy(dir, self, sizeof(dir));
	if ((p = strrchr(dir, '/')) != NULL)
		*p = '\0';
	if (snprintf(path, sizeof(path), "%s/signerd", dir) <
	    (int)sizeof(path) && access(path, X_OK) == 0)
		return path;
	if (snprintf(path, sizeof(path), "%s/../signerd/signerd", dir) <
	    (int)sizeof(path) && access(path, X_OK) == 0)
		return path;
	snprintf(path, sizeof(path), "%s/signerd", PDS_SBINDIR);
	return path;
}

static int
listens_equal(struct listen_list *a, struct listen_list *b)
{
	struct listen_addr	*x, *y;

	for (x = TAILQ_FIRST(a), y = TAILQ_FIRST(b); x != NULL && y != NULL;
	    x = TAILQ_NEXT(x, entry), y = TAILQ_NEXT(y, entry))
		if (strcmp(x->host, y->host) != 0 || x->port != y->port)
			return 0;
	return x == NULL && y == NULL;
}

static void
make_dirs(struct pdsd_conf *c)
{
	struct passwd	*pw;

	if (mkdir(c->datadir, 0755) == -1 && errno != EEXIST)
		err(1, "mkdir %s", c->datadir);
	if (c->user[0] != '\0') {
		if ((pw = getpwnam(c->user)) == NULL)
			errx(1, "unknown user %s", c->user);
		if (chown(c->datadir, pw->pw_uid, pw->pw_gid) == -1)
			err(1, "chown %s", c->datadir);
	}
}

static void
bind_sockets(struct pdsd_conf *c)
{
	struct listen_addr	*la;
	int			 fd, on = 1;

	TAILQ_FOREACH(la, &c->listens, entry) {
		fd = socket(la->ss.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1)
			err(1, "socket");
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1)
			err(1, "setsockopt");
		if (la->ss.ss_family == AF_INET6 && setsockopt(fd,
		    IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
			err(1, "setsockopt IPV6_V6ONLY");
		if (bind(fd, (struct sockaddr *)&la->ss, la->sslen) == -1)
			err(1, "bind %s port %u", la->host, la->port);
		if (listen(fd, 128) == -1)
			err(1, "listen %s port %u", la->host, la->port);
		la->fd = fd;
	}
	c->ctlfd = bind_control(c->ctlsock, c->user);
}

/*
 * The control socket: refuse to steal one a running pdsd still answers
 * on, remove a stale one, and leave it 0660 for the daemon's group.
 */
static int
bind_control(const char *path, const char *user)
{
	struct sockaddr_un	 sun;
	struct passwd		*pw;
	int			 fd;
	mode_t			 old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "control socket path too long: %s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		errx(1, "control socket %s is in use: is pdsd running?", path);
	close(fd);
	if (unlink(path) == -1 && errno != ENOENT)
		err(1, "unlink %s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		err(1, "socket");
	old = umask(S_IXUSR | S_IXGRP | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "bind %s", path);
	umask(old);
	if (chmod(path, 0660) == -1)
		err(1, "chmod %s", path);
	if (user[0] != '\0') {
		if ((pw = getpwnam(user)) == NULL)
			errx(1, "unknown user %s", user);
		if (chown(path, 0, pw->pw_gid) == -1)
			err(1, "chown %s", path);
	}
	if (listen(fd, 16) == -1)
		err(1, "listen %s", path);
	return fd;
}

/*
 * fork + exec with the parent channel on fd 3 and the sibling channel
 * on fd 4; nothing else is inherited.
 */
static pid_t
start_child(const char *path, char **argv, int fd, int peer)
{
	pid_t	 pid;

	switch (pid = fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		return pid;
	}
	if (fd == PDSD_PEER_FD || peer == PDSD_PARENT_FD) {
		/* Move them out of the way first. */
		if ((fd = fcntl(fd, F_DUPFD, 10)) == -1 ||
		    (peer = fcntl(peer, F_DUPFD, 10)) == -1)
			fatal("fcntl");
	}
	if (dup2(fd, PDSD_PARENT_FD) == -1 || dup2(peer, PDSD_PEER_FD) == -1)
		fatal("dup2");
	closefrom(PDSD_PEER_FD + 1);
	execv(path, argv);
	fatal("execv %s", path);
}

static void
send_config(struct pdsd_conf *c, int initial)
{
	struct imsgev		*iev = &children[CHILD_FRONTEND].iev;
	struct cfg_main		 cm;
	struct cfg_listen	 cl;
	struct cfg_pids		 cp;
	struct listen_addr	*la;
	struct conf_str		*cs;

	memset(&cm, 0, sizeof(cm));
	strlcpy(cm.hostname, c->hostname, sizeof(cm.hostname));
	strlcpy(cm.datadir, c->datadir, sizeof(cm.datadir));
	strlcpy(cm.plc, c->plc, sizeof(cm.plc));
	strlcpy(cm.appview, c->appview, sizeof(cm.appview));
	strlcpy(cm.appview_did, c->appview_did, sizeof(cm.appview_did));
	strlcpy(cm.user, c->user, sizeof(cm.user));
	strlcpy(cm.admin_password, c->admin_password,
	    sizeof(cm.admin_password));
	cm.registration = c->registration;
	cm.ratelimit_off = c->ratelimit_off;
	cm.blob_max_size = c->blob_max_size;
	cm.blob_expiry = c->blob_expiry;
	cm.blob_quota = c->blob_quota;
	cm.import_max_size = c->import_max_size;
	cm.fh_retention = c->fh_retention;
	strlcpy(cm.resolver, c->resolver, sizeof(cm.resolver));
	cm.resolver_port = c->resolver_port;
	strlcpy(cm.resolver_http, c->resolver_http, sizeof(cm.resolver_http));
	cm.resolver_http_port = c->resolver_http_port;
	cm.initial = initial;
	imsgev_compose(iev, IMSG_CFG_START, 0, 0, -1, &cm, sizeof(cm));
	explicit_bzero(cm.admin_password, sizeof(cm.admin_password));
	if (initial) {
		TAILQ_FOREACH(la, &c->listens, entry) {
			memset(&cl, 0, sizeof(cl));
			strlcpy(cl.host, la->host, sizeof(cl.host));
			cl.port = la->port;
			imsgev_compose(iev, IMSG_CFG_LISTEN, 0, 0, la->fd,
			    &cl, sizeof(cl));
			la->fd = -1;	/* the imsg layer closes it */
		}
		imsgev_compose(iev, IMSG_CFG_CTLSOCK, 0, 0, c->ctlfd,
		    NULL, 0);
		c->ctlfd = -1;
	}
	TAILQ_FOREACH(cs, &c->domains, entry)
		imsgev_compose(iev, IMSG_CFG_DOMAIN, 0, 0, -1, cs->str,
		    strlen(cs->str) + 1);
	TAILQ_FOREACH(cs, &c->relays, entry)
		imsgev_compose(iev, IMSG_CFG_RELAY, 0, 0, -1, cs->str,
		    strlen(cs->str) + 1);
	memset(&cp, 0, sizeof(cp));
	cp.parent = getpid();
	cp.frontend = children[CHILD_FRONTEND].pid;
	cp.signerd = children[CHILD_SIGNERD].pid;
	cp.started = started;
	imsgev_compose(iev, IMSG_CFG_PIDS, 0, 0, -1, &cp, sizeof(cp));
	imsgev_compose(iev, IMSG_CFG_DONE, 0, 0, -1, NULL, 0);
}

/*
 * SIGHUP or pdsctl reload: parse again; keep the old configuration if
 * the new one has errors (parse_config logs them with file:line).
 * Sockets, directories and users are fixed at start.
 */
static int
reload_config(char *msg, size_t msglen)
{
	struct pdsd_conf	*nconf;
	struct listen_addr	*la;

	log_info("reloading configuration %s", conffile != NULL ?
	    conffile : "(built-in defaults)");
	if ((nconf = load_config(conffile)) == NULL) {
		log_warnx("configuration not reloaded: errors in %s",
		    conffile);
		snprintf(msg, msglen, "errors in %s, old configuration kept",
		    conffile);
		return -1;
	}
	if (strcmp(nconf->datadir, conf->datadir) != 0 ||
	    strcmp(nconf->keydir, conf->keydir) != 0 ||
	    strcmp(nconf->ctlsock, conf->ctlsock) != 0 ||
	    strcmp(nconf->user, conf->user) != 0 ||
	    strcmp(nconf->signer_user, conf->signer_user) != 0 ||
	    !listens_equal(&nconf->listens, &conf->listens))
		log_warnx("reload: listen addresses, directories, control "
		    "socket and users change only on restart");
	TAILQ_FOREACH(la, &nconf->listens, entry)
		la->fd = -1;
	nconf->ctlfd = -1;
	config_free(conf);
	conf = nconf;
	send_config(conf, 0);
	snprintf(msg, msglen, "configuration reloaded");
	return 0;
}

static void
parent_reload(void)
{
	char	 msg[256];

	(void)reload_config(msg, sizeof(msg));
}

static void
parent_sig(int sig, short event, void *arg)
{
	pid_t	 pid;
	int	 status, i, lost = 0;

	switch (sig) {
	case SIGINT:
	case SIGTERM:
		log_info("received signal %d, stopping", sig);
		parent_shutdown(0);
		break;
	case SIGHUP:
		parent_reload();
		break;
	case SIGCHLD:
		/*
		 * Every child gone is logged before we stop: when the
		 * frontend dies, signerd follows it as its channel
		 * closes, and the log must name the first as well.
		 */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < CHILD_MAX; i++)
				if (children[i].pid == pid)
					break;
			if (i == CHILD_MAX)
				continue;
			children[i].pid = -1;
			if (stopping)
				continue;
			log_child_status(&children[i], status);
			lost = 1;
		}
		if (lost)
			parent_shutdown(1);
		break;
	}
}

static void
reply_reload(struct imsgev *iev, uint32_t peerid)
{
	char	 msg[256];
	int	 r;

	r = reload_config(msg, sizeof(msg));
	imsgev_compose(iev, IMSG_RELOAD_RESULT, peerid, 0, -1, msg,
	    strlen(msg) + 1);
	(void)r;
}

/* How a child ends when asked to stop: SIGTERM, or its own clean exit. */
static int
stopped_by_us(int status)
{
	return (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) ||
	    (WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
log_child_status(struct child *c, int status)
{
	if (WIFSIGNALED(status))
		log_warnx("lost child: %s terminated by signal %d", c->name,
		    WTERMSIG(status));
	else
		log_warnx("lost child: %s exited with status %d", c->name,
		    WEXITSTATUS(status));
}

/*
 * A child closed its channel: it is dying.  Give it a moment so that
 * the log says how it died, then stop everything.
 */
static void
child_lost(struct child *c)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	int		 status, i;

	if (stopping)
		parent_shutdown(1);
	for (i = 0; i < 100 && c->pid != -1; i++) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			c->pid = -1;
			log_child_status(c, status);
			parent_shutdown(1);
		}
		nanosleep(&ts, NULL);
	}
	log_warnx("lost connection to %s", c->name);
	parent_shutdown(1);
}

/* The children are ours: a protocol error from one is fatal. */
static void
parent_dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct child	*c = iev->data;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 v;

	if (imsgev_handle_io(iev, event) == -1)
		child_lost(c);
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from %s", c->name);
		if (n == 0)
			break;
		switch (imsg_get_type(&imsg)) {
		case IMSG_SIGNER_READY:
			if (c != &children[CHILD_SIGNERD] ||
			    imsg_get_string(&imsg, rotation_key,
			    sizeof(rotation_key)) == -1)
				fatalx("bad IMSG_SIGNER_READY");
			log_info("signerd ready, rotation key %s",
			    rotation_key);
			imsgev_compose(&children[CHILD_FRONTEND].iev,
			    IMSG_SIGNER_READY, 0, 0, -1, rotation_key,
			    strlen(rotation_key) + 1);
			break;
		case IMSG_RELOAD_REQUEST:
			if (c != &children[CHILD_FRONTEND])
				fatalx("reload request from %s", c->name);
			reply_reload(iev, imsg_get_id(&imsg));
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (c != &children[CHILD_FRONTEND] ||
			    imsg_get_data(&imsg, &v, sizeof(v)) == -1)
				fatalx("bad IMSG_CTL_LOG_VERBOSE");
			log_setverbose(v);
			imsgev_compose(&children[CHILD_SIGNERD].iev,
			    IMSG_CTL_LOG_VERBOSE, 0, 0, -1, &v, sizeof(v));
			break;
		default:
			fatalx("unexpected imsg %u from %s",
			    imsg_get_type(&imsg), c->name);
		}
		imsg_free(&imsg);
	}
}

/*
 * Stop everything: SIGTERM to the children, a short wait, then SIGKILL
 * for any that did not go; the whole stop stays well under 2 seconds.
 */
static void
parent_shutdown(int failed)
{
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };
	pid_t		 pid;
	int		 i, tries, alive, status;

	/*
	 * A failure may take both children (signerd ends when the frontend
	 * does): say how each that is already gone went.
	 */
	if (failed && !stopping)
		for (i = 0; i < CHILD_MAX; i++) {
			if (children[i].pid == -1 || waitpid(children[i].pid,
			    &status, WNOHANG) != children[i].pid)
				continue;
			children[i].pid = -1;
			log_child_status(&children[i], status);
		}
	stopping = 1;
	for (i = 0; i < CHILD_MAX; i++)
		if (children[i].pid != -1)
			kill(children[i].pid, SIGTERM);
	for (tries = 0; tries < 60; tries++) {
		alive = 0;
		for (i = 0; i < CHILD_MAX; i++) {
			if (children[i].pid == -1)
				continue;
			pid = waitpid(children[i].pid, &status, WNOHANG);
			if (pid == children[i].pid) {
				/*
				 * A child of many threads becomes waitable
				 * only once all have exited: killed, it may
				 * come after the sibling it took with it.
				 */
				if (failed && !stopped_by_us(status))
					log_child_status(&children[i], status);
				children[i].pid = -1;
			} else if (pid == -1 && errno == ECHILD)
				children[i].pid = -1;
			else
				alive++;
		}
		if (!alive)
			break;
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < CHILD_MAX; i++)
		if (children[i].pid != -1) {
			log_warnx("%s did not stop, killing it",
			    children[i].name);
			kill(children[i].pid, SIGKILL);
			waitpid(children[i].pid, NULL, 0);
		}
	if (conf != NULL && conf->ctlsock[0] != '\0')
		unlink(conf->ctlsock);
	log_info("%s", failed ? "stopped after a failure" : "stopped");
	exit(failed ? 1 : 0);
}
