//! Golden maps: every folder under `tests/maps/` is a small model; every map of it is drawn and
//! compared with the file of the same name under the folder's `expected/`. Adding a case is
//! adding a folder (or a file to a folder's model); `UPDATE_EXPECT=1 cargo test -p
//! polku-viewer --test golden` writes the expected files anew, to be read before committing.
//!
//! The shipped models are drawn too: every map renders, no arrow leaves or enters a node that
//! is not drawn, and every step and task of the model is on its map. Where Graphviz's `dot`
//! is on the path, it must lay out every DOT map without a complaint.

use std::path::{Path, PathBuf};

use polku_dsl::{Lang, SourceSet};
use polku_engine::Model;
use polku_viewer::maps::{self, Drawing, MapKind};

fn root() -> PathBuf {
    package_dir()
}

fn load(dir: &Path) -> Model {
    let mut sources = SourceSet::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("model folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "polku"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("model file");
        sources.add(file.display().to_string(), text);
    }
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{} does not check: {:?}", dir.display(), checked.diagnostics);
    polku_engine::compile(&checked.files)
}

/// The file name of a map.
fn file_name(kind: &MapKind) -> String {
    match kind {
        MapKind::Services => "1-services.dot".into(),
        MapKind::Segmentation(s) => format!("2-{s}.dot"),
        MapKind::Process { process, segment: None } => format!("3-{process}.dot"),
        MapKind::Process { process, segment: Some(s) } => format!("3-{process}@{s}.dot"),
        MapKind::Workflow(w) => format!("4-{w}.svg"),
    }
}

fn text(drawing: &Drawing) -> &str {
    match drawing {
        Drawing::Dot(t) | Drawing::Svg(t) => t,
    }
}

#[test]
fn golden_maps() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut folders: Vec<PathBuf> = std::fs::read_dir(root().join("tests/maps"))
        .expect("tests/maps")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let model = load(&folder);
        let expected_dir = folder.join("expected");
        let mut expected_files: Vec<String> = std::fs::read_dir(&expected_dir)
            .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        for lang in [Lang::Fi, Lang::En] {
            for kind in maps::every_map(&model) {
                let drawing = maps::draw(&model, &kind, lang).expect("a map of the model");
                let suffix = if lang == Lang::En { ".en" } else { "" };
                let plain = file_name(&kind);
                let (stem, extension) = plain.rsplit_once('.').expect("an extension");
                let name = format!("{stem}{suffix}.{extension}");
                let path = expected_dir.join(&name);
                expected_files.retain(|f| *f != name);
                cases += 1;
                if update {
                    std::fs::create_dir_all(&expected_dir).expect("expected folder");
                    std::fs::write(&path, text(&drawing)).expect("write expected");
                    continue;
                }
                match std::fs::read_to_string(&path) {
                    Ok(expected) if expected == text(&drawing) => {}
                    Ok(_) => failures.push(format!("{} differs", path.display())),
                    Err(_) => failures.push(format!("{} is missing", path.display())),
                }
            }
        }
        for stale in expected_files {
            failures.push(format!("{} has no map any more", expected_dir.join(stale).display()));
        }
    }
    assert!(cases > 0, "no golden cases found");
    assert!(
        failures.is_empty(),
        "{} of {cases} golden maps failed (UPDATE_EXPECT=1 rewrites them):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The quoted node names a DOT text declares, and the endpoints of its edges.
fn dot_nodes_and_edges(dot: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for line in dot.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix('"') else { continue };
        let Some(end) = rest.find('"') else { continue };
        let first = rest[..end].to_owned();
        let after = rest[end + 1..].trim_start();
        if let Some(target) = after.strip_prefix("->") {
            let target = target.trim_start().trim_start_matches('"');
            let to = target.split('"').next().unwrap_or_default().to_owned();
            edges.push((first, to));
        } else {
            nodes.push(first);
        }
    }
    (nodes, edges)
}

fn has_dot() -> bool {
    std::process::Command::new("dot").arg("-V").output().is_ok_and(|o| o.status.success())
}

fn lay_out(dot: &str) -> Result<String, String> {
    use std::io::Write;
    let mut child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child.stdin.take().expect("stdin").write_all(dot.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if !out.status.success() || !stderr.trim().is_empty() {
        return Err(stderr);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn every_map_of_the_shipped_models_renders_whole() {
    let processes = root().join("../processes");
    let mut models: Vec<PathBuf> = std::fs::read_dir(&processes)
        .expect("processes")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("polku.toml").exists())
        .collect();
    models.sort();
    assert!(!models.is_empty());
    let dot_here = has_dot();
    for dir in models {
        let model = load(&dir);
        let kinds = maps::every_map(&model);
        assert!(kinds.len() > 10, "{}: only {} maps", dir.display(), kinds.len());
        for kind in kinds {
            let drawing = maps::draw(&model, &kind, Lang::Fi).expect("map");
            match (&kind, &drawing) {
                (MapKind::Process { process, segment }, Drawing::Dot(dot)) => {
                    let (nodes, edges) = dot_nodes_and_edges(dot);
                    for (from, to) in &edges {
                        assert!(nodes.contains(from), "{process}: arrow from undrawn {from}");
                        assert!(nodes.contains(to), "{process}: arrow to undrawn {to}");
                    }
                    let plan = model.processes[process].plan(segment.as_deref());
                    for step in &plan.steps {
                        assert!(
                            nodes.contains(&format!("step:{}", step.name)),
                            "{process} ({segment:?}): step {} not drawn",
                            step.name
                        );
                    }
                    for phase in &model.processes[process].phases {
                        assert!(dot.contains(&format!("\"phase-{}\"", phase.name)));
                    }
                }
                (MapKind::Workflow(target), Drawing::Svg(svg)) => {
                    let workflow = &model.workflows[target];
                    for lane in &workflow.lanes {
                        assert!(svg.contains(&format!("id=\"lane-{}\"", lane.role)), "{target}");
                        for task in &lane.tasks {
                            assert!(
                                svg.contains(&format!("id=\"task-{}\"", task.name)),
                                "{target}: task {} not drawn",
                                task.name
                            );
                        }
                    }
                    assert_eq!(
                        svg.matches("<g class=\"task").count(),
                        workflow.lanes.iter().map(|l| l.tasks.len()).sum::<usize>(),
                        "{target}: tasks drawn more than once"
                    );
                }
                (MapKind::Services, Drawing::Dot(dot)) => {
                    for service in model.services.keys() {
                        assert!(dot.contains(&format!("\"service:{service}\"[")), "{service}");
                    }
                    let (nodes, edges) = dot_nodes_and_edges(dot);
                    for (from, to) in &edges {
                        assert!(nodes.contains(from) && nodes.contains(to), "{from} -> {to}");
                    }
                }
                _ => {}
            }
            if let (true, Drawing::Dot(dot)) = (dot_here, &drawing) {
                if let Err(e) = lay_out(dot) {
                    panic!("dot cannot lay out {kind:?}: {e}");
                }
            }
        }
    }
}

/// This package's folder as `cargo test` names it when it runs the test: a test binary reused
/// from a shared target folder may have been built in a checkout at another path.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
