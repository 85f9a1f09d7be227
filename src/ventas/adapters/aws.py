"""AWS adapters: Step Functions workflow, S3 document store, CloudWatch metrics (EMF)."""

from __future__ import annotations

import json
from typing import Any

from ventas.domain.errors import WorkflowNotWaiting

# Errors SendTaskSuccess/Failure return when the execution no longer waits for the token.
_NOT_WAITING = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken", "ExecutionDoesNotExist"}


class SfnWorkflow:
    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        import boto3

        self._arn = state_machine_arn
        self._sfn = client or boto3.client("stepfunctions")

    def start(self, request_id: str, execution_input: dict[str, Any]) -> str:
        # The request id names the execution: StartExecution is then idempotent per request.
        response = self._sfn.start_execution(
            stateMachineArn=self._arn, name=request_id, input=json.dumps(execution_input)
        )
        arn: str = response["executionArn"]
        return arn

    def _send(self, call: str, **kwargs: Any) -> None:
        try:
            getattr(self._sfn, call)(**kwargs)
        except self._sfn.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _NOT_WAITING:
                raise WorkflowNotWaiting(code) from exc
            raise

    def resume(self, token: str, output: dict[str, Any]) -> None:
        self._send("send_task_success", taskToken=token, output=json.dumps(output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self._send("send_task_failure", taskToken=token, error=error, cause=cause)


class S3DocumentStore:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        import boto3

        self._bucket = bucket
        self._s3 = client or boto3.client("s3")

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
        )


class PowertoolsMetrics:
    """One business metric per outcome (EMF), with the reason code as its only dimension.

    Dimensions never carry personal data: outcome and reason codes only.
    """

    def outcome(self, outcome: str, reason: str | None) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        with single_metric(name=f"Request_{outcome}", unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="reason", value=reason or "none")
