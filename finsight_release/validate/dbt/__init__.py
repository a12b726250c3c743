"""``dbt.*`` checks: parse, breaking changes and a CI build of the dbt project."""
