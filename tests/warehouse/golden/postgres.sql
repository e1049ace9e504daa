WITH typed AS (
  SELECT
    ts,
    user_id,
    arm,
    success,
    CAST(quality_score AS DOUBLE PRECISION) AS q,
    CAST(tokens AS DOUBLE PRECISION) AS t,
    CAST(latency_ms AS DOUBLE PRECISION) AS l,
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
        LENGTH(user_id) > 0 AND NOT user_id ~ '[\x00-\x1f\x7f-\x9f]'
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
        iid IS NULL OR (
          LENGTH(iid) > 0 AND NOT iid ~ '[\x00-\x1f\x7f-\x9f]'
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
      WHEN (
        (
          POSITION(SUBSTRING(h FROM 1 FOR 1) IN '0123456789abcdef') - 1
        ) * 6976 + (
          POSITION(SUBSTRING(h FROM 2 FOR 1) IN '0123456789abcdef') - 1
        ) * 7936 + (
          POSITION(SUBSTRING(h FROM 3 FOR 1) IN '0123456789abcdef') - 1
        ) * 496 + (
          POSITION(SUBSTRING(h FROM 4 FOR 1) IN '0123456789abcdef') - 1
        ) * 656 + (
          POSITION(SUBSTRING(h FROM 5 FOR 1) IN '0123456789abcdef') - 1
        ) * 4416 + (
          POSITION(SUBSTRING(h FROM 6 FOR 1) IN '0123456789abcdef') - 1
        ) * 7776 + (
          POSITION(SUBSTRING(h FROM 7 FOR 1) IN '0123456789abcdef') - 1
        ) * 6736 + (
          POSITION(SUBSTRING(h FROM 8 FOR 1) IN '0123456789abcdef') - 1
        ) * 7296 + (
          POSITION(SUBSTRING(h FROM 9 FOR 1) IN '0123456789abcdef') - 1
        ) * 5456 + (
          POSITION(SUBSTRING(h FROM 10 FOR 1) IN '0123456789abcdef') - 1
        ) * 7216 + (
          POSITION(SUBSTRING(h FROM 11 FOR 1) IN '0123456789abcdef') - 1
        ) * 8576 + (
          POSITION(SUBSTRING(h FROM 12 FOR 1) IN '0123456789abcdef') - 1
        ) * 5536 + (
          POSITION(SUBSTRING(h FROM 13 FOR 1) IN '0123456789abcdef') - 1
        ) * 4096 + (
          POSITION(SUBSTRING(h FROM 14 FOR 1) IN '0123456789abcdef') - 1
        ) * 256 + (
          POSITION(SUBSTRING(h FROM 15 FOR 1) IN '0123456789abcdef') - 1
        ) * 16 + (
          POSITION(SUBSTRING(h FROM 16 FOR 1) IN '0123456789abcdef') - 1
        ) * 1
      ) % 10000 < 5000
      THEN 'control'
      ELSE 'treatment'
    END AS assigned
  FROM (
    SELECT
      user_id,
      MD5(CONCAT('exp_001:', user_id)) AS h
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
        ORDER BY ts, success, q NULLS FIRST, t NULLS FIRST, l NULLS FIRST, h
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
  CAST(COUNT(*) AS BIGINT) AS users,
  CAST(SUM(un) AS BIGINT) AS n,
  CAST(COALESCE(SUM(CASE WHEN un > 0 THEN 1 ELSE 0 END), 0) AS DOUBLE PRECISION) AS completion_units,
  CAST(COALESCE(SUM(us), 0) AS DOUBLE PRECISION) AS completion_num,
  CAST(COALESCE(SUM(un), 0) AS DOUBLE PRECISION) AS completion_den,
  CAST(COALESCE(SUM(us * us), 0) AS DOUBLE PRECISION) AS completion_num2,
  CAST(COALESCE(SUM(un * un), 0) AS DOUBLE PRECISION) AS completion_den2,
  CAST(COALESCE(SUM(us * un), 0) AS DOUBLE PRECISION) AS completion_numden,
  CAST(COALESCE(SUM(CASE WHEN uqn > 0 THEN 1 ELSE 0 END), 0) AS DOUBLE PRECISION) AS quality_units,
  CAST(COALESCE(SUM(uqs), 0) AS DOUBLE PRECISION) AS quality_num,
  CAST(COALESCE(SUM(uqn), 0) AS DOUBLE PRECISION) AS quality_den,
  CAST(COALESCE(SUM(uqs * uqs), 0) AS DOUBLE PRECISION) AS quality_num2,
  CAST(COALESCE(SUM(uqn * uqn), 0) AS DOUBLE PRECISION) AS quality_den2,
  CAST(COALESCE(SUM(uqs * uqn), 0) AS DOUBLE PRECISION) AS quality_numden,
  CAST(COALESCE(SUM(CASE WHEN utn > 0 THEN 1 ELSE 0 END), 0) AS DOUBLE PRECISION) AS tokens_units,
  CAST(COALESCE(SUM(uts), 0) AS DOUBLE PRECISION) AS tokens_num,
  CAST(COALESCE(SUM(utn), 0) AS DOUBLE PRECISION) AS tokens_den,
  CAST(COALESCE(SUM(uts * uts), 0) AS DOUBLE PRECISION) AS tokens_num2,
  CAST(COALESCE(SUM(utn * utn), 0) AS DOUBLE PRECISION) AS tokens_den2,
  CAST(COALESCE(SUM(uts * utn), 0) AS DOUBLE PRECISION) AS tokens_numden,
  CAST(COALESCE(SUM(CASE WHEN uln > 0 THEN 1 ELSE 0 END), 0) AS DOUBLE PRECISION) AS latency_units,
  CAST(COALESCE(SUM(uls), 0) AS DOUBLE PRECISION) AS latency_num,
  CAST(COALESCE(SUM(uln), 0) AS DOUBLE PRECISION) AS latency_den,
  CAST(COALESCE(SUM(uls * uls), 0) AS DOUBLE PRECISION) AS latency_num2,
  CAST(COALESCE(SUM(uln * uln), 0) AS DOUBLE PRECISION) AS latency_den2,
  CAST(COALESCE(SUM(uls * uln), 0) AS DOUBLE PRECISION) AS latency_numden,
  CAST(COALESCE(SUM(uqq), 0) AS DOUBLE PRECISION) AS quality_line_sumsq,
  CAST(0 AS BIGINT) AS "rows",
  CAST(0 AS BIGINT) AS valid
FROM per_user
GROUP BY
  arm
UNION ALL
SELECT
  '*' AS arm,
  CAST(0 AS BIGINT) AS users,
  CAST(0 AS BIGINT) AS n,
  CAST(0 AS DOUBLE PRECISION) AS completion_units,
  CAST(0 AS DOUBLE PRECISION) AS completion_num,
  CAST(0 AS DOUBLE PRECISION) AS completion_den,
  CAST(0 AS DOUBLE PRECISION) AS completion_num2,
  CAST(0 AS DOUBLE PRECISION) AS completion_den2,
  CAST(0 AS DOUBLE PRECISION) AS completion_numden,
  CAST(0 AS DOUBLE PRECISION) AS quality_units,
  CAST(0 AS DOUBLE PRECISION) AS quality_num,
  CAST(0 AS DOUBLE PRECISION) AS quality_den,
  CAST(0 AS DOUBLE PRECISION) AS quality_num2,
  CAST(0 AS DOUBLE PRECISION) AS quality_den2,
  CAST(0 AS DOUBLE PRECISION) AS quality_numden,
  CAST(0 AS DOUBLE PRECISION) AS tokens_units,
  CAST(0 AS DOUBLE PRECISION) AS tokens_num,
  CAST(0 AS DOUBLE PRECISION) AS tokens_den,
  CAST(0 AS DOUBLE PRECISION) AS tokens_num2,
  CAST(0 AS DOUBLE PRECISION) AS tokens_den2,
  CAST(0 AS DOUBLE PRECISION) AS tokens_numden,
  CAST(0 AS DOUBLE PRECISION) AS latency_units,
  CAST(0 AS DOUBLE PRECISION) AS latency_num,
  CAST(0 AS DOUBLE PRECISION) AS latency_den,
  CAST(0 AS DOUBLE PRECISION) AS latency_num2,
  CAST(0 AS DOUBLE PRECISION) AS latency_den2,
  CAST(0 AS DOUBLE PRECISION) AS latency_numden,
  CAST(0 AS DOUBLE PRECISION) AS quality_line_sumsq,
  CAST((
    SELECT
      COUNT(*)
    FROM checked
  ) AS BIGINT) AS "rows",
  CAST((
    SELECT
      COUNT(*)
    FROM valid
  ) AS BIGINT) AS valid
