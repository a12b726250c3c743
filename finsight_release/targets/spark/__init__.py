"""Spark job deploys: each changed job's wheel published to the environment's artifact location, and
the job definitions the orchestrator launches re-pointed in one switch (:mod:`.target`)."""
