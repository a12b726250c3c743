terraform {
  required_version = ">= 1.9"
  backend "s3" {
    bucket         = "finsight-terraform-state"
    key            = "prod/ecs.tfstate"
    region         = "us-east-1"
    dynamodb_table = "finsight-terraform-locks"
  }
}

provider "aws" {
  region = "us-east-1"
}

resource "aws_ecs_cluster" "prod" {
  name = "finsight-prod"
}

resource "aws_ecs_task_definition" "dbt_runner" {
  family = "finsight-prod-dbt-runner"
  cpu = "1024"
  memory = "4096"
  requires_compatibilities = ["FARGATE"]
}

resource "aws_ecr_repository" "airflow" {
  name = "finsight/airflow"
  image_tag_mutability = "IMMUTABLE"
}
