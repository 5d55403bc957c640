{{ config(alias='cohort_retention', enabled=(target.type == 'duckdb')) }}
-- marts.cohort_retention holds no personal data: BI tools get it column for column.
select {{ bi_declared_columns() }}
from {{ ref('cohort_retention') }}
