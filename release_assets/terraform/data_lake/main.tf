terraform {
  required_version = ">= 1.9"
  backend "s3" {
    bucket         = "finsight-terraform-state"
    key            = "prod/data_lake.tfstate"
    region         = "us-east-1"
    dynamodb_table = "finsight-terraform-locks"
  }
}

provider "aws" {
  region = "us-east-1"
}

resource "aws_kms_key" "lake" {
  description = "FinSight lake"
  enable_key_rotation = true
  deletion_window_in_days = 30
}

resource "aws_s3_bucket" "landing" {
  bucket = "finsight-prod-landing"
  force_destroy = false
}

resource "aws_s3_bucket_versioning" "landing" {
  bucket = "finsight-prod-landing"
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "landing" {
  bucket = "finsight-prod-landing"
  block_public_acls = true
  block_public_policy = true
  ignore_public_acls = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket" "release_artifacts" {
  bucket = "finsight-release-artifacts"
  force_destroy = false
  object_lock_enabled = true
}

resource "aws_s3_bucket_public_access_block" "release_artifacts" {
  bucket = "finsight-release-artifacts"
  block_public_acls = true
  block_public_policy = true
  ignore_public_acls = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "landing" {
  bucket = "finsight-prod-landing"
  rule {
    id = "expire-landing"
    status = "Enabled"
    expiration = [{"days": 30}]
  }
}
