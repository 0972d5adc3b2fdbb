/*
 * The key directory: mode 0700, one file per key, mode 0600, holding
 * the 32 raw bytes of the secret.  New keys are written to a temporary
 * name, synced and renamed, so a crash never leaves half a key.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "didkey.h"
#include "log.h"
#include "signerd.h"

static int	key_read(const char *, uint8_t *);
static int	key_write(const char *, const uint8_t *);
static int	key_fill(struct key *);

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
	return 0;
}

static int
key_read(const char *path, uint8_t *secret)
{
	struct stat	 sb;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size != SIGNERD_KEY_LEN) {
		log_warnx("%s: not a key file", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if ((sb.st_mode & 077) != 0)
		log_warnx("%s: readable by others, fixing mode", path);
	if ((sb.st_mode & 077) != 0 && fchmod(fd, 0600) == -1)
		log_warn("fchmod %s", path);
	n = read(fd, secret, SIGNERD_KEY_LEN);
	close(fd);
	if (n != SIGNERD_KEY_LEN) {
		log_warnx("%s: short read", path);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
key_write(const char *path, const uint8_t *secret)
{
	char	 tmp[PATH_MAX];
	int	 fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		log_warn("open %s", tmp);
		return -1;
	}
	if (write(fd, secret, SIGNERD_KEY_LEN) != SIGNERD_KEY_LEN ||
	    fsync(fd) == -1) {
		log_warn("write %s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		log_warn("rename %s", tmp);
		unlink(tmp);
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
 * Load the key in path, or make a new secp256k1 key there.  The raw
 * secret passes through guarded memory only.
 */
int
keystore_load_or_create(const char *path, struct key *k)
{
	uint8_t	*secret;
	int	 rv = -1;

	memset(k, 0, sizeof(*k));
	if ((secret = sodium_malloc(SIGNERD_KEY_LEN)) == NULL) {
		log_warn("sodium_malloc");
		return -1;
	}
	if (key_read(path, secret) == 0)
		k->priv = privkey_load(KEY_K256, secret, SIGNERD_KEY_LEN);
	else if (errno != ENOENT)
		log_warn("%s", path);
	else if ((k->priv = privkey_generate(KEY_K256)) != NULL) {
		if (privkey_export(k->priv, secret) == -1 ||
		    key_write(path, secret) == -1) {
			privkey_free(k->priv);
			k->priv = NULL;
		} else
			log_info("created key %s", path);
	}
	sodium_free(secret);
	if (k->priv != NULL && key_fill(k) == 0)
		rv = 0;
	else
		key_free(k);
	return rv;
}

void
key_free(struct key *k)
{
	privkey_free(k->priv);	/* wipes it */
	k->priv = NULL;
}
