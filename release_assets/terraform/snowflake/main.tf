terraform {
  required_version = ">= 1.9"
  backend "s3" {
    bucket         = "finsight-terraform-state"
    key            = "prod/snowflake.tfstate"
    region         = "us-east-1"
    dynamodb_table = "finsight-terraform-locks"
  }
}

provider "snowflake" {
  role = "DEPLOYER"
}

resource "snowflake_database" "raw" {
  name = "RAW"
  data_retention_time_in_days = 7
}

resource "snowflake_database" "analytics" {
  name = "ANALYTICS"
  data_retention_time_in_days = 14
}

resource "snowflake_schema" "analytics_marts" {
  database = "ANALYTICS"
  name = "MARTS"
}

resource "snowflake_warehouse" "transform" {
  name = "TRANSFORM_PROD_WH"
  warehouse_size = "MEDIUM"
  auto_suspend = 60
  auto_resume = true
}

resource "snowflake_account_role" "deployer" {
  name = "DEPLOYER"
}
