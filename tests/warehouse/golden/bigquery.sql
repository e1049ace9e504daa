WITH typed AS (
  SELECT
    ts,
    user_id,
    arm,
    success,
    CAST(quality_score AS FLOAT64) AS q,
    CAST(tokens AS FLOAT64) AS t,
    CAST(latency_ms AS FLOAT64) AS l,
    interaction_id AS iid
  FROM (
    SELECT
      *
    FROM analytics.agent_interactions
    WHERE
      experiment = 'exp_001'
  ) AS src
), checked AS (
  SELECT
    *,
    COALESCE(
      (
        NOT ts IS NULL
      )
      AND (
        LENGTH(user_id) > 0 AND NOT REGEXP_CONTAINS(user_id, '[\\x00-\\x1f\\x7f-\\x9f]')
      )
      AND (
        arm IN ('control', 'treatment')
      )
      AND (
        NOT success IS NULL
      )
      AND (
        q IS NULL OR (
          q >= 0 AND q <= 100
        )
      )
      AND (
        t IS NULL OR (
          t >= 0 AND t <= 1.7976931348623157e308 AND t = FLOOR(t)
        )
      )
      AND (
        l IS NULL OR (
          l >= 0 AND l <= 1.7976931348623157e308
        )
      )
      AND (
        iid IS NULL
        OR (
          LENGTH(iid) > 0 AND NOT REGEXP_CONTAINS(iid, '[\\x00-\\x1f\\x7f-\\x9f]')
        )
      ),
      FALSE
    ) AS ok
  FROM typed
), users AS (
  SELECT
    user_id,
    h,
    CASE
      WHEN MOD(
        (
          INSTR('0123456789abcdef', SUBSTRING(h, 1, 1)) - 1
        ) * 6976 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 2, 1)) - 1
        ) * 7936 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 3, 1)) - 1
        ) * 496 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 4, 1)) - 1
        ) * 656 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 5, 1)) - 1
        ) * 4416 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 6, 1)) - 1
        ) * 7776 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 7, 1)) - 1
        ) * 6736 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 8, 1)) - 1
        ) * 7296 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 9, 1)) - 1
        ) * 5456 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 10, 1)) - 1
        ) * 7216 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 11, 1)) - 1
        ) * 8576 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 12, 1)) - 1
        ) * 5536 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 13, 1)) - 1
        ) * 4096 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 14, 1)) - 1
        ) * 256 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 15, 1)) - 1
        ) * 16 + (
          INSTR('0123456789abcdef', SUBSTRING(h, 16, 1)) - 1
        ) * 1,
        10000
      ) < 5000
      THEN 'control'
      ELSE 'treatment'
    END AS assigned
  FROM (
    SELECT
      user_id,
      TO_HEX(MD5(CONCAT('exp_001:', COALESCE(user_id, '')))) AS h
    FROM (
      SELECT DISTINCT
        user_id
      FROM checked
      WHERE
        ok
    ) AS d
  ) AS hashed
), valid AS (
  SELECT
    c.user_id,
    c.arm,
    c.success,
    c.q,
    c.t,
    c.l,
    c.iid,
    c.ts,
    a.h
  FROM checked AS c
  JOIN users AS a
    ON c.user_id = a.user_id AND c.arm = a.assigned
  WHERE
    c.ok
), ranked AS (
  SELECT
    user_id,
    arm,
    success,
    q,
    t,
    l,
    CASE
      WHEN iid IS NULL
      THEN 1
      ELSE ROW_NUMBER() OVER (
        PARTITION BY iid
        ORDER BY ts NULLS LAST, success NULLS LAST, q, t, l, h NULLS LAST
      )
    END AS copy
  FROM valid
), per_user AS (
  SELECT
    arm,
    user_id,
    COUNT(*) AS un,
    SUM(CASE WHEN success THEN 1 ELSE 0 END) AS us,
    COUNT(q) AS uqn,
    COALESCE(SUM(q), 0) AS uqs,
    COUNT(t) AS utn,
    COALESCE(SUM(t), 0) AS uts,
    COUNT(l) AS uln,
    COALESCE(SUM(l), 0) AS uls,
    COALESCE(SUM(q * q), 0) AS uqq
  FROM ranked
  WHERE
    copy = 1
  GROUP BY
    arm,
    user_id
)
SELECT
  arm,
  CAST(COUNT(*) AS INT64) AS users,
  CAST(SUM(un) AS INT64) AS n,
  CAST(COALESCE(SUM(CASE WHEN un > 0 THEN 1 ELSE 0 END), 0) AS FLOAT64) AS completion_units,
  CAST(COALESCE(SUM(us), 0) AS FLOAT64) AS completion_num,
  CAST(COALESCE(SUM(un), 0) AS FLOAT64) AS completion_den,
  CAST(COALESCE(SUM(us * us), 0) AS FLOAT64) AS completion_num2,
  CAST(COALESCE(SUM(un * un), 0) AS FLOAT64) AS completion_den2,
  CAST(COALESCE(SUM(us * un), 0) AS FLOAT64) AS completion_numden,
  CAST(COALESCE(SUM(CASE WHEN uqn > 0 THEN 1 ELSE 0 END), 0) AS FLOAT64) AS quality_units,
  CAST(COALESCE(SUM(uqs), 0) AS FLOAT64) AS quality_num,
  CAST(COALESCE(SUM(uqn), 0) AS FLOAT64) AS quality_den,
  CAST(COALESCE(SUM(uqs * uqs), 0) AS FLOAT64) AS quality_num2,
  CAST(COALESCE(SUM(uqn * uqn), 0) AS FLOAT64) AS quality_den2,
  CAST(COALESCE(SUM(uqs * uqn), 0) AS FLOAT64) AS quality_numden,
  CAST(COALESCE(SUM(CASE WHEN utn > 0 THEN 1 ELSE 0 END), 0) AS FLOAT64) AS tokens_units,
  CAST(COALESCE(SUM(uts), 0) AS FLOAT64) AS tokens_num,
  CAST(COALESCE(SUM(utn), 0) AS FLOAT64) AS tokens_den,
  CAST(COALESCE(SUM(uts * uts), 0) AS FLOAT64) AS tokens_num2,
  CAST(COALESCE(SUM(utn * utn), 0) AS FLOAT64) AS tokens_den2,
  CAST(COALESCE(SUM(uts * utn), 0) AS FLOAT64) AS tokens_numden,
  CAST(COALESCE(SUM(CASE WHEN uln > 0 THEN 1 ELSE 0 END), 0) AS FLOAT64) AS latency_units,
  CAST(COALESCE(SUM(uls), 0) AS FLOAT64) AS latency_num,
  CAST(COALESCE(SUM(uln), 0) AS FLOAT64) AS latency_den,
  CAST(COALESCE(SUM(uls * uls), 0) AS FLOAT64) AS latency_num2,
  CAST(COALESCE(SUM(uln * uln), 0) AS FLOAT64) AS latency_den2,
  CAST(COALESCE(SUM(uls * uln), 0) AS FLOAT64) AS latency_numden,
  CAST(COALESCE(SUM(uqq), 0) AS FLOAT64) AS quality_line_sumsq,
  CAST(0 AS INT64) AS `rows`,
  CAST(0 AS INT64) AS valid
FROM per_user
GROUP BY
  arm
UNION ALL
SELECT
  '*' AS arm,
  CAST(0 AS INT64) AS users,
  CAST(0 AS INT64) AS n,
  CAST(0 AS FLOAT64) AS completion_units,
  CAST(0 AS FLOAT64) AS completion_num,
  CAST(0 AS FLOAT64) AS completion_den,
  CAST(0 AS FLOAT64) AS completion_num2,
  CAST(0 AS FLOAT64) AS completion_den2,
  CAST(0 AS FLOAT64) AS completion_numden,
  CAST(0 AS FLOAT64) AS quality_units,
  CAST(0 AS FLOAT64) AS quality_num,
  CAST(0 AS FLOAT64) AS quality_den,
  CAST(0 AS FLOAT64) AS quality_num2,
  CAST(0 AS FLOAT64) AS quality_den2,
  CAST(0 AS FLOAT64) AS quality_numden,
  CAST(0 AS FLOAT64) AS tokens_units,
  CAST(0 AS FLOAT64) AS tokens_num,
  CAST(0 AS FLOAT64) AS tokens_den,
  CAST(0 AS FLOAT64) AS tokens_num2,
  CAST(0 AS FLOAT64) AS tokens_den2,
  CAST(0 AS FLOAT64) AS tokens_numden,
  CAST(0 AS FLOAT64) AS latency_units,
  CAST(0 AS FLOAT64) AS latency_num,
  CAST(0 AS FLOAT64) AS latency_den,
  CAST(0 AS FLOAT64) AS latency_num2,
  CAST(0 AS FLOAT64) AS latency_den2,
  CAST(0 AS FLOAT64) AS latency_numden,
  CAST(0 AS FLOAT64) AS quality_line_sumsq,
  CAST((
    SELECT
      COUNT(*)
    FROM checked
  ) AS INT64) AS `rows`,
  CAST((
    SELECT
      COUNT(*)
    FROM valid
  ) AS INT64) AS valid
