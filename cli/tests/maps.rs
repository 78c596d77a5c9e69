//! `polku render` and `polku serve` as their users run them: every level drawn, clear errors,
//! a model with errors refused at start-up, the address printed, and `--watch` showing the
//! problems of a broken file and the maps again once it is fixed.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{finish, scratch, workspace};

fn polku(args: &[&str], dir: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_polku"));
    command.args(args).current_dir(dir).env("LANG", "C.UTF-8").env_remove("LC_ALL");
    finish(command, &format!("polku {args:?}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn has_dot() -> bool {
    Command::new("dot").arg("-V").output().is_ok_and(|o| o.status.success())
}

#[test]
fn render_draws_every_level() {
    let root = workspace();
    let model = ["--model", "processes/keusote"];
    let dot = polku(&[&["render", "--level", "1", "--format", "dot"][..], &model].concat(), &root);
    assert!(dot.status.success(), "{}", text(&dot.stderr));
    assert!(text(&dot.stdout).starts_with("digraph"));
    assert!(text(&dot.stdout).contains("Lasten, nuorten ja perheiden palveluketju"));

    let two = polku(
        &[
            &["render", "--level", "2", "--segmentation", "perhekeskus", "--format", "dot"][..],
            &model,
        ]
        .concat(),
        &root,
    );
    assert!(text(&two.stdout).contains("Pärjääjäasiakas"), "{}", text(&two.stderr));

    let three =
        polku(
            &[
                &[
                    "render",
                    "--level",
                    "3",
                    "--process",
                    "kth_laaja_5lk",
                    "--segment",
                    "huolenpito",
                ][..],
                &["--format", "dot"],
                &model,
            ]
            .concat(),
            &root,
        );
    assert!(text(&three.stdout).contains("step added"), "{}", text(&three.stderr));

    let four = polku(
        &[&["render", "--level", "4", "--workflow", "kth_laaja_5lk.tarkastus"][..], &model]
            .concat(),
        &root,
    );
    assert!(four.status.success(), "{}", text(&four.stderr));
    assert!(text(&four.stdout).contains("class=\"lane"));

    if has_dot() {
        let svg = polku(
            &[&["render", "--level", "3", "--process", "kth_laaja_5lk"][..], &model].concat(),
            &root,
        );
        assert!(svg.status.success(), "{}", text(&svg.stderr));
        assert!(text(&svg.stdout).starts_with("<svg"));
    }
}

#[test]
fn render_says_what_is_missing() {
    let root = workspace();
    let model = ["--model", "processes/keusote"];
    let out = polku(&[&["render", "--level", "3"][..], &model].concat(), &root);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--process"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("kth_laaja_5lk"), "lists the processes");

    let out =
        polku(&[&["render", "--level", "3", "--process", "ei_ole"][..], &model].concat(), &root);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("ei_ole"));

    // Without Graphviz, SVG of a DOT map is refused with the way round it named.
    let mut command = Command::new(env!("CARGO_BIN_EXE_polku"));
    command
        .args(["render", "--level", "1", "--model", "processes/keusote"])
        .current_dir(&root)
        .env("POLKU_DOT", "/nonexistent/dot");
    let out = finish(command, "render without dot");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--format dot"), "{}", text(&out.stderr));

    let out = polku(
        &[
            &["render", "--level", "4", "--workflow", "kth_laaja_5lk.tarkastus", "--format", "dot"]
                [..],
            &model,
        ]
        .concat(),
        &root,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--format svg"));
}

#[test]
fn render_into_a_reader_that_goes_away_ends_quietly() {
    let root = workspace();
    let mut child = Command::new(env!("CARGO_BIN_EXE_polku"))
        .args(["render", "--level", "1", "--format", "dot", "--model", "processes/keusote"])
        .current_dir(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success() || status.code().is_none(), "{status:?}: {stderr}");
}

fn copy_model(to: &Path) {
    let from = workspace().join("viewer/tests/maps/small");
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn serve_refuses_a_model_with_errors() {
    let dir = scratch("polku-serve", "broken");
    let model = dir.join("model");
    copy_model(&model);
    let file = model.join("malli.polku");
    let broken = std::fs::read_to_string(&file)
        .unwrap()
        .replace("tekijä th kesto 45", "tekijä eikukaan kesto 45");
    std::fs::write(&file, broken).unwrap();
    let out = polku(
        &[
            "serve",
            "--model",
            "model",
            "--database",
            "sqlite://db/polku.sqlite",
            "--listen",
            "127.0.0.1:0",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("malli.polku:"), "names the file and line: {all}");
    assert!(all.contains("eikukaan"));
}

#[test]
fn serve_names_what_is_wrong_in_the_identity_provider_section() {
    let dir = scratch("polku-serve", "oidc-config");
    let model = dir.join("model");
    copy_model(&model);
    let config = model.join("polku.toml");
    let base = std::fs::read_to_string(&config).unwrap_or_default();
    let args = [
        "serve",
        "--model",
        "model",
        "--database",
        "sqlite://db/polku.sqlite",
        "--listen",
        "127.0.0.1:0",
    ];
    for (section, expected) in [
        // A client of the provider must say where the provider sends the browser back to.
        ("[oidc]\nissuer = \"https://idp.example\"\nclient_id = \"polku\"\n", "redirect_uri"),
        ("[oidc]\nissuer = \"https://idp.example\"\n", "audience"),
        ("[oidc]\nissuer = \"https://idp.example\"\naudince = \"polku\"\n", "audince"),
    ] {
        std::fs::write(&config, format!("{base}\n{section}")).unwrap();
        let out = polku(&args, &dir);
        assert_ne!(out.status.code(), Some(0), "{section}");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(all.contains(expected), "{section}: {all}");
        assert!(!all.contains("panicked"), "{all}");
    }
}

fn get(address: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

#[test]
fn serve_prints_its_address_and_watch_follows_the_files() {
    let dir = scratch("polku-serve", "watch");
    let model = dir.join("model");
    copy_model(&model);
    let mut child = Command::new(env!("CARGO_BIN_EXE_polku"))
        .args([
            "serve",
            "--model",
            "model",
            "--database",
            "sqlite://db/polku.sqlite",
            "--listen",
            "127.0.0.1:0",
            "--watch",
            "--renderer",
            "browser",
            "--demo-clients",
            "50",
        ])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .map(|rest| rest.trim().trim_end_matches('/').to_owned())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let result = std::panic::catch_unwind(|| {
        let (status, page) = get(&address, "/process/tarkastus");
        assert_eq!(status, 200);
        assert!(page.contains("id=\"map\""));
        assert!(!page.contains("role=\"alert\""));

        let file = model.join("malli.polku");
        let good = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, good.replace("tekijä th kesto 45", "tekijä eikukaan kesto 45"))
            .unwrap();
        let mut shown = String::new();
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(200));
            let (_, page) = get(&address, "/process/tarkastus");
            if page.contains("role=\"alert\"") {
                shown = page;
                break;
            }
        }
        assert!(shown.contains("malli.polku:"), "the problems are shown with their place");
        assert!(shown.contains("eikukaan"));
        assert!(!shown.contains("id=\"map\""), "no stale map while the model does not check");

        std::fs::write(&file, good.replace("Seurantapuhelu", "Seurantapuhelu uusi")).unwrap();
        let mut back = false;
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(200));
            let (_, page) = get(&address, "/process/tarkastus");
            if !page.contains("role=\"alert\"") && page.contains("Seurantapuhelu uusi") {
                back = true;
                break;
            }
        }
        assert!(back, "the fixed model is drawn again");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn the_level_3_map_marks_the_step_that_assesses_the_segment() {
    let out = polku(
        &[
            "render",
            "--level",
            "3",
            "--process",
            "lastenneuvola_laaja_4kk",
            "--format",
            "dot",
            "--lang",
            "fi",
            "--model",
            "processes/keski-suomi",
        ],
        &workspace(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dot = text(&out.stdout);
    assert_eq!(dot.matches("segmentti arvioidaan tässä").count(), 1, "{dot}");
    assert!(dot.contains("aikaisintaan: ikä 4 kk"), "the window's opening is shown");
}
