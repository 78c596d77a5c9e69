//! Benchmarks of tracking clients: executing events in memory (against the npm `bpmn-engine`),
//! durable ingest into SQLite (against plain SQLite inserts of the same rows), and start-up
//! recovery with a million cases.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use polku_engine::event::{Event, EventKind};
use polku_engine::model::Model;
use polku_engine::projection::Projection;
use polku_engine::pseudonym::PseudonymKey;
use polku_engine::simulate::{simulate, Options};
use polku_engine::time::Timestamp;
use polku_store::tracker::{Actor, ModelSources, Tracker};

pub fn corpus_sources(corpus: &Path) -> Result<ModelSources> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(corpus)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "polku") {
            let name = path.file_name().context("file name")?.to_string_lossy().into_owned();
            files.push((name, std::fs::read_to_string(&path)?));
        }
    }
    Ok(ModelSources::new(files))
}

fn key() -> PseudonymKey {
    PseudonymKey::new(vec![42; 32]).expect("a 32-byte key")
}

/// A simulated stream with clients pseudonymised, as ingest sees it.
fn stream(model: &Model, clients: u32, seed: u64) -> Result<Vec<Event>> {
    stream_days(model, clients, seed, 365)
}

fn stream_days(model: &Model, clients: u32, seed: u64, days: u32) -> Result<Vec<Event>> {
    let options =
        Options { clients, days, seed, start: Timestamp::parse("2026-01-01").context("date")? };
    let mut events = simulate(model, "bench", &options).map_err(anyhow::Error::msg)?;
    let key = key();
    for e in &mut events {
        if let EventKind::CaseOpened { client, .. } = &mut e.kind {
            *client = polku_engine::pseudonym::pseudonymise(client, &key)?.as_str().to_owned();
        }
    }
    Ok(events)
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Applies a simulated Keusote year in memory; with `peer`, runs the same processes in
/// bpmn-engine in the same run and reports the ratio.
pub fn exec(
    corpus: &Path,
    clients: u32,
    seed: u64,
    repeat: usize,
    peer: Option<&Path>,
    instances: usize,
) -> Result<()> {
    let sources = corpus_sources(corpus)?;
    let model = sources.compile().map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let events = stream(&model, clients, seed)?;
    println!(
        "simulated {clients} clients: {} events in {:.2} s",
        events.len(),
        started.elapsed().as_secs_f64()
    );
    let mut best = Duration::MAX;
    let mut cases = 0;
    let mut deviations = 0;
    let mut kept = None;
    for _ in 0..repeat {
        let mut p = Projection::new(&sources.hash(), &model)?;
        let t = Instant::now();
        let mut d = 0u64;
        for e in &events {
            if let polku_engine::projection::Outcome::Applied(Some(_)) = p.apply(e, 0) {
                d += 1;
            }
        }
        let took = t.elapsed();
        best = best.min(took);
        cases = p.opened_cases();
        deviations = d;
        kept = Some(p);
    }
    let rate = events.len() as f64 / best.as_secs_f64();
    println!(
        "polku: {} events, {cases} cases, {deviations} deviations, best of {repeat}: {:.3} s = {:.0} events/s on one core",
        events.len(),
        best.as_secs_f64(),
        rate
    );
    drop(kept);
    let Some(dir) = peer else { return Ok(()) };
    // The same processes as BPMN: each process's generic steps in order, weighted by how many
    // cases the simulation opened in it.
    let mut weights: std::collections::BTreeMap<String, u64> = Default::default();
    for e in &events {
        if let EventKind::CaseOpened { process, .. } = &e.kind {
            *weights.entry(process.clone()).or_default() += 1;
        }
    }
    let processes: Vec<serde_json::Value> = model
        .processes
        .values()
        .map(|p| {
            serde_json::json!({
                "id": p.name,
                "steps": p.generic.steps.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                "weight": weights.get(&p.name).copied().unwrap_or(1),
            })
        })
        .collect();
    let spec = serde_json::json!({ "instances": instances, "processes": processes });
    let spec_path =
        std::env::temp_dir().join(format!("polku-bpmn-spec-{}.json", std::process::id()));
    std::fs::write(&spec_path, serde_json::to_vec(&spec)?)?;
    let install = (std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))))
    .join("peers/bpmn-engine");
    let installed = std::process::Command::new("bash")
        .arg(install.join("install.sh"))
        .output()
        .context("running the bpmn-engine install script")?;
    if !installed.status.success() {
        bail!("installing bpmn-engine failed: {}", String::from_utf8_lossy(&installed.stderr));
    }
    let folder = String::from_utf8_lossy(&installed.stdout).lines().last().unwrap_or("").to_owned();
    let _ = dir;
    let output = std::process::Command::new("node")
        .arg(install.join("run.js"))
        .arg(&spec_path)
        .env("POLKU_BPMN_ENGINE_DIR", folder)
        .output()
        .context("running node")?;
    let _ = std::fs::remove_file(&spec_path);
    if !output.status.success() {
        bail!("bpmn-engine run failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let line = String::from_utf8_lossy(&output.stdout);
    let result: serde_json::Value = serde_json::from_str(line.trim())?;
    let theirs = result["tasks_per_second"].as_f64().context("tasks_per_second")?;
    println!("bpmn-engine {}: {line}", result["version"]);
    println!(
        "ratio: polku {:.0} events/s ÷ bpmn-engine {:.0} activities/s = {:.0}×",
        rate,
        theirs,
        rate / theirs
    );
    Ok(())
}

/// User and system time, and the user and system time of ended children waited for, in
/// seconds, from a `/proc/PID/stat` text (fields 14 to 17; Linux counts in hundredths of a
/// second, USER_HZ).
fn stat_times(stat: &str) -> Option<[f64; 4]> {
    // After the command's name: the state is field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let mut times = [0.0; 4];
    for (i, time) in times.iter_mut().enumerate() {
        *time = fields.get(11 + i)?.parse::<f64>().ok()? / 100.0;
    }
    Some(times)
}

/// This process's [`stat_times`] (zeros where there is no `/proc`).
fn own_times() -> [f64; 4] {
    std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| stat_times(&s)).unwrap_or_default()
}

/// The CPU time this process has used so far, every thread, user and system, in seconds (0
/// where there is no `/proc`). Under a machine shared with other work, CPU time per event is a
/// steadier measure of a change's cost than the rate.
fn cpu_seconds() -> f64 {
    let [user, system, ..] = own_times();
    user + system
}

/// The CPU time, in seconds, of this process's children that have ended and been waited for.
fn children_cpu_seconds() -> f64 {
    let [.., user, system] = own_times();
    user + system
}

/// The CPU time, in seconds, that PostgreSQL's processes on this machine have used so far: each
/// live process's own, and (in the fields of its parent) that of the backends that have ended.
/// A phase's cost is the difference over it. 0 where there is no `/proc`.
fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| stat.rsplit_once(')').is_some_and(|(name, _)| name.ends_with("(postgres")))
        .filter_map(|stat| stat_times(&stat))
        .map(|times| times.iter().sum::<f64>())
        .sum()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Durable ingest through the tracker against plain SQLite inserts of the same rows in the
/// same batches, in the same run, on the same disk.
pub fn ingest(corpus: &Path, clients: u32, seed: u64, batches: &[usize], dir: &Path) -> Result<()> {
    let sources = corpus_sources(corpus)?;
    let model = sources.compile().map_err(anyhow::Error::msg)?;
    let events = stream(&model, clients, seed)?;
    let rows: Vec<String> = events.iter().map(serde_json::to_string).collect::<Result<_, _>>()?;
    std::fs::create_dir_all(dir)?;
    println!(
        "{} events, {:.0} bytes per row on average",
        events.len(),
        rows.iter().map(String::len).sum::<usize>() as f64 / rows.len() as f64
    );
    for &batch in batches {
        // Plain SQLite: the same pragmas, rows and batch size; no checks, no projection.
        let plain_path = dir.join(format!("plain-{batch}.sqlite"));
        remove_db(&plain_path);
        let conn = rusqlite::Connection::open(&plain_path)?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             CREATE TABLE events (seq INTEGER PRIMARY KEY, model INTEGER NOT NULL, body TEXT NOT NULL);",
        )?;
        let mut conn = conn;
        let mut latencies = Vec::with_capacity(rows.len());
        let cpu = cpu_seconds();
        let t = Instant::now();
        for chunk in rows.chunks(batch) {
            let mut arrivals = Vec::with_capacity(chunk.len());
            let tx = conn.transaction()?;
            {
                let mut insert =
                    tx.prepare_cached("INSERT INTO events (model, body) VALUES (?1, ?2)")?;
                for row in chunk {
                    arrivals.push(Instant::now());
                    insert.execute(rusqlite::params![1i64, row])?;
                }
            }
            tx.commit()?;
            let done = Instant::now();
            latencies.extend(arrivals.iter().map(|a| (done - *a).as_secs_f64() * 1000.0));
        }
        let plain_secs = t.elapsed().as_secs_f64();
        let plain_cpu = cpu_seconds() - cpu;
        drop(conn);
        latencies.sort_by(f64::total_cmp);
        let plain_rate = rows.len() as f64 / plain_secs;
        let plain_p50 = percentile(&latencies, 0.5);
        let plain_p99 = percentile(&latencies, 0.99);

        // Polku: parse-free (events already read), checked, applied, group-committed.
        let ours_path = dir.join(format!("polku-{batch}.sqlite"));
        remove_db(&ours_path);
        let store = polku_store::open(&format!("sqlite://{}", ours_path.display()))?;
        let mut tracker = Tracker::open(store, &sources, &model, key())?;
        let actor = Actor::new("bench", "bench");
        let arrivals: std::cell::RefCell<Vec<Instant>> =
            std::cell::RefCell::new(vec![Instant::now(); events.len() + 1]);
        let mut latencies = Vec::with_capacity(events.len());
        let mut acked = 0usize;
        // The events as read, each with its line, as `polku ingest` hands them over.
        let prepared: Vec<(usize, Event, Option<String>)> = events
            .iter()
            .cloned()
            .zip(rows.iter().cloned())
            .enumerate()
            .map(|(i, (e, row))| (i + 1, e, Some(row)))
            .collect();
        let cpu = cpu_seconds();
        let t = Instant::now();
        let feed = prepared.into_iter().inspect(|item| {
            arrivals.borrow_mut()[item.0] = Instant::now();
        });
        let (ack, _) = tracker.ingest(feed, batch, &actor, &mut |a| {
            let now = Instant::now();
            let arrivals = arrivals.borrow();
            for line in acked + 1..=a.line {
                latencies.push((now - arrivals[line]).as_secs_f64() * 1000.0);
            }
            acked = a.line;
        })?;
        let ours_secs = t.elapsed().as_secs_f64();
        let ours_cpu = cpu_seconds() - cpu;
        latencies.sort_by(f64::total_cmp);
        let ours_rate = events.len() as f64 / ours_secs;
        let ours_p99 = percentile(&latencies, 0.99);
        println!(
            "batch {batch:>5}: polku {:.0} events/s (p50 {:.2} ms, p99 {:.2} ms, {} stored, CPU {:.2} µs/event) | plain SQLite {:.0} rows/s (p50 {:.2} ms, p99 {:.2} ms, CPU {:.2} µs/row) | ratio {:.2}×",
            ours_rate,
            percentile(&latencies, 0.5),
            ours_p99,
            ack.accepted,
            ours_cpu * 1e6 / events.len() as f64,
            plain_rate,
            plain_p50,
            plain_p99,
            plain_cpu * 1e6 / rows.len() as f64,
            ours_rate / plain_rate
        );
        drop(tracker);
        remove_db(&ours_path);
        remove_db(&plain_path);
    }
    Ok(())
}

/// The writer alone: the simulated stream's rows appended to a fresh SQLite store in batches,
/// as the writer thread appends a group (`EventStore::append`), without checking or applying
/// the events. It is the part of ingest a change to the stored rows (such as their hash chain)
/// changes, measured without the rest, whose variance on a shared machine hides a few percent.
pub fn append(
    corpus: &Path,
    clients: u32,
    seed: u64,
    batches: &[usize],
    repeat: usize,
    dir: &Path,
) -> Result<()> {
    let sources = corpus_sources(corpus)?;
    let model = sources.compile().map_err(anyhow::Error::msg)?;
    let events = stream(&model, clients, seed)?;
    let rows: Vec<String> = events.iter().map(serde_json::to_string).collect::<Result<_, _>>()?;
    drop(events);
    std::fs::create_dir_all(dir)?;
    let path = dir.join("append.sqlite");
    for &batch in batches {
        let mut rates = Vec::with_capacity(repeat);
        let mut cpus = Vec::with_capacity(repeat);
        for _ in 0..repeat {
            remove_db(&path);
            let mut store = polku_store::sqlite::SqliteStore::open(&path)?;
            let id = polku_store::EventStore::put_model(&mut store, &sources.hash(), "{}")?;
            let rows: Vec<polku_store::NewRecord> = rows
                .iter()
                .map(|r| polku_store::NewRecord { model: id, body: r.clone() })
                .collect();
            let cpu = cpu_seconds();
            let t = Instant::now();
            let mut after = 0;
            for chunk in rows.chunks(batch) {
                after = polku_store::EventStore::append(&mut store, after, chunk)?;
            }
            rates.push(rows.len() as f64 / t.elapsed().as_secs_f64());
            cpus.push((cpu_seconds() - cpu) * 1e6 / rows.len() as f64);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "append batch {batch:>5}: {} rows, median of {repeat}: {:.0} rows/s, CPU {:.2} µs/row",
            rows.len(),
            median(&mut rates),
            median(&mut cpus)
        );
    }
    remove_db(&path);
    Ok(())
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Start-up recovery: builds a store with `clients` simulated clients (about 1.4 cases each),
/// snapshots it, appends `tail` more events, then times a fresh open in a child process and
/// reads its resident memory.
#[allow(clippy::too_many_arguments)] // One per benchmark option.
pub fn recover(
    corpus: &Path,
    clients: u32,
    days: u32,
    seed: u64,
    tail_share: f64,
    dir: &Path,
    reuse: bool,
    url: Option<&str>,
) -> Result<()> {
    let sources = corpus_sources(corpus)?;
    let model = sources.compile().map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(dir)?;
    let db = dir.join(format!("recover-{clients}-{days}-{seed}-{tail_share}.sqlite"));
    // SQLite in `dir` unless a database (an empty PostgreSQL database) is named.
    let url = url.map_or_else(|| format!("sqlite://{}", db.display()), str::to_owned);
    let built = match url.strip_prefix("sqlite://") {
        Some(_) => db.exists(),
        None => polku_store::EventStore::last_seq(polku_store::open(&url)?.as_mut())? > 0,
    };
    if !(reuse && built) {
        if url.starts_with("sqlite://") {
            remove_db(&db);
        } else if built {
            bail!("{url} already holds events: give an empty database, or --reuse");
        }
        let t = Instant::now();
        let events = stream_days(&model, clients, seed, days)?;
        println!("simulated {} events in {:.1} s", events.len(), t.elapsed().as_secs_f64());
        let store = polku_store::open(&url)?;
        let mut tracker = Tracker::open(store, &sources, &model, key())?;
        let actor = Actor::new("bench", "bench");
        let split = ((events.len() as f64) * (1.0 - tail_share)) as usize;
        let mut events = events;
        let tail = events.split_off(split);
        let t = Instant::now();
        tracker.ingest(
            events.into_iter().enumerate().map(|(i, e)| (i + 1, e, None)),
            10_000,
            &actor,
            &mut |_| {},
        )?;
        println!("ingested in {:.1} s", t.elapsed().as_secs_f64());
        let t = Instant::now();
        tracker.save_snapshot()?;
        println!("snapshot written in {:.1} s", t.elapsed().as_secs_f64());
        tracker.ingest(
            tail.into_iter().enumerate().map(|(i, e)| (i + 1, e, None)),
            10_000,
            &actor,
            &mut |_| {},
        )?;
    }
    let exe = std::env::current_exe()?;
    let output = std::process::Command::new(exe)
        .args(["recover-open", "--url", &url])
        .arg("--corpus")
        .arg(corpus)
        .output()?;
    if !output.status.success() {
        bail!("recovery failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    print!("{}", String::from_utf8_lossy(&output.stdout));
    Ok(())
}

/// The child of [`recover`]: opens the store and reports.
pub fn recover_open(corpus: &Path, url: &str) -> Result<()> {
    let sources = corpus_sources(corpus)?;
    let model = sources.compile().map_err(anyhow::Error::msg)?;
    let baseline = resident_kib();
    let t = Instant::now();
    let store = polku_store::open(url)?;
    let mut tracker = Tracker::open(store, &sources, &model, key())?;
    let took = t.elapsed().as_secs_f64();
    let info = tracker.info()?;
    let resident = resident_kib();
    println!(
        "recovered {} cases, {} events ({} after the snapshot) in {:.2} s; resident {} MiB, {:.0} bytes per case above the {} MiB baseline",
        info.cases,
        info.events,
        info.log_seq - info.snapshot_seq,
        took,
        resident / 1024,
        (resident.saturating_sub(baseline) * 1024) as f64 / info.cases.max(1) as f64,
        baseline / 1024
    );
    // The reports over all those cases.
    let day = |d: &str| Timestamp::parse(d).map(|t| t.0).unwrap_or(0);
    let t = Instant::now();
    let segments = tracker.projection.segment_report(day("2026-06-30"));
    let segments_took = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let transitions = tracker.projection.transition_report(day("2026-03-31"), day("2026-09-30"));
    let transitions_took = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let completion = tracker.projection.completion_report(day("2026-09-30"));
    let completion_took = t.elapsed().as_secs_f64();
    println!(
        "reports: segments on a date {:.3} s ({} open cases), transitions between two dates {:.3} s ({} rows), completion with overdue steps {:.3} s ({} cases)",
        segments_took,
        segments.cases,
        transitions_took,
        transitions.rows.len(),
        completion_took,
        completion.cases
    );
    // A model change over every open case: a step added to the first process's first phase,
    // previewed as `polku migrate --dry-run` does.
    let mut files = sources.files.clone();
    let (_, text) = files
        .iter_mut()
        .find(|(_, t)| t.contains("\n    askel "))
        .context("no process with steps in the corpus")?;
    *text =
        text.replacen("\n    askel ", "\n    askel migraatio_bench \"Uusi askel\"\n    askel ", 1);
    let changed = polku_store::tracker::ModelSources::new(files);
    let changed_model = changed.compile().map_err(anyhow::Error::msg)?;
    let to = tracker
        .projection
        .add_version(&changed.hash(), &changed_model)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let t = Instant::now();
    let preview = tracker.projection.migration_preview(to);
    let preview_took = t.elapsed().as_secs_f64();
    let moving: u64 = preview.moves.iter().map(|m| m.cases).sum();
    let gaining: u64 = preview.moves.iter().filter(|m| !m.gained.is_empty()).map(|m| m.cases).sum();
    println!(
        "migration dry run over {} open cases: {preview_took:.2} s ({moving} would move, {gaining} of them gaining the step; {} cannot)",
        moving + preview.blocked.len() as u64,
        preview.blocked.len()
    );
    Ok(())
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// A snapshot of a large store: the time and the memory it takes on top of the projection; the
/// acknowledgement latency of a small batch through the service that crosses the snapshot
/// threshold; and, while that snapshot is written, how long a read of the state and a second
/// batch wait. Works on a copy the caller made (it writes a snapshot and events), given by URL.
pub fn snapshot(corpus: &Path, url: &str, batch: usize, touch: usize) -> Result<()> {
    let sources = corpus_sources(corpus)?;
    let model = sources.compile().map_err(anyhow::Error::msg)?;
    // With `touch`: that many events of cases spread over the store, sent again under new ids
    // while the snapshot is written, so that most chunks of cases are changed while the
    // snapshot's copy shares them (each such chunk is then copied).
    let touching = if touch > 0 { spread_events(url, touch)? } else { Vec::new() };
    let t = Instant::now();
    let store = polku_store::open(url)?;
    let mut tracker = Tracker::open(store, &sources, &model, key())?;
    let info = tracker.info()?;
    println!(
        "opened {} cases, {} events in {:.2} s; resident {} MiB",
        info.cases,
        info.events,
        t.elapsed().as_secs_f64(),
        status_kib("VmRSS:") / 1024
    );
    // The peak so far is the opening's: start counting afresh (Linux: clear_refs 5).
    std::fs::write("/proc/self/clear_refs", "5").context("resetting the peak resident size")?;
    let before = status_kib("VmRSS:");
    let size = polku_store::snapshot::Image::of(&tracker.projection).encoded_len();
    let t = Instant::now();
    tracker.save_snapshot()?;
    let took = t.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM:");
    println!(
        "snapshot of {} cases ({:.0} MiB): {took:.2} s; resident {} MiB before, peak {} MiB: {} MiB above the projection",
        info.cases,
        size as f64 / 1048576.0,
        before / 1024,
        peak / 1024,
        peak.saturating_sub(before) / 1024
    );
    // Small batches of new cases: the first crosses the threshold (the service snapshots after
    // every event here), the second is sent while that snapshot is written.
    let mut events = stream_days(&model, 400, 99, 30)?;
    for e in &mut events {
        e.case = format!("snapbench-{}", e.case);
        e.id = format!("snapbench-{}", e.id);
    }
    let cases: Vec<String> = {
        let mut seen = std::collections::BTreeSet::new();
        events.iter().filter(|e| seen.insert(e.case.clone())).map(|e| e.case.clone()).collect()
    };
    let (first_cases, rest) = cases.split_at(cases.len() / 10);
    let (second_cases, later_cases) = rest.split_at(rest.len() / 9);
    let pick = |of: &[String]| -> Vec<_> {
        let mut picked: Vec<_> = events.iter().filter(|e| of.contains(&e.case)).cloned().collect();
        picked.truncate(batch);
        picked
    };
    let (first, second) = (pick(first_cases), pick(second_cases));
    // Clients spread over the store, for status reads: each read once, so that each status is
    // made (none kept ready), its access-log row written first, as over HTTP.
    let spread = (tracker.projection.clients.len() / 4000).max(1);
    let pseudonyms: Vec<polku_engine::pseudonym::Pseudonym> = (0..4000)
        .filter_map(|i| tracker.projection.clients.get(i * spread))
        .filter_map(|bytes| {
            polku_engine::pseudonym::Pseudonym::parse(&polku_engine::pseudonym::to_hex(bytes))
        })
        .collect();
    let (quiet_clients, busy_clients) = pseudonyms.split_at(pseudonyms.len() / 2);
    let service = polku_store::TrackerService::with_snapshots(tracker, 1);
    let actor = Actor::new("bench", "bench");
    // Status reads every 5 ms with nothing else going on, for comparison.
    let quiet = status_reads(&service, quiet_clients, &|| false, 400)?;
    let t = Instant::now();
    let result = service.append(first, &actor, &|_| true)?;
    // Events of existing cases, in batches, as fast as they are answered, while it is written.
    let toucher = {
        let service = service.clone();
        let seq = result.seq;
        std::thread::spawn(move || -> Result<(u64, u64, usize)> {
            let unwritten = |t: &Tracker| t.log_seq() - t.unsnapshotted() < seq;
            let actor = Actor::new("bench", "system");
            let (mut stored, mut refused, mut cases) = (0, 0, std::collections::HashSet::new());
            for chunk in touching.chunks(100) {
                if !service.with(|t| unwritten(t)) {
                    break;
                }
                let answer = service.append(chunk.to_vec(), &actor, &|_| true)?;
                stored += answer.stored;
                refused += answer.refused;
                cases.extend(chunk.iter().map(|e| e.case.clone()));
            }
            Ok((stored, refused, cases.len()))
        })
    };
    // From the batch that made the snapshot due until it is written: a status read every 5 ms.
    let reads = {
        let service = service.clone();
        let busy = busy_clients.to_vec();
        let seq = result.seq;
        std::thread::spawn(move || {
            let unwritten = |t: &Tracker| t.log_seq() - t.unsnapshotted() < seq;
            status_reads(&service, &busy, &|| !service.with(|t| unwritten(t)), usize::MAX)
        })
    };
    let acked = t.elapsed().as_secs_f64();
    // The snapshot has begun on its own thread: give it a moment to be under way. Each
    // answer below tells whether the snapshot was still unwritten when it came.
    std::thread::sleep(Duration::from_millis(200));
    let unwritten = |t: &Tracker| t.log_seq() - t.unsnapshotted() < result.seq;
    let r = Instant::now();
    let (seq, read_during) = service.with(|t| (t.log_seq(), unwritten(t)));
    let read = r.elapsed().as_secs_f64();
    let b = Instant::now();
    let second = service.append(second, &actor, &|_| true)?;
    let second_acked = b.elapsed().as_secs_f64();
    let second_during = service.with(|t| unwritten(t));
    // Then, until the snapshot is written, a batch of one new case every 20 ms, as record
    // systems keep sending: how long each waited for its answer.
    let mut during = Vec::new();
    let mut later = later_cases.iter();
    while service.with(|t| unwritten(t)) {
        let Some(case) = later.next() else { break };
        let batch = pick(std::slice::from_ref(case));
        let b = Instant::now();
        service.append(batch, &actor, &|_| true)?;
        during.push(b.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(20));
    }
    while service.with(|t| unwritten(t)) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let written = t.elapsed().as_secs_f64();
    println!(
        "a batch of {} events crossing the threshold: acknowledged in {:.1} ms; its snapshot written {:.2} s after the batch was sent; peak resident {} MiB",
        result.stored,
        acked * 1000.0,
        written,
        status_kib("VmHWM:") / 1024
    );
    let when = |during: bool| {
        if during {
            "the snapshot still being written"
        } else {
            "after the snapshot"
        }
    };
    println!(
        "200 ms after that: the state read in {:.1} ms ({}, at record {seq}); then a second batch of {} events acknowledged in {:.1} ms ({})",
        read * 1000.0,
        when(read_during),
        second.stored,
        second_acked * 1000.0,
        when(second_during),
    );
    during.sort_by(f64::total_cmp);
    if let (Some(max), false) = (during.last(), during.is_empty()) {
        println!(
            "batches of one case every 20 ms until it was written: {} batches, acknowledged in a median {:.1} ms, at most {max:.1} ms",
            during.len(),
            during[during.len() / 2],
        );
    }
    let (touched, untouched, cases) =
        toucher.join().map_err(|_| anyhow::anyhow!("the sender panicked"))??;
    if touch > 0 {
        println!(
            "events of {cases} existing cases spread over the store, sent while it was written: {touched} stored, {untouched} refused"
        );
    }
    let busy = reads.join().map_err(|_| anyhow::anyhow!("the status reader panicked"))??;
    for (when, times) in
        [("before the snapshot, nothing else going on", quiet), ("while it was written", busy)]
    {
        println!(
            "client status every 5 ms (access-log row written first, each status made), {when}: {}",
            percentiles(times)
        );
    }
    Ok(())
}

/// `count` events of the SQLite store at `url`, spread evenly over its log (no openings), each
/// under a new id: sent again, each is applied to its case once more.
fn spread_events(url: &str, count: usize) -> Result<Vec<Event>> {
    let path =
        url.strip_prefix("sqlite://").context("--touch reads the events of a SQLite store")?;
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let last: i64 = conn.query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))?;
    let step = (last / (count as i64 * 2)).max(1);
    let mut select = conn.prepare("SELECT body FROM events WHERE seq = ?1")?;
    let mut out = Vec::with_capacity(count);
    let mut seq = 1;
    while out.len() < count && seq <= last {
        let body: String = select.query_row([seq], |r| r.get(0))?;
        let mut event: Event = serde_json::from_str(&body)?;
        if !matches!(event.kind, EventKind::CaseOpened { .. }) {
            event.id = format!("touch-{seq}");
            out.push(event);
        }
        seq += step;
    }
    Ok(out)
}

/// Reads the status of `clients` in turn, one every 5 ms (from one start to the next), until
/// `done` or `most` reads; the time of each read in milliseconds.
fn status_reads(
    service: &polku_store::TrackerService,
    clients: &[polku_engine::pseudonym::Pseudonym],
    done: &dyn Fn() -> bool,
    most: usize,
) -> Result<Vec<f64>> {
    let actor = Actor { purpose: "benchmark".to_owned(), ..Actor::new("bench", "staff") };
    let now = Timestamp::parse("2027-01-01").map_or(0, |t| t.0);
    let scope = polku_engine::projection::UnitScope::All;
    let mut times = Vec::new();
    for client in clients.iter().take(most) {
        if done() {
            break;
        }
        let t = Instant::now();
        service.client_status_json(client, &actor, now, polku_dsl::Lang::Fi, &scope)?;
        let took = t.elapsed();
        times.push(took.as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(5).saturating_sub(took));
    }
    Ok(times)
}

/// "n reads: median, p99 and most", of times in milliseconds.
fn percentiles(mut times: Vec<f64>) -> String {
    times.sort_by(f64::total_cmp);
    match times.last() {
        Some(max) => format!(
            "{} reads, median {:.2} ms, p99 {:.2} ms, at most {max:.1} ms",
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        ),
        None => "no reads".to_owned(),
    }
}

/// Concurrent durable writers on PostgreSQL: `writers` threads append batches of `batch`
/// events each through one `TrackerService` (as the HTTP API does, group commit and all) into
/// the empty database `url`, against `pgbench` running the same number of clients, each
/// transaction inserting `batch` rows of the same size into a table of the same columns in the
/// empty database `peer_url`.
pub fn pg_writers(
    corpus: &Path,
    url: &str,
    peer_url: &str,
    clients: u32,
    writers: usize,
    batch: usize,
) -> Result<()> {
    let sources = corpus_sources(corpus)?;
    let model = sources.compile().map_err(anyhow::Error::msg)?;
    let events = stream_days(&model, clients, 7, 365)?;
    // By case, so that a case's events stay in order in one writer's stream.
    let mut streams = vec![Vec::new(); writers];
    let mut bytes = 0usize;
    for event in events {
        bytes += serde_json::to_string(&event)?.len();
        let part = polku_engine::projection::id_hash(&event.case) as usize % writers;
        streams[part].push(event);
    }
    let total: usize = streams.iter().map(Vec::len).sum();
    let body_len = bytes / total.max(1);
    let store = polku_store::open(url)?;
    if polku_store::EventStore::last_seq(polku_store::open(url)?.as_mut())? > 0 {
        bail!("{url} already holds events: give an empty database");
    }
    let tracker = Tracker::open(store, &sources, &model, key())?;
    let service = polku_store::TrackerService::new(tracker);
    // As `polku serve` does: freed memory is overwritten.
    polku_viewer::wipe::enable();
    // The batches are cut before the clock starts, as the peer's rows are made by the server.
    let streams: Vec<Vec<Vec<_>>> = streams
        .into_iter()
        .map(|stream| stream.chunks(batch).map(<[_]>::to_vec).collect())
        .collect();
    let t = Instant::now();
    let (cpu, server_cpu) = (cpu_seconds(), postgres_cpu_seconds());
    let stored: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = streams
            .into_iter()
            .map(|stream| {
                let service = service.clone();
                scope.spawn(move || -> Result<u64> {
                    let actor = Actor::new("bench", "system");
                    let mut stored = 0;
                    for chunk in stream {
                        stored += service.append(chunk, &actor, &|_| true)?.stored;
                    }
                    Ok(stored)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("a writer panicked"))?)
            .sum::<Result<u64>>()
    })?;
    let polku_took = t.elapsed().as_secs_f64();
    let polku_cpu = cpu_seconds() - cpu;
    let polku_server_cpu = postgres_cpu_seconds() - server_cpu;
    let polku_rate = stored as f64 / polku_took;
    println!(
        "polku: {writers} writers, batches of {batch}: {stored} events in {polku_took:.2} s, {polku_rate:.0} events/s; CPU: Polku {polku_cpu:.2} s, PostgreSQL {polku_server_cpu:.2} s"
    );

    // The peer: the same number of clients and rows, each transaction `batch` INSERTed rows.
    let psql = |sql: &str| -> Result<()> {
        let out = std::process::Command::new("psql").args([peer_url, "-qc", sql]).output()?;
        if !out.status.success() {
            bail!("psql: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    };
    psql("DROP TABLE IF EXISTS bench_events")?;
    psql("CREATE TABLE bench_events (seq BIGSERIAL PRIMARY KEY, model BIGINT NOT NULL, body TEXT NOT NULL, hash BYTEA)")?;
    let body = "x".repeat(body_len);
    let hash = "ab".repeat(32);
    let script = std::env::temp_dir().join(format!("polku-pgbench-{}.sql", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "BEGIN;\nINSERT INTO bench_events (model, body, hash) SELECT 1, '{body}', '\\x{hash}'::bytea FROM generate_series(1, {batch});\nEND;\n"
        ),
    )?;
    let per_client = (stored as usize / writers / batch).max(1);
    let (peer_cpu, server_cpu) = (children_cpu_seconds(), postgres_cpu_seconds());
    let out = std::process::Command::new("pgbench")
        .args(["-n", "-c", &writers.to_string(), "-j", "2", "-t", &per_client.to_string(), "-f"])
        .arg(&script)
        .arg(peer_url)
        .output()?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("pgbench: {}{}", text, String::from_utf8_lossy(&out.stderr));
    }
    let tps: f64 = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .context("pgbench printed no tps")?;
    let peer_rate = tps * batch as f64;
    let (peer_cpu, peer_server_cpu) =
        (children_cpu_seconds() - peer_cpu, postgres_cpu_seconds() - server_cpu);
    println!(
        "pgbench: {writers} clients, {per_client} transactions of {batch} rows ({body_len}-byte bodies) each: {peer_rate:.0} rows/s; CPU: pgbench {peer_cpu:.2} s, PostgreSQL {peer_server_cpu:.2} s"
    );
    // Both runs wrote the same number of rows: what each cost the machine in all, and the ratio
    // that cost would allow were both to keep every core busy.
    let (polku_total, peer_total) = (polku_cpu + polku_server_cpu, peer_cpu + peer_server_cpu);
    if polku_total > 0.0 {
        println!(
            "CPU for the same rows: Polku and its server {polku_total:.2} s, pgbench and its server {peer_total:.2} s (ratio with every core busy: {:.2})",
            peer_total / polku_total
        );
    }
    println!("ratio: {:.2} (target at least 0.7)", polku_rate / peer_rate);
    Ok(())
}
