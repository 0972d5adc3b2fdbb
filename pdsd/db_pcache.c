/*
 * A thin layer over SQLite's own page cache that spares it a scan of
 * its whole hash table at the end of most write transactions.
 *
 * When a b-tree page splits, SQLite puts the new pages in ascending
 * order by swapping their numbers through a spare one: the page just
 * past the lock byte, at 1 GiB (number 262145 for 4 KiB pages).  The
 * default cache then remembers 262145 as the largest page number it
 * ever held, and at the commit (or rollback) its truncation to the
 * database's size sees a page number far past the end and walks every
 * bucket of its hash table, which grows with the cache: 3-4 % of the
 * frontend's CPU in a run of applyWrites at 8 MiB, 5 % at 16 MiB
 * (docs/bench.md).  While the database is smaller than 1 GiB that
 * happens after nearly every commit that splits a page.
 *
 * Here each cache keeps its own bound on the page numbers it may hold,
 * not counting a page parked on the spare number (those are counted
 * apart: the swap moves them off again at once), and a truncation that
 * can drop nothing is not passed on.  Everything else is SQLite's
 * default cache, unchanged.
 */
#include <sys/types.h>

#include <sqlite3.h>
#include <stdlib.h>

#include "pdsd.h"

/* SQLite's lock byte offset (PENDING_BYTE), fixed outside its tests. */
#define PCACHE_PENDING_BYTE	0x40000000U

struct pcache_wrap {
	sqlite3_pcache	*inner;
	unsigned	 spare;		/* the page number swaps go through */
	unsigned	 max;		/* no page held above it, but spare */
	unsigned	 nspare;	/* pages parked on the spare number */
};

static sqlite3_pcache_methods2	inner;

static int
pc_init(void *arg)
{
	return inner.xInit != NULL ? inner.xInit(arg) : SQLITE_OK;
}

static void
pc_shutdown(void *arg)
{
	if (inner.xShutdown != NULL)
		inner.xShutdown(arg);
}

static sqlite3_pcache *
pc_create(int szpage, int szextra, int purgeable)
{
	struct pcache_wrap	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->inner = inner.xCreate(szpage, szextra, purgeable)) == NULL) {
		free(w);
		return NULL;
	}
	w->spare = szpage > 0 ? PCACHE_PENDING_BYTE / (unsigned)szpage + 1 :
	    0;
	return (sqlite3_pcache *)w;
}

static void
pc_cachesize(sqlite3_pcache *p, int n)
{
	inner.xCachesize(((struct pcache_wrap *)p)->inner, n);
}

static int
pc_pagecount(sqlite3_pcache *p)
{
	return inner.xPagecount(((struct pcache_wrap *)p)->inner);
}

static sqlite3_pcache_page *
pc_fetch(sqlite3_pcache *p, unsigned key, int create)
{
	struct pcache_wrap	*w = (struct pcache_wrap *)p;
	sqlite3_pcache_page	*pg;

	pg = inner.xFetch(w->inner, key, create);
	if (pg != NULL && key > w->max)
		w->max = key;
	return pg;
}

static void
pc_unpin(sqlite3_pcache *p, sqlite3_pcache_page *pg, int discard)
{
	inner.xUnpin(((struct pcache_wrap *)p)->inner, pg, discard);
}

static void
pc_rekey(sqlite3_pcache *p, sqlite3_pcache_page *pg, unsigned from,
    unsigned to)
{
	struct pcache_wrap	*w = (struct pcache_wrap *)p;

	inner.xRekey(w->inner, pg, from, to);
	if (from == w->spare && w->nspare > 0)
		w->nspare--;
	if (to == w->spare)
		w->nspare++;
	else if (to > w->max)
		w->max = to;
}

/* Drops the pages numbered limit and above: none, often. */
static void
pc_truncate(sqlite3_pcache *p, unsigned limit)
{
	struct pcache_wrap	*w = (struct pcache_wrap *)p;

	if (w->max < limit && (w->nspare == 0 || w->spare < limit))
		return;
	inner.xTruncate(w->inner, limit);
	if (limit <= w->spare)
		w->nspare = 0;
	if (w->max >= limit)
		w->max = limit > 0 ? limit - 1 : 0;
}

static void
pc_destroy(sqlite3_pcache *p)
{
	struct pcache_wrap	*w = (struct pcache_wrap *)p;

	inner.xDestroy(w->inner);
	free(w);
}

static void
pc_shrink(sqlite3_pcache *p)
{
	if (inner.xShrink != NULL)
		inner.xShrink(((struct pcache_wrap *)p)->inner);
}

/*
 * Before the process's first connection: SQLite takes a cache only
 * before it initializes.  If it already has, its own cache stays.
 * Nothing here reads SQLite's memory statistics, and keeping them
 * takes a global mutex around every allocation: 3 % of an import's
 * instructions (docs/bench.md).
 */
void
db_pcache_install(void)
{
	static int			done;
	static sqlite3_pcache_methods2	m;

	if (done)
		return;
	done = 1;
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner) != SQLITE_OK ||
	    inner.iVersion < 1 || inner.xCreate == NULL)
		return;
	m.iVersion = 1;
	m.pArg = inner.pArg;
	m.xInit = pc_init;
	m.xShutdown = pc_shutdown;
	m.xCreate = pc_create;
	m.xCachesize = pc_cachesize;
	m.xPagecount = pc_pagecount;
	m.xFetch = pc_fetch;
	m.xUnpin = pc_unpin;
	m.xRekey = pc_rekey;
	m.xTruncate = pc_truncate;
	m.xDestroy = pc_destroy;
	m.xShrink = pc_shrink;
	sqlite3_config(SQLITE_CONFIG_PCACHE2, &m);
}
