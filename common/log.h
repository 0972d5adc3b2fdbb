/*
 * Logging for the daemons, after ntpd's log.c: stderr in the foreground,
 * syslog otherwise, each line tagged with the process name.
 */
#ifndef PDS_LOG_H
#define PDS_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/cdefs.h>

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

void	log_init(int, int, int);
void	log_procinit(const char *);
void	log_setverbose(int);
int	log_getverbose(void);
const char *log_procname(void);
/* At -vv, microseconds on the monotonic clock for stage times; else 0. */
int64_t	log_stamp(void);
void	log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	logit(int, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	vlog(int, const char *, va_list)
	    __attribute__((__format__ (printf, 2, 0)));
__dead void fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__dead void fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

#endif
