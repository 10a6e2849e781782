"""IAM enforcement in moto that checks the resources a call touches, for the deploy rehearsal.

moto (5.2.5) enforces IAM once `POST /moto-api/reset-auth` is sent, but checks DynamoDB,
Secrets Manager and EventBridge Scheduler calls against `Resource: "*"` only, so every
resource-scoped Allow (all of ours) is denied, and it checks `dynamodb:TransactWriteItems`,
which is not an IAM action: AWS checks each item's own action on its table. This module
replaces one method, `ActionAuthenticatorMixin._authenticate_and_authorize_action`, for
those three services, with what AWS checks:

- DynamoDB: the table's ARN (`.../index/<name>` for a Query or Scan of an index); for
  `TransactWriteItems`, `dynamodb:PutItem` / `UpdateItem` / `DeleteItem` /
  `ConditionCheckItem` on each item's table; `BatchWriteItem` / `BatchGetItem` on each table.
- Secrets Manager: `arn:...:secret:<name>` from `SecretId` or `Name` (policies end in `*`,
  which covers the random suffix AWS adds).
- Scheduler: `arn:...:schedule/<group>/<name>` from the path and the group (query string or
  body), `arn:...:schedule-group/<name>` for groups.

A denial names the action and the resource, and is appended to `$MOTO_IAM_DENIALS` (JSON
lines of principal, action, resource) when that is set. It also fixes moto's signature check for REST
calls whose query string it rebuilds out of order (Scheduler's GET and DELETE with
`groupName`): the signature is checked against the request as it was sent.

`install()` fails loudly when moto's internals it relies on have changed, so a moto upgrade
cannot silently turn these checks off. `MOTO_IAM_DEBUG=1` prints every check to moto's log.
"""

import inspect
import json
import os
import sys
from urllib.parse import parse_qs, unquote, urlparse

from moto import settings
from moto.core import authorization
from moto.core.exceptions import AccessDeniedError
from moto.iam import access_control
from moto.iam.access_control import IAMRequest

PINNED_MOTO = "5.2.5"


class ResourceAccessDenied(AccessDeniedError):
    def __init__(self, user_arn, action, resource):
        super().__init__(user_arn=user_arn, action=f"{action} on resource: {resource}")


class ResourceIAMRequest(IAMRequest):
    """An IAM request for one (action, resource) pair, whose denial names both."""

    resource = "*"

    def _create_aws_request(self):
        # moto signs an empty body as its parsed query parameters (`body or data`), so a
        # REST GET or DELETE with a query string never matches: sign the body as sent.
        request = super()._create_aws_request()
        request.data = self._body or b""
        return request

    def _raise_access_denied(self):
        # moto answers denials as XML, which JSON clients (the Rust SDK for DynamoDB) report
        # only as an unparseable body: the rehearsal reads them from this file instead.
        record = os.environ.get("MOTO_IAM_DENIALS")
        if record:
            with open(record, "a") as f:
                f.write(json.dumps({"principal": self._access_key.arn, "action": self._action, "resource": self.resource}) + "\n")
        raise ResourceAccessDenied(self._access_key.arn, self._action, self.resource)


def _body(handler):
    # DynamoDB's handler has parsed its JSON body already; the others hold the text.
    body = handler.body
    if isinstance(body, dict):
        return body
    try:
        return json.loads(body or "{}")
    except (TypeError, ValueError):
        return {}


def _dynamodb_checks(handler, action, region, account):
    body = _body(handler)

    def table(name):
        return f"arn:aws:dynamodb:{region}:{account}:table/{name}"

    if action == "TransactWriteItems":
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
        checks = []
        for item in body.get("TransactItems", []):
            for kind, item_action in kinds.items():
                if kind in item:
                    checks.append((item_action, table(item[kind]["TableName"])))
        return checks
    if action == "TransactGetItems":
        return [("GetItem", table(i["Get"]["TableName"])) for i in body.get("TransactItems", []) if "Get" in i]
    if action in ("BatchWriteItem", "BatchGetItem"):
        return [(action, table(name)) for name in body.get("RequestItems", {})]
    name = body.get("TableName")
    if not name:
        return [(action, "*")]
    if action in ("Query", "Scan") and body.get("IndexName"):
        return [(action, f"{table(name)}/index/{body['IndexName']}")]
    return [(action, table(name))]


def _secretsmanager_checks(handler, action, region, account):
    body = _body(handler)
    secret = body.get("SecretId") or body.get("Name")
    if not secret:
        return [(action, "*")]
    if secret.startswith("arn:"):
        return [(action, secret)]
    return [(action, f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}")]


def _scheduler_checks(handler, action, region, account):
    parsed = urlparse(handler.uri)
    parts = [unquote(p) for p in parsed.path.split("/") if p]
    query = parse_qs(parsed.query)
    if len(parts) == 2 and parts[0] == "schedules":
        group = (query.get("groupName") or [None])[0] or _body(handler).get("GroupName") or "default"
        return [(action, f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{parts[1]}")]
    if len(parts) == 2 and parts[0] == "schedule-groups":
        return [(action, f"arn:aws:scheduler:{region}:{account}:schedule-group/{parts[1]}")]
    return [(action, "*")]


CHECKS = {
    "dynamodb": _dynamodb_checks,
    "secretsmanager": _secretsmanager_checks,
    "scheduler": _scheduler_checks,
}


def _scope(headers):
    auth = headers.get("Authorization", "")
    scope = auth.partition("Credential=")[2].partition(",")[0].split("/")
    return (scope[2], scope[3]) if len(scope) > 3 else (None, None)


def install():
    import moto

    if moto.__version__ != PINNED_MOTO:
        raise SystemExit(f"moto_iam.py is written for moto {PINNED_MOTO}, not {moto.__version__}: re-check it")
    mixin = authorization.ActionAuthenticatorMixin
    original = mixin._authenticate_and_authorize_action
    expected = ["self", "iam_request_cls", "resource"]
    if list(inspect.signature(original).parameters) != expected:
        raise SystemExit("moto's _authenticate_and_authorize_action changed: re-check moto_iam.py")
    for name in ("check_signature", "check_action_permitted", "_raise_access_denied", "_calculate_signature", "_create_aws_request"):
        if not hasattr(access_control.IAMRequestBase, name) and not hasattr(IAMRequest, name):
            raise SystemExit(f"moto's IAMRequest lost {name}: re-check moto_iam.py")
    original_source = inspect.getsource(original)
    for needle in ("INITIAL_NO_AUTH_ACTION_COUNT", "check_signature()", "check_action_permitted(resource)"):
        if needle not in original_source:
            raise SystemExit(f"moto's authorization no longer does {needle!r}: re-check moto_iam.py")

    def authorize(self, iam_request_cls, resource="*"):
        if iam_request_cls is not IAMRequest or mixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
            return original(self, iam_request_cls, resource)
        if self.headers.get("X-Amz-Target") in mixin.PUBLIC_OPERATIONS:
            return None
        region, service = _scope(self.headers)
        checks_of = CHECKS.get(service)
        if checks_of is None:
            return original(self, iam_request_cls, resource)
        # The path as sent (with its query string untouched), for the signature.
        path = self.raw_path
        query = urlparse(self.uri).query
        if query:
            path += "?" + query
        action = self._get_action()
        common = dict(
            account_id=self.current_account,
            method=self.method,
            path=path,
            data=self.data,
            body=self.raw_body,
            headers=self.headers,
        )
        ResourceIAMRequest(action=action, **common).check_signature()
        checks = checks_of(self, action, region, self.current_account)
        if os.environ.get("MOTO_IAM_DEBUG"):
            print(f"moto_iam: {service} {action} {checks} body={str(self.body)[:200]}", file=sys.stderr, flush=True)
        for checked_action, checked_resource in checks:
            request = ResourceIAMRequest(action=checked_action, **common)
            request.resource = checked_resource
            request.check_action_permitted(checked_resource)
        return None

    mixin._authenticate_and_authorize_action = authorize
