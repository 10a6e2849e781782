"""Negative controls of the deploy rehearsal: copies of template.yaml with one bug each,
every one of which the rehearsal must refuse, naming the function and the call (or the
lint finding). Run by infra/local/test.sh after the rehearsal passed on template.yaml.

Usage: python rehearse_controls.py  (from the repository root)
"""

import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def function_block(text, name):
    """The span of resource `name` in the template text."""
    start = text.index(f"\n  {name}:\n") + 1
    following = re.search(r"\n  \w+:\n", text[start + 1 :])
    end = start + 1 + following.start() + 1 if following else len(text)
    return start, end


def in_function(text, name, old, new):
    start, end = function_block(text, name)
    block = text[start:end]
    if block.count(old) != 1:
        raise SystemExit(f"control set-up: {old!r} is not once in {name}; update rehearse_controls.py")
    return text[:start] + block.replace(old, new) + text[end:]


CONTROLS = [
    (
        "one action removed from one function's policy",
        lambda t: in_function(t, "RecordCreateFunction", "Action: [dynamodb:PutItem]", "Action: [dynamodb:GetItem]"),
        ["RecordCreateFunction (record-create): AccessDenied for dynamodb:PutItem", "RecordsTable"],
    ),
    (
        "a GetAtt typo",
        lambda t: in_function(t, "CrawlerFunction", "Queue: !GetAtt SyncQueue.Arn", "Queue: !GetAtt SyncQueue.Arnn"),
        ["cfn-lint", "'Arnn' is not one of"],
    ),
    (
        "a secret ARN under the wrong prefix",
        lambda t: in_function(
            t,
            "IntegrationCreateFunction",
            "secret:${AWS::StackName}/notion/*",
            "secret:${AWS::StackName}/notion-secrets/*",
        ),
        ["IntegrationCreateFunction (integration-create): AccessDenied for secretsmanager:CreateSecret", "/notion/"],
    ),
]


def main():
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template = f.read()
    failures = []
    for title, mutate, expected in CONTROLS:
        broken = mutate(template)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=ROOT, delete=False) as f:
            f.write(broken)
            path = f.name
        try:
            result = subprocess.run(
                ["bash", "infra/local/rehearse.sh", path], cwd=ROOT, capture_output=True, text=True
            )
        finally:
            os.unlink(path)
        output = result.stdout + result.stderr
        missing = [e for e in expected if e not in output]
        if result.returncode == 0 or missing:
            failures.append(f"{title}: exit {result.returncode}, missing {missing}\n{output[-2000:]}")
        else:
            finding = next((line for line in output.splitlines() if expected[0] in line), "")
            print(f"control refused as it should ({title}): {finding.strip()[:200]}")
    if failures:
        print("rehearsal controls FAILED:\n" + "\n\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
