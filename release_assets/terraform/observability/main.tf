# Alerts and retention for the release system (issue 19).
#
# The alarms watch the CloudWatch EMF counts finsight_release emits (observe/metrics.py: DeployFailed,
# Rollback, BlockingCheckFailed, DriftDetected, CriticalDagSlaMissed; namespace FinSight/Release, dimension Environment): a test compares
# the metric names here with the ones the code emits. Deployment logs are kept 90 days (SOX), and
# evidence bundles go to a bucket whose Object Lock keeps every object 90 days in COMPLIANCE mode.
terraform {
  required_version = ">= 1.9"
  backend "s3" {
    bucket         = "finsight-terraform-state"
    key            = "prod/observability.tfstate"
    region         = "us-east-1"
    dynamodb_table = "finsight-terraform-locks"
  }
}

provider "aws" {
  region = "us-east-1"
}

locals {
  namespace = "FinSight/Release"
  # Each alarm fires on one event in a 5-minute period of the environment's count.
  alarms = {
    deploy_failed = {
      metric      = "DeployFailed"
      description = "A promotion failed and was rolled back automatically: see `finsight-release logs <release>`"
    }
    rollback = {
      metric      = "Rollback"
      description = "An environment was rolled back (manual, automatic or an aborted operation)"
    }
    blocking_check_failed = {
      metric      = "BlockingCheckFailed"
      description = "Pre-deploy validation found blocking errors: the release cannot be promoted"
    }
    drift_detected = {
      metric      = "DriftDetected"
      description = "A refresh-only plan found infrastructure drift: see `finsight-release doctor --env prod`"
    }
    critical_dag_sla_missed = {
      metric      = "CriticalDagSlaMissed"
      description = "A critical DAG did not start (or its smoke run failed) within 10 minutes of a deploy: see `finsight-release airflow-health prod --start`"
    }
  }
}

resource "aws_sns_topic" "release_alerts" {
  name = "finsight-release-alerts"
}

# One alarm per entry of local.alarms: finsight-prod-deploy-failed, finsight-prod-rollback, ...
resource "aws_cloudwatch_metric_alarm" "prod" {
  for_each            = local.alarms
  alarm_name          = "finsight-prod-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = local.namespace
  metric_name         = each.value.metric
  dimensions          = { Environment = "prod" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.release_alerts.arn]
}

# Deployment logs (the release system's JSON lines in ECS/MWAA) and Airflow task logs: 90 days.
resource "aws_cloudwatch_log_group" "release_logs" {
  name              = "/finsight/release"
  retention_in_days = 90
}

resource "aws_cloudwatch_log_group" "airflow_task_logs" {
  name              = "airflow-finsight-prod-Task"
  retention_in_days = 90
}

# Airflow task logs the self-managed (ECS) Airflow ships to S3 (remote logging) and archived
# deployment logs: expired 90 days after they are written, old versions too (SOX keeps them 90 days).
resource "aws_s3_bucket" "logs" {
  bucket = "finsight-prod-logs"
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-after-90-days"
    status = "Enabled"
    filter {}
    expiration {
      days = 90
    }
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
  }
}

# Evidence bundles (`finsight-release evidence export --out s3://finsight-prod-evidence/...`, and the
# events `finsight-release audit prune --archive s3://finsight-prod-evidence/audit-archive` removes).
resource "aws_s3_bucket" "evidence" {
  bucket              = "finsight-prod-evidence"
  object_lock_enabled = true
}

resource "aws_s3_bucket_object_lock_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    default_retention {
      mode = "COMPLIANCE"
      days = 90
    }
  }
}

resource "aws_s3_bucket_public_access_block" "evidence" {
  bucket                  = aws_s3_bucket.evidence.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
