"""``streaming.*`` checks: Avro schema compatibility under each topic's mode."""
