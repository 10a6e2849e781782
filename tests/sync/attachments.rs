//! Attachments end to end (SPEC §2.6): a page holding one file of every kind, served by the
//! Notion emulator as S3 serves Notion's files (signed URLs that expire), synced through the
//! queue and the crawler with its extraction sandbox.

use super::*;
use notion_emulator::files;

/// A page of the workspace with every kind of file added; returns it with the files'
/// blocks and names.
fn page_with_files(s: &Setup) -> (String, Vec<(String, String)>) {
    s.emulator.with_workspace(|ws| {
        let page = ws.live_pages().into_iter().find(|p| ws.pages[p].in_search).unwrap();
        let added = files::add_attachment_blocks(ws, &page, "Q3");
        ws.touch(&page);
        (page, added)
    })
}

/// Hosted files of readable formats in the live pages: the generated workspace holds some
/// of its own besides the ones added. `whatever_they_hold`: also those whose content is
/// broken or hostile (a reader learns that only once it has the file).
fn readable_files(s: &Setup, whatever_they_hold: bool) -> usize {
    s.emulator.with_workspace(|ws| {
        ws.live_pages()
            .iter()
            .flat_map(|p| ws.content_blocks(p))
            .filter(|b| matches!(b.kind.as_str(), "file" | "pdf"))
            .filter(|b| b.extra.get("external").is_none())
            .filter_map(|b| b.extra.get("name").and_then(|n| n.as_str()))
            .filter(|name| {
                let format = shared::attachments::Format::of_name(name).is_some();
                if whatever_they_hold {
                    format
                } else {
                    format && files::readable(name)
                }
            })
            .count()
    })
}

async fn attachment_records(s: &Setup) -> Vec<Value> {
    s.env
        .all_records(&s.key, &s.dataset)
        .await
        .into_iter()
        .filter(|r| r["meta"]["attachment"] == true)
        .collect()
}

async fn sync_with_attachments(s: &Setup) -> Value {
    assert_eq!(s.sync().await["id"], s.integration.as_str());
    let crawler = s.env.crawler_with_attachments(&s.notion_url);
    s.env.drain(&crawler, BUDGET).await;
    s.integration_state().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_readable_attachment_reaches_the_dataset_and_a_resync_downloads_nothing() {
    let logs = integration_tests::LogCapture::install();
    let s = setup(8, Plan::default(), unlimited()).await;
    let (page, added) = page_with_files(&s);
    let state = sync_with_attachments(&s).await;
    let sum = summary(&state);
    assert_eq!(state["syncStatus"], "synced", "{state}");
    let readable: Vec<&(String, String)> = added.iter().filter(|(_, name)| files::readable(name)).collect();
    assert_eq!(readable.len(), 9, "every readable format is in the page");
    let everywhere = readable_files(&s, false);
    assert!(everywhere > readable.len());
    assert_eq!(sum["attachmentsRead"], everywhere as u64, "{sum}");
    let skipped = &sum["attachmentsSkippedByReason"];
    assert_eq!(skipped["malformed"], 1, "the broken PDF: {sum}");
    assert_eq!(skipped["hostile"], 2, "the zip bomb and the deep XML: {sum}");
    assert_eq!(skipped["encrypted"], 1, "{sum}");
    assert_eq!(skipped["tooLarge"], 1, "the 2 MB text over the 1 MB limit: {sum}");
    assert!(sum["attachmentBytes"].as_u64().unwrap() > 0, "{sum}");

    // Every token of every readable file is in that file's records, and only there.
    let records = attachment_records(&s).await;
    for (block, name) in &readable {
        let text: String = records
            .iter()
            .filter(|r| r["meta"]["fileName"] == name.as_str())
            .map(|r| r["text"].as_str().unwrap())
            .collect();
        assert!(text.starts_with(&format!("# {name}\n")), "{name}: {text:?}");
        for token in files::tokens(block) {
            assert!(text.contains(&token), "{name} misses {token}: {text:?}");
        }
        let first = records.iter().find(|r| r["meta"]["fileName"] == name.as_str()).unwrap();
        assert_eq!(first["meta"]["parentPageId"], page.as_str());
        assert!(
            first["source"].as_str().unwrap().starts_with("https://www.notion.so/"),
            "{first}"
        );
    }
    let pdf = records
        .iter()
        .find(|r| r["meta"]["fileName"] == "Q3 report.pdf")
        .unwrap();
    assert_eq!(
        (pdf["meta"]["pages"].as_u64(), pdf["meta"]["mimeType"].as_str()),
        (Some(2), Some("application/pdf"))
    );
    assert_eq!(
        records.len(),
        everywhere,
        "one record per file, nothing for skipped ones"
    );
    // The page's own record names each file with a stable link.
    let texts = s.texts_by_page().await;
    assert!(
        texts[&page].contains("Q3 caption of Q3 policy.docx (Q3 policy.docx)"),
        "{}",
        texts[&page]
    );
    // No signed URL anywhere in the dataset.
    for r in s.env.all_records(&s.key, &s.dataset).await {
        let all = r.to_string();
        assert!(!all.contains("X-Amz-") && !all.contains("/files/"), "{all}");
    }

    // Reading the files cost Notion nothing: no request names one of their blocks.
    let asked: Vec<String> = s.emulator.requests().into_iter().map(|r| r.path).collect();
    for (block, _) in &added {
        assert!(
            asked.iter().all(|p| !p.contains(block.as_str())),
            "{block} was asked for: {asked:?}"
        );
    }
    // A second sync downloads nothing and rewrites nothing.
    let downloads = s.emulator.downloads().len();
    assert!(downloads >= readable.len(), "{downloads}");
    let again = sync_with_attachments(&s).await;
    assert_eq!(s.emulator.downloads().len(), downloads, "{}", summary(&again));
    assert_eq!(summary(&again)["recordsWritten"], 0, "{}", summary(&again));
    // The page edited, its files unchanged: the page is read again, its files are not.
    s.emulator
        .with_workspace(|ws| ws.edit_block(&ws.pages[&page].children[0].clone(), "new words"));
    let edited = sync_with_attachments(&s).await;
    assert_eq!(summary(&edited)["pagesRead"], 1, "{}", summary(&edited));
    assert_eq!(s.emulator.downloads().len(), downloads, "{}", summary(&edited));
    assert_eq!(attachment_records(&s).await.len(), everywhere);

    // A file taken out of the page takes its records with it; the page going takes the rest.
    let (gone_block, gone_name) = readable[1].clone();
    s.emulator.with_workspace(|ws| {
        ws.pages.get_mut(&page).unwrap().children.retain(|c| *c != gone_block);
        ws.touch(&page);
    });
    let state = sync_with_attachments(&s).await;
    let left = attachment_records(&s).await;
    assert_eq!(left.len(), everywhere - 1, "{}", summary(&state));
    assert!(left.iter().all(|r| r["meta"]["fileName"] != gone_name.as_str()));
    s.emulator.with_workspace(|ws| ws.trash_page(&page));
    sync_with_attachments(&s).await;
    // The page and its subpages are gone (trashing a page takes its subtree), with their files.
    let left = attachment_records(&s).await;
    let live = readable_files(&s, false);
    assert_eq!(left.len(), live, "{left:?}");
    assert!(left.iter().all(|r| r["meta"]["parentPageId"] != page.as_str()));
    // No log line of the whole test, at any level, holds a signed URL.
    let logged = logs.text();
    assert!(
        logged.contains("attachment skipped"),
        "the capture sees the crawler's lines"
    );
    assert!(
        !logged.contains("X-Amz-Signature") && !logged.contains("/files/"),
        "{logged}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expiring_url_is_read_again_and_never_reused_and_s3_refuses_it_after() {
    let s = setup(4, Plan::default(), unlimited()).await;
    let (page, _) = page_with_files(&s);
    // Every URL handed out lives 30 s, less than the margin a download needs.
    s.emulator.set_file_url_lifetime(30);
    let state = sync_with_attachments(&s).await;
    let sum = summary(&state);
    assert_eq!(sum["attachmentsRead"], 0, "{sum}");
    let everywhere = readable_files(&s, true) as u64;
    assert_eq!(sum["attachmentsSkippedByReason"]["expired"], everywhere, "{sum}");
    assert!(s.emulator.downloads().is_empty(), "no URL near its expiry is used");
    // The next sync, with URLs that live an hour, reads them all: an expiry is no lasting skip.
    s.emulator.set_file_url_lifetime(3_600);
    let state = sync_with_attachments(&s).await;
    // The next run reads them all: a page with a file skipped for a passing reason is read again.
    assert_eq!(
        summary(&state)["attachmentsRead"],
        readable_files(&s, false) as u64,
        "{}",
        summary(&state)
    );

    // The emulator serves a URL until it expires, then answers as S3 does.
    s.emulator.set_file_url_lifetime(1);
    let markdown: Value = reqwest::Client::new()
        .get(format!("{}/v1/pages/{page}/markdown", s.notion_url))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Notion-Version", "2026-12-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = markdown["markdown"].as_str().unwrap();
    let at = text.find("src=\"").unwrap() + 5;
    let url = text[at..].split('"').next().unwrap().replace("&amp;", "&");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let late = reqwest::get(&url).await.unwrap();
    assert_eq!(late.status(), 403);
    assert!(late
        .text()
        .await
        .unwrap()
        .contains("<Code>AccessDenied</Code><Message>Request has expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rows_files_property_is_read_like_a_file_block() {
    let s = setup(12, Plan::default(), unlimited()).await;
    let row = s.emulator.with_workspace(|ws| {
        let page = ws.live_pages().into_iter().find(|p| ws.pages[p].in_search).unwrap();
        let (database, _) = ws.add_database(&page, "Contracts", true);
        let row = ws.add_row(&database, "Acme renewal", serde_json::Map::new());
        files::add_row_files(ws, &row, &["Q4 contract.pdf", "Q4 notes.md", "Q4 photo.png"])
    });
    let state = sync_with_attachments(&s).await;
    let of_row = |records: &[Value]| -> Vec<Value> {
        records
            .iter()
            .filter(|r| r["meta"]["parentPageId"] == row.as_str())
            .cloned()
            .collect()
    };
    let records = of_row(&attachment_records(&s).await);
    let names: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|r| r["meta"]["fileName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Q4 contract.pdf", "Q4 notes.md"].into(), "{}", summary(&state));
    for r in &records {
        let text = r["text"].as_str().unwrap();
        for token in files::tokens(&row) {
            assert!(text.contains(&token), "{text:?}");
        }
        assert!(r["meta"].get("blockId").is_none(), "a row's file has no block: {r}");
    }
    // Unchanged: nothing downloaded again; the property emptied: the records go.
    let downloads = s.emulator.downloads().len();
    sync_with_attachments(&s).await;
    assert_eq!(s.emulator.downloads().len(), downloads);
    s.emulator.with_workspace(|ws| {
        ws.pages.get_mut(&row).unwrap().properties.remove("Attachments");
        ws.touch(&row);
    });
    let state = sync_with_attachments(&s).await;
    assert!(of_row(&attachment_records(&s).await).is_empty(), "{}", summary(&state));
}
