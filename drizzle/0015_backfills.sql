-- 0015_backfills: reserved for backfills (lib/backfill); replaced by its real statements.
SELECT 1;
