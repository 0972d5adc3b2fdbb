/*
 * pdsctl commands that talk to the running daemon.
 */
#include <sys/types.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void
print_time(const char *what, int64_t t)
{
	struct tm	 tm;
	time_t		 tt = t;
	char		 buf[64];

	if (t == 0) {
		printf("\t%s: never\n", what);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("\t%s: %s\n", what, buf);
}

static void
print_relay(struct ctl_relay *cr)
{
	cr->url[sizeof(cr->url) - 1] = '\0';
	cr->last_error[sizeof(cr->last_error) - 1] = '\0';
	printf("relay %s\n", cr->url);
	print_time("last attempt", cr->last_attempt);
	print_time("last success", cr->last_success);
	if (cr->in_flight)
		printf("\tstate: request in flight\n");
	if (cr->failures > 0) {
		printf("\tlast error: %s\n", cr->last_error);
		printf("\tfailures in a row: %d\n", cr->failures);
		print_time("next attempt", cr->next_attempt);
	}
}

static int
relay_list(void)
{
	struct ctl_relay	 cr;
	struct imsg		 imsg;
	int			 done = 0, n = 0;

	ctl_send(IMSG_CTL_RELAY_STATUS, NULL, 0);
	while (!done) {
		ctl_next(&imsg);
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_RELAY_INFO:
			if (imsg_get_data(&imsg, &cr, sizeof(cr)) == -1)
				errx(1, "bad relay list from pdsd");
			print_relay(&cr);
			n++;
			break;
		case IMSG_CTL_END:
			done = 1;
			break;
		case IMSG_CTL_FAIL:
			errx(1, "relay list request refused");
		default:
			errx(1, "unexpected answer from pdsd");
		}
		imsg_free(&imsg);
	}
	if (n == 0)
		printf("no relays configured\n");
	return 0;
}

/* pdsctl crawl: every relay is asked again now. */
int
cmd_crawl(int argc, char **argv)
{
	ctl_send(IMSG_CTL_RELAY_CRAWL, NULL, 0);
	if (ctl_wait_ok() != 0)
		return 1;
	printf("crawl requested from every relay\n");
	return 0;
}

/* "relay status" and "relay crawl" are the older spellings. */
int
cmd_relay(int argc, char **argv)
{
	if (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "status") == 0)
		return relay_list();
	if (strcmp(argv[1], "crawl") == 0)
		return cmd_crawl(argc, argv);
	fprintf(stderr, "usage: pdsctl relay list\n");
	return 1;
}

int
cmd_index(int argc, char **argv)
{
	if (strcmp(argv[1], "rebuild") != 0) {
		fprintf(stderr, "usage: pdsctl index rebuild\n");
		return 1;
	}
	ctl_send(IMSG_CTL_INDEX_REBUILD, NULL, 0);
	return ctl_wait_ok();
}
