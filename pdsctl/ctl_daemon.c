/*
 * pdsctl commands that talk to the running daemon.
 */
#include <sys/types.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imsgev.h"
#include "pds_imsg.h"
#include "pdsctl.h"


static void
print_uptime(int64_t s)
{
	if (s >= 86400)
		printf("%lldd ", (long long)(s / 86400));
	printf("%02lld:%02lld:%02lld\n", (long long)(s % 86400 / 3600),
	    (long long)(s % 3600 / 60), (long long)(s % 60));
}

int
cmd_status(int argc, char **argv)
{
	struct ctl_status	 st;
	struct imsg		 imsg;
	char			 buf[1100];
	int			 done = 0, got = 0;

	ctl_send(IMSG_CTL_STATUS, NULL, 0);
	while (!done) {
		ctl_next(&imsg);
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_STATUS_REPLY:
			if (imsg_get_data(&imsg, &st, sizeof(st)) == -1)
				errx(1, "bad status from pdsd");
			st.version[sizeof(st.version) - 1] = '\0';
			st.rotation_key[sizeof(st.rotation_key) - 1] = '\0';
			st.hostname[sizeof(st.hostname) - 1] = '\0';
			printf("version: %s\n", st.version);
			printf("hostname: %s\n", st.hostname);
			printf("uptime: ");
			print_uptime(st.uptime);
			printf("pid: parent %d, frontend %d, signerd %d\n",
			    st.pid_parent, st.pid_frontend, st.pid_signerd);
			printf("database: %lld bytes\n", (long long)st.db_size);
			printf("accounts: %lld\n", (long long)st.accounts);
			printf("rotation key: %s\n", st.rotation_key[0] != '\0' ?
			    st.rotation_key : "(not yet known)");
			printf("log: %s\n", st.verbose ? "verbose" : "brief");
			got = 1;
			break;
		case IMSG_CTL_STATUS_LISTEN:
			if (imsg_get_string(&imsg, buf, sizeof(buf)) == -1)
				errx(1, "bad status from pdsd");
			printf("listen: %s\n", buf);
			break;
		case IMSG_CTL_END:
			done = 1;
			break;
		case IMSG_CTL_FAIL:
			errx(1, "status request refused");
		default:
			errx(1, "unexpected answer from pdsd");
		}
		imsg_free(&imsg);
	}
	return got ? 0 : 1;
}

int
cmd_reload(int argc, char **argv)
{
	ctl_send(IMSG_CTL_RELOAD, NULL, 0);
	return ctl_wait_ok();
}

int
cmd_log(int argc, char **argv)
{
	int	 v;

	if (strcmp(argv[1], "verbose") == 0)
		v = 1;
	else if (strcmp(argv[1], "brief") == 0)
		v = 0;
	else {
		fprintf(stderr, "usage: pdsctl log verbose | brief\n");
		return 1;
	}
	ctl_send(IMSG_CTL_LOG_VERBOSE, &v, sizeof(v));
	if (ctl_wait_ok() != 0)
		return 1;
	printf("logging %s\n", v ? "verbose" : "brief");
	return 0;
}
