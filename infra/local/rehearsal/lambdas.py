"""Each function's native binary as its own process behind a Lambda Runtime API served
here, with its configuration's environment and its role's credentials."""

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


class Runtime:
    """The Lambda Runtime API for one function process: invocations go in, answers out."""

    def __init__(self, name):
        self.name = name
        self.next = queue.Queue()
        self.answers = {}
        self.init_error = None
        runtime = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    self.send_error(404)
                    return
                request_id, payload, deadline_ms, arn = runtime.next.get()
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", arn)
                self.send_header("Lambda-Runtime-Trace-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                parts = self.path.split("/")
                if self.path.startswith("/2018-06-01/runtime/init/error"):
                    runtime.init_error = body.decode(errors="replace")
                elif len(parts) >= 6 and parts[3] == "invocation":
                    kind = parts[5]
                    slot = runtime.answers.get(parts[4])
                    if slot is not None:
                        slot.put((kind, body))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, payload, arn, timeout):
        request_id = str(uuid.uuid4())
        slot = queue.Queue()
        self.answers[request_id] = slot
        deadline = int((time.time() + timeout) * 1000)
        self.next.put((request_id, payload, deadline, arn))
        try:
            kind, body = slot.get(timeout=timeout + 30)
        except queue.Empty:
            raise Finding(f"{self.name}: no answer within {timeout + 30} s (init error: {self.init_error})")
        finally:
            self.answers.pop(request_id, None)
        text = body.decode(errors="replace")
        if kind != "response":
            raise Finding(f"{self.name}: the invocation failed: {text}")
        return json.loads(text) if text else None


class Functions:
    """Every function's binary as its own process, each behind its own Runtime API."""

    def __init__(self, functions, workdir):
        self.functions = functions
        self.runtimes = {}
        self.processes = {}
        self.logs = {}
        for name, f in functions.items():
            runtime = Runtime(f["binary"])
            env = dict(f["env"])
            env.update(
                {
                    # What Lambda sets for every function.
                    "AWS_LAMBDA_RUNTIME_API": runtime.address,
                    "AWS_LAMBDA_FUNCTION_NAME": f["physical"],
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(f["memory"]),
                    "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{f['physical']}",
                    "AWS_LAMBDA_LOG_STREAM_NAME": "rehearsal",
                    "AWS_REGION": REGION,
                    "AWS_DEFAULT_REGION": REGION,
                    "AWS_ACCESS_KEY_ID": f["credentials"]["AccessKeyId"],
                    "AWS_SECRET_ACCESS_KEY": f["credentials"]["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": f["credentials"]["SessionToken"],
                    # The one addition: where AWS is.
                    "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
                    "RUST_LOG": "info",
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                }
            )
            log_path = os.path.join(workdir, f"{f['binary']}.log")
            self.logs[name] = log_path
            self.processes[name] = subprocess.Popen(
                [os.path.join(DEBUG_DIR, f["binary"])],
                env=env,
                stdout=open(log_path, "w"),
                stderr=subprocess.STDOUT,
            )
            self.runtimes[name] = runtime

    def invoke(self, name, payload):
        f = self.functions[name]
        process = self.processes[name]
        if process.poll() is not None:
            raise Finding(f"{name} ({f['binary']}) exited at start:\n{self.tail(name)}")
        return self.runtimes[name].invoke(payload, f["arn"], f["timeout"])

    def tail(self, name, lines=20):
        with open(self.logs[name], errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])

    def denials(self):
        """Every AccessDenied moto recorded, by function (its role session is its binary)."""
        path = os.environ["MOTO_IAM_DENIALS"]
        if not os.path.exists(path):
            return []
        by_binary = {f["binary"]: name for name, f in self.functions.items()}
        found = []
        with open(path) as fh:
            for line in fh:
                denial = json.loads(line)
                session = denial["principal"].rsplit("/", 1)[-1]
                name = by_binary.get(session, denial["principal"])
                found.append(f"{name} ({session}): AccessDenied for {denial['action']} on {denial['resource']}")
        return sorted(set(found))

    def stop(self):
        for process in self.processes.values():
            process.kill()
        for process in self.processes.values():
            process.wait()
