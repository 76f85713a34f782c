-- Plan scores on one scale, 0–100. The native planner kept the evaluator's 0–1 scores, while
-- plans made through POST /planning/create (body.source = 'planning/create') were already on
-- 0–100; the best plan of a portfolio hash compares them, so they must agree.
UPDATE plans
SET score_before = score_before * 100,
    score_after = score_after * 100
WHERE json_extract(body, '$.source') IS NOT 'planning/create';
