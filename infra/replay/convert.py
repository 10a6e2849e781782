#!/usr/bin/env python3
"""Converts VCR cassettes of Notion API calls into the replay test's JSON recordings.

Usage: convert.py CASSETTE_DIR OUT_DIR

Every `*.yaml` under CASSETTE_DIR with at least one request to api.notion.com becomes one
`OUT_DIR/<path with / as __>.json` holding `{recording, interactions: [{method, uri,
notionVersion, status, body}]}`, one to one and in order; bodies are parsed JSON (or null
where the answer was not JSON). Nothing is rewritten: the recordings stay Notion's bytes.
Requires PyYAML: the venv infra/local/lib.sh makes (.local/venv/bin/python) has it, through moto.
"""
import json
import pathlib
import sys

import yaml


def header(headers, name):
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) else value
    return None


def convert(path):
    data = yaml.safe_load(path.read_text())
    out = []
    for item in data.get("interactions") or []:
        request, response = item["request"], item["response"]
        if "api.notion.com" not in request["uri"]:
            continue
        raw = response.get("content")
        if raw is None:
            raw = (response.get("body") or {}).get("string")
        try:
            body = json.loads(raw) if raw else None
        except (TypeError, ValueError):
            body = None
        status = response.get("status_code") or (response.get("status") or {}).get("code")
        out.append({
            "method": request["method"],
            "uri": request["uri"],
            "notionVersion": header(request.get("headers"), "notion-version"),
            "status": status,
            "body": body,
        })
    return out


def main():
    src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    dst.mkdir(parents=True, exist_ok=True)
    files = interactions = 0
    for path in sorted(src.rglob("*.yaml")):
        got = convert(path)
        if not got:
            continue
        name = str(path.relative_to(src)).replace("/", "__")[: -len(".yaml")]
        (dst / f"{name}.json").write_text(json.dumps({"recording": name, "interactions": got}))
        files += 1
        interactions += len(got)
    print(f"{files} recordings, {interactions} interactions -> {dst}")


if __name__ == "__main__":
    main()
