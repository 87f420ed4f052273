//! Decides which server-backed tests this build runs, so `cargo test` never reports a test as
//! passed that did not run: the PostgreSQL variants need `AITRIAGE_TEST_POSTGRES_URL`; the
//! browser test needs chromedriver, Chromium and axe-core (`AXE_CORE_JS`). Elsewhere they are
//! compiled as ignored (cargo's summary counts them). In CI (`CI` set) they always run, so a
//! missing server fails the run instead of skipping.

use std::path::Path;

fn found(env: &str, candidates: &[&str]) -> bool {
    match std::env::var_os(env) {
        Some(p) => Path::new(&p).exists(),
        None => candidates.iter().any(|c| Path::new(c).exists()),
    }
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(aitriage_postgres)");
    println!("cargo::rustc-check-cfg=cfg(aitriage_browser)");
    for var in [
        "CI",
        "AITRIAGE_TEST_POSTGRES_URL",
        "CHROMEDRIVER",
        "CHROME_BIN",
        "AXE_CORE_JS",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let ci = std::env::var_os("CI").is_some();
    if ci || std::env::var_os("AITRIAGE_TEST_POSTGRES_URL").is_some() {
        println!("cargo::rustc-cfg=aitriage_postgres");
    }
    let browser = found(
        "CHROMEDRIVER",
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
    ) && found(
        "CHROME_BIN",
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    ) && found("AXE_CORE_JS", &[]);
    if ci || browser {
        println!("cargo::rustc-cfg=aitriage_browser");
    }
}
