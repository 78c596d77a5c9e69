//! Assessment answers kept encrypted (`[privacy] keep_answers_days`): read back while they are
//! valid, never in clear in the database files, gone (and overwritten) once they expire, and
//! every access logged.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use polku_engine::pseudonym::PseudonymKey;
use polku_store::tracker::{Actor, Tracker};
use polku_store::TrackerService;

const SECRET: &[u8] = b"{\"kerro\":\"Kotona riidellaan paljon salainen-vastaus-5521\"}";

fn files_hold(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle).then(|| path.display().to_string())
        })
        .collect()
}

#[test]
fn kept_answers_open_until_they_expire_and_are_then_erased() {
    let dir = common::temp("answers", "keep");
    let db = dir.join("a.sqlite");
    let sources = common::corpus();
    let model = sources.compile().unwrap();
    let store = polku_store::open(&format!("sqlite://{}", db.display())).unwrap();
    let key = PseudonymKey::new(vec![9; 32]).unwrap();
    let service = TrackerService::new(Tracker::open(store, &sources, &model, key).unwrap());
    let nurse = Actor::new("th-1", "terveydenhoitaja");
    let now = 1_800_000_000;
    service.keep_answers(&nurse, "c-1", "l", SECRET, (now, now + 30 * 86_400)).unwrap();
    service.keep_answers(&nurse, "c-2", "l", b"{}", (now - 40 * 86_400, now - 86_400)).unwrap();

    let kept = service.kept_answers(&nurse, "c-1", now + 86_400).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].1.as_deref(), Some(SECRET));
    assert_eq!(service.answers_kept_until("c-1", now).unwrap(), Some(now + 30 * 86_400));
    // An expired set is never opened, even before it is deleted.
    assert!(service.kept_answers(&nurse, "c-2", now).unwrap().is_empty());
    assert!(files_hold(&dir, b"salainen-vastaus").is_empty(), "never in clear");
    let sealed = kept[0].0.sealed.clone();
    assert!(!files_hold(&dir, &sealed[..16]).is_empty(), "the sealed bytes are stored");

    // Both expire: deleted, and their bytes overwritten in the file and the log.
    assert_eq!(service.forget_answers(now + 31 * 86_400).unwrap(), 2);
    assert!(service.kept_answers(&nurse, "c-1", now + 86_400).unwrap().is_empty());
    assert_eq!(service.forget_answers(now + 31 * 86_400).unwrap(), 0);
    assert!(files_hold(&dir, &sealed[..16]).is_empty(), "{:?}", files_hold(&dir, &sealed[..16]));

    // Keeping and reading were logged, by whom.
    let log = service.access_log(None, &nurse, 10).unwrap();
    let actions: Vec<&str> = log.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"answers_kept") && actions.contains(&"answers"), "{actions:?}");
    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}
