/*
 * Sessions in-process: the key file, minting and checking tokens,
 * refresh rotation with its grace period, revocation, app passwords and
 * their scopes, account checks; and the password pool on a real event
 * loop that keeps running while a hash is computed.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event.h>
#include <json.h>
#include <sodium.h>
#include <sqlite3.h>

#include "auth.h"
#include "jwt.h"
#include "pdsd.h"

#define ALICE	"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
#define BOB	"did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
#define CAROL	"did:plc:cccccccccccccccccccccccc"
#define NOBODY	"did:plc:zzzzzzzzzzzzzzzzzzzzzzzz"
#define T0	1700000000

static char	 keydir[64];

static void
exec_ok(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static int
setup(void **state)
{
	sqlite3	*db;
	char	 err[256];

	strlcpy(keydir, "/tmp/test_auth.XXXXXX", sizeof(keydir));
	if (mkdtemp(keydir) == NULL || auth_init(keydir) == -1)
		return -1;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    db_migrate(db, err, sizeof(err)) == -1)
		return -1;
	exec_ok(db, "PRAGMA foreign_keys = ON");
	exec_ok(db, "INSERT INTO account (did, handle, email, password_hash, "
	    "signing_key, status, created_at) VALUES "
	    "('" ALICE "', 'alice.test', 'alice@example.com', NULL, 'k', "
	    "'active', '2024-01-01T00:00:00Z'), "
	    "('" BOB "', 'bob.test', NULL, NULL, 'k', 'takendown', "
	    "'2024-01-01T00:00:00Z'), "
	    "('" CAROL "', 'carol.test', NULL, NULL, 'k', 'deactivated', "
	    "'2024-01-01T00:00:00Z')");
	fe->db = db;
	strlcpy(fe->cfg.hostname, "pds.test", sizeof(fe->cfg.hostname));
	*state = db;
	return 0;
}

static int
teardown(void **state)
{
	char	 path[128];

	db_close(*state);
	fe->db = NULL;
	auth_shutdown();
	snprintf(path, sizeof(path), "%s/%s", keydir, AUTH_KEY_FILE);
	unlink(path);
	rmdir(keydir);
	return 0;
}

/* Verify as auth_check does; returns the error name, NULL if good. */
static const char *
check(const char *tok, int want, time_t now, struct auth *a,
    const char **msg)
{
	const char	*err, *m;
	int		 status;

	if (auth_verify_token(fe->db, tok, strlen(tok), want, now, a,
	    &status, &err, &m) == 0)
		return NULL;
	if (msg != NULL)
		*msg = m;
	return err;
}

static void
jti_of(const char *tok, char *jti)
{
	struct auth	 a;

	assert_null(check(tok, AUTH_REFRESH | AUTH_ALLOW_EXPIRED, T0, &a,
	    NULL));
	strlcpy(jti, a.jti, AUTH_JTI_LEN + 1);
}

static void
test_key_file(void **state)
{
	struct auth_tokens	 t;
	struct auth		 a;
	struct stat		 st;
	char			 path[128];

	snprintf(path, sizeof(path), "%s/%s", keydir, AUTH_KEY_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, JWT_KEYLEN);
	assert_int_equal(auth_session_create(*state, ALICE, NULL,
	    AUTH_SCOPE_ACCESS, T0, &t), 0);
	/* Reloaded from the file, the key still checks old tokens. */
	auth_shutdown();
	assert_int_equal(auth_init(keydir), 0);
	assert_null(check(t.access, AUTH_ACCESS_FULL, T0 + 1, &a, NULL));
	/* A different key does not. */
	auth_shutdown();
	unlink(path);
	assert_int_equal(auth_init(keydir), 0);
	assert_string_equal(check(t.access, AUTH_ACCESS_FULL, T0 + 1, &a,
	    NULL), "InvalidToken");
	auth_tokens_free(&t);
}

static void
test_tokens(void **state)
{
	struct auth_tokens	 t;
	struct auth		 a;
	struct jwt_claims	 c;
	const char		*msg;
	uint8_t			 k[JWT_KEYLEN];
	char			 path[128];
	FILE			*f;

	assert_int_equal(auth_session_create(*state, ALICE, NULL,
	    AUTH_SCOPE_ACCESS, T0, &t), 0);
	assert_null(check(t.access, AUTH_ACCESS_FULL, T0, &a, NULL));
	assert_string_equal(a.did, ALICE);
	assert_int_equal(a.scope, AUTH_SCOPE_ACCESS);
	assert_null(check(t.refresh, AUTH_REFRESH, T0, &a, NULL));
	assert_int_equal(strlen(a.jti), AUTH_JTI_LEN);

	/* The claims as the reference sets them, read with the key file. */
	snprintf(path, sizeof(path), "%s/%s", keydir, AUTH_KEY_FILE);
	assert_non_null(f = fopen(path, "r"));
	assert_int_equal(fread(k, 1, sizeof(k), f), sizeof(k));
	fclose(f);
	assert_int_equal(jwt_hs256_verify(k, t.access, strlen(t.access), &c),
	    0);
	assert_string_equal(c.typ, "at+jwt");
	assert_string_equal(c.aud, "did:web:pds.test");
	assert_int_equal(c.exp - c.iat, 2 * 3600);
	assert_int_equal(jwt_hs256_verify(k, t.refresh, strlen(t.refresh),
	    &c), 0);
	assert_string_equal(c.typ, "refresh+jwt");
	assert_string_equal(c.scope, "com.atproto.refresh");
	assert_int_equal(c.exp - c.iat, 90 * 86400);

	/* Each kind where the other is expected: the captured answers. */
	assert_string_equal(check(t.refresh, AUTH_ACCESS_APP, T0, &a, &msg),
	    "InvalidToken");
	assert_string_equal(msg, "Token could not be verified");
	assert_string_equal(check(t.access, AUTH_REFRESH, T0, &a, &msg),
	    "InvalidToken");
	assert_string_equal(msg, "Token could not be verified");
	assert_string_equal(check("not-a-jwt", AUTH_ACCESS_APP, T0, &a,
	    &msg), "InvalidToken");
	assert_string_equal(msg, "Token could not be verified");

	/* Expiry: at exp exactly, as jose counts. */
	assert_null(check(t.access, AUTH_ACCESS_APP, T0 + 7199, &a, NULL));
	assert_string_equal(check(t.access, AUTH_ACCESS_APP, T0 + 7200, &a,
	    &msg), "ExpiredToken");
	assert_string_equal(msg, "Token has expired");
	assert_string_equal(check(t.refresh, AUTH_REFRESH, T0 + 91 * 86400,
	    &a, NULL), "ExpiredToken");
	assert_null(check(t.refresh, AUTH_REFRESH | AUTH_ALLOW_EXPIRED,
	    T0 + 91 * 86400, &a, NULL));

	/* Another server's token (another audience). */
	strlcpy(fe->cfg.hostname, "other.test", sizeof(fe->cfg.hostname));
	assert_string_equal(check(t.access, AUTH_ACCESS_APP, T0, &a, NULL),
	    "InvalidToken");
	strlcpy(fe->cfg.hostname, "pds.test", sizeof(fe->cfg.hostname));
	auth_tokens_free(&t);
}

static void
test_scopes(void **state)
{
	struct auth_tokens	 app, priv;
	struct auth		 a;
	const char		*msg;

	assert_int_equal(auth_session_create(*state, ALICE, "app",
	    AUTH_SCOPE_APPPASS, T0, &app), 0);
	assert_int_equal(auth_session_create(*state, ALICE, "priv",
	    AUTH_SCOPE_APPPRIV, T0, &priv), 0);
	assert_null(check(app.access, AUTH_ACCESS_APP, T0, &a, NULL));
	assert_int_equal(a.scope, AUTH_SCOPE_APPPASS);
	assert_string_equal(check(app.access, AUTH_ACCESS_PRIVILEGED, T0, &a,
	    &msg), "InvalidToken");
	assert_string_equal(msg, "Bad token scope");
	assert_string_equal(check(app.access, AUTH_ACCESS_FULL, T0, &a,
	    NULL), "InvalidToken");
	assert_null(check(priv.access, AUTH_ACCESS_PRIVILEGED, T0, &a, NULL));
	assert_int_equal(a.scope, AUTH_SCOPE_APPPRIV);
	assert_string_equal(check(priv.access, AUTH_ACCESS_FULL, T0, &a,
	    &msg), "InvalidToken");
	assert_string_equal(msg, "Bad token scope");
	auth_tokens_free(&app);
	auth_tokens_free(&priv);
}

static void
test_account_checks(void **state)
{
	struct auth_tokens	 t;
	struct auth		 a;
	const char		*msg;
	int			 want = AUTH_ACCESS_APP | AUTH_CHECK_TAKEDOWN |
				    AUTH_CHECK_DEACTIVATED;

	assert_int_equal(auth_session_create(*state, BOB, NULL,
	    AUTH_SCOPE_ACCESS, T0, &t), 0);
	assert_string_equal(check(t.access, want, T0, &a, &msg),
	    "AccountTakedown");
	assert_null(check(t.access, AUTH_ACCESS_APP, T0, &a, NULL));
	auth_tokens_free(&t);
	assert_int_equal(auth_session_create(*state, CAROL, NULL,
	    AUTH_SCOPE_ACCESS, T0, &t), 0);
	assert_string_equal(check(t.access, want, T0, &a, &msg),
	    "AccountDeactivated");
	assert_null(check(t.access, AUTH_ACCESS_APP | AUTH_CHECK_TAKEDOWN,
	    T0, &a, NULL));
	auth_tokens_free(&t);
	/* Tokens for an account that is gone (no refresh row: FK). */
	assert_int_equal(auth_session_create(*state, NOBODY, NULL,
	    AUTH_SCOPE_ACCESS, T0, &t), -1);
	assert_null(t.access);
}

static void
test_takendown_session(void **state)
{
	struct auth_tokens	 t, t2;
	struct auth		 a;
	char			 jti[AUTH_JTI_LEN + 1];

	assert_int_equal(auth_session_create(*state, BOB, NULL,
	    AUTH_SCOPE_TAKENDOWN, T0, &t), 0);
	assert_string_equal(check(t.access, AUTH_ACCESS_APP, T0, &a, NULL),
	    "InvalidToken");
	assert_null(check(t.access, AUTH_ACCESS_APP | AUTH_SCOPE_TAKENDOWN,
	    T0, &a, NULL));
	/* Its refresh token was never stored: it cannot be rotated. */
	jti_of(t.refresh, jti);
	assert_int_equal(auth_session_refresh(*state, jti, T0, &t2), 1);
	auth_tokens_free(&t);
}

static void
test_rotation(void **state)
{
	struct auth_tokens	 t0, t1, t2, t3, t4;
	char			 j0[AUTH_JTI_LEN + 1], j1[AUTH_JTI_LEN + 1];
	char			 j2[AUTH_JTI_LEN + 1], j3[AUTH_JTI_LEN + 1];

	assert_int_equal(auth_session_create(*state, ALICE, NULL,
	    AUTH_SCOPE_ACCESS, T0, &t0), 0);
	jti_of(t0.refresh, j0);
	assert_int_equal(auth_session_refresh(*state, j0, T0 + 10, &t1), 0);
	jti_of(t1.refresh, j1);
	assert_string_not_equal(j0, j1);
	/* Reuse within the grace: the same successor. */
	assert_int_equal(auth_session_refresh(*state, j0, T0 + 3600, &t2), 0);
	jti_of(t2.refresh, j2);
	assert_string_equal(j1, j2);
	/* The successor rotates on its own. */
	assert_int_equal(auth_session_refresh(*state, j1, T0 + 3700, &t3), 0);
	jti_of(t3.refresh, j3);
	assert_string_not_equal(j3, j1);
	/* After the grace the spent token is dead. */
	assert_int_equal(auth_session_refresh(*state, j0, T0 + 10 + 7200, &t4),
	    1);
	assert_null(t4.access);
	/* Revocation (deleteSession). */
	assert_int_equal(auth_session_revoke(*state, j3), 0);
	assert_int_equal(auth_session_refresh(*state, j3, T0 + 3800, &t4), 1);
	/* An id never issued. */
	assert_int_equal(auth_session_refresh(*state, "bogus", T0, &t4), 1);
	auth_tokens_free(&t0);
	auth_tokens_free(&t1);
	auth_tokens_free(&t2);
	auth_tokens_free(&t3);
}

static void
test_apppass(void **state)
{
	struct auth_tokens	 t, t2;
	struct auth		 a;
	struct json_object	*l;
	uint8_t			 salt[PWHASH_SALT_LEN], d1[32], d2[32];
	char			 pw[AUTH_APPPASS_LEN + 1], name[64], jti[64];
	char			 created[64];
	int			 priv;

	apppass_generate(pw);
	assert_int_equal(strlen(pw), AUTH_APPPASS_LEN);
	assert_true(apppass_shaped(pw));
	assert_false(apppass_shaped("abcd-efgh-ijkl-mno1"));
	assert_false(apppass_shaped("abcd-efgh-ijkl-mnop-"));
	assert_false(apppass_shaped("ABCD-efgh-ijkl-mnop"));
	apppass_salt(ALICE, salt);
	memset(d1, 1, sizeof(d1));
	memset(d2, 2, sizeof(d2));
	assert_int_equal(apppass_store(*state, ALICE, "phone", d1, 0,
	    created, sizeof(created)), 0);
	assert_int_equal(strlen(created), 24);
	assert_int_equal(apppass_store(*state, ALICE, "phone", d2, 0,
	    created, sizeof(created)), 1);
	assert_int_equal(apppass_store(*state, ALICE, "laptop", d2, 1,
	    created, sizeof(created)), 0);
	assert_int_equal(apppass_count(*state, ALICE), 2);
	assert_int_equal(apppass_find(*state, ALICE, d2, 0, name, sizeof(name),
	    &priv), 0);
	assert_string_equal(name, "laptop");
	assert_int_equal(priv, 1);
	assert_int_equal(apppass_find(*state, BOB, d2, 0, name, sizeof(name),
	    &priv), 1);
	/* New ones are not taken for hashes at the old limits. */
	assert_int_equal(apppass_find(*state, ALICE, d2, 1, name, sizeof(name),
	    &priv), 1);
	assert_int_equal(apppass_count_old(*state, ALICE), 0);
	/* One stored before the limits changed: bare hex. */
	assert_int_equal(sqlite3_exec(*state, "INSERT INTO app_password "
	    "(did, name, password_hash, created_at) VALUES ('" ALICE "', "
	    "'old', '03030303030303030303030303030303"
	    "03030303030303030303030303030303', '2024-01-01T00:00:00.000Z')",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(apppass_count_old(*state, ALICE), 1);
	memset(d1, 3, sizeof(d1));
	assert_int_equal(apppass_find(*state, ALICE, d1, 1, name, sizeof(name),
	    &priv), 0);
	assert_string_equal(name, "old");
	assert_int_equal(apppass_find(*state, ALICE, d1, 0, name, sizeof(name),
	    &priv), 1);
	assert_int_equal(apppass_revoke(*state, ALICE, "old"), 0);
	l = apppass_list(*state, ALICE);
	assert_int_equal(json_object_array_length(l), 2);
	json_object_put(l);

	/* A privileged app password's session stays privileged on refresh. */
	assert_int_equal(auth_session_create(*state, ALICE, "laptop",
	    AUTH_SCOPE_APPPRIV, T0, &t), 0);
	jti_of(t.refresh, jti);
	assert_int_equal(auth_session_refresh(*state, jti, T0 + 5, &t2), 0);
	assert_null(check(t2.access, AUTH_ACCESS_APP, T0 + 5, &a, NULL));
	assert_int_equal(a.scope, AUTH_SCOPE_APPPRIV);
	/* Revoking it ends its sessions, successor included. */
	assert_int_equal(apppass_revoke(*state, ALICE, "laptop"), 0);
	auth_tokens_free(&t);
	jti_of(t2.refresh, jti);
	assert_int_equal(auth_session_refresh(*state, jti, T0 + 6, &t), 1);
	assert_int_equal(apppass_count(*state, ALICE), 1);
	auth_tokens_free(&t2);
}

static void
test_account_find(void **state)
{
	struct auth_account	 acct;

	assert_int_equal(auth_account_find(*state, "ALICE.Test", &acct), 0);
	assert_string_equal(acct.did, ALICE);
	assert_true(auth_account_active(&acct));
	auth_account_clear(&acct);
	assert_int_equal(auth_account_find(*state, "Alice@Example.com",
	    &acct), 0);
	assert_string_equal(acct.handle, "alice.test");
	auth_account_clear(&acct);
	assert_int_equal(auth_account_find(*state, BOB, &acct), 0);
	assert_true(auth_account_takendown(&acct));
	assert_null(acct.password_hash);
	auth_account_clear(&acct);
	assert_int_equal(auth_account_find(*state, "nobody.test", &acct), 1);
	assert_int_equal(auth_account_find(*state, "alice.test@", &acct), 1);
}

/*
 * The password pool on a real loop.
 */
struct pwtest {
	struct event_base	*base;
	struct event		 tick;
	int			 ticks;
	int			 ticks_at_hash;
	char			 hash[crypto_pwhash_STRBYTES];
	int			 verified[2];
	int			 nverified;
	uint8_t			 derived[4][PWHASH_DERIVED_LEN];
	int			 nderived;
	int			 pending;
};

static void
pw_tick(int fd, short ev, void *arg)
{
	struct pwtest	*p = arg;

	p->ticks++;
}

static void
pw_done(struct pwtest *p)
{
	if (--p->pending == 0)
		event_base_loopbreak(p->base);
}

static void
pw_verified(void *arg, int ok)
{
	struct pwtest	*p = arg;

	p->verified[p->nverified++] = ok;
	pw_done(p);
}

static void
pw_hashed(void *arg, const char *hash)
{
	struct pwtest	*p = arg;

	assert_non_null(hash);
	strlcpy(p->hash, hash, sizeof(p->hash));
	p->ticks_at_hash = p->ticks;
	/* Chained from a callback, as the login does. */
	assert_int_equal(pwhash_verify_async(hash, "hunter2", pw_verified, p),
	    0);
	assert_int_equal(pwhash_verify_async(hash, "hunter3", pw_verified, p),
	    0);
	p->pending += 2;
	pw_done(p);
}

static void
pw_derived(void *arg, const uint8_t *d)
{
	struct pwtest	*p = arg;

	assert_non_null(d);
	memcpy(p->derived[p->nderived++], d, PWHASH_DERIVED_LEN);
	pw_done(p);
}

static void
pw_never(void *arg, const char *hash)
{
	fail_msg("a dropped job called back");
}

static void
test_pwhash(void **state)
{
	struct pwtest	 p;
	struct timeval	 tv = { 0, 2000 };
	uint8_t		 s1[PWHASH_SALT_LEN], s2[PWHASH_SALT_LEN];
	int		 i, same, refused = 0;

	memset(&p, 0, sizeof(p));
	memset(s1, 1, sizeof(s1));
	memset(s2, 2, sizeof(s2));
	p.base = event_base_new();
	assert_int_equal(pwhash_init(p.base), 0);
	event_assign(&p.tick, p.base, -1, EV_PERSIST, pw_tick, &p);
	evtimer_add(&p.tick, &tv);

	assert_int_equal(pwhash_hash_async("hunter2", pw_hashed, &p), 0);
	assert_int_equal(pwhash_derive_async(s1, "abcd-efgh-ijkl-mnop", 0,
	    pw_derived, &p), 0);
	assert_int_equal(pwhash_derive_async(s1, "abcd-efgh-ijkl-mnop", 0,
	    pw_derived, &p), 0);
	assert_int_equal(pwhash_derive_async(s2, "abcd-efgh-ijkl-mnop", 0,
	    pw_derived, &p), 0);
	p.pending = 4;
	event_base_dispatch(p.base);

	assert_int_equal(strncmp(p.hash, "$argon2id$", 10), 0);
	assert_non_null(strstr(p.hash, "m=12288,t=3,p=1"));
	/* The loop went on while the hash ran. */
	if (p.ticks_at_hash < 3)
		fail_msg("only %d timer ticks during a hash", p.ticks_at_hash);
	assert_int_equal(p.nverified, 2);
	assert_true((p.verified[0] == 1 && p.verified[1] == 0) ||
	    (p.verified[0] == 0 && p.verified[1] == 1));
	assert_int_equal(p.nderived, 3);
	/* Finished in any order: the two of salt s1 alike, s2's not. */
	same = (memcmp(p.derived[0], p.derived[1], PWHASH_DERIVED_LEN) == 0) +
	    (memcmp(p.derived[0], p.derived[2], PWHASH_DERIVED_LEN) == 0) +
	    (memcmp(p.derived[1], p.derived[2], PWHASH_DERIVED_LEN) == 0);
	assert_int_equal(same, 1);

	/* At the old limits, the same salt derives another hash. */
	p.pending = 1;
	assert_int_equal(pwhash_derive_async(s1, "abcd-efgh-ijkl-mnop", 1,
	    pw_derived, &p), 0);
	event_base_dispatch(p.base);
	assert_int_equal(p.nderived, 4);
	for (i = 0; i < 3; i++)
		assert_memory_not_equal(p.derived[i], p.derived[3],
		    PWHASH_DERIVED_LEN);

	/* The queue is bounded; what is refused never calls back. */
	for (i = 0; i < 80; i++)
		if (pwhash_hash_async("x", pw_never, &p) == -1)
			refused++;
	assert_true(refused >= 80 - 64);
	pwhash_shutdown();
	evtimer_del(&p.tick);
	event_base_free(p.base);
}

/* A hash made before the limits changed (libsodium's interactive). */
static const char old_hash[] = "$argon2id$v=19$m=65536,t=2,p=1$"
    "xRuWtuzP0NeNx5+6pdYXEA$C5xhtIo5qGWJSbwfjvHbmA9rVrBIiFZYe5XpQ+jfa2s";

static long
vm_hwm_kib(void)
{
	FILE	*f;
	char	 line[128];
	long	 kib = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void
pw_ok(void *arg, const char *hash)
{
	struct pwtest	*p = arg;

	assert_non_null(hash);
	pw_done(p);
}

struct logintest {
	struct event_base	*base;
	int			 pending;
	int			 ok[3];
	char			 rehash[3][crypto_pwhash_STRBYTES];
	int			 n;
};

static void
pw_login(void *arg, int ok, const char *rehash)
{
	struct logintest	*t = arg;

	t->ok[t->n] = ok;
	if (rehash != NULL)
		strlcpy(t->rehash[t->n], rehash, sizeof(t->rehash[0]));
	t->n++;
	if (--t->pending == 0)
		event_base_loopbreak(t->base);
}

/* A login at an old hash gets it made again at the new limits. */
static void
test_pwhash_login(void **state)
{
	struct logintest	 t;

	memset(&t, 0, sizeof(t));
	t.base = event_base_new();
	assert_int_equal(pwhash_init(t.base), 0);
	/* One thread: called back in the order submitted. */
	assert_int_equal(pwhash_login_async(old_hash, "hunter2", pw_login,
	    &t), 0);
	assert_int_equal(pwhash_login_async(old_hash, "hunter3", pw_login,
	    &t), 0);
	assert_int_equal(pwhash_login_async(pwhash_dummy, "hunter2",
	    pw_login, &t), 0);
	t.pending = 3;
	event_base_dispatch(t.base);
	pwhash_shutdown();
	event_base_free(t.base);
	assert_int_equal(t.ok[0], 1);
	assert_non_null(strstr(t.rehash[0], "$m=12288,t=3,p=1$"));
	assert_int_equal(crypto_pwhash_str_verify(t.rehash[0], "hunter2", 7),
	    0);
	assert_int_equal(t.ok[1], 0);
	assert_string_equal(t.rehash[1], "");
	assert_int_equal(t.ok[2], 0);
	assert_string_equal(t.rehash[2], "");

	/* One at our limits is left as it is. */
	strlcpy(t.rehash[2], t.rehash[0], sizeof(t.rehash[2]));
	memset(t.rehash[0], 0, sizeof(t.rehash[0]));
	t.n = 0;
	t.pending = 1;
	t.base = event_base_new();
	assert_int_equal(pwhash_init(t.base), 0);
	assert_int_equal(pwhash_login_async(t.rehash[2], "hunter2", pw_login,
	    &t), 0);
	event_base_dispatch(t.base);
	pwhash_shutdown();
	event_base_free(t.base);
	assert_int_equal(t.ok[0], 1);
	assert_string_equal(t.rehash[0], "");
}

/*
 * Old hashes still verify, and the hashes run one at a time: two old
 * ones (64 MiB each) and four new ones together peak near 64 MiB, not
 * 128 as two old ones side by side.
 */
static void
test_pwhash_memory(void **state)
{
	struct pwtest	 p;
	FILE		*f;
	long		 before, after;
	int		 i;

	memset(&p, 0, sizeof(p));
	p.base = event_base_new();
	assert_int_equal(pwhash_init(p.base), 0);
	/* Reset the high-water mark (Linux: "5" to clear_refs). */
	assert_non_null(f = fopen("/proc/self/clear_refs", "w"));
	fputs("5", f);
	fclose(f);
	before = vm_hwm_kib();
	assert_true(before > 0);
	for (i = 0; i < 6; i++) {
		if (i == 1 || i == 4) {
			assert_int_equal(pwhash_verify_async(old_hash,
			    i == 1 ? "hunter2" : "hunter3", pw_verified, &p), 0);
		} else
			assert_int_equal(pwhash_hash_async("x", pw_ok, &p), 0);
	}
	p.pending = 6;
	event_base_dispatch(p.base);
	after = vm_hwm_kib();
	/* Before any check: a failure must not leave the pool running. */
	pwhash_shutdown();
	event_base_free(p.base);
	assert_int_equal(p.nverified, 2);
	assert_true((p.verified[0] == 1 && p.verified[1] == 0) ||
	    (p.verified[0] == 0 && p.verified[1] == 1));
	if (after - before > 64 * 1024 + 8 * 1024)
		fail_msg("hashes took %ld KiB at once", after - before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test(test_pwhash_memory),
		cmocka_unit_test(test_pwhash_login),
		cmocka_unit_test_setup_teardown(test_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_checks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_takendown_session, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_apppass, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_account_find, setup,
		    teardown),
		cmocka_unit_test(test_pwhash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
