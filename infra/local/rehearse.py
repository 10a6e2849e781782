"""The deploy rehearsal: proves offline that `sam deploy` of a template makes a working stack
whose functions have the IAM they need. Run by infra/local/rehearse.sh, which starts a moto
server of its own with IAM resource checks (moto_iam.py) and builds the binaries.

1. Translate: the SAM transform, offline (samtranslator, as `sam deploy` would run it in
   CloudFormation), with CodeUri rewritten to S3 as `sam package` does; then cfn-lint on
   the plain CloudFormation.
2. Deploy into moto's CloudFormation, artifacts in moto's S3. Every template resource must
   exist in the stack; the types moto skips (SKIPPED_BY_MOTO) are created here through
   their own APIs, and no other skip passes. Every function's environment must resolve:
   nothing missing, nothing null.
3. API wiring, from the translated OpenAPI body: every route of the API document maps to the
   function built for it, keyed routes carry the authorizer, and every routed function has
   its API Gateway invoke permission.
4. IAM enforced: roles as the template wrote them (moto ignores managed policy ARNs: they are
   attached here); each function's native binary runs as its own process behind a Lambda
   Runtime API served here, with exactly its configuration's environment plus its role's
   temporary credentials (and the emulator's endpoint). A scenario drives every route
   through the authorizer, the schedule trigger, and the crawler on the queue (polled with
   the crawler role, as the event source mapping does) against the Notion emulator,
   including a dataset purge. Any AccessDenied fails the rehearsal, naming the function and
   the call.

What it cannot prove: CloudFormation's real update and rollback behaviour, service quotas,
API Gateway and EventBridge Scheduler themselves (routing, throttling, firing), and IAM
features moto does not evaluate (conditions beyond the basics, permission boundaries, SCPs).
"""

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

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
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


def client(service, credentials=None):
    kwargs = {"region_name": REGION, "endpoint_url": os.environ["AWS_ENDPOINT_URL"]}
    if credentials:
        kwargs.update(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return boto3.client(service, **kwargs)


def deploy(translated, parameters):
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    artifact = io.BytesIO()
    with zipfile.ZipFile(artifact, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n# the rehearsal runs target/debug binaries instead\n")
    for name, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            code = resource["Properties"]["Code"]
            s3.put_object(Bucket=code["S3Bucket"], Key=code["S3Key"], Body=artifact.getvalue())
    cfn = client("cloudformation")
    cfn.create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(translated),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise Finding(f"stack creation ended {stack['StackStatus']}: {stack.get('StackStatusReason')}")
    summaries = cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries if r.get("ResourceType")}
    skipped = {
        name: r["Type"] for name, r in translated["Resources"].items() if name not in physical
    }
    unexpected = {name: kind for name, kind in skipped.items() if kind not in SKIPPED_BY_MOTO}
    if unexpected:
        raise Finding(f"resources missing from the stack: {unexpected}")
    return physical, skipped


def create_skipped(translated, physical, skipped):
    """Creates what moto skipped, through each service's API; returns logical → Ref value."""
    made = {}
    for name, kind in sorted(skipped.items(), key=lambda kv: kv[1] != "AWS::ApiGatewayV2::Api"):
        props = translated["Resources"][name].get("Properties", {})
        if kind == "AWS::Scheduler::ScheduleGroup":
            group = resolve(props["Name"], physical, made)
            client("scheduler").create_schedule_group(Name=group)
            made[name] = group
        elif kind == "AWS::CloudWatch::Alarm":
            dims = [{"Name": d["Name"], "Value": resolve(d["Value"], physical, made)} for d in props["Dimensions"]]
            client("cloudwatch").put_metric_alarm(
                AlarmName=f"{STACK}-{name}",
                Namespace=props["Namespace"],
                MetricName=props["MetricName"],
                Dimensions=dims,
                Statistic=props["Statistic"],
                Period=int(props["Period"]),
                EvaluationPeriods=int(props["EvaluationPeriods"]),
                Threshold=float(props["Threshold"]),
                ComparisonOperator=props["ComparisonOperator"],
            )
            made[name] = f"{STACK}-{name}"
        elif kind == "AWS::ApiGatewayV2::Api":
            api = client("apigatewayv2").create_api(Name=f"{STACK}-{name}", ProtocolType="HTTP")
            made[name] = api["ApiId"]
        elif kind == "AWS::ApiGatewayV2::Stage":
            api_id = resolve(props["ApiId"], physical, made)
            client("apigatewayv2").create_stage(ApiId=api_id, StageName=props.get("StageName", "$default"))
            made[name] = props.get("StageName", "$default")
    return made


# The stack's parameter values (defaults, then what the rehearsal passes), for `resolve`.
PARAMETERS = {}


def resolve(value, physical, made):
    """Resolves the intrinsics our templates use, against the deployed stack."""
    parameters = PARAMETERS
    if isinstance(value, (str, int, float)):
        return value
    if "Ref" in value:
        ref = value["Ref"]
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::StackName": STACK, "AWS::Partition": "aws"}
        if ref in pseudo:
            return pseudo[ref]
        if ref in made:
            return made[ref]
        if ref in parameters:
            return parameters[ref]
        return physical.get(ref)
    if "Fn::GetAtt" in value:
        name, attribute = value["Fn::GetAtt"]
        if attribute == "QueueName" and name in physical:
            return physical[name].rsplit("/", 1)[-1]
    raise Finding(f"the rehearsal cannot resolve {value}")


def exists(kind, value):
    """Whether the resource an environment value names exists in the emulator."""
    try:
        if kind == "AWS::DynamoDB::Table":
            client("dynamodb").describe_table(TableName=value)
        elif kind == "AWS::SQS::Queue":
            client("sqs").get_queue_attributes(QueueUrl=value, AttributeNames=["QueueArn"])
        elif kind == "AWS::Lambda::Function":
            client("lambda").get_function(FunctionName=value)
        elif kind == "AWS::IAM::Role":
            client("iam").get_role(RoleName=value.rsplit("/", 1)[-1])
        elif kind == "AWS::Scheduler::ScheduleGroup":
            client("scheduler").get_schedule_group(Name=value)
        return True
    except Exception:  # botocore's ClientError for a missing resource
        return False


def check_environment(translated, skipped, made):
    """Every function's environment as deployed: each variable the template sets is there
    and not null; variables naming a skipped resource get the value the rehearsal made."""
    lam = client("lambda")
    functions = {}
    cfn = client("cloudformation")
    summaries = cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries}
    problems = []
    for name, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        config = lam.get_function_configuration(FunctionName=physical[name])
        env = dict(config.get("Environment", {}).get("Variables", {}))
        wanted = resource["Properties"].get("Environment", {}).get("Variables", {})
        for key, template_value in wanted.items():
            target = None
            if isinstance(template_value, dict):
                target = template_value.get("Ref") or (template_value.get("Fn::GetAtt") or [None])[0]
            if target in skipped:
                env[key] = made[target]
            elif env.get(key) in (None, "None", ""):
                problems.append(f"{name}: environment variable {key} did not resolve ({template_value})")
                continue
            kind = translated["Resources"].get(target, {}).get("Type")
            if kind and not exists(kind, str(env[key])):
                problems.append(f"{name}: environment variable {key}={env[key]} names no {kind}")
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        if not binary:
            problems.append(f"{name}: no Metadata.BuildProperties.Binary")
        functions[name] = {
            "binary": binary,
            "arn": config["FunctionArn"],
            "physical": physical[name],
            "role": config["Role"],
            "env": {k: str(v) for k, v in env.items()},
            "timeout": int(config.get("Timeout", 3)),
            "memory": int(config.get("MemorySize", 128)),
        }
    if problems:
        raise Finding("\n".join(problems))
    return functions


# ---------------------------------------------------------------------------- 3. API wiring


def check_api(translated):
    """The routes the API document declares, each to its function, keyed ones behind the
    authorizer; returns (method, path template) → (function logical name, keyed)."""
    with open(os.path.join(ROOT, "shared", "api", "openapi.json")) as f:
        document = json.load(f)
    unrouted = {"/api/v1/openapi.json"}
    body = translated["Resources"]["HttpApi"]["Properties"]["Body"]
    routes = {}
    problems = []
    for path, operations in document["paths"].items():
        if path in unrouted:
            continue
        for method, operation in operations.items():
            deployed = body.get("paths", {}).get(path, {}).get(method)
            if deployed is None:
                problems.append(f"{method.upper()} {path}: no route in the deployed API")
                continue
            uri = json.dumps(deployed["x-amazon-apigateway-integration"]["uri"])
            target = re.search(r"\$\{(\w+)\.Arn\}", uri)
            if not target:
                problems.append(f"{method.upper()} {path}: integration {uri} names no function")
                continue
            function = target.group(1)
            keyed = any("ApiKeyAuthorizer" in s for s in deployed.get("security", []))
            public = operation.get("security") == []
            if public and keyed:
                problems.append(f"{method.upper()} {path}: a public route behind the authorizer")
            if not public and not keyed:
                problems.append(f"{method.upper()} {path}: no authorizer on a keyed route")
            routes[(method.upper(), path)] = (function, keyed)
            description = translated["Resources"][function]["Properties"].get("Description", "")
            if f"{method.upper()} {path}" not in description:
                problems.append(f"{method.upper()} {path}: served by {function} ({description})")
            permitted = [
                r
                for r in translated["Resources"].values()
                if r["Type"] == "AWS::Lambda::Permission"
                and r["Properties"].get("FunctionName") == {"Ref": function}
                and r["Properties"].get("Principal") == "apigateway.amazonaws.com"
            ]
            if not permitted:
                problems.append(f"{function}: no lambda:InvokeFunction permission for API Gateway")
    authorizer_permitted = any(
        r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"].get("FunctionName") in ({"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}, {"Ref": "AuthorizerFunction"})
        and r["Properties"].get("Principal") == "apigateway.amazonaws.com"
        for r in translated["Resources"].values()
    )
    if not authorizer_permitted:
        problems.append("AuthorizerFunction: no lambda:InvokeFunction permission for API Gateway")
    authorizer = body["components"]["securitySchemes"]["ApiKeyAuthorizer"]["x-amazon-apigateway-authorizer"]
    target = re.search(r"\b(\w+)\"?, \"Arn\"", json.dumps(authorizer["authorizerUri"]))
    if not target or target.group(1) != "AuthorizerFunction":
        problems.append(f"the authorizer does not invoke AuthorizerFunction: {authorizer['authorizerUri']}")
    extra = set(body.get("paths", {})) - set(document["paths"])
    if extra:
        problems.append(f"deployed routes the API document does not have: {sorted(extra)}")
    if problems:
        raise Finding("API wiring:\n" + "\n".join(problems))
    return routes


# ---------------------------------------------------------------------------- 4. IAM enforced


def attach_managed_policies(translated, physical):
    iam = client("iam")
    for name, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        role = physical[name]
        for arn in resource["Properties"].get("ManagedPolicyArns", []):
            iam.attach_role_policy(RoleName=role, PolicyArn=arn)
        inline = {p["PolicyName"]: p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])}
        stored = set(iam.list_role_policies(RoleName=role)["PolicyNames"])
        if set(inline) != stored:
            raise Finding(f"{name}: inline policies {sorted(stored)} in the stack, {sorted(inline)} in the template")
        for policy_name, written in inline.items():
            document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
            if isinstance(document, str):
                # moto's CloudFormation keeps the document as Python's repr of a dict.
                try:
                    document = json.loads(document)
                except ValueError:
                    document = ast.literal_eval(document)
            actions = lambda doc: [sorted(st["Action"] if isinstance(st["Action"], list) else [st["Action"]]) for st in doc["Statement"]]
            if actions(document) != actions(written):
                raise Finding(f"{name}/{policy_name}: the stack's policy differs from the template's")
            # moto's IAM evaluation cannot read that form: put the same document back as JSON
            # (SAM writes no Version, which AWS reads as 2008-10-17 and moto refuses; ours
            # use no policy variables, so the two versions mean the same).
            document.setdefault("Version", "2012-10-17")
            iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(document))


def assume_roles(functions):
    sts = client("sts")
    for function in functions.values():
        out = sts.assume_role(RoleArn=function["role"], RoleSessionName=function["binary"])
        function["credentials"] = out["Credentials"]


def enforce_iam():
    request = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"] + "/moto-api/reset-auth",
        data=b"0",
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()


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


def scenario(gateway, functions, function_info, notion_token):
    """Every route, the schedule trigger and the crawler, as a user's first day would."""
    key = os.environ["REHEARSAL_API_KEY"]
    problems = []

    def expect(status_wanted, method, path, body=None, query=""):
        status, answer = gateway.call(method, path, key, body, query)
        if status != status_wanted:
            problems.append(f"{method} {path}: {status} {json.dumps(answer)[:300]}")
        return answer if isinstance(answer, dict) else {}

    base = "/api/v1"
    dataset = expect(200, "POST", f"{base}/dataset/create", {"name": "Rehearsal"}).get("id", "dataset_x")
    expect(200, "GET", f"{base}/dataset/list")
    expect(200, "GET", f"{base}/dataset/{dataset}/fetch")
    expect(200, "POST", f"{base}/dataset/{dataset}/update", {"description": "rehearsed"})
    record = expect(200, "POST", f"{base}/dataset/{dataset}/record/create", {"text": "by hand"}).get("id", "record_x")
    expect(200, "POST", f"{base}/dataset/{dataset}/record/{record}/update", {"text": "edited"})
    expect(200, "GET", f"{base}/dataset/{dataset}/record/{record}/fetch")
    integration = expect(
        200,
        "POST",
        f"{base}/integration/notion/create",
        {"name": "Rehearsal", "datasetId": dataset, "token": notion_token, "syncSchedule": "@daily"},
    ).get("id", "notion_x")
    expect(200, "GET", f"{base}/integration/notion/list")
    expect(200, "GET", f"{base}/integration/notion/{integration}/fetch")
    expect(200, "POST", f"{base}/integration/notion/{integration}/update", {"syncSchedule": "30 2 * * 1-5", "token": notion_token})
    expect(200, "POST", f"{base}/integration/notion/{integration}/sync", {})
    run_queue(functions, function_info)
    # Connect with Notion: the authorize URL, Notion's consent (the emulator approves), the
    # public callback storing the granted tokens.
    authorize = expect(200, "POST", f"{base}/integration/notion/{integration}/authenticate", {}).get("url", "")
    if authorize:
        callback = consent(authorize)
        path, _, query = callback.partition("?")
        status, page = gateway.call("GET", path, key, query=query)
        if status != 200 or "is connected" not in str(page):
            problems.append(f"GET the OAuth callback: {status} {str(page)[:300]}")
        # The access token expires: the crawler refreshes it (its client secret and the
        # integration's secret) and the sync completes.
        crawler_secrets = client("secretsmanager", function_info["CrawlerFunction"]["credentials"])
        prefix = function_info["CrawlerFunction"]["env"]["SECRET_PREFIX"]
        try:
            granted = json.loads(crawler_secrets.get_secret_value(SecretId=f"{prefix}{integration}")["SecretString"])
            revoke(granted.get("accessToken", ""))
        except (ValueError, AttributeError, ClientError) as e:
            problems.append(f"the connected integration's secret could not be read: {e}")
    expect(200, "POST", f"{base}/integration/notion/{integration}/sync", {})
    run_queue(functions, function_info)
    state = expect(200, "GET", f"{base}/integration/notion/{integration}/fetch")
    if state.get("syncStatus") != "synced":
        problems.append(f"the sync after the token refresh ended {state.get('syncStatus')}: {state.get('syncError')}")
    if not state.get("workspace"):
        problems.append(f"the OAuth callback recorded no workspace: {state}")
    # Webhooks: the owner's view, Notion's handshake on the public route (no authorizer),
    # then a signed event for a synced page, coalesced and run by the crawler.
    hook = f"{base}/integration/notion/{integration}/webhook"
    view = expect(200, "GET", f"{hook}/fetch")
    if view.get("status") != "awaiting_token" or not str(view.get("url", "")).endswith(hook):
        problems.append(f"the webhook before its handshake: {view}")
    verification = "secret_rehearsal_verification"
    status, answer = gateway.call("POST", hook, "no-key", raw_body=json.dumps({"verification_token": verification}))
    if status != 200:
        problems.append(f"the webhook handshake: {status} {answer}")
    listed = expect(200, "GET", f"{base}/dataset/{dataset}/record/list", query="take=100")
    synced = [i["meta"]["notionPageId"] for i in listed.get("items", []) if (i.get("meta") or {}).get("notionPageId")]
    page = synced[0] if synced else ""
    if not page:
        problems.append(f"no synced record to name in a webhook event: {json.dumps(listed)[:300]}")
    event = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            # The connected workspace's: events of another one are ignored.
            "workspace_id": (expect(200, "GET", f"{base}/integration/notion/{integration}/fetch").get("workspace") or {}).get("id", ""),
            "type": "page.content_updated",
            "entity": {"id": page, "type": "page"},
            "data": {},
        }
    )
    signature = "sha256=" + hmac.new(verification.encode(), event.encode(), hashlib.sha256).hexdigest()
    status, answer = gateway.call("POST", hook, "no-key", extra_headers={"x-notion-signature": signature}, raw_body=event)
    if status != 200:
        problems.append(f"a signed webhook event: {status} {answer}")
    # The flush waits WEBHOOK_DEBOUNCE_SECS on the queue (SQS DelaySeconds).
    time.sleep(int(function_info["WebhookReceiveFunction"]["env"].get("WEBHOOK_DEBOUNCE_SECS", "2")) + 1)
    run_queue(functions, function_info)
    view = expect(200, "GET", f"{hook}/fetch")
    state = expect(200, "GET", f"{base}/integration/notion/{integration}/fetch")
    if view.get("status") != "active" or view.get("verificationToken") != verification:
        problems.append(f"the webhook after a signed event: {view}")
    if (state.get("lastSyncSummary") or {}).get("trigger") != "webhook":
        problems.append(
            f"the webhook event ran no targeted sync: {json.dumps(state)[:300]}\n"
            f"webhook-receive:\n{functions.tail('WebhookReceiveFunction')}\ncrawler:\n{functions.tail('CrawlerFunction')}"
        )
    # What a fired schedule does: EventBridge Scheduler invokes the trigger with this input.
    account = os.environ["REHEARSAL_ACCOUNT_ID"]
    triggered = functions.invoke("ScheduleTriggerFunction", {"accountId": account, "integrationId": integration})
    if "queued" not in json.dumps(triggered) and "coalesced" not in json.dumps(triggered):
        problems.append(f"the schedule trigger answered {triggered}")
    run_queue(functions, function_info)
    records = expect(200, "GET", f"{base}/dataset/{dataset}/record/list", query="take=100")
    if len(records.get("items", [])) < 2:
        problems.append(f"the sync wrote no records: {json.dumps(records)[:300]}")
    expect(200, "POST", f"{base}/dataset/{dataset}/record/{record}/delete", {})
    expect(200, "GET", f"{base}/event/log/list")
    expect(200, "POST", f"{base}/integration/notion/{integration}/delete", {})
    expect(200, "POST", f"{base}/dataset/{dataset}/delete", {})
    run_queue(functions, function_info)
    untried = sorted(f"{m} {p}" for m, p in set(gateway.routes) - gateway.called)
    if untried:
        problems.append(f"routes the scenario never called: {untried}")
    if problems:
        raise Finding("the scenario:\n" + "\n".join(problems))


def consent(authorize_url):
    """The browser at Notion's consent page: where Notion sends it back (not followed)."""

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(Stay).open(authorize_url, timeout=10)
    except urllib.error.HTTPError as redirect:
        location = redirect.headers.get("Location", "")
        return location[location.find("/api/v1/"):]
    raise Finding(f"Notion's authorize URL did not redirect: {authorize_url}")


def revoke(token):
    request = urllib.request.Request(
        os.environ["REHEARSAL_NOTION_URL"] + "/__emulator/revoke",
        data=json.dumps({"token": token}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()


def run_queue(functions, function_info, rounds=50):
    """The SQS event source mapping: poll with the crawler's role, invoke, delete what
    succeeded."""
    crawler = function_info["CrawlerFunction"]
    sqs = client("sqs", crawler["credentials"])
    url = crawler["env"]["SYNC_QUEUE_URL"]
    for _ in range(rounds):
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0, AttributeNames=["All"])
        messages = out.get("Messages", [])
        if not messages:
            return
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rsplit('/', 1)[-1]}",
                "awsRegion": REGION,
            }
            for m in messages
        ]
        answer = functions.invoke("CrawlerFunction", {"Records": records}) or {}
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] in failed:
                raise Finding(f"the crawler failed message {m['Body']}:\n{functions.tail('CrawlerFunction')}")
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    raise Finding("the sync queue never emptied")


def main():
    template = sys.argv[1]
    workdir = sys.argv[2]
    notion_url = os.environ["REHEARSAL_NOTION_URL"]
    notion_token = os.environ["REHEARSAL_NOTION_TOKEN"]
    started = time.time()
    translated = translate(template)
    lint(translated, workdir)
    log(f"translated and linted ({len(translated['Resources'])} resources)")
    # Connect with Notion configured as a deployer would: the client secret in Secrets Manager.
    secret_arn = client("secretsmanager").create_secret(
        Name="rehearsal/notion-oauth-client-secret", SecretString=os.environ["REHEARSAL_OAUTH_CLIENT_SECRET"]
    )["ARN"]
    parameters = {
        "NotionApiUrl": notion_url,
        "NotionMaxRps": "50",
        "ManualSyncCooldownSecs": "0",
        "NotionOAuthClientId": os.environ["REHEARSAL_OAUTH_CLIENT_ID"],
        "NotionOAuthClientSecretArn": secret_arn,
        "PublicBaseUrl": "https://rehearsal.example",
    }
    PARAMETERS.update({k: str(v.get("Default")) for k, v in translated.get("Parameters", {}).items()})
    PARAMETERS.update(parameters)
    physical, skipped = deploy(translated, parameters)
    made = create_skipped(translated, physical, skipped)
    log(f"stack created; created what moto skips: {sorted(skipped)}")
    functions = check_environment(translated, skipped, made)
    routes = check_api(translated)
    log(f"API wiring: {len(routes)} routes, each to its function, keyed ones behind the authorizer")
    attach_managed_policies(translated, physical)
    assume_roles(functions)
    # Accounts are made by an operator with admin rights (local-stack create-account).
    main_table = functions["AuthorizerFunction"]["env"]["TABLE_NAME"]
    created = subprocess.run(
        [os.path.join(DEBUG_DIR, "local-stack"), "create-account", os.environ["REHEARSAL_API_KEY"]],
        env=dict(
            os.environ,
            TABLE_NAME=main_table,
            RECORDS_TABLE_NAME=functions["AuthorizerFunction"]["env"]["RECORDS_TABLE_NAME"],
            SECRET_PREFIX="unused/",
        ),
        check=True,
        capture_output=True,
        text=True,
    )
    os.environ["REHEARSAL_ACCOUNT_ID"] = re.search(r"account (\S+) created", created.stdout).group(1)
    enforce_iam()
    log("IAM enforced; starting every function as its own process")
    running = Functions(functions, workdir)
    try:
        scenario(Gateway(running, routes), running, functions, notion_token)
    except Finding as finding:
        denials = running.denials()
        running.stop()
        if denials:
            raise Finding("\n".join(denials) + f"\n(then) {finding}")
        raise
    denials = running.denials()
    running.stop()
    if denials:
        raise Finding("\n".join(denials))
    log(f"passed in {time.time() - started:.0f} s: every route, the schedule trigger and the crawler, no AccessDenied")


if __name__ == "__main__":
    try:
        main()
    except Finding as finding:
        print(f"rehearsal FAILED: {finding}", file=sys.stderr)
        sys.exit(1)
