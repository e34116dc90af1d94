-- 0016_dependencies: reserved for job dependencies (dependsOn); replaced by its real statements.
SELECT 1;
