/*
 * Every message that crosses a process boundary in pdsd: one enum, shared
 * by pdsd (parent and frontend), signerd and pdsctl.  Bump
 * PDS_IMSG_VERSION whenever this enum or a payload layout changes; pdsctl
 * sends it in peerid and the frontend refuses any other.
 */
#ifndef PDS_IMSG_H
#define PDS_IMSG_H

#include <stdint.h>

#define PDS_IMSG_VERSION	1
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
};

struct cfg_main {
	char		hostname[254];
	char		datadir[4096];
	int		registration;
	char		plc[512];
	char		user[33];	/* the frontend chroots and drops */
	int32_t		initial;	/* 0: a reload */
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

#endif
