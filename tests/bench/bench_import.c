/*
 * One import, in process, without HTTP or the daemon: the CPU and time
 * of import_repo() alone, as pdsctl import and importRepo run it.
 *
 *	bench_import database did file.car
 *
 * The database is a pdsd data directory's pdsd.db (copy it first: the
 * account's repository is replaced) holding an account for the DID.
 * Nothing checkpoints the WAL, as in the daemon, where a thread does
 * it after the commit.  signerd is not there: the summary ends with
 * its warning.  Prints the summary, then wall and CPU milliseconds and
 * the peak resident memory of the process.  Under valgrind
 * --tool=callgrind --toggle-collect=import_repo it counts instructions,
 * which a busy machine does not change.
 */
#include <sys/resource.h>

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"
#include "log.h"
#include "pdsd.h"
#include "repo.h"

static double
cpu_ms(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void
done(void *arg, const char *msg)
{
	printf("%s\n", msg);
}

int
main(int argc, char *argv[])
{
	struct rusage		 ru;
	char			 ebuf[256], msg[512];
	double			 t0, c0;
	enum import_status	 rc;
	int			 fd;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_import database did file.car\n");
		return 2;
	}
	log_init(1, getenv("BENCH_VERBOSE") != NULL ? 2 : 0, 0);
	if ((fe->db = db_open(argv[1], ebuf, sizeof(ebuf))) == NULL)
		errx(1, "%s", ebuf);
	if (db_exec(fe->db, "PRAGMA wal_autocheckpoint = 0", ebuf,
	    sizeof(ebuf)) == -1)
		errx(1, "%s", ebuf);
	if ((fd = open(argv[3], O_RDONLY)) == -1)
		err(1, "%s", argv[3]);
	t0 = bench_now_us();
	c0 = cpu_ms();
	rc = import_repo(fd, argv[2], msg, sizeof(msg), done, NULL);
	printf("import: %.1f ms, %.1f ms of CPU\n",
	    (bench_now_us() - t0) / 1e3, cpu_ms() - c0);
	if (rc != IMPORT_OK)
		printf("refused: %s\n", msg);
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS: %ld kB\n", ru.ru_maxrss);
	close(fd);
	/* BENCH_KEEP_WAL: the import's frames stay for walpages.mjs. */
	if (getenv("BENCH_KEEP_WAL") != NULL)
		sqlite3_db_config(fe->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
		    NULL);
	db_close(fe->db);
	return rc == IMPORT_OK ? 0 : 1;
}
