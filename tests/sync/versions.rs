//! Both supported Notion versions end to end: the same workspace synced through the API, the
//! queue and the crawler in `2026-12-01` and in `2026-03-11` mirrors every page and keeps
//! every row's properties; what each version asks of a reader is visible in its requests.

use super::*;
use shared::domain::version::NotionVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_supported_version_syncs_every_page_and_every_row_property() {
    for version in NotionVersion::ALL {
        let s = setup(90, Plan::default(), unlimited()).await;
        assert_eq!(s.sync().await["id"], s.integration.as_str());
        let crawler = s.env.crawler_speaking(&s.notion_url, 40, version);
        s.env.drain(&crawler, BUDGET).await;
        let state = s.integration_state().await;
        assert_clean(&state);
        s.assert_mirrors_workspace().await;

        // Rows keep every property, whatever the version lists by default.
        let rows: Vec<Value> = s
            .env
            .all_records(&s.key, &s.dataset)
            .await
            .into_iter()
            .filter(|r| r["meta"].get("dataSourceId").is_some())
            .collect();
        assert!(!rows.is_empty(), "{version}: the workspace has rows");
        for row in &rows {
            let props = &row["meta"]["properties"];
            for name in [
                "Status",
                "Priority",
                "Tags",
                "Done",
                "Due",
                "Office",
                "Due by",
                "Assignees",
            ] {
                assert!(
                    props.get(name).is_some_and(|v| !v.is_null()),
                    "{version}: {name} missing from {props}"
                );
            }
            assert!(row["text"].as_str().unwrap().contains("Status: "), "{version}: {row}");
        }

        let requests = s.emulator.requests();
        let markdown: Vec<&str> = requests
            .iter()
            .filter(|r| r.path.contains("/markdown"))
            .map(|r| r.path.as_str())
            .collect();
        assert!(!markdown.is_empty());
        assert!(
            markdown.iter().all(|p| p.contains("markdown_version=v2")),
            "{version}: every markdown request asks for v2"
        );
        let queries: Vec<&str> = requests
            .iter()
            .filter(|r| r.path.split('?').next().is_some_and(|p| p.ends_with("/query")))
            .map(|r| r.path.as_str())
            .collect();
        assert!(!queries.is_empty(), "{version}: data sources were queried");
        let named = queries.iter().all(|p| p.contains("filter_properties="));
        assert_eq!(
            named,
            version.lists_title_only(),
            "{version}: filter_properties only where the version needs it: {queries:?}"
        );
    }
}
