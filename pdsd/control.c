/*
 * The control socket, served by the frontend for pdsctl.  Clients are
 * untrusted: a malformed message, a wrong protocol version or an
 * unknown request closes that client and nothing else.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "appview.h"
#include "blob.h"
#include "commit.h"
#include "imsgev.h"
#include "log.h"
#include "pds_imsg.h"
#include "pdsd.h"
#include "repo.h"
#include "repo_store.h"
#include "signer_proto.h"
#include "syntax.h"

#define CONTROL_MAX_CLIENTS	32
#define CONTROL_MAXSIZE		(64 * 1024)
#define CONTROL_MSGMAX		512	/* pdsctl reads at most this */

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	struct imsgev		 iev;
	uint32_t		 id;
	int			 closing;	/* flush, then close */
};

static TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);
static struct event		 ctl_ev;
static int			 ctl_fd = -1;
static int			 ctl_nconns;
static uint32_t			 ctl_nextid = 1;

static void	control_accept(int, short, void *);
static void	control_dispatch(int, short, void *);
static void	control_close(struct ctl_conn *);
static int	control_peer_ok(int);
static void	control_status(struct ctl_conn *);
static void	control_fail(struct ctl_conn *, const char *);
static void	control_index_rebuild(struct ctl_conn *);
static void	control_import(struct ctl_conn *, struct imsg *);
static void	control_relays(struct ctl_conn *);
static void	control_sign_commit(struct ctl_conn *, struct imsg *);
static void	control_blob_gc(struct ctl_conn *, struct imsg *);

int
control_listen(int fd)
{
	ctl_fd = fd;
	event_set(&ctl_ev, fd, EV_READ | EV_PERSIST, control_accept, NULL);
	return event_add(&ctl_ev, NULL);
}

void
control_cleanup(void)
{
	struct ctl_conn	*c;

	while ((c = TAILQ_FIRST(&ctl_conns)) != NULL)
		control_close(c);
	if (ctl_fd != -1) {
		event_del(&ctl_ev);
		close(ctl_fd);
		ctl_fd = -1;
	}
}

/*
 * The socket is 0660, so the filesystem already limits who connects;
 * we also insist on root, our own user or our own group.
 */
static int
control_peer_ok(int fd)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return 0;
	return cred.uid == 0 || cred.uid == geteuid() ||
	    cred.gid == getegid();
}

static void
control_accept(int fd, short event, void *arg)
{
	struct ctl_conn	*c;
	int		 cfd;

	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno != EINTR && errno != EAGAIN &&
		    errno != ECONNABORTED)
			log_warn("control accept");
		return;
	}
	if (ctl_nconns >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: too many clients");
		close(cfd);
		return;
	}
	if (!control_peer_ok(cfd)) {
		log_warnx("control: peer refused");
		close(cfd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control");
		close(cfd);
		return;
	}
	/* fds come only with IMSG_CTL_IMPORT; any other is closed unread. */
	if (imsgev_init(&c->iev, cfd, 1, control_dispatch, c) == -1) {
		log_warn("control");
		close(cfd);
		free(c);
		return;
	}
	imsgbuf_set_maxsize(&c->iev.ibuf, CONTROL_MAXSIZE);
	c->id = ctl_nextid++;
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	ctl_nconns++;
}

static void
control_close(struct ctl_conn *c)
{
	TAILQ_REMOVE(&ctl_conns, c, entry);
	imsgev_clear(&c->iev);
	free(c);
	ctl_nconns--;
}

static struct ctl_conn *
control_find(uint32_t id)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static void
control_fail(struct ctl_conn *c, const char *msg)
{
	imsgev_compose(&c->iev, IMSG_CTL_FAIL, 0, 0, -1, msg,
	    strlen(msg) + 1);
	c->closing = 1;
}

static void
control_status(struct ctl_conn *c)
{
	struct ctl_status	 st;
	struct listen_addr	*la;
	char			 buf[NI_MAXHOST + 16];

	memset(&st, 0, sizeof(st));
	strlcpy(st.version, PDS_VERSION, sizeof(st.version));
	st.uptime = time(NULL) - fe->pids.started;
	st.pid_parent = fe->pids.parent;
	st.pid_frontend = fe->pids.frontend;
	st.pid_signerd = fe->pids.signerd;
	st.db_size = db_size(fe->dbpath);
	st.accounts = db_count(fe->db, "account");
	strlcpy(st.rotation_key, fe->rotation_key, sizeof(st.rotation_key));
	strlcpy(st.hostname, fe->cfg.hostname, sizeof(st.hostname));
	st.verbose = log_getverbose();
	imsgev_compose(&c->iev, IMSG_CTL_STATUS_REPLY, 0, 0, -1, &st,
	    sizeof(st));
	TAILQ_FOREACH(la, &fe->listens, entry) {
		snprintf(buf, sizeof(buf), "%s %u", la->host, la->port);
		imsgev_compose(&c->iev, IMSG_CTL_STATUS_LISTEN, 0, 0, -1, buf,
		    strlen(buf) + 1);
	}
	imsgev_compose(&c->iev, IMSG_CTL_END, 0, 0, -1, NULL, 0);
}

static int
control_relay_info(const struct ctl_relay *cr, void *arg)
{
	struct ctl_conn	*c = arg;

	return imsgev_compose(&c->iev, IMSG_CTL_RELAY_INFO, 0, 0, -1, cr,
	    sizeof(*cr));
}

static void
control_relays(struct ctl_conn *c)
{
	relay_foreach(control_relay_info, c);
	imsgev_compose(&c->iev, IMSG_CTL_END, 0, 0, -1, NULL, 0);
}

static void
control_imported(void *arg, const char *summary)
{
	control_send((uint32_t)(uintptr_t)arg, IMSG_CTL_OK, summary,
	    strlen(summary) + 1);
}

/* Runs to its end in this callback: no write lands in the middle. */
static void
control_index_rebuild(struct ctl_conn *c)
{
	char		 msg[128];
	long long	 n;

	if (repo_writes_pending() > 0) {
		control_fail(c, "repository writes in progress; try again");
		return;
	}
	if (appindex_rebuild(fe->db, &n) == -1) {
		control_fail(c, "index rebuild failed");
		return;
	}
	snprintf(msg, sizeof(msg), "index rebuilt from %lld records", n);
	log_info("%s", msg);
	imsgev_compose(&c->iev, IMSG_CTL_OK, 0, 0, -1, msg, strlen(msg) + 1);
}

/* The CAR comes as an open fd: we may be chrooted away from its path. */
static void
control_import(struct ctl_conn *c, struct imsg *imsg)
{
	struct stat	 st;
	char		 who[DID_MAX + 1], msg[CONTROL_MSGMAX];
	int		 fd, copy, saved;

	fd = imsg_get_fd(imsg);
	if (fd == -1 || imsg_get_string(imsg, who, sizeof(who)) == -1 ||
	    who[0] == '\0') {
		if (fd != -1)
			close(fd);
		control_fail(c, "bad import request");
		return;
	}
	/*
	 * The import maps the file and reads it more than once: the user's
	 * own could be cut short (a fault in the mapping) or rewritten
	 * under it by another process.  A copy only we hold cannot.
	 */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		control_fail(c, "the CAR is not a regular file");
		return;
	}
	copy = blob_scratch_copy(fd, st.st_size);
	saved = errno;
	close(fd);
	if (copy == -1) {
		snprintf(msg, sizeof(msg), "cannot copy the CAR into the data "
		    "directory: %s", strerror(saved));
		control_fail(c, msg);
		return;
	}
	/* On success the answer follows once signerd has replied. */
	if (import_repo(copy, who, msg, sizeof(msg), control_imported,
	    (void *)(uintptr_t)c->id) != IMPORT_OK)
		control_fail(c, msg);
	close(copy);
}

static void
control_signed(void *arg, const uint8_t *sig, const char *err)
{
	uint32_t	 id = (uint32_t)(uintptr_t)arg;

	if (sig != NULL)
		control_send(id, IMSG_CTL_OK, sig, SIG_LEN);
	else
		control_send(id, IMSG_CTL_FAIL, err, strlen(err) + 1);
}

/*
 * pdsctl pack with no key file: signerd signs the unsigned commit with
 * the key of its DID, under its usual checks (a bound DID, a newer rev).
 */
static void
control_sign_commit(struct ctl_conn *c, struct imsg *imsg)
{
	struct commit	 cm;
	const char	*why;
	size_t		 len = imsg_get_len(imsg);

	if (signer_commit_decode(imsg->data, len, &cm, &why) == -1) {
		control_fail(c, why);
		return;
	}
	log_info("control: signing a commit for %s, rev %s", cm.did, cm.rev);
	if (signer_sign_commit(imsg->data, len, control_signed,
	    (void *)(uintptr_t)c->id) == -1)
		control_fail(c, "signerd is not available");
}

/* Answered by blob.c once the run is over, maybe many ticks later. */
static void
control_blob_gc(struct ctl_conn *c, struct imsg *imsg)
{
	int64_t	 expiry;

	if (imsg_get_data(imsg, &expiry, sizeof(expiry)) == -1 ||
	    expiry < -1 || expiry > BLOB_EXPIRY_LIMIT)
		control_fail(c, "bad blob collection request");
	else if (blob_gc_request(c->id, expiry) == -1)
		control_fail(c, "too many blob collections waiting");
}

void
control_send(uint32_t id, uint32_t type, const void *data, size_t len)
{
	struct ctl_conn	*c;

	if ((c = control_find(id)) != NULL)
		imsgev_compose(&c->iev, type, 0, 0, -1, data, len);
}

/* The parent answered a reload this client asked for. */
void
control_reload_done(uint32_t id, const char *msg)
{
	struct ctl_conn	*c;

	if ((c = control_find(id)) == NULL)
		return;		/* the client left */
	if (strcmp(msg, "configuration reloaded") == 0)
		imsgev_compose(&c->iev, IMSG_CTL_OK, 0, 0, -1, msg,
		    strlen(msg) + 1);
	else
		imsgev_compose(&c->iev, IMSG_CTL_FAIL, 0, 0, -1, msg,
		    strlen(msg) + 1);
}

static void
control_dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct ctl_conn	*c = iev->data;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 v;

	if (imsgev_handle_io(&c->iev, event) == -1) {
		control_close(c);
		return;
	}
	if (c->closing) {
		if (imsgbuf_queuelen(&c->iev.ibuf) == 0)
			control_close(c);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&c->iev.ibuf, &imsg)) == -1) {
			control_close(c);
			return;
		}
		if (n == 0)
			break;
		if (imsg_get_id(&imsg) != PDS_IMSG_VERSION) {
			control_fail(c, "pdsctl and pdsd versions differ");
			imsg_free(&imsg);
			break;
		}
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_STATUS:
			if (imsg_get_len(&imsg) != 0)
				control_fail(c, "bad status request");
			else
				control_status(c);
			break;
		case IMSG_CTL_RELOAD:
			if (imsg_get_len(&imsg) != 0)
				control_fail(c, "bad reload request");
			else
				frontend_to_parent(IMSG_RELOAD_REQUEST, c->id,
				    NULL, 0);
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (imsg_get_data(&imsg, &v, sizeof(v)) == -1 ||
			    v < 0 || v > 5) {
				control_fail(c, "bad log request");
				break;
			}
			log_setverbose(v);
			frontend_to_parent(IMSG_CTL_LOG_VERBOSE, 0, &v,
			    sizeof(v));
			imsgev_compose(&c->iev, IMSG_CTL_OK, 0, 0, -1,
			    NULL, 0);
			break;
		case IMSG_CTL_IMPORT:
			control_import(c, &imsg);
			break;
		case IMSG_CTL_RELAY_STATUS:
			if (imsg_get_len(&imsg) != 0)
				control_fail(c, "bad relay request");
			else
				control_relays(c);
			break;
		case IMSG_CTL_RELAY_CRAWL:
			if (imsg_get_len(&imsg) != 0) {
				control_fail(c, "bad relay request");
				break;
			}
			relay_crawl_now();
			imsgev_compose(&c->iev, IMSG_CTL_OK, 0, 0, -1,
			    NULL, 0);
			break;
		case IMSG_CTL_INDEX_REBUILD:
			if (imsg_get_len(&imsg) != 0)
				control_fail(c, "bad index request");
			else
				control_index_rebuild(c);
			break;
		case IMSG_CTL_SIGN_COMMIT:
			control_sign_commit(c, &imsg);
			break;
		case IMSG_CTL_BLOB_GC:
			control_blob_gc(c, &imsg);
			break;
		case IMSG_CTL_ACCOUNT_CREATE:
		case IMSG_CTL_ACCOUNT_LIST:
		case IMSG_CTL_ACCOUNT_SHOW:
		case IMSG_CTL_ACCOUNT_DISABLE:
		case IMSG_CTL_ACCOUNT_ENABLE:
		case IMSG_CTL_ACCOUNT_PASSWORD:
		case IMSG_CTL_ACCOUNT_DELETE_TOKEN:
		case IMSG_CTL_ACCOUNT_DELETE:
		case IMSG_CTL_INVITE_CREATE:
		case IMSG_CTL_INVITE_LIST:
			if (control_account(c->id, &imsg) == -1)
				control_fail(c, "bad request");
			break;
		default:
			control_fail(c, "unknown request");
			break;
		}
		imsg_free(&imsg);
		if (c->closing)
			break;
	}
	if (c->closing && imsgbuf_queuelen(&c->iev.ibuf) == 0)
		control_close(c);
}
