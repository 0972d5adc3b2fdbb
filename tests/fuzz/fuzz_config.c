/*
 * pdsd.conf parser on arbitrary bytes: no crash, no leak, and whatever
 * parses prints a canonical form that parses and prints the same again.
 *
 * The parser's complaints would flood the log, so stderr is /dev/null
 * while it runs; sanitizer reports still reach the real stderr.  Set
 * FUZZ_VERBOSE to see the parser's messages when replaying an input.
 */
#include <sys/types.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "log.h"
#include "pdsd.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Unlinked at once and reopened through /proc: nothing left on a crash. */
static char	 inpath[32], outpath[32];
static int	 infd = -1, outfd = -1, nullfd = -1, errfd = -1;

static int
tempfile(char *path, size_t size)
{
	char	 name[] = "/tmp/fuzz_config.XXXXXX";
	int	 fd;

	if ((fd = mkstemp(name)) == -1 || unlink(name) == -1)
		abort();
	snprintf(path, size, "/proc/self/fd/%d", fd);
	return fd;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	infd = tempfile(inpath, sizeof(inpath));
	outfd = tempfile(outpath, sizeof(outpath));
	log_init(1, 0, LOG_DAEMON);
	if (getenv("FUZZ_VERBOSE") == NULL) {
		if ((errfd = dup(STDERR_FILENO)) == -1 ||
		    (nullfd = open("/dev/null", O_WRONLY)) == -1)
			abort();
		__sanitizer_set_report_fd((void *)(intptr_t)errfd);
	}
	return 0;
}

static void
put(int fd, const void *buf, size_t len)
{
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, len, 0) != (ssize_t)len)
		abort();
}

static struct pdsd_conf *
parse_quietly(const char *path)
{
	struct pdsd_conf	*c;

	if (nullfd != -1) {
		fflush(stderr);
		dup2(nullfd, STDERR_FILENO);
	}
	c = parse_config(path);
	if (nullfd != -1) {
		fflush(stderr);
		dup2(errfd, STDERR_FILENO);
	}
	return c;
}

static char *
printed(const struct pdsd_conf *c, size_t *len)
{
	FILE	*fp;
	char	*buf = NULL;

	if ((fp = open_memstream(&buf, len)) == NULL)
		abort();
	print_config(fp, c);
	if (fclose(fp) != 0)
		abort();
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pdsd_conf	*c, *again;
	char			*text, *text2;
	size_t			 len, len2;

	if (size > 64 * 1024)
		return 0;
	put(infd, data, size);
	if ((c = parse_quietly(inpath)) == NULL)
		return 0;
	text = printed(c, &len);
	config_free(c);

	put(outfd, text, len);
	if ((again = parse_quietly(outpath)) == NULL) {
		fprintf(stderr, "printed form does not parse:\n%s", text);
		abort();
	}
	text2 = printed(again, &len2);
	config_free(again);
	if (len != len2 || memcmp(text, text2, len) != 0) {
		fprintf(stderr, "printed form changes:\n%s---\n%s", text,
		    text2);
		abort();
	}
	free(text);
	free(text2);
	return 0;
}
