//! Replay's per-line cost (issue 14): parsing a log line, keying its request, finding its group
//! and counting its observation, for each observation format, on the README's DeepSeek R1
//! catalog with the group already compiled; and reading 10,000 lines over 100 configurations
//! through `Replay::read`, report included.
//!
//! Ids are paths: `replay/line/generation`, `replay/line/journal`, `replay/line/response`,
//! `replay/line/provider`, `replay/read/10000x100`. Run with
//! `cargo bench --bench replay -- --warm-up-time 1 --measurement-time 3`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use routesim::{Catalog, Options, Replay, ReplaySettings};
use std::hint::black_box;

const CATALOG: &str = include_str!("../fixtures/deepseek-r1.yaml");

const REQUEST: &str = r#"{"model":"deepseek/deepseek-r1","usage_estimate":{"prompt_tokens":1200,"completion_tokens":500},"messages":[{"role":"user","content":"request number 17: summarise the attached text"}]}"#;

fn lines() -> [(&'static str, String); 4] {
    [
        (
            "generation",
            format!(
                r#"{{"request":{REQUEST},"generation":{{"data":{{"id":"gen-1","provider_responses":[{{"provider_name":"DeepInfra","status":200,"latency":300}}]}}}}}}"#
            ),
        ),
        (
            "journal",
            format!(
                r#"{{"seq":1,"status":200,"request":{REQUEST},"generation":{{"provider_responses":[{{"provider_name":"DeepInfra","endpoint":"deepinfra/turbo","status":200,"latency":1,"is_byok":false}}]}}}}"#
            ),
        ),
        (
            "response",
            format!(
                r#"{{"request":{REQUEST},"response":{{"id":"gen-1","provider":"Together","model":"deepseek/deepseek-r1"}}}}"#
            ),
        ),
        (
            "provider",
            format!(r#"{{"request":{REQUEST},"provider":"kluster"}}"#),
        ),
    ]
}

fn per_line(c: &mut Criterion) {
    let catalog = Catalog::parse(CATALOG).unwrap();
    let options = Options::default();
    let mut group = c.benchmark_group("replay/line");
    group.throughput(Throughput::Elements(1));
    for (name, line) in lines() {
        let mut replay = Replay::new(&catalog, &options, ReplaySettings::default());
        replay.add_line(&line, 1).unwrap();
        let mut n = 1;
        group.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                replay.add_line(black_box(&line), n).unwrap();
            })
        });
        let report = replay.report();
        assert_eq!(report.groups.len(), 1, "every line went to the one group");
        assert_eq!(report.lines, n as u64);
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    let catalog = Catalog::parse(CATALOG).unwrap();
    let options = Options::default();
    let mut log = String::new();
    for i in 0..10_000 {
        let request = REQUEST.replace("1200", &(1000 + i % 100).to_string());
        log += &format!(r#"{{"request":{request},"provider":"DeepInfra"}}"#);
        log.push('\n');
    }
    let mut group = c.benchmark_group("replay/read");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10000x100", |b| {
        b.iter(|| {
            let mut replay = Replay::new(&catalog, &options, ReplaySettings::default());
            replay
                .read(black_box(log.as_bytes()), "log", &mut |_| {})
                .unwrap();
            let report = replay.report();
            assert_eq!(report.groups.len(), 100);
            report.log_likelihood
        })
    });
    group.finish();
}

criterion_group!(benches, per_line, read);
criterion_main!(benches);
