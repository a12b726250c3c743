"""Streaming deploys: Avro schemas into a registry and Kafka consumer services rolled out ECS-style."""
