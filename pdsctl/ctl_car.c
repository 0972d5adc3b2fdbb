/*
 * pdsctl's offline data tools: DAG-CBOR <-> JSON filters and a CAR
 * inspector.  None of them talks to pdsd.
 */
#include <sys/types.h>

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

#include "blockstore.h"
#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "commit.h"
#include "crypto.h"
#include "didkey.h"
#include "dm.h"
#include "dmjson.h"
#include "encoding.h"
#include "mst.h"
#include "pdsctl.h"

#define DIDDOC_MAXLEN	(64 * 1024)
/* Blocks held for the tree walk; past this, records are not counted. */
#define INSPECT_MAXSTORE	(1024 * 1024 * 1024)

struct inspect {
	struct car_load	 car;		/* store: every block, for the walk */
	int		 verify;
	struct pubkey	 key;		/* type KEY_NONE: no key given */
	const char	*docdid;	/* the DID document's "id", if any */
};

struct collection {
	char		*name;
	uint64_t	 n;
};

/* What a walk of the tree found. */
struct tally {
	struct inspect	*in;
	struct blockstore inner;
	uint64_t	 records;
	struct collection *c;
	size_t		 nc, capc;
	int		 node_missing;
	struct cid	 missing;	/* the first block asked for, not found */
	char		*reckey;	/* record whose block is missing */
	int		 rc;		/* of the walk */
};

/*
 * Reads all of fd into a new buffer, refusing more than max bytes.
 * A NUL follows the data so text can be used as a string.
 */
static uint8_t *
read_all(int fd, size_t max, size_t *lenp, const char *cmd)
{
	uint8_t	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (len + 1 >= cap) {		/* room for a byte and the NUL */
			cap = cap == 0 ? 64 * 1024 : cap * 2;
			if (cap > max + 2)
				cap = max + 2;
			if ((nb = realloc(buf, cap)) == NULL)
				err(1, "%s", cmd);
			buf = nb;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(1, "%s: read", cmd);
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			errx(1, "%s: input larger than %zu bytes", cmd, max);
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static void
write_all(const void *p, size_t len, const char *cmd)
{
	if (fwrite(p, 1, len, stdout) != len || fflush(stdout) == EOF)
		err(1, "%s: write", cmd);
}

int
cmd_cbor2json(int argc, char **argv)
{
	struct dm	*v;
	uint8_t		*in;
	char		*out;
	const char	*errstr;
	size_t		 len, outlen;

	in = read_all(STDIN_FILENO, DM_CBOR_MAXLEN, &len, "cbor2json");
	errstr = "empty input";
	if (len == 0 || dm_cbor_decode(in, len, &v, &errstr) == -1) {
		free(in);
		errx(1, "cbor2json: %s%s", len == 0 ? "" :
		    "invalid DAG-CBOR: ", errstr);
	}
	free(in);
	out = dmjson_encode_str(v, &outlen);
	dm_free(v);
	if (out == NULL)
		errx(1, "cbor2json: cannot encode JSON");
	out[outlen++] = '\n';		/* in place of the NUL */
	write_all(out, outlen, "cbor2json");
	free(out);
	return 0;
}

int
cmd_json2cbor(int argc, char **argv)
{
	struct dm	*v;
	uint8_t		*in, *out;
	const char	*errstr;
	size_t		 len, outlen;

	in = read_all(STDIN_FILENO, DMJSON_MAXLEN, &len, "json2cbor");
	/* A trailing newline is how text ends; the parser wants none. */
	while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r' ||
	    in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	errstr = "empty input";
	if (len == 0 || dmjson_parse((char *)in, len, &v, &errstr) == -1) {
		free(in);
		errx(1, "json2cbor: %s", errstr);
	}
	free(in);
	out = dm_cbor_encode_mem(v, &outlen);
	dm_free(v);
	if (out == NULL)
		errx(1, "json2cbor: cannot encode DAG-CBOR");
	write_all(out, outlen, "json2cbor");
	free(out);
	return 0;
}

/*
 * inspect: keys from the command line.
 */

static void
key_from_didkey(struct inspect *in, const char *s)
{
	if (didkey_decode(s, strlen(s), &in->key) == -1)
		errx(1, "inspect: not a k256 or p256 did:key: %s", s);
}

/* The key of a verification method: Multikey or the legacy types. */
static int
key_from_method(struct json_object *m, struct pubkey *key)
{
	struct json_object	*o;
	const char		*type, *mb;

	if (!json_object_object_get_ex(m, "publicKeyMultibase", &o) ||
	    (mb = json_object_get_string(o)) == NULL)
		return -1;
	type = json_object_object_get_ex(m, "type", &o) ?
	    json_object_get_string(o) : NULL;
	if (type == NULL || strcmp(type, "Multikey") == 0)
		return multikey_decode(mb, strlen(mb), key);
	if (strcmp(type, "EcdsaSecp256k1VerificationKey2019") == 0)
		return multibase_key_decode(KEY_K256, mb, strlen(mb), key);
	if (strcmp(type, "EcdsaSecp256r1VerificationKey2019") == 0)
		return multibase_key_decode(KEY_P256, mb, strlen(mb), key);
	return -1;
}

static int
method_is_atproto(struct json_object *m)
{
	struct json_object	*o;
	const char		*id;
	size_t			 len;

	if (!json_object_object_get_ex(m, "id", &o) ||
	    (id = json_object_get_string(o)) == NULL)
		return 0;
	len = strlen(id);
	return len >= 8 && strcmp(id + len - 8, "#atproto") == 0;
}

static void
key_from_diddoc(struct inspect *in, const char *path)
{
	struct json_object	*doc, *vms, *o;
	uint8_t			*text;
	size_t			 len, i, n;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "inspect: %s", path);
	text = read_all(fd, DIDDOC_MAXLEN, &len, path);
	close(fd);
	if ((doc = json_tokener_parse((char *)text)) == NULL ||
	    !json_object_is_type(doc, json_type_object))
		errx(1, "inspect: %s: not a JSON DID document", path);
	if (!json_object_object_get_ex(doc, "verificationMethod", &vms) ||
	    !json_object_is_type(vms, json_type_array))
		errx(1, "inspect: %s: no verificationMethod array", path);
	n = json_object_array_length(vms);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(vms, i);
		if (json_object_is_type(o, json_type_object) &&
		    method_is_atproto(o))
			break;
	}
	if (i == n)
		errx(1, "inspect: %s: no #atproto verification method", path);
	if (key_from_method(o, &in->key) == -1)
		errx(1, "inspect: %s: bad #atproto public key", path);
	if (json_object_object_get_ex(doc, "id", &o) &&
	    json_object_is_type(o, json_type_string) &&
	    (in->docdid = strdup(json_object_get_string(o))) == NULL)
		err(1, "inspect");
	json_object_put(doc);
	free(text);
}

/*
 * inspect: the commit.
 */

static void
verify_root(struct inspect *in, const struct root_commit *rc)
{
	if (in->docdid != NULL && strcmp(in->docdid, rc->c.did) != 0)
		errx(1, "inspect: %s: the DID document is for %s, "
		    "the commit for %s", in->car.path, in->docdid, rc->c.did);
	if (commit_verify(&rc->c, &in->key) == -1)
		errx(1, "inspect: %s: bad commit signature: commit %s",
		    in->car.path, cid_fmt(&rc->cid));
}

/*
 * inspect: the tree.  The walk reads through tally_get so that a node
 * missing from the file (a partial CAR) is told apart from a bad one.
 */

static int
tally_get(void *arg, const struct cid *c, uint8_t **data, size_t *len)
{
	struct tally	*t = arg;
	int		 rc;

	rc = t->inner.get(t->inner.arg, c, data, len);
	if (rc == 1 && !t->node_missing) {
		t->node_missing = 1;
		t->missing = *c;
	}
	return rc;
}

static int
tally_record(void *arg, const char *key, size_t klen, const struct cid *val)
{
	struct tally		*t = arg;
	struct collection	*nc;
	const char		*slash;
	size_t			 len;

	if (t->in->verify && !memstore_has(t->in->car.store, val)) {
		t->missing = *val;
		if ((t->reckey = strndup(key, klen)) == NULL)
			err(1, "inspect");
		return 1;
	}
	slash = memchr(key, '/', klen);
	len = slash != NULL ? (size_t)(slash - key) : klen;
	/* The walk is in key order: a collection's records are together. */
	if (t->nc == 0 || strlen(t->c[t->nc - 1].name) != len ||
	    memcmp(t->c[t->nc - 1].name, key, len) != 0) {
		if (t->nc == t->capc) {
			t->capc = t->capc == 0 ? 16 : t->capc * 2;
			if ((nc = reallocarray(t->c, t->capc,
			    sizeof(*nc))) == NULL)
				err(1, "inspect");
			t->c = nc;
		}
		if ((t->c[t->nc].name = strndup(key, len)) == NULL)
			err(1, "inspect");
		t->c[t->nc++].n = 0;
	}
	t->c[t->nc - 1].n++;
	t->records++;
	return 0;
}

/* Walks the tree under data; faults only with --verify. */
static void
count_records(struct inspect *in, const struct commit *c, struct tally *t)
{
	struct blockstore	 bs;

	memset(t, 0, sizeof(*t));
	t->in = in;
	if (in->car.store == NULL)
		return;
	memstore_blockstore(in->car.store, &t->inner);
	bs.get = tally_get;
	bs.put = NULL;
	bs.view = NULL;
	bs.arg = t;
	t->rc = mst_walk(&bs, &c->data, tally_record, t);
	if (t->rc == 1)
		errx(1, "inspect: %s: record block missing: %s, cid %s",
		    in->car.path, t->reckey, cid_fmt(&t->missing));
	if (t->rc != 0 && in->verify && t->node_missing)
		errx(1, "inspect: %s: MST node missing: cid %s", in->car.path,
		    cid_fmt(&t->missing));
	if (t->rc != 0 && in->verify)
		errx(1, "inspect: %s: bad MST under data %s", in->car.path,
		    cid_fmt(&c->data));
}

static void
print_records(struct tally *t)
{
	size_t	i;

	if (t->in->car.store == NULL)
		printf("records: not counted\n");
	else if (t->rc != 0)
		printf("records: %s\n", t->node_missing ? "incomplete" :
		    "invalid tree");
	else
		printf("records: %llu\n", (unsigned long long)t->records);
	for (i = 0; i < t->nc; i++) {
		if (t->rc == 0)
			printf("collection: %s %llu\n", t->c[i].name,
			    (unsigned long long)t->c[i].n);
		free(t->c[i].name);
	}
	free(t->c);
	free(t->reckey);
}

static void
print_cid(const char *name, const struct cid *c)
{
	char	s[CID_STRSZ];

	cid_to_str(c, s, sizeof(s));
	printf("%s: %s\n", name, s);
}

static void
print_commit(const struct root_commit *rc)
{
	print_cid("commit", &rc->cid);
	printf("did: %s\n", rc->c.did);
	printf("version: %d\n", COMMIT_VERSION);
	printf("rev: %s\n", rc->c.rev);
	print_cid("data", &rc->c.data);
	if (rc->c.has_prev)
		print_cid("prev", &rc->c.prev);
	else
		printf("prev: null\n");
}

static void
print_car(const struct inspect *in)
{
	size_t	i;

	printf("size: %llu\n", (unsigned long long)in->car.size);
	printf("roots: %zu\n", in->car.nroots);
	for (i = 0; i < in->car.nroots; i++)
		print_cid("root", &in->car.roots[i]);
	printf("blocks: %llu\n", (unsigned long long)in->car.nblocks);
	printf("block bytes: %llu\n", (unsigned long long)in->car.bytes);
}

static void
inspect_options(struct inspect *in, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "verify",	no_argument,		NULL, 'v' },
		{ "key",	required_argument,	NULL, 'k' },
		{ "did-doc",	required_argument,	NULL, 'd' },
		{ NULL,		0,			NULL, 0 }
	};
	int	 ch;

	optind = 0;		/* glibc: start over, main() used getopt */
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			in->verify = 1;
			break;
		case 'k':
			if (in->key.type != KEY_NONE)
				errx(1, "inspect: give one key");
			key_from_didkey(in, optarg);
			break;
		case 'd':
			if (in->key.type != KEY_NONE)
				errx(1, "inspect: give one key");
			key_from_diddoc(in, optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	in->car.path = argv[optind];
	if (in->key.type != KEY_NONE && !in->verify)
		errx(1, "inspect: a key is only used with --verify");
	return;
 usage:
	fprintf(stderr, "usage: pdsctl inspect [--verify] "
	    "[--key did:key | --did-doc file] file.car\n");
	exit(1);
}

int
cmd_inspect(int argc, char **argv)
{
	/* Static: a fault exits with all of it still reachable. */
	static struct inspect	 in;
	static struct root_commit rc;
	static struct tally	 t;
	const char		*why;

	memset(&in, 0, sizeof(in));
	in.car.fd = -1;
	in.car.cmd = "inspect";
	in.car.maxstore = INSPECT_MAXSTORE;
	inspect_options(&in, argc, argv);
	if (crypto_init() == -1)
		errx(1, "inspect: cannot set up the crypto libraries");
	if ((in.car.store = memstore_new()) == NULL)
		err(1, "inspect");
	car_load(&in.car);
	why = car_load_commit(&in.car, &rc);
	if (why != NULL && in.verify)
		errx(1, "inspect: %s: root %s is not a commit: %s",
		    in.car.path, in.car.nroots > 0 ?
		    cid_fmt(&in.car.roots[0]) : "(none)", why);
	if (why == NULL && in.verify && in.key.type != KEY_NONE)
		verify_root(&in, &rc);
	/* Every fault comes before any output: stdout is all or nothing. */
	if (why == NULL)
		count_records(&in, &rc.c, &t);
	print_car(&in);
	if (why == NULL) {
		print_commit(&rc);
		print_records(&t);
	} else
		printf("commit: none\n");
	if (in.verify)
		printf("signature: %s\nverify: ok\n",
		    in.key.type != KEY_NONE ? "valid" : "not checked");
	free((char *)in.docdid);
	car_load_free(&in.car);
	return 0;
}
