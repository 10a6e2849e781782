"""Step 1: the SAM transform offline, as `sam deploy` runs it, and cfn-lint on the result."""

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
from .common import *  # noqa: F401,F403 (constants, Finding, log, client)


def translate(template_path):
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    from samcli.yamlhelper import yaml_parse
    from samtranslator.translator.transform import transform

    class NoManagedPolicyNames:
        # Our policies are inline statements; SAM adds managed policies by ARN.
        def load(self):
            return {}

    with open(template_path) as f:
        template = yaml_parse(f.read())
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{BUCKET}/{name}.zip"
    try:
        return transform(template, {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT}, NoManagedPolicyNames())
    except Exception as e:  # samtranslator raises its own InvalidDocumentException
        raise Finding(f"the SAM transform refused the template: {e}")


def lint(translated, workdir):
    path = os.path.join(workdir, "translated.json")
    with open(path, "w") as f:
        json.dump(translated, f, indent=1)
    cfn_lint = os.path.join(os.path.dirname(sys.executable), "cfn-lint")
    result = subprocess.run([cfn_lint, path], capture_output=True, text=True)
    if result.returncode != 0:
        raise Finding("cfn-lint on the translated template:\n" + (result.stdout + result.stderr).strip())
    return path


# ---------------------------------------------------------------------------- 2. deploy
