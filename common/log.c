/*
 * Logging: with debug set, lines go to stderr prefixed by the process
 * name; otherwise to syslog, opened early (LOG_NDELAY) so that a
 * chrooted child keeps its socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int		 debug;
static int		 verbose;
static const char	*procname;	/* NULL: no prefix (pdsd -n) */

void
log_init(int n_debug, int n_verbose, int facility)
{
	debug = n_debug;
	verbose = n_verbose;
	if (!debug)
		openlog(procname != NULL ? procname : "pdsd",
		    LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_procinit(const char *name)
{
	if (name != NULL)
		procname = name;
}

const char *
log_procname(void)
{
	return procname != NULL ? procname : "pdsd";
}

void
log_setverbose(int v)
{
	verbose = v;
}

int
log_getverbose(void)
{
	return verbose;
}

int64_t
log_stamp(void)
{
	struct timespec	 ts;

	if (verbose < 2)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	int	 saved_errno = errno;

	if (debug) {
		if (procname != NULL)
			fprintf(stderr, "%s: ", procname);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
	} else
		vsyslog(pri, fmt, ap);
	errno = saved_errno;
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

static void	vlog_errno(int, int, const char *, va_list)
		    __attribute__((__format__ (printf, 3, 0)));
static __dead void vfatalc(int, const char *, va_list)
		    __attribute__((__format__ (printf, 2, 0)));

static void
vlog_errno(int pri, int code, const char *fmt, va_list ap)
{
	char	 buf[1024];

	if (fmt == NULL) {
		logit(pri, "%s", strerror(code));
		return;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	logit(pri, "%s: %s", buf, strerror(code));
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, saved_errno, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

static __dead void
vfatalc(int code, const char *fmt, va_list ap)
{
	char	 buf[1024];

	buf[0] = '\0';
	if (fmt != NULL)
		vsnprintf(buf, sizeof(buf), fmt, ap);
	if (code)
		logit(LOG_CRIT, "fatal in %s: %s%s%s", log_procname(), buf,
		    fmt != NULL ? ": " : "", strerror(code));
	else
		logit(LOG_CRIT, "fatal in %s: %s", log_procname(), buf);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfatalc(errno, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfatalc(0, fmt, ap);
	va_end(ap);
}
