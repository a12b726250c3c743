"""``warehouse.*`` checks: the target warehouse (DuckDB locally, Snowflake in AWS mode) would accept the deploy."""
