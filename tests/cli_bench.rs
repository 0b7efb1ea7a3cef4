//! `routesim bench --json`: the report's shape and that every figure is positive and ordered.
//! No timing thresholds: only the structure of what was measured.

use serde_json::Value;
use std::process::Command;

fn bench(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_routesim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("bench")
        .args(args)
        .output()
        .expect("the routesim binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const INPUTS: [&str; 4] = [
    "--catalog",
    "fixtures/deepseek-r1.yaml",
    "--request",
    "fixtures/requests/default.json",
];

#[test]
fn the_json_report_has_every_figure_beside_the_sort_baseline() {
    let mut args = INPUTS.to_vec();
    args.extend(["--seconds", "0.25", "--json"]);
    let (code, stdout, stderr) = bench(&args);
    assert_eq!(code, Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("bench --json prints JSON");
    assert_eq!(
        report["targets"], 7,
        "the fixture's default request has 7 targets"
    );
    assert_eq!(report["seconds"], 0.25);
    let names: Vec<&str> = report["benchmarks"]
        .as_array()
        .expect("benchmarks is a list")
        .iter()
        .map(|b| b["name"].as_str().expect("each has a name"))
        .collect();
    assert_eq!(
        names,
        [
            "sort_baseline",
            "compile",
            "plan",
            "first",
            "simulate_request"
        ]
    );
    for b in report["benchmarks"].as_array().unwrap() {
        let f = |key: &str| b[key].as_f64().unwrap_or_else(|| panic!("{key} in {b}"));
        let ordered = [
            f("min_ns"),
            f("p10_ns"),
            f("median_ns"),
            f("p90_ns"),
            f("max_ns"),
        ];
        assert!(ordered[0] > 0.0, "{b}");
        assert!(
            ordered.windows(2).all(|w| w[0] <= w[1]),
            "min <= p10 <= median <= p90 <= max: {b}"
        );
        assert!(b["iterations"].as_u64().is_some_and(|n| n > 0), "{b}");
        assert!(f("ratio_to_baseline") > 0.0, "{b}");
    }
    assert_eq!(report["benchmarks"][0]["ratio_to_baseline"], 1.0);
}

#[test]
fn bad_durations_and_unroutable_requests_keep_their_exit_codes() {
    let mut args = INPUTS.to_vec();
    args.extend(["--seconds", "0"]);
    let (code, _, stderr) = bench(&args);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--seconds"), "{stderr}");
    let (code, _, _) = bench(&[
        "--catalog",
        "fixtures/deepseek-r1.yaml",
        "--request",
        "fixtures/requests/unroutable-max-price.json",
        "--seconds",
        "0.1",
    ]);
    assert_eq!(code, Some(3), "nothing eligible: exit 3, as for route");
}
