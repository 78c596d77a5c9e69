//! `polku-bench`: measures the toolchain on a generated national-scale model.
//!
//! The model is built from the shipped Keusote corpus: each of 21 regions gets the catalogue,
//! segmentations and chain, and 200 processes made by copying the corpus's processes under new
//! names (with their workflows and the referrals between them renamed to match). So the text
//! is what process owners really write, at the scale of the whole country.
//!
//! Run with `cargo run --release -p polku-bench -- parse`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use polku_dsl::lexer::{lex, TokenKind};
use polku_dsl::{FileId, SourceSet};

const REGIONS: usize = 21;
const PROCESSES_PER_REGION: usize = 200;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut command = None;
    let mut corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../processes/keusote");
    let mut scale = 1.0f64;
    let mut repeat = 3usize;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--corpus" => corpus = PathBuf::from(iter.next().context("--corpus needs a folder")?),
            "--scale" => scale = iter.next().context("--scale needs a number")?.parse()?,
            "--repeat" => repeat = iter.next().context("--repeat needs a number")?.parse()?,
            "parse" => command = Some("parse"),
            "-h" | "--help" => {
                println!("usage: polku-bench parse [--corpus DIR] [--scale F] [--repeat N]");
                return Ok(());
            }
            other => bail!("unknown argument {other}; try --help"),
        }
    }
    match command {
        Some("parse") => parse_benchmark(&corpus, scale, repeat.max(1)),
        _ => bail!("say which benchmark to run: parse"),
    }
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
        .map(|(name, text)| (format!("alue{region}/{name}"), text.clone()))
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
