"""Lambda events shaped like the examples in AWS's documentation, with our payloads inside.

Field for field after the documented samples (Lambda developer guide: "Using
Lambda with Amazon SQS", "... Kinesis", "... API Gateway" (REST proxy event and
HTTP API payload format 2.0), and EventBridge's "Amazon EventBridge events").
"""

from __future__ import annotations

import base64
import json
from typing import Any

QUEUE_ARN = "arn:aws:sqs:us-east-2:123456789012:my-queue"
FIFO_QUEUE_ARN = "arn:aws:sqs:us-east-2:123456789012:fifo.fifo"
STREAM_ARN = "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"
# The documented sample's first sequence number; later records count up from it.
FIRST_SEQUENCE_NUMBER = 49590338271490256608559692538361571095921575989136588898


def message_id(index: int) -> str:
    return f"059f36b4-87a3-44ab-83d2-66197583{index:04x}"


def sequence_number(index: int) -> str:
    return str(FIRST_SEQUENCE_NUMBER + index)


def as_body(value: Any) -> str:
    """A JSON text, or ``value`` itself when it already is one (or is meant not to be JSON)."""
    return value if isinstance(value, str) else json.dumps(value)


def sqs_record(body: Any, index: int = 0, *, fifo: bool = False) -> dict[str, Any]:
    attributes = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1545082649183",
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": "1545082649185",
    }
    if fifo:
        attributes |= {
            "SequenceNumber": str(18849496460467696128 + index),
            "MessageGroupId": "1",
            "MessageDeduplicationId": str(index + 1),
        }
    return {
        "messageId": message_id(index),
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": as_body(body),
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": FIFO_QUEUE_ARN if fifo else QUEUE_ARN,
        "awsRegion": "us-east-2",
    }


def sqs_event(*bodies: Any, fifo: bool = False) -> dict[str, Any]:
    return {"Records": [sqs_record(body, i, fifo=fifo) for i, body in enumerate(bodies)]}


def kinesis_record(data: bytes, index: int = 0) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "1",
            "sequenceNumber": sequence_number(index),
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": 1545084650.987,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000006:{sequence_number(index)}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "us-east-2",
        "eventSourceARN": STREAM_ARN,
    }


def kinesis_event(*payloads: Any) -> dict[str, Any]:
    """Records whose data is each payload as JSON (``bytes`` are sent as they are)."""
    datas = [p if isinstance(p, bytes) else as_body(p).encode() for p in payloads]
    return {"Records": [kinesis_record(data, i) for i, data in enumerate(datas)]}


def _body(body: Any, base64_encoded: bool) -> str | None:
    if body is None:
        return None
    text = as_body(body)
    return base64.b64encode(text.encode()).decode("ascii") if base64_encoded else text


def api_v1_event(
    body: Any, *, method: str = "POST", base64_encoded: bool = False
) -> dict[str, Any]:
    """A REST API proxy integration event."""
    return {
        "resource": "/v1/events",
        "path": "/v1/events",
        "httpMethod": method,
        "headers": {
            "Content-Type": "application/json",
            "Host": "id.execute-api.us-east-1.amazonaws.com",
        },
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "extendedRequestId": "request-id",
            "httpMethod": method,
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "requestId": "id=",
            "requestTime": "04/Mar/2020:19:15:17 +0000",
            "requestTimeEpoch": 1583349317135,
            "resourcePath": "/v1/events",
            "stage": "$default",
        },
        "pathParameters": None,
        "stageVariables": None,
        "body": _body(body, base64_encoded),
        "isBase64Encoded": base64_encoded,
    }


def api_v2_event(
    body: Any, *, method: str = "POST", base64_encoded: bool = False
) -> dict[str, Any]:
    """An HTTP API event, payload format version 2.0."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "POST /v1/events",
        "rawPath": "/v1/events",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "id.execute-api.us-east-1.amazonaws.com",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id",
            "http": {
                "method": method,
                "path": "/v1/events",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "agent",
            },
            "requestId": "id",
            "routeKey": "POST /v1/events",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
        },
        "isBase64Encoded": base64_encoded,
    }
    if body is not None:  # format 2.0 leaves "body" out when there is none
        event["body"] = _body(body, base64_encoded)
    return event


def eventbridge_event(detail: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "martech event",
        "source": "com.example.shop",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": [],
        "detail": detail,
    }
