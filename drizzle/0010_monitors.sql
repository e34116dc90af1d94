-- 0010_monitors: reserved; replaced by its owner with the real statements.
SELECT 1;
