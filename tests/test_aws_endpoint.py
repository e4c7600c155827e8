"""The local AWS endpoint is a real server reached over HTTP."""

from __future__ import annotations

from martech_bus.testing.aws import AwsEndpoint


def test_boto3_reaches_the_local_endpoint_over_http(aws: AwsEndpoint) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="probe")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "hello"
    assert aws.url.startswith("http://127.0.0.1:")


def test_reset_forgets_every_resource(aws: AwsEndpoint) -> None:
    sqs = aws.client("sqs")
    sqs.create_queue(QueueName="gone-after-reset")
    aws.reset()
    assert sqs.list_queues().get("QueueUrls", []) == []
