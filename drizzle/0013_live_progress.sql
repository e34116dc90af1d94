-- 0013_live_progress: reserved; replaced by its owner with the real statements.
SELECT 1;
