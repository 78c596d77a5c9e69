//! Shared helpers for the workspace's golden and corpus tests: where the test data lives and
//! how a folder of `.polku` files becomes a [`SourceSet`].

use std::path::{Path, PathBuf};

use polku_dsl::{FileId, SourceSet};

/// The `tests/` folder of the workspace.
pub fn tests_dir() -> PathBuf {
    // Read when the tests run, not when they were built: a build reused from another
    // checkout must still look at this one.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The workspace root.
pub fn workspace_dir() -> PathBuf {
    tests_dir().parent().expect("tests/ sits in the workspace root").to_path_buf()
}

/// Every `.polku` file below `dir`, sorted.
pub fn polku_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "polku") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Loads files into a source set, naming each by its path relative to `base` so that rendered
/// output does not depend on where the checkout is. Returns the files that are not UTF-8.
pub fn load(
    files: &[PathBuf],
    base: &Path,
) -> (SourceSet, Vec<FileId>, Vec<polku_dsl::Diagnostic>) {
    let mut sources = SourceSet::new();
    let mut unreadable = Vec::new();
    let mut diagnostics = Vec::new();
    for file in files {
        let bytes =
            std::fs::read(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let name = file.strip_prefix(base).unwrap_or(file).to_string_lossy().replace('\\', "/");
        let (id, problem) = polku_dsl::add_source_bytes(&mut sources, &name, bytes);
        if let Some(problem) = problem {
            unreadable.push(id);
            diagnostics.push(problem);
        }
    }
    (sources, unreadable, diagnostics)
}
