terraform {
  required_version = ">= 1.9"
  backend "s3" {
    bucket         = "finsight-terraform-state"
    key            = "prod/network.tfstate"
    region         = "us-east-1"
    dynamodb_table = "finsight-terraform-locks"
  }
}

provider "aws" {
  region = "us-east-1"
}

resource "aws_vpc" "main" {
  cidr_block = "10.40.0.0/16"
  enable_dns_hostnames = true
}

resource "aws_subnet" "private_a" {
  cidr_block = "10.40.1.0/24"
  availability_zone = "us-east-1a"
}

resource "aws_subnet" "private_b" {
  cidr_block = "10.40.2.0/24"
  availability_zone = "us-east-1b"
}

resource "aws_vpc_endpoint" "s3" {
  service_name = "com.amazonaws.us-east-1.s3"
  vpc_endpoint_type = "Gateway"
}
