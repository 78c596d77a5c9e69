//! A damaged snapshot is refused, never a panic: arbitrary bytes, and a real snapshot cut short
//! or with bytes changed anywhere.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use polku_dsl::SourceSet;
use polku_engine::model::Model;
use polku_engine::projection::Projection;
use polku_engine::simulate::{simulate, Options};
use polku_engine::time::Timestamp;
use polku_store::snapshot::{decode, encode};
use polku_store::StoreError;
use proptest::prelude::*;

const MODEL: &str = r#"
rooli th "Terveydenhoitaja"
segmentointi s "S" {
  segmentti a "A"
  segmentti b "B"
}
prosessi p "P" {
  segmentointi s
  vaihe v1 "V1" {
    askel x "X" tekijä th
    askel y "Y" tekijä th määrä 2
  }
  vaihe v2 "V2" { askel z "Z" tekijä th }
  segmentti a perii
  segmentti b { lisää askel e "E" vaiheeseen v2 tekijä th }
}
"#;

fn model() -> Model {
    let mut sources = SourceSet::new();
    sources.add("m.polku", MODEL);
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors());
    polku_engine::compile(&checked.files)
}

fn snapshot() -> (Vec<u8>, u64) {
    let model = model();
    let options =
        Options { clients: 30, days: 120, seed: 8, start: Timestamp::parse("2026-01-01").unwrap() };
    let mut p = Projection::new("v", &model).unwrap();
    for e in simulate(&model, "v", &options).unwrap() {
        if p.check(&e) == Ok(true) {
            p.apply(&e, 0);
        }
    }
    (encode(&p), p.digest())
}

fn read(data: &[u8]) -> Result<Projection, StoreError> {
    let model = model();
    let mut reader: &[u8] = data;
    decode(&mut reader, &mut |_| Ok(model.clone()))
}

#[test]
fn a_snapshot_reads_back_to_the_same_state() {
    let (data, digest) = snapshot();
    assert_eq!(read(&data).unwrap().digest(), digest);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_are_refused(mut bytes in prop::collection::vec(any::<u8>(), 0..400), magic in any::<bool>()) {
        if magic {
            let mut with = b"POLKUSN3".to_vec();
            with.append(&mut bytes);
            bytes = with;
        }
        prop_assert!(read(&bytes).is_err());
    }

    #[test]
    fn a_damaged_snapshot_is_refused(cut in any::<prop::sample::Index>(), flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4)) {
        let (original, _) = snapshot();
        let mut data = original.clone();
        for (at, bits) in &flips {
            let i = at.index(data.len());
            data[i] ^= bits;
        }
        // Any change is noticed (flips that cancel out leave the snapshot as it was).
        prop_assert!(read(&data).is_err() || data == original);
        let cut = cut.index(data.len());
        prop_assert!(read(&data[..cut]).is_err());
    }
}
