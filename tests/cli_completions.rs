//! `routesim completions SHELL` prints a completion script that knows every subcommand.

use std::process::Command;

#[test]
fn completions_generate_for_each_shell_and_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_routesim"))
            .args(["completions", shell])
            .output()
            .expect("the routesim binary runs");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).expect("a script is text");
        for word in [
            "routesim",
            "route",
            "simulate",
            "fetch",
            "completions",
            "--catalog",
        ] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
}

#[test]
fn an_unknown_shell_is_bad_input() {
    let out = Command::new(env!("CARGO_BIN_EXE_routesim"))
        .args(["completions", "tcsh"])
        .output()
        .expect("the routesim binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
}
