"""ChatBotKit's official Python SDK (PyPI `chatbotkit`, unmodified) against the local stack
in `TIMESTAMP_FORMAT=epoch_ms` mode: every route the SDK has that this service serves, as a
user's code would call it. Run by infra/local/sdk.sh with BASE_URL, API_KEY and NOTION_TOKEN
set; exits non-zero (an AssertionError or an SDK error) on the first thing that breaks.
"""

import asyncio
import os
import time

from chatbotkit import ChatBotKit
from chatbotkit._transport import APIError

BASE_URL = os.environ["BASE_URL"]
API_KEY = os.environ["API_KEY"]
NOTION_TOKEN = os.environ["NOTION_TOKEN"]
NOW_MS = time.time() * 1000


def is_ms(value):
    # A timestamp in ms since the epoch, within a day of now (so not seconds, not a string).
    return isinstance(value, float) and abs(value - NOW_MS) < 86_400_000


async def all_items(list_call):
    """Pages through a list the way an SDK user does: until a page comes back empty."""
    items, cursor = [], None
    for _ in range(1_000):
        page = await list_call({"cursor": cursor, "take": 5} if cursor else {"take": 5})
        assert isinstance(page.cursor, str), page.cursor
        if not page.items:
            return items
        items.extend(page.items)
        cursor = page.cursor
    raise AssertionError("listing never ended")


async def main():
    cbk = ChatBotKit(token=API_KEY, base_url=BASE_URL, timeout=30)
    checked = []

    # Datasets.
    dataset_id = (await cbk.dataset.create({"name": "SDK wiki", "description": "d", "meta": {"team": "sdk"}})).id
    checked.append("dataset.create")
    await cbk.dataset.update(dataset_id, {"description": "updated by the SDK"})
    checked.append("dataset.update")
    dataset = await cbk.dataset.fetch(dataset_id)
    assert dataset.id == dataset_id and dataset.description == "updated by the SDK", dataset.to_dict()
    assert is_ms(dataset.created_at) and is_ms(dataset.updated_at), dataset.to_dict()
    checked.append("dataset.fetch")
    datasets = await all_items(cbk.dataset.list)
    assert dataset_id in [d.id for d in datasets]
    checked.append("dataset.list")
    streamed = [item async for item in cbk.dataset.list().stream()]
    assert dataset_id in [i.data.id for i in streamed]
    checked.append("dataset.list (stream)")

    # Records written by hand.
    record_id = (await cbk.dataset.record.create(dataset_id, {"text": "Refunds take 5 days.", "source": "https://example.com/faq"})).id
    checked.append("dataset.record.create")
    await cbk.dataset.record.update(dataset_id, record_id, {"text": "Refunds take 3 days."})
    checked.append("dataset.record.update")
    record = await cbk.dataset.record.fetch(dataset_id, record_id)
    assert record.text == "Refunds take 3 days." and is_ms(record.created_at) and is_ms(record.updated_at), record.to_dict()
    checked.append("dataset.record.fetch")

    # A Notion integration syncing into the dataset.
    integration_id = (
        await cbk.integration.notion.create(
            {"name": "SDK sync", "datasetId": dataset_id, "token": NOTION_TOKEN, "syncSchedule": "@daily"}
        )
    ).id
    checked.append("integration.notion.create")
    await cbk.integration.notion.update(integration_id, {"description": "driven by the Python SDK"})
    checked.append("integration.notion.update")
    await cbk.integration.notion.sync(integration_id)
    checked.append("integration.notion.sync")
    integration = None
    for _ in range(600):
        integration = await cbk.integration.notion.fetch(integration_id)
        if integration.sync_status is not None and integration.sync_status.value in ("synced", "error"):
            break
        await asyncio.sleep(0.5)
    assert integration.sync_status.value == "synced", integration.to_dict()
    assert integration.token == "********" and integration.dataset_id == dataset_id
    assert is_ms(integration.created_at) and is_ms(integration.updated_at), integration.to_dict()
    assert integration.last_synced_at is not None, "lastSyncedAt stays RFC 3339 and parses as a datetime"
    checked.append("integration.notion.fetch")
    integrations = await all_items(cbk.integration.notion.list)
    assert integration_id in [i.id for i in integrations]
    checked.append("integration.notion.list")

    records = await all_items(lambda q: cbk.dataset.record.list(dataset_id, q))
    assert len(records) > 1, "the sync wrote records beside the one written by hand"
    assert all(is_ms(r.created_at) for r in records)
    assert record_id in [r.id for r in records]
    checked.append("dataset.record.list")
    streamed = [item async for item in cbk.dataset.record.list(dataset_id, {"take": 100}).stream()]
    assert len(streamed) == min(len(records), 100)
    checked.append("dataset.record.list (stream)")
    await cbk.dataset.record.delete(dataset_id, record_id)
    checked.append("dataset.record.delete")
    try:
        await cbk.dataset.record.fetch(dataset_id, record_id)
        raise AssertionError("a deleted record was fetched")
    except APIError as e:
        assert e.status_code == 404 and e.code == "NOT_FOUND", (e.status_code, e.code)

    # The event log.
    events = await all_items(cbk.event.log.list)
    types = {e.type for e in events}
    assert {"integration.created", "integration.updated", "sync.requested", "sync.completed"} <= types, types
    assert all(is_ms(e.created_at) and is_ms(e.updated_at) for e in events)
    assert all(e.notion_integration_id == integration_id for e in events if e.type.startswith("sync."))
    checked.append("event.log.list")

    # Acting for a sub-account is refused, not silently done on this account.
    run_as = ChatBotKit(token=API_KEY, base_url=BASE_URL, run_as_user_id="user_123")
    try:
        await run_as.dataset.list()
        raise AssertionError("X-RunAs-User-Id was accepted")
    except APIError as e:
        assert e.status_code == 400 and e.code == "BAD_REQUEST", (e.status_code, e.code, e.message)
    await run_as.aclose()
    checked.append("X-RunAs refused")

    await cbk.integration.notion.delete(integration_id)
    checked.append("integration.notion.delete")
    await cbk.dataset.delete(dataset_id)
    checked.append("dataset.delete")
    await cbk.aclose()
    print("python SDK: " + ", ".join(checked))


asyncio.run(main())
