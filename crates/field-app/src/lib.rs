//! The browser field app, as files to serve at `/app/`.
//!
//! The build script (`build.rs`) compiles `crates/sync-web` (the device core with its
//! wasm-bindgen exports) for `wasm32-unknown-unknown`, runs wasm-bindgen on it, and
//! embeds the result under `pkg/` beside the pages of `mobile/web/`. Every file is kept
//! as it is and gzipped, so the server sends the smaller one to browsers that take it.
//! [`BUILD_ID`], a hash of every file, names the service worker's cache: a new build
//! replaces the cached app on the phones at their next visit.

/// One file of the app.
#[derive(Debug)]
pub struct AppFile {
    /// Its path under `/app/` (`index.html`, `pkg/sync_web_bg.wasm`).
    pub path: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
    /// Its bytes, gzipped.
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/files.rs"));

/// The file at `path` under `/app/` (an empty path is `index.html`).
pub fn file(path: &str) -> Option<&'static AppFile> {
    let path = if path.is_empty() { "index.html" } else { path };
    FILES.iter().find(|f| f.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_has_its_page_worker_and_core() {
        for path in ["index.html", "sw.js", "worker.js", "manifest.webmanifest"] {
            assert!(file(path).is_some(), "{path} is missing");
        }
        if BUILT {
            let wasm = file("pkg/sync_web_bg.wasm").expect("the core's wasm");
            assert_eq!(&wasm.bytes[..4], b"\0asm");
            assert_eq!(wasm.content_type, "application/wasm");
            assert!(file("pkg/sync_web.js").is_some());
        }
        assert_eq!(file("").map(|f| f.path), Some("index.html"));
        assert!(file("../Cargo.toml").is_none());
    }

    #[test]
    fn the_service_worker_names_its_cache_after_the_build() {
        let sw = std::str::from_utf8(file("sw.js").unwrap().bytes).unwrap();
        assert!(!sw.contains("__BUILD_ID__"));
        assert!(sw.contains(BUILD_ID));
        assert_eq!(BUILD_ID.len(), 16);
    }

    #[test]
    fn gzip_holds_the_same_bytes() {
        use std::io::Read;
        for f in FILES {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(f.gzip)
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, f.bytes, "{}", f.path);
        }
    }
}
