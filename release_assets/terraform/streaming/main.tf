terraform {
  required_version = ">= 1.9"
  backend "s3" {
    bucket         = "finsight-terraform-state"
    key            = "prod/streaming.tfstate"
    region         = "us-east-1"
    dynamodb_table = "finsight-terraform-locks"
  }
}

provider "aws" {
  region = "us-east-1"
}

resource "aws_msk_cluster" "events" {
  cluster_name = "finsight-events"
  kafka_version = "3.6.0"
  number_of_broker_nodes = 3
}

resource "aws_msk_configuration" "events" {
  name = "finsight-events"
  kafka_versions = ["3.6.0"]
  server_properties = "auto.create.topics.enable=false\n"
}

resource "aws_glue_schema" "payments_events" {
  schema_name = "finsight.payments.events-value"
  data_format = "AVRO"
  compatibility = "BACKWARD"
}
