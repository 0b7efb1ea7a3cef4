//! `-` means standard input for `--request`, `--catalog` and `--account`, with the size limit and
//! messages of a file (naming it `<stdin>`), and only one input may read it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_routesim");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `route --seed 1 --json ARGS` from the package root with `stdin` on standard input.
fn route(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .current_dir(ROOT)
        .args(["route", "--seed", "1", "--json"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the routesim binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    // The binary stops reading past its limit: a write it no longer reads may fail.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("the binary ends")
}

fn file(path: &str) -> Vec<u8> {
    std::fs::read(format!("{ROOT}/{path}")).expect("fixture is readable")
}

const CATALOG: &str = "fixtures/deepseek-r1.yaml";
const REQUEST: &str = "fixtures/requests/default.json";

#[test]
fn each_input_can_come_from_standard_input_with_the_same_plan() {
    let from_files = route(&["--catalog", CATALOG, "--request", REQUEST], b"");
    assert_eq!(from_files.status.code(), Some(0));
    let cases: [(&[&str], &str); 3] = [
        (&["--catalog", CATALOG, "--request", "-"], REQUEST),
        (&["--catalog", "-", "--request", REQUEST], CATALOG),
        (
            &["--catalog", CATALOG, "--request", REQUEST, "--account", "-"],
            "fixtures/account.yaml",
        ),
    ];
    for (args, piped) in cases {
        let out = route(args, &file(piped));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        if !args.contains(&"--account") {
            assert_eq!(
                out.stdout, from_files.stdout,
                "{args:?} gives the file's plan"
            );
        }
    }
    let with_account = route(
        &[
            "--catalog",
            CATALOG,
            "--request",
            REQUEST,
            "--account",
            "fixtures/account.yaml",
        ],
        b"",
    );
    let account_from_stdin = route(
        &["--catalog", CATALOG, "--request", REQUEST, "--account", "-"],
        &file("fixtures/account.yaml"),
    );
    assert_eq!(account_from_stdin.status.code(), Some(0));
    assert_eq!(account_from_stdin.stdout, with_account.stdout);
}

#[test]
fn bad_input_on_standard_input_is_named_stdin() {
    let out = route(&["--catalog", CATALOG, "--request", "-"], b"{\"model\": 7}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("<stdin>: model"), "{stderr}");
}

#[test]
fn an_over_size_standard_input_is_refused_while_reading() {
    let limit = routesim::MAX_REQUEST_BYTES;
    let big = vec![b' '; limit + 1];
    let out = route(&["--catalog", CATALOG, "--request", "-"], &big);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("<stdin>") && stderr.contains("over the limit"),
        "{stderr}"
    );
}

#[test]
fn only_one_input_may_read_standard_input() {
    let out = route(&["--catalog", "-", "--request", "-"], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("can be read once"), "{stderr}");
}
