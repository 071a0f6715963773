//! The embedded font is fetched (with its checksum) by `scripts/fetch-font.sh` when it is not in
//! `fonts/` yet, so a plain `cargo build` works on a fresh clone.
use std::path::Path;
use std::process::Command;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let font = Path::new(&manifest).join("fonts/wqy-microhei.ttc");
    println!("cargo:rerun-if-changed={}", font.display());
    if font.exists() {
        return;
    }
    let script = Path::new(&manifest).join("../../scripts/fetch-font.sh");
    let status = Command::new("bash").arg(&script).arg(&font).status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!(
            "the embedded font {} is missing and {} failed ({other:?}); run it by hand",
            font.display(),
            script.display()
        ),
    }
}
