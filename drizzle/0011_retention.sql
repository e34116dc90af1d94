-- 0011_retention: reserved; replaced by its owner with the real statements.
SELECT 1;
