//! The layering ARCHITECTURE.md promises, read from the sources: no import circle between the
//! modules of the store adapters or of the core, the domain never reaching for the ports, and each
//! Lambda `main` only wiring.
//!
//! A module's imports are the `crate::…` and `super::…` paths in its file outside `#[cfg(test)]`
//! (tests may reach anywhere); a path counts as an edge to the longest module it names. A module
//! reaching its own ancestor (`super::` from a submodule) is one unit with it and not counted.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files
}

/// Every module of the crate whose sources are in `src`, by path (`dynamo_runs`, `domain::task`).
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    rust_files(src)
        .into_iter()
        .map(|file| {
            let relative = file
                .strip_prefix(src)
                .expect("under src")
                .with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            (parts.join("::"), file)
        })
        .collect()
}

/// The paths after each `crate::` or `super::` in `code`, as segments.
fn paths(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut found = Vec::new();
    for (start, keyword) in code
        .match_indices("crate::")
        .map(|(i, _)| (i, true))
        .chain(code.match_indices("super::").map(|(i, _)| (i, false)))
    {
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        // `crate::` and `super::` are both seven characters.
        let rest = &code[start + 7..];
        let mut segments = Vec::new();
        let mut tail = rest;
        loop {
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if end == 0 {
                break;
            }
            segments.push(tail[..end].to_owned());
            match tail[end..].strip_prefix("::") {
                Some(next) => tail = next,
                None => {
                    // `crate::{a, b::c}`: each name of the group is a path of its own.
                    break;
                }
            }
        }
        if segments.is_empty()
            && let Some(group) = rest.strip_prefix('{')
        {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for name in group.split(',') {
                let first = name.trim().split("::").next().unwrap_or("").to_owned();
                if !first.is_empty() {
                    found.push((keyword, vec![first]));
                }
            }
            continue;
        }
        found.push((keyword, segments));
    }
    found
}

/// Module → the modules it imports.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("read source");
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let own: Vec<String> = if module.is_empty() {
            Vec::new()
        } else {
            module.split("::").map(str::to_owned).collect()
        };
        let edges = graph.entry(module.clone()).or_default();
        for (from_crate, segments) in paths(code) {
            let candidate: Vec<String> = if from_crate {
                segments
            } else {
                let parent = &own[..own.len().saturating_sub(1)];
                parent.iter().cloned().chain(segments).collect()
            };
            let named = (1..=candidate.len())
                .rev()
                .map(|k| candidate[..k].join("::"))
                .find(|name| modules.contains_key(name));
            if let Some(named) = named
                && named != *module
                && !module.starts_with(&format!("{named}::"))
            {
                edges.insert(named);
            }
        }
    }
    graph
}

/// The import circles (strongly connected sets of more than one module), each sorted.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(at) = todo.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|m| (m, reaches(m))).collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for module in graph.keys() {
        let circle: Vec<String> = graph
            .keys()
            .filter(|other| reach[module].contains(*other) && reach[*other].contains(module))
            .cloned()
            .collect();
        if circle.len() > 1 {
            found.insert(circle);
        }
    }
    found.into_iter().collect()
}

#[test]
fn the_checker_finds_a_circle_and_reads_grouped_imports() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_owned(), to.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(circles(&graph), [vec!["a", "b", "c"]]);
    let found = paths("use crate::{codec::s, keys};\nlet x = super::run::RunId::new();");
    assert_eq!(
        found,
        [
            (true, vec!["codec".to_owned()]),
            (true, vec!["keys".to_owned()]),
            (false, vec!["run".into(), "RunId".into(), "new".into()]),
        ]
    );
}

#[test]
fn the_store_adapters_and_the_core_have_no_import_circle() {
    for crate_src in ["shared/aws/src", "shared/embedded/src", "shared/core/src"] {
        let graph = imports(&root().join(crate_src));
        assert!(graph.len() > 5, "{crate_src}: modules found: {graph:?}");
        assert_eq!(
            circles(&graph),
            Vec::<Vec<String>>::new(),
            "{crate_src} has import circles"
        );
    }
}

/// Every other crate that ships has none either (the provider fakes are test code).
#[test]
fn no_shipped_crate_has_an_import_circle() {
    let crates: Vec<PathBuf> = std::fs::read_dir(root().join("shared"))
        .expect("shared")
        .flatten()
        .filter(|entry| entry.file_name() != "fakes")
        .map(|entry| entry.path().join("src"))
        .filter(|src| src.is_dir())
        .collect();
    assert!(crates.len() >= 10, "crates found: {crates:?}");
    for crate_src in &crates {
        assert_eq!(
            circles(&imports(crate_src)),
            Vec::<Vec<String>>::new(),
            "{} has import circles",
            crate_src.display()
        );
    }
}

#[test]
fn the_domain_does_not_import_the_ports_or_the_services() {
    let graph = imports(&root().join("shared/core/src"));
    let upward: Vec<(&String, &String)> = graph
        .iter()
        .filter(|(module, _)| module.starts_with("domain"))
        .flat_map(|(module, to)| to.iter().map(move |t| (module, t)))
        .filter(|(_, to)| to.starts_with("ports") || to.starts_with("services"))
        .collect();
    assert!(upward.is_empty(), "domain modules reach up: {upward:?}");
}

/// The report's pure logic (figures, numbers, exception control, rendering) reaches only the
/// domain, so adapters can use it without the services.
#[test]
fn the_report_logic_imports_only_the_domain() {
    let graph = imports(&root().join("shared/core/src"));
    let outside: Vec<(&String, &String)> = graph
        .iter()
        .filter(|(module, _)| module.starts_with("report"))
        .flat_map(|(module, to)| to.iter().map(move |t| (module, t)))
        .filter(|(_, to)| !to.starts_with("domain") && !to.starts_with("report"))
        .collect();
    assert!(outside.is_empty(), "report modules reach out: {outside:?}");
}

/// Runs are written by the ledger alone: a push and a ticket event go through its public calls
/// (`record_new`), so no other core module writes a run, its deliveries or its claim.
#[test]
fn only_the_run_ledger_writes_runs() {
    let core = root().join("shared/core/src");
    let ledger = core.join("services/runs/ledger.rs");
    let writers: Vec<PathBuf> = rust_files(&core.join("services"))
        .into_iter()
        .filter(|f| *f != ledger)
        .filter(|f| {
            let text = std::fs::read_to_string(f).expect("source");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            [".write_run(", ".add_deliveries(", ".claim_run("]
                .iter()
                .any(|call| code.contains(call))
        })
        .collect();
    assert!(
        writers.is_empty(),
        "modules other than the ledger write runs: {writers:?}"
    );
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    assert!(text.contains("pub async fn record_new("));
}

#[test]
fn each_lambda_main_is_wiring_in_at_most_ten_lines() {
    for function in ["task-api", "trigger", "delivery", "ticket-webhook"] {
        let main = root().join(format!("functions/{function}/src/main.rs"));
        let text = std::fs::read_to_string(&main).expect("main.rs");
        let lines = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
            .count();
        assert!(lines <= 10, "{function}'s main is {lines} lines:\n{text}");
        assert!(
            text.contains("AwsConfig::from_env()"),
            "{function} builds from the one AWS configuration"
        );
    }
}

/// Files a newcomer can read at once: no Rust file in `shared/` over 600 lines, except data
/// tables (the console's message catalogue).
#[test]
fn no_shared_file_is_over_six_hundred_lines() {
    const DATA_TABLES: [&str; 1] = ["shared/console/src/i18n.rs"];
    let files = rust_files(&root().join("shared"));
    assert!(files.len() > 100, "found {} files", files.len());
    let long: Vec<(String, usize)> = files
        .iter()
        .map(|f| {
            let name = f
                .strip_prefix(root())
                .expect("under the root")
                .to_string_lossy()
                .into_owned();
            let lines = std::fs::read_to_string(f).expect("read").lines().count();
            (name, lines)
        })
        .filter(|(name, lines)| *lines > 600 && !DATA_TABLES.contains(&name.as_str()))
        .collect();
    assert!(long.is_empty(), "files over 600 lines: {long:?}");
}

/// The store contracts run every case they define: a case is a `pub async fn` taking the store
/// (`Arc<S>`), and each runs on both stores only if its macro lists it — a case left off would
/// never run and nobody would notice.
#[test]
fn every_contract_case_is_listed_in_its_macro() {
    // (file, macro, the fewest cases it has: a check that the cases are found at all)
    for (file, macro_name, fewest) in [
        ("tests/src/contract.rs", "store_contract", 6),
        ("tests/src/ledger.rs", "ledger_contract", 6),
        ("tests/src/quota_contract.rs", "quota_contract", 2),
    ] {
        let text = std::fs::read_to_string(root().join(file)).expect("read contract");
        // Cases are top-level functions (a line of their own, not a method).
        let defined: BTreeSet<String> = text
            .match_indices("\npub async fn ")
            .filter_map(|(at, found)| {
                let rest = &text[at + found.len()..];
                let signature = &rest[..rest.find('{').unwrap_or(rest.len())];
                let name_end = signature.find(['<', '('])?;
                signature
                    .contains("Arc<S>")
                    .then(|| signature[..name_end].to_owned())
            })
            .collect();
        let body = &text[text
            .find(&format!("macro_rules! {macro_name}"))
            .expect("the macro")..];
        let list = body
            .split_once("@cases $make;")
            .and_then(|(_, rest)| rest.split_once(");"))
            .map(|(list, _)| list)
            .expect("the macro's case list");
        let listed: BTreeSet<String> = list
            .split(',')
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .collect();
        assert!(defined.len() >= fewest, "{file}: cases found: {defined:?}");
        assert_eq!(
            defined.difference(&listed).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "{file}: cases {macro_name}! does not run"
        );
        assert_eq!(
            listed.difference(&defined).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "{file}: {macro_name}! lists what is not a case"
        );
    }
}
