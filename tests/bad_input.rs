//! Runs the CLI on every file in tests/bad-input/ and checks that it refuses each one with an
//! error a user can act on: exit code 2 and a stderr message naming the file and, as the
//! file's `.expect` sidecar lists, the field and the line.
//!
//! Adding a case is adding two files: `catalog-*.{yaml,json}` (run against a valid request) or
//! `request-*.{json,yaml}` (run against fixtures/deepseek-r1.yaml), and `<name>.expect` with one
//! substring per line that stderr must contain. A line `exit N` expects exit code N instead of 2
//! (an empty endpoint list is valid input that nothing can serve: exit 3, SPEC section 1).

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_routesim");
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad-input");
const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/deepseek-r1.yaml");
const REQUEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/requests/default.json"
);

/// Runs `route` and returns (exit code, stderr).
fn route(catalog: &Path, request: &Path) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["route", "--seed", "1", "--catalog"])
        .arg(catalog)
        .arg("--request")
        .arg(request)
        .output()
        .expect("the routesim binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_bad_input_is_refused_with_a_message_naming_file_field_and_line() {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(DIR)
        .expect("tests/bad-input exists")
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x != "expect"))
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 30,
        "the corpus keeps at least 30 inputs, found {}",
        inputs.len()
    );
    let mut failures = Vec::new();
    for input in &inputs {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let expect_path = input.with_file_name(format!("{name}.expect"));
        let expect = std::fs::read_to_string(&expect_path)
            .unwrap_or_else(|_| panic!("{name} needs a sidecar {name}.expect"));
        let mut code = 2;
        let mut wanted = Vec::new();
        for line in expect.lines().filter(|l| !l.is_empty()) {
            match line.strip_prefix("exit ") {
                Some(n) => code = n.parse().expect("`exit N` takes a number"),
                None => wanted.push(line),
            }
        }
        let (status, stderr) = if name.starts_with("catalog-") {
            route(input, Path::new(REQUEST))
        } else if name.starts_with("request-") {
            route(Path::new(CATALOG), input)
        } else {
            panic!("{name}: inputs are named catalog-* or request-*");
        };
        if status != Some(code) {
            failures.push(format!(
                "{name}: exit {status:?}, expected {code}; stderr: {stderr}"
            ));
            continue;
        }
        // Exit 3 names the model and endpoints, not a file: the message is about routing.
        if code == 2 && !stderr.contains(&input.display().to_string()) {
            failures.push(format!("{name}: stderr does not name the file: {stderr}"));
        }
        for w in wanted {
            if !stderr.contains(w) {
                failures.push(format!("{name}: stderr lacks {w:?}: {stderr}"));
            }
        }
    }
    // Every sidecar belongs to an input, so a renamed input cannot silently drop its checks.
    for entry in std::fs::read_dir(DIR).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "expect") && !path.with_extension("").exists() {
            failures.push(format!("{} has no input file", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn files_over_the_size_limits_are_refused_before_they_are_read_whole() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let limit = routesim::MAX_CATALOG_BYTES;
    let big = dir.join("huge-catalog.yaml");
    // A comment line past the limit: valid YAML, so only the size can refuse it.
    let mut text = String::from("# padding\n");
    text.push_str(&"#".repeat(limit));
    text.push('\n');
    std::fs::write(&big, &text).unwrap();
    let (status, stderr) = route(&big, Path::new(REQUEST));
    assert_eq!(
        status,
        Some(2),
        "an oversized catalog is bad input: {stderr}"
    );
    assert!(stderr.contains(&big.display().to_string()), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "file is {} bytes, over the limit of {limit} bytes",
            text.len()
        )),
        "{stderr}"
    );

    let limit = routesim::MAX_REQUEST_BYTES;
    let big = dir.join("huge-request.json");
    let pad = "x".repeat(limit);
    std::fs::write(
        &big,
        format!(r#"{{"model": "deepseek/deepseek-r1", "note": "{pad}"}}"#),
    )
    .unwrap();
    let (status, stderr) = route(Path::new(CATALOG), &big);
    assert_eq!(
        status,
        Some(2),
        "an oversized request is bad input: {stderr}"
    );
    assert!(stderr.contains("over the limit of"), "{stderr}");
}

#[test]
fn uptime_thresholds_out_of_order_or_range_are_refused_each_alone() {
    // Each pair breaks exactly one of 0 <= down <= 1 and down <= stable <= 1.
    for (down, stable) in [("-0.1", "0.95"), ("0.9", "0.5"), ("0.8", "1.5")] {
        let out = Command::new(BIN)
            .args([
                "route",
                "--seed",
                "1",
                "--catalog",
                CATALOG,
                "--request",
                REQUEST,
            ])
            .arg(format!("--down-uptime={down}"))
            .arg(format!("--stable-uptime={stable}"))
            .output()
            .expect("the routesim binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "down {down}, stable {stable}: {stderr}"
        );
        assert!(
            stderr.contains("must satisfy 0 <= down <= stable <= 1"),
            "down {down}, stable {stable}: {stderr}"
        );
    }
}
