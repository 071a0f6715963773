//! The chaos soak at make test's length (`make soak` runs it 10 minutes at 50 events/s): the
//! herald-local binary against fakes failing a fifth of all calls loses nothing and sends nothing
//! twice. The figures are in target/bench/chaos.json.
#[test]
fn faults_at_a_fifth_of_all_calls_lose_nothing_and_send_nothing_twice() {
    let bench = std::path::Path::new(env!("CARGO_BIN_EXE_herald-bench"));
    let local = bench.with_file_name("herald-local");
    assert!(
        local.exists(),
        "{} is built first (make test does)",
        local.display()
    );
    let out = std::process::Command::new(bench)
        .env("HERALD_BENCH_ONLY", "chaos")
        .env("HERALD_BENCH_CHAOS_SECONDS", "12")
        .env("HERALD_BENCH_CHAOS_RATE", "20")
        .env("HERALD_BENCH_WRK_SECONDS", "2")
        .env("HERALD_BENCH_LOCAL_BIN", &local)
        .env(
            "HERALD_BENCH_OUT",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench"),
        )
        .output()
        .expect("herald-bench runs");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    let result: serde_json::Value = serde_json::from_str(&report).expect("the chaos figures");
    assert_eq!(result["error"], serde_json::Value::Null, "{report}");
    assert_eq!(result["events_posted"], 240, "{report}");
    assert!(
        result["faulted_calls"].as_u64() > Some(10),
        "faults were injected: {report}"
    );
    // Sends whose answer was cut off were sent again, and the providers' duplicate checks kept
    // them from arriving twice (the tally below counts what arrived).
    assert!(
        result["suppressed_by_provider"].as_u64() > Some(0),
        "a cut-off answer was resent: {report}"
    );
    assert_eq!(result["settled"], true, "the backlog settled: {report}");
    for part in ["tickets", "pushes"] {
        assert_eq!(result[part]["lost"], 0, "{part}: {report}");
        assert_eq!(result[part]["duplicated"], 0, "{part}: {report}");
        // A fifth of calls failing, each delivery tried 8 times: none should run out of attempts.
        assert_eq!(result[part]["dead"], 0, "{part}: {report}");
        assert!(result[part]["sent"].as_u64() > Some(0), "{part}: {report}");
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
