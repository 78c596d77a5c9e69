//! PostgreSQL crashing under a running store, on a cluster of the test's own (the shared one
//! stays up for the other tests): appends committed without waiting for the disk and lost in
//! the crash are never told durable, even when the flushing connection hangs through the
//! restart and the next flush, on a new connection, succeeds; and the store's own connection
//! is made again once the server is back.
//!
//! The database going away for a while (a restart, a failover, the network) is made with a
//! proxy in front of the shared cluster.
//!
//! Runs where the other PostgreSQL tests run (`POLKU_TEST_POSTGRES_URL` set, as `scripts/test`
//! does) and the server's programs are installed.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use polku_dsl::Lang;
use polku_engine::event::{Event, EventKind};
use polku_engine::projection::UnitScope;
use polku_engine::pseudonym::PseudonymKey;
use polku_store::tracker::{Actor, Tracker, TrackerError};
use polku_store::{chain, EventStore, NewRecord, StoreError, TrackerService, WriteFailed};

/// A connection through the proxy passes bytes, holds them (a network that hangs: nothing
/// goes either way, not even the close), or is cut.
const PASS: u8 = 0;
const HOLD: u8 = 1;
const CUT: u8 = 2;

/// A TCP proxy in front of a cluster, so that the test can make one connection hang, or the
/// database go away for a while (every connection cut, none taken).
struct Proxy {
    port: u16,
    connections: Arc<Mutex<Vec<Connection>>>,
    refusing: Arc<AtomicBool>,
}

/// A connection through the proxy: its state, both ends, and the bytes read while it was
/// held (kept back from the other end).
struct Connection {
    state: Arc<AtomicU8>,
    ends: [TcpStream; 2],
    held: Arc<AtomicUsize>,
}

impl Proxy {
    fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections: Arc<Mutex<Vec<Connection>>> = Arc::default();
        let refusing = Arc::new(AtomicBool::new(false));
        let (known, refuse) = (connections.clone(), refusing.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if refuse.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                let state = Arc::new(AtomicU8::new(PASS));
                let held = Arc::new(AtomicUsize::new(0));
                let ends = [client.try_clone().unwrap(), server.try_clone().unwrap()];
                known.lock().unwrap().push(Connection {
                    state: state.clone(),
                    ends,
                    held: held.clone(),
                });
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (other, other_held) = (state.clone(), held.clone());
                std::thread::spawn(move || pump(client, server, &state, &held));
                std::thread::spawn(move || pump(s2, c2, &other, &other_held));
            }
        });
        Proxy { port, connections, refusing }
    }

    /// Cuts every connection when dropped: declared after the store, it lets a failing test
    /// end (the store's flusher, dropped with it, would wait on a held connection).
    fn cut_on_drop(&self) -> CutOnDrop {
        CutOnDrop(self.connections.clone())
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn set(&self, connection: usize, state: u8) {
        let connections = self.connections.lock().unwrap();
        connections[connection].state.store(state, Ordering::SeqCst);
        if state == CUT {
            for end in &connections[connection].ends {
                let _ = end.shutdown(Shutdown::Both);
            }
        }
    }

    /// The database goes away: every connection is cut, and none is taken until `back`.
    fn away(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        let count = self.connections.lock().unwrap().len();
        for i in 0..count {
            self.set(i, CUT);
        }
    }

    fn back(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }

    /// Waits until the held connection has kept back bytes from one of its ends (a request
    /// sent on it).
    fn wait_until_held(&self, connection: usize) {
        let held = self.connections.lock().unwrap()[connection].held.clone();
        let deadline = Instant::now() + Duration::from_secs(30);
        while held.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "nothing was sent on the held connection");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

struct CutOnDrop(Arc<Mutex<Vec<Connection>>>);

impl Drop for CutOnDrop {
    fn drop(&mut self) {
        for connection in self.0.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            connection.state.store(CUT, Ordering::SeqCst);
            for end in &connection.ends {
                let _ = end.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Copies `from` to `to` until either ends or the connection is cut; while it is held, what
/// was read (or the end) waits.
fn pump(mut from: TcpStream, mut to: TcpStream, state: &AtomicU8, held: &AtomicUsize) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buffer).unwrap_or(0);
        if state.load(Ordering::SeqCst) == HOLD {
            held.fetch_add(n.max(1), Ordering::SeqCst);
        }
        while state.load(Ordering::SeqCst) == HOLD {
            std::thread::sleep(Duration::from_millis(10));
        }
        if n == 0 || state.load(Ordering::SeqCst) == CUT || to.write_all(&buffer[..n]).is_err() {
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// The tests' shared cluster, where the other PostgreSQL tests run.
fn shared_cluster() -> Option<String> {
    let Ok(server) = std::env::var("POLKU_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs the PostgreSQL tests: set POLKU_TEST_POSTGRES_URL (scripts/test does)"
        );
        eprintln!("POLKU_TEST_POSTGRES_URL is not set: the PostgreSQL crash tests do not run");
        return None;
    };
    Some(server)
}

/// A cluster of the test's own, stopped and removed when the test ends.
struct Cluster {
    dir: PathBuf,
    url: String,
}

impl Cluster {
    fn start(name: &str) -> Option<Cluster> {
        shared_cluster()?;
        let script = package_dir().join("../scripts/pg-cluster");
        let dir = common::temp("crash", name);
        // No background work that would write the log to disk on its own meanwhile.
        let out = std::process::Command::new(&script)
            .args(["start", dir.to_str().unwrap()])
            .env(
                "POLKU_PG_OPTIONS",
                "-c autovacuum=off -c wal_writer_delay=10000 -c checkpoint_timeout=3600",
            )
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let url = String::from_utf8(out.stdout).unwrap().trim().lines().last().unwrap().to_owned();
        Some(Cluster { dir, url })
    }

    fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap()
    }

    /// A connection straight to the cluster, once it takes them (after a restart).
    fn connect(&self) -> postgres::Client {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match postgres::Client::connect(&self.url, postgres::NoTls)
                .and_then(|mut c| c.simple_query("SELECT 1").map(|_| c))
            {
                Ok(c) => return c,
                Err(e) if Instant::now() > deadline => panic!("the cluster did not come back: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let script = package_dir().join("../scripts/pg-cluster");
        let _ =
            std::process::Command::new(script).args(["stop", self.dir.to_str().unwrap()]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn records(model: i64, from: usize, n: usize) -> Vec<NewRecord> {
    (from..from + n).map(|i| NewRecord { model, body: format!("{{\"id\":\"e{i}\"}}") }).collect()
}

fn signal(name: &str, pid: i32) {
    let status =
        std::process::Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status();
    assert!(status.unwrap().success(), "kill -{name} {pid}");
}

/// A server process stopped by the test, let go on when the guard is dropped (a test that
/// fails before it kills the process would leave a cluster that does not stop).
struct Stopped(i32);

impl Stopped {
    fn new(pid: i32) -> Stopped {
        signal("STOP", pid);
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        // Gone already when the test killed it, as it does unless it failed first.
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// An append made without waiting for the disk; the receiver hears whether it was told durable.
fn deferred(
    store: &mut dyn EventStore,
    after: u64,
    rows: &[NewRecord],
    accesses: &[polku_store::Access],
) -> (u64, Receiver<Result<(), WriteFailed>>) {
    let (tell, told) = channel();
    let last = store
        .append_deferred(after, rows, accesses, Box::new(move |r| drop(tell.send(r))))
        .unwrap();
    (last, told)
}

#[test]
fn appends_lost_in_a_crash_are_never_told_durable_and_the_store_connects_again() {
    let Some(cluster) = Cluster::start("flusher") else { return };
    let proxy = Proxy::start(cluster.port());
    let mut store = polku_store::open(&proxy.url("postgres")).unwrap();
    let _cut = proxy.cut_on_drop();
    let model = store.put_model("h1", "{}").unwrap();
    // As a writer does: its position is of this epoch.
    let epoch = store.log_epoch().unwrap();
    store.expect_epoch(Some(epoch));
    // The first append starts the flusher, on a connection of its own (the second).
    let (last, told) = deferred(store.as_mut(), 0, &records(model, 1, 5), &[]);
    assert_eq!(last, 5);
    told.recv_timeout(Duration::from_secs(30)).unwrap().unwrap();
    assert_eq!(proxy.connections.lock().unwrap().len(), 2, "the writer's and the flusher's");
    // The flusher's connection hangs from now on, and nothing writes the server's log to
    // disk: the walwriter is stopped.
    proxy.set(1, HOLD);
    let mut direct = cluster.connect();
    let walwriter: i32 = direct
        .query_one("SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'", &[])
        .unwrap()
        .get(0);
    let stopped = Stopped::new(walwriter);
    // Two appends committed; the first's flush hangs, the second waits behind it.
    let access = polku_store::Access::by(&Actor::new("testi", "järjestelmä"), "ingest", None, "");
    let (last, first) = deferred(store.as_mut(), 5, &records(model, 6, 5), &[access]);
    assert_eq!(last, 10);
    proxy.wait_until_held(1);
    let (last, second) = deferred(store.as_mut(), 10, &records(model, 11, 5), &[]);
    assert_eq!(last, 15);
    // The server crashes (a process of it killed: PostgreSQL restarts them all and recovers
    // from what its log has on disk) and is back.
    signal("KILL", walwriter);
    drop((direct, stopped));
    std::thread::sleep(Duration::from_millis(500));
    let mut direct = cluster.connect();
    let stored: i64 =
        direct.query_one("SELECT COALESCE(MAX(seq), 0) FROM events", &[]).unwrap().get(0);
    assert_eq!(stored, 5, "the crash lost the two appends not yet on disk");
    // Another server writes ten rows: the log ends at 15 again, with other rows there.
    let mut other = polku_store::open(&cluster.url).unwrap();
    assert_eq!(other.append(5, &records(model, 50, 10)).unwrap(), 15);
    drop(other);
    // The store's own connection, cut by the crash, is made again (after the first call has
    // found it cut, or at once); the position the writer holds is of the epoch before, so
    // nothing is written from it, not even a repeat (an append of no events) whose events
    // the crash took, although the log ends where the writer believes.
    let refused = |result: Result<u64, StoreError>| match result {
        Err(StoreError::Conflict { expected: 15, found: 15 }) => true,
        other => panic!("a write from before the restart: {other:?}"),
    };
    let repeat = polku_store::Access::by(&Actor::new("testi", "järjestelmä"), "ingest", None, "");
    let empty = store.append_logged(15, &[], std::slice::from_ref(&repeat));
    let empty = if empty.is_err() && !matches!(empty, Err(StoreError::Conflict { .. })) {
        store.append_logged(15, &[], std::slice::from_ref(&repeat))
    } else {
        empty
    };
    assert!(refused(empty));
    assert!(refused(store.append(15, &records(model, 16, 1))));
    // The state read again from the log (at 15) in the new epoch: the writer goes on.
    let epoch = store.log_epoch().unwrap();
    assert_eq!(epoch.connection, 1, "the connection was made again once");
    store.expect_epoch(Some(epoch));
    let (last, again) = deferred(store.as_mut(), 15, &records(model, 100, 10), &[]);
    assert_eq!(last, 25);
    // The hanging connection breaks only now; the next flushes connect again, to the server
    // that lost the first two appends' rows and holds the other server's in their places.
    proxy.set(1, CUT);
    let first = first.recv_timeout(Duration::from_secs(30)).unwrap();
    let second = second.recv_timeout(Duration::from_secs(30)).unwrap();
    let again = again.recv_timeout(Duration::from_secs(30)).unwrap();
    let first = first.expect_err("an append lost in the crash was told durable");
    let second = second.expect_err(
        "an append lost in the crash was told durable after a flush on a new connection",
    );
    for lost in [&first, &second] {
        assert!(lost.to_string().contains("not stored as written"), "{lost}");
    }
    again.expect("the append after the restart is durable");
    assert!(proxy.connections.lock().unwrap().len() > 3, "the flusher connected again");
    assert_eq!(store.last_seq().unwrap(), 25);
    let verified = chain::verify(store.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
}

/// A server whose database goes away (a restart, a failover, the network) comes back with it,
/// by itself: while the database is away its writes fail and its state, which may hold a batch
/// that was not written, is not read; once it is back, the next request rebuilds the state
/// from the log, and everything answered stored is there once.
#[test]
fn a_service_whose_database_went_away_recovers_when_it_is_back() {
    let Some(server) = shared_cluster() else { return };
    let database = format!("polku_outage_{}", std::process::id());
    let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database}")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {database}")).unwrap();
    let port: u16 = server.rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap();
    let proxy = Proxy::start(port);
    let sources = common::corpus();
    let model = sources.compile().unwrap();
    let key = || PseudonymKey::new(vec![3; 32]).unwrap();
    let options = polku_engine::simulate::Options {
        clients: 20,
        days: 120,
        seed: 8,
        start: polku_engine::time::Timestamp::parse("2026-01-01").unwrap(),
    };
    let parsed = common::simulated(&model, "s", &options, &key());
    let batches: Vec<Vec<Event>> =
        parsed.chunks(30).map(|c| c.iter().map(|(_, e)| e.clone()).collect()).collect();
    assert!(batches.len() >= 3);
    let store = polku_store::open(&proxy.url(&database)).unwrap();
    let service = TrackerService::new(Tracker::open(store, &sources, &model, key()).unwrap());
    let actor = Actor::new("system", "järjestelmä");
    service.append(batches[0].clone(), &actor, &|_| true).unwrap();
    let client = match &batches[0][0].kind {
        EventKind::CaseOpened { client, .. } => service.pseudonym(client).unwrap(),
        other => panic!("the first event opens a case: {other:?}"),
    };
    // A client whose case the batch not written opens.
    let opened = |batch: &[Event]| -> Vec<String> {
        batch
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::CaseOpened { client, .. } => Some(client.clone()),
                _ => None,
            })
            .collect()
    };
    let first = opened(&batches[0]);
    let unwritten = opened(&batches[1])
        .into_iter()
        .find(|c| !first.contains(c))
        .map(|c| service.pseudonym(&c).unwrap())
        .expect("the second batch opens a case of another client");
    let now = polku_engine::time::Timestamp::parse("2026-06-01").unwrap().0;
    assert!(service
        .client_status(&client, &actor, now, Lang::Fi, &UnitScope::All)
        .unwrap()
        .is_some());
    proxy.away();
    // A batch while the database is away: applied, not written, answered with an error.
    assert!(service.append(batches[1].clone(), &actor, &|_| true).is_err());
    // The state may hold it: not read, not even for a status.
    assert!(service.client_status(&client, &actor, now, Lang::Fi, &UnitScope::All).is_err());
    assert!(matches!(service.info(), Err(TrackerError::Unavailable(_))));
    assert!(service.catch_up().is_err());
    proxy.back();
    // Tries of the rebuild wait a second or so after a failed one.
    let deadline = Instant::now() + Duration::from_secs(30);
    while service.with(|t| t.rebuild_paused()) {
        assert!(Instant::now() < deadline, "the pause after a failed rebuild does not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The next request finds the database back and rebuilds the state first: the batch that
    // was not written is not in it.
    let status = service.client_status(&unwritten, &actor, now, Lang::Fi, &UnitScope::All).unwrap();
    assert!(status.is_none(), "a status shows a batch that was not written: {status:?}");
    assert!(service
        .client_status(&client, &actor, now, Lang::Fi, &UnitScope::All)
        .unwrap()
        .is_some());
    service.append(batches[1].clone(), &actor, &|_| true).unwrap();
    service.append(batches[2].clone(), &actor, &|_| true).unwrap();
    assert_eq!(service.catch_up().unwrap(), 0);
    let digest = service.digest();
    let stored = service.info().unwrap().log_seq;
    drop(service);
    let sent: usize = batches[..3].iter().map(Vec::len).sum();
    assert_eq!(stored, sent as u64, "every event answered stored is there once");
    let again =
        Tracker::open(polku_store::open(&proxy.url(&database)).unwrap(), &sources, &model, key())
            .unwrap();
    assert_eq!(again.projection.digest(), digest, "the state is the log's");
    drop(again);
    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
}

/// This package's folder as `cargo test` names it when it runs the test: a test binary reused
/// from a shared target folder may have been built in a checkout at another path.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
