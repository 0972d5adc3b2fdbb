/*
 * pdsctl blob gc: the daemon's collection of unused blobs, run now.
 */
#include <sys/types.h>

#include <err.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "imsgev.h"
#include "pds_imsg.h"
#include "pdsctl.h"

#define BLOB_USAGE	"usage: pdsctl blob gc [-j] [-e seconds]\n"

__dead static void
blob_usage(void)
{
	fputs(BLOB_USAGE, stderr);
	exit(1);
}

static void
print_gc(const struct ctl_blob_gc *r, int json)
{
	struct json_object	*o;

	if (!json) {
		printf("collected %lld unused blobs (%lld bytes); removed "
		    "%lld files (%lld bytes)\n", (long long)r->blobs,
		    (long long)r->bytes, (long long)r->files,
		    (long long)r->file_bytes);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "blobs", json_object_new_int64(r->blobs));
	json_object_object_add(o, "bytes", json_object_new_int64(r->bytes));
	json_object_object_add(o, "files", json_object_new_int64(r->files));
	json_object_object_add(o, "fileBytes",
	    json_object_new_int64(r->file_bytes));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static int
blob_gc(int argc, char **argv)
{
	struct ctl_blob_gc	 r;
	struct imsg		 imsg;
	const char		*errstr;
	char			 msg[512];
	int64_t			 expiry = -1;
	int			 ch, json = 0, rv = 1;

	optind = 0;	/* glibc: start over on a new argv */
	while ((ch = getopt(argc, argv, "je:")) != -1) {
		switch (ch) {
		case 'e':
			expiry = strtonum(optarg, 0, INT_MAX, &errstr);
			if (errstr != NULL)
				errx(1, "seconds %s: %s", errstr, optarg);
			break;
		case 'j':
			json = 1;
			break;
		default:
			blob_usage();
		}
	}
	if (optind != argc)
		blob_usage();
	ctl_connect();
	ctl_send(IMSG_CTL_BLOB_GC, &expiry, sizeof(expiry));
	ctl_next(&imsg);
	switch (imsg_get_type(&imsg)) {
	case IMSG_CTL_BLOB_GC_RESULT:
		if (imsg_get_data(&imsg, &r, sizeof(r)) == -1)
			errx(1, "bad answer from pdsd");
		print_gc(&r, json);
		rv = 0;
		break;
	case IMSG_CTL_FAIL:
		if (imsg_get_string(&imsg, msg, sizeof(msg)) == -1)
			errx(1, "bad answer from pdsd");
		fprintf(stderr, "pdsctl: %s\n", msg);
		break;
	default:
		errx(1, "unexpected answer from pdsd");
	}
	imsg_free(&imsg);
	return rv;
}

int
cmd_blob(int argc, char **argv)
{
	if (strcmp(argv[1], "gc") == 0)
		return blob_gc(argc - 1, argv + 1);
	blob_usage();
}
