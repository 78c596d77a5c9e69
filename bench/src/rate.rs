//! Latency at a fixed rate of requests (an open loop), for `polku-bench api`.
//!
//! wrk keeps 64 requests in flight and sends the next as soon as one is answered, so its
//! latencies are those of a saturated server: they say how long the queue is, not how long an
//! answer takes at a given load. Here request `k` is due at `start + k / rate`, whatever
//! happened to the ones before it, and its latency is counted from when it was due, not from
//! when it could be sent. A server that stalls is charged for every request that fell due
//! during the stall, so the figures do not hide a slow moment behind the requests it held up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// What one run at a fixed rate measured.
#[derive(Debug, Clone)]
pub struct Latencies {
    /// The rate asked for, per second.
    pub rate: f64,
    /// Requests answered.
    pub answered: usize,
    /// The rate achieved: answered requests over the time from the first due to the last answer.
    pub achieved: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

impl Latencies {
    pub fn row(&self) -> String {
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        format!(
            "{:.0} req/s asked, {} answered at {:.0} a second: p50 {}, p99 {}, p99.9 {}, max {}",
            self.rate,
            self.answered,
            self.achieved,
            ms(self.p50),
            ms(self.p99),
            ms(self.p999),
            ms(self.max)
        )
    }
}

/// One HTTP/1.1 request, written out once, to be sent on a kept-alive connection.
pub fn request(address: &str, path: &str, token: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends `requests` in turn to `address` at `rate` a second for `seconds`, over `connections`
/// kept-alive connections, each of its own thread. Every answer must be 200.
pub fn run(
    address: &str,
    requests: &[Vec<u8>],
    rate: f64,
    seconds: f64,
    connections: usize,
) -> Result<Latencies> {
    if requests.is_empty() || rate <= 0.0 {
        bail!("nothing to send");
    }
    let total = (rate * seconds).round() as u64;
    let requests = Arc::new(requests.to_vec());
    let next = Arc::new(AtomicU64::new(0));
    // Every connection is opened before the first request falls due.
    let streams = (0..connections)
        .map(|_| {
            let stream = TcpStream::connect(address)
                .with_context(|| format!("cannot connect to {address}"))?;
            stream.set_nodelay(true)?;
            Ok(stream)
        })
        .collect::<Result<Vec<_>>>()?;
    let start = Instant::now() + Duration::from_millis(50);
    let due = move |k: u64| start + Duration::from_secs_f64(k as f64 / rate);
    let threads: Vec<_> = streams
        .into_iter()
        .map(|stream| {
            let (requests, next) = (requests.clone(), next.clone());
            std::thread::spawn(move || -> Result<(Vec<Duration>, Instant)> {
                let mut writer = stream.try_clone()?;
                let mut reader = BufReader::with_capacity(64 * 1024, stream);
                let mut taken = Vec::with_capacity((total as usize) / connections + 1);
                let mut last = Instant::now();
                let mut line = String::new();
                let mut body = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= total {
                        return Ok((taken, last));
                    }
                    let when = due(k);
                    let now = Instant::now();
                    if when > now {
                        std::thread::sleep(when - now);
                    }
                    writer.write_all(&requests[(k as usize) % requests.len()])?;
                    // The status line, the headers, and a body of Content-Length bytes.
                    line.clear();
                    reader.read_line(&mut line)?;
                    let status = line.split(' ').nth(1).unwrap_or("").to_owned();
                    let mut length = None;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line)? == 0 {
                            bail!("the connection closed in the headers");
                        }
                        let header = line.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = Some(value.trim().parse::<usize>()?);
                            }
                        }
                    }
                    let length = length.context("an answer without Content-Length")?;
                    body.resize(length, 0);
                    reader.read_exact(&mut body)?;
                    last = Instant::now();
                    if status != "200" {
                        bail!("answer {status}: {}", String::from_utf8_lossy(&body));
                    }
                    taken.push(last.saturating_duration_since(when));
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total as usize);
    let mut end = start;
    for thread in threads {
        let (taken, last) =
            thread.join().map_err(|_| anyhow::anyhow!("a sending thread panicked"))??;
        all.extend(taken);
        end = end.max(last);
    }
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q).ceil() as usize).clamp(1, all.len()) - 1];
    Ok(Latencies {
        rate,
        answered: all.len(),
        achieved: all.len() as f64 / end.saturating_duration_since(start).as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: *all.last().context("no answers")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server that answers each request after `pause`, or at once.
    fn server(pause_every: u64, pause: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let served = Arc::new(AtomicU64::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let served = served.clone();
                std::thread::spawn(move || {
                    let mut stream = stream.unwrap();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    loop {
                        let mut length = 0;
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line.trim_end().is_empty() {
                                break;
                            }
                            if let Some(v) = line.strip_prefix("Content-Length:") {
                                length = v.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        let n = served.fetch_add(1, Ordering::SeqCst);
                        if pause_every > 0 && n % pause_every == pause_every - 1 {
                            std::thread::sleep(pause);
                        }
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
                    }
                });
            }
        });
        address
    }

    #[test]
    fn a_quick_server_is_measured_quick() {
        let address = server(0, Duration::ZERO);
        let requests = vec![request(&address, "/", "t", "{}")];
        let measured = run(&address, &requests, 500.0, 1.0, 4).unwrap();
        assert_eq!(measured.answered, 500);
        assert!(measured.p50 < Duration::from_millis(5), "{measured:?}");
    }

    #[test]
    fn a_stall_is_charged_to_every_request_that_fell_due_in_it() {
        // One connection, 200 requests a second, a 300 ms stall at the 200th answer: the
        // requests due in those 300 ms (about 60, more than 1 % of 400) each waited, so the
        // p99 is far above the stall-free answers. A closed loop would count one slow answer.
        let address = server(200, Duration::from_millis(300));
        let requests = vec![request(&address, "/", "t", "{}")];
        let measured = run(&address, &requests, 200.0, 2.0, 1).unwrap();
        assert_eq!(measured.answered, 400);
        assert!(measured.p99 > Duration::from_millis(100), "{measured:?}");
        assert!(measured.p50 < Duration::from_millis(100), "{measured:?}");
    }
}
