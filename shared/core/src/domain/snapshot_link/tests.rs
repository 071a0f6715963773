use super::*;

fn link() -> SnapshotLink {
    SnapshotLink {
        project: ProjectId::parse("payments".to_owned()).unwrap(),
        image: ImageId::of(b"png bytes"),
        expires_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
    }
}

fn parts(path: &str) -> (String, String, String, String) {
    let (path, query) = path.split_once('?').unwrap();
    let segments: Vec<&str> = path
        .trim_start_matches("/v1/snapshots/")
        .split('/')
        .collect();
    let query: std::collections::HashMap<&str, &str> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    (
        segments[0].to_owned(),
        segments[1].to_owned(),
        query["expires"].to_owned(),
        query["sig"].to_owned(),
    )
}

#[test]
fn a_link_reads_back_signed_and_any_change_breaks_it() {
    let key = b"0123456789abcdef0123456789abcdef";
    let (project, file, expires, sig) = parts(&link().path(key));
    let read = SnapshotLink::parse(&project, &file, &expires).unwrap();
    assert_eq!(read, link());
    assert!(read.is_signed(key, &sig));
    assert!(!read.is_signed(b"another key", &sig));

    let later = (1_800_000_000 + 1).to_string();
    let other = ImageId::of(b"other bytes").to_string() + ".png";
    for (p, f, e) in [
        ("payment", file.as_str(), expires.as_str()),
        (project.as_str(), other.as_str(), expires.as_str()),
        (project.as_str(), file.as_str(), later.as_str()),
    ] {
        let changed = SnapshotLink::parse(p, f, e).unwrap();
        assert!(!changed.is_signed(key, &sig), "{p} {f} {e}");
    }
    let mut flipped = sig.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    assert!(!read.is_signed(key, std::str::from_utf8(&flipped).unwrap()));
    assert!(!read.is_signed(key, "not hex"));
    assert!(SnapshotLink::parse(&project, file.trim_end_matches(".png"), &expires).is_none());
    assert!(SnapshotLink::parse(&project, &file, "soon").is_none());
}
