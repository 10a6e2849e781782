"""API Gateway as the template wires it: a request becomes its route's payload 2.0 event,
the authorizer's code runs on it first."""

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


class Gateway:
    """API Gateway's part: route an HTTP request to its function through the authorizer."""

    def __init__(self, functions, routes):
        self.functions = functions
        self.routes = routes
        self.called = set()

    def match(self, method, path):
        for (m, template), target in self.routes.items():
            if m != method:
                continue
            names = []
            pattern = "^" + re.sub(r"\{(\w+)\}", lambda g: names.append(g.group(1)) or "([^/]+)", template) + "$"
            found = re.match(pattern, path)
            if found:
                return template, target, dict(zip(names, found.groups()))
        raise Finding(f"no route for {method} {path}")

    def call(self, method, path, key, body=None, query="", extra_headers=None, raw_body=None):
        template, (function, keyed), params = self.match(method, path)
        route_key = f"{method} {template}"
        self.called.add((method, template))
        headers = {"authorization": f"Bearer {key}", "content-type": "application/json", "host": "rehearsal"}
        headers.update(extra_headers or {})
        context = {
            "accountId": ACCOUNT,
            "apiId": "rehearsal",
            "domainName": "rehearsal",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "rehearsal"},
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        }
        if keyed:
            verdict = self.functions.invoke(
                "AuthorizerFunction",
                {
                    "version": "2.0",
                    "type": "REQUEST",
                    "routeArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:rehearsal/$default/{method}{template}",
                    "identitySource": [headers["authorization"]],
                    "routeKey": route_key,
                    "rawPath": path,
                    "rawQueryString": query,
                    "headers": headers,
                    "requestContext": context,
                },
            )
            if not verdict.get("isAuthorized"):
                return 401, {"message": "Unauthorized"}
            context = dict(context, authorizer={"lambda": verdict.get("context", {})})
        event = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": False,
        }
        if params:
            event["pathParameters"] = params
        if query:
            event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&"))
        if body is not None:
            event["body"] = json.dumps(body)
        if raw_body is not None:
            event["body"] = raw_body
        answer = self.functions.invoke(function, event)
        text = answer.get("body") or ""
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return answer.get("statusCode"), parsed
