"""Scripts run in another interpreter (the Airflow or Spark runtime, a build environment).

They import only the standard library and that runtime, never this package."""
