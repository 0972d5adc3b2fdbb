/*
 * signerd's sandbox on Linux: no new privileges, not dumpable, Landlock
 * limiting the filesystem to the key directory (where the kernel has
 * it), and a seccomp allow-list of the few system calls an event loop
 * that reads imsgs, signs and writes key files needs.  On OpenBSD:
 * pledge and unveil.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/landlock.h>
#include <seccomp.h>
#endif

#include "log.h"
#include "signerd.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED	1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED	0
#endif

#ifdef __linux__
static int	landlock_restrict(const char *) __attribute__((__unused__));
static void	seccomp_restrict(void) __attribute__((__unused__));

/*
 * Returns 0 when the restriction is in place, -1 when the kernel has
 * no Landlock (we then rely on chroot and seccomp).
 */
static int
landlock_restrict(const char *dir)
{
	struct landlock_ruleset_attr		 ra;
	struct landlock_path_beneath_attr	 pb;
	uint64_t				 rights;
	int					 abi, rfd, fd;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return -1;
	rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = rights;
	if ((rfd = syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra),
	    0)) == -1)
		return -1;
	if ((fd = open(dir, O_PATH | O_CLOEXEC | O_DIRECTORY)) == -1) {
		close(rfd);
		return -1;
	}
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	pb.allowed_access = LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG;
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0) == -1 || syscall(SYS_landlock_restrict_self, rfd,
	    0) == -1) {
		close(fd);
		close(rfd);
		return -1;
	}
	close(fd);
	close(rfd);
	return 0;
}

static const int allowed_syscalls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(close),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select),
	SCMP_SYS(pselect6), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(getrandom), SCMP_SYS(brk), SCMP_SYS(mmap),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise), SCMP_SYS(mlock), SCMP_SYS(munlock),
	SCMP_SYS(openat), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(fchmod), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(rename),
	SCMP_SYS(renameat), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(getpid),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(futex), SCMP_SYS(sendto), SCMP_SYS(getppid),
	SCMP_SYS(sigaltstack), SCMP_SYS(sched_yield), SCMP_SYS(tgkill),
	SCMP_SYS(gettid), SCMP_SYS(prctl), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat), SCMP_SYS(pipe2), SCMP_SYS(connect),
	SCMP_SYS(socket), SCMP_SYS(getrusage), SCMP_SYS(uname),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid),
};

/*
 * Anything else kills the process, and the parent then stops pdsd:
 * failing closed is the point.  (connect/socket/sendto stay for
 * syslog(3), which reconnects to /dev/log.)
 */
static void
seccomp_restrict(void)
{
	scmp_filter_ctx	 ctx;
	size_t		 i;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		fatalx("seccomp_init");
	for (i = 0; i < sizeof(allowed_syscalls) /
	    sizeof(allowed_syscalls[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_syscalls[i],
		    0) < 0)
			fatalx("seccomp_rule_add");
	if (seccomp_load(ctx) < 0)
		fatalx("seccomp_load");
	seccomp_release(ctx);
}
#endif

void
sandbox_signerd(const char *keydir)
{
#ifdef __linux__
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
#if SANITIZED
	/*
	 * LeakSanitizer reads /proc/self/task and ptraces us at exit: the
	 * sanitizer build keeps only no-new-privs.  The plain build, which
	 * the same tests run too, has the whole sandbox.
	 */
	log_debug("sanitizer build: no landlock or seccomp");
#else
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
	if (landlock_restrict(keydir) == -1)
		log_debug("landlock not available, relying on chroot");
	seccomp_restrict();
#endif
#elif defined(__OpenBSD__)
	if (unveil(keydir, "rwc") == -1 || unveil(NULL, NULL) == -1)
		fatal("unveil");
	if (pledge("stdio rpath wpath cpath", NULL) == -1)
		fatal("pledge");
#endif
}
