"""Scripts run in another interpreter (the Airflow or Spark runtime, a build environment): stdlib and that runtime only."""
