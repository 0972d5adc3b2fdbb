-- 0012: a record block counts the records of its repository that point
-- at it (two records with the same content share one block), and goes
-- when the count falls to 0.  The index record_cid was there only to
-- find whether any record still pointed at a block, and its keys,
-- random CIDs, cost a leaf page of the WAL for every record written;
-- the count sits in the block's own row, on the page its insert writes
-- anyway.  MST nodes and commits are not records: theirs stays 0, and
-- a node the tree drops goes only if no record points at it.
ALTER TABLE repo_block ADD COLUMN refs INTEGER NOT NULL DEFAULT 0;
UPDATE repo_block SET refs = r.n
    FROM (SELECT did, cid, count(*) AS n FROM record GROUP BY did, cid) AS r
    WHERE repo_block.did = r.did AND repo_block.cid = r.cid;
DROP INDEX record_cid;
