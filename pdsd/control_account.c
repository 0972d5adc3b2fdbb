/*
 * pdsctl's account and invite requests, in the frontend.  The client
 * passed the control socket's peer check, but its messages are still
 * checked field by field.  Answers go by client id: a client that left
 * while a password was hashed is simply not answered.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "auth.h"
#include "encoding.h"
#include "imsgev.h"
#include "log.h"
#include "pds_imsg.h"
#include "pdsd.h"
#include "repo.h"

#define DELETE_TOKEN_TTL	(15 * 60)	/* the reference's email tokens */

/* A password being hashed for a client. */
struct ctl_pw {
	uint32_t	 id;
	char		 did[CTL_DID_SIZE];
};

static void	ctl_fail(uint32_t, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));

static void
ctl_fail(uint32_t id, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	control_send(id, IMSG_CTL_FAIL, msg, strlen(msg) + 1);
}

static void
col_copy(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const unsigned char	*s;

	s = sqlite3_column_text(st, col);
	strlcpy(buf, s != NULL ? (const char *)s : "", len);
}

static void
invite_row(sqlite3_stmt *st, struct ctl_invite *ci)
{
	memset(ci, 0, sizeof(*ci));
	col_copy(st, 0, ci->code, sizeof(ci->code));
	ci->available = sqlite3_column_int(st, 1);
	ci->disabled = sqlite3_column_int(st, 2);
	col_copy(st, 3, ci->for_account, sizeof(ci->for_account));
	col_copy(st, 4, ci->created_by, sizeof(ci->created_by));
	col_copy(st, 5, ci->created_at, sizeof(ci->created_at));
	ci->used = sqlite3_column_int(st, 6);
}

static void
account_row(sqlite3_stmt *st, struct ctl_account *ca)
{
	memset(ca, 0, sizeof(*ca));
	col_copy(st, 0, ca->did, sizeof(ca->did));
	col_copy(st, 1, ca->handle, sizeof(ca->handle));
	col_copy(st, 2, ca->email, sizeof(ca->email));
	col_copy(st, 3, ca->status, sizeof(ca->status));
	col_copy(st, 4, ca->created_at, sizeof(ca->created_at));
	ca->blob_count = -1;	/* not read: a listing */
}

/* One account with its repository: 0, 1 none, -1 error. */
static int
account_get(const char *did, struct ctl_account *ca)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = db_stmt(fe->db, &cache, "SELECT a.did, a.handle, a.email, "
	    "a.status, a.created_at, r.rev, r.commit_cid, (SELECT count(*) "
	    "FROM record WHERE did = a.did), (SELECT count(*) FROM blob "
	    "WHERE did = a.did), (SELECT coalesce(sum(size), 0) FROM blob "
	    "WHERE did = a.did) FROM account a LEFT JOIN repo_root r ON "
	    "r.did = a.did WHERE a.did = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, did, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		account_row(st, ca);
		ca->has_repo = sqlite3_column_type(st, 5) != SQLITE_NULL;
		col_copy(st, 5, ca->rev, sizeof(ca->rev));
		col_copy(st, 6, ca->commit, sizeof(ca->commit));
		ca->records = sqlite3_column_int64(st, 7);
		ca->blob_count = sqlite3_column_int64(st, 8);
		ca->blob_bytes = sqlite3_column_int64(st, 9);
		ca->blob_quota = fe->cfg.blob_quota;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* The account as it is now, then the end of the answer. */
static void
send_account(uint32_t id, const char *did)
{
	struct ctl_account	 ca;

	if (account_get(did, &ca) != 0) {
		ctl_fail(id, "cannot read account %s", did);
		return;
	}
	control_send(id, IMSG_CTL_ACCOUNT_INFO, &ca, sizeof(ca));
	control_send(id, IMSG_CTL_END, NULL, 0);
}

/* The account a request names (handle, DID or email): 0, or answered. */
static int
find_named(uint32_t id, struct imsg *imsg, struct auth_account *acct)
{
	char	 name[CTL_DID_SIZE];
	int	 rc;

	if (imsg_get_string(imsg, name, sizeof(name)) == -1 ||
	    name[0] == '\0')
		return -1;
	if ((rc = auth_account_find(fe->db, name, acct)) == 0)
		return 0;
	if (rc == 1)
		ctl_fail(id, "unknown account: %s", name);
	else
		ctl_fail(id, "database error");
	return 1;
}

static int
ctl_list(uint32_t id, struct imsg *imsg)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct ctl_account	 ca;
	int			 rc;

	if (imsg_get_len(imsg) != 0)
		return -1;
	if ((st = db_stmt(fe->db, &cache, "SELECT did, handle, email, status, "
	    "created_at FROM account ORDER BY created_at, handle")) == NULL) {
		ctl_fail(id, "database error");
		return 0;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		account_row(st, &ca);
		control_send(id, IMSG_CTL_ACCOUNT_INFO, &ca, sizeof(ca));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		ctl_fail(id, "database error");
	else
		control_send(id, IMSG_CTL_END, NULL, 0);
	return 0;
}

static int
ctl_show(uint32_t id, struct imsg *imsg)
{
	struct auth_account	 acct;
	int			 rc;

	if ((rc = find_named(id, imsg, &acct)) != 0)
		return rc == -1 ? -1 : 0;
	send_account(id, acct.did);
	auth_account_clear(&acct);
	return 0;
}

static int
exec_did(sqlite3_stmt **cache, const char *sql, const char *did)
{
	sqlite3_stmt	*st;

	if ((st = db_stmt(fe->db, cache, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, did, -1, SQLITE_TRANSIENT);
	return db_step_done(fe->db, st);
}

/*
 * Takedown and its undoing: the status, the sessions ended (takedown
 * only) and the #account event, in one transaction.
 */
static int
set_takedown(const char *did, int down)
{
	static sqlite3_stmt	*up, *dn, *rt;

	if (db_begin(fe->db) == -1)
		return -1;
	if (exec_did(down ? &dn : &up, down ? "UPDATE account SET status = "
	    "'takendown' WHERE did = ?" : "UPDATE account SET status = "
	    "'active' WHERE did = ?", did) == -1 ||
	    (down && exec_did(&rt, "DELETE FROM refresh_token WHERE did = ?",
	    did) == -1) ||
	    events_account(fe->db, did, down ? "takendown" : NULL) == -1 ||
	    db_commit(fe->db) == -1) {
		db_rollback(fe->db);
		return -1;
	}
	events_notify();
	return 0;
}

static int
ctl_takedown(uint32_t id, struct imsg *imsg, int down)
{
	struct auth_account	 acct;
	int			 rc, isdown;

	if ((rc = find_named(id, imsg, &acct)) != 0)
		return rc == -1 ? -1 : 0;
	isdown = strcmp(acct.status, "takendown") == 0;
	if (down && isdown)
		ctl_fail(id, "%s is already disabled", acct.handle);
	else if (!down && !isdown)
		ctl_fail(id, "%s is not disabled (status %s)", acct.handle,
		    acct.status);
	else if (set_takedown(acct.did, down) == -1)
		ctl_fail(id, "database error");
	else {
		log_info("account %s %s by pdsctl", acct.did,
		    down ? "taken down" : "restored");
		send_account(id, acct.did);
	}
	auth_account_clear(&acct);
	return 0;
}

/* A struct ctl_account_req with every string terminated. */
static int
get_req(struct imsg *imsg, struct ctl_account_req *r)
{
	if (imsg_get_data(imsg, r, sizeof(*r)) == -1)
		return -1;
	if (memchr(r->who, '\0', sizeof(r->who)) == NULL ||
	    memchr(r->email, '\0', sizeof(r->email)) == NULL ||
	    memchr(r->password, '\0', sizeof(r->password)) == NULL ||
	    r->who[0] == '\0') {
		sodium_memzero(r, sizeof(*r));
		return -1;
	}
	return 0;
}

static void
ctl_created(void *arg, int status, const char *name, const char *msg,
    const char *did, const char *handle)
{
	uint32_t	 id = (uint32_t)(uintptr_t)arg;

	if (status != 0)
		ctl_fail(id, "%s (%s)", msg, name);
	else {
		log_info("account %s %s created by pdsctl", handle, did);
		send_account(id, did);
	}
}

static int
ctl_create(uint32_t id, struct imsg *imsg)
{
	struct ctl_account_req	 r;
	struct account_params	 p;

	if (get_req(imsg, &r) == -1)
		return -1;
	memset(&p, 0, sizeof(p));
	p.handle = r.who;
	p.email = r.email[0] != '\0' ? r.email : NULL;
	p.password = r.password[0] != '\0' ? r.password : NULL;
	p.admin = 1;
	account_create_start(&p, ctl_created, (void *)(uintptr_t)id);
	sodium_memzero(&r, sizeof(r));
	return 0;
}

/* The new password's hash: stored, and every session of the account ended. */
static void
ctl_pw_hashed(void *arg, const char *hash)
{
	static sqlite3_stmt	*set, *rt;
	struct ctl_pw		*c = arg;
	sqlite3_stmt		*st;

	if (hash == NULL)
		goto fail;
	if (db_begin(fe->db) == -1)
		goto fail;
	if ((st = db_stmt(fe->db, &set, "UPDATE account SET password_hash = ? "
	    "WHERE did = ?")) == NULL)
		goto rollback;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, c->did, -1, SQLITE_TRANSIENT);
	if (db_step_done(fe->db, st) == -1 || exec_did(&rt,
	    "DELETE FROM refresh_token WHERE did = ?", c->did) == -1 ||
	    db_commit(fe->db) == -1)
		goto rollback;
	log_info("account %s: password reset by pdsctl", c->did);
	send_account(c->id, c->did);
	free(c);
	return;
 rollback:
	db_rollback(fe->db);
 fail:
	ctl_fail(c->id, "password not changed");
	free(c);
}

static int
ctl_password(uint32_t id, struct imsg *imsg)
{
	struct ctl_account_req	 r;
	struct auth_account	 acct;
	struct ctl_pw		*c;
	int			 rc;

	if (get_req(imsg, &r) == -1)
		return -1;
	if (r.password[0] == '\0') {
		sodium_memzero(&r, sizeof(r));
		return -1;
	}
	if ((rc = auth_account_find(fe->db, r.who, &acct)) != 0) {
		if (rc == 1)
			ctl_fail(id, "unknown account: %s", r.who);
		else
			ctl_fail(id, "database error");
		sodium_memzero(&r, sizeof(r));
		return 0;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		ctl_fail(id, "out of memory");
	else {
		c->id = id;
		strlcpy(c->did, acct.did, sizeof(c->did));
		if (pwhash_hash_async(r.password, ctl_pw_hashed, c) == -1) {
			ctl_fail(id, "busy: try again");
			free(c);
		}
	}
	sodium_memzero(&r, sizeof(r));
	auth_account_clear(&acct);
	return 0;
}

/* XXXXX-XXXXX in upper-case base32, as the reference's email tokens. */
static void
delete_token(char tok[12])
{
	uint8_t	 rnd[8];
	char	 b32[BASE32_ENCLEN(sizeof(rnd)) + 1];
	int	 i;

	randombytes_buf(rnd, sizeof(rnd));
	base32_encode(rnd, sizeof(rnd), b32, sizeof(b32));
	for (i = 0; i < 10; i++)
		b32[i] = b32[i] >= 'a' && b32[i] <= 'z' ? b32[i] - 'a' + 'A' :
		    b32[i];
	snprintf(tok, 12, "%.5s-%.5s", b32, b32 + 5);
}

static int
ctl_delete_token(uint32_t id, struct imsg *imsg)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct auth_account	 acct;
	struct ctl_token	 t;
	int			 rc;

	if ((rc = find_named(id, imsg, &acct)) != 0)
		return rc == -1 ? -1 : 0;
	memset(&t, 0, sizeof(t));
	strlcpy(t.did, acct.did, sizeof(t.did));
	strlcpy(t.handle, acct.handle, sizeof(t.handle));
	delete_token(t.token);
	t.expires_at = time(NULL) + DELETE_TOKEN_TTL;
	auth_account_clear(&acct);
	if ((st = db_stmt(fe->db, &cache, "INSERT OR REPLACE INTO "
	    "account_delete_token (did, token, expires_at) VALUES (?, ?, ?)"))
	    == NULL) {
		ctl_fail(id, "database error");
		return 0;
	}
	sqlite3_bind_text(st, 1, t.did, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, t.token, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, t.expires_at);
	if (db_step_done(fe->db, st) == -1) {
		ctl_fail(id, "database error");
		return 0;
	}
	control_send(id, IMSG_CTL_ACCOUNT_TOKEN, &t, sizeof(t));
	control_send(id, IMSG_CTL_END, NULL, 0);
	return 0;
}

/*
 * The account and everything of it, as deleteAccount does, without its
 * password or token: the operator's word is enough.  The answer is the
 * account as it was, with its new status.
 */
static int
ctl_delete(uint32_t id, struct imsg *imsg)
{
	struct auth_account	 acct;
	struct ctl_account	 ca;
	int			 rc;

	if ((rc = find_named(id, imsg, &acct)) != 0)
		return rc == -1 ? -1 : 0;
	if (account_get(acct.did, &ca) != 0 || account_delete(acct.did) == -1)
		ctl_fail(id, "%s not deleted: database error", acct.handle);
	else {
		log_info("account %s deleted by pdsctl", acct.did);
		memset(ca.rev, 0, sizeof(ca.rev));
		memset(ca.commit, 0, sizeof(ca.commit));
		ca.has_repo = 0;
		ca.records = 0;
		ca.blob_count = 0;
		ca.blob_bytes = 0;
		strlcpy(ca.status, "deleted", sizeof(ca.status));
		control_send(id, IMSG_CTL_ACCOUNT_INFO, &ca, sizeof(ca));
		control_send(id, IMSG_CTL_END, NULL, 0);
	}
	auth_account_clear(&acct);
	return 0;
}

/*
 * The invite codes, oldest first, or only the one named; each with the
 * count of its uses.
 */
static int
invites_send(uint32_t id, const char *code)
{
	static sqlite3_stmt	*cache;
	sqlite3_stmt		*st;
	struct ctl_invite	 ci;
	int			 rc;

	if ((st = db_stmt(fe->db, &cache, "SELECT c.code, c.available_uses, "
	    "c.disabled, c.for_account, c.created_by, c.created_at, (SELECT "
	    "count(*) FROM invite_use u WHERE u.code = c.code) FROM "
	    "invite_code c WHERE ?1 IS NULL OR c.code = ?1 "
	    "ORDER BY c.created_at, c.code")) == NULL)
		return -1;
	if (code != NULL)
		sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		invite_row(st, &ci);
		control_send(id, IMSG_CTL_INVITE_INFO, &ci, sizeof(ci));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	control_send(id, IMSG_CTL_END, NULL, 0);
	return 0;
}

static int
ctl_invite_create(uint32_t id, struct imsg *imsg)
{
	char			 code[INVITE_CODE_MAX + 1];
	int32_t			 uses;

	if (imsg_get_data(imsg, &uses, sizeof(uses)) == -1 || uses < 1 ||
	    uses > INVITE_USES_MAX)
		return -1;
	if (invite_create(fe->db, "admin", "admin", uses, code,
	    sizeof(code)) == -1 || invites_send(id, code) == -1) {
		ctl_fail(id, "database error");
		return 0;
	}
	log_info("invite code %s made by pdsctl", code);
	return 0;
}

static int
ctl_invite_list(uint32_t id, struct imsg *imsg)
{
	if (imsg_get_len(imsg) != 0)
		return -1;
	if (invites_send(id, NULL) == -1)
		ctl_fail(id, "database error");
	return 0;
}

int
control_account(uint32_t id, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_ACCOUNT_CREATE:
		return ctl_create(id, imsg);
	case IMSG_CTL_ACCOUNT_LIST:
		return ctl_list(id, imsg);
	case IMSG_CTL_ACCOUNT_SHOW:
		return ctl_show(id, imsg);
	case IMSG_CTL_ACCOUNT_DISABLE:
		return ctl_takedown(id, imsg, 1);
	case IMSG_CTL_ACCOUNT_ENABLE:
		return ctl_takedown(id, imsg, 0);
	case IMSG_CTL_ACCOUNT_PASSWORD:
		return ctl_password(id, imsg);
	case IMSG_CTL_ACCOUNT_DELETE_TOKEN:
		return ctl_delete_token(id, imsg);
	case IMSG_CTL_ACCOUNT_DELETE:
		return ctl_delete(id, imsg);
	case IMSG_CTL_INVITE_CREATE:
		return ctl_invite_create(id, imsg);
	case IMSG_CTL_INVITE_LIST:
		return ctl_invite_list(id, imsg);
	}
	return -1;
}
