-- 0008: reserved for the app.bsky record index (issue 11), which lands
-- from another branch; this placeholder keeps the numbering whole.
SELECT 1;
