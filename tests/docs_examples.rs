//! Runs every ```` ```console ```` example in README.md and docs/*.md and checks its output, so a
//! documented command and what it prints cannot drift apart.
//!
//! In a console block, a line `$ COMMAND` runs COMMAND with `sh -c` in the repository root,
//! `routesim` being the binary under test; the lines up to the next `$ ` line are its expected
//! standard output, exactly (trailing spaces aside). A last line `[exit N]` expects exit code N
//! (default 0). Examples that cannot be reproduced byte for byte (timings) use plain ```` ``` ````
//! blocks instead.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One `$ command` of a console block with what it must print.
#[derive(Debug)]
struct Example {
    file: String,
    line: usize,
    command: String,
    stdout: String,
    exit: i32,
}

fn examples(file: &str, text: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut in_console = false;
    let mut current: Option<Example> = None;
    for (i, line) in text.lines().enumerate() {
        if !in_console {
            in_console = line.trim_end() == "```console";
            continue;
        }
        let finish = |current: &mut Option<Example>, out: &mut Vec<Example>| {
            if let Some(mut e) = current.take() {
                if let Some(last) = e.stdout.lines().last() {
                    if let Some(code) = last
                        .strip_prefix("[exit ")
                        .and_then(|r| r.strip_suffix(']'))
                    {
                        e.exit = code.parse().expect("[exit N] takes a number");
                        let keep = e.stdout.len() - last.len() - 1;
                        e.stdout.truncate(keep);
                    }
                }
                out.push(e);
            }
        };
        if line.trim_end() == "```" {
            finish(&mut current, &mut out);
            in_console = false;
        } else if let Some(command) = line.strip_prefix("$ ") {
            finish(&mut current, &mut out);
            current = Some(Example {
                file: file.to_string(),
                line: i + 1,
                command: command.to_string(),
                stdout: String::new(),
                exit: 0,
            });
        } else if let Some(e) = current.as_mut() {
            e.stdout.push_str(line.trim_end());
            e.stdout.push('\n');
        } else {
            panic!(
                "{file}:{}: a console block starts with a `$ ` command",
                i + 1
            );
        }
    }
    out
}

fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect()
        })
        .unwrap_or_default();
    docs.sort();
    files.extend(docs);
    files
}

fn normalized(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn every_console_example_prints_what_the_docs_show() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_routesim"))
        .parent()
        .expect("the binary is in a directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut all = Vec::new();
    for file in documents() {
        let text = std::fs::read_to_string(&file).expect("the documents are readable");
        let name = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        all.extend(examples(&name, &text));
    }
    assert!(
        all.len() >= 3,
        "the README's console examples are found ({} of them)",
        all.len()
    );
    let mut failures = Vec::new();
    for e in &all {
        let run = Command::new("sh")
            .arg("-c")
            .arg(&e.command)
            .current_dir(root)
            .env("PATH", &path)
            .env_remove("OPENROUTER_API_KEY")
            .output()
            .expect("sh runs");
        let stdout = normalized(&run.stdout);
        let code = run.status.code().unwrap_or(-1);
        if stdout != e.stdout || code != e.exit {
            failures.push(format!(
                "{}:{}: $ {}\n--- expected (exit {}) ---\n{}--- printed (exit {}) ---\n{}--- stderr ---\n{}",
                e.file,
                e.line,
                e.command,
                e.exit,
                e.stdout,
                code,
                stdout,
                String::from_utf8_lossy(&run.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn console_blocks_split_into_commands_outputs_and_exit_codes() {
    let text = "intro\n```console\n$ echo a\na\n$ false\n[exit 1]\n```\n```\n$ not run\n```\n";
    let found = examples("x.md", text);
    assert_eq!(found.len(), 2);
    assert_eq!((found[0].line, found[0].command.as_str()), (3, "echo a"));
    assert_eq!((found[0].stdout.as_str(), found[0].exit), ("a\n", 0));
    assert_eq!((found[1].stdout.as_str(), found[1].exit), ("", 1));
}

#[test]
fn the_readme_shows_the_client_examples_verbatim() {
    // tests/clients/run executes these files against the server and checks what they print.
    let readme = include_str!("../README.md");
    for (fence, file, text) in [
        (
            "```python\n",
            "tests/clients/python/example.py",
            include_str!("clients/python/example.py"),
        ),
        (
            "```js\n",
            "tests/clients/ts/example.mjs",
            include_str!("clients/ts/example.mjs"),
        ),
    ] {
        assert!(
            readme.contains(&format!("{fence}{text}```")),
            "the README shows {file} verbatim in a {} block",
            fence.trim()
        );
    }
}
