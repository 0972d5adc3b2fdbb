/*
 * The key directory: mode 0700, one file per key, mode 0600, holding
 * the 32 raw bytes of the secret.  Account keys are named after their
 * Multikey, so a key file cannot be swapped for another unnoticed.
 * Files are written to a temporary name, synced and renamed, so a
 * crash never leaves half a key or half a state file.  Everything goes
 * through one directory descriptor opened before chroot and sandbox.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "didkey.h"
#include "log.h"
#include "signerd.h"

RB_HEAD(key_tree, key);

static int	key_cmp(const struct key *, const struct key *);
static int	key_read(const char *, uint8_t *);
static int	key_fill(struct key *);
static int	key_open(const char *, struct key *, int);
static void	key_load_one(const char *);

RB_GENERATE_INTERNAL(key_tree, key, entry, key_cmp,
    __attribute__((__unused__)) static)

static struct key_tree	 keys = RB_INITIALIZER(&keys);
static int		 kdirfd = -1;

static int
key_cmp(const struct key *a, const struct key *b)
{
	return strcmp(a->didkey, b->didkey);
}

/*
 * Create the directory if needed and make it ours alone.  With a user,
 * it belongs to that user (we are still root here).
 */
int
keystore_open(const char *dir, const char *user)
{
	struct passwd	*pw = NULL;
	struct stat	 sb;

	if (user != NULL && (pw = getpwnam(user)) == NULL) {
		log_warnx("unknown user %s", user);
		return -1;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("mkdir %s", dir);
		return -1;
	}
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		log_warnx("%s: not a directory", dir);
		return -1;
	}
	if (pw != NULL && (sb.st_uid != pw->pw_uid || sb.st_gid !=
	    pw->pw_gid) && chown(dir, pw->pw_uid, pw->pw_gid) == -1) {
		log_warn("chown %s", dir);
		return -1;
	}
	if ((sb.st_mode & 07777) != 0700 && chmod(dir, 0700) == -1) {
		log_warn("chmod %s", dir);
		return -1;
	}
	if ((kdirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("open %s", dir);
		return -1;
	}
	return 0;
}

int
keystore_read_file(const char *name, char *buf, size_t bufsz, size_t *len)
{
	struct stat	 sb;
	ssize_t		 n;
	int		 fd;

	if ((fd = openat(kdirfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size < 0 || (size_t)sb.st_size > bufsz) {
		log_warnx("%s: not a regular file of at most %zu bytes",
		    name, bufsz);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if ((sb.st_mode & 077) != 0) {
		log_warnx("%s: readable by others, fixing mode", name);
		if (fchmod(fd, 0600) == -1)
			log_warn("fchmod %s", name);
	}
	n = read(fd, buf, (size_t)sb.st_size);
	close(fd);
	if (n != sb.st_size) {
		log_warnx("%s: short read", name);
		errno = EINVAL;
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

int
keystore_write_file(const char *name, const void *data, size_t len)
{
	char	 tmp[NAME_MAX + 1];
	int	 fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp))
		return -1;
	if ((fd = openat(kdirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		log_warn("open %s", tmp);
		return -1;
	}
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) == -1) {
		log_warn("write %s", tmp);
		close(fd);
		unlinkat(kdirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(kdirfd, tmp, kdirfd, name) == -1) {
		log_warn("rename %s", tmp);
		unlinkat(kdirfd, tmp, 0);
		return -1;
	}
	/* The rename itself must survive a crash before we answer. */
	if (fsync(kdirfd) == -1) {
		log_warn("fsync key directory");
		return -1;
	}
	return 0;
}

/* A descriptor on a file of the key directory, or -1 (errno set). */
int
keystore_open_file(const char *name, int flags)
{
	return openat(kdirfd, name, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
}

static int
key_read(const char *name, uint8_t *secret)
{
	size_t	 len;

	if (keystore_read_file(name, (char *)secret, SIGNERD_KEY_LEN,
	    &len) == -1)
		return -1;
	if (len != SIGNERD_KEY_LEN) {
		log_warnx("%s: not a key file", name);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
key_fill(struct key *k)
{
	struct pubkey	 pub;

	if (privkey_public(k->priv, &pub) == -1 ||
	    didkey_encode(&pub, k->didkey, sizeof(k->didkey)) == -1) {
		log_warnx("key: bad secret");
		return -1;
	}
	return 0;
}

/*
 * Load the key in name, or (with create) make a new secp256k1 key
 * there.  The raw secret passes through guarded memory only.
 */
static int
key_open(const char *name, struct key *k, int create)
{
	uint8_t	*secret;
	int	 rv = -1;

	memset(k, 0, sizeof(*k));
	if ((secret = sodium_malloc(SIGNERD_KEY_LEN)) == NULL) {
		log_warn("sodium_malloc");
		return -1;
	}
	if (key_read(name, secret) == 0)
		k->priv = privkey_load(KEY_K256, secret, SIGNERD_KEY_LEN);
	else if (errno != ENOENT || !create)
		log_warn("%s", name);
	else if ((k->priv = privkey_generate(KEY_K256)) != NULL) {
		if (privkey_export(k->priv, secret) == -1 ||
		    keystore_write_file(name, secret, SIGNERD_KEY_LEN) == -1) {
			privkey_free(k->priv);
			k->priv = NULL;
		} else
			log_info("created key %s", name);
	}
	sodium_free(secret);
	if (k->priv != NULL && key_fill(k) == 0)
		rv = 0;
	else
		key_free(k);
	return rv;
}

int
keystore_load_or_create(const char *name, struct key *k)
{
	return key_open(name, k, 1);
}

/*
 * Calls fn for every file whose name ends in suffix.  Reading a
 * directory needs getdents, which the sandbox forbids: start-up only.
 */
int
keystore_scan(const char *suffix, void (*fn)(const char *))
{
	DIR		*d;
	struct dirent	*de;
	size_t		 len, slen = strlen(suffix);
	int		 fd;

	if ((fd = dup(kdirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("key directory");
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len > slen && strcmp(de->d_name + len - slen, suffix) == 0)
			fn(de->d_name);
	}
	closedir(d);
	return 0;
}

static void
key_load_one(const char *name)
{
	struct key	*k;
	size_t		 len = strlen(name) - strlen(SIGNERD_KEY_SUFFIX);
	char		 want[DIDKEY_BUFSZ];

	if (strcmp(name, SIGNERD_ROTATION_KEY) == 0)
		return;
	if (len > MULTIKEY_MAX)
		fatalx("%s: not named after its key", name);
	snprintf(want, sizeof(want), "%s%.*s", DIDKEY_PREFIX, (int)len, name);
	if ((k = calloc(1, sizeof(*k))) == NULL)
		fatal("calloc");
	if (key_open(name, k, 0) == -1)
		fatalx("cannot load key %s", name);
	if (strcmp(k->didkey, want) != 0)
		fatalx("%s: holds the key %s, not the one it is named after",
		    name, k->didkey);
	RB_INSERT(key_tree, &keys, k);
}

/* Every account key, at start; a key we cannot read is fatal. */
void
keystore_load_all(void)
{
	struct key	*k;
	size_t		 n = 0;

	if (keystore_scan(SIGNERD_KEY_SUFFIX, key_load_one) == -1)
		fatalx("cannot read the key directory");
	RB_FOREACH(k, key_tree, &keys)
		n++;
	log_debug("%zu account keys", n);
}

struct key *
keystore_create(void)
{
	struct key	*k;
	uint8_t		*secret;
	char		 name[NAME_MAX + 1];
	int		 ok = 0;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((secret = sodium_malloc(SIGNERD_KEY_LEN)) == NULL) {
		free(k);
		return NULL;
	}
	if ((k->priv = privkey_generate(KEY_K256)) != NULL &&
	    key_fill(k) == 0 && privkey_export(k->priv, secret) == 0 &&
	    snprintf(name, sizeof(name), "%s%s", k->didkey +
	    strlen(DIDKEY_PREFIX), SIGNERD_KEY_SUFFIX) < (int)sizeof(name) &&
	    keystore_write_file(name, secret, SIGNERD_KEY_LEN) == 0)
		ok = 1;
	sodium_free(secret);
	if (!ok || RB_INSERT(key_tree, &keys, k) != NULL) {
		key_free(k);
		free(k);
		return NULL;
	}
	log_info("created account key %s", k->didkey);
	return k;
}

struct key *
keystore_find(const char *didkey)
{
	struct key	 want;

	if (strlen(didkey) >= sizeof(want.didkey))
		return NULL;
	strlcpy(want.didkey, didkey, sizeof(want.didkey));
	return RB_FIND(key_tree, &keys, &want);
}

void
keystore_free_all(void)
{
	struct key	*k, *next;

	RB_FOREACH_SAFE(k, key_tree, &keys, next) {
		RB_REMOVE(key_tree, &keys, k);
		key_free(k);
		free(k);
	}
}

void
key_free(struct key *k)
{
	privkey_free(k->priv);	/* wipes it */
	k->priv = NULL;
}
