//! HTTPS end to end (issue 18, item 16): a server process serving TLS itself with a
//! certificate from a test certificate authority; two phones' sync clients, given that
//! CA, push a household and pull it; a client not given the CA refuses the server at
//! once and keeps its outbox; the staff pages' cookies carry `Secure`, and the
//! enrollment page shows `--public-url` rather than the address the browser used.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scenarios::device::{all_records, device, test_config};
use scenarios::server::{TestServer, ADMIN_PASSWORD};
use server::auth::Role;
use sync_core::sync::{CancellationToken, NoProgress, SyncClient, SyncConfig, SyncError};
use sync_core::{Answers, Commit, RecordKind, Scope};

/// A test CA and a server certificate it signed for 127.0.0.1 and localhost, as PEM.
struct TestPki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn test_pki() -> TestPki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "c2c test certificate authority");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// Start a server on HTTPS with the PKI's certificate (and `extra` arguments).
fn start_https(dir: &Path, pki: &TestPki, extra: &[&str]) -> TestServer {
    std::fs::create_dir_all(dir).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, &pki.cert_pem).unwrap();
    std::fs::write(&key, &pki.key_pem).unwrap();
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let mut args = vec!["--tls-cert", &cert, "--tls-key", &key];
    args.extend_from_slice(extra);
    TestServer::start_with(&dir.join("data"), "127.0.0.1:0", "warn", &args)
}

fn scope() -> Scope {
    Scope::partnership("p1").with_neighborhood("east")
}

/// A client configuration that trusts the test CA.
fn trusting(pki: &TestPki) -> SyncConfig {
    SyncConfig {
        extra_root_certificates_pem: Some(pki.ca_pem.clone()),
        ..test_config()
    }
}

/// A plain HTTP client (for the staff pages) that trusts the test CA and keeps
/// redirects for the test to see.
fn browser(pki: &TestPki) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pki.ca_pem.as_bytes()) {
        let cert: rustls::pki_types::CertificateDer<'static> = cert.unwrap();
        roots.add(cert).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_phones_sync_over_https_with_a_test_ca_and_an_untrusting_phone_refuses_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let pki = test_pki();
    let server = start_https(dir.path(), &pki, &[]);
    let url = server.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let storage = server.storage();
    let ana = storage
        .create_user("ana", "ana-password", Role::OutreachWorker, Some(&scope()))
        .unwrap();
    storage
        .create_user("ben", "ben-password", Role::OutreachWorker, Some(&scope()))
        .unwrap();
    drop(storage);
    let cancel = CancellationToken::new();

    // Both phones sign in over HTTPS, trusting the test CA.
    let sign_in = |user: &'static str| {
        let config = trusting(&pki);
        let url = url.clone();
        async move {
            SyncClient::new(&url, "", config)
                .unwrap()
                .sign_in(
                    user,
                    &format!("{user}-password"),
                    "phone",
                    &CancellationToken::new(),
                )
                .await
                .unwrap()
                .token
        }
    };
    let ana_token = sign_in("ana").await;
    let ben_token = sign_in("ben").await;

    // Ana records a household and pushes it; Ben pulls it.
    let phone_a = device(dir.path(), "a");
    let mut answers = Answers::new();
    answers
        .set("name", "Familia Rivera")
        .set("address", "12 Elm St");
    let id = phone_a
        .lock()
        .unwrap()
        .create(
            RecordKind::Household,
            scope(),
            None,
            &answers,
            &Commit::new(&ana, "Enrolled"),
        )
        .unwrap();
    let pushed = SyncClient::new(&url, &ana_token, trusting(&pki))
        .unwrap()
        .sync(&phone_a, &NoProgress, &cancel)
        .await
        .unwrap();
    assert_eq!(pushed.pushed, 1, "{pushed:?}");
    assert_eq!(server.count("records"), 1);
    let phone_b = device(dir.path(), "b");
    let pulled = SyncClient::new(&url, &ben_token, trusting(&pki))
        .unwrap()
        .sync(&phone_b, &NoProgress, &cancel)
        .await
        .unwrap();
    assert!(pulled.pulled >= 1, "{pulled:?}");
    let on_b = all_records(&phone_b);
    assert!(on_b.iter().any(|r| r.meta.id == id), "{on_b:?}");
    assert_eq!(
        phone_b.lock().unwrap().fields(id).unwrap().value("name"),
        answers.value("name")
    );

    // A phone not given the CA refuses the server at once (no retries) and says why.
    let started = Instant::now();
    let refused = SyncClient::new(&url, "", test_config())
        .unwrap()
        .sign_in("ana", "ana-password", "phone", &cancel)
        .await;
    match refused {
        Err(SyncError::Offline { attempts: 1, last }) => {
            assert!(last.contains("certificate"), "{last}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Its outbox is kept: a change made on Ana's phone stays until a trusted sync.
    phone_a
        .lock()
        .unwrap()
        .set(
            id,
            &sync_core::record::FieldPath::field("phone"),
            "555-0101",
            &Commit::new(&ana, "Phone number"),
        )
        .unwrap();
    let waiting = phone_a.lock().unwrap().outbox_len().unwrap();
    assert!(waiting >= 1);
    let untrusted = SyncClient::new(&url, &ana_token, test_config())
        .unwrap()
        .sync(&phone_a, &NoProgress, &cancel)
        .await;
    assert!(
        matches!(untrusted, Err(SyncError::Offline { .. })),
        "{untrusted:?}"
    );
    assert_eq!(phone_a.lock().unwrap().outbox_len().unwrap(), waiting);
    let later = SyncClient::new(&url, &ana_token, trusting(&pki))
        .unwrap()
        .sync(&phone_a, &NoProgress, &cancel)
        .await
        .unwrap();
    assert_eq!(later.pushed, waiting as u64);

    // Plain HTTP to the HTTPS port gets no answer a client could take for one.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", server.addr))
        .send()
        .await;
    assert!(
        plain.as_ref().map_or(true, |r| !r.status().is_success()),
        "{plain:?}"
    );
    assert!(!server.log_has_panic());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_cookies_are_secure_and_the_enrollment_page_shows_the_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let pki = test_pki();
    let server = start_https(
        dir.path(),
        &pki,
        &["--public-url", "https://survey.example.org/"],
    );
    let url = server.url();
    let storage = server.storage();
    let ana = storage
        .create_user("ana", "ana-password", Role::OutreachWorker, Some(&scope()))
        .unwrap();
    drop(storage);
    let web = browser(&pki);

    // The sign-in page's cookie, then the session's: both `Secure`.
    let page = web.get(format!("{url}/sign-in")).send().await.unwrap();
    let login = set_cookies(&page);
    assert!(!login.is_empty());
    assert!(login.iter().all(|c| c.contains("; Secure")), "{login:?}");
    let login_pair = cookie_pair(&login[0]);
    let csrf = hidden_csrf(&page.text().await.unwrap());
    let signed_in = web
        .post(format!("{url}/sign-in"))
        .header("cookie", &login_pair)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={csrf}&username=admin&password={ADMIN_PASSWORD}"
        ))
        .send()
        .await
        .unwrap();
    assert!(
        signed_in.status().is_redirection(),
        "{}",
        signed_in.status()
    );
    let cookies = set_cookies(&signed_in);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("c2c_session="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(session.contains("; Secure"), "{session}");
    assert!(session.contains("HttpOnly"), "{session}");
    let session_pair = cookie_pair(session);

    // The enrollment page names the public URL, not 127.0.0.1.
    let users = web
        .get(format!("{url}/users"))
        .header("cookie", &session_pair)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_csrf(&users);
    let enroll = web
        .post(format!("{url}/users/{ana}/enroll"))
        .header("cookie", &session_pair)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert!(enroll.status().is_success(), "{}", enroll.status());
    let page = enroll.text().await.unwrap();
    assert!(
        page.contains("<code>https://survey.example.org</code>"),
        "{page}"
    );
    assert!(!page.contains("127.0.0.1"), "{page}");
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// `name=value` of a `Set-Cookie` line.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_string()
}

/// The first form's hidden CSRF token on a page.
fn hidden_csrf(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}
