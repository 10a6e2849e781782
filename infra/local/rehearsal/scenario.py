"""The scenario: every route through the gateway, Connect with Notion, webhooks, the
schedule trigger and the crawler on the queue."""

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


def scenario(gateway, functions, function_info, notion_token, account_id):
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
    account = account_id
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
