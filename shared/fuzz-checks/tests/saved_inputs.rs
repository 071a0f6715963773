//! Every input kept for the fuzz targets, run through its check: the seeds in `fuzz/seeds/<target>/`
//! and every input that once failed, in `fuzz/regressions/<target>/` (a crash `cargo fuzz` finds
//! is copied there, and stays a test).
use std::path::Path;

#[test]
fn every_saved_input_passes_its_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut ran = 0;
    for (target, check) in herald_fuzz_checks::TARGETS {
        let mut inputs = 0;
        for folder in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(folder).join(target)) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("a directory entry").path();
                let data = std::fs::read(&path).expect("a saved input");
                check(&data);
                inputs += 1;
            }
        }
        assert!(inputs > 0, "{target} has no saved inputs");
        ran += inputs;
    }
    println!("{ran} saved inputs passed");
}

/// The fuzz crate's targets (`fuzz/fuzz_targets/*.rs`, which `make soak` runs) are the ones
/// checked here: a new target without a check (or the reverse) fails.
#[test]
fn every_fuzz_target_has_its_check() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    let mut targets: Vec<String> = std::fs::read_dir(folder)
        .expect("fuzz/fuzz_targets")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .collect();
    targets.sort();
    let mut checked: Vec<String> = herald_fuzz_checks::TARGETS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    checked.sort();
    assert_eq!(targets, checked);
}
