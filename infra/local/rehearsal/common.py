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
# What cargo built, wherever it put it: the scripts export TARGET_DIR (infra/local/lib.sh,
# `target_dir`, from `cargo metadata`); alone, ask cargo the same way.
def _target_dir():
    if os.environ.get("TARGET_DIR"):
        return os.environ["TARGET_DIR"]
    import json
    import subprocess

    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)["target_directory"]


DEBUG_DIR = os.path.join(_target_dir(), "debug")


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
