//! `polku-bench`: measures the toolchain on a generated national-scale model.
//!
//! The model is built from the shipped Keusote corpus: each of 21 regions gets the catalogue,
//! segmentations and chain, and 200 processes made by copying the corpus's processes under new
//! names (with their workflows and the referrals between them renamed to match). So the text
//! is what process owners really write, at the scale of the whole country.
//!
//! Run with `cargo run --release -p polku-bench -- parse`.

/// `polku serve`'s allocator, so that what is measured in this process as Polku allocates as
/// the server does (and the peers run in this process, the bare handler among them, alike).
#[global_allocator]
static ALLOCATOR: polku_viewer::wipe::Wiping = polku_viewer::wipe::Wiping;

mod api;
mod forms;
mod maps;
mod rate;
mod tracking;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use polku_dsl::lexer::{lex, TokenKind};
use polku_dsl::{FileId, SourceSet};

const REGIONS: usize = 21;
const PROCESSES_PER_REGION: usize = 200;

fn main() -> Result<()> {
    polku_viewer::wipe::settle();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut command = None;
    let mut corpus = (std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))))
    .join("../processes/keusote");
    let mut scale = 1.0f64;
    let mut repeat = 3usize;
    let mut count = 200usize;
    let mut seed = 1u64;
    let mut out = None;
    let mut polku: Option<PathBuf> = None;
    let mut python = std::env::var("POLKU_PYTHON").ok().filter(|p| !p.is_empty());
    let mut clients = 43_000u32;
    let mut peer = false;
    let mut instances = 1000usize;
    let mut batches = vec![100usize, 500, 1000];
    let mut database = None;
    let mut url: Option<String> = None;
    let mut peer_url: Option<String> = None;
    let mut writers = 16usize;
    let mut tail = 0.1f64;
    let mut reuse = false;
    let mut rates: Vec<f64> = vec![1000.0, 5000.0, 10000.0];
    let mut days = 365u32;
    let mut touch = 0usize;
    let mut dir = std::env::temp_dir().join("polku-bench");
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--corpus" => corpus = PathBuf::from(iter.next().context("--corpus needs a folder")?),
            "--scale" => scale = iter.next().context("--scale needs a number")?.parse()?,
            "--repeat" => repeat = iter.next().context("--repeat needs a number")?.parse()?,
            "--count" => count = iter.next().context("--count needs a number")?.parse()?,
            "--seed" => seed = iter.next().context("--seed needs a number")?.parse()?,
            "--out" => out = Some(PathBuf::from(iter.next().context("--out needs a folder")?)),
            "--clients" => clients = iter.next().context("--clients needs a number")?.parse()?,
            "--peer" => peer = true,
            "--instances" => {
                instances = iter.next().context("--instances needs a number")?.parse()?
            }
            "--batches" => {
                batches = iter
                    .next()
                    .context("--batches needs numbers, such as 100,1000")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--database" => {
                database = Some(PathBuf::from(iter.next().context("--database needs a file")?))
            }
            "--dir" => dir = PathBuf::from(iter.next().context("--dir needs a folder")?),
            "--url" => url = Some(iter.next().context("--url needs a database URL")?.clone()),
            "--peer-url" => {
                peer_url = Some(iter.next().context("--peer-url needs a database URL")?.clone())
            }
            "--writers" => writers = iter.next().context("--writers needs a number")?.parse()?,
            "--tail" => tail = iter.next().context("--tail needs a share")?.parse()?,
            "--reuse" => reuse = true,
            "--rates" => {
                rates = iter
                    .next()
                    .context("--rates needs requests a second, such as 1000,5000")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--days" => days = iter.next().context("--days needs a number")?.parse()?,
            "--touch" => touch = iter.next().context("--touch needs a number")?.parse()?,
            "exec" => command = Some("exec"),
            "ingest" => command = Some("ingest"),
            "append" => command = Some("append"),
            "recover" => command = Some("recover"),
            "recover-open" => command = Some("recover-open"),
            "pg-writers" => command = Some("pg-writers"),
            "snapshot" => command = Some("snapshot"),
            "parse" => command = Some("parse"),
            "nets" => command = Some("nets"),
            "validate" => command = Some("validate"),
            "maps" => command = Some("maps"),
            "api" => command = Some("api"),
            "forms" => command = Some("forms"),
            "--polku" => {
                polku = Some(PathBuf::from(iter.next().context("--polku needs a program")?))
            }
            "--python" => python = Some(iter.next().context("--python needs a program")?.clone()),
            "-h" | "--help" => {
                println!("usage: polku-bench parse [--corpus DIR] [--scale F] [--repeat N]");
                println!("       polku-bench nets --out DIR [--count N] [--seed S]");
                println!("       polku-bench validate [--corpus DIR] [--scale F] [--python PYTHON_WITH_PM4PY]");
                println!("       polku-bench exec [--clients N] [--seed S] [--repeat N] [--peer] [--instances N]");
                println!(
                    "       polku-bench ingest [--clients N] [--batches 100,500,1000] [--dir DIR]"
                );
                println!("       polku-bench append [--clients N] [--batches 100,1000] [--repeat N] [--dir DIR]");
                println!("       polku-bench recover [--clients N] [--days D] [--tail SHARE] [--dir DIR] [--reuse] [--url postgres://…]");
                println!("       polku-bench pg-writers --url postgres://… --peer-url postgres://… [--writers 16] [--batches 100] [--clients N]");
                println!("       polku-bench snapshot --database STORE [--batches N] [--touch EVENTS] (changes STORE: use a copy)");
                println!("       polku-bench maps [--corpus DIR] [--scale F] [--repeat N]");
                println!("       polku-bench api --database STORE --polku BIN [--dir DIR] [--rates 1000,5000,10000]");
                println!("       polku-bench forms [--corpus DIR] [--clients SETS] [--repeat N]");
                return Ok(());
            }
            other => bail!("unknown argument {other}; try --help"),
        }
    }
    match command {
        Some("parse") => parse_benchmark(&corpus, scale, repeat.max(1)),
        Some("nets") => write_nets(&out.context("nets needs --out DIR")?, count, seed),
        Some("validate") => validate_benchmark(&corpus, scale, repeat.max(1), python.as_deref()),
        Some("exec") => {
            let peer = peer.then(|| dir.clone());
            tracking::exec(&corpus, clients, seed, repeat.max(1), peer.as_deref(), instances)
        }
        Some("maps") => maps::run(&corpus, scale, repeat),
        Some("forms") => forms::run(&corpus, clients as usize, repeat.max(1)),
        Some("api") => api::run(
            &corpus,
            &database.context("api needs --database PATH (a store built by recover)")?,
            &polku.context("api needs --polku PATH (the release binary)")?,
            &dir,
            &rates,
        ),
        Some("ingest") => tracking::ingest(&corpus, clients, seed, &batches, &dir),
        Some("append") => tracking::append(&corpus, clients, seed, &batches, repeat.max(1), &dir),
        Some("recover") => {
            tracking::recover(&corpus, clients, days, seed, tail, &dir, reuse, url.as_deref())
        }
        Some("snapshot") => tracking::snapshot(
            &corpus,
            &match (url, database) {
                (Some(url), _) => url,
                (None, Some(path)) => format!("sqlite://{}", path.display()),
                (None, None) => bail!(
                    "snapshot needs --database PATH or --url URL (a copy of a store built by recover)"
                ),
            },
            batches.first().copied().unwrap_or(100),
            touch,
        ),
        Some("pg-writers") => tracking::pg_writers(
            &corpus,
            &url.context("pg-writers needs --url (an empty PostgreSQL database)")?,
            &peer_url.context("pg-writers needs --peer-url (another empty database)")?,
            clients,
            writers,
            batches.first().copied().unwrap_or(100),
        ),
        Some("recover-open") => tracking::recover_open(&corpus, &url.context("recover-open needs --url")?),
        _ => bail!(
            "say which benchmark to run: parse, nets, validate, exec, ingest, append, recover, maps or forms"
        ),
    }
}

/// Writes random workflow nets as PNML with Polku's verdicts, for the pm4py oracle.
fn write_nets(out: &Path, count: usize, seed: u64) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let mut rng = polku_bench::nets::Rng::new(seed);
    let mut nets = Vec::new();
    for i in 0..count {
        let (_, _, flow_net) = polku_bench::nets::random_net(&mut rng);
        let verdict =
            polku_engine::net::check_soundness(&flow_net.net, polku_engine::Limits::default());
        nets.push((format!("random{i:04}"), flow_net, verdict));
    }
    let sound = nets.iter().filter(|(_, _, v)| v.is_sound()).count();
    let unsound = count - sound;
    let entries: Vec<polku_engine::pnml::Entry> = nets
        .iter()
        .map(|(name, flow, verdict)| polku_engine::pnml::Entry {
            name,
            kind: "random",
            net: &flow.net,
            verdict,
        })
        .collect();
    for (file, content) in polku_engine::pnml::export(&entries) {
        std::fs::write(out.join(file), content)?;
    }
    eprintln!("{count} nets: {sound} sound, {unsound} unsound, written to {}", out.display());
    Ok(())
}

/// Parses, resolves and validates one region; returns (errors, soundness-checked nets).
fn validate_region(region: &Region) -> (usize, usize) {
    let mut sources = SourceSet::new();
    for (path, text) in region {
        sources.add(path.clone(), text.clone());
    }
    let checked = polku_dsl::check(&sources, &[]);
    let validation = polku_engine::validate(&checked.files, polku_engine::Limits::default());
    let errors =
        checked.diagnostics.iter().chain(&validation.diagnostics).filter(|d| d.is_error()).count();
    (errors, validation.nets.len())
}

fn validate_benchmark(
    corpus_dir: &Path,
    scale: f64,
    repeat: usize,
    python: Option<&str>,
) -> Result<()> {
    let corpus = read_corpus(corpus_dir)?;
    let processes = process_names(&corpus);
    let shipped: Region = corpus.clone();
    let mut runs = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        let (errors, _) = validate_region(&shipped);
        runs.push(started.elapsed());
        if errors > 0 {
            bail!("the shipped corpus has {errors} errors");
        }
    }
    let shipped_time = median(runs);

    let region_count = ((REGIONS as f64) * scale).ceil().max(1.0) as usize;
    let regions: Vec<Region> =
        (0..region_count).map(|r| generate_region(&corpus, &processes, r)).collect();
    let bytes: usize = regions.iter().flatten().map(|(_, t)| t.len()).sum();
    let process_count =
        regions.len() * PROCESSES_PER_REGION.div_ceil(processes.len()) * processes.len();
    let mut samples = Vec::new();
    let mut nets = 0;
    for _ in 0..repeat {
        let started = Instant::now();
        // Two threads, one per core: regions are independent models.
        let (a, b) = regions.split_at(regions.len() / 2);
        let (left, right) = std::thread::scope(|scope| {
            let left = scope.spawn(|| {
                a.iter().map(validate_region).fold((0, 0), |x, y| (x.0 + y.0, x.1 + y.1))
            });
            let right = b.iter().map(validate_region).fold((0, 0), |x, y| (x.0 + y.0, x.1 + y.1));
            (left.join().unwrap_or((1, 0)), right)
        });
        samples.push(started.elapsed());
        if left.0 + right.0 > 0 {
            bail!("the generated model has {} errors", left.0 + right.0);
        }
        nets = left.1 + right.1;
    }
    let time = median(samples);
    println!("| model | MB | processes | flows checked for soundness | time (median of {repeat}) | per process |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| national, {} regions, 2 threads | {:.1} | {process_count} | {nets} | {:.3} s | {:.1} µs |",
        regions.len(),
        bytes as f64 / 1e6,
        time.as_secs_f64(),
        time.as_secs_f64() * 1e6 / process_count as f64
    );
    println!(
        "| shipped corpus, 1 thread | {:.2} | {} | 93 | {:.2} ms | {:.1} µs |",
        corpus.iter().map(|(_, t)| t.len()).sum::<usize>() as f64 / 1e6,
        processes.len(),
        shipped_time.as_secs_f64() * 1e3,
        shipped_time.as_secs_f64() * 1e6 / processes.len() as f64
    );
    match python {
        Some(python) => soundness_against_pm4py(&shipped, python)?,
        None => println!(
            "\n(set POLKU_PYTHON or --python to a Python with pm4py for the comparison with pm4py)"
        ),
    }
    Ok(())
}

/// Polku's and pm4py's soundness checks on the same nets, in one run: every flow of the shipped
/// model and 200 random nets. Only the checks are timed, not building or reading the nets.
fn soundness_against_pm4py(shipped: &Region, python: &str) -> Result<()> {
    let mut sources = SourceSet::new();
    for (path, text) in shipped {
        sources.add(path.clone(), text.clone());
    }
    let checked = polku_dsl::check(&sources, &[]);
    let validation = polku_engine::validate(&checked.files, polku_engine::Limits::default());
    let mut nets: Vec<(String, &'static str, polku_engine::net::Net)> = validation
        .nets
        .iter()
        .map(|n| (n.name.clone(), n.kind.as_str(), n.flow.net.clone()))
        .collect();
    let mut rng = polku_bench::nets::Rng::new(2026);
    for i in 0..200 {
        let (_, _, flow) = polku_bench::nets::random_net(&mut rng);
        nets.push((format!("random{i:03}"), "random", flow.net));
    }
    let verdicts: Vec<polku_engine::Verdict> = nets
        .iter()
        .map(|(_, _, net)| polku_engine::net::check_soundness(net, polku_engine::Limits::default()))
        .collect();
    let mut polku_runs = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        for (_, _, net) in &nets {
            std::hint::black_box(polku_engine::net::check_soundness(
                net,
                polku_engine::Limits::default(),
            ));
        }
        polku_runs.push(started.elapsed());
    }
    let polku_time = median(polku_runs);
    let dir = std::env::temp_dir().join(format!("polku-bench-nets-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let entries: Vec<polku_engine::pnml::Entry> = nets
        .iter()
        .zip(&verdicts)
        .map(|((name, kind, net), verdict)| polku_engine::pnml::Entry { name, kind, net, verdict })
        .collect();
    for (file, content) in polku_engine::pnml::export(&entries) {
        std::fs::write(dir.join(file), content)?;
    }
    let script = (std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))))
    .join("../tests/oracle/pm4py_soundness.py");
    let output = std::process::Command::new(python).arg(script).arg(&dir).output()?;
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("no result from the pm4py script")?;
    if !output.status.success() {
        bail!("pm4py disagrees with Polku: {line}");
    }
    let pm4py_seconds: f64 = line
        .split("\"pm4py_seconds\": ")
        .nth(1)
        .and_then(|r| r.trim_end_matches('}').trim().parse().ok())
        .context("no pm4py time in the result")?;
    println!();
    println!("| soundness of {} nets (93 shipped flows, 200 random) | time |", nets.len());
    println!("|---|---|");
    println!(
        "| Polku `check_soundness` (median of 21 runs) | {:.2} ms |",
        polku_time.as_secs_f64() * 1e3
    );
    println!("| pm4py `check_soundness` (one run, import not timed) | {:.2} s |", pm4py_seconds);
    println!(
        "| **ratio (pm4py ÷ Polku)** | **{:.0}×** |",
        pm4py_seconds / polku_time.as_secs_f64()
    );
    println!("\nverdicts agree on all {} nets", nets.len());
    Ok(())
}

/// A generated region: its files as (path, text).
type Region = Vec<(String, String)>;

fn read_corpus(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "polku") {
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            files.push((name, std::fs::read_to_string(&path)?));
        }
    }
    files.sort();
    Ok(files)
}

/// The names of the processes the corpus defines.
fn process_names(files: &[(String, String)]) -> HashSet<String> {
    let mut names = HashSet::new();
    for (_, text) in files {
        let tokens = lex(FileId(0), text).tokens;
        for pair in tokens.windows(2) {
            if pair[0].kind == TokenKind::Name
                && &text[pair[0].span.range()] == "prosessi"
                && pair[1].kind == TokenKind::Name
            {
                names.insert(text[pair[1].span.range()].to_owned());
            }
        }
    }
    names
}

/// Renames every reference to a process (`prosessi P`, `ohjaus P`, `työnkulku P.phase`) by
/// appending `suffix`, working on tokens so that nothing else changes.
fn rename_processes(text: &str, processes: &HashSet<String>, suffix: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut last = 0;
    for token in lex(FileId(0), text).tokens {
        if token.kind != TokenKind::Name {
            continue;
        }
        let word = &text[token.span.range()];
        let head = word.split('.').next().unwrap_or(word);
        if processes.contains(head) {
            let end = token.span.start as usize + head.len();
            out.push_str(&text[last..end]);
            out.push_str(suffix);
            last = end;
        }
    }
    out.push_str(&text[last..]);
    out
}

fn generate_region(
    corpus: &[(String, String)],
    processes: &HashSet<String>,
    region: usize,
) -> Region {
    let process_files: Vec<&(String, String)> = corpus
        .iter()
        .filter(|(_, text)| text.contains("\nprosessi ") || text.starts_with("prosessi "))
        .collect();
    let mut files: Region = corpus
        .iter()
        .filter(|(_, text)| !(text.contains("\nprosessi ") || text.starts_with("prosessi ")))
        // Files that name processes without defining one (forms: `askel PROCESS.STEP`) name the
        // first copy.
        .map(|(name, text)| {
            (format!("alue{region}/{name}"), rename_processes(text, processes, "_0"))
        })
        .collect();
    let copies = PROCESSES_PER_REGION.div_ceil(processes.len().max(1));
    for copy in 0..copies {
        let suffix = format!("_{copy}");
        for (name, text) in &process_files {
            let stem = name.trim_end_matches(".polku");
            files.push((
                format!("alue{region}/{stem}{suffix}.polku"),
                rename_processes(text, processes, &suffix),
            ));
        }
    }
    files
}

fn check_region(region: &Region) -> usize {
    let mut sources = SourceSet::new();
    for (path, text) in region {
        sources.add(path.clone(), text.clone());
    }
    let checked = polku_dsl::check(&sources, &[]);
    checked.diagnostics.iter().filter(|d| d.is_error()).count()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn parse_benchmark(corpus_dir: &Path, scale: f64, repeat: usize) -> Result<()> {
    let corpus = read_corpus(corpus_dir)?;
    let processes = process_names(&corpus);
    let corpus_bytes: usize = corpus.iter().map(|(_, t)| t.len()).sum();

    // The shipped corpus as `polku check` sees it, in process.
    let mut shipped = Vec::new();
    let region: Region = corpus.iter().map(|(n, t)| (n.clone(), t.clone())).collect();
    for _ in 0..21 {
        let started = Instant::now();
        let errors = check_region(&region);
        shipped.push(started.elapsed());
        if errors > 0 {
            bail!("the shipped corpus has {errors} errors");
        }
    }
    let shipped = median(shipped);

    let base_regions = ((REGIONS as f64) * scale).ceil().max(1.0) as usize;
    println!(
        "| input | regions | processes | MB | time (median of {repeat}) | MB/s | time ÷ 1× time |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut first = None;
    for factor in [1usize, 2, 4] {
        let regions: Vec<Region> =
            (0..base_regions * factor).map(|r| generate_region(&corpus, &processes, r)).collect();
        let bytes: usize = regions.iter().flatten().map(|(_, t)| t.len()).sum();
        let process_count =
            regions.len() * PROCESSES_PER_REGION.div_ceil(processes.len()) * processes.len();
        let mut samples = Vec::new();
        for _ in 0..repeat {
            let started = Instant::now();
            let mut errors = 0;
            for region in &regions {
                errors += check_region(region);
            }
            samples.push(started.elapsed());
            if errors > 0 {
                bail!("the generated model has {errors} errors");
            }
        }
        let time = median(samples);
        let mb = bytes as f64 / 1e6;
        let per_second = mb / time.as_secs_f64();
        let first = *first.get_or_insert(time);
        println!(
            "| {factor}× | {} | {process_count} | {mb:.1} | {:.3} s | {per_second:.1} | {:.2} |",
            regions.len(),
            time.as_secs_f64(),
            time.as_secs_f64() / first.as_secs_f64()
        );
    }
    println!();
    println!(
        "shipped corpus ({} files, {:.1} kB): parse and resolve {:.2} ms (median of 21)",
        corpus.len(),
        corpus_bytes as f64 / 1e3,
        shipped.as_secs_f64() * 1e3
    );
    // The whole command, as a process owner runs it, when the binary is built beside this one.
    let binary = std::env::current_exe()?.with_file_name("polku");
    if binary.is_file() {
        let mut runs = Vec::new();
        for _ in 0..21 {
            let started = Instant::now();
            let status = std::process::Command::new(&binary)
                .arg("check")
                .arg(corpus_dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()?;
            runs.push(started.elapsed());
            if !status.success() {
                bail!("polku check {} failed", corpus_dir.display());
            }
        }
        println!(
            "`polku check` on the shipped corpus, whole process: {:.2} ms (median of 21)",
            median(runs).as_secs_f64() * 1e3
        );
    }
    Ok(())
}
