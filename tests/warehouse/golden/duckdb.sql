WITH typed AS NOT MATERIALIZED (
  SELECT
    ts,
    user_id,
    arm,
    success,
    CAST(quality_score AS DOUBLE) AS q,
    CAST(tokens AS DOUBLE) AS t,
    CAST(latency_ms AS DOUBLE) AS l,
    interaction_id AS iid,
    prompt_blob AS b
  FROM (
    SELECT
      *
    FROM analytics.agent_interactions
    WHERE
      experiment = 'exp_001'
  ) AS src
), checked AS NOT MATERIALIZED (
  SELECT
    *,
    COALESCE(
      (
        NOT ts IS NULL
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
          t >= 0 AND t <= 9007199254740991 AND t = FLOOR(t)
        )
      )
      AND (
        l IS NULL OR (
          l >= 0 AND l <= 1000000000000000.0
        )
      )
      AND (
        iid IS NULL
        OR (
          LENGTH(iid) > 0 AND NOT REGEXP_MATCHES(iid, '[\x00-\x1f\x7f-\x9f]')
        )
      )
      AND (
        b IS NULL
        OR (
          REGEXP_MATCHES(b, '^[0-9a-f]{40}([0-9a-f]{24})?$')
          AND b = CASE arm
            WHEN 'control'
            THEN '3b18e512dba79e4c8300dd08aeb37f8e728b8dad'
            WHEN 'treatment'
            THEN '9daeafb9864cf43055ae93beb0afd6c7d144bfa4'
          END
        )
      ),
      FALSE
    ) AS row_ok
  FROM typed
), repeated AS (
  SELECT
    iid
  FROM typed
  WHERE
    NOT iid IS NULL
  GROUP BY
    iid
  HAVING
    COUNT(*) > 1
), copies AS (
  SELECT
    c.ts,
    c.user_id,
    c.arm,
    c.success,
    c.q,
    c.t,
    c.l,
    c.iid,
    c.row_ok
  FROM checked AS c
  JOIN repeated AS r
    ON c.iid = r.iid
), repeated_users AS (
  SELECT
    *,
    COALESCE(LENGTH(user_id) > 0 AND NOT REGEXP_MATCHES(user_id, '[\x00-\x1f\x7f-\x9f]'), FALSE) AS user_ok,
    CASE
      WHEN (
        CAST('0x' || SUBSTRING(h, 1, 16) AS UBIGINT) % 10000
      ) < 5000
      THEN 'control'
      ELSE 'treatment'
    END AS assigned
  FROM (
    SELECT
      *,
      MD5(CONCAT('exp_001:', user_id)) AS h
    FROM (
      SELECT DISTINCT
        user_id
      FROM copies
      WHERE
        row_ok
    ) AS d
  ) AS hashed
), ranked AS (
  SELECT
    c.user_id,
    c.arm,
    c.success,
    c.q,
    c.t,
    c.l,
    c.row_ok,
    1 AS copy
  FROM checked AS c
  WHERE
    c.iid IS NULL OR NOT c.iid IN (
      SELECT
        iid
      FROM repeated
    )
  UNION ALL
  SELECT
    f.user_id,
    f.arm,
    f.success,
    f.q,
    f.t,
    f.l,
    f.row_ok,
    ROW_NUMBER() OVER (
      PARTITION BY f.iid
      ORDER BY CASE
        WHEN NOT f.row_ok
        THEN 2
        WHEN COALESCE(u.user_ok AND f.arm = u.assigned, FALSE)
        THEN 0
        ELSE 1
      END, ts, success, q NULLS FIRST, t NULLS FIRST, l NULLS FIRST, u.h
    ) AS copy
  FROM copies AS f
  LEFT JOIN repeated_users AS u
    ON f.user_id = u.user_id
), per_user AS (
  SELECT
    CASE WHEN arm IN ('control', 'treatment') THEN arm ELSE '*' END AS grp,
    user_id,
    COUNT(*) AS ur,
    COUNT(*) FILTER(WHERE
      row_ok) AS uok,
    COUNT(*) FILTER(WHERE
      row_ok AND copy = 1) AS un,
    COUNT(*) FILTER(WHERE
      row_ok AND copy = 1 AND success) AS us,
    COUNT(CASE WHEN row_ok AND copy = 1 THEN q END) AS uqn,
    COALESCE(SUM(CASE WHEN row_ok AND copy = 1 THEN q END), 0) AS uqs,
    COUNT(CASE WHEN row_ok AND copy = 1 THEN t END) AS utn,
    COALESCE(SUM(CASE WHEN row_ok AND copy = 1 THEN t END), 0) AS uts,
    COUNT(CASE WHEN row_ok AND copy = 1 THEN l END) AS uln,
    COALESCE(SUM(CASE WHEN row_ok AND copy = 1 THEN l END), 0) AS uls
  FROM ranked
  GROUP BY
    CASE WHEN arm IN ('control', 'treatment') THEN arm ELSE '*' END,
    user_id
), judged AS (
  SELECT
    grp,
    COALESCE(user_ok AND grp = assigned, FALSE) AS good,
    ur,
    un,
    us,
    uqn,
    uqs,
    utn,
    uts,
    uln,
    uls,
    uok
  FROM (
    SELECT
      *,
      COALESCE(LENGTH(user_id) > 0 AND NOT REGEXP_MATCHES(user_id, '[\x00-\x1f\x7f-\x9f]'), FALSE) AS user_ok,
      CASE
        WHEN (
          CAST('0x' || SUBSTRING(h, 1, 16) AS UBIGINT) % 10000
        ) < 5000
        THEN 'control'
        ELSE 'treatment'
      END AS assigned
    FROM (
      SELECT
        *,
        MD5(CONCAT('exp_001:', user_id)) AS h
      FROM (
        SELECT
          *
        FROM per_user
      ) AS d
    ) AS hashed
  ) AS a
), per_arm AS (
  SELECT
    grp,
    good,
    SUM(CASE WHEN un > 0 THEN 1 ELSE 0 END) AS s_users,
    SUM(un) AS s_n,
    CAST(COALESCE(SUM(CASE WHEN un > 0 THEN 1 ELSE 0 END), 0) AS DOUBLE) AS s_completion_units,
    CAST(COALESCE(SUM(us), 0) AS DOUBLE) AS s_completion_num,
    CAST(COALESCE(SUM(un), 0) AS DOUBLE) AS s_completion_den,
    CAST(COALESCE(SUM(us * us), 0) AS DOUBLE) AS s_completion_num2,
    CAST(COALESCE(SUM(un * un), 0) AS DOUBLE) AS s_completion_den2,
    CAST(COALESCE(SUM(us * un), 0) AS DOUBLE) AS s_completion_numden,
    CAST(COALESCE(SUM(CASE WHEN uqn > 0 THEN 1 ELSE 0 END), 0) AS DOUBLE) AS s_quality_units,
    CAST(COALESCE(SUM(uqs), 0) AS DOUBLE) AS s_quality_num,
    CAST(COALESCE(SUM(uqn), 0) AS DOUBLE) AS s_quality_den,
    CAST(COALESCE(SUM(uqs * uqs), 0) AS DOUBLE) AS s_quality_num2,
    CAST(COALESCE(SUM(uqn * uqn), 0) AS DOUBLE) AS s_quality_den2,
    CAST(COALESCE(SUM(uqs * uqn), 0) AS DOUBLE) AS s_quality_numden,
    CAST(COALESCE(SUM(CASE WHEN utn > 0 THEN 1 ELSE 0 END), 0) AS DOUBLE) AS s_tokens_units,
    CAST(COALESCE(SUM(uts), 0) AS DOUBLE) AS s_tokens_num,
    CAST(COALESCE(SUM(utn), 0) AS DOUBLE) AS s_tokens_den,
    CAST(COALESCE(SUM(uts * uts), 0) AS DOUBLE) AS s_tokens_num2,
    CAST(COALESCE(SUM(utn * utn), 0) AS DOUBLE) AS s_tokens_den2,
    CAST(COALESCE(SUM(uts * utn), 0) AS DOUBLE) AS s_tokens_numden,
    CAST(COALESCE(SUM(CASE WHEN uln > 0 THEN 1 ELSE 0 END), 0) AS DOUBLE) AS s_latency_units,
    CAST(COALESCE(SUM(uls), 0) AS DOUBLE) AS s_latency_num,
    CAST(COALESCE(SUM(uln), 0) AS DOUBLE) AS s_latency_den,
    CAST(COALESCE(SUM(uls * uls), 0) AS DOUBLE) AS s_latency_num2,
    CAST(COALESCE(SUM(uln * uln), 0) AS DOUBLE) AS s_latency_den2,
    CAST(COALESCE(SUM(uls * uln), 0) AS DOUBLE) AS s_latency_numden,
    SUM(ur) AS s_rows,
    SUM(uok) AS s_valid
  FROM judged
  GROUP BY
    grp,
    good
)
SELECT
  grp AS arm,
  CAST(SUM(CASE WHEN good THEN s_users ELSE 0 END) AS BIGINT) AS users,
  CAST(SUM(CASE WHEN good THEN s_n ELSE 0 END) AS BIGINT) AS n,
  CAST(SUM(CASE WHEN good THEN s_completion_units ELSE 0 END) AS DOUBLE) AS completion_units,
  CAST(SUM(CASE WHEN good THEN s_completion_num ELSE 0 END) AS DOUBLE) AS completion_num,
  CAST(SUM(CASE WHEN good THEN s_completion_den ELSE 0 END) AS DOUBLE) AS completion_den,
  CAST(SUM(CASE WHEN good THEN s_completion_num2 ELSE 0 END) AS DOUBLE) AS completion_num2,
  CAST(SUM(CASE WHEN good THEN s_completion_den2 ELSE 0 END) AS DOUBLE) AS completion_den2,
  CAST(SUM(CASE WHEN good THEN s_completion_numden ELSE 0 END) AS DOUBLE) AS completion_numden,
  CAST(SUM(CASE WHEN good THEN s_quality_units ELSE 0 END) AS DOUBLE) AS quality_units,
  CAST(SUM(CASE WHEN good THEN s_quality_num ELSE 0 END) AS DOUBLE) AS quality_num,
  CAST(SUM(CASE WHEN good THEN s_quality_den ELSE 0 END) AS DOUBLE) AS quality_den,
  CAST(SUM(CASE WHEN good THEN s_quality_num2 ELSE 0 END) AS DOUBLE) AS quality_num2,
  CAST(SUM(CASE WHEN good THEN s_quality_den2 ELSE 0 END) AS DOUBLE) AS quality_den2,
  CAST(SUM(CASE WHEN good THEN s_quality_numden ELSE 0 END) AS DOUBLE) AS quality_numden,
  CAST(SUM(CASE WHEN good THEN s_tokens_units ELSE 0 END) AS DOUBLE) AS tokens_units,
  CAST(SUM(CASE WHEN good THEN s_tokens_num ELSE 0 END) AS DOUBLE) AS tokens_num,
  CAST(SUM(CASE WHEN good THEN s_tokens_den ELSE 0 END) AS DOUBLE) AS tokens_den,
  CAST(SUM(CASE WHEN good THEN s_tokens_num2 ELSE 0 END) AS DOUBLE) AS tokens_num2,
  CAST(SUM(CASE WHEN good THEN s_tokens_den2 ELSE 0 END) AS DOUBLE) AS tokens_den2,
  CAST(SUM(CASE WHEN good THEN s_tokens_numden ELSE 0 END) AS DOUBLE) AS tokens_numden,
  CAST(SUM(CASE WHEN good THEN s_latency_units ELSE 0 END) AS DOUBLE) AS latency_units,
  CAST(SUM(CASE WHEN good THEN s_latency_num ELSE 0 END) AS DOUBLE) AS latency_num,
  CAST(SUM(CASE WHEN good THEN s_latency_den ELSE 0 END) AS DOUBLE) AS latency_den,
  CAST(SUM(CASE WHEN good THEN s_latency_num2 ELSE 0 END) AS DOUBLE) AS latency_num2,
  CAST(SUM(CASE WHEN good THEN s_latency_den2 ELSE 0 END) AS DOUBLE) AS latency_den2,
  CAST(SUM(CASE WHEN good THEN s_latency_numden ELSE 0 END) AS DOUBLE) AS latency_numden,
  CAST(SUM(s_rows) AS BIGINT) AS "rows",
  CAST(SUM(CASE WHEN good THEN s_valid ELSE 0 END) AS BIGINT) AS valid
FROM per_arm
GROUP BY
  grp
