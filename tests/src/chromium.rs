//! Debian's headless Chromium driven through chromedriver (WebDriver, with fantoccini),
//! for the scenarios that use the staff pages and the field app in a real browser:
//! the driver process, a browser session, screenshots, waiting for elements, and the
//! Chromium-only commands the field app's tests need (network emulation, CDP).

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process on a free loopback port, killed (with the browsers it
/// started, in its process group) on drop.
pub struct Chromedriver {
    child: Child,
    url: String,
}

/// How a browser session starts.
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// Where downloads are saved.
    pub downloads: Option<PathBuf>,
    /// The browser's profile directory: a second session on the same directory is
    /// the same browser restarted (its storage, its service workers).
    pub profile: Option<PathBuf>,
    /// A phone's screen (360 × 740 CSS pixels, touch) instead of a 1280 × 1000 window.
    pub phone: bool,
    /// More command-line switches for Chromium (`--host-resolver-rules=...`).
    pub args: Vec<String>,
}

impl Chromedriver {
    /// Start chromedriver, logging to `log`.
    pub fn start(log: &Path) -> Chromedriver {
        assert!(
            Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
            "this test drives Chromium through chromedriver: install them with \
             `apt-get install chromium chromium-driver` (.ci/run does)"
        );
        let free = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        wait_until("chromedriver listening", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A headless browser session.
    pub async fn browser(&self, options: &BrowserOptions) -> Client {
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-dev-shm-usage".into(),
        ];
        if !options.phone {
            args.push("--window-size=1280,1000".into());
        }
        if let Some(profile) = &options.profile {
            args.push(format!("--user-data-dir={}", profile.display()));
        }
        args.extend(options.args.iter().cloned());
        let mut chrome = json!({"binary": CHROMIUM, "args": args});
        if let Some(downloads) = &options.downloads {
            chrome["prefs"] = json!({"download.default_directory": downloads,
                                     "download.prompt_for_download": false});
        }
        if options.phone {
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2.0, "touch": true},
                "userAgent": "Mozilla/5.0 (Linux; Android 12; Moto G) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36",
            });
        }
        let caps = json!({"goog:chromeOptions": chrome});
        ClientBuilder::native()
            .capabilities(caps.as_object().unwrap().clone())
            .connect(&self.url)
            .await
            .expect("a Chromium session through chromedriver")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole process group: chromedriver and the Chromium it started.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// Screenshots in a directory of the target directory, numbered in the order taken.
pub struct Screenshots {
    dir: PathBuf,
    taken: Vec<PathBuf>,
}

impl Screenshots {
    /// Screenshots in `<target>/<name>/` (emptied first). A test passes its
    /// `env!("CARGO_TARGET_TMPDIR")`, whose parent is the target directory.
    pub fn new(target_tmpdir: &str, name: &str) -> Screenshots {
        let target = Path::new(target_tmpdir).parent().unwrap();
        let dir = target.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Screenshots {
            dir,
            taken: Vec::new(),
        }
    }

    /// Save what `c` shows as the next screenshot, named `name`.
    pub async fn take(&mut self, c: &Client, name: &str) {
        let path = (self.dir).join(format!("{:02}-{name}.png", self.taken.len() + 1));
        std::fs::write(&path, c.screenshot().await.unwrap()).unwrap();
        self.taken.push(path);
    }

    /// Check that every screenshot is a PNG with something in it.
    pub fn assert_all_png(&self) {
        assert!(!self.taken.is_empty(), "no screenshot was taken");
        for path in &self.taken {
            let png = std::fs::read(path).unwrap();
            let png = png.len() > 1000 && png.starts_with(b"\x89PNG\r\n\x1a\n");
            assert!(png, "{} is no PNG", path.display());
        }
    }

    /// The directory they are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The first element matching `css`, waiting up to 20 s for it to appear (pages load
/// after clicks and submits).
pub async fn find(c: &Client, css: &str) -> Element {
    let found = c.wait().at_most(Duration::from_secs(20));
    match found.for_element(Locator::Css(css)).await {
        Ok(element) => element,
        Err(e) => {
            let shown = c
                .execute(
                    "const m = document.querySelector('main') || document.body;
                     return (m.dataset.screen || '') + ': ' + m.innerText.slice(0, 600);",
                    vec![],
                )
                .await
                .unwrap_or_default();
            panic!(
                "no `{css}` on {}: {e}; the page shows {shown}",
                c.current_url().await.unwrap()
            )
        }
    }
}

/// Type `value` into the input matching `css` (waiting for it), replacing what it
/// held. A page that redraws the input while it is typed into (the field app
/// re-renders a question as its answer is saved) is typed into again.
pub async fn type_into(c: &Client, css: &str, value: &str) {
    for _ in 0..5 {
        let input = find(c, css).await;
        let typed = match input.clear().await {
            Ok(()) => input.send_keys(value).await,
            Err(e) => Err(e),
        };
        match typed {
            Ok(()) => {
                let now = c
                    .execute(
                        "const e = document.querySelector(arguments[0]); return e && e.value;",
                        vec![json!(css)],
                    )
                    .await
                    .unwrap();
                if now == json!(value) {
                    return;
                }
            }
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference => {}
            Err(e) => panic!("typing into `{css}`: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("`{css}` never held {value:?}");
}

/// Fill the fields of the form matching `form` (text inputs typed, selects chosen by
/// value), then press its submit button.
pub async fn submit(c: &Client, form: &str, fields: &[(&str, &str)]) {
    fill(c, form, fields).await;
    click(c, &format!("{form} button[type=submit]")).await;
}

/// Fill the fields of the form matching `form`: text inputs typed, selects chosen by
/// value.
async fn fill(c: &Client, form: &str, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        let css = format!("{form} [name=\"{name}\"]");
        let tag = find(c, &css).await.tag_name().await.unwrap();
        if tag == "select" {
            select(c, &css, value).await;
        } else {
            type_into(c, &css, value).await;
        }
    }
}

/// Choose the option whose value is `value` in the select matching `css` (waiting
/// for it).
pub async fn select(c: &Client, css: &str, value: &str) {
    let select = find(c, css).await;
    select
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("choosing {value:?} in `{css}`: {e}"));
}

/// Every element matching `css` now.
pub async fn all(c: &Client, css: &str) -> Vec<Element> {
    c.find_all(Locator::Css(css)).await.unwrap()
}

/// Open `url`.
pub async fn goto(c: &Client, url: &str) {
    c.goto(url).await.unwrap();
}

/// Click the first element matching `css` (waiting for it). An element the page
/// redrew between finding and clicking (a sync finishing redraws the screen) is found
/// again.
pub async fn click(c: &Client, css: &str) {
    for _ in 0..5 {
        match find(c, css).await.click().await {
            Ok(_) => return,
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference =>
            {
                continue
            }
            Err(e) => panic!("clicking `{css}`: {e}"),
        }
    }
    panic!("`{css}` kept being redrawn");
}

/// Click the first element matching `css` (a form's submit button, a link) and wait
/// up to 20 s for the next page to load: a step that goes on at once may otherwise
/// read the old page, or navigate away while the submitted form is still on its way
/// (and so cancel it).
pub async fn click_and_load(c: &Client, css: &str) {
    c.execute("window.__beforeClick = true;", vec![])
        .await
        .unwrap();
    click(c, css).await;
    let started = Instant::now();
    loop {
        // A page mid-navigation may refuse scripts: that is "not loaded yet".
        let loaded = c
            .execute(
                "return document.readyState === 'complete' && !window.__beforeClick;",
                vec![],
            )
            .await
            .ok();
        if loaded == Some(json!(true)) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "clicking `{css}` loaded no new page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`submit`], then wait for the page the form leads to ([`click_and_load`]).
pub async fn submit_and_load(c: &Client, form: &str, fields: &[(&str, &str)]) {
    fill(c, form, fields).await;
    click_and_load(c, &format!("{form} button[type=submit]")).await;
}

/// The trimmed text of the first element matching `css` (waiting for it). Read in the
/// page, so that an element redrawn between finding and reading is read as it is now.
pub async fn text(c: &Client, css: &str) -> String {
    find(c, css).await;
    let read = c
        .execute(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
            vec![json!(css)],
        )
        .await
        .unwrap();
    match read.as_str() {
        Some(text) => text.trim().to_string(),
        None => panic!("`{css}` went away on {}", c.current_url().await.unwrap()),
    }
}

/// The trimmed text of the first element matching `css` once `want` holds for it,
/// waiting up to 20 s: after a click that submits a form, the old page answers until
/// the new one has loaded.
pub async fn text_when(c: &Client, css: &str, want: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let now = text(c, css).await;
        if want(&now) {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "`{css}` still reads {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait up to 20 s for `ready`.
pub fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < Duration::from_secs(20), "no {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A Chromium-only WebDriver command: `POST /session/{id}/{path}` with `body`.
#[derive(Debug)]
struct ChromiumCommand {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for ChromiumCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/{}", self.path))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Cut the browser off the network (`offline`), or give it back, as Chromium's
/// DevTools network emulation does: requests fail as they do on a phone without
/// signal.
pub async fn set_offline(c: &Client, offline: bool) {
    let conditions = json!({"network_conditions": {
        "offline": offline, "latency": 0,
        "download_throughput": -1, "upload_throughput": -1,
    }});
    c.issue_cmd(ChromiumCommand {
        path: "chromium/network_conditions",
        body: conditions,
    })
    .await
    .expect("network emulation");
}

/// Run a Chrome DevTools Protocol command on the page (`Emulation.setCPUThrottlingRate`).
pub async fn cdp(c: &Client, command: &str, params: Value) -> Value {
    c.issue_cmd(ChromiumCommand {
        path: "goog/cdp/execute",
        body: json!({"cmd": command, "params": params}),
    })
    .await
    .unwrap_or_else(|e| panic!("{command}: {e}"))
}
