terraform {
  required_version = ">= 1.9"
  backend "s3" {
    bucket         = "finsight-terraform-state"
    key            = "prod/iam.tfstate"
    region         = "us-east-1"
    dynamodb_table = "finsight-terraform-locks"
  }
}

provider "aws" {
  region = "us-east-1"
}

resource "aws_iam_role" "github_deployer" {
  name = "finsight-github-deployer"
  assume_role_policy = jsonencode({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:finsight/data-platform:ref:refs/heads/main"}}}]})
}

resource "aws_iam_role_policy" "deployer_artifacts" {
  name = "finsight-release-artifacts"
  policy = jsonencode({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::finsight-release-artifacts", "arn:aws:s3:::finsight-release-artifacts/*"]}]})
}
