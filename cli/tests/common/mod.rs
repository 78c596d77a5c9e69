//! What the tests of the `polku` binary share: where the checkout is, a fresh folder per test,
//! and running the binary with a time limit.

#![allow(dead_code)] // Each test file uses some of these.

pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root, read when the tests run (not when they were built), so that a build
/// reused from another checkout looks at this one.
pub fn workspace() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A fresh, empty folder for one test: `{prefix}-{process}-{name}`. The first call of a test
/// process for a prefix removes the folders of that prefix that test processes now ended left.
pub fn scratch(prefix: &str, name: &str) -> PathBuf {
    static SWEPT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    {
        let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
        // Only Polku's own prefixes: another program's folders in the same place are not ours.
        if prefix.starts_with("polku") && !swept.iter().any(|p| p == prefix) {
            swept.push(prefix.to_owned());
            let start = format!("{prefix}-");
            let running = |pid: u32| {
                pid == std::process::id()
                    || !std::path::Path::new("/proc/self").exists()
                    || std::path::Path::new(&format!("/proc/{pid}")).exists()
            };
            for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let pid = name.strip_prefix(&start).and_then(|rest| rest.split('-').next());
                if pid.and_then(|p| p.parse().ok()).is_some_and(|pid| !running(pid)) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    dir
}

/// Runs a command to its end, reading its output while it runs (so that a large one cannot
/// fill the pipe), and fails the test if it takes more than a minute: a hang is a bug.
pub fn finish(mut command: Command, what: &str) -> Output {
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("polku runs");
    let pid = child.id();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || send.send(child.wait_with_output()));
    match receive.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(output) => output.expect("polku output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{what} did not finish within a minute");
        }
    }
}

/// Runs the binary in `dir`, in an English locale, with the pseudonym key `key`, to its end.
pub fn polku_in(dir: &Path, key: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_polku"));
    command
        .args(args)
        .current_dir(dir)
        .env("POLKU_PSEUDONYM_KEY", key)
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES");
    finish(command, &format!("polku {args:?}"))
}

/// What a command wrote to its standard output.
pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What a command wrote to its standard error.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
