"""AWS Lambda entry point for the klaviyo adapter: deploy with docs/deploy-lambda.md."""

from martech_bus.aws import adapter_handler

handler = adapter_handler("klaviyo")
