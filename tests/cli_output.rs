//! The binary's output handling: a reader that closes the pipe early ends the run quietly
//! (exit 0), while any other failure to write the output is an error (exit 1), not a success.

use std::io::Read;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_routesim");
const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/deepseek-r1.yaml");
const REQUEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/requests/default.json"
);

fn simulate() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["simulate", "--seed", "1", "--requests", "1000", "--json"])
        .args(["--catalog", CATALOG, "--request", REQUEST]);
    cmd
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let mut child = simulate()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the routesim binary runs");
    // Close our end of stdout before the binary writes: its write fails with EPIPE.
    drop(child.stdout.take());
    let status = child.wait().expect("the binary ends");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr)
        .expect("stderr is UTF-8");
    assert_eq!(
        status.code(),
        Some(0),
        "a closed pipe is not an error: {stderr}"
    );
    assert!(stderr.is_empty(), "nothing is said about it: {stderr}");
}

#[test]
fn a_failed_write_is_an_error_not_a_closed_pipe() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("Linux has /dev/full");
    let out = simulate()
        .stdout(full)
        .output()
        .expect("the routesim binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a full disk fails the run: {stderr}"
    );
    assert!(
        stderr.contains("cannot write the output"),
        "and says so: {stderr}"
    );
}
