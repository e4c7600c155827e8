"""AWS Lambda entry point for the meta_capi adapter: deploy with docs/deploy-lambda.md."""

from martech_bus.aws import adapter_handler

handler = adapter_handler("meta_capi")
