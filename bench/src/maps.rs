//! `polku-bench maps`: drawing the maps, and serving them, against Graphviz's own `dot` in the
//! same run.
//!
//! 1. Building the DOT (and the level-4 SVG) of every map of the shipped model and of the
//!    national-scale model, against `dot` laying out the shipped model's DOT maps.
//! 2. A level-3 page served end to end over HTTP with nothing cached (so `dot` runs inside),
//!    against `dot` alone on the same DOT: the server's own share of the time.
//! 3. A cached map served under load: wrk at 64 connections, when wrk is installed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use polku_dsl::{Lang, SourceSet};
use polku_viewer::maps::{self, Drawing};
use polku_viewer::server::{AppState, ModelVersion, Renderer};

use crate::{generate_region, median, process_names, read_corpus, Region, REGIONS};

fn compile(region: &Region) -> Result<polku_engine::Model> {
    let mut sources = SourceSet::new();
    for (path, text) in region {
        sources.add(path.clone(), text.clone());
    }
    let checked = polku_dsl::check(&sources, &[]);
    if checked.has_errors() {
        bail!("the model has errors");
    }
    Ok(polku_engine::compile(&checked.files))
}

/// Draws every map; returns how many and their total size.
fn draw_all(model: &polku_engine::Model) -> (usize, usize) {
    let mut bytes = 0;
    let kinds = maps::every_map(model);
    for kind in &kinds {
        if let Ok(Drawing::Dot(t) | Drawing::Svg(t)) = maps::draw(model, kind, Lang::Fi) {
            bytes += t.len();
        }
    }
    (kinds.len(), bytes)
}

fn get(address: &str, path: &str) -> Result<(u16, usize)> {
    let mut stream = TcpStream::connect(address)?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, response.len()))
}

pub fn run(corpus_dir: &Path, scale: f64, repeat: usize) -> Result<()> {
    let corpus = read_corpus(corpus_dir)?;
    let model = compile(&corpus)?;
    let mut samples = Vec::new();
    let mut counted = (0, 0);
    for _ in 0..repeat.max(5) {
        let started = Instant::now();
        counted = draw_all(&model);
        samples.push(started.elapsed());
    }
    let shipped = median(samples);

    // dot on every DOT map of the shipped model, once each.
    let dot_maps: Vec<String> = maps::every_map(&model)
        .iter()
        .filter_map(|k| match maps::draw(&model, k, Lang::Fi) {
            Ok(Drawing::Dot(d)) => Some(d),
            _ => None,
        })
        .collect();
    let started = Instant::now();
    for dot in &dot_maps {
        polku_viewer::render::dot_to_svg(dot).context("dot (install Graphviz)")?;
    }
    let dot_time = started.elapsed();
    let dot_build: Duration = {
        let started = Instant::now();
        for k in maps::every_map(&model) {
            let _ = maps::draw(&model, &k, Lang::Fi);
        }
        started.elapsed()
    };

    let processes = process_names(&corpus);
    let region_count = ((REGIONS as f64) * scale).ceil().max(1.0) as usize;
    let regions: Vec<Region> =
        (0..region_count).map(|r| generate_region(&corpus, &processes, r)).collect();
    let national: Vec<polku_engine::Model> = regions.iter().map(compile).collect::<Result<_>>()?;
    let started = Instant::now();
    let mut national_maps = 0;
    let mut national_bytes = 0;
    for m in &national {
        let (n, b) = draw_all(m);
        national_maps += n;
        national_bytes += b;
    }
    let national_time = started.elapsed();

    println!("| what | maps | output | time | per map | against `dot` |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| every map of the shipped model, built (median of {}) | {} | {:.1} MB | {:.2} ms | {:.0} µs | |",
        repeat.max(5),
        counted.0,
        counted.1 as f64 / 1e6,
        shipped.as_secs_f64() * 1e3,
        shipped.as_secs_f64() * 1e6 / counted.0 as f64
    );
    println!(
        "| its {} DOT maps built, then laid out by `dot` | {} | | {:.2} ms built, {:.0} ms by `dot` | | building is {:.2} % of `dot`'s time |",
        dot_maps.len(),
        dot_maps.len(),
        dot_build.as_secs_f64() * 1e3,
        dot_time.as_secs_f64() * 1e3,
        dot_build.as_secs_f64() * 100.0 / dot_time.as_secs_f64()
    );
    println!(
        "| national scale: {} regions, every map built, 1 thread | {} | {:.1} MB | {:.2} s | {:.0} µs | |",
        national.len(),
        national_maps,
        national_bytes as f64 / 1e6,
        national_time.as_secs_f64(),
        national_time.as_secs_f64() * 1e6 / national_maps as f64
    );

    // The largest level-3 map, served with nothing cached against `dot` alone.
    let (largest, dot) = model
        .processes
        .keys()
        .filter_map(|p| {
            let kind = maps::MapKind::Process { process: p.clone(), segment: None };
            match maps::draw(&model, &kind, Lang::Fi) {
                Ok(Drawing::Dot(d)) => Some((p.clone(), d)),
                _ => None,
            }
        })
        .max_by_key(|(_, d)| d.len())
        .context("no process")?;
    let mut alone = Vec::new();
    for _ in 0..15 {
        let started = Instant::now();
        polku_viewer::render::dot_to_svg(&dot)?;
        alone.push(started.elapsed());
    }
    let alone = median(alone);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let address = listener.local_addr()?.to_string();
    let holder = std::sync::Arc::new(std::sync::Mutex::new(None::<AppState>));
    let make = |model: polku_engine::Model| {
        AppState::new(
            ModelVersion { version: "bench".into(), name: None, model },
            Renderer::Server,
            None,
            false,
        )
    };
    // One router whose state is swapped for a fresh one (empty cache) before each cold request.
    let state_for_server = holder.clone();
    let router = axum_router(state_for_server);
    runtime.spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let path = format!("/process/{}", polku_viewer::maps::paths::encode(&largest));
    let mut cold = Vec::new();
    for _ in 0..15 {
        *holder.lock().map_err(|_| anyhow::anyhow!("lock"))? = Some(make(model.clone()));
        let started = Instant::now();
        let (status, _) = get(&address, &path)?;
        cold.push(started.elapsed());
        if status != 200 {
            bail!("{path} answered {status}");
        }
    }
    let cold = median(cold);
    println!();
    println!("| largest level-3 map (`{largest}`) | median of 15 |");
    println!("|---|---|");
    println!("| `dot -Tsvg` alone on its DOT | {:.1} ms |", alone.as_secs_f64() * 1e3);
    println!(
        "| the page served over HTTP, nothing cached (DOT built, `dot` run, page rendered) | {:.1} ms ({:.2}× `dot` alone: the server adds {:.0} %) |",
        cold.as_secs_f64() * 1e3,
        cold.as_secs_f64() / alone.as_secs_f64(),
        (cold.as_secs_f64() / alone.as_secs_f64() - 1.0) * 100.0
    );
    // Cached: the same page again, under wrk.
    let _ = get(&address, &path)?;
    let url =
        format!("http://{address}/map/process/{}", polku_viewer::maps::paths::encode(&largest));
    match std::process::Command::new("wrk")
        .args(["-t2", "-c64", "-d10s", "--latency", &url])
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let find = |key: &str| {
                text.lines()
                    .find(|l| l.trim_start().starts_with(key))
                    .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_owned())
                    .unwrap_or_default()
            };
            println!(
                "| its cached SVG under wrk, 64 connections, 10 s (wrk and server share the 2 cores) | {} requests/s, p50 {}, p99 {} |",
                find("Requests/sec:"),
                find("50%"),
                find("99%")
            );
        }
        _ => println!("| cached SVG under load | wrk is not installed: apt-get install wrk |"),
    }
    Ok(())
}

/// The viewer's router over a state that the benchmark swaps between requests.
fn axum_router(holder: std::sync::Arc<std::sync::Mutex<Option<AppState>>>) -> axum::Router {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;
    axum::Router::new().fallback(move |request: Request<Body>| {
        let state = holder.lock().ok().and_then(|s| s.clone());
        async move {
            match state {
                Some(state) => polku_viewer::server::app(state)
                    .oneshot(request)
                    .await
                    .unwrap_or_else(|e| match e {}),
                None => axum::response::IntoResponse::into_response("no state"),
            }
        }
    })
}
