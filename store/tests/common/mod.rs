//! What the store's integration tests share: the shipped model's sources, a simulated stream
//! of events and a fresh folder.

use std::path::PathBuf;

use polku_store::tracker::ModelSources;

/// The sources of the shipped Keusote model, read when the test runs.
pub fn corpus() -> ModelSources {
    let dir = (std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR"))))
    .join("../processes/keusote");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the shipped model") {
        let path = entry.expect("a folder entry").path();
        if path.extension().is_some_and(|e| e == "polku") {
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            files.push((name, std::fs::read_to_string(&path).expect("a model file")));
        }
    }
    ModelSources::new(files)
}

/// A simulated stream as `polku ingest` reads it: written as JSON Lines and read back, the
/// clients pseudonymised with `key` on the way in; every line reads.
#[allow(dead_code)] // Not every test file reads a simulated stream.
pub fn simulated(
    model: &polku_engine::model::Model,
    prefix: &str,
    options: &polku_engine::simulate::Options,
    key: &polku_engine::pseudonym::PseudonymKey,
) -> Vec<(usize, polku_engine::event::Event)> {
    let events = polku_engine::simulate::simulate(model, prefix, options).expect("a simulation");
    let text: String =
        events.iter().map(|e| serde_json::to_string(e).expect("an event as JSON") + "\n").collect();
    let (parsed, bad) = polku_engine::event::parse_numbered_lines(&text, key);
    assert!(bad.is_empty(), "{bad:?}");
    parsed
}

/// An empty folder of its own for one test: `polku-{prefix}-{process}-{name}`.
pub fn temp(prefix: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("polku-{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}
