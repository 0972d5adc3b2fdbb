/*
 * Every message that crosses a process boundary in pdsd: one enum, shared
 * by pdsd (parent and frontend), signerd and pdsctl.  Bump
 * PDS_IMSG_VERSION whenever this enum or a payload layout changes; pdsctl
 * sends it in peerid and the frontend refuses any other.
 */
#ifndef PDS_IMSG_H
#define PDS_IMSG_H

#include <stdint.h>

#define PDS_IMSG_VERSION	6
#define PDS_IMSG_MAXSIZE	(256 * 1024)	/* commits, PLC ops */

enum imsg_type {
	IMSG_NONE,

	/* pdsctl <-> frontend (untrusted peer: checked, never fatal) */
	IMSG_CTL_OK,
	IMSG_CTL_FAIL,		/* payload: NUL-terminated message */
	IMSG_CTL_END,
	IMSG_CTL_STATUS,
	IMSG_CTL_STATUS_REPLY,	/* struct ctl_status */
	IMSG_CTL_STATUS_LISTEN,	/* NUL-terminated "addr port" */
	IMSG_CTL_RELOAD,
	IMSG_CTL_LOG_VERBOSE,	/* int */

	/* parent -> children: configuration, ended by IMSG_CFG_DONE */
	IMSG_CFG_START,		/* struct cfg_main */
	IMSG_CFG_LISTEN,	/* struct cfg_listen + the bound fd */
	IMSG_CFG_CTLSOCK,	/* the bound control socket fd */
	IMSG_CFG_DOMAIN,	/* NUL-terminated handle domain */
	IMSG_CFG_RELAY,		/* NUL-terminated relay URL */
	IMSG_CFG_DONE,
	IMSG_CFG_PIDS,		/* struct cfg_pids */

	/* signerd -> parent -> frontend */
	IMSG_SIGNER_READY,	/* NUL-terminated rotation did:key */

	/* frontend -> parent */
	IMSG_RELOAD_REQUEST,
	IMSG_RELOAD_RESULT,	/* int: 0 ok, -1 failed; then text */

	/*
	 * frontend <-> signerd, request id in peerid.  The payloads and
	 * their encoders/decoders are in signer_proto.h; signerd answers
	 * each request with IMSG_SIGN_RESULT or IMSG_SIGN_ERROR.
	 */
	IMSG_SIGN_KEY_CREATE,	/* empty -> NUL-terminated did:key */
	IMSG_SIGN_COMMIT,	/* DAG-CBOR unsigned commit -> 64-byte sig */
	IMSG_SIGN_PLC_OP,	/* DAG-CBOR unsigned PLC op -> sig [+ DID] */
	IMSG_SIGN_JWT,		/* did NUL header.payload -> 64-byte sig */
	IMSG_SIGN_RESULT,	/* the reply to the request of that id */
	IMSG_SIGN_ERROR,	/* NUL-terminated reason */

	/*
	 * pdsctl -> frontend, with the CAR file's fd: NUL-terminated
	 * account DID or handle -> IMSG_CTL_OK or IMSG_CTL_FAIL with text.
	 */
	IMSG_CTL_IMPORT,

	/*
	 * pdsctl -> frontend: accounts and invites.  A request is answered
	 * by IMSG_CTL_FAIL with text, or by its replies ended by
	 * IMSG_CTL_END.  "name" is a NUL-terminated handle or DID.
	 */
	IMSG_CTL_ACCOUNT_CREATE,	/* struct ctl_account_req -> INFO */
	IMSG_CTL_ACCOUNT_LIST,		/* empty -> INFO ... */
	IMSG_CTL_ACCOUNT_SHOW,		/* name -> INFO with the repo */
	IMSG_CTL_ACCOUNT_DISABLE,	/* name -> INFO */
	IMSG_CTL_ACCOUNT_ENABLE,	/* name -> INFO */
	IMSG_CTL_ACCOUNT_PASSWORD,	/* struct ctl_account_req -> INFO */
	IMSG_CTL_ACCOUNT_DELETE_TOKEN,	/* name -> TOKEN */
	IMSG_CTL_ACCOUNT_INFO,		/* struct ctl_account */
	IMSG_CTL_ACCOUNT_TOKEN,		/* struct ctl_token */
	IMSG_CTL_INVITE_CREATE,		/* int32_t uses -> INVITE_INFO */
	IMSG_CTL_INVITE_LIST,		/* empty -> INVITE_INFO ... */
	IMSG_CTL_INVITE_INFO,		/* struct ctl_invite */

	/*
	 * frontend -> signerd after an import: did NUL rev NUL.  signerd
	 * moves its last signed rev for that DID up to rev (never down)
	 * and answers IMSG_SIGN_RESULT with the rev it now holds.
	 */
	IMSG_SIGN_REV_RAISE,

	/*
	 * pdsctl -> frontend: the DAG-CBOR of an unsigned commit, signed
	 * by signerd with the key of its DID -> IMSG_CTL_OK with the
	 * 64-byte signature, or IMSG_CTL_FAIL with text.
	 */
	IMSG_CTL_SIGN_COMMIT,

	/* pdsctl -> frontend: name -> ACCOUNT_INFO, status "deleted" */
	IMSG_CTL_ACCOUNT_DELETE,

	/*
	 * pdsctl -> frontend: the relays of "relay" in pdsd.conf.  STATUS
	 * is answered by one RELAY_INFO per relay then IMSG_CTL_END; CRAWL
	 * asks each for a crawl now -> IMSG_CTL_OK.
	 */
	IMSG_CTL_RELAY_STATUS,
	IMSG_CTL_RELAY_CRAWL,
	IMSG_CTL_RELAY_INFO,		/* struct ctl_relay */

	/*
	 * pdsctl -> frontend: recompute the app.bsky index from the
	 * repos -> IMSG_CTL_OK with a summary, or IMSG_CTL_FAIL.
	 */
	IMSG_CTL_INDEX_REBUILD,

	/*
	 * pdsctl -> frontend: int64_t seconds a blob must have been idle
	 * (-1: "blob unreferenced expiry") -> BLOB_GC_RESULT once the
	 * collection has run, or IMSG_CTL_FAIL with text.
	 */
	IMSG_CTL_BLOB_GC,
	IMSG_CTL_BLOB_GC_RESULT,	/* struct ctl_blob_gc */
};

struct cfg_main {
	char		hostname[254];
	char		datadir[4096];
	int		registration;
	char		plc[512];
	char		appview[512];		/* "" = none */
	char		appview_did[256];
	char		user[33];	/* the frontend chroots and drops */
	char		admin_password[257];	/* "" = no admin endpoints */
	int32_t		initial;	/* 0: a reload */
	int32_t		ratelimit_off;	/* "rate limits off" */
	int64_t		blob_max_size;	/* bytes */
	int64_t		blob_expiry;	/* seconds */
	int64_t		blob_quota;	/* bytes per account; 0 none */
	int32_t		fh_retention;	/* hours of events kept */
};

struct cfg_listen {
	char		host[1025];
	uint16_t	port;
};

struct cfg_pids {
	int32_t		parent;
	int32_t		frontend;
	int32_t		signerd;
	int64_t		started;	/* time(NULL) of the parent's start */
};

struct ctl_status {
	char		version[32];
	int64_t		uptime;
	int32_t		pid_parent;
	int32_t		pid_frontend;
	int32_t		pid_signerd;
	int64_t		db_size;
	int64_t		accounts;
	char		rotation_key[128];
	char		hostname[254];
	int32_t		verbose;
};

/*
 * Sizes with room for the NUL; the receiver checks that it is there.
 * Every DID this server hosts is a did:plc or the did:web of a hostname.
 */
#define CTL_DID_SIZE		512
#define CTL_HANDLE_SIZE		254
#define CTL_EMAIL_SIZE		255
#define CTL_PASSWORD_SIZE	257	/* the reference's longest, 256 */

/* account create (who: the handle) and account password (handle, DID) */
struct ctl_account_req {
	char		who[CTL_DID_SIZE];
	char		email[CTL_EMAIL_SIZE];		/* "" = none */
	char		password[CTL_PASSWORD_SIZE];	/* "" = none */
};

struct ctl_account {
	char		did[CTL_DID_SIZE];
	char		handle[CTL_HANDLE_SIZE];
	char		email[CTL_EMAIL_SIZE];
	char		status[16];
	char		created_at[32];
	int32_t		has_repo;	/* account show: the fields below */
	char		rev[16];
	char		commit[128];
	int64_t		records;
	int64_t		blob_count;	/* blobs the account holds */
	int64_t		blob_bytes;
	int64_t		blob_quota;	/* "blob quota"; 0 none */
};

/* What a collection freed. */
struct ctl_blob_gc {
	int64_t		blobs;		/* accounts' blobs dropped */
	int64_t		bytes;		/* their sizes, summed */
	int64_t		files;		/* files unlinked */
	int64_t		file_bytes;	/* their sizes: the disk freed */
};

struct ctl_token {
	char		did[CTL_DID_SIZE];
	char		handle[CTL_HANDLE_SIZE];
	char		token[16];
	int64_t		expires_at;	/* Unix seconds */
};

/* One relay's requestCrawl history; times are Unix seconds, 0 never. */
struct ctl_relay {
	char		url[512];
	int64_t		last_attempt;
	int64_t		last_success;
	int64_t		next_attempt;	/* 0: on the next new events */
	int32_t		failures;	/* in a row */
	int32_t		in_flight;
	char		last_error[256];	/* "" after a success */
};

struct ctl_invite {
	char		code[300];
	int32_t		available;
	int32_t		used;
	int32_t		disabled;
	char		for_account[CTL_DID_SIZE];
	char		created_by[CTL_DID_SIZE];
	char		created_at[32];
};

#endif
