//! How often `contains_identity_code` takes ordinary text for a personal identity code (its
//! false positives), and that it finds every code in the forms a person types. Run with
//! `--nocapture` to see the table that `docs/tracking.md` quotes.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use polku_dsl::SourceSet;
use polku_engine::event::EventKind;
use polku_engine::pseudonym::{contains_identity_code, pseudonymise, PseudonymKey};
use polku_engine::simulate::{simulate, Options, Rng};
use polku_engine::time::Timestamp;

fn model() -> polku_engine::Model {
    let dir = package_dir().join("../processes/keusote");
    let mut sources = SourceSet::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "polku"))
        .collect();
    paths.sort();
    for path in paths {
        sources.add(path.display().to_string(), std::fs::read_to_string(&path).unwrap());
    }
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    polku_engine::compile(&checked.files)
}

/// How many of the texts are taken for a code.
struct Rate {
    name: &'static str,
    texts: usize,
    found: usize,
}

impl Rate {
    fn of<S: AsRef<str>>(name: &'static str, texts: impl IntoIterator<Item = S>) -> Rate {
        let mut rate = Rate { name, texts: 0, found: 0 };
        for text in texts {
            rate.texts += 1;
            rate.found += usize::from(contains_identity_code(text.as_ref()));
        }
        rate
    }

    fn share(&self) -> f64 {
        self.found as f64 / self.texts.max(1) as f64
    }
}

fn random_text(rng: &mut Rng, alphabet: &[u8], lengths: std::ops::RangeInclusive<u64>) -> String {
    let length = lengths.start() + rng.below(lengths.end() - lengths.start() + 1);
    (0..length).map(|_| char::from(alphabet[rng.below(alphabet.len() as u64) as usize])).collect()
}

fn hex(rng: &mut Rng, digits: usize) -> String {
    (0..digits).map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize])).collect()
}

#[test]
fn false_positives_are_rare_and_typed_codes_are_found() {
    let model = model();
    let options = Options {
        clients: 5_200,
        days: 365,
        seed: 11,
        start: Timestamp::parse("2026-01-01").unwrap(),
    };
    let events = simulate(&model, "fp", &options).unwrap();
    assert!(events.len() >= 100_000, "{} events", events.len());
    let fields: Vec<&str> = events
        .iter()
        .flat_map(|e| e.texts())
        .filter(|(field, _)| *field != "client")
        .map(|(_, text)| text)
        .collect();
    let codes: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CaseOpened { client, .. } => Some(client.as_str()),
            _ => None,
        })
        .collect();
    let key = PseudonymKey::new(vec![5; 32]).unwrap();
    // A client with several cases has one pseudonym: each is counted once.
    let pseudonyms: std::collections::BTreeSet<String> =
        codes.iter().map(|c| pseudonymise(c, &key).unwrap().as_str().to_owned()).collect();

    let mut rng = Rng::new(2026);
    let alphanumeric = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let random: Vec<String> =
        (0..1_000_000).map(|_| random_text(&mut rng, alphanumeric, 6..=40)).collect();
    let uuids: Vec<String> = (0..100_000)
        .map(|_| {
            format!(
                "{}-{}-4{}-a{}-{}",
                hex(&mut rng, 8),
                hex(&mut rng, 4),
                hex(&mut rng, 3),
                hex(&mut rng, 3),
                hex(&mut rng, 12)
            )
        })
        .collect();
    let hashes: Vec<String> = (0..100_000).map(|_| hex(&mut rng, 64)).collect();
    let digits: Vec<String> =
        (0..100_000).map(|_| random_text(&mut rng, b"0123456789", 6..=40)).collect();
    let numbers: Vec<String> =
        (0..100_000).map(|_| random_text(&mut rng, b"0123456789", 10..=10)).collect();
    let mobiles: Vec<String> = (0..100_000)
        .map(|_| format!("04{}", random_text(&mut rng, b"0123456789", 8..=8)))
        .collect();

    let negatives = [
        Rate::of("simulated event fields (all but client)", &fields),
        Rate::of("pseudonyms (64 hexadecimal)", &pseudonyms),
        Rate::of("random alphanumeric, 6-40 characters", &random),
        Rate::of("random UUIDs (version 4)", &uuids),
        Rate::of("random 64-digit hexadecimal (hashes)", &hashes),
        Rate::of("random digit strings, 6-40 digits", &digits),
        Rate::of("random 10-digit numbers", &numbers),
        Rate::of("random mobile numbers 04xxxxxxxx", &mobiles),
    ];

    // The codes as typed: every simulated client's code in each form.
    let wrong_check = |code: &str| {
        let last = code.as_bytes()[10];
        let other = if last == b'Y' { 'X' } else { 'Y' };
        format!("{}{other}", &code[..10])
    };
    let positives = [
        Rate::of("codes as issued", codes.iter().map(|c| c.to_string())),
        Rate::of("glued to a word", codes.iter().map(|c| format!("hetu{c}"))),
        Rate::of(
            "without the century sign",
            codes.iter().map(|c| format!("{}{}", &c[..6], &c[7..])),
        ),
        Rate::of("a mistyped check character", codes.iter().map(|c| wrong_check(c))),
        Rate::of(
            "in lower case, in a sentence",
            codes.iter().map(|c| format!("asiakas {} ei tullut", c.to_lowercase())),
        ),
        Rate::of("a space for the sign", codes.iter().map(|c| format!("{} {}", &c[..6], &c[7..]))),
    ];

    println!("\n| text | strings | taken for a code | rate |\n|---|---:|---:|---:|");
    for rate in negatives.iter().chain(&positives) {
        println!("| {} | {} | {} | {:.2e} |", rate.name, rate.texts, rate.found, rate.share());
    }
    println!("({} simulated events)", events.len());

    assert_eq!(negatives[0].found, 0, "a simulated field was taken for a code");
    assert!(negatives[1].share() < 1e-3, "pseudonyms");
    assert!(negatives[2].share() < 1e-5, "random text");
    assert!(negatives[3].share() < 1e-3, "UUIDs");
    assert!(negatives[4].share() < 1e-3, "hashes");
    for rate in &positives {
        assert_eq!(rate.found, rate.texts, "{}", rate.name);
    }
}

/// This package's folder as `cargo test` names it when it runs the test: a test binary reused
/// from a shared target folder may have been built in a checkout at another path.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
