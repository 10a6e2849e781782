"""Steps 2 to 4's checks on the deployed stack: every resource there (what moto skips
made here), every environment resolved, the API wired route by route, IAM as written."""

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


def create_skipped(translated, physical, skipped, parameters):
    """Creates what moto skipped, through each service's API; returns logical → Ref value."""
    made = {}
    for name, kind in sorted(skipped.items(), key=lambda kv: kv[1] != "AWS::ApiGatewayV2::Api"):
        props = translated["Resources"][name].get("Properties", {})
        if kind == "AWS::Scheduler::ScheduleGroup":
            group = resolve(props["Name"], physical, made, parameters)
            client("scheduler").create_schedule_group(Name=group)
            made[name] = group
        elif kind == "AWS::CloudWatch::Alarm":
            dims = [{"Name": d["Name"], "Value": resolve(d["Value"], physical, made, parameters)} for d in props["Dimensions"]]
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
            api_id = resolve(props["ApiId"], physical, made, parameters)
            client("apigatewayv2").create_stage(ApiId=api_id, StageName=props.get("StageName", "$default"))
            made[name] = props.get("StageName", "$default")
    return made


def resolve(value, physical, made, parameters):
    """Resolves the intrinsics our templates use, against the deployed stack."""
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
