/*
 * Whole repositories: unpack a CAR into a directory of JSON records,
 * pack such a directory into a signed CAR (offline with a key file, else
 * signed by the running daemon's signerd), and import a CAR into an
 * account of the running daemon.
 *
 * The directory layout: DIR/_commit.json holds the commit's fields,
 * DIR/<collection>/<rkey>.json each record, as pretty-printed atproto
 * JSON.  The MST is a pure function of the records, so unpack then pack
 * gives the same data root.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>
#include <sodium.h>

#include "blockstore.h"
#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "commit.h"
#include "crypto.h"
#include "didkey.h"
#include "dm.h"
#include "dmjson.h"
#include "imsgev.h"
#include "mst.h"
#include "pds_imsg.h"
#include "pdsctl.h"
#include "syntax.h"
#include "tid.h"

#define COMMIT_FILE	"_commit.json"
#define REPO_MAXSTORE	((size_t)1024 * 1024 * 1024)	/* blocks held */
#define KEYFILE_MAX	256

/* pack: the records read, before sorting. */
struct pack_rec {
	char		*key;		/* collection/rkey */
	struct cid	 cid;
};

struct pack {
	const char	*dir;
	int		 dirfd;
	struct pack_rec	*r;
	size_t		 n, cap;
	struct memstore	*records;
	struct memstore	*nodes;
};

/* The text unpack writes: pretty, slashes as they are, a final newline. */
static char *
json_text(const struct dm *v, size_t *lenp)
{
	struct json_object	*o;
	const char		*s;
	char			*out;

	if (dmjson_to_object(v, &o) == -1)
		return NULL;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL || asprintf(&out, "%s\n", s) == -1)
		out = NULL;
	json_object_put(o);
	if (out != NULL)
		*lenp = strlen(out);
	return out;
}

static void
write_new_file(int dirfd, const char *name, const char *text, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd;

	if ((fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1)
		err(1, "unpack: %s", name);
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "unpack: %s", name);
		}
		off += (size_t)n;
	}
	if (close(fd) == -1)
		err(1, "unpack: %s", name);
}

/* Reads a file under dirfd whole (at most max bytes), NUL after it. */
static char *
read_file_at(int dirfd, const char *name, size_t max, size_t *lenp,
    const char *cmd)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s: %s", cmd, name);
	if (fstat(fd, &st) == -1)
		err(1, "%s: %s", cmd, name);
	if (!S_ISREG(st.st_mode))
		errx(1, "%s: %s: not a regular file", cmd, name);
	if ((uint64_t)st.st_size > max)
		errx(1, "%s: %s: larger than %zu bytes", cmd, name, max);
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		err(1, "%s", cmd);
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(1, "%s: %s", cmd, name);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/*
 * unpack
 */

/* DIR is created, or must be an empty directory. */
static int
unpack_dir(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		err(1, "unpack: %s", dir);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(1, "unpack: %s", dir);
	if ((d = fdopendir(dup(fd))) == NULL)
		err(1, "unpack: %s", dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			errx(1, "unpack: %s: directory not empty", dir);
	closedir(d);
	return fd;
}

static void
unpack_commit(int dirfd, const struct commit *c)
{
	struct dm	*m;
	char		*text;
	size_t		 len;

	m = dm_map();
	dm_map_set(m, "did", dm_str(c->did));
	dm_map_set(m, "rev", dm_str(c->rev));
	dm_map_set(m, "data", dm_link(&c->data));
	dm_map_set(m, "prev", c->has_prev ? dm_link(&c->prev) : dm_null());
	dm_map_set(m, "version", dm_int(COMMIT_VERSION));
	dm_map_set(m, "sig", dm_bytes(c->sig, SIG_LEN));
	text = json_text(m, &len);
	dm_free(m);
	if (text == NULL)
		errx(1, "unpack: cannot write the commit as JSON");
	write_new_file(dirfd, COMMIT_FILE, text, len);
	free(text);
}

struct unpack {
	const char	*path;
	int		 dirfd;
	struct memstore	*store;
	char		 coll[NSID_MAX + 1];	/* the last made */
	uint64_t	 n;
};

static int
unpack_record(void *arg, const char *key, size_t klen, const struct cid *val)
{
	struct unpack	*u = arg;
	struct dm	*v;
	const uint8_t	*p;
	const char	*slash, *errstr;
	char		 name[NSID_MAX + RKEY_MAX + 8], *text;
	size_t		 len, clen;

	slash = memchr(key, '/', klen);
	clen = slash != NULL ? (size_t)(slash - key) : 0;
	if (slash == NULL || clen > NSID_MAX ||
	    !syntax_is_nsid(key, clen) ||
	    !syntax_is_rkey(slash + 1, klen - clen - 1))
		errx(1, "unpack: %s: key %.*s is no collection/rkey",
		    u->path, (int)(klen > 300 ? 300 : klen), key);
	if (strlen(u->coll) != clen || memcmp(u->coll, key, clen) != 0) {
		memcpy(u->coll, key, clen);
		u->coll[clen] = '\0';
		if (mkdirat(u->dirfd, u->coll, 0755) == -1 &&
		    errno != EEXIST)
			err(1, "unpack: %s", u->coll);
	}
	snprintf(name, sizeof(name), "%.*s.json", (int)klen, key);
	if (memstore_peek(u->store, val, &p, &len) != 0)
		errx(1, "unpack: %s: record block missing: %.*s, cid %s",
		    u->path, (int)klen, key, cid_fmt(val));
	if (dm_cbor_decode(p, len, &v, &errstr) == -1)
		errx(1, "unpack: %s: record %.*s: %s", u->path, (int)klen,
		    key, errstr);
	text = json_text(v, &len);
	dm_free(v);
	if (text == NULL)
		errx(1, "unpack: record %.*s: cannot write it as JSON",
		    (int)klen, key);
	write_new_file(u->dirfd, name, text, len);
	free(text);
	u->n++;
	return 0;
}

int
cmd_unpack(int argc, char **argv)
{
	static struct car_load	 l;
	static struct root_commit rc;
	struct unpack		 u;
	struct blockstore	 bs;
	const char		*why;

	memset(&l, 0, sizeof(l));
	memset(&u, 0, sizeof(u));
	l.cmd = "unpack";
	l.path = argv[1];
	l.fd = -1;
	l.maxstore = REPO_MAXSTORE;
	l.need_all = 1;
	if (crypto_init() == -1)
		errx(1, "unpack: cannot set up the crypto libraries");
	if ((l.store = memstore_new()) == NULL)
		err(1, "unpack");
	car_load(&l);
	if ((why = car_load_commit(&l, &rc)) != NULL)
		errx(1, "unpack: %s: the root is not a commit: %s", l.path,
		    why);
	u.path = l.path;
	u.store = l.store;
	u.dirfd = unpack_dir(argv[2]);
	unpack_commit(u.dirfd, &rc.c);
	memstore_blockstore(l.store, &bs);
	if (mst_walk(&bs, &rc.c.data, unpack_record, &u) != 0)
		errx(1, "unpack: %s: bad or incomplete MST under data %s",
		    l.path, cid_fmt(&rc.c.data));
	printf("records: %llu\n", (unsigned long long)u.n);
	close(u.dirfd);
	car_load_free(&l);
	return 0;
}

/*
 * pack
 */

static struct privkey *
load_keyfile(const char *path)
{
	struct privkey	*k;
	uint8_t		 raw[PRIVKEY_LEN];
	char		*text;
	size_t		 len, used;
	int		 bad;

	text = read_file_at(AT_FDCWD, path, KEYFILE_MAX, &len, "pack");
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	bad = len != 2 * PRIVKEY_LEN || sodium_hex2bin(raw, sizeof(raw),
	    text, len, NULL, &used, NULL) != 0 || used != PRIVKEY_LEN;
	sodium_memzero(text, len);
	free(text);
	if (bad)
		errx(1, "pack: %s: not a k256 private key in 64 hex "
		    "characters", path);
	k = privkey_load(KEY_K256, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	if (k == NULL)
		errx(1, "pack: %s: not a valid k256 private key", path);
	return k;
}

/* DIR/_commit.json: did required, rev kept when given. */
static void
pack_commit_fields(struct pack *pk, struct commit *c)
{
	struct dm	*m;
	const char	*s, *errstr, *why;
	char		*text;
	size_t		 len;
	int		 rc;

	text = read_file_at(pk->dirfd, COMMIT_FILE, DMJSON_MAXLEN, &len,
	    "pack");
	rc = dmjson_parse_record(text, len, &m, &errstr);
	free(text);
	if (rc == -1)
		errx(1, "pack: %s/%s: %s", pk->dir, COMMIT_FILE, errstr);
	why = NULL;
	if ((s = dm_map_get_str(m, "did", &len)) == NULL ||
	    !syntax_is_did(s, len) || len > DID_MAX)
		why = "no valid \"did\"";
	else
		memcpy(c->did, s, len + 1);
	if (dm_map_get(m, "rev") == NULL)
		tid_next(c->rev);
	else if ((s = dm_map_get_str(m, "rev", &len)) == NULL ||
	    !syntax_is_tid(s, len))
		why = "\"rev\" is not a TID";
	else
		memcpy(c->rev, s, len + 1);
	dm_free(m);
	if (why != NULL)
		errx(1, "pack: %s/%s: %s", pk->dir, COMMIT_FILE, why);
}

static void
pack_add(struct pack *pk, const char *coll, const char *rkey, int cfd)
{
	struct pack_rec	*nr;
	struct dm_buf	 b = { NULL, 0, 0 };
	struct dm	*v;
	const char	*errstr;
	char		*text, file[RKEY_MAX + 8];
	size_t		 len;
	int		 rc;

	if (pk->n == pk->cap) {
		pk->cap = pk->cap ? pk->cap * 2 : 256;
		if ((nr = reallocarray(pk->r, pk->cap, sizeof(*nr))) == NULL)
			err(1, "pack");
		pk->r = nr;
	}
	nr = &pk->r[pk->n];
	if (asprintf(&nr->key, "%s/%s", coll, rkey) == -1)
		err(1, "pack");
	if (!mst_key_valid(nr->key, strlen(nr->key)))
		errx(1, "pack: %s/%s: not a valid record key", pk->dir,
		    nr->key);
	snprintf(file, sizeof(file), "%s.json", rkey);
	text = read_file_at(cfd, file, DMJSON_MAXLEN, &len, "pack");
	rc = dmjson_parse_record(text, len, &v, &errstr);
	free(text);
	if (rc == -1)
		errx(1, "pack: %s/%s.json: %s", pk->dir, nr->key, errstr);
	if (dm_cbor_encode(v, &b) == -1)
		errx(1, "pack: %s/%s.json: cannot encode it", pk->dir,
		    nr->key);
	cid_of_bytes(&nr->cid, CID_CODEC_DAGCBOR, b.p, b.len);
	if (memstore_put(pk->records, &nr->cid, b.p, b.len) == -1)
		err(1, "pack");
	dm_buf_free(&b);
	dm_free(v);
	pk->n++;
}

/* Hidden files (editors' leftovers) are skipped; anything else odd fails. */
static void
pack_collection(struct pack *pk, const char *coll)
{
	struct dirent	*de;
	DIR		*d;
	char		 rkey[RKEY_MAX + 1];
	size_t		 len;
	int		 cfd;

	if (!syntax_is_nsid(coll, strlen(coll)))
		errx(1, "pack: %s/%s: not a collection (an NSID)", pk->dir,
		    coll);
	if ((cfd = openat(pk->dirfd, coll, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		err(1, "pack: %s/%s", pk->dir, coll);
	if ((d = fdopendir(dup(cfd))) == NULL)
		err(1, "pack: %s/%s", pk->dir, coll);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		len = strlen(de->d_name);
		if (len <= 5 || len - 5 > RKEY_MAX ||
		    strcmp(de->d_name + len - 5, ".json") != 0 ||
		    !syntax_is_rkey(de->d_name, len - 5))
			errx(1, "pack: %s/%s/%s: not <rkey>.json", pk->dir,
			    coll, de->d_name);
		memcpy(rkey, de->d_name, len - 5);
		rkey[len - 5] = '\0';
		pack_add(pk, coll, rkey, cfd);
	}
	closedir(d);
	close(cfd);
}

static void
pack_read_dir(struct pack *pk)
{
	struct dirent	*de;
	DIR		*d;

	if ((d = fdopendir(dup(pk->dirfd))) == NULL)
		err(1, "pack: %s", pk->dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    strcmp(de->d_name, COMMIT_FILE) == 0)
			continue;
		pack_collection(pk, de->d_name);
	}
	closedir(d);
}

static int
rec_cmp(const void *a, const void *b)
{
	const struct pack_rec	*ra = a, *rb = b;

	return mst_keycmp(ra->key, strlen(ra->key), rb->key, strlen(rb->key));
}

static void
pack_tree(struct pack *pk, struct cid *root)
{
	struct blockstore	 bs;
	const char		**keys;
	struct cid		*vals;
	size_t			 i;
	int			 rc;

	if (pk->n > 0)
		qsort(pk->r, pk->n, sizeof(*pk->r), rec_cmp);
	if ((keys = calloc(pk->n + 1, sizeof(*keys))) == NULL ||
	    (vals = calloc(pk->n + 1, sizeof(*vals))) == NULL)
		err(1, "pack");
	for (i = 0; i < pk->n; i++) {
		keys[i] = pk->r[i].key;
		vals[i] = pk->r[i].cid;
	}
	memstore_blockstore(pk->nodes, &bs);
	rc = mst_build_from_sorted(&bs, keys, vals, pk->n, root);
	free(keys);
	free(vals);
	if (rc == -1)
		errx(1, "pack: cannot build the MST");
}

static int
put_block(void *arg, const struct cid *c, const uint8_t *p, size_t len)
{
	return car_write_block(car_sink_stdio, arg, c, p, len);
}

/* Written beside out and renamed over it: never half a file. */
static void
pack_write(struct pack *pk, const char *out, const struct cid *ccid,
    const uint8_t *commit, size_t clen)
{
	FILE	*fp;
	char	*tmp;
	int	 fd;

	if (asprintf(&tmp, "%s.XXXXXX", out) == -1)
		err(1, "pack");
	if ((fd = mkstemp(tmp)) == -1)
		err(1, "pack: %s", tmp);
	if (fchmod(fd, 0644) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		unlink(tmp);
		err(1, "pack: %s", tmp);
	}
	if (car_write_header(car_sink_stdio, fp, ccid, 1) == -1 ||
	    car_write_block(car_sink_stdio, fp, ccid, commit, clen) == -1 ||
	    memstore_foreach(pk->nodes, put_block, fp) != 0 ||
	    memstore_foreach(pk->records, put_block, fp) != 0 ||
	    fflush(fp) == EOF || fsync(fileno(fp)) == -1 ||
	    fclose(fp) == EOF) {
		unlink(tmp);
		err(1, "pack: %s", out);
	}
	if (rename(tmp, out) == -1) {
		unlink(tmp);
		err(1, "pack: %s", out);
	}
	free(tmp);
}

/*
 * No key file: the running daemon's signerd signs with the key of the
 * commit's DID, if it holds it and the rev is newer than it last signed.
 */
static void
pack_sign_daemon(const struct commit *c, uint8_t **enc, size_t *len)
{
	struct imsg	 imsg;
	uint8_t		*unsig, sig[SIG_LEN];
	char		 msg[512];
	size_t		 ulen;
	int		 type;

	if (commit_unsigned_encode(c->did, &c->data, c->rev, &unsig,
	    &ulen) == -1)
		errx(1, "pack: cannot encode the commit");
	ctl_connect();
	ctl_send(IMSG_CTL_SIGN_COMMIT, unsig, ulen);
	ctl_next(&imsg);
	type = imsg_get_type(&imsg);
	if (type == IMSG_CTL_OK && imsg_get_data(&imsg, sig,
	    sizeof(sig)) == 0) {
		imsg_free(&imsg);
		if (commit_signed_encode(unsig, ulen, sig, enc, len) == -1)
			errx(1, "pack: cannot encode the signed commit");
		free(unsig);
		return;
	}
	if (type != IMSG_CTL_FAIL || imsg_get_string(&imsg, msg,
	    sizeof(msg)) == -1)
		errx(1, "pack: bad answer from pdsd");
	errx(1, "pack: pdsd did not sign: %s", msg);
}

static void
pack_options(int argc, char **argv, const char **keyfile)
{
	int	 ch;

	optind = 0;		/* glibc: start over, main() used getopt */
	while ((ch = getopt(argc, argv, "k:")) != -1) {
		switch (ch) {
		case 'k':
			*keyfile = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 2)
		goto usage;
	return;
 usage:
	fprintf(stderr, "usage: pdsctl pack dir out.car [-k keyfile]\n");
	exit(1);
}

int
cmd_pack(int argc, char **argv)
{
	static struct pack	 pk;
	static struct commit	 c;
	struct privkey		*key;
	struct pubkey		 pub;
	struct cid		 ccid;
	const char		*keyfile = NULL;
	uint8_t			*enc;
	size_t			 len, i;
	char			 dk[DIDKEY_BUFSZ];

	pack_options(argc, argv, &keyfile);
	if (crypto_init() == -1)
		errx(1, "pack: cannot set up the crypto libraries");
	key = keyfile != NULL ? load_keyfile(keyfile) : NULL;
	memset(&pk, 0, sizeof(pk));
	memset(&c, 0, sizeof(c));
	pk.dir = argv[optind];
	if ((pk.dirfd = open(pk.dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		err(1, "pack: %s", pk.dir);
	if ((pk.records = memstore_new()) == NULL ||
	    (pk.nodes = memstore_new()) == NULL)
		err(1, "pack");
	pack_commit_fields(&pk, &c);
	pack_read_dir(&pk);
	pack_tree(&pk, &c.data);
	if (key == NULL)
		pack_sign_daemon(&c, &enc, &len);
	else if (commit_sign(&c, key) == -1 ||
	    commit_encode(&c, &enc, &len) == -1)
		errx(1, "pack: cannot sign the commit");
	cid_of_bytes(&ccid, CID_CODEC_DAGCBOR, enc, len);
	pack_write(&pk, argv[optind + 1], &ccid, enc, len);
	if (key == NULL)
		strlcpy(dk, "the account's, held by signerd", sizeof(dk));
	else if (privkey_public(key, &pub) == -1 ||
	    didkey_encode(&pub, dk, sizeof(dk)) == -1)
		strlcpy(dk, "(unknown)", sizeof(dk));
	printf("commit: %s\n", cid_fmt(&ccid));
	printf("data: %s\n", cid_fmt(&c.data));
	printf("rev: %s\n", c.rev);
	printf("records: %zu\n", pk.n);
	printf("key: %s\n", dk);
	privkey_free(key);
	free(enc);
	for (i = 0; i < pk.n; i++)
		free(pk.r[i].key);
	free(pk.r);
	memstore_free(pk.records);
	memstore_free(pk.nodes);
	close(pk.dirfd);
	return 0;
}

/*
 * import: the daemon reads the file through the descriptor we pass, so
 * it needs no access to our path (it may be chrooted elsewhere).
 */

/* With no account named, the CAR's own commit says whose it is. */
static void
import_did(const char *path, char *did, size_t len)
{
	static struct car_load	 l;
	static struct root_commit rc;
	const char		*why;

	memset(&l, 0, sizeof(l));
	l.cmd = "import";
	l.path = path;
	l.fd = -1;
	car_load(&l);
	if ((why = car_load_commit(&l, &rc)) != NULL)
		errx(1, "import: %s: the root is not a commit: %s", path, why);
	strlcpy(did, rc.c.did, len);
	car_load_free(&l);
}

static const char *
import_options(int argc, char **argv, const char **path)
{
	static const struct option	 opts[] = {
		{ "did",	required_argument,	NULL, 'd' },
		{ "handle",	required_argument,	NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	const char	*who = NULL;
	int		 ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (who != NULL)
				errx(1, "import: name one account");
			if (!syntax_is_did(optarg, strlen(optarg)))
				errx(1, "import: not a DID: %s", optarg);
			who = optarg;
			break;
		case 'h':
			if (who != NULL)
				errx(1, "import: name one account");
			if (!syntax_is_handle(optarg, strlen(optarg)))
				errx(1, "import: not a handle: %s", optarg);
			who = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	*path = argv[optind];
	return who;
 usage:
	fprintf(stderr, "usage: pdsctl import [--did did | --handle handle] "
	    "file.car\n");
	exit(1);
}

int
cmd_import(int argc, char **argv)
{
	struct stat	 st;
	const char	*path, *who;
	char		 did[DID_MAX + 1];
	int		 fd;

	who = import_options(argc, argv, &path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "import: %s", path);
	if (fstat(fd, &st) == -1)
		err(1, "import: %s", path);
	if (!S_ISREG(st.st_mode))
		errx(1, "import: %s: not a regular file", path);
	if (who == NULL) {
		import_did(path, did, sizeof(did));
		who = did;
	}
	ctl_connect();
	ctl_send_fd(IMSG_CTL_IMPORT, fd, who, strlen(who) + 1);
	return ctl_wait_ok();
}
