//! A bounded load test of `routesim serve` on loopback: 20,000 requests over 64 connections
//! mixing valid bodies, malformed JSON, oversized bodies, unknown models, unroutable
//! preferences, invalid fields and faulted endpoints. Every answer has the status SPEC section 9
//! gives, `/routesim/stats` counts exactly what was sent, and the server's resident memory stays
//! bounded once the journal is at its limit (printed; run with `--nocapture` to see it).

mod serve_support;

use serve_support::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

const CONNECTIONS: usize = 64;
const REQUESTS: usize = 20_000;
const JOURNAL_LIMIT: usize = 1_000;

/// Request `i`'s kind: its body, headers, and the status it must get.
fn kind(i: usize) -> (&'static str, String, Vec<(&'static str, &'static str)>, u16) {
    let hello =
        r#"{"model": "deepseek/deepseek-r1", "messages": [{"role": "user", "content": "Hello"}]}"#;
    match i % 20 {
        10 | 11 => ("malformed", "{\"model\": ".to_string(), vec![], 400),
        12 => ("oversized", String::new(), vec![], 413),
        13 | 14 => (
            "unknown model",
            r#"{"model": "no/such"}"#.to_string(),
            vec![],
            400,
        ),
        15 | 16 => (
            "unroutable",
            r#"{"model": "deepseek/deepseek-r1", "provider": {"only": ["nobody"]}}"#.to_string(),
            vec![],
            404,
        ),
        17 => (
            "faulted 429",
            hello.to_string(),
            vec![("x-test-id", "full")],
            429,
        ),
        18 => (
            "faulted 502",
            hello.to_string(),
            vec![("x-test-id", "down")],
            503,
        ),
        19 => (
            "bad field",
            r#"{"model": "deepseek/deepseek-r1", "provider": {"zdr": "yes"}}"#.to_string(),
            vec![],
            400,
        ),
        _ => ("valid", hello.to_string(), vec![], 200),
    }
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Sends requests `from..to` over `CONNECTIONS` client threads, each keeping one connection
/// (oversized bodies go on raw connections of their own); returns the statuses seen by kind.
fn blast(
    url: &Arc<String>,
    addr: std::net::SocketAddr,
    from: usize,
    to: usize,
) -> BTreeMap<u16, u64> {
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|t| {
            let url = Arc::clone(url);
            std::thread::spawn(move || {
                let agent = agent();
                let mut seen = BTreeMap::new();
                for i in (from + t..to).step_by(CONNECTIONS) {
                    let (name, body, headers, want) = kind(i);
                    let status = match name {
                        "oversized" => {
                            let head = format!(
                                "POST /api/v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{{",
                                (16 << 20) + 1
                            );
                            let answer = raw(addr, head.as_bytes());
                            answer
                                .get(9..12)
                                .and_then(|s| s.parse().ok())
                                .unwrap_or(0)
                        }
                        _ => post(&agent, &url, &body, &headers).status,
                    };
                    assert_eq!(status, want, "request {i} ({name})");
                    *seen.entry(status).or_insert(0) += 1;
                }
                seen
            })
        })
        .collect();
    let mut total = BTreeMap::new();
    for t in threads {
        for (status, n) in t.join().expect("no client thread failed") {
            *total.entry(status).or_insert(0) += n;
        }
    }
    total
}

#[test]
fn twenty_thousand_mixed_requests_get_their_statuses_and_memory_stays_bounded() {
    let faults =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-load-faults.yaml");
    std::fs::write(
        &faults,
        "- { endpoint: '*', status: 429, test_id: full }\n- { endpoint: '*', status: 502, test_id: down }\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_routesim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "serve",
            "--catalog",
            "fixtures/deepseek-r1.yaml",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--journal-limit", &JOURNAL_LIMIT.to_string()])
        .arg("--faults")
        .arg(&faults)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let addr: std::net::SocketAddr = base.strip_prefix("http://").unwrap().parse().unwrap();
    let url = Arc::new(format!("{base}/api/v1/chat/completions"));

    // Fill the journal to its limit, then measure; then the load, then measure again.
    let warm = 2 * JOURNAL_LIMIT;
    let mut expected = blast(&url, addr, 0, warm);
    let before = rss_kib(child.id());
    for (status, n) in blast(&url, addr, warm, warm + REQUESTS) {
        *expected.entry(status).or_insert(0) += n;
    }
    let after = rss_kib(child.id());
    eprintln!(
        "resident memory of routesim serve (debug build), journal at its limit of {JOURNAL_LIMIT}: \
         {before} KiB after {warm} requests, {after} KiB after {} more",
        REQUESTS
    );

    let stats = get(&agent(), &format!("{base}/routesim/stats")).json();
    let sent = (warm + REQUESTS) as u64;
    assert_eq!(stats["requests"], sent, "every request counted once");
    let by_status: BTreeMap<u16, u64> = stats["by_status"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(by_status, expected, "stats count exactly the answers sent");
    assert_eq!(stats["journal_dropped"], sent - JOURNAL_LIMIT as u64);
    let journal = get(&agent(), &format!("{base}/routesim/journal")).body;
    assert_eq!(journal.lines().count(), JOURNAL_LIMIT);
    // The journal was full before the load: growth past it is the allocator's slack, not a leak.
    assert!(
        after <= before + 32 * 1024,
        "resident memory grew from {before} KiB to {after} KiB with the journal at its limit"
    );
    // SAFETY: kill(2) on the pid of the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
