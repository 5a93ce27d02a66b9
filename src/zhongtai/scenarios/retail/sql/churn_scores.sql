-- The published scores of the churn model's champion: each person's risk of placing no order in the next 90
-- days, as of the publish, and the version that published it.
SELECT person_id, scored_at AS ts, score AS churn_score, model_version
FROM churn_scores
