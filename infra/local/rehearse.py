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

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from rehearsal.common import DEBUG_DIR, Finding, client, log  # noqa: E402
from rehearsal.gateway import Gateway  # noqa: E402
from rehearsal.lambdas import Functions  # noqa: E402
from rehearsal.scenario import scenario  # noqa: E402
from rehearsal.stack import (  # noqa: E402
    assume_roles,
    attach_managed_policies,
    check_api,
    check_environment,
    create_skipped,
    deploy,
    enforce_iam,
)
from rehearsal.template import lint, translate  # noqa: E402


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
    resolved = {k: str(v.get("Default")) for k, v in translated.get("Parameters", {}).items()}
    resolved.update(parameters)
    physical, skipped = deploy(translated, parameters)
    made = create_skipped(translated, physical, skipped, resolved)
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
    account_id = re.search(r"account (\S+) created", created.stdout).group(1)
    enforce_iam()
    log("IAM enforced; starting every function as its own process")
    running = Functions(functions, workdir)
    try:
        scenario(Gateway(running, routes), running, functions, notion_token, account_id)
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
