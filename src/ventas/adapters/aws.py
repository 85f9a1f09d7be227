"""AWS adapters: Step Functions workflow, S3 document store, CloudWatch metrics (EMF)."""

from __future__ import annotations

import json
from typing import Any

from ventas.domain.errors import ExecutionNotFound, NotRedrivable, RedriveUnsupported, WorkflowNotWaiting
from ventas.ports import ExecutionSummary

# Errors SendTaskSuccess/Failure return when the execution no longer waits for the token.
_NOT_WAITING = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken", "ExecutionDoesNotExist"}
HISTORY_PAGES = 25  # 25,000 events: far beyond one request's execution, but bounded


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

    # --- ops: reads and redrive ------------------------------------------------------------

    def execution_arn(self, request_id: str) -> str:
        return self._arn.replace(":stateMachine:", ":execution:") + f":{request_id}"

    def _code(self, exc: Exception) -> str:
        response: dict[str, Any] = getattr(exc, "response", {})
        return str(response.get("Error", {}).get("Code", ""))

    def describe(self, request_id: str) -> ExecutionSummary | None:
        try:
            found = self._sfn.describe_execution(executionArn=self.execution_arn(request_id))
        except self._sfn.exceptions.ClientError as exc:
            if self._code(exc) == "ExecutionDoesNotExist":
                return None
            raise
        return ExecutionSummary(
            status=found["status"],
            started_at=found["startDate"],
            stopped_at=found.get("stopDate"),
            error=found.get("error"),
            cause=found.get("cause"),
            redrive_count=int(found.get("redriveCount", 0)),
        )

    def history(self, request_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": self.execution_arn(request_id), "maxResults": 1000}
        for _ in range(HISTORY_PAGES):
            try:
                page = self._sfn.get_execution_history(**kwargs)
            except self._sfn.exceptions.ClientError as exc:
                if self._code(exc) == "ExecutionDoesNotExist":
                    raise ExecutionNotFound(request_id) from exc
                raise
            events.extend(dict(event) for event in page["events"])
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return events

    def definition(self, request_id: str) -> dict[str, Any]:
        try:
            found = self._sfn.describe_state_machine_for_execution(executionArn=self.execution_arn(request_id))
        except self._sfn.exceptions.ClientError as exc:
            if self._code(exc) == "ExecutionDoesNotExist":
                raise ExecutionNotFound(request_id) from exc
            raise
        definition: dict[str, Any] = json.loads(found["definition"])
        return definition

    def redrive(self, request_id: str) -> None:
        try:
            self._sfn.redrive_execution(executionArn=self.execution_arn(request_id))
        except self._sfn.exceptions.ClientError as exc:
            code = self._code(exc)
            if code == "ExecutionNotRedrivable":
                raise NotRedrivable(request_id) from exc
            if code == "ExecutionDoesNotExist":
                raise ExecutionNotFound(request_id) from exc
            if code.isdigit():
                # AWS always names its errors; a bare HTTP status is an endpoint without the
                # operation (moto 5.2 answers RedriveExecution with an HTML 500).
                raise RedriveUnsupported(request_id) from exc
            raise


class S3DocumentStore:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        import boto3

        self._bucket = bucket
        self._s3 = client or boto3.client("s3")

    def put(self, key: str, body: bytes, content_type: str) -> None:
        # No ServerSideEncryption header: "aws:kms" without a key id means the AWS managed key;
        # the bucket's default encryption applies the stack's own key (infra/template.yaml).
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def delete_prefix(self, prefix: str) -> int:
        """Every version and delete marker under `prefix` (the bucket is versioned: deleting the
        current object alone would keep the copy as a noncurrent version). 1,000 keys per call."""
        deleted = 0
        pages = self._s3.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=prefix)
        for page in pages:
            versions = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            objects: list[Any] = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
            if not objects:
                continue
            answer = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": objects, "Quiet": True})
            if answer.get("Errors"):
                raise RuntimeError(f"S3 kept {len(answer['Errors'])} versions under {prefix}")
            deleted += len(objects)
        return deleted


class PowertoolsMetrics:
    """One business metric per outcome (EMF), with the reason code as its only dimension.

    Dimensions never carry personal data: outcome and reason codes only.
    """

    namespace = "VentasDigitales"

    def outcome(self, outcome: str, reason: str | None) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        with single_metric(
            name=f"Request_{outcome}", unit=MetricUnit.Count, value=1, namespace=self.namespace
        ) as metric:
            metric.add_dimension(name="reason", value=reason or "none")

    def message_failed(self, template: str, code: str) -> None:
        """`WhatsAppMessageFailed` by message template and Meta's error code (no phone, no id)."""
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        with single_metric(
            name="WhatsAppMessageFailed", unit=MetricUnit.Count, value=1, namespace=self.namespace
        ) as metric:
            metric.add_dimension(name="template", value=template)
            metric.add_dimension(name="meta_code", value=code)
