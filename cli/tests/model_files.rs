//! What `polku check` says of paths that are not plain model files: a named pipe, a device, a
//! loop of links, a link to nothing, a linked file in a model folder, a file too large.

#![cfg(unix)]
#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{finish, scratch};

fn check(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_polku"));
    command.arg("check").args(args).current_dir(dir).env("LANG", "C.UTF-8");
    finish(command, &format!("polku check {args:?}"))
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn special_paths_are_named_for_what_they_are() {
    let dir = scratch("polku-files", "special");
    assert!(Command::new("mkfifo").arg(dir.join("putki.polku")).status().unwrap().success());
    let o = check(&dir, &["putki.polku"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("named pipe"), "{}", err(&o));

    let o = check(&dir, &["/dev/null"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("a device"), "{}", err(&o));

    std::os::unix::fs::symlink(dir.join("b.polku"), dir.join("a.polku")).unwrap();
    std::os::unix::fs::symlink(dir.join("a.polku"), dir.join("b.polku")).unwrap();
    let o = check(&dir, &["a.polku"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("loop of symbolic links"), "{}", err(&o));
}

#[test]
fn linked_files_belong_to_the_model_and_broken_links_are_errors() {
    let dir = scratch("polku-files", "links");
    let model = dir.join("malli");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(model.join("polku.toml"), "[model]\nname = \"m\"\n").unwrap();
    std::fs::write(
        dir.join("muualla.polku"),
        "rooli th \"Terveydenhoitaja\"\nrooli th \"Kaksi\"\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.join("muualla.polku"), model.join("linkki.polku")).unwrap();
    let o = check(&dir, &["malli"]);
    // The linked file is read: its duplicate role is found.
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("linkki.polku"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    std::os::unix::fs::symlink(dir.join("ei_ole.polku"), model.join("rikki.polku")).unwrap();
    let o = check(&dir, &["malli"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("rikki.polku") && err(&o).contains("symbolic link to nothing"),
        "{}",
        err(&o)
    );
}

#[test]
fn a_file_too_large_is_refused_before_it_is_read() {
    let dir = scratch("polku-files", "large");
    let file = std::fs::File::create(dir.join("iso.polku")).unwrap();
    file.set_len(17 * 1024 * 1024).unwrap();
    let o = check(&dir, &["iso.polku"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("at most") && err(&o).contains("split it"), "{}", err(&o));
}
