"""Post-deploy checks that judge a release in an environment: dbt tests, Soda v4 data contracts and
source freshness, run against the environment's published release (plain Python, no Dagster)."""
