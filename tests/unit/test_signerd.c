/*
 * The real signerd binary, started as pdsd starts it (parent channel on
 * fd 3, frontend on fd 4) over a temporary key directory, and driven
 * through the frontend's own client (pdsd/signer.c).  The plain build
 * runs signerd under its seccomp filter, so these tests also show the
 * allow-list is enough for everything signerd does.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "cbor.h"
#include "cid.h"
#include "crypto.h"
#include "didkey.h"
#include "dm.h"
#include "encoding.h"
#include "imsg.h"
#include "imsgev.h"
#include "pds_imsg.h"
#include "pdsd.h"
#include "commit.h"
#include "signer_proto.h"
#include "syntax.h"
#include "tid.h"

struct signerd {
	pid_t		 pid;
	int		 pfd;		/* our end of its fd 3 */
	int		 ffd;		/* our end of its fd 4 */
	struct imsgev	 iev;
	char		 dir[64];
	char		 rotation[DIDKEY_BUFSZ];
	char		 floor[TID_BUFSZ];	/* its first message */
	int		 gone;
};

struct answer {
	int		 done;
	int		 ok;
	uint8_t		 reply[512];
	size_t		 len;
	char		 err[256];
	char		 did[PLC_DID_BUFSZ];
};

struct account {
	char		 key[DIDKEY_BUFSZ];
	char		 did[PLC_DID_BUFSZ];
	struct cid	 op;		/* the genesis operation */
};

static struct signerd	 S;
static void	settle(struct answer *, const char *, const void *, size_t,
		    const char *);
static void	write_file(const char *, const char *);
static int		 timed_out;

static const char *
signerd_path(void)
{
	const char	*p = getenv("PDSD_SIGNERD");

	return p != NULL ? p : "./signerd/signerd";
}

static void
dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_handle_io(iev, event) == -1) {
		S.gone = 1;
		event_del(&iev->ev);
		signer_lost();
		return;
	}
	while ((n = imsg_get(&iev->ibuf, &imsg)) > 0) {
		assert_true(imsg_get_type(&imsg) == IMSG_SIGN_RESULT ||
		    imsg_get_type(&imsg) == IMSG_SIGN_ERROR);
		signer_dispatch(&imsg);
		imsg_free(&imsg);
	}
	assert_true(n == 0);
}

/* Starts signerd on S.dir; returns its exit status if it will not run. */
static int
spawn(void)
{
	struct imsgbuf	 ib;
	struct imsg	 imsg;
	struct pollfd	 pfd;
	int		 psv[2], fsv[2], st;
	ssize_t		 n = 0;

	assert_int_equal(access(signerd_path(), X_OK), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, psv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fsv), 0);
	assert_true((S.pid = fork()) != -1);
	if (S.pid == 0) {
		if (dup2(psv[1], 3) == -1 || dup2(fsv[1], 4) == -1)
			_exit(127);
		closefrom(5);
		execl(signerd_path(), "signerd", "-d", "-K", S.dir,
		    (char *)NULL);
		_exit(127);
	}
	close(psv[1]);
	close(fsv[1]);
	S.pfd = psv[0];
	S.ffd = fsv[0];
	S.gone = 0;
	assert_int_equal(imsgbuf_init(&ib, S.pfd), 0);
	pfd.fd = S.pfd;
	pfd.events = POLLIN;
	while (n == 0) {
		assert_int_equal(poll(&pfd, 1, 20000), 1);
		if (imsgbuf_read(&ib) != 1)
			break;
		n = imsg_get(&ib, &imsg);
	}
	if (n <= 0) {
		imsgbuf_clear(&ib);
		close(S.pfd);
		close(S.ffd);
		assert_int_equal(waitpid(S.pid, &st, 0), S.pid);
		S.pid = -1;
		return st;
	}
	assert_int_equal(imsg_get_type(&imsg), IMSG_SIGNER_READY);
	assert_int_equal(signer_didkey_decode(imsg.data, imsg_get_len(&imsg),
	    S.rotation), 0);
	imsg_free(&imsg);
	imsgbuf_clear(&ib);
	/* The floor comes first on the frontend's channel, unasked. */
	assert_int_equal(imsgbuf_init(&ib, S.ffd), 0);
	pfd.fd = S.ffd;
	for (n = 0; n == 0; n = imsg_get(&ib, &imsg)) {
		assert_int_equal(poll(&pfd, 1, 20000), 1);
		assert_int_equal(imsgbuf_read(&ib), 1);
	}
	assert_true(n > 0);
	assert_int_equal(imsg_get_type(&imsg), IMSG_SIGN_FLOOR);
	assert_int_equal(imsg_get_string(&imsg, S.floor, sizeof(S.floor)), 0);
	assert_true(syntax_is_tid(S.floor, strlen(S.floor)));
	signer_dispatch(&imsg);		/* raises our TID clock */
	imsg_free(&imsg);
	imsgbuf_clear(&ib);
	assert_int_equal(imsgev_init(&S.iev, S.ffd, 0, dispatch, NULL), 0);
	imsgbuf_set_maxsize(&S.iev.ibuf, PDS_IMSG_MAXSIZE);
	signer_init(&S.iev);
	return 0;
}

/* Stops signerd the way pdsd does (closing its channels); its status. */
static int
stop(void)
{
	int	 st;

	if (S.pid == -1)
		return 0;
	if (!S.gone)
		event_del(&S.iev.ev);
	imsgbuf_clear(&S.iev.ibuf);
	close(S.ffd);
	close(S.pfd);
	signer_lost();
	assert_int_equal(waitpid(S.pid, &st, 0), S.pid);
	S.pid = -1;
	return st;
}

static int
setup(void **state)
{
	strlcpy(S.dir, "/tmp/signerd-test.XXXXXX", sizeof(S.dir));
	assert_non_null(mkdtemp(S.dir));
	assert_int_equal(spawn(), 0);
	return 0;
}

static void
rmdir_all(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[512];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (de->d_name[0] != '.')
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static int
teardown(void **state)
{
	stop();
	rmdir_all(S.dir);
	return 0;
}

static void
on_timeout(int fd, short ev, void *arg)
{
	timed_out = 1;
}

static void
run_until(struct answer *a)
{
	struct event	 t;
	struct timeval	 tv = { 20, 0 };

	timed_out = 0;
	evtimer_set(&t, on_timeout, NULL);
	evtimer_add(&t, &tv);
	while (!a->done && !timed_out)
		event_loop(EVLOOP_ONCE);
	evtimer_del(&t);
	assert_false(timed_out);
}

static void
raw_cb(void *arg, int ok, const uint8_t *reply, size_t len, const char *err)
{
	struct answer	*a = arg;

	a->done = 1;
	a->ok = ok;
	if (ok) {
		assert_true(len <= sizeof(a->reply));
		memcpy(a->reply, reply, len);
		a->len = len;
	} else
		strlcpy(a->err, err, sizeof(a->err));
}

static void
sig_cb(void *arg, const uint8_t *sig, const char *err)
{
	raw_cb(arg, sig != NULL, sig, SIG_LEN, err);
}

static void
plc_cb(void *arg, const uint8_t *sig, const char *did, const char *err)
{
	struct answer	*a = arg;

	raw_cb(arg, sig != NULL, sig, SIG_LEN, err);
	if (did != NULL)
		strlcpy(a->did, did, sizeof(a->did));
}

static void
key_cb(void *arg, const char *didkey, const char *err)
{
	raw_cb(arg, didkey != NULL, (const uint8_t *)didkey,
	    didkey != NULL ? strlen(didkey) + 1 : 0, err);
}

/* One request through the raw interface; the answer in *a. */
static void
call(uint32_t type, const void *p, size_t len, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(signer_request(type, p, len, raw_cb, a), 0);
	run_until(a);
}

static void
refused(uint32_t type, const void *p, size_t len, const char *why)
{
	struct answer	 a;

	call(type, p, len, &a);
	assert_false(a.ok);
	settle(&a, NULL, NULL, 0, why);
}

static void
key_create(char out[DIDKEY_BUFSZ])
{
	struct answer	 a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(signer_key_create(key_cb, &a), 0);
	run_until(&a);
	assert_true(a.ok);
	strlcpy(out, (char *)a.reply, DIDKEY_BUFSZ);
}

static void
verify(const char *didkey, const void *msg, size_t len, const uint8_t *sig)
{
	struct pubkey	 pk;

	assert_int_equal(didkey_decode(didkey, strlen(didkey), &pk), 0);
	assert_int_equal(pubkey_verify(&pk, msg, len, sig, SIG_LEN), 0);
}

/*
 * Waits for the answer: a signature must verify with key over msg, a
 * refusal must give a reason containing why.
 */
static void
settle(struct answer *a, const char *key, const void *msg, size_t len,
    const char *why)
{
	run_until(a);
	if (a->ok)
		verify(key, msg, len, a->reply);
	else if (why != NULL && strstr(a->err, why) == NULL)
		fail_msg("refused with \"%s\", expected \"%s\"", a->err, why);
}

/* An unsigned PLC operation. */
static struct dm *
plc_op(const char *rot, const char *atproto, const char *handle,
    const struct cid *prev)
{
	struct dm	*op, *a, *vm, *sv, *pds;
	char		 s[CID_STRSZ], aka[300];

	op = dm_map();
	a = dm_array();
	dm_array_push(a, dm_str(rot));
	vm = dm_map();
	dm_map_set(vm, "atproto", dm_str(atproto));
	pds = dm_map();
	dm_map_set(pds, "type", dm_str("AtprotoPersonalDataServer"));
	dm_map_set(pds, "endpoint", dm_str("https://pds.test"));
	sv = dm_map();
	dm_map_set(sv, "atproto_pds", pds);
	dm_map_set(op, "type", dm_str("plc_operation"));
	dm_map_set(op, "rotationKeys", a);
	dm_map_set(op, "verificationMethods", vm);
	a = dm_array();
	snprintf(aka, sizeof(aka), "at://%s", handle);
	dm_array_push(a, dm_str(aka));
	dm_map_set(op, "alsoKnownAs", a);
	dm_map_set(op, "services", sv);
	if (prev == NULL)
		dm_map_set(op, "prev", dm_null());
	else {
		assert_int_not_equal(cid_to_str(prev, s, sizeof(s)), -1);
		dm_map_set(op, "prev", dm_str(s));
	}
	assert_int_equal(dm_check_complete(op), 0);
	return op;
}

static uint8_t *
enc(const struct dm *v, size_t *len)
{
	uint8_t	*p;

	assert_non_null(p = dm_cbor_encode_mem(v, len));
	return p;
}

/*
 * The DID and CID of a signed genesis operation, computed here from the
 * spec's formula rather than with signer_plc_signed().
 */
static void
plc_expect(const struct dm *op, const uint8_t *sig, char did[PLC_DID_BUFSZ],
    struct cid *cid)
{
	struct dm	*s = dm_copy(op);
	char		 b64[100], b32[64];
	uint8_t		*p, h[SHA256_LEN];
	size_t		 len;

	base64url_encode(sig, SIG_LEN, b64, sizeof(b64));
	assert_int_equal(strlen(b64), 86);
	dm_map_set(s, "sig", dm_str(b64));
	p = enc(s, &len);
	sha256(p, len, h);
	base32_encode(h, sizeof(h), b32, sizeof(b32));
	snprintf(did, PLC_DID_BUFSZ, "did:plc:%.24s", b32);
	cid_of_bytes(cid, CID_CODEC_DAGCBOR, p, len);
	free(p);
	dm_free(s);
}

static void
sign_plc(const struct dm *op, struct answer *a)
{
	uint8_t	*p;
	size_t	 len;

	p = enc(op, &len);
	memset(a, 0, sizeof(*a));
	assert_int_equal(signer_sign_plc_op(p, len, plc_cb, a), 0);
	run_until(a);
	if (a->ok)
		verify(S.rotation, p, len, a->reply);
	free(p);
}

static void
make_account(struct account *acct, const char *handle)
{
	struct answer	 a;
	struct dm	*op;
	char		 did[PLC_DID_BUFSZ];

	key_create(acct->key);
	op = plc_op(S.rotation, acct->key, handle, NULL);
	sign_plc(op, &a);
	assert_true(a.ok);
	plc_expect(op, a.reply, did, &acct->op);
	assert_string_equal(a.did, did);
	strlcpy(acct->did, did, sizeof(acct->did));
	dm_free(op);
}

static void
rev_at(int64_t secs_from_now, unsigned int clock, char out[TID_BUFSZ])
{
	struct timeval	 tv;
	uint64_t	 us;

	gettimeofday(&tv, NULL);
	us = (uint64_t)(tv.tv_sec + secs_from_now) * 1000000 + tv.tv_usec;
	assert_int_equal(tid_from_time(us, clock, out), 0);
}

static uint8_t *
commit_bytes(const char *did, const char *rev, size_t *len)
{
	struct cid	 data;
	uint8_t		*p;

	cid_of_bytes(&data, CID_CODEC_DAGCBOR, rev, strlen(rev));
	assert_int_equal(commit_unsigned_encode(did, &data, rev, &p, len), 0);
	return p;
}

/* Signs a commit for did at rev; 1 if signed (and verified with key). */
static int
commit(const struct account *acct, const char *rev, const char *why)
{
	struct answer	 a;
	uint8_t		*p;
	size_t		 len;

	p = commit_bytes(acct->did, rev, &len);
	memset(&a, 0, sizeof(a));
	assert_int_equal(signer_sign_commit(p, len, sig_cb, &a), 0);
	settle(&a, acct->key, p, len, why);
	free(p);
	return a.ok;
}

static void
test_key_create(void **state)
{
	struct stat	 sb;
	char		 k1[DIDKEY_BUFSZ], k2[DIDKEY_BUFSZ], path[256];
	struct pubkey	 pk;

	key_create(k1);
	key_create(k2);
	assert_string_not_equal(k1, k2);
	assert_int_equal(didkey_decode(k1, strlen(k1), &pk), 0);
	assert_int_equal(pk.type, KEY_K256);
	assert_string_not_equal(k1, S.rotation);
	snprintf(path, sizeof(path), "%s/%s.key", S.dir, k1 + 8);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 32);
	assert_int_equal(sb.st_mode & 0777, 0600);
	refused(IMSG_SIGN_KEY_CREATE, "x", 1, "bad length");
}

static void
test_plc_genesis(void **state)
{
	struct account	 acct;
	struct answer	 a;
	struct dm	*op;
	struct stat	 sb;
	char		 path[256], buf[512], want[256];
	FILE		*fp;
	size_t		 n;

	make_account(&acct, "alice.test");
	assert_int_equal(strlen(acct.did), 32);
	snprintf(path, sizeof(path), "%s/did_plc_%s.state", S.dir,
	    acct.did + 8);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_non_null(fp = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	snprintf(want, sizeof(want), "did %s\nkey %s\nop ", acct.did,
	    acct.key + 8);
	assert_memory_equal(buf, want, strlen(want));

	/* The same operation again: the same DID, answered. */
	op = plc_op(S.rotation, acct.key, "alice.test", NULL);
	sign_plc(op, &a);
	assert_true(a.ok);
	assert_string_equal(a.did, acct.did);
	dm_free(op);
	/* Another genesis for a bound key would be a second DID. */
	op = plc_op(S.rotation, acct.key, "bob.test", NULL);
	sign_plc(op, &a);
	assert_false(a.ok);
	assert_non_null(strstr(a.err, "bound to another did"));
	dm_free(op);
}

static void
test_plc_refused(void **state)
{
	struct privkey	*pk;
	struct pubkey	 pub;
	struct answer	 a;
	struct dm	*op;
	uint8_t		*p;
	size_t		 len;
	char		 other[DIDKEY_BUFSZ], mine[DIDKEY_BUFSZ];

	assert_non_null(pk = privkey_generate(KEY_K256));
	assert_int_equal(privkey_public(pk, &pub), 0);
	assert_true(didkey_encode(&pub, other, sizeof(other)) > 0);
	privkey_free(pk);
	key_create(mine);

	op = plc_op(S.rotation, other, "eve.test", NULL);
	sign_plc(op, &a);
	assert_false(a.ok);
	assert_non_null(strstr(a.err, "not held"));
	dm_free(op);

	/* Our rotation key must stay listed. */
	op = plc_op(other, mine, "eve.test", NULL);
	sign_plc(op, &a);
	assert_false(a.ok);
	assert_non_null(strstr(a.err, "rotation key"));
	dm_free(op);

	/* The rotation key is not an account key. */
	op = plc_op(S.rotation, S.rotation, "eve.test", NULL);
	sign_plc(op, &a);
	assert_false(a.ok);
	dm_free(op);

	op = plc_op(S.rotation, mine, "eve.test", NULL);
	dm_map_set(op, "sig", dm_str("AAAA"));
	p = enc(op, &len);
	refused(IMSG_SIGN_PLC_OP, p, len, "6 fields");
	free(p);
	dm_map_del(op, "sig");
	dm_map_set(op, "type", dm_str("plc_tombstone"));
	p = enc(op, &len);
	refused(IMSG_SIGN_PLC_OP, p, len, "type");
	free(p);
	dm_map_set(op, "type", dm_str("plc_operation"));
	dm_map_set(op, "prev", dm_str("bafynotacid"));
	p = enc(op, &len);
	refused(IMSG_SIGN_PLC_OP, p, len, "prev");
	free(p);
	dm_free(op);
	refused(IMSG_SIGN_PLC_OP, "\xa1\x61", 2, "DAG-CBOR");
	/* Nothing was bound by any of these. */
	make_account(&(struct account){ 0 }, "eve.test");
}

static void
test_plc_update(void **state)
{
	struct account	 acct, other;
	struct answer	 a;
	struct dm	*op;
	struct cid	 bogus, next;
	char		 did[PLC_DID_BUFSZ];

	make_account(&acct, "carol.test");
	make_account(&other, "dave.test");
	op = plc_op(S.rotation, acct.key, "carol2.test", &acct.op);
	sign_plc(op, &a);
	assert_true(a.ok);
	assert_string_equal(a.did, "");
	plc_expect(op, a.reply, did, &next);
	dm_free(op);

	/* A later update may follow the newest or a recent operation. */
	op = plc_op(S.rotation, acct.key, "carol3.test", &next);
	sign_plc(op, &a);
	assert_true(a.ok);
	dm_free(op);
	op = plc_op(S.rotation, acct.key, "carol3.test", &acct.op);
	sign_plc(op, &a);
	assert_true(a.ok);
	dm_free(op);

	/* Not one of this DID's operations: another account's. */
	op = plc_op(S.rotation, acct.key, "carol4.test", &other.op);
	sign_plc(op, &a);
	assert_false(a.ok);
	assert_non_null(strstr(a.err, "prev"));
	dm_free(op);
	cid_of_bytes(&bogus, CID_CODEC_DAGCBOR, "x", 1);
	op = plc_op(S.rotation, acct.key, "carol4.test", &bogus);
	sign_plc(op, &a);
	assert_false(a.ok);
	dm_free(op);
}

static void
test_commit(void **state)
{
	struct account	 acct, unknown;
	char		 r1[TID_BUFSZ], r2[TID_BUFSZ], r3[TID_BUFSZ];
	char		 far[TID_BUFSZ];

	make_account(&acct, "erin.test");
	rev_at(-10, 1, r1);
	rev_at(-5, 1, r2);
	rev_at(0, 1, r3);
	rev_at(3600, 1, far);
	assert_true(commit(&acct, r2, NULL));
	assert_false(commit(&acct, r2, "not newer"));
	assert_false(commit(&acct, r1, "not newer"));
	assert_false(commit(&acct, far, "future"));
	assert_true(commit(&acct, r3, NULL));

	unknown = acct;
	strlcpy(unknown.did, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
	    sizeof(unknown.did));
	assert_false(commit(&unknown, r3, "unknown did"));
	strlcpy(unknown.did, "did:web:example.com", sizeof(unknown.did));
	assert_false(commit(&unknown, r3, "unknown did"));
}

static void
test_commit_malformed(void **state)
{
	struct account	 acct;
	struct dm	*m;
	struct cid	 c;
	uint8_t		*p;
	size_t		 len;
	char		 rev[TID_BUFSZ];

	make_account(&acct, "frank.test");
	rev_at(0, 2, rev);
	cid_of_bytes(&c, CID_CODEC_DAGCBOR, "d", 1);
	m = dm_map();
	dm_map_set(m, "did", dm_str(acct.did));
	dm_map_set(m, "rev", dm_str(rev));
	dm_map_set(m, "data", dm_link(&c));
	dm_map_set(m, "prev", dm_null());
	dm_map_set(m, "version", dm_int(2));
	p = enc(m, &len);
	refused(IMSG_SIGN_COMMIT, p, len, "version");
	free(p);
	dm_map_set(m, "version", dm_int(3));
	dm_map_set(m, "sig", dm_bytes("x", 1));
	p = enc(m, &len);
	refused(IMSG_SIGN_COMMIT, p, len, "map of its fields");
	free(p);
	dm_map_del(m, "sig");
	dm_map_set(m, "rev", dm_str("notatid"));
	p = enc(m, &len);
	refused(IMSG_SIGN_COMMIT, p, len, "rev");
	free(p);
	dm_map_set(m, "rev", dm_str(rev));
	dm_map_set(m, "data", dm_str("bafy"));
	p = enc(m, &len);
	refused(IMSG_SIGN_COMMIT, p, len, "data");
	free(p);
	dm_map_set(m, "data", dm_link(&c));
	p = enc(m, &len);
	/* Non-canonical CBOR: a 1-byte integer written in 2 bytes. */
	assert_int_equal(p[len - 1], 0x03);
	p[len - 1] = 0x18;
	p = realloc(p, len + 1);
	p[len] = 0x03;
	refused(IMSG_SIGN_COMMIT, p, len + 1, "");
	refused(IMSG_SIGN_COMMIT, p, len - 1, "");
	refused(IMSG_SIGN_COMMIT, "", 0, "length");
	free(p);
	dm_free(m);
	/* None of these moved the rev. */
	assert_true(commit(&acct, rev, NULL));
}

static void
test_restart(void **state)
{
	struct account	 acct;
	struct answer	 a;
	struct dm	*op;
	char		 r1[TID_BUFSZ], r2[TID_BUFSZ], r3[TID_BUFSZ];
	int		 st;

	make_account(&acct, "grace.test");
	rev_at(-2, 3, r1);
	rev_at(-1, 3, r2);
	assert_true(commit(&acct, r2, NULL));
	st = stop();
	assert_true(WIFEXITED(st));
	assert_int_equal(spawn(), 0);
	assert_false(commit(&acct, r1, "not newer"));
	assert_false(commit(&acct, r2, "not newer"));
	/* Our clock was raised above signerd's floor. */
	tid_next(r3);
	assert_true(tid_compare(r3, S.floor) > 0);
	assert_true(commit(&acct, r3, NULL));
	op = plc_op(S.rotation, acct.key, "grace2.test", &acct.op);
	sign_plc(op, &a);
	assert_true(a.ok);
	dm_free(op);
	st = stop();
	assert_int_equal(spawn(), 0);
	assert_false(commit(&acct, r3, "not newer"));
}

/* signerd killed outright: what it signed is still remembered. */
static void
killed(void)
{
	int	 st;

	assert_int_equal(kill(S.pid, SIGKILL), 0);
	st = stop();
	assert_true(WIFSIGNALED(st));
}

static void
test_restart_killed(void **state)
{
	struct account	 acct;
	char		 r1[TID_BUFSZ], r2[TID_BUFSZ], r3[TID_BUFSZ];

	make_account(&acct, "heidi.test");
	rev_at(-2, 5, r1);
	rev_at(-1, 5, r2);
	assert_true(commit(&acct, r1, NULL));
	assert_true(commit(&acct, r2, NULL));
	killed();
	assert_int_equal(spawn(), 0);
	assert_false(commit(&acct, r2, "not newer"));
	tid_next(r3);
	assert_true(commit(&acct, r3, NULL));
	/* Twice: the journal compacted at start holds it too. */
	killed();
	assert_int_equal(spawn(), 0);
	assert_false(commit(&acct, r3, "not newer"));
}

static size_t
count_in_file(const char *name, const char *what)
{
	char	 path[256], buf[65536];
	char	*p;
	size_t	 n, c = 0;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", S.dir, name);
	assert_non_null(fp = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, what)) != NULL; p++)
		c++;
	return c;
}

#define GROUP	8

/*
 * Commits in flight together, above the lease, are answered after one
 * journal write and one sync, and every one of them holds after a kill.
 */
static void
test_group_commit(void **state)
{
	struct account	 acct[GROUP];
	struct answer	 a[GROUP];
	uint8_t		*p[GROUP];
	size_t		 len[GROUP], i, before;
	char		 rev[TID_BUFSZ], handle[32];

	for (i = 0; i < GROUP; i++) {
		snprintf(handle, sizeof(handle), "group%zu.test", i);
		make_account(&acct[i], handle);
	}
	/* Above the lease: the batch is synced before the answers. */
	rev_at(60, 6, rev);
	before = count_in_file("rev.journal", "end ");
	memset(a, 0, sizeof(a));
	for (i = 0; i < GROUP; i++) {
		p[i] = commit_bytes(acct[i].did, rev, &len[i]);
		assert_int_equal(signer_sign_commit(p[i], len[i], sig_cb,
		    &a[i]), 0);
	}
	for (i = 0; i < GROUP; i++) {
		settle(&a[i], acct[i].key, p[i], len[i], NULL);
		assert_true(a[i].ok);
		free(p[i]);
	}
	assert_int_equal(count_in_file("rev.journal", "end "), before + 1);
	assert_int_equal(count_in_file("rev.journal", rev), GROUP);
	killed();
	assert_int_equal(spawn(), 0);
	for (i = 0; i < GROUP; i++)
		assert_false(commit(&acct[i], rev, "not newer"));
}

static void
append_file(const char *name, const char *text)
{
	char	 path[256];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", S.dir, name);
	assert_non_null(fp = fopen(path, "a"));
	fputs(text, fp);
	fclose(fp);
}

/* A journal batch as signerd writes it, hash and all. */
static void
journal_batch_tag(char *out, size_t outsz, const char *did, const char *rev,
    const char *tag)
{
	uint8_t	 h[16];
	char	 hex[33];
	int	 n;

	n = snprintf(out, outsz, "rev %s %s\n", did, rev);
	assert_int_equal(crypto_generichash(h, sizeof(h), (uint8_t *)out, n,
	    NULL, 0), 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out + n, outsz - n, "%s %s\n", tag, hex);
}

static void
journal_batch(char *out, size_t outsz, const char *did, const char *rev)
{
	journal_batch_tag(out, outsz, did, rev, "end");
}

/*
 * A torn last batch was never answered: dropped.  Damage with a good
 * batch after it was synced data: signerd will not start.
 */
static void
test_journal_damage(void **state)
{
	struct account	 acct;
	char		 r1[TID_BUFSZ], r2[TID_BUFSZ], r3[TID_BUFSZ];
	char		 good[256], torn[256];
	int		 st;

	make_account(&acct, "mallory.test");
	/* Above every lease of these runs, so the journal decides. */
	rev_at(100, 7, r1);
	rev_at(200, 7, r2);
	rev_at(300, 7, r3);
	assert_true(commit(&acct, r1, NULL));
	stop();
	/* Half of a batch for r2: no end line. */
	snprintf(torn, sizeof(torn), "rev %s %s\n", acct.did, r2);
	append_file("rev.journal", torn);
	assert_int_equal(spawn(), 0);
	assert_true(commit(&acct, r2, NULL));
	stop();
	/* A batch with a wrong hash at the end: torn too. */
	journal_batch(good, sizeof(good), acct.did, r3);
	strlcpy(torn, good, sizeof(torn));
	torn[strlen(torn) - 2] ^= 1;
	append_file("rev.journal", torn);
	assert_int_equal(spawn(), 0);
	assert_false(commit(&acct, r1, "not newer"));
	assert_false(commit(&acct, r2, "not newer"));
	stop();
	/*
	 * The same with a good lazy batch after it: never synced, so maybe
	 * torn by a power cut too, and below a lease: dropped with it.
	 */
	append_file("rev.journal", torn);
	journal_batch_tag(good, sizeof(good), acct.did, r3, "lazy");
	append_file("rev.journal", good);
	assert_int_equal(spawn(), 0);
	assert_true(commit(&acct, r3, NULL));
	stop();
	/* The same, with a good synced batch after it: damage. */
	journal_batch(good, sizeof(good), acct.did, r3);
	append_file("rev.journal", torn);
	append_file("rev.journal", good);
	st = spawn();
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	/* A good batch for a DID signerd does not know. */
	journal_batch(good, sizeof(good), "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
	    r3);
	write_file("rev.journal", good);
	st = spawn();
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	/* Only the good batch for r3: it counts. */
	journal_batch(good, sizeof(good), acct.did, r3);
	write_file("rev.journal", good);
	assert_int_equal(spawn(), 0);
	assert_false(commit(&acct, r3, "not newer"));
}

static char *
read_journal(size_t *len)
{
	char	 path[256];
	char	*buf;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/rev.journal", S.dir);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(buf = malloc(1 << 20));
	*len = fread(buf, 1, (1 << 20) - 1, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

/* 1 if the batch holding rev was synced ("end"), 0 if lazy, -1 if none. */
static int
batch_synced(const char *rev)
{
	char	*buf, *p;
	size_t	 len;
	int	 r = -1;

	buf = read_journal(&len);
	if ((p = strstr(buf, rev)) != NULL) {
		for (; (p = strchr(p, '\n')) != NULL; ) {
			p++;
			if (strncmp(p, "end ", 4) == 0) {
				r = 1;
				break;
			}
			if (strncmp(p, "lazy ", 5) == 0) {
				r = 0;
				break;
			}
		}
	}
	free(buf);
	return r;
}

/* What a power cut may take: every batch after the last synced one. */
static void
drop_unsynced(void)
{
	char	 path[256];
	char	*buf, *p, *last = NULL;
	size_t	 len;

	buf = read_journal(&len);
	for (p = buf; (p = strstr(p, "end ")) != NULL; p++)
		if (p == buf || p[-1] == '\n')
			last = p;
	assert_non_null(last);
	assert_non_null(p = strchr(last, '\n'));
	snprintf(path, sizeof(path), "%s/rev.journal", S.dir);
	assert_int_equal(truncate(path, p + 1 - buf), 0);
	free(buf);
}

/*
 * The rev lease: a rev below it is answered without a sync of its own
 * (a lazy batch), and still refused after a kill that lost that batch,
 * as after a power cut; the floor signerd then announces is above it,
 * and a frontend whose clock follows the floor writes at once.  A rev
 * above the lease waits for a synced batch.
 */
static void
test_lease(void **state)
{
	struct account	 a, b;
	char		 r1[TID_BUFSZ], mid[TID_BUFSZ], r2[TID_BUFSZ];
	char		 far[TID_BUFSZ];
	uint64_t	 v;
	char		*buf;
	size_t		 len;

	make_account(&a, "lease1.test");
	make_account(&b, "lease2.test");
	tid_next(r1);
	assert_true(commit(&a, r1, NULL));
	assert_int_equal(batch_synced(r1), 0);
	killed();
	drop_unsynced();
	buf = read_journal(&len);
	assert_null(strstr(buf, r1));
	free(buf);

	assert_int_equal(spawn(), 0);
	assert_true(tid_compare(S.floor, r1) > 0);
	assert_false(commit(&a, r1, "not newer"));
	/* Never signed, but at or below the floor: refused as well. */
	assert_int_equal(tid_parse(S.floor, TID_STRLEN, &v), 0);
	tid_encode(v - (1 << 10), mid);
	assert_true(tid_compare(mid, r1) > 0);
	assert_false(commit(&a, mid, "not newer"));
	assert_false(commit(&a, S.floor, "not newer"));
	assert_false(commit(&b, S.floor, "not newer"));
	/* Within the lease of the last run, the next write goes through. */
	tid_next(r2);
	assert_true(commit(&a, r2, NULL));
	assert_int_equal(batch_synced(r2), 0);

	/* Far ahead of the lease: synced before the answer. */
	rev_at(60, 9, far);
	assert_true(commit(&b, far, NULL));
	assert_int_equal(batch_synced(far), 1);
	killed();
	drop_unsynced();
	assert_int_equal(spawn(), 0);
	assert_false(commit(&b, far, "not newer"));
	assert_false(commit(&a, r2, "not newer"));
	tid_next(r2);
	assert_true(commit(&a, r2, NULL));
}

/* Raises the last signed rev; 1 with signerd's rev in out, or 0. */
static int
raise_rev(const char *did, const char *rev, char out[TID_BUFSZ],
    const char *why)
{
	struct answer	 a;
	uint8_t		 buf[SIGNER_REV_RAISE_MAX];
	size_t		 len;

	assert_int_equal(signer_rev_raise_encode(did, rev, buf, &len), 0);
	call(IMSG_SIGN_REV_RAISE, buf, len, &a);
	if (!a.ok) {
		if (why != NULL && strstr(a.err, why) == NULL)
			fail_msg("refused with \"%s\", expected \"%s\"",
			    a.err, why);
		return 0;
	}
	assert_int_equal(signer_rev_decode(a.reply, a.len, out), 0);
	return 1;
}

static void
test_rev_raise(void **state)
{
	struct account	 acct, fresh;
	char		 r1[TID_BUFSZ], r2[TID_BUFSZ], r3[TID_BUFSZ];
	char		 r4[TID_BUFSZ], far[TID_BUFSZ], got[TID_BUFSZ];
	char		 path[256], buf[512], want[64];
	uint8_t		 req[SIGNER_REV_RAISE_MAX];
	size_t		 len, n;
	FILE		*fp;

	make_account(&acct, "judy.test");
	make_account(&fresh, "kim.test");
	rev_at(-20, 4, r1);
	rev_at(-10, 4, r2);
	rev_at(-5, 4, r3);
	rev_at(0, 4, r4);
	rev_at(3600, 4, far);

	/* Up from nothing, and up from a signed commit. */
	assert_true(raise_rev(fresh.did, r2, got, NULL));
	assert_string_equal(got, r2);
	assert_false(commit(&fresh, r1, "not newer"));
	assert_false(commit(&fresh, r2, "not newer"));
	assert_true(commit(&acct, r1, NULL));
	assert_true(raise_rev(acct.did, r3, got, NULL));
	assert_string_equal(got, r3);
	assert_false(commit(&acct, r2, "not newer"));
	assert_false(commit(&acct, r3, "not newer"));

	/* Never down: the answer is the rev kept. */
	assert_true(raise_rev(acct.did, r1, got, NULL));
	assert_string_equal(got, r3);
	assert_true(raise_rev(acct.did, r3, got, NULL));
	assert_string_equal(got, r3);

	/* Saved before the answer, so it holds across a restart. */
	snprintf(path, sizeof(path), "%s/did_plc_%s.state", S.dir,
	    acct.did + 8);
	assert_non_null(fp = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	snprintf(want, sizeof(want), "\nrev %s\n", r3);
	assert_non_null(strstr(buf, want));
	stop();
	assert_int_equal(spawn(), 0);
	assert_false(commit(&acct, r3, "not newer"));
	/* r4 is below the lease the last run held: refused too. */
	assert_false(commit(&acct, r4, "not newer"));
	tid_next(r4);
	assert_true(commit(&acct, r4, NULL));

	/* Refusals leave the rev where it was. */
	assert_false(raise_rev(acct.did, far, got, "future"));
	assert_false(raise_rev("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", r4, got,
	    "unknown did"));
	assert_false(raise_rev("did:web:example.com", r4, got, "unknown did"));
	refused(IMSG_SIGN_REV_RAISE, "", 0, "bad request");
	refused(IMSG_SIGN_REV_RAISE, acct.did, strlen(acct.did),
	    "bad request");
	assert_int_equal(signer_rev_raise_encode(acct.did, far, req, &len), 0);
	memcpy(req + len - TID_BUFSZ, "3zzzzzzzzzzz!", TID_STRLEN);
	refused(IMSG_SIGN_REV_RAISE, req, len, "bad rev");
	assert_int_equal(signer_rev_raise_encode(acct.did, far, req, &len), 0);
	req[len - 1] = 'x';
	refused(IMSG_SIGN_REV_RAISE, req, len, "bad rev");
	refused(IMSG_SIGN_REV_RAISE, req, len - 1, "bad rev");
	assert_int_equal(signer_rev_raise_encode(acct.did, far, req, &len), 0);
	req[0] = 'D';
	refused(IMSG_SIGN_REV_RAISE, req, len, "bad did");
	assert_int_equal(signer_rev_raise_encode("not a did", r4, req, &len),
	    -1);
	assert_int_equal(signer_rev_raise_encode(acct.did, "3zz", req, &len),
	    -1);
	assert_true(raise_rev(acct.did, r1, got, NULL));
	assert_string_equal(got, r4);
}

static void
jwt_input(char *out, size_t outsz, const char *alg, const char *iss,
    int64_t exp)
{
	char	 h[128], pl[512], eh[200], ep[700];

	snprintf(h, sizeof(h), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	snprintf(pl, sizeof(pl), "{\"iss\":\"%s\",\"aud\":\"did:web:x.test\","
	    "\"exp\":%lld,\"lxm\":\"com.atproto.x\"}", iss, (long long)exp);
	base64url_encode(h, strlen(h), eh, sizeof(eh));
	base64url_encode(pl, strlen(pl), ep, sizeof(ep));
	snprintf(out, outsz, "%s.%s", eh, ep);
}

static int
jwt(const struct account *acct, const char *input, const char *why)
{
	struct answer	 a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(signer_sign_jwt(acct->did, input, sig_cb, &a), 0);
	settle(&a, acct->key, input, strlen(input), why);
	return a.ok;
}

static void
test_jwt(void **state)
{
	struct account	 acct, unknown;
	char		 in[1024], iss[64];
	time_t		 now = time(NULL);

	make_account(&acct, "heidi.test");
	jwt_input(in, sizeof(in), "ES256K", acct.did, now + 60);
	assert_true(jwt(&acct, in, NULL));
	snprintf(iss, sizeof(iss), "%s#atproto_labeler", acct.did);
	jwt_input(in, sizeof(in), "ES256K", iss, now + 60);
	assert_true(jwt(&acct, in, NULL));
	jwt_input(in, sizeof(in), "ES256K", "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb",
	    now + 60);
	assert_false(jwt(&acct, in, "iss"));
	snprintf(iss, sizeof(iss), "%sx", acct.did);
	jwt_input(in, sizeof(in), "ES256K", iss, now + 60);
	assert_false(jwt(&acct, in, "iss"));
	jwt_input(in, sizeof(in), "ES256K", acct.did, now + 7200);
	assert_false(jwt(&acct, in, "exp"));
	jwt_input(in, sizeof(in), "ES256K", acct.did, now - 10);
	assert_false(jwt(&acct, in, "exp"));
	jwt_input(in, sizeof(in), "ES256", acct.did, now + 60);
	assert_false(jwt(&acct, in, "alg"));
	assert_false(jwt(&acct, "e30.e30.e30", "header.payload"));
	assert_false(jwt(&acct, "!!!.???", "header"));
	unknown = acct;
	strlcpy(unknown.did, "did:plc:cccccccccccccccccccccccc",
	    sizeof(unknown.did));
	jwt_input(in, sizeof(in), "ES256K", unknown.did, now + 60);
	assert_false(jwt(&unknown, in, "unknown did"));
	refused(IMSG_SIGN_JWT, "did:plc:x", 9, "jwt");
	refused(IMSG_SIGN_JWT, "\0abc", 4, "did");
}

/* Well-framed nonsense of every kind: refused, and signerd stays up. */
static void
test_malformed(void **state)
{
	uint8_t		 buf[600];
	uint32_t	 types[] = { IMSG_SIGN_COMMIT, IMSG_SIGN_PLC_OP,
			    IMSG_SIGN_JWT, IMSG_SIGN_RESULT, IMSG_NONE, 9999 };
	size_t		 i, t, len;
	char		 k[DIDKEY_BUFSZ];

	srandom(42);
	for (i = 0; i < 300; i++) {
		len = (size_t)random() % sizeof(buf);
		for (t = 0; t < len; t++)
			buf[t] = (uint8_t)random();
		if (i % 3 == 0 && len > 0)
			buf[0] = 0xa5;	/* a map of 5, to get further */
		refused(types[i % 6], buf, len, NULL);
	}
	refused(9999, NULL, 0, "unknown request");
	key_create(k);
	assert_int_equal(signer_pending(), 0);
}

/* A broken stream from the frontend: signerd stops, and not by a signal. */
static void
test_garbage(void **state)
{
	uint8_t	 junk[64];
	int	 st;

	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(write(S.ffd, junk, sizeof(junk)), sizeof(junk));
	assert_int_equal(waitpid(S.pid, &st, 0), S.pid);
	assert_true(WIFEXITED(st));
	assert_int_not_equal(WEXITSTATUS(st), 0);
	close(S.ffd);
	close(S.pfd);
	event_del(&S.iev.ev);
	imsgbuf_clear(&S.iev.ibuf);
	signer_lost();
	S.pid = -1;
}

/* Requests in flight when signerd goes away fail; new ones at once. */
static void
test_lost(void **state)
{
	struct answer	 a;
	int		 st;

	memset(&a, 0, sizeof(a));
	/*
	 * The request leaves at once (imsgev_compose writes it): a
	 * stopped signerd never reads it, so it dies unanswered.
	 */
	assert_int_equal(kill(S.pid, SIGSTOP), 0);
	assert_int_equal(signer_request(IMSG_SIGN_COMMIT, "x", 1, raw_cb, &a),
	    0);
	assert_int_equal(signer_pending(), 1);
	kill(S.pid, SIGKILL);
	assert_int_equal(waitpid(S.pid, &st, 0), S.pid);
	assert_true(WIFSIGNALED(st));
	run_until(&a);
	assert_false(a.ok);
	assert_string_equal(a.err, "signerd went away");
	assert_int_equal(signer_pending(), 0);
	assert_int_equal(signer_request(IMSG_SIGN_COMMIT, "x", 1, raw_cb, &a),
	    -1);
	close(S.ffd);
	close(S.pfd);
	imsgbuf_clear(&S.iev.ibuf);
	S.pid = -1;
}

static void
write_file(const char *name, const char *text)
{
	char	 path[256];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", S.dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	chmod(path, 0600);
}

/* A state file signerd cannot trust stops it at start. */
static void
test_bad_state(void **state)
{
	struct account	 acct;
	char		 name[256], text[512], rev[TID_BUFSZ];
	int		 st;

	make_account(&acct, "ivan.test");
	stop();
	snprintf(name, sizeof(name), "did_plc_%s.state", acct.did + 8);

	write_file(name, "garbage\n");
	st = spawn();
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	/* The right DID with a key signerd does not have. */
	snprintf(text, sizeof(text), "did %s\nkey %s\n", acct.did,
	    "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme");
	write_file(name, text);
	st = spawn();
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	/* Another DID's state under this name. */
	snprintf(text, sizeof(text), "did did:plc:aaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "key %s\n", acct.key + 8);
	write_file(name, text);
	st = spawn();
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	/* A bad rev line. */
	snprintf(text, sizeof(text), "did %s\nkey %s\nrev zz\n", acct.did,
	    acct.key + 8);
	write_file(name, text);
	st = spawn();
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	/* Restored, it runs again. */
	snprintf(text, sizeof(text), "did %s\nkey %s\n", acct.did,
	    acct.key + 8);
	write_file(name, text);
	assert_int_equal(spawn(), 0);
	assert_false(commit(&acct, "3jzfcijpj2z2a", "not newer"));
	tid_next(rev);
	assert_true(commit(&acct, rev, NULL));
}

/* A key file that does not hold the key it is named after. */
static void
test_bad_key_file(void **state)
{
	char	 k[DIDKEY_BUFSZ], from[256], to[256];
	int	 st;

	key_create(k);
	stop();
	snprintf(from, sizeof(from), "%s/%s.key", S.dir, k + 8);
	snprintf(to, sizeof(to), "%s/%s.key", S.dir,
	    "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme");
	assert_int_equal(rename(from, to), 0);
	st = spawn();
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	assert_int_equal(rename(to, from), 0);
	assert_int_equal(spawn(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_create, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_plc_genesis, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_plc_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_plc_update, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_killed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_damage, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rev_raise, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_jwt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_key_file, setup,
		    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	event_init();
	if (crypto_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
