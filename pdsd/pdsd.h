/*
 * pdsd: the parent and the frontend.
 */
#ifndef PDSD_H
#define PDSD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <limits.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "pds_imsg.h"

#define PDSD_CONF_FILE		"/etc/pdsd.conf"
#define PDSD_USER_MAX		32
#define PDSD_HOST_MAX		253
#define PDSD_URL_MAX		512
#define PDSD_DEFAULT_PORT	2583
#define PDSD_DEFAULT_DIR	"./var"
#define PDSD_DEFAULT_KEYDIR	"./var/keys"
#define PDSD_DEFAULT_SOCK	"./var/pdsd.sock"
#define PDSD_SYSTEM_SOCK	"/var/run/pdsd.sock"
#define PDSD_DB_FILE		"pdsd.db"
#define PDSD_ADMIN_PW_MAX	256
#define PDSD_APPVIEW_DID_MAX	256
#define PDSD_BLOB_MAX_DEFAULT	5242880		/* bytes, as the reference */
#define PDSD_IMPORT_MAX_DEFAULT	104857600	/* bytes, as the reference */
#define PDSD_BLOB_EXPIRY_DEFAULT 3600		/* seconds unreferenced */
#define PDSD_RETENTION_DEFAULT	24		/* hours, as the reference */
#define PDSD_RETENTION_MAX	(24 * 366)

/* fds a re-executed child finds at start: parent channel and its peer. */
#define PDSD_PARENT_FD		3
#define PDSD_PEER_FD		4

enum registration {
	REG_OPEN,
	REG_INVITE,
	REG_CLOSED,
};

struct listen_addr {
	TAILQ_ENTRY(listen_addr)	 entry;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen;
	char				 host[NI_MAXHOST];	/* as written */
	in_port_t			 port;			/* host order */
	int				 fd;
};
TAILQ_HEAD(listen_list, listen_addr);

struct conf_str {
	TAILQ_ENTRY(conf_str)		 entry;
	char				 str[PDSD_URL_MAX];
};
TAILQ_HEAD(conf_str_list, conf_str);

struct pdsd_conf {
	char			 hostname[PDSD_HOST_MAX + 1];
	char			 datadir[PATH_MAX];
	char			 keydir[PATH_MAX];
	char			 ctlsock[PATH_MAX];
	char			 user[PDSD_USER_MAX + 1];	/* "" = none */
	char			 signer_user[PDSD_USER_MAX + 1];
	enum registration	 registration;
	char			 plc[PDSD_URL_MAX];		/* "" = none */
	char			 appview[PDSD_URL_MAX];		/* "" = none */
	char			 appview_did[PDSD_APPVIEW_DID_MAX];
	char			 admin_password[PDSD_ADMIN_PW_MAX + 1];
	struct listen_list	 listens;
	struct conf_str_list	 domains;	/* handle domains, ".x.y" */
	struct conf_str_list	 relays;
	int			 ctlfd;		/* parent: bound socket */
	int			 ratelimit_off;	/* "rate limits off" */
	long long		 blob_max_size;	/* bytes */
	long long		 blob_expiry;	/* seconds */
	long long		 blob_quota;	/* bytes per account; 0 none */
	long long		 import_max_size; /* bytes of an importRepo */
	int			 fh_retention;	/* hours of events kept */
	char			 resolver[46];	/* "" = /etc/resolv.conf */
	int			 resolver_port;
	char			 resolver_http[46];	/* "" = https only */
	int			 resolver_http_port;
};

struct sqlite3;
struct sqlite3_stmt;
struct http_server;
struct event_base;

/* The frontend's world, as received from the parent. */
struct frontend {
	struct event_base	*base;
	struct cfg_main		 cfg;
	struct conf_str_list	 domains;
	struct conf_str_list	 relays;
	struct cfg_pids		 pids;
	char			 rotation_key[128];
	char			 dbpath[PATH_MAX];
	struct sqlite3		*db;
	int			 running;	/* initial config done */
	struct http_server	*http;
	struct listen_list	 listens;	/* fds passed by the parent */
	int			 ctlfd;
};
extern struct frontend	*fe;

/* frontend.c */
__attribute__((__noreturn__)) void frontend_main(int, int);
void		 frontend_to_parent(uint32_t, uint32_t, const void *, size_t);

/* signer.c */
struct imsg;
struct imsgev;
/*
 * Answers from signerd.  ok is 1 with the reply, 0 with a reason in
 * errmsg.  The typed forms give the did:key, the 64-byte signature and,
 * for a genesis PLC operation, the DID ("" otherwise); NULL on failure.
 */
typedef void	(*signer_cb)(void *, int, const uint8_t *, size_t,
		    const char *);
typedef void	(*signer_key_cb)(void *, const char *, const char *);
typedef void	(*signer_sig_cb)(void *, const uint8_t *, const char *);
typedef void	(*signer_plc_cb)(void *, const uint8_t *, const char *,
		    const char *);
int		 signer_init(struct imsgev *);
int		 signer_request(uint32_t, const void *, size_t, signer_cb,
		    void *);
int		 signer_key_create(signer_key_cb, void *);
int		 signer_sign_commit(const uint8_t *, size_t, signer_sig_cb,
		    void *);
int		 signer_sign_plc_op(const uint8_t *, size_t, signer_plc_cb,
		    void *);
int		 signer_sign_jwt(const char *, const char *, signer_sig_cb,
		    void *);
void		 signer_dispatch(struct imsg *);
void		 signer_lost(void);
size_t		 signer_pending(void);
uint64_t	 signer_floor(void);

/* identity.c */
struct http_request;
struct json_object;
const char	*identity_endpoint(void);
void		 identity_now(char *, size_t);
int		 identity_sign_op(uint8_t **, size_t *, const uint8_t *);
int		 identity_store_op(const char *, const uint8_t *, size_t);
struct json_object *identity_did_doc(const char *);
int		 identity_wellknown_parse(const char *, size_t, char *, size_t);
void		 identity_well_known_did(struct http_request *);
void		 identity_well_known_doc(struct http_request *);

/* lifecycle.c: status 0 found, 1 no such account, -1 error. */
int		 account_status(const char *, char *, size_t);
void		 lifecycle_deactivate(struct http_request *);
void		 lifecycle_activate(struct http_request *);
void		 lifecycle_check_status(struct http_request *);
void		 lifecycle_request_delete(struct http_request *);
void		 lifecycle_delete(struct http_request *);
int		 account_delete(const char *);
void		 lifecycle_no_mail(struct http_request *);

/* servauth.c */
typedef void	(*servauth_cb)(void *, const char *);
void		 servauth_get(struct http_request *);
int		 servauth_sign(const char *, const char *, const char *, time_t,
		    servauth_cb, void *);
/* Methods no service token may name; those app passwords may not. */
int		 servauth_protected(const char *);
int		 servauth_privileged(const char *);

/* account.c */
void		 account_create(struct http_request *);
/*
 * createAccount for XRPC and pdsctl alike.  admin (pdsctl) skips the
 * registration mode, the invite and makes email optional.  done is
 * called exactly once, maybe before account_create_start returns:
 * status 0 with the DID and handle, or the HTTP status, XRPC error
 * name and message.
 */
struct account_params {
	const char	*handle;
	const char	*email;		/* NULL: none */
	const char	*password;	/* NULL: none */
	const char	*invite;	/* NULL: none */
	const char	*recovery_key;	/* NULL: none */
	int		 admin;
};
typedef void	(*account_done_cb)(void *, int, const char *, const char *,
		    const char *, const char *);
void		 account_create_start(const struct account_params *,
		    account_done_cb, void *);
/* A refusal: the reference's status, error name and message. */
struct account_err {
	int		 status;
	const char	*name;
	char		 msg[512];
};
int		 account_handle_check(const char *, char *, size_t, int,
		    struct account_err *);
int		 account_check_handle(struct http_request *, const char *,
		    char *, size_t, int);
const char	*account_handle_domain(const char *);

/* invite.c: invite codes, "<hostname-with-dashes>-xxxxx-xxxxx". */
#define INVITE_CODE_MAX		(PDSD_HOST_MAX + 12)
#define INVITE_USES_MAX		1000000
int		 invite_generate(char *, size_t);
/* 0 with the code written, -1 error. */
int		 invite_create(struct sqlite3 *, const char *, const char *,
		    int, char *, size_t);
/* 1 usable, 0 not (unknown, disabled or used up), -1 error. */
int		 invite_available(struct sqlite3 *, const char *);
/* Inside the account's transaction: 0, 1 not available, -1 error. */
int		 invite_use(struct sqlite3 *, const char *, const char *);
void		 invite_xrpc_create(struct http_request *);
void		 invite_xrpc_create_many(struct http_request *);
void		 invite_xrpc_account_codes(struct http_request *);

/*
 * fetch.c: outbound HTTP on the event loop (libcurl multi).  A buffered
 * fetch's callback gets the HTTP status and the answer (NUL-terminated),
 * or status 0 and a reason.  See fetch.c for the streamed form.
 */
typedef void	(*fetch_cb)(void *, int, const char *, size_t,
		    const char *);
struct fetch_req;
struct fetch_opts {
	const char		*url;
	const char *const	*headers;	/* "Name: value", NULL ends */
	const char		*post;		/* NULL: GET */
	size_t			 postlen;
	int			 redirects;
	long			 timeout_ms;	/* 0: the default */
};
struct fetch_stream_cbs {
	int	(*head)(void *, struct fetch_req *, int);
	int	(*data)(void *, const char *, size_t);
	void	(*done)(void *, const char *);
};
int		 fetch_init(void);
int		 fetch_buffered(const char *, const char *, size_t, int,
		    fetch_cb, void *);
int		 fetch_buffered_opts(const struct fetch_opts *, size_t,
		    fetch_cb, void *);
struct fetch_req *fetch_stream(const struct fetch_opts *,
		    const struct fetch_stream_cbs *, void *);
const char	*fetch_header_get(struct fetch_req *, const char *, char *,
		    size_t);
void		 fetch_resume(struct fetch_req *);
void		 fetch_cancel(struct fetch_req *);
size_t		 fetch_pending(void);
void		 fetch_shutdown(void);

/*
 * plc.c: the PLC directory.  A submit callback gets NULL once the
 * directory took the operation, else the reason.
 */
#define PLC_ANSWER_MAX	(64 * 1024)
typedef void	(*plc_submit_cb)(void *, const char *);
int		 plc_submit(const char *, const uint8_t *, size_t,
		    plc_submit_cb, void *);
int		 plc_configured(void);
int		 plc_url(const char *, const char *, char *, size_t);
char		*plc_op_json(const uint8_t *, size_t);
/* A refusal's text: its JSON "message", else the start of the body. */
void		 plc_reason(const char *, size_t, char *, size_t);

/*
 * relay.c: com.atproto.sync.requestCrawl to each configured relay, at
 * start, then at most every 20 minutes while there are new events;
 * with back-off after a failure.  relay_crawl_now asks them all again.
 */
int		 relay_start(void);
void		 relay_crawl_now(void);
/* Each relay's history, for pdsctl; 0 to go on, -1 to stop. */
struct ctl_relay;
int		 relay_foreach(int (*)(const struct ctl_relay *, void *),
		    void *);

/*
 * resolve.c: the _atproto TXT record of a handle, looked up on worker
 * threads; the callback gets the DID it names, or NULL.
 */
typedef void	(*resolve_cb)(void *, const char *);
int		 resolve_init(struct event_base *);
void		 resolve_shutdown(void);
int		 resolve_handle_dns(const char *, resolve_cb, void *);
int		 resolve_txt_did(const uint8_t *, size_t, char *, size_t);

/* workq.c: blocking jobs on threads, callbacks on the loop. */
struct workq;
struct workq	*workq_new(struct event_base *, const char *, int, size_t,
		    int, void (*)(void *));
void		 workq_free(struct workq *);
int		 workq_submit(struct workq *, void (*)(void *),
		    void (*)(void *), void *);

/* control.c */
int		 control_listen(int);
/* To one client by its id; dropped if it has gone. */
void		 control_send(uint32_t, uint32_t, const void *, size_t);
void		 control_reload_done(uint32_t, const char *);
void		 control_cleanup(void);
/* control_account.c: pdsctl's account and invite requests; -1 bad. */
int		 control_account(uint32_t, struct imsg *);

/* xrpc.c */
int		 xrpc_start(void);
/* xrpc_sync.c: the threads that read repository exports. */
int		 xrpc_sync_init(struct event_base *);

/* proxy.c: the AppView proxy; xrpc.c decides what goes there. */
void		 proxy_forward(struct http_request *, const char *);
int		 proxy_is_appview(const char *);

/* db.c */
/*
 * The page cache of a connection, in KiB (negative, as SQLite takes
 * it).  The three processes together are to stay under 64 MB (issue 8:
 * a tenth of the reference's peak); shared libraries count about 26 MB
 * of that (in each process's RSS), a password hash 12 MiB.  Halving the
 * cache from 16 MiB cost no server CPU in bench.mjs's reads, writes and
 * export (docs/bench.md, "Memory").
 */
#define DB_CACHE_KIB	"-8192"
struct sqlite3	*db_open(const char *, char *, size_t);
int		 db_busy_handler(void *, int);
void		 db_busy_wait(struct sqlite3 *, int);
/* db_pcache.c */
void		 db_pcache_install(void);
int		 db_migrate(struct sqlite3 *, char *, size_t);
/* SQL with no result; the error into err. */
int		 db_exec(struct sqlite3 *, const char *, char *, size_t);
void		 db_close(struct sqlite3 *);
int64_t		 db_count(struct sqlite3 *, const char *);
int64_t		 db_size(const char *);
int		 db_ping(struct sqlite3 *);
struct sqlite3_stmt *db_stmt(struct sqlite3 *, struct sqlite3_stmt **,
		    const char *);
int		 db_step_done(struct sqlite3 *, struct sqlite3_stmt *);
int		 db_bind_strs(struct sqlite3_stmt *, int, ...)
		    __attribute__((__sentinel__));
int		 db_step_row(struct sqlite3 *, struct sqlite3_stmt *,
		    const char *);
int		 db_begin(struct sqlite3 *);
int		 db_commit(struct sqlite3 *);
void		 db_rollback(struct sqlite3 *);
int		 db_read_begin(struct sqlite3 *);
void		 db_read_end(struct sqlite3 *, int);
void		 db_now(char *, size_t);

/* checkpoint.c */
int		 db_checkpointer_start(struct sqlite3 *, const char *, char *,
		    size_t);
void		 db_checkpointer_stop(void);

/* parse.y */
struct pdsd_conf	*parse_config(const char *);
int			 cmdline_symset(char *);

/* config.c */
struct pdsd_conf	*config_new(void);
void			 config_defaults(struct pdsd_conf *);
void			 config_free(struct pdsd_conf *);
void			 print_config(FILE *, const struct pdsd_conf *);
const char		*registration_name(enum registration);
int			 config_add_listen(struct pdsd_conf *, const char *,
			    in_port_t, const char **);
int			 config_add_str(struct conf_str_list *, const char *);

/* sql_embed.c (generated from sql/) */
struct migration {
	int		 version;
	const char	*name;
	const char	*sql;
};
extern const struct migration	migrations[];
extern const size_t		nmigrations;

#endif
