//! Whole-site catalogs (SPEC section 8): `Catalog::from_paths` over files and directories, and
//! `--catalog` given several times, in temporary directories under the target dir.

use routesim::Catalog;
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/openrouter");

/// A fresh, empty directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("catalog_sources")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

fn copy(file: &str, to: &Path) {
    std::fs::copy(Path::new(FIXTURES).join(file), to).expect("copy a fixture");
}

#[test]
fn a_directory_loads_its_listings_in_name_order_and_skips_the_manifest_and_subdirectories() {
    let dir = scratch("directory");
    copy("z-ai__glm-5.2.json", &dir.join("a.json"));
    copy("google__gemma-4-31b-it.json", &dir.join("b.JSON.yaml"));
    std::fs::write(
        dir.join("c.yml"),
        "models:\n  - id: c/m\n    endpoints: []\n",
    )
    .unwrap();
    // Not catalogs: the manifest `routesim fetch` writes, other files, an unfinished download,
    // and a listing one level down.
    std::fs::write(
        dir.join("manifest.json"),
        r#"{"fetched_at": "x", "models": []}"#,
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a catalog").unwrap();
    std::fs::write(dir.join(".qwen__qwen3-coder.json.part"), "{").unwrap();
    std::fs::create_dir(dir.join("nested")).unwrap();
    copy("qwen__qwen3-coder.json", &dir.join("nested/d.json"));

    let catalog = Catalog::from_paths(&[&dir]).expect("the directory loads");
    let ids: Vec<&str> = catalog.models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["z-ai/glm-5.2", "google/gemma-4-31b-it", "c/m"],
        "*.json, *.yaml, *.yml directly in the directory, in name order"
    );
    let gemma = catalog.model("google/gemma-4-31b-it").unwrap();
    assert_eq!(
        gemma
            .endpoints
            .iter()
            .filter(|e| e.tag == "together")
            .count(),
        2,
        "listings load with their repeated tags"
    );

    // A directory and a file together; the file's model after the directory's.
    let extra = dir.join("nested/d.json");
    let both = Catalog::from_paths(&[dir.clone(), extra]).unwrap();
    assert_eq!(both.models.len(), 4);
    assert_eq!(both.models[3].id, "qwen/qwen3-coder");
}

#[test]
fn a_bad_file_in_a_directory_is_named_and_an_empty_directory_is_refused() {
    let dir = scratch("bad_file");
    copy("z-ai__glm-5.2.json", &dir.join("a.json"));
    std::fs::write(
        dir.join("b.yaml"),
        "models:\n  - id: b/m\n    endpoints: 3\n",
    )
    .unwrap();
    let err = Catalog::from_paths(&[&dir]).unwrap_err();
    let b = dir.join("b.yaml").display().to_string();
    assert_eq!(err.file(), Some(b.as_str()), "{err}");
    assert_eq!(err.exit_code(), 2);

    let empty = scratch("empty");
    std::fs::write(empty.join("manifest.json"), "{}").unwrap();
    let err = Catalog::from_paths(&[&empty]).unwrap_err();
    let name = empty.display().to_string();
    assert_eq!(err.file(), Some(name.as_str()));
    assert!(err.to_string().contains("found none"), "{err}");

    let missing = empty.join("no-such.json");
    let err = Catalog::from_paths(&[&missing]).unwrap_err();
    assert_eq!(err.file(), Some(missing.display().to_string().as_str()));
}

#[test]
fn route_and_simulate_take_several_catalogs_and_directories() {
    let dir = scratch("cli");
    let request = dir.join("request.json");
    std::fs::write(
        &request,
        r#"{"model": "z-ai/glm-5.2", "models": ["google/gemma-4-31b-it", "deepseek/deepseek-r1"], "provider": {"sort": "price"}}"#,
    )
    .unwrap();
    let native = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/deepseek-r1.yaml");
    for command in ["route", "simulate"] {
        let out = Command::new(env!("CARGO_BIN_EXE_routesim"))
            .args([command, "--json", "--seed", "1", "--catalog", FIXTURES])
            .args(["--catalog", native, "--request"])
            .arg(&request)
            .args(if command == "simulate" {
                &["--requests", "1000"][..]
            } else {
                &[]
            })
            .output()
            .expect("run routesim");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
        let rows = if command == "route" {
            &json["attempts"]
        } else {
            &json["served"]
        };
        let models: std::collections::BTreeSet<&str> = rows
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["model"].as_str())
            .collect();
        assert_eq!(
            models.len(),
            3,
            "{command}: all three models, from a directory and a file: {models:?}"
        );
        if command == "simulate" {
            assert!(
                rows.as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["endpoint"] == "together#2"),
                "simulate rows name endpoints by key"
            );
        }
    }
}
