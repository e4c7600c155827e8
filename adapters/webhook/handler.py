"""AWS Lambda entry point for the webhook adapter: deploy with docs/deploy-lambda.md."""

from martech_bus.aws import adapter_handler

handler = adapter_handler("webhook")
