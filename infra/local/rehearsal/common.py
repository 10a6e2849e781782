"""What every part of the rehearsal shares: names of the rehearsal stack, the finding that
fails it, logging, and boto3 clients on the emulator."""

import ast
import io
import hashlib
import hmac
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.exceptions import ClientError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "notion-rehearsal"
BUCKET = "rehearsal-artifacts"
# Resource types moto's CloudFormation accepts but does not create: the rehearsal creates
# them through their own APIs (and fails on any other skipped type).
SKIPPED_BY_MOTO = {
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::Scheduler::ScheduleGroup",
    "AWS::CloudWatch::Alarm",
}
DEBUG_DIR = os.path.join(ROOT, "target", "debug")


class Finding(Exception):
    """Something the rehearsal found wrong; the message says what and where."""


def log(message):
    print(f"rehearsal: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- 1. translate


def client(service, credentials=None):
    kwargs = {"region_name": REGION, "endpoint_url": os.environ["AWS_ENDPOINT_URL"]}
    if credentials:
        kwargs.update(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return boto3.client(service, **kwargs)
