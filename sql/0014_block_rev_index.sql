-- 0014: no index of repo_block by rev.  Only getRepo with "since" reads
-- blocks by rev, and it now walks the repository's blocks in CID order
-- and keeps those newer than the rev: the cost of the full export,
-- which anyone may ask for anyway.  The index cost every write a leaf
-- page or two of the WAL and an import a tenth of its pages
-- (docs/bench.md).
DROP INDEX repo_block_rev;
