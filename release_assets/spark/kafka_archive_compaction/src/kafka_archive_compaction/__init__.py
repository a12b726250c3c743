"""Compacts archived Kafka events per topic."""
