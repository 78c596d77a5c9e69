//! What the store's integration tests share: the shipped model's sources, a simulated stream
//! of events and a fresh folder.

use std::path::PathBuf;

use polku_store::tracker::ModelSources;

/// The sources of the shipped Keusote model, read when the test runs.
#[allow(dead_code)] // Not every test file reads the model.
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

/// An empty folder of its own for one test: `polku-{prefix}-{process}-{name}`. The first call
/// of a test process removes the folders of this prefix that test processes now ended left.
pub fn temp(prefix: &str, name: &str) -> PathBuf {
    static SWEPT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    {
        let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
        if !swept.iter().any(|p| p == prefix) {
            swept.push(prefix.to_owned());
            let start = format!("polku-{prefix}-");
            for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let pid = name.strip_prefix(&start).and_then(|rest| rest.split('-').next());
                if pid.and_then(|p| p.parse().ok()).is_some_and(|pid| !running(pid)) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("polku-{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// Whether a process of this id may still run: what a test process made is its own while it
/// does. Where there is no `/proc` to tell, every one may.
fn running(pid: u32) -> bool {
    pid == std::process::id()
        || !std::path::Path::new("/proc/self").exists()
        || std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A new, empty database `polku_{family}_{name}_{process}` on the PostgreSQL server `server`
/// names (its URL), for one test; its URL. The databases of this family that test processes
/// now ended left are dropped first, so that a server the tests are run against again and
/// again does not gather one for every test of every run: only names of that form, and only
/// when no session uses them (a test on another machine may have a process of the same id),
/// each as well as it goes.
#[allow(dead_code)] // Only the PostgreSQL tests make databases.
pub fn postgres_database(server: &str, family: &str, name: &str) -> String {
    let start = format!("polku_{family}_");
    let database = format!("{start}{name}_{}", std::process::id());
    let mut admin = postgres::Client::connect(server, postgres::NoTls).expect("the test server");
    let found = admin
        .query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", &[&start])
        .expect("the databases");
    for row in found {
        let old: String = row.get(0);
        let plain = old.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let pid = old.rsplit('_').next().and_then(|p| p.parse().ok());
        if plain && pid.is_some_and(|pid| !running(pid)) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {old}"));
        }
    }
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database}")).expect("drop");
    admin.batch_execute(&format!("CREATE DATABASE {database}")).expect("create");
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{database}")
}
