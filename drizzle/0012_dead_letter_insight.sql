-- 0012_dead_letter_insight: reserved; replaced by its owner with the real statements.
SELECT 1;
