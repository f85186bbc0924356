//! The `server` binary: start-up lines on stdout, a real port, health, SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn start(dir: &std::path::Path) -> (Child, Vec<String>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(dir)
        .env_remove("SERVER_ADMIN_PASSWORD")
        .env_remove("SERVER_BIND")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "stdout closed: {lines:?}"
        );
        let line = line.trim().to_string();
        if let Some(addr) = line.strip_prefix("listening on http://") {
            break addr.to_string();
        }
        lines.push(line);
    };
    (child, lines, addr)
}

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "SIGTERM is a clean stop: {exit:?}");
}

#[test]
fn serve_prints_the_first_admin_once_and_the_real_port_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (child, lines, addr) = start(dir.path());
    assert_eq!(lines.len(), 1, "{lines:?}");
    let password = lines[0]
        .strip_prefix("first admin: username=admin password=")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(password.len(), 24);
    assert!(!addr.ends_with(":0"), "{addr}");
    let reply = get(&addr, "/healthz");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"status\":\"ok\""), "{reply}");
    stop(child);
    assert!(dir.path().join("server.db").exists());

    let (child, lines, _) = start(dir.path());
    assert!(
        lines.is_empty(),
        "the admin is printed only once: {lines:?}"
    );
    stop(child);

    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["restore-epoch", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("new feed epoch: "));
}
