// walpages.mjs - WAL pages per commit, by table, of a pdsd database.
//
//   node walpages.mjs DATADIR/pdsd.db [COMMITS]
//
// Copies the database and its WAL (the daemon may keep running: take
// it when idle), reads the WAL's frames of the current generation
// (those whose salts are the header's), cuts them into commits at the
// frames that carry a database size, and maps the page numbers of the
// last COMMITS commits (default 100) to the tables and indexes that
// own them now, with SQLite's dbstat on the copy (the sqlite3 tool).
// A page freed since is counted as "(free)".  Prints pages per commit,
// in total and by name, largest first.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const [db, want = '100'] = process.argv.slice(2)
if (!db || !existsSync(`${db}-wal`)) {
  console.error('usage: walpages.mjs DB [COMMITS]  (DB-wal must exist)')
  process.exit(2)
}
const dir = mkdtempSync(join(tmpdir(), 'walpages.'))
try {
  copyFileSync(db, join(dir, 'db'))
  copyFileSync(`${db}-wal`, join(dir, 'db-wal'))
  const wal = readFileSync(join(dir, 'db-wal'))
  const psz = wal.readUInt32BE(8)
  const salt1 = wal.readUInt32BE(16), salt2 = wal.readUInt32BE(20)
  const commits = []
  let cur = []
  for (let off = 32; off + 24 + psz <= wal.length; off += 24 + psz) {
    if (wal.readUInt32BE(off + 8) !== salt1 ||
        wal.readUInt32BE(off + 12) !== salt2)
      break
    cur.push(wal.readUInt32BE(off))
    if (wal.readUInt32BE(off + 4) !== 0) {
      commits.push(cur)
      cur = []
    }
  }
  const last = commits.slice(-Number(want))
  const owner = new Map()
  const out = execFileSync('sqlite3', [join(dir, 'db'),
    'SELECT pageno, name FROM dbstat'], { maxBuffer: 1 << 30 })
  for (const line of out.toString().split('\n')) {
    const i = line.indexOf('|')
    if (i > 0) owner.set(Number(line.slice(0, i)), line.slice(i + 1))
  }
  const by = new Map()
  let frames = 0
  for (const c of last)
    for (const p of c) {
      const n = owner.get(p) ?? '(free)'
      by.set(n, (by.get(n) ?? 0) + 1)
      frames++
    }
  const per = (n) => (n / last.length).toFixed(2)
  console.log(`${commits.length} commits in the WAL, last ${last.length}: ` +
    `${per(frames)} pages per commit (page size ${psz})`)
  for (const [n, k] of [...by].sort((a, b) => b[1] - a[1]))
    console.log(`${per(k).padStart(8)}  ${n}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
