//! The batch journey in a real headless Chromium against the real binary, with JavaScript
//! on and off: upload a vendor's seed file, read the preview (one line refused), add the
//! tokens, fix the refused line by hand, assign users by pasting a list, and download the
//! Entra CSV and the Graph JSON. Every page is checked for console errors, CSP violations,
//! foreign requests and seeds in URLs, and passes axe-core.

use crate::support::browser::{Browser, start_journey};

const CSV_HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model\r\n";

/// 20 bytes, all `n`: (hex, base32).
fn seed(n: u8) -> (String, String) {
    let bytes = [n; 20];
    (
        data_encoding::HEXLOWER.encode(&bytes),
        data_encoding::BASE32_NOPAD.encode(&bytes),
    )
}

/// Uploads `path` with the batch page's `import` or `assign` form; returns its preview.
async fn upload_for_preview(b: &Browser, form: &str, path: &std::path::Path) -> String {
    let action = if form == "import" { "import" } else { "users" };
    b.upload(
        &format!("#{form}-file"),
        path,
        &format!("form[action='/csv/{action}'] button[type=submit]"),
    )
    .await;
    b.text(&format!("#{form}-preview")).await
}

async fn journey(javascript: bool) {
    let (_journey, origin, b) = start_journey(&[], javascript, "/csv").await;
    let seeds: Vec<(String, String)> = (1..=4).map(seed).collect();
    let secrets: Vec<&str> = seeds
        .iter()
        .flat_map(|(h, b)| [h.as_str(), b.as_str()])
        .collect();

    // A Token2 file as Excel saves it: BOM, `;`, hex seeds, no upn; line 4's seed is cut.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token2-seeds.csv");
    let file = format!(
        "\u{feff}Serial Number;Secret Key;Time Interval;Manufacturer;Model\r\n\
         00012345;{};30;Token2;C202\r\n\
         00012346;{};30;Token2;C202\r\n\
         00012347;{};30;Token2;C202\r\n\
         00012348;{};30;Token2;C202\r\n",
        seeds[0].0,
        seeds[1].0,
        &seeds[2].0[..6],
        seeds[3].0
    );
    std::fs::write(&path, file).unwrap();

    let preview = upload_for_preview(&b, "import", &path).await;
    assert!(preview.contains("3 tokens ready"), "{preview}");
    assert!(preview.contains("seeds read as hex"), "{preview}");
    let refused = b.text("#import-refused").await;
    assert!(refused.contains("4 secret key"), "{refused}");
    b.check_page(&origin, &secrets, "the batch page with an import preview")
        .await;
    b.submit("/csv/import/add", "Added 3 tokens to the batch.")
        .await;

    // The refused line, fixed by hand: its full seed typed, no user yet. Manufacturer and
    // model are already there from the file's last token.
    assert_eq!(
        b.find("#row-model").await.prop("value").await.unwrap(),
        Some("C202".into())
    );
    b.fill("#row-serial", "00012347").await;
    b.fill("#row-secret", &seeds[2].1).await;
    b.submit("/csv/rows", "Added serial 00012347 (no user yet) as row 4.")
        .await;

    // Users by pasting: given in serial order to the tokens without one.
    b.fill(
        "#assign-users",
        "alice@contoso.com\nbob@contoso.com\ncarol@contoso.com\ndave@contoso.com",
    )
    .await;
    b.click_and_load("form[action='/csv/users'] button[type=submit]")
        .await;
    let preview = b.text("#assign-preview").await;
    assert!(
        preview.contains("4 assignments ready, 0 lines refused"),
        "{preview}"
    );
    b.check_page(
        &origin,
        &secrets,
        "the batch page with an assignment preview",
    )
    .await;
    b.submit("/csv/users/apply", "Assigned 4 users.").await;
    b.check_page(&origin, &secrets, "the batch page with assigned tokens")
        .await;
    b.screenshots(if javascript { "batch" } else { "batch-nojs" })
        .await;

    b.click("a[href='/csv/download']").await;
    let csv = String::from_utf8(b.wait_download("entra-oath-tokens.csv").await).unwrap();
    assert_eq!(
        csv,
        format!(
            "{CSV_HEADER}alice@contoso.com,00012345,{},30,Token2,C202\r\n\
             bob@contoso.com,00012346,{},30,Token2,C202\r\n\
             dave@contoso.com,00012348,{},30,Token2,C202\r\n\
             carol@contoso.com,00012347,{},30,Token2,C202\r\n",
            seeds[0].1, seeds[1].1, seeds[3].1, seeds[2].1
        )
    );
    b.click("a[href='/csv/graph.json']").await;
    let json = b.wait_download("hardware-oath-devices.json").await;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["@context"], "#$delta");
    let serials: Vec<&str> = json["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["serialNumber"].as_str().unwrap())
        .collect();
    assert_eq!(serials, ["00012345", "00012346", "00012348", "00012347"]);
    b.assert_clean(&origin, &secrets).await;

    // Bob leaves: his token goes to erin, by a `serial,upn` file uploaded on the same form.
    let users = dir.path().join("moves.csv");
    std::fs::write(&users, "serial,upn\r\n00012346,erin@contoso.com\r\n").unwrap();
    let preview = upload_for_preview(&b, "assign", &users).await;
    assert!(
        preview.contains("1 assignment ready, 0 lines refused")
            && preview.contains("erin@contoso.com"),
        "{preview}"
    );
    b.click_and_load("form[action='/csv/users/apply'] button[type=submit]")
        .await;
    let (notice, nav) = (b.text("main > .notice.ok").await, b.text("nav").await);
    assert!(notice.contains("Assigned 1 user."), "{notice}");
    assert!(nav.contains("Batch 4 tokens"), "{nav}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_from_a_vendor_file_with_javascript() {
    journey(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_from_a_vendor_file_without_javascript() {
    journey(false).await;
}
