terraform {
  required_version = ">= 1.9"
  backend "s3" {
    bucket         = "finsight-terraform-state"
    key            = "prod/mwaa.tfstate"
    region         = "us-east-1"
    dynamodb_table = "finsight-terraform-locks"
  }
}

provider "aws" {
  region = "us-east-1"
}

resource "aws_mwaa_environment" "prod" {
  name = "finsight-prod"
  airflow_version = "2.10.3"
  environment_class = "mw1.large"
  max_workers = 10
  dag_s3_path = "dags/"
  requirements_s3_path = "requirements.txt"
}

resource "aws_iam_role_policy" "mwaa_exec" {
  name = "finsight-mwaa-exec"
  policy = jsonencode({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::finsight-prod-airflow", "arn:aws:s3:::finsight-prod-airflow/*"]}, {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": "arn:aws:secretsmanager:us-east-1:111122223333:secret:finsight/prod/*"}]})
}
